output "rest_api_id" {
  description = "REST API id."
  value       = aws_api_gateway_rest_api.this.id
}

output "execution_arn" {
  description = "The API's execution ARN (what the Lambda permission is scoped to)."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "stage_name" {
  description = "Stage name."
  value       = aws_api_gateway_stage.this.stage_name
}

output "invoke_url" {
  description = "The stage's invoke URL, https://<api-id>.execute-api.<region>.amazonaws.com/<stage>."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "webhook_url_template" {
  description = "The callback URL to register with each platform: replace {platform} with instagram, facebook, x or linkedin."
  value       = "${aws_api_gateway_stage.this.invoke_url}/webhooks/{platform}"
}

output "access_log_group_name" {
  description = "Access log group (one JSON line per request)."
  value       = aws_cloudwatch_log_group.access.name
}

output "wiring" {
  description = "Routes, logging, tracing, throttling and the invoke permission (checked by `terraform test`)."
  value = {
    endpoint_types = aws_api_gateway_rest_api.this.endpoint_configuration[0].types
    methods = { for k, m in aws_api_gateway_method.this : k => {
      resource_id        = m.resource_id
      authorization      = m.authorization
      request_parameters = m.request_parameters
    } }
    integrations = { for k, i in aws_api_gateway_integration.this : k => {
      type                    = i.type
      integration_http_method = i.integration_http_method
      uri                     = i.uri
    } }
    platform_path             = "/${aws_api_gateway_resource.webhooks.path_part}/${aws_api_gateway_resource.platform.path_part}"
    xray_tracing_enabled      = aws_api_gateway_stage.this.xray_tracing_enabled
    access_log_destination    = aws_api_gateway_stage.this.access_log_settings[0].destination_arn
    access_log_format         = jsondecode(aws_api_gateway_stage.this.access_log_settings[0].format)
    access_log_group_arn      = aws_cloudwatch_log_group.access.arn
    access_log_retention_days = aws_cloudwatch_log_group.access.retention_in_days
    execution_log_group_name  = aws_cloudwatch_log_group.execution.name
    execution_log_retention   = aws_cloudwatch_log_group.execution.retention_in_days
    method_settings = {
      method_path            = aws_api_gateway_method_settings.all.method_path
      metrics_enabled        = aws_api_gateway_method_settings.all.settings[0].metrics_enabled
      logging_level          = aws_api_gateway_method_settings.all.settings[0].logging_level
      data_trace_enabled     = aws_api_gateway_method_settings.all.settings[0].data_trace_enabled
      caching_enabled        = aws_api_gateway_method_settings.all.settings[0].caching_enabled
      throttling_burst_limit = aws_api_gateway_method_settings.all.settings[0].throttling_burst_limit
      throttling_rate_limit  = aws_api_gateway_method_settings.all.settings[0].throttling_rate_limit
    }
    permission = {
      action        = aws_lambda_permission.api.action
      function_name = aws_lambda_permission.api.function_name
      principal     = aws_lambda_permission.api.principal
      source_arn    = aws_lambda_permission.api.source_arn
    }
    execution_arn = aws_api_gateway_rest_api.this.execution_arn
  }
}
