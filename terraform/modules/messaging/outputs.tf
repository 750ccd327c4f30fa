output "topic_arn" {
  description = "SNS topic receiving one PublishRequested per target."
  value       = aws_sns_topic.publish.arn
}

output "status_rule_arn" {
  description = "The rule sending status events to the analytics queue (its queue policy admits it)."
  value       = aws_cloudwatch_event_rule.status_to_analytics.arn
}

output "engagement_rule_arn" {
  description = "The rule sending engagement events (source socialomega.webhooks, EngagementReceived) to the analytics queue (its queue policy admits it)."
  value       = aws_cloudwatch_event_rule.engagement_to_analytics.arn
}

output "analytics_rule_arns" {
  description = "Every rule delivering to the analytics queue and, on failure, to its DLQ: the senders its queue policies admit."
  value       = [aws_cloudwatch_event_rule.status_to_analytics.arn, aws_cloudwatch_event_rule.engagement_to_analytics.arn]
}

output "bus_name" {
  description = "EventBridge bus for status and engagement events."
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
      rule_arn                     = aws_cloudwatch_event_rule.status_to_analytics.arn
      arn                          = aws_cloudwatch_event_target.analytics.arn
      maximum_retry_attempts       = aws_cloudwatch_event_target.analytics.retry_policy[0].maximum_retry_attempts
      maximum_event_age_in_seconds = aws_cloudwatch_event_target.analytics.retry_policy[0].maximum_event_age_in_seconds
      dead_letter_arn              = aws_cloudwatch_event_target.analytics.dead_letter_config[0].arn
    }
    engagement_target = {
      rule_arn                     = aws_cloudwatch_event_rule.engagement_to_analytics.arn
      event_pattern                = jsondecode(aws_cloudwatch_event_rule.engagement_to_analytics.event_pattern)
      arn                          = aws_cloudwatch_event_target.engagement_analytics.arn
      maximum_retry_attempts       = aws_cloudwatch_event_target.engagement_analytics.retry_policy[0].maximum_retry_attempts
      maximum_event_age_in_seconds = aws_cloudwatch_event_target.engagement_analytics.retry_policy[0].maximum_event_age_in_seconds
      dead_letter_arn              = aws_cloudwatch_event_target.engagement_analytics.dead_letter_config[0].arn
    }
  }
}
