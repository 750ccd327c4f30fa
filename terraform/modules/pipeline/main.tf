# Everything but the functions: storage, queues, fan-out, status bus, config. Composed by
# envs/local (LocalStack, where a local runtime plays Lambda) and envs/aws (which adds the
# container-image functions).

locals {
  prefix       = "socialomega-${var.env}"
  target_names = [for t in var.targets : t.name]
  # Secrets of the services themselves, beside one per target (variables.tf keeps target
  # names off these): socialomega/<env>/lightroom (the poller's Lightroom credentials) and
  # socialomega/<env>/webhooks (the webhook endpoint's verification keys: meta_app_secret,
  # meta_verify_token, x_consumer_secret, linkedin_client_secret).
  service_secret_names = ["lightroom", "webhooks"]
  # The contract every handler reads (services/CONTRACTS.md); the local runtime and the
  # Lambda functions get exactly this environment, plus each consumer's own variables
  # (outputs.tf, consumers[*].environment: a publisher's SO_PUBLISHER_TARGET).
  service_env = {
    SO_ENV               = var.env
    SO_RAW_BUCKET        = module.storage.names["raw"]
    SO_PROCESSED_BUCKET  = module.storage.names["processed"]
    SO_STORE_BUCKET      = module.storage.names["store"]
    SO_IMAGES_QUEUE_URL  = module.images_queue.url
    SO_PUBLISH_TOPIC_ARN = module.messaging.topic_arn
    SO_EVENT_BUS         = module.messaging.bus_name
    SO_CONFIG_PREFIX     = module.config.config_prefix
    SO_SECRET_PREFIX     = module.config.secret_prefix
    # Retries and breakers (core/config.py Resilience).
    SO_RETRY_BASE_SECONDS           = tostring(var.resilience.retry_base_seconds)
    SO_RETRY_MAX_DELAY_SECONDS      = tostring(var.resilience.retry_max_delay_seconds)
    SO_RETRY_MAX_AGE_SECONDS        = tostring(var.resilience.retry_max_age_seconds)
    SO_BREAKER_THRESHOLD            = tostring(var.resilience.breaker_threshold)
    SO_BREAKER_COOLDOWN_SECONDS     = tostring(var.resilience.breaker_cooldown_seconds)
    SO_BREAKER_MAX_COOLDOWN_SECONDS = tostring(var.resilience.breaker_max_cooldown_seconds)
    SO_BREAKER_ALARM_SECONDS        = tostring(var.resilience.breaker_alarm_seconds)
    SO_RECORD_MIN_SECONDS           = tostring(var.resilience.record_min_seconds)
  }
}

module "storage" {
  source        = "../storage"
  bucket_prefix = coalesce(var.bucket_prefix, local.prefix)
  force_destroy = var.force_destroy
  tags          = var.tags

  noncurrent_version_days = var.noncurrent_version_days
  object_lifecycle        = var.object_lifecycle
}

module "images_queue" {
  source           = "../queue"
  name             = "${local.prefix}-images"
  function_timeout = var.function_timeouts.processor
  alarm_actions    = var.alarm_actions
  tag_alarm        = var.tag_alarms
  tags             = var.tags
}

module "publish_queue" {
  source           = "../queue"
  for_each         = toset(local.target_names)
  name             = "${local.prefix}-publish-${each.key}"
  function_timeout = var.function_timeouts.publisher
  # SNS delivers to the queue, and to its DLQ what it cannot deliver.
  allowed_senders     = [{ service = "sns.amazonaws.com", source_arn = module.messaging.topic_arn }]
  dlq_allowed_senders = [{ service = "sns.amazonaws.com", source_arn = module.messaging.topic_arn }]
  alarm_actions       = var.alarm_actions
  tag_alarm           = var.tag_alarms
  tags                = var.tags
}

module "analytics_queue" {
  source           = "../queue"
  name             = "${local.prefix}-analytics"
  function_timeout = var.function_timeouts.analytics
  # The status and engagement rules deliver to the queue, and to its DLQ what they cannot deliver.
  allowed_senders     = [for arn in module.messaging.analytics_rule_arns : { service = "events.amazonaws.com", source_arn = arn }]
  dlq_allowed_senders = [for arn in module.messaging.analytics_rule_arns : { service = "events.amazonaws.com", source_arn = arn }]
  alarm_actions       = var.alarm_actions
  tag_alarm           = var.tag_alarms
  tags                = var.tags
}

module "messaging" {
  source = "../messaging"
  prefix = local.prefix
  publish_queues = { for name, q in module.publish_queue : name => {
    arn = q.arn, url = q.url, dlq_arn = q.dlq_arn, dlq_url = q.dlq_url
  } }
  analytics_queue = {
    arn     = module.analytics_queue.arn
    url     = module.analytics_queue.url
    dlq_arn = module.analytics_queue.dlq_arn
    dlq_url = module.analytics_queue.dlq_url
  }
  sns_kms_key_id = var.sns_kms_key_id
  tags           = var.tags
}

module "config" {
  source                  = "../config"
  env                     = var.env
  lightroom_settings      = var.lightroom_settings
  targets                 = var.targets
  secret_names            = concat(local.service_secret_names, local.target_names)
  secret_values           = var.secret_values
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = var.tags
}

# The operator manifest: everything `socialomega --env <env>` needs to find this environment
# from its name alone (services/socialomega/ops/environment.py reads it). Only operators read
# it: no function's role names it. Intelligent-Tiering: Standard while it fits 4 KB, Advanced
# once many targets make it longer, without a change here.
locals {
  operations = merge(
    {
      schema_version = 1
      env            = var.env
      buckets        = module.storage.names
      consumers = merge(
        {
          processor = { queue_url = module.images_queue.url, dlq_url = module.images_queue.dlq_url, service = "processor", target = null, maximum_concurrency = var.maximum_concurrency.processor }
          analytics = { queue_url = module.analytics_queue.url, dlq_url = module.analytics_queue.dlq_url, service = "analytics", target = null, maximum_concurrency = var.maximum_concurrency.analytics }
        },
        { for name, q in module.publish_queue : "publisher-${name}" => {
          queue_url = q.url, dlq_url = q.dlq_url, service = "publisher", target = name, maximum_concurrency = var.maximum_concurrency.publisher
        } },
      )
      images_queue_url  = module.images_queue.url
      publish_topic_arn = module.messaging.topic_arn
      event_bus         = module.messaging.bus_name
      config_prefix     = module.config.config_prefix
      secret_prefix     = module.config.secret_prefix
      secret_names      = sort(concat(local.service_secret_names, local.target_names))
    },
    # What only the root knows (envs/aws: its functions, the schedules' DLQs, the alarm topic).
    var.operations,
  )
}

resource "aws_ssm_parameter" "operations" {
  # checkov:skip=CKV2_AWS_34:Resource names and URLs (buckets, queues, topics, functions), no credentials: those live in Secrets Manager.
  name  = "/socialomega/${var.env}/operations"
  type  = "String"
  tier  = "Intelligent-Tiering"
  value = jsonencode(local.operations)
  tags  = var.tags
}
