# Fan-out (SNS -> one SQS queue per publish target) and status events (EventBridge bus ->
# analytics queue). This module owns the queue policies of the queues it feeds, because
# an SQS queue has exactly one policy.

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

locals {
  # Each fed queue and its DLQ accept messages from their one sender only.
  sns_fed = merge(
    { for name, q in var.publish_queues : "publish-${name}" => { url = q.url, arn = q.arn } },
    { for name, q in var.publish_queues : "publish-${name}-dlq" => { url = q.dlq_url, arn = q.dlq_arn } },
  )
  events_fed = {
    analytics     = { url = var.analytics_queue.url, arn = var.analytics_queue.arn }
    analytics-dlq = { url = var.analytics_queue.dlq_url, arn = var.analytics_queue.dlq_arn }
  }
}

resource "aws_sqs_queue_policy" "from_sns" {
  for_each  = local.sns_fed
  queue_url = each.value.url
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "FromPublishTopic"
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = each.value.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_sns_topic.publish.arn } }
    }]
  })
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

resource "aws_sqs_queue_policy" "from_events" {
  for_each  = local.events_fed
  queue_url = each.value.url
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "FromStatusRule"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = each.value.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.status_to_analytics.arn } }
    }]
  })
}

resource "aws_cloudwatch_event_archive" "this" {
  name             = substr("${var.prefix}-events", 0, 48)
  description      = "Every event on the bus, replayable (StartReplay)."
  event_source_arn = aws_cloudwatch_event_bus.this.arn
  retention_days   = var.archive_retention_days
}
