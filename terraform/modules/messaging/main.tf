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

# Every domain event on the bus goes to the analytics aggregator, which appends each one once
# to the S3 event log (events/<type>/<yyyy>/<mm>/<dd>/<id>.json) and counts results and
# engagement: detections and publish requests (poller, processor), publish results and breaker
# transitions (publisher), engagement (webhooks). Any socialomega source, any detail-type: a type
# the aggregator does not know is dead-lettered with its reason, never dropped by the pattern.
resource "aws_cloudwatch_event_rule" "events_to_analytics" {
  name           = "${var.prefix}-events-to-analytics"
  description    = "Every SocialOmega event goes to the analytics aggregator (event log and counters)."
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern = jsonencode({
    source = [{ prefix = "socialomega." }]
  })
  tags = var.tags
  # Replaces the per-type rules: the new one routes before the old ones go (a duplicate in
  # between is counted once by the aggregator; anything missed is in the archive).
  lifecycle {
    create_before_destroy = true
  }
}

moved {
  from = aws_cloudwatch_event_rule.status_to_analytics
  to   = aws_cloudwatch_event_rule.events_to_analytics
}

resource "aws_cloudwatch_event_target" "analytics" {
  rule           = aws_cloudwatch_event_rule.events_to_analytics.name
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
  lifecycle {
    create_before_destroy = true
  }
}

# No event_pattern: the archive keeps every event put on the bus, whatever its source, for
# EventBridge's own replay (StartReplay) beside the S3 event log.
resource "aws_cloudwatch_event_archive" "this" {
  name             = substr("${var.prefix}-events", 0, 48)
  description      = "Every event on the bus, replayable (StartReplay)."
  event_source_arn = aws_cloudwatch_event_bus.this.arn
  retention_days   = var.archive_retention_days
}
