output "topic_arn" {
  description = "SNS topic receiving one PublishRequested per target."
  value       = aws_sns_topic.publish.arn
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
