output "topic_arn" {
  description = "SNS topic receiving one PublishRequested per target."
  value       = aws_sns_topic.publish.arn
}

output "analytics_rule_arn" {
  description = "The rule sending every event of a socialomega source to the analytics queue."
  value       = aws_cloudwatch_event_rule.events_to_analytics.arn
}

output "analytics_rule_arns" {
  description = "Every rule delivering to the analytics queue and, on failure, to its DLQ: the senders its queue policies admit."
  value       = [aws_cloudwatch_event_rule.events_to_analytics.arn]
}

output "archive_arn" {
  description = "The bus's archive (every event, replayable with StartReplay)."
  value       = aws_cloudwatch_event_archive.this.arn
}

output "bus_name" {
  description = "EventBridge bus: every domain event (detections, publish requests and results, engagement, breakers)."
  value       = aws_cloudwatch_event_bus.this.name
}

output "bus_arn" {
  description = "EventBridge bus ARN."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "subscription_arns" {
  description = "Target name => SNS subscription ARN."
  value       = { for k, s in aws_sns_topic_subscription.publish : k => s.arn }
}

output "wiring" {
  description = "Subscription and rule-target settings (checked by `terraform test`)."
  value = {
    subscriptions = { for k, s in aws_sns_topic_subscription.publish : k => {
      raw_message_delivery = s.raw_message_delivery
      filter_policy        = jsondecode(s.filter_policy)
      redrive_policy       = jsondecode(s.redrive_policy)
    } }
    analytics_target = {
      rule_arn                     = aws_cloudwatch_event_rule.events_to_analytics.arn
      event_pattern                = jsondecode(aws_cloudwatch_event_rule.events_to_analytics.event_pattern)
      arn                          = aws_cloudwatch_event_target.analytics.arn
      maximum_retry_attempts       = aws_cloudwatch_event_target.analytics.retry_policy[0].maximum_retry_attempts
      maximum_event_age_in_seconds = aws_cloudwatch_event_target.analytics.retry_policy[0].maximum_event_age_in_seconds
      dead_letter_arn              = aws_cloudwatch_event_target.analytics.dead_letter_config[0].arn
    }
    archive = {
      event_source_arn = aws_cloudwatch_event_archive.this.event_source_arn
      event_pattern    = aws_cloudwatch_event_archive.this.event_pattern
      retention_days   = aws_cloudwatch_event_archive.this.retention_days
    }
  }
}
