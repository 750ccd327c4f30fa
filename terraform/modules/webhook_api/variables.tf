variable "name" {
  description = "API name, e.g. socialomega-prod-webhooks; the access log group is /aws/apigateway/<name>."
  type        = string
}

variable "function_name" {
  description = "The webhook function (name or ARN) the API invokes; this module grants API Gateway the permission."
  type        = string
}

variable "function_invoke_arn" {
  description = "The function's invoke ARN (aws_lambda_function.invoke_arn), the AWS_PROXY integration's uri."
  type        = string
}

variable "stage_name" {
  description = "Stage name, the first path segment of every URL: <invoke_url> ends in /<stage_name>."
  type        = string
  default     = "v1"
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.stage_name))
    error_message = "stage_name is 1-128 of A-Z, a-z, 0-9, _ and -."
  }
}

variable "log_retention_days" {
  description = "Retention (days) of the access and execution log groups; a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  type        = number
  default     = 30
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "execution_logging_level" {
  description = "API Gateway execution logging (OFF, ERROR or INFO), to API-Gateway-Execution-Logs_<api-id>/<stage>. ERROR: errors only (e.g. a failing integration). INFO: entries for every request, for debugging. Full request logging (data trace: headers, query string, body, hence signatures and Meta's hub.verify_token) stays off. Needs the account's API Gateway CloudWatch role (see main.tf)."
  type        = string
  default     = "ERROR"
  validation {
    condition     = contains(["OFF", "ERROR", "INFO"], var.execution_logging_level)
    error_message = "execution_logging_level is OFF, ERROR or INFO."
  }
}

variable "throttling_burst_limit" {
  description = "Stage-wide burst limit (requests) of every method; beyond it API Gateway answers 429 and the platforms retry later."
  type        = number
  default     = 50
  validation {
    condition     = var.throttling_burst_limit >= 1
    error_message = "throttling_burst_limit must be at least 1."
  }
}

variable "throttling_rate_limit" {
  description = "Stage-wide steady-state rate limit (requests per second) of every method."
  type        = number
  default     = 25
  validation {
    condition     = var.throttling_rate_limit > 0
    error_message = "throttling_rate_limit must be above 0."
  }
}

variable "kms_key_arn" {
  description = "KMS key for the log groups (null: CloudWatch Logs' own encryption). Its key policy must allow the logs service."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
