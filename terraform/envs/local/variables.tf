variable "env" {
  description = "Environment (Terraform workspace) name."
  type        = string
  default     = "local"
}

variable "localstack_endpoint" {
  description = "LocalStack gateway."
  type        = string
  default     = "http://127.0.0.1:4566"
}

variable "lightroom_settings" {
  description = "Lightroom intake settings (the sandbox's URL); see socialomega.local.sandbox_config."
  type        = any
}

variable "targets" {
  description = "Publish targets (the sandbox REST target); see socialomega.local.sandbox_config."
  type        = any
}

variable "secrets" {
  description = "Sandbox credentials (fixed public test values, not secrets)."
  type        = map(map(string))
  sensitive   = true
}

variable "poll_every_seconds" {
  description = "Poller schedule for the local runtime."
  type        = number
  default     = 300
}

variable "resilience" {
  description = "Retries and circuit breakers (see modules/pipeline `resilience`); null: the defaults."
  type        = any
  default     = null
}

variable "function_timeouts" {
  description = <<-EOT
    Function timeout in seconds per service. Every handler stops starting records SO_RECORD_MIN_SECONDS
    before its deadline and every call and wait is cut to what is left (core/deadline.py), so a
    timeout only has to fit the longest single step. Sized from the worst cases of the defaults:
    publisher 90 = Facebook's longest call (5 s connect + 60 s read) + 3 s margin + an Instagram
    status wait; `terraform/bin/check-targets` refuses a target whose longest call cannot fit.
    processor 60: variants of a 24 MP photo take 0.2-0.3 s, its S3 and SNS traffic about a second.
    poller 120: it saves its cursor and stops before the deadline, resuming on the next run.
  EOT
  type        = object({ processor = number, publisher = number, analytics = number, poller = number })
  default     = { processor = 60, publisher = 90, analytics = 30, poller = 120 }
}

variable "release_every_seconds" {
  description = "How often the local runtime releases scheduled posts (tests with a compressed schedule clock release every second)."
  type        = number
  default     = 60
}
