# Fan-out (SNS -> one SQS queue per publish target), status and engagement events
# (EventBridge bus -> analytics queue). The queues' policies admitting the topic and the rules
# are set by the queue module at creation (see modules/queue), from the ARNs this module outputs.

resource "aws_sns_topic" "publish" {
  name              = "${var.prefix}-publish"
  kms_master_key_id = var.sns_kms_key_id
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "publish" {
  for_each             = var.publish_queues
  topic_arn            = aws_sns_topic.publish.arn
  protocol             = "sqs"
  endpoint             = each.value.arn
  raw_message_delivery = true
  filter_policy_scope  = "MessageAttributes"
  filter_policy        = jsonencode({ platform = [each.key] })
  # Messages SNS cannot deliver go to the target's own DLQ.
  redrive_policy = jsonencode({ deadLetterTargetArn = each.value.dlq_arn })
}

resource "aws_cloudwatch_event_bus" "this" {
  name = "${var.prefix}-bus"
  tags = var.tags
}

resource "aws_cloudwatch_event_rule" "status_to_analytics" {
  name           = "${var.prefix}-status-to-analytics"
  description    = "Publish results go to the analytics aggregator."
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern = jsonencode({
    source        = ["socialomega.publisher"]
    "detail-type" = ["PublishSucceeded", "PublishFailed"]
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "analytics" {
  rule           = aws_cloudwatch_event_rule.status_to_analytics.name
  event_bus_name = aws_cloudwatch_event_bus.this.name
  target_id      = "analytics-queue"
  arn            = var.analytics_queue.arn
  # Explicit: defaults differ between classic and newer buses.
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
  dead_letter_config {
    arn = var.analytics_queue.dlq_arn
  }
}

# Engagement (likes, comments, shares) the webhook endpoint verified and matched to a post
# SocialOmega published: to the same analytics queue, with the same retries and DLQ.
resource "aws_cloudwatch_event_rule" "engagement_to_analytics" {
  name           = "${var.prefix}-engagement-to-analytics"
  description    = "Engagement received by the webhook endpoint goes to the analytics aggregator."
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern = jsonencode({
    source        = ["socialomega.webhooks"]
    "detail-type" = ["EngagementReceived"]
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "engagement_analytics" {
  rule           = aws_cloudwatch_event_rule.engagement_to_analytics.name
  event_bus_name = aws_cloudwatch_event_bus.this.name
  target_id      = "analytics-queue"
  arn            = var.analytics_queue.arn
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
  dead_letter_config {
    arn = var.analytics_queue.dlq_arn
  }
}

resource "aws_cloudwatch_event_archive" "this" {
  name             = substr("${var.prefix}-events", 0, 48)
  description      = "Every event on the bus, replayable (StartReplay)."
  event_source_arn = aws_cloudwatch_event_bus.this.arn
  retention_days   = var.archive_retention_days
}
