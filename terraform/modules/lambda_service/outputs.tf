output "function_name" {
  description = "Function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Function ARN."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "ARN API Gateway invokes the function by (an AWS_PROXY integration's uri)."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "wiring" {
  description = "The settings reviews and `terraform test` check (architecture, tracing, role, policy, mapping)."
  value = {
    package_type         = aws_lambda_function.this.package_type
    architectures        = aws_lambda_function.this.architectures
    tracing_mode         = aws_lambda_function.this.tracing_config[0].mode
    timeout              = aws_lambda_function.this.timeout
    role_name            = aws_iam_role.this.name
    policy               = jsondecode(aws_iam_role_policy.this.policy)
    s3                   = local.s3_access
    environment          = one([for e in aws_lambda_function.this.environment : e.variables])
    log_retention_days   = aws_cloudwatch_log_group.this.retention_in_days
    log_group_name       = aws_cloudwatch_log_group.this.name
    dead_letter_arn      = one([for d in aws_lambda_function.this.dead_letter_config : d.target_arn])
    reserved_concurrency = aws_lambda_function.this.reserved_concurrent_executions
    async_invoke = one([for c in aws_lambda_function_event_invoke_config.this : {
      maximum_retry_attempts       = c.maximum_retry_attempts
      maximum_event_age_in_seconds = c.maximum_event_age_in_seconds
    }])
    event_source_mapping = one([for m in aws_lambda_event_source_mapping.queue : {
      event_source_arn        = m.event_source_arn
      batch_size              = m.batch_size
      function_response_types = m.function_response_types
      maximum_concurrency     = one([for c in m.scaling_config : c.maximum_concurrency])
    }])
  }
}
