variable "name" {
  description = "Function name; also the schedule's, and the prefix of its DLQ and scheduler role."
  type        = string
}

variable "image_uri" {
  description = "Container image (by digest) the function runs."
  type        = string
}

variable "architecture" {
  description = "x86_64 or arm64 (lambda_service checks it)."
  type        = string
}

variable "command" {
  description = "The image CMD override: the handler this function runs."
  type        = string
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
}

variable "memory_size" {
  description = "Function memory in MB."
  type        = number
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
}

variable "policy_statements" {
  description = "The function's own permissions (lambda_service adds logs, traces and its DLQ)."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
}

variable "log_retention_days" {
  description = "Days the function's logs are kept."
  type        = number
}

variable "reserved_concurrency" {
  description = "Reserved concurrency (-1: none); 1 keeps runs from overlapping."
  type        = number
  default     = -1
}

variable "schedule_expression" {
  description = "When it runs (EventBridge Scheduler expression: rate(...) or cron(...))."
  type        = string
}

variable "schedule_group" {
  description = "The schedule group."
  type        = string
  default     = "default"
}

variable "conditional_statements" {
  description = "The function's permissions that carry a Condition (lambda_service's `conditional_statements`)."
  type = list(object({
    sid        = string
    actions    = list(string)
    resources  = list(string)
    conditions = map(map(list(string)))
  }))
  default = []
}
