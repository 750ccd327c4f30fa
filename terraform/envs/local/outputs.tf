output "service_env" {
  description = "Handler environment."
  value       = module.pipeline.service_env
}

output "consumers" {
  description = "Queue consumers for the local runtime."
  value       = module.pipeline.consumers
}

output "dlq_urls" {
  description = "DLQ URL per consumer."
  value       = module.pipeline.dlq_urls
}

output "poller" {
  description = "Poller handler and schedule."
  value       = module.pipeline.poller
}

output "token_keeper" {
  description = "Token keeper handler and schedule (the local runtime runs it like the poller)."
  value       = module.pipeline.token_keeper
}

output "insights" {
  description = "Insights puller handler and schedule (the local runtime runs it like the poller)."
  value       = module.pipeline.insights
}

output "release" {
  description = "Release run handler and schedule (the local runtime runs it like the poller)."
  value       = module.pipeline.release
}

output "operations" {
  description = "The operator manifest (SSM parameter and JSON value) that `socialomega --env <env>` reads."
  value       = module.pipeline.operations
}
