variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "env" {
  description = "Environment name; resources are named socialomega-<env>-*."
  type        = string
  default     = "prod"
}

variable "bucket_prefix" {
  description = "Globally unique prefix of the bucket names, e.g. socialomega-prod-123456789012."
  type        = string
}

variable "image_uris" {
  description = "Container image per service, pinned by digest: keys poller, processor, publisher, analytics (make deploy fills them)."
  type        = map(string)
  validation {
    condition     = alltrue([for k in ["poller", "processor", "publisher", "analytics"] : contains(keys(var.image_uris), k)])
    error_message = "image_uris needs poller, processor, publisher and analytics."
  }
}

variable "lightroom_settings" {
  description = "Lightroom intake: {base_url = \"https://lr.adobe.io\", album = \"Publish\", keyword = \"\", rendition = \"2048\"}."
  type        = any
}

variable "targets" {
  description = "Publish targets: list of {name, platform, spec, endpoint, ...} (see README)."
  type        = any
}

variable "poll_schedule" {
  description = "EventBridge Scheduler expression for the poller."
  type        = string
  default     = "rate(5 minutes)"
}

variable "memory_sizes" {
  description = "Memory (MB) per service."
  type        = object({ poller = number, processor = number, publisher = number, analytics = number })
  default     = { poller = 512, processor = 1024, publisher = 256, analytics = 256 }
}

variable "publisher_max_concurrency" {
  description = "Concurrent publisher invocations per target (platform rate limits); 2..1000."
  type        = number
  default     = 2
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention for every function."
  type        = number
  default     = 30
}

variable "alarm_topic_arn" {
  description = "SNS topic notified by the DLQ alarms (null: alarms without actions)."
  type        = string
  default     = null
}
