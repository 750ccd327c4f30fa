# One CloudWatch dashboard for on-call: what was posted, what failed or waits, how long a photo
# takes from detection to post, the queues and DLQs, the functions, the breakers, the webhooks
# and the tokens. The services' own metrics are EMF lines in namespace SocialOmega
# (services/socialomega/core/metrics.py, METRICS names each one and its unit); the rest are
# AWS/SQS, AWS/Lambda and AWS/ApiGateway. The alarms on them are in alerting.tf.

locals {
  dashboard_namespace = "SocialOmega" # core/metrics.py NAMESPACE
  dashboard_targets   = [for t in var.targets : t.name]
  # The platforms the webhook endpoint verifies (services/socialomega/webhooks/signatures.py).
  dashboard_platforms = ["facebook", "instagram", "x", "linkedin"]
  dashboard_consumers = ["processor", "publisher", "analytics"] # the queue consumers (core/consumer.py)
  # Queue names are the last part of their ARNs.
  dashboard_queues = { for name, c in local.consumers : name => element(reverse(split(":", c.queue_arn)), 0) }
  dashboard_dlqs = merge(
    { for name, c in local.consumers : name => element(reverse(split(":", c.dlq_arn)), 0) },
    { poller-schedule = aws_sqs_queue.poller_schedule_dlq.name, token-keeper-schedule = module.token_keeper.dlq.name },
    { insights-schedule = module.insights.dlq.name, release-schedule = module.release.dlq.name },
  )
  dashboard_region = data.aws_region.current.name

  # A time series per target (or platform, service, queue, function) of one metric.
  per_target = { for metric in ["Published", "Failed", "Unconfirmed", "Deferred", "PublishRetries", "CredentialsRejected", "PostIndexConflicts", "BreakerOpenSeconds", "TokenDaysLeft", "TokenUnhealthy", "VariantBytes", "VariantsSkipped", "InsightsRead", "InsightsFailed", "InsightsDeferred", "EditsIgnored", "PostsUpdated", "PostsReleased", "PostsMoved"] :
    metric => [for t in local.dashboard_targets : [local.dashboard_namespace, metric, "Target", t]]
  }
  per_platform = { for metric in ["WebhookAccepted", "WebhookRejected", "EngagementsRecorded", "EngagementsUnmatched", "WebhookUnreadable"] :
    metric => [for p in local.dashboard_platforms : [local.dashboard_namespace, metric, "Platform", p]]
  }
  per_service = { for metric in ["RecordsRetried", "RecordsDeadLettered", "DeadLetterFailures", "RecordsOutOfTime"] :
    metric => [for s in local.dashboard_consumers : [local.dashboard_namespace, metric, "Service", s]]
  }

  dashboard_widgets = [
    { type = "text", width = 24, height = 2, properties = { markdown = "## SocialOmega ${var.env}\nPosts per target, photo latency, queues, functions, breakers, webhooks and tokens. A failed post also arrives as a notification on the alarm topic; `socialomega status --failed` lists them." } },

    # --- posts ------------------------------------------------------------------------------
    { type = "metric", width = 8, height = 6, properties = { title = "Published per target", region = local.dashboard_region, stat = "Sum", period = 300, view = "timeSeries", metrics = local.per_target["Published"] } },
    { type = "metric", width = 8, height = 6, properties = { title = "Failed per target (PublishFailed, unconfirmed included)", region = local.dashboard_region, stat = "Sum", period = 300, view = "timeSeries", metrics = concat(local.per_target["Failed"], local.per_target["Unconfirmed"]) } },
    { type = "metric", width = 8, height = 6, properties = { title = "Deferred per target (quota, daily cap, open breaker)", region = local.dashboard_region, stat = "Sum", period = 300, view = "timeSeries", metrics = local.per_target["Deferred"] } },
    { type = "metric", width = 12, height = 6, properties = {
      title = "Detection -> publish latency (s), p50 and p95", region = local.dashboard_region, period = 900, view = "timeSeries"
      metrics = concat(
        [for t in local.dashboard_targets : [local.dashboard_namespace, "DetectionToPublishLatency", "Target", t, { stat = "p50", label = "${t} p50" }]],
        [for t in local.dashboard_targets : [local.dashboard_namespace, "DetectionToPublishLatency", "Target", t, { stat = "p95", label = "${t} p95" }]],
      )
    } },
    { type = "metric", width = 12, height = 6, properties = { title = "Publish retries, rejected credentials and post index conflicts per target", region = local.dashboard_region, stat = "Sum", period = 300, view = "timeSeries", metrics = concat(local.per_target["PublishRetries"], local.per_target["CredentialsRejected"], local.per_target["PostIndexConflicts"]) } },
    { type = "metric", width = 12, height = 6, properties = { title = "Edits per target: ignored (on_edit=ignore) and posts changed in place (on_edit=update)", region = local.dashboard_region, stat = "Sum", period = 3600, view = "timeSeries", metrics = concat(local.per_target["EditsIgnored"], local.per_target["PostsUpdated"]) } },
    { type = "metric", width = 12, height = 6, properties = { title = "Scheduled posts released at their time, and moved on while the breaker was open", region = local.dashboard_region, stat = "Sum", period = 300, view = "timeSeries", metrics = concat(local.per_target["PostsReleased"], local.per_target["PostsMoved"]) } },

    # --- the processor ----------------------------------------------------------------------
    { type = "metric", width = 8, height = 6, properties = {
      title   = "Variant build time per photo (ms)", region = local.dashboard_region, period = 300, view = "timeSeries"
      metrics = [for stat in ["p50", "p95", "Maximum"] : [local.dashboard_namespace, "VariantBuildTime", "Service", "processor", { stat = stat, label = stat }]]
    } },
    { type = "metric", width = 8, height = 6, properties = { title = "Variant bytes per target (average)", region = local.dashboard_region, stat = "Average", period = 300, view = "timeSeries", metrics = local.per_target["VariantBytes"] } },
    { type = "metric", width = 8, height = 6, properties = {
      title = "Photos rejected, parked; variants skipped", region = local.dashboard_region, stat = "Sum", period = 300, view = "timeSeries"
      metrics = concat(
        [[local.dashboard_namespace, "PhotosRejected", "Service", "processor"], [local.dashboard_namespace, "PhotosParked", "Service", "poller"]],
        local.per_target["VariantsSkipped"],
      )
    } },

    # --- queues -----------------------------------------------------------------------------
    { type = "metric", width = 8, height = 6, properties = { title = "Queue depth (visible messages)", region = local.dashboard_region, stat = "Maximum", period = 60, view = "timeSeries", metrics = [for name, q in local.dashboard_queues : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q, { label = name }]] } },
    { type = "metric", width = 8, height = 6, properties = { title = "Oldest message age (s)", region = local.dashboard_region, stat = "Maximum", period = 60, view = "timeSeries", metrics = [for name, q in local.dashboard_queues : ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q, { label = name }]] } },
    { type = "metric", width = 8, height = 6, properties = { title = "DLQ depth (should be 0: `socialomega dlq list`)", region = local.dashboard_region, stat = "Maximum", period = 60, view = "timeSeries", metrics = [for name, q in local.dashboard_dlqs : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q, { label = name }]] } },
    { type = "metric", width = 24, height = 6, properties = { title = "Records retried, dead-lettered (with a reason), not dead-lettered (DLQ unreachable), out of time", region = local.dashboard_region, stat = "Sum", period = 300, view = "timeSeries", metrics = concat(local.per_service["RecordsRetried"], local.per_service["RecordsDeadLettered"], local.per_service["DeadLetterFailures"], local.per_service["RecordsOutOfTime"]) } },

    # --- functions --------------------------------------------------------------------------
    { type = "metric", width = 8, height = 6, properties = { title = "Function errors", region = local.dashboard_region, stat = "Sum", period = 300, view = "timeSeries", metrics = [for name, f in local.functions : ["AWS/Lambda", "Errors", "FunctionName", f, { label = name }]] } },
    { type = "metric", width = 8, height = 6, properties = { title = "Function throttles", region = local.dashboard_region, stat = "Sum", period = 300, view = "timeSeries", metrics = [for name, f in local.functions : ["AWS/Lambda", "Throttles", "FunctionName", f, { label = name }]] } },
    { type = "metric", width = 8, height = 6, properties = { title = "Function duration p95 (ms)", region = local.dashboard_region, stat = "p95", period = 300, view = "timeSeries", metrics = [for name, f in local.functions : ["AWS/Lambda", "Duration", "FunctionName", f, { label = name }]] } },

    # --- breakers, webhooks, tokens ---------------------------------------------------------
    { type = "metric", width = 8, height = 6, properties = { title = "Breaker open (s) per target", region = local.dashboard_region, stat = "Maximum", period = 300, view = "timeSeries", metrics = local.per_target["BreakerOpenSeconds"] } },
    { type = "metric", width = 8, height = 6, properties = { title = "Webhook verifications: accepted and rejected per platform", region = local.dashboard_region, stat = "Sum", period = 300, view = "timeSeries", metrics = concat(local.per_platform["WebhookAccepted"], local.per_platform["WebhookRejected"]) } },
    { type = "metric", width = 8, height = 6, properties = {
      title = "Webhook 5xx (the handler's own answers and API Gateway's)", region = local.dashboard_region, stat = "Sum", period = 300, view = "timeSeries"
      metrics = [
        [local.dashboard_namespace, "WebhookServerErrors", "Service", "webhooks"],
        ["AWS/ApiGateway", "5XXError", "ApiName", "${local.prefix}-webhooks", "Stage", module.webhook_api.stage_name],
      ]
    } },
    { type = "metric", width = 12, height = 6, properties = { title = "Engagement recorded, unmatched and unreadable per platform", region = local.dashboard_region, stat = "Sum", period = 300, view = "timeSeries", metrics = concat(local.per_platform["EngagementsRecorded"], local.per_platform["EngagementsUnmatched"], local.per_platform["WebhookUnreadable"]) } },
    { type = "metric", width = 8, height = 6, properties = { title = "Token days left per target (the token keeper)", region = local.dashboard_region, stat = "Minimum", period = 3600, view = "timeSeries", metrics = local.per_target["TokenDaysLeft"] } },
    { type = "metric", width = 4, height = 6, properties = { title = "Token unhealthy (1: act)", region = local.dashboard_region, stat = "Maximum", period = 3600, view = "timeSeries", metrics = local.per_target["TokenUnhealthy"] } },
    { type = "metric", width = 12, height = 6, properties = { title = "Insights read, failed (error or permission) and deferred per target (the insights puller)", region = local.dashboard_region, stat = "Sum", period = 3600, view = "timeSeries", metrics = concat(local.per_target["InsightsRead"], local.per_target["InsightsFailed"], local.per_target["InsightsDeferred"]) } },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${local.prefix}-overview"
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}

output "dashboard_name" {
  description = "The CloudWatch dashboard of this environment (CloudWatch > Dashboards)."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
