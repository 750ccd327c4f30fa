output "name" {
  description = "Queue name."
  value       = aws_sqs_queue.this.name
}

output "arn" {
  description = "Queue ARN."
  value       = aws_sqs_queue.this.arn
}

output "url" {
  description = "Queue URL."
  value       = aws_sqs_queue.this.id
}

output "dlq_arn" {
  description = "Dead-letter queue ARN."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_url" {
  description = "Dead-letter queue URL."
  value       = aws_sqs_queue.dlq.id
}

output "visibility_timeout" {
  description = "Visibility timeout in seconds (6x the function timeout)."
  value       = aws_sqs_queue.this.visibility_timeout_seconds
}

output "wiring" {
  description = "Redrive, alarm and timeout settings (checked by `terraform test`)."
  value = {
    redrive           = jsondecode(aws_sqs_queue_redrive_policy.this.redrive_policy)
    dlq_arn           = aws_sqs_queue.dlq.arn
    dlq_name          = aws_sqs_queue.dlq.name
    alarm_queue_name  = aws_cloudwatch_metric_alarm.dlq_depth.dimensions["QueueName"]
    alarm_threshold   = aws_cloudwatch_metric_alarm.dlq_depth.threshold
    age_alarm_queue   = aws_cloudwatch_metric_alarm.oldest_message_age.dimensions["QueueName"]
    age_alarm_seconds = aws_cloudwatch_metric_alarm.oldest_message_age.threshold
    # What both alarms are given (LocalStack answers a freshly created alarm's actions as null).
    alarm_actions      = var.alarm_actions
    visibility_timeout = aws_sqs_queue.this.visibility_timeout_seconds
    policy             = local.policies["queue"] == null ? null : jsondecode(local.policies["queue"])
    dlq_policy         = local.policies["dlq"] == null ? null : jsondecode(local.policies["dlq"])
  }
}
