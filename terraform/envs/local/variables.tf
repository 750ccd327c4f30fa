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
