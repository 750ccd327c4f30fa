variable "name" {
  description = "Queue name; the dead-letter queue is `<name>-dlq`."
  type        = string
}

variable "function_timeout" {
  description = "Timeout in seconds of the function consuming the queue; visibility timeout is 6x this (AWS guidance for event source mappings)."
  type        = number
  validation {
    condition     = var.function_timeout >= 1 && var.function_timeout <= 900
    error_message = "function_timeout must be 1..900 seconds (the Lambda limit)."
  }
}

variable "max_receive_count" {
  description = "Receives before SQS moves a message to the DLQ."
  type        = number
  default     = 5
  validation {
    condition     = var.max_receive_count >= 5
    error_message = "max_receive_count must be at least 5 so transient failures get several retries."
  }
}

variable "message_retention_seconds" {
  description = "How long the main queue keeps a message."
  type        = number
  default     = 345600
}

variable "allowed_senders" {
  description = "AWS services allowed to send to the queue, each only from its source ARN (e.g. the SNS topic). Set at creation: a separate aws_sqs_queue_policy would cost another 25 s wait."
  type        = list(object({ service = string, source_arn = string }))
  default     = []
}

variable "dlq_allowed_senders" {
  description = "Services allowed to send to the DLQ directly (an SNS subscription's or an EventBridge target's dead-letter config)."
  type        = list(object({ service = string, source_arn = string }))
  default     = []
}

variable "oldest_message_alarm_seconds" {
  description = "Alarm when the queue's oldest message is older than this (seconds)."
  type        = number
  default     = 1800
}

variable "alarm_actions" {
  description = "ARNs notified when the DLQ holds messages (e.g. an SNS topic)."
  type        = list(string)
  default     = []
}

variable "tag_alarm" {
  description = "Tag the DLQ alarm too. LocalStack 4.14 drops CloudWatch alarm tags, which shows as drift on every plan: local stacks set false."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
