# Alarms on what the services report themselves, as embedded-metric-format log lines
# (services/socialomega/core/metrics.py, namespace SocialOmega). The queues' own alarms (DLQ
# depth, oldest message age) are in modules/queue.

locals {
  resilience    = module.pipeline.resilience
  alarm_actions = [local.alarm_topic_arn]
}

# A publisher defers every message of a target whose breaker is open and reports how long it
# has been open (BreakerOpenSeconds, per Target): an outage nobody looks at is still an outage.
resource "aws_cloudwatch_metric_alarm" "breaker_open_too_long" {
  for_each            = toset([for t in var.targets : t.name])
  alarm_name          = "${local.prefix}-breaker-${each.key}-open-too-long"
  alarm_description   = "The circuit breaker of target ${each.key} has been open for over ${local.resilience.breaker_alarm_seconds} s: the platform keeps failing, its photos wait (nothing is lost; they go out when it closes)."
  namespace           = "SocialOmega"
  metric_name         = "BreakerOpenSeconds"
  dimensions          = { Target = each.key }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = local.resilience.breaker_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

# The poller parks a photo that failed on every poll (services/socialomega/poller): it waits
# for a person (a new Lightroom version of it is tried again).
resource "aws_cloudwatch_metric_alarm" "photos_parked" {
  alarm_name          = "${local.prefix}-photos-parked"
  alarm_description   = "The poller parked photos that failed on every poll; `python -m socialomega.local parked` (locally) or the parked/ prefix of the store bucket lists them with their reasons."
  namespace           = "SocialOmega"
  metric_name         = "PhotosParked"
  dimensions          = { Service = "poller" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}
