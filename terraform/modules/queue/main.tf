# A work queue with its dead-letter queue. The AWS provider waits ~25 s after creating a
# queue and after each attribute change, one change per queue at a time. So both queues are
# created in one wave with their policies inline (the DLQ's redrive-allow policy names the
# source queue by its predictable ARN), and only the redrive policy is attached afterwards:
# two waits in total instead of four.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  queue_arn = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:${var.name}"
  policies = { for which, senders in { queue = var.allowed_senders, dlq = var.dlq_allowed_senders } :
    which => length(senders) == 0 ? null : jsonencode({
      Version = "2012-10-17"
      Statement = [for i, s in senders : {
        Sid       = "Allow${i}"
        Effect    = "Allow"
        Principal = { Service = s.service }
        Action    = "sqs:SendMessage"
        Resource  = which == "queue" ? local.queue_arn : "${local.queue_arn}-dlq"
        Condition = { ArnEquals = { "aws:SourceArn" = s.source_arn } }
      }]
    })
  }
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = 1209600 # 14 days: time to look and redrive
  sqs_managed_sse_enabled   = true
  policy                    = local.policies["dlq"]
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [local.queue_arn]
  })
  tags = var.tags
}

resource "aws_sqs_queue" "this" {
  name                       = var.name
  visibility_timeout_seconds = 6 * var.function_timeout
  message_retention_seconds  = var.message_retention_seconds
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = true
  policy                     = local.policies["queue"]
  tags                       = var.tags
}

resource "aws_sqs_queue_redrive_policy" "this" {
  queue_url = aws_sqs_queue.this.id
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  alarm_name          = "${var.name}-dlq-not-empty"
  alarm_description   = "Messages in ${var.name}-dlq: failed work waiting to be looked at and redriven."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  tags                = var.tag_alarm ? var.tags : {}
}

# Work waiting too long: consumers failing whole batches, throttled, or not running. Retries and
# deferrals are fresh messages (delayed at most 15 minutes each), so a healthy queue's oldest
# message is never much older than that.
resource "aws_cloudwatch_metric_alarm" "oldest_message_age" {
  alarm_name          = "${var.name}-oldest-message-too-old"
  alarm_description   = "The oldest message in ${var.name} has waited over ${var.oldest_message_alarm_seconds} s: its consumer is not keeping up or not running."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.this.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.oldest_message_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  tags                = var.tag_alarm ? var.tags : {}
}
