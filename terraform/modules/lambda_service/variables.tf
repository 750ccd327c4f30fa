variable "name" {
  description = "Function name."
  type        = string
}

variable "image_uri" {
  description = "Container image URI, pinned by digest (repo@sha256:...)."
  type        = string
}

variable "architecture" {
  description = "Instruction set the function runs on, x86_64 or arm64; the image must be built for it (linux/amd64 or linux/arm64, a single-platform image: Lambda runs no multi-architecture index)."
  type        = string
  default     = "x86_64"
  nullable    = false
  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture is x86_64 or arm64 (Lambda's two)."
  }
}

variable "command" {
  description = "Handler to run (the image CMD), e.g. socialomega.processor.handler.handler."
  type        = string
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
}

variable "memory_size" {
  description = "Memory in MB (CPU scales with it)."
  type        = number
  default     = 512
}

variable "environment" {
  description = "Environment variables (the handler contract, services/CONTRACTS.md)."
  type        = map(string)
  default     = {}
}

variable "policy_statements" {
  description = "IAM statements of this function's own role: {sid, actions, resources}. Name exact resources only."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
}

variable "conditional_statements" {
  description = "IAM statements that also carry a Condition block: {sid, actions, resources, conditions = {operator = {key = [values]}}}."
  type = list(object({
    sid        = string
    actions    = list(string)
    resources  = list(string)
    conditions = map(map(list(string)))
  }))
  default = []
}

variable "queue" {
  description = "SQS queue to consume with an event source mapping (null: none)."
  type = object({
    arn        = string
    batch_size = number
  })
  default = null
}

variable "maximum_batching_window_in_seconds" {
  description = "Batching window of the event source mapping."
  type        = number
  default     = 0
}

variable "maximum_concurrency" {
  description = "Upper bound of concurrent invocations from the queue (protects rate-limited platforms); null = Lambda's default."
  type        = number
  default     = null
}

variable "dead_letter_queue_arn" {
  description = "SQS queue for asynchronous invocations that still fail after Lambda's retries (functions invoked asynchronously, e.g. by a schedule); null for queue consumers, whose failures go to their queue's DLQ."
  type        = string
  default     = null
}

variable "reserved_concurrency" {
  description = "Reserved concurrency (-1: unreserved)."
  type        = number
  default     = -1
}

variable "async_maximum_retry_attempts" {
  description = "Asynchronous invocations (a schedule): how often Lambda retries one that failed, 0-2. null with async_maximum_event_age_seconds null: no event invoke config, Lambda's defaults (2 retries, 6 hours)."
  type        = number
  default     = null
  validation {
    condition     = var.async_maximum_retry_attempts == null || (coalesce(var.async_maximum_retry_attempts, 0) >= 0 && coalesce(var.async_maximum_retry_attempts, 0) <= 2)
    error_message = "async_maximum_retry_attempts is 0, 1 or 2 (Lambda's range)."
  }
}

variable "async_maximum_event_age_seconds" {
  description = "Asynchronous invocations: how long Lambda keeps an event it could not run yet (throttled) or is retrying, 60-21600 s; older ones go to the dead-letter queue. null: Lambda's default (6 hours)."
  type        = number
  default     = null
  validation {
    condition     = var.async_maximum_event_age_seconds == null || (coalesce(var.async_maximum_event_age_seconds, 60) >= 60 && coalesce(var.async_maximum_event_age_seconds, 60) <= 21600)
    error_message = "async_maximum_event_age_seconds is between 60 and 21600 (Lambda's range)."
  }
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention."
  type        = number
  default     = 30
}

variable "kms_key_arn" {
  description = "KMS key for environment variables and logs (null: AWS managed)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
