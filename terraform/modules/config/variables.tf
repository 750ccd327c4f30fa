variable "env" {
  description = "Environment name: parameters live under /socialomega/<env>/, secrets under socialomega/<env>/."
  type        = string
}

variable "lightroom_settings" {
  description = "Lightroom intake settings: base_url, album and/or keyword, rendition."
  type        = any
}

variable "targets" {
  description = "Publish targets: list of {name, platform, spec, endpoint, ...}."
  type        = any
}

variable "secret_names" {
  description = "Secrets to create (lightroom, webhooks and one per target); values are set by the operator in AWS."
  type        = list(string)
}

variable "secret_values" {
  description = "Initial secret values by name (local sandbox credentials only; leave empty in AWS)."
  type        = map(map(string))
  default     = {}
  sensitive   = true
}

variable "recovery_window_in_days" {
  description = "Secrets Manager deletion recovery window (0 for throwaway local stacks)."
  type        = number
  default     = 30
}

variable "kms_key_id" {
  description = "KMS key for secrets (null: the AWS managed key)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
