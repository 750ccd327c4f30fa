# SocialOmega in a real AWS account: the shared pipeline plus one container-image
# function per service, each with a role naming only its own resources.

module "pipeline" {
  source             = "../../modules/pipeline"
  env                = var.env
  bucket_prefix      = var.bucket_prefix
  lightroom_settings = var.lightroom_settings
  targets            = var.targets
  alarm_actions      = [local.alarm_topic_arn]
  sns_kms_key_id     = "alias/aws/sns"
  resilience         = var.resilience == null ? {} : var.resilience
  function_timeouts  = var.function_timeouts
  object_lifecycle   = var.object_lifecycle
  # The event source mappings' concurrency (the local runtime runs as many instances of each).
  maximum_concurrency = { publisher = var.publisher_max_concurrency }
  # The operator manifest's aws-only part (`socialomega --env <env>`, ops/environment.py).
  operations = {
    functions = local.functions
    # Failed scheduled invocations (`socialomega dlq list|show`, `doctor`), by schedule.
    schedule_dlqs = {
      poller-schedule       = aws_sqs_queue.poller_schedule_dlq.url
      token-keeper-schedule = module.token_keeper.dlq.url
      insights-schedule     = module.insights.dlq.url
      release-schedule      = module.release.dlq.url
    }
    alarm_topic_arn = local.alarm_topic_arn
  }
}

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  prefix     = "socialomega-${var.env}"
  env_vars   = module.pipeline.service_env
  buckets    = module.pipeline.buckets.arns
  params     = module.pipeline.config.parameters
  secrets    = module.pipeline.config.secrets
  consumers  = module.pipeline.consumers
  timeouts   = { poller = module.pipeline.poller.function_timeout }
  publishers = { for name, c in local.consumers : name => c if c.service == "publisher" }
  # X rotates refresh tokens on every use, so its publisher writes its own secret back.
  rotating_token_targets = toset([for t in var.targets : t.name if t.platform == "x"])

  # The store-bucket keys each function reads and writes, exactly the services' key layout
  # (services/socialomega/core/store.py, publishers/quota.py, analytics/aggregate.py), never
  # the whole bucket: a publisher touches its own target's claims and quota and its platform's
  # post index, not another target's, nor the analytics. (The webhook function's statements
  # are written out below.)
  store_access = merge(
    {
      poller    = { read = ["metadata/assets/*", "detections/*", "state/poller/*"], write = ["metadata/assets/*", "detections/*", "state/poller/*"] }
      processor = { read = ["metadata/assets/*"], write = ["metadata/assets/*"] }
      analytics = { read = ["analytics/*", "events/*"], write = ["analytics/*", "events/*"] }
    },
    # A publisher (one per target): publications/<asset>/<version>/<target>.json (its claims),
    # quotas/<target>.json, breakers/<target>.json (its circuit breaker), schedule/<target>/ (its
    # scheduled posts), and writes posts/<platform>/<remote id>.json (the index the webhook
    # function reads) of its target's platform only.
    { for t in var.targets : "publisher-${t.name}" => {
      read  = ["publications/*/${t.name}.json", "quotas/${t.name}.json", "breakers/${t.name}.json", "schedule/${t.name}/*"]
      write = ["publications/*/${t.name}.json", "quotas/${t.name}.json", "breakers/${t.name}.json", "posts/${t.platform}/*", "schedule/${t.name}/*"]
    } },
  )
  store_rw = { for name, a in local.store_access : name => [
    { sid = "StoreRead", actions = ["s3:GetObject"], resources = [for k in a.read : "${local.buckets["store"]}/${k}"] },
    { sid = "StoreWrite", actions = ["s3:PutObject"], resources = [for k in a.write : "${local.buckets["store"]}/${k}"] },
  ] }
  # Without ListBucket S3 answers a missing key with 403 instead of 404. The store lists
  # exactly a missing key's name as prefix, so listing only the function's own read prefixes
  # is enough, and shows it no other key.
  store_list = { for name, a in local.store_access : name => [
    { sid = "StoreList", actions = ["s3:ListBucket"], resources = [local.buckets["store"]], conditions = { StringLike = { "s3:prefix" = a.read } } },
  ] }
  # Consumers move permanent failures to their own DLQ themselves, with the reason, and send
  # retries and deferrals again, delayed, to their own queue (core/consumer.py).
  own_dlq = { for name, c in local.consumers : name => [
    { sid = "OwnDeadLetterQueue", actions = ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], resources = [c.dlq_arn] },
    { sid = "RetryOnOwnQueue", actions = ["sqs:SendMessage"], resources = [c.queue_arn] },
  ] }
}

module "poller" {
  source       = "../../modules/lambda_service"
  name         = "${local.prefix}-poller"
  image_uri    = var.image_uris["poller"]
  architecture = var.architecture
  command      = module.pipeline.poller.handler
  timeout      = module.pipeline.poller.function_timeout
  memory_size  = var.memory_sizes.poller
  environment  = local.env_vars
  policy_statements = concat(local.store_rw["poller"], [
    { sid = "LightroomSettings", actions = ["ssm:GetParameter"], resources = [local.params["lightroom"]] },
    { sid = "LightroomSecret", actions = ["secretsmanager:GetSecretValue"], resources = [local.secrets["lightroom"]] },
    # Adobe IMS rotates the refresh token on every use: the new pair is written back at once.
    { sid = "RotateLightroomToken", actions = ["secretsmanager:PutSecretValue"], resources = [local.secrets["lightroom"]] },
    { sid = "RawWrite", actions = ["s3:PutObject"], resources = ["${local.buckets["raw"]}/raw/*"] },
    { sid = "InboxRead", actions = ["s3:GetObject"], resources = ["${local.buckets["raw"]}/inbox/*"] },
    { sid = "AnnounceAssets", actions = ["sqs:SendMessage"], resources = [local.consumers["processor"].queue_arn] },
  ])
  conditional_statements = concat(local.store_list["poller"], [
    # Its detections are archived on the bus too (the event log and replay), as its own source only.
    { sid = "ArchiveEvents", actions = ["events:PutEvents"], resources = [module.pipeline.bus.arn],
    conditions = { StringEquals = { "events:source" = ["socialomega.poller"] } } },
    { sid = "InboxList", actions = ["s3:ListBucket"], resources = [local.buckets["raw"]], conditions = { StringLike = { "s3:prefix" = ["inbox/", "inbox/*"] } } },
  ])
  log_retention_days = var.log_retention_days
  # Scheduled invocations are asynchronous: a failed one lands in the schedule's DLQ, whose
  # alarm says the poller is failing.
  dead_letter_queue_arn = aws_sqs_queue.poller_schedule_dlq.arn
  # One poll at a time: two would walk the same photos and race on the cursor for nothing
  # (the cursor's compare-and-swap keeps that safe, not useful).
  reserved_concurrency = 1
  # No Lambda retry of a failed poll: the schedule fires again anyway, and that poll resumes
  # from the saved cursor (a retry would only run it again sooner, back to back). An event
  # throttled behind a poll still running (the one reserved slot) waits about one function
  # timeout; one older than two is stale (the next schedule is coming), and goes to the DLQ.
  async_maximum_retry_attempts    = 0
  async_maximum_event_age_seconds = max(60, 2 * module.pipeline.poller.function_timeout)
}

module "processor" {
  source              = "../../modules/lambda_service"
  name                = "${local.prefix}-processor"
  image_uri           = var.image_uris["processor"]
  architecture        = var.architecture
  command             = local.consumers["processor"].handler
  timeout             = local.consumers["processor"].function_timeout
  memory_size         = var.memory_sizes.processor
  environment         = merge(local.env_vars, local.consumers["processor"].environment)
  queue               = { arn = local.consumers["processor"].queue_arn, batch_size = local.consumers["processor"].batch_size }
  maximum_concurrency = local.consumers["processor"].maximum_concurrency
  policy_statements = concat(local.store_rw["processor"], local.own_dlq["processor"], [
    { sid = "TargetsSettings", actions = ["ssm:GetParameter"], resources = [local.params["targets"]] },
    { sid = "RawRead", actions = ["s3:GetObject", "s3:GetObjectVersion"], resources = ["${local.buckets["raw"]}/raw/*"] },
    { sid = "VariantsWrite", actions = ["s3:PutObject"], resources = ["${local.buckets["processed"]}/processed/*"] },
    { sid = "RequestPublishing", actions = ["sns:Publish"], resources = [module.pipeline.topic_arn] },
  ])
  conditional_statements = concat(local.store_list["processor"], [
    # Its publish requests are archived on the bus too (the event log and replay), as its own source only.
    { sid = "ArchiveEvents", actions = ["events:PutEvents"], resources = [module.pipeline.bus.arn],
    conditions = { StringEquals = { "events:source" = ["socialomega.processor"] } } },
  ])
  log_retention_days = var.log_retention_days
}

module "publisher" {
  source              = "../../modules/lambda_service"
  for_each            = local.publishers
  name                = "${local.prefix}-${each.key}"
  image_uri           = var.image_uris["publisher"]
  architecture        = var.architecture
  command             = each.value.handler
  timeout             = each.value.function_timeout
  memory_size         = var.memory_sizes.publisher
  environment         = merge(local.env_vars, each.value.environment) # + SO_PUBLISHER_TARGET
  queue               = { arn = each.value.queue_arn, batch_size = each.value.batch_size }
  maximum_concurrency = each.value.maximum_concurrency
  policy_statements = concat(local.store_rw[each.key], local.own_dlq[each.key], [
    { sid = "TargetsSettings", actions = ["ssm:GetParameter"], resources = [local.params["targets"]] },
    { sid = "OwnTargetSecret", actions = ["secretsmanager:GetSecretValue"], resources = [local.secrets[trimprefix(each.key, "publisher-")]] },
    # Its own target's variants only: processed/<asset>/<version>/<target>.<extension>.
    { sid = "VariantsRead", actions = ["s3:GetObject", "s3:GetObjectVersion"], resources = ["${local.buckets["processed"]}/processed/*/${trimprefix(each.key, "publisher-")}.*"] },
    ], contains(local.rotating_token_targets, trimprefix(each.key, "publisher-")) ? [
    { sid = "RotateOwnTokens", actions = ["secretsmanager:PutSecretValue"], resources = [local.secrets[trimprefix(each.key, "publisher-")]] },
  ] : [])
  conditional_statements = concat(local.store_list[each.key], [
    # Only publisher events (PublishSucceeded/PublishFailed), never another service's.
    { sid = "AnnounceResults", actions = ["events:PutEvents"], resources = [module.pipeline.bus.arn],
    conditions = { StringEquals = { "events:source" = ["socialomega.publisher"] } } },
  ])
  log_retention_days = var.log_retention_days
}

module "analytics" {
  source       = "../../modules/lambda_service"
  name         = "${local.prefix}-analytics"
  image_uri    = var.image_uris["analytics"]
  architecture = var.architecture
  command      = local.consumers["analytics"].handler
  timeout      = local.consumers["analytics"].function_timeout
  memory_size  = var.memory_sizes.analytics
  environment  = merge(local.env_vars, local.consumers["analytics"].environment)
  queue        = { arn = local.consumers["analytics"].queue_arn, batch_size = local.consumers["analytics"].batch_size }
  # Why 2: modules/pipeline variables.tf, maximum_concurrency.
  maximum_concurrency    = local.consumers["analytics"].maximum_concurrency
  policy_statements      = concat(local.store_rw["analytics"], local.own_dlq["analytics"])
  conditional_statements = local.store_list["analytics"]
  log_retention_days     = var.log_retention_days
}

# --- the engagement webhooks: API Gateway -> webhook function -> bus -> analytics queue ------
# The platforms call GET|POST <invoke_url>/webhooks/{platform}; the function verifies each
# platform's signature with the keys in socialomega/<env>/webhooks, finds the post through the
# publisher's posts/<platform>/<id>.json index and announces one EngagementReceived per
# engagement on the bus (source socialomega.webhooks), whose rule feeds the analytics queue.
# Once per account and region, API Gateway needs its CloudWatch role for the stage's logs:
# see terraform/modules/webhook_api/main.tf.

module "webhooks" {
  source       = "../../modules/lambda_service"
  name         = "${local.prefix}-webhooks"
  image_uri    = var.image_uris["analytics"] # the webhook handler ships in the analytics image
  architecture = var.architecture
  command      = "socialomega.webhooks.handler.handler"
  # The platforms expect an answer within a few seconds (3-10 s) and retry otherwise.
  timeout     = 10
  memory_size = var.memory_sizes.webhooks
  environment = local.env_vars
  policy_statements = [
    { sid = "PostIndexRead", actions = ["s3:GetObject"], resources = ["${local.buckets["store"]}/posts/*"] },
    # A signed notification this code cannot read is kept for a person to look at.
    { sid = "UnreadableWrite", actions = ["s3:PutObject"], resources = ["${local.buckets["store"]}/webhooks/unreadable/*"] },
    { sid = "WebhookSecret", actions = ["secretsmanager:GetSecretValue"], resources = [local.secrets["webhooks"]] },
  ]
  conditional_statements = [
    # Without ListBucket, S3 answers a missing key with 403 instead of 404: an engagement on a
    # post SocialOmega did not publish (Meta reports every comment on the page) must read as
    # "not ours", not fail the whole notification with a 500 and endless platform retries.
    # Listing is limited to the post index it reads.
    { sid = "PostIndexList", actions = ["s3:ListBucket"], resources = [local.buckets["store"]],
    conditions = { StringLike = { "s3:prefix" = ["posts/*"] } } },
    # The public-facing function may put only its own events on the bus, never a publisher's.
    { sid = "AnnounceEngagement", actions = ["events:PutEvents"], resources = [module.pipeline.bus.arn],
    conditions = { StringEquals = { "events:source" = ["socialomega.webhooks"] } } },
  ]
  log_retention_days = var.log_retention_days
}

module "webhook_api" {
  source              = "../../modules/webhook_api"
  name                = "${local.prefix}-webhooks"
  function_name       = module.webhooks.function_name
  function_invoke_arn = module.webhooks.invoke_arn
  log_retention_days  = var.log_retention_days
}

# --- the poller's schedule: EventBridge Scheduler with explicit retries and a DLQ ---------
# One DLQ for both ways a scheduled poll can be lost: the Scheduler could not invoke the
# poller, or the poller failed on every asynchronous attempt.

resource "aws_sqs_queue" "poller_schedule_dlq" {
  name                      = "${local.prefix}-poller-schedule-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_cloudwatch_metric_alarm" "poller_schedule_dlq" {
  alarm_name          = "${local.prefix}-poller-schedule-dlq-not-empty"
  alarm_description   = "Scheduled poller invocations that could not be delivered or failed after Lambda's retries."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.poller_schedule_dlq.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alarm_topic_arn]
}

locals {
  poller_schedule_name  = "${local.prefix}-poller"
  poller_schedule_group = "default"
  # Built from the group and name, not from the schedule resource (which needs this role
  # first): the trust policy can name the one schedule without a dependency cycle.
  poller_schedule_arn = "arn:${data.aws_partition.current.partition}:scheduler:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:schedule/${local.poller_schedule_group}/${local.poller_schedule_name}"
}

resource "aws_iam_role" "scheduler" {
  name = "${local.prefix}-poller-scheduler"
  # Confused deputy: only this account's poller schedule may assume the role.
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        ArnLike      = { "aws:SourceArn" = local.poller_schedule_arn }
      }
    }]
  })
}

resource "aws_iam_role_policy" "scheduler" {
  name = "invoke-poller"
  role = aws_iam_role.scheduler.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "InvokePoller", Effect = "Allow", Action = "lambda:InvokeFunction", Resource = module.poller.function_arn },
      { Sid = "ScheduleDLQ", Effect = "Allow", Action = "sqs:SendMessage", Resource = aws_sqs_queue.poller_schedule_dlq.arn },
    ]
  })
}

resource "aws_scheduler_schedule" "poller" {
  # checkov:skip=CKV_AWS_297:The schedule holds no data (no target input, just the poller's ARN); an AWS owned key encrypts it. A CMK would protect nothing.
  name                = local.poller_schedule_name
  group_name          = local.poller_schedule_group
  schedule_expression = var.poll_schedule
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = module.poller.function_arn
    role_arn = aws_iam_role.scheduler.arn
    retry_policy {
      maximum_event_age_in_seconds = 300
      maximum_retry_attempts       = 2
    }
    dead_letter_config {
      arn = aws_sqs_queue.poller_schedule_dlq.arn
    }
  }
}
