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
  description = "Function timeout in seconds per service (the roots hold the defaults, sized in their variables.tf); each queue's visibility timeout is 6x its consumer's."
  type        = object({ processor = number, publisher = number, analytics = number, poller = number })
}

variable "resilience" {
  description = "Retries and circuit breakers, the same for every function (services/socialomega/core/config.py `Resilience`): retries back off from retry_base_seconds up to retry_max_delay_seconds between tries, for up to retry_max_age_seconds before the DLQ; a target's breaker opens after breaker_threshold consecutive retryable failures, probes after breaker_cooldown_seconds (doubling up to breaker_max_cooldown_seconds), and its alarm fires when it stays open over breaker_alarm_seconds; a record is not started with less than record_min_seconds of its invocation left."
  type = object({
    retry_base_seconds           = optional(number, 4)
    retry_max_delay_seconds      = optional(number, 3600)
    retry_max_age_seconds        = optional(number, 86400)
    breaker_threshold            = optional(number, 5)
    breaker_cooldown_seconds     = optional(number, 60)
    breaker_max_cooldown_seconds = optional(number, 900)
    breaker_alarm_seconds        = optional(number, 1800)
    record_min_seconds           = optional(number, 10)
  })
  default = {}
  validation {
    condition     = alltrue([for k, v in var.resilience : v > 0])
    error_message = "Every resilience setting must be positive."
  }
  validation {
    condition     = var.resilience.retry_max_age_seconds <= 1209600
    error_message = "retry_max_age_seconds must be at most 14 days (an SQS message's longest retention)."
  }
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

variable "object_lifecycle" {
  description = "Retention and tiering of raw/processed objects and the event log: modules/storage's object_lifecycle (its description gives the fields and why the defaults keep everything)."
  type        = any
  default     = {}
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

variable "maximum_concurrency" {
  description = <<-EOT
    Concurrent invocations per queue consumer: each event source mapping's scaling_config
    maximum_concurrency in AWS (envs/aws reads it from the consumers output), and the number of
    instances the local runtime runs of each (it reads the same output). Lambda accepts 2..1000.
    processor: not a platform limit but a cap on a burst; Lambda starts an SQS mapping at five
    concurrent batches, and more photos processed at once only lengthen the publish queues,
    which the publishers drain at their own (capped) pace. publisher: per target, the
    platforms' rate limits. analytics: every event updates its photo's status document and one
    of its day's 16 shards by compare-and-swap; two writers keep up with the pipeline here.
  EOT
  type = object({
    processor = optional(number, 5)
    publisher = optional(number, 2)
    analytics = optional(number, 2)
  })
  default = {}
  validation {
    condition     = alltrue([for v in values(var.maximum_concurrency) : v >= 2 && v <= 1000 && floor(v) == v])
    error_message = "An SQS event source mapping's maximum concurrency is a whole number in 2..1000."
  }
}

variable "operations" {
  description = "The root's part of the operator manifest (/socialomega/<env>/operations): its function names by service or consumer, each EventBridge schedule's DLQ URL by name (poller-schedule, token-keeper-schedule: `socialomega dlq` lists them, never redrives them) and the alarm topic ARN; null where the root has none (envs/local)."
  type = object({
    functions       = optional(map(string))
    schedule_dlqs   = optional(map(string))
    alarm_topic_arn = optional(string)
  })
  default = {}
  validation {
    # `socialomega dlq show|redrive NAME` picks a queue by name: a schedule's may not be a consumer's.
    condition     = alltrue([for name in keys(coalesce(var.operations.schedule_dlqs, {})) : can(regex("-schedule$", name))])
    error_message = "Every schedule DLQ's name ends in -schedule (e.g. poller-schedule), so it never shadows a consumer's DLQ."
  }
}

variable "token_check_every_seconds" {
  description = "How often the token keeper checks every target's credential and refreshes those due (the local runtime's schedule; envs/aws has its own schedule expression, `token_check_schedule`)."
  type        = number
  default     = 86400
  validation {
    condition     = var.token_check_every_seconds >= 60
    error_message = "token_check_every_seconds must be at least 60."
  }
}

variable "token_keeper_timeout" {
  description = "Function timeout of the token keeper in seconds: a few calls per target (inspect, refresh, inspect again), each at most 25 s (services/socialomega/tokens/health.py TOKEN_TIMEOUT)."
  type        = number
  default     = 120
  validation {
    condition     = var.token_keeper_timeout >= 30 && var.token_keeper_timeout <= 900
    error_message = "token_keeper_timeout must be between 30 and 900 seconds."
  }
}

variable "insights_every_seconds" {
  description = "How often the insights puller reads the recent posts' figures from their platforms (the local runtime's schedule; envs/aws has its own schedule expression, `insights_schedule`)."
  type        = number
  default     = 3600
  validation {
    condition     = var.insights_every_seconds >= 60
    error_message = "insights_every_seconds must be at least 60."
  }
}

variable "insights_timeout" {
  description = "Function timeout of the insights puller in seconds: one or a few reads per post (X: 100 posts per read); a run the deadline cuts short leaves the rest to the next run."
  type        = number
  default     = 300
  validation {
    condition     = var.insights_timeout >= 30 && var.insights_timeout <= 900
    error_message = "insights_timeout must be between 30 and 900 seconds."
  }
}

variable "insights_max_age_days" {
  description = "Posts published longer ago than this are no longer read by the insights puller (their last figures stay)."
  type        = number
  default     = 30
  validation {
    condition     = var.insights_max_age_days > 0 && var.insights_max_age_days <= 365
    error_message = "insights_max_age_days must be between 0 and 365."
  }
}

variable "release_every_seconds" {
  description = "How often the local runtime releases scheduled posts whose time has come (envs/aws runs it every minute)."
  type        = number
  default     = 60
  validation {
    condition     = var.release_every_seconds >= 1
    error_message = "release_every_seconds must be at least 1."
  }
}
