output "function_name" {
  description = "Function name."
  value       = module.function.function_name
}

output "function_arn" {
  description = "Function ARN."
  value       = module.function.function_arn
}

output "wiring" {
  description = "The function's settings (lambda_service's wiring) for reviews and `terraform test`."
  value       = module.function.wiring
}

output "schedule" {
  description = "The schedule: expression, target, DLQ, and the scheduler role's trust and policy."
  value = {
    name                = aws_scheduler_schedule.this.name
    schedule_expression = aws_scheduler_schedule.this.schedule_expression
    target_arn          = aws_scheduler_schedule.this.target[0].arn
    dead_letter_arn     = aws_scheduler_schedule.this.target[0].dead_letter_config[0].arn
    role_trust          = jsondecode(aws_iam_role.scheduler.assume_role_policy)
    role_policy         = jsondecode(aws_iam_role_policy.scheduler.policy)
  }
}

output "dlq" {
  description = "The schedule's DLQ: runs that could not be delivered or failed."
  value       = { name = aws_sqs_queue.schedule_dlq.name, url = aws_sqs_queue.schedule_dlq.url, arn = aws_sqs_queue.schedule_dlq.arn }
}
