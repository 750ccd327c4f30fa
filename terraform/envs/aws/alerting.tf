# Alerts that reach a person: one SNS topic every alarm and every failed post notifies, with an
# e-mail subscription (`alarm_email`) and any others (`alarm_subscriptions`); or an existing
# topic (`alarm_topic_arn`), which this root then only uses. Every alarm of this root is here.

locals {
  create_alarm_topic = var.alarm_topic_arn == null
  alarm_topic_arn    = local.create_alarm_topic ? aws_sns_topic.alarms[0].arn : var.alarm_topic_arn
  # Every function, by the name its alarms show.
  functions = merge(
    { poller = module.poller.function_name, processor = module.processor.function_name },
    { analytics = module.analytics.function_name, webhooks = module.webhooks.function_name },
    { token-keeper = module.token_keeper.function_name, insights = module.insights.function_name },
    { release = module.release.function_name },
    { for name, m in module.publisher : name => m.function_name },
  )
}

# CloudWatch and EventBridge publish to an encrypted topic only with a customer managed key
# that lets them use it (the AWS managed aws/sns key cannot be shared with them).
resource "aws_kms_key" "alarms" {
  count               = local.create_alarm_topic ? 1 : 0
  description         = "${local.prefix} alarm topic"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "AlarmsAndRulesPublish"
        Effect    = "Allow"
        Principal = { Service = ["cloudwatch.amazonaws.com", "events.amazonaws.com"] }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_sns_topic" "alarms" {
  count             = local.create_alarm_topic ? 1 : 0
  name              = "${local.prefix}-alarms"
  kms_master_key_id = aws_kms_key.alarms[0].arn
}

resource "aws_sns_topic_policy" "alarms" {
  count = local.create_alarm_topic ? 1 : 0
  arn   = aws_sns_topic.alarms[0].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "ThisAccountsAlarms"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alarms[0].arn
        Condition = { ArnLike = { "aws:SourceArn" = "arn:${data.aws_partition.current.partition}:cloudwatch:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:alarm:*" } }
      },
      {
        Sid       = "TheFailedPostRule"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alarms[0].arn
        Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.publish_failed.arn } }
      },
    ]
  })
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = local.create_alarm_topic && var.alarm_email != null ? 1 : 0
  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email" # AWS mails a confirmation link first: nothing arrives until it is clicked
  endpoint  = var.alarm_email
}

resource "aws_sns_topic_subscription" "alarm_other" {
  for_each  = local.create_alarm_topic ? { for s in var.alarm_subscriptions : "${s.protocol}:${s.endpoint}" => s } : {}
  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

# --- every failed post is a notification naming the photo, the target and the reason ------
resource "aws_cloudwatch_event_rule" "publish_failed" {
  name           = "${local.prefix}-publish-failed-notify"
  description    = "Every PublishFailed (failed or unconfirmed) to the alarm topic, readable."
  event_bus_name = module.pipeline.bus.name
  event_pattern = jsonencode({
    source        = ["socialomega.publisher"]
    "detail-type" = ["PublishFailed"]
  })
}

resource "aws_cloudwatch_event_target" "publish_failed" {
  rule           = aws_cloudwatch_event_rule.publish_failed.name
  event_bus_name = module.pipeline.bus.name
  target_id      = "alarm-topic"
  arn            = local.alarm_topic_arn
  input_transformer {
    input_paths = {
      asset   = "$.detail.asset_id"
      target  = "$.detail.payload.target"
      status  = "$.detail.payload.status"
      code    = "$.detail.payload.error.code"
      reason  = "$.detail.payload.error.message"
      version = "$.detail.payload.version"
      when    = "$.detail.payload.failed_at"
    }
    input_template = "\"SocialOmega (${var.env}): photo <asset> (version <version>) was not posted to <target>: <status>, <code>: <reason> (at <when>). `socialomega status --asset <asset>` or the publications/<asset>/ records say more.\""
  }
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}

# --- what fails inside the functions ------------------------------------------------------
resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each            = local.functions
  alarm_name          = "${each.value}-errors"
  alarm_description   = "${each.value} ended invocations with an error (a crash or its timeout, not a record it dead-lettered with a reason): its log group says why."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "function_throttles" {
  for_each            = local.functions
  alarm_name          = "${each.value}-throttles"
  alarm_description   = "${each.value} was throttled: the account's concurrency (new accounts get a reduced quota) or its own limit is too low."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "webhook_api_5xx" {
  alarm_name          = "${local.prefix}-webhook-api-5xx"
  alarm_description   = "The webhook API answered 5xx: the platforms retry for a while, then drop notifications."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  dimensions          = { ApiName = "${local.prefix}-webhooks", Stage = module.webhook_api.stage_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
}

# The handler answers 500 (store or bus unavailable) and 503 (not configured) itself: those are
# successful Lambda invocations, so it counts them (WebhookServerErrors, EMF).
resource "aws_cloudwatch_metric_alarm" "webhook_server_errors" {
  alarm_name          = "${local.prefix}-webhook-answers-5xx"
  alarm_description   = "The webhook handler answered 500/503 (unconfigured secret, store or bus unavailable): notifications are being refused."
  namespace           = "SocialOmega"
  metric_name         = "WebhookServerErrors"
  dimensions          = { Service = "webhooks" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
}

# --- what the services report themselves (EMF lines, services/socialomega/core/metrics.py,
# namespace SocialOmega); the queues' own alarms (DLQ depth, oldest message) are in modules/queue
# A publisher defers every message of a target whose breaker is open and reports how long it
# has been open (BreakerOpenSeconds, per Target): an outage nobody looks at is still an outage.
resource "aws_cloudwatch_metric_alarm" "breaker_open_too_long" {
  for_each            = toset([for t in var.targets : t.name])
  alarm_name          = "${local.prefix}-breaker-${each.key}-open-too-long"
  alarm_description   = "The circuit breaker of target ${each.key} has been open for over ${module.pipeline.resilience.breaker_alarm_seconds} s: the platform keeps failing, its photos wait (nothing is lost; they go out when it closes)."
  namespace           = "SocialOmega"
  metric_name         = "BreakerOpenSeconds"
  dimensions          = { Target = each.key }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = module.pipeline.resilience.breaker_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
}

# A publisher found another photo already indexed under the post id the platform gave it
# (posts/<platform>/<id>.json, claimed create-only): the first entry is kept, so engagement on
# that post goes to the first photo. It should never happen with a real platform.
resource "aws_cloudwatch_metric_alarm" "post_index_conflicts" {
  for_each            = toset([for t in var.targets : t.name])
  alarm_name          = "${local.prefix}-post-index-conflict-${each.key}"
  alarm_description   = "Target ${each.key} was given a post id already indexed for another photo: its engagement goes to the first one. The publisher's log line post_index_conflict names both photos."
  namespace           = "SocialOmega"
  metric_name         = "PostIndexConflicts"
  dimensions          = { Target = each.key }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
}

# The poller parks a photo that failed on every poll (services/socialomega/poller): it waits
# for a person (a new Lightroom version of it is tried again).
resource "aws_cloudwatch_metric_alarm" "photos_parked" {
  alarm_name          = "${local.prefix}-photos-parked"
  alarm_description   = "The poller parked photos that failed on every poll; `socialomega --env <env> parked` (or the store bucket's state/poller/parked/) lists them with their reasons."
  namespace           = "SocialOmega"
  metric_name         = "PhotosParked"
  dimensions          = { Service = "poller" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
}

# --- credentials near expiry (the token keeper, tokens.tf: one EMF line per target per run) ----
# The keeper refreshes what it can `token_refresh_within_days` ahead; a token still under
# `token_alarm_days` is one it could not refresh (the platform offers none, or it keeps failing).
# Hourly periods over a daily metric: the state changes within the hour after a run and, missing
# data ignored, holds until the next run reports otherwise.
resource "aws_cloudwatch_metric_alarm" "token_expiring" {
  for_each            = toset(local.token_targets)
  alarm_name          = "${local.prefix}-token-${each.key}-expiring"
  alarm_description   = "The credential of target ${each.key} expires in under ${var.token_alarm_days} days and was not refreshed: publishing to it stops then. `socialomega tokens` says why and what to do (usually: authorise the app again and put the new token into the secret socialomega/${var.env}/${each.key})."
  namespace           = "SocialOmega"
  metric_name         = "TokenDaysLeft"
  dimensions          = { Target = each.key }
  statistic           = "Minimum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = var.token_alarm_days
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "ignore"
  alarm_actions       = [local.alarm_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "token_unhealthy" {
  for_each            = toset(local.token_targets)
  alarm_name          = "${local.prefix}-token-${each.key}-unhealthy"
  alarm_description   = "The credential of target ${each.key} is expired, revoked or could not be checked, or its due refresh failed: the token keeper's log line token_checked (target ${each.key}) and `socialomega tokens` give the reason."
  namespace           = "SocialOmega"
  metric_name         = "TokenUnhealthy"
  dimensions          = { Target = each.key }
  statistic           = "Maximum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "ignore"
  alarm_actions       = [local.alarm_topic_arn]
}

# A scheduled function's run that could not be delivered or failed (modules/scheduled_function):
# the token keeper checked no credential, or the insights puller read no figure.
locals {
  scheduled_functions = {
    token-keeper = { dlq = module.token_keeper.dlq.name, missed = "no target's credential was checked" }
    insights     = { dlq = module.insights.dlq.name, missed = "no post's figures were read from its platform" }
    release      = { dlq = module.release.dlq.name, missed = "scheduled posts whose time came were not sent" }
  }
}

resource "aws_cloudwatch_metric_alarm" "scheduled_run_dlq" {
  for_each            = local.scheduled_functions
  alarm_name          = "${local.prefix}-${each.key}-schedule-dlq-not-empty"
  alarm_description   = "Scheduled ${each.key} runs that could not be delivered or failed: ${each.value.missed}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value.dlq }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
}

moved {
  from = aws_cloudwatch_metric_alarm.token_schedule_dlq
  to   = aws_cloudwatch_metric_alarm.scheduled_run_dlq["token-keeper"]
}
