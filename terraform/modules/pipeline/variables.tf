variable "env" {
  description = "Environment name (local, itest, prod, ...)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9-]{1,20}$", var.env))
    error_message = "env must be 1-20 lowercase letters, digits or dashes."
  }
}

variable "bucket_prefix" {
  description = "Prefix of the bucket names; defaults to socialomega-<env> (make it globally unique in AWS)."
  type        = string
  default     = null
}

variable "lightroom_settings" {
  description = "Lightroom intake settings written to SSM: base_url, album, keyword, rendition."
  type        = any
}

variable "targets" {
  description = "Publish targets written to SSM; each gets its own queue, DLQ, SNS subscription and secret socialomega/<env>/<name>. Names are unique and neither lightroom nor webhooks (the services' own secrets)."
  type        = any
  validation {
    condition     = alltrue([for t in var.targets : !contains(["lightroom", "webhooks"], t.name)])
    error_message = "No target may be named lightroom or webhooks: socialomega/<env>/lightroom and socialomega/<env>/webhooks are the poller's and the webhook endpoint's secrets."
  }
  validation {
    condition     = length(distinct([for t in var.targets : t.name])) == length(var.targets)
    error_message = "Target names must be unique: each names its own queue, function and secret."
  }
}

variable "secret_values" {
  description = "Initial secret values (local sandbox only)."
  type        = map(map(string))
  default     = {}
  sensitive   = true
}

variable "function_timeouts" {
  description = "Function timeout in seconds per service; each queue's visibility timeout is 6x its consumer's."
  type        = object({ processor = number, publisher = number, analytics = number, poller = number })
  default     = { processor = 60, publisher = 30, analytics = 30, poller = 120 }
}

variable "poll_every_seconds" {
  description = "How often the poller runs."
  type        = number
  default     = 300
}

variable "noncurrent_version_days" {
  description = "Days to keep old versions of raw and processed images (null: no expiry rule)."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Allow destroying non-empty buckets (local stacks)."
  type        = bool
  default     = false
}

variable "recovery_window_in_days" {
  description = "Secrets Manager recovery window (0 for local stacks)."
  type        = number
  default     = 30
}

variable "alarm_actions" {
  description = "ARNs notified by the DLQ alarms."
  type        = list(string)
  default     = []
}

variable "sns_kms_key_id" {
  description = "KMS key for the SNS topic (null: none, e.g. LocalStack)."
  type        = string
  default     = null
}

variable "tag_alarms" {
  description = "Tag the DLQ alarms (false on LocalStack, which drops alarm tags and would show drift on every plan)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
