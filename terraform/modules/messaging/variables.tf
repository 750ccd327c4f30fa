variable "prefix" {
  description = "Name prefix, e.g. socialomega-prod."
  type        = string
}

variable "publish_queues" {
  description = "Publish target name => its queue (from the queue module). The name is the SNS `platform` attribute the subscription filters on."
  type = map(object({
    arn     = string
    url     = string
    dlq_arn = string
    dlq_url = string
  }))
}

variable "analytics_queue" {
  description = "The analytics queue (from the queue module), target of the rule that carries every event."
  type = object({
    arn     = string
    url     = string
    dlq_arn = string
    dlq_url = string
  })
}

variable "archive_retention_days" {
  description = "Days the EventBridge archive keeps events for replay (0 = forever)."
  type        = number
  default     = 90
}

variable "sns_kms_key_id" {
  description = "KMS key for SNS encryption at rest (e.g. alias/aws/sns); null leaves it off (LocalStack)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
