output "service_env" {
  description = "Environment variables of every handler (services/CONTRACTS.md); a consumer's own ones (SO_PUBLISHER_TARGET) are in consumers[*].environment."
  value       = local.service_env
}

output "consumers" {
  description = "Queue consumers: name => queue, DLQ, batch size, timeouts, maximum concurrency, handler and the function's own environment variables (on top of service_env; a publisher's SO_PUBLISHER_TARGET). The local runtime reads this; envs/aws builds its functions and event source mappings from it."
  value = merge(
    {
      processor = {
        queue_url          = module.images_queue.url, queue_arn = module.images_queue.arn
        dlq_url            = module.images_queue.dlq_url, dlq_arn = module.images_queue.dlq_arn
        batch_size         = 5, function_timeout = var.function_timeouts.processor
        visibility_timeout = module.images_queue.visibility_timeout
        # The event source mapping's scaling_config in AWS; the local runtime's instances.
        maximum_concurrency = var.maximum_concurrency.processor
        handler             = "socialomega.processor.handler.handler", service = "processor"
        environment         = tomap({})
      }
      analytics = {
        queue_url           = module.analytics_queue.url, queue_arn = module.analytics_queue.arn
        dlq_url             = module.analytics_queue.dlq_url, dlq_arn = module.analytics_queue.dlq_arn
        batch_size          = 10, function_timeout = var.function_timeouts.analytics
        visibility_timeout  = module.analytics_queue.visibility_timeout
        maximum_concurrency = var.maximum_concurrency.analytics
        handler             = "socialomega.analytics.handler.handler", service = "analytics"
        environment         = tomap({})
      }
    },
    { for name, q in module.publish_queue : "publisher-${name}" => {
      queue_url           = q.url, queue_arn = q.arn, dlq_url = q.dlq_url, dlq_arn = q.dlq_arn
      batch_size          = 5, function_timeout = var.function_timeouts.publisher
      visibility_timeout  = q.visibility_timeout
      maximum_concurrency = var.maximum_concurrency.publisher
      handler             = "socialomega.publishers.handler.handler", service = "publisher"
      # The publisher's own target: it publishes only for this one, whatever a message names.
      environment = tomap({ SO_PUBLISHER_TARGET = name })
    } },
  )
}

output "dlq_urls" {
  description = "Consumer name => DLQ URL."
  value = merge(
    { processor = module.images_queue.dlq_url, analytics = module.analytics_queue.dlq_url },
    { for name, q in module.publish_queue : "publisher-${name}" => q.dlq_url },
  )
}

output "poller" {
  description = "The scheduled poller."
  value = {
    handler          = "socialomega.poller.handler.handler"
    schedule_seconds = var.poll_every_seconds
    function_timeout = var.function_timeouts.poller
  }
}

output "token_keeper" {
  description = "The scheduled token keeper (services/socialomega/tokens): checks every target's credential, refreshes those due, one metric and log line per target. It ships in the publisher image."
  value = {
    handler          = "socialomega.tokens.handler.handler"
    schedule_seconds = var.token_check_every_seconds
    function_timeout = var.token_keeper_timeout
  }
}

output "insights" {
  description = "The scheduled insights puller (services/socialomega/insights): reads each recent post's figures from its platform into its series document. It ships in the publisher image."
  value = {
    handler          = "socialomega.insights.handler.handler"
    schedule_seconds = var.insights_every_seconds
    function_timeout = var.insights_timeout
    max_age_days     = var.insights_max_age_days
  }
}

output "release" {
  description = "The scheduled release run (services/socialomega/scheduling): each target's scheduled posts whose time has come go back to its publish queue. It ships in the publisher image."
  value = {
    handler          = "socialomega.scheduling.handler.handler"
    schedule_seconds = var.release_every_seconds
    function_timeout = 60
  }
}

output "buckets" {
  description = "Bucket names and ARNs by role."
  value       = { names = module.storage.names, arns = module.storage.arns }
}

output "topic_arn" {
  description = "Publish topic."
  value       = module.messaging.topic_arn
}

output "bus" {
  description = "Event bus name and ARN."
  value       = { name = module.messaging.bus_name, arn = module.messaging.bus_arn }
}

output "config" {
  description = "SSM parameter and secret ARNs; seeded: the secrets given a value from secret_values (local stacks)."
  value       = { parameters = module.config.parameter_arns, secrets = module.config.secret_arns, seeded = module.config.seeded_secret_names }
}

output "wiring" {
  description = "Queue and messaging settings of the whole pipeline (checked by `terraform test`)."
  value = {
    queues = merge(
      { images = module.images_queue.wiring, analytics = module.analytics_queue.wiring },
      { for name, q in module.publish_queue : "publish-${name}" => q.wiring },
    )
    messaging = module.messaging.wiring
  }
}

output "resilience" {
  description = "Retry and breaker settings, defaults applied (the functions get them as SO_RETRY_* / SO_BREAKER_* variables)."
  value       = var.resilience
}

output "operations" {
  description = "The operator manifest: the SSM parameter `socialomega --env <env>` reads, and its JSON value."
  # The JSON from the local, not the resource: the provider marks every parameter value sensitive.
  value = { parameter = aws_ssm_parameter.operations.name, value = jsonencode(local.operations) }
}
