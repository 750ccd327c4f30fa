output "functions" {
  description = "Function names by service."
  value = merge(
    { poller = module.poller.function_name, processor = module.processor.function_name, analytics = module.analytics.function_name, webhooks = module.webhooks.function_name },
    { for k, m in module.publisher : k => m.function_name },
  )
}

output "dlq_urls" {
  description = "DLQ per consumer (inspect with `aws sqs receive-message`, redrive with StartMessageMoveTask)."
  value       = module.pipeline.dlq_urls
}

output "buckets" {
  description = "Bucket names."
  value       = module.pipeline.buckets.names
}

output "secret_arns" {
  description = "Secrets to fill in after the first apply (README: Deploying to AWS); webhooks holds the webhook verification keys (meta_app_secret, meta_verify_token, x_consumer_secret, linkedin_client_secret)."
  value       = module.pipeline.config.secrets
}

output "image_uris" {
  description = "The deployed images, pinned by digest (terraform/bin/deploy plan falls back to these)."
  value       = var.image_uris
}

output "alarms" {
  description = "Where to look when something fails: the DLQ alarms are named <queue>-dlq-not-empty."
  value       = "aws cloudwatch describe-alarms --alarm-name-prefix socialomega-${var.env}- --state-value ALARM"
}

output "queue_urls" {
  description = "Consumer => its work queue URL: the destination when redriving that consumer's DLQ."
  value       = { for name, c in module.pipeline.consumers : name => c.queue_url }
}

output "webhook_url_template" {
  description = "Engagement webhook callback URL to register with each platform (replace {platform} with instagram, facebook, x or linkedin). Its verification keys go in the secret socialomega/<env>/webhooks (secret_arns.webhooks)."
  value       = module.webhook_api.webhook_url_template
}

output "operations_parameter" {
  description = "The operator manifest `socialomega --env <env>` reads (SSM parameter name)."
  value       = module.pipeline.operations.parameter
}
