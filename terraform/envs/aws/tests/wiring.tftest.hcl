# Offline checks of the important wiring with a mocked AWS provider (`terraform test`).

mock_provider "aws" {
  source = "../../tests/mocks" # shared mocks: terraform/tests/mocks
}

# Distinct ARNs where a test tells resources apart.
override_resource {
  target = module.pipeline.module.config.aws_secretsmanager_secret.this["rest"]
  values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/rest-AbCdEf" }
}
override_resource {
  target = module.pipeline.module.config.aws_secretsmanager_secret.this["gallery"]
  values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/gallery-AbCdEf" }
}
override_resource {
  target = module.pipeline.module.config.aws_secretsmanager_secret.this["lightroom"]
  values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/lightroom-AbCdEf" }
}
override_resource {
  target = module.pipeline.module.config.aws_secretsmanager_secret.this["webhooks"]
  values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/webhooks-AbCdEf" }
}
override_resource {
  target = module.pipeline.module.storage.aws_s3_bucket.this["store"]
  values = { arn = "arn:aws:s3:::socialomega-test-123456789012-store" }
}
override_resource {
  target = module.pipeline.module.storage.aws_s3_bucket.this["raw"]
  values = { arn = "arn:aws:s3:::socialomega-test-123456789012-raw" }
}
override_resource {
  target = module.pipeline.module.storage.aws_s3_bucket.this["processed"]
  values = { arn = "arn:aws:s3:::socialomega-test-123456789012-processed" }
}
override_resource {
  target = module.pipeline.module.messaging.aws_cloudwatch_event_bus.this
  values = { arn = "arn:aws:events:eu-west-1:123456789012:event-bus/socialomega-test-bus" }
}
override_resource {
  target = module.pipeline.module.messaging.aws_cloudwatch_event_rule.events_to_analytics
  values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/socialomega-test-bus/socialomega-test-events-to-analytics" }
}
override_resource {
  target = module.webhook_api.aws_cloudwatch_log_group.access
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/apigateway/socialomega-test-webhooks" }
}
override_resource {
  target = module.pipeline.module.publish_queue["rest"].aws_sqs_queue.dlq
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:socialomega-test-publish-rest-dlq" }
}
override_resource {
  target = module.pipeline.module.publish_queue["gallery"].aws_sqs_queue.dlq
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:socialomega-test-publish-gallery-dlq" }
}
override_resource {
  target = module.pipeline.module.analytics_queue.aws_sqs_queue.dlq
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:socialomega-test-analytics-dlq" }
}
override_resource {
  target = module.pipeline.module.images_queue.aws_sqs_queue.dlq
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:socialomega-test-images-dlq" }
}
override_resource {
  target = module.pipeline.module.images_queue.aws_sqs_queue.this
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:socialomega-test-images" }
}
override_resource {
  target = module.pipeline.module.publish_queue["rest"].aws_sqs_queue.this
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:socialomega-test-publish-rest" }
}
override_resource {
  target = module.pipeline.module.publish_queue["gallery"].aws_sqs_queue.this
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:socialomega-test-publish-gallery" }
}
override_resource {
  target = module.pipeline.module.analytics_queue.aws_sqs_queue.this
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:socialomega-test-analytics" }
}
override_resource {
  target = aws_sqs_queue.poller_schedule_dlq
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:socialomega-test-poller-schedule-dlq" }
}

variables {
  env           = "test"
  bucket_prefix = "socialomega-test-123456789012"
  image_uris = {
    poller    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/socialomega-poller@sha256:aaaa"
    processor = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/socialomega-processor@sha256:bbbb"
    publisher = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/socialomega-publisher@sha256:cccc"
    analytics = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/socialomega-analytics@sha256:dddd"
  }
  lightroom_settings = { base_url = "https://lr.adobe.io", album = "Publish", keyword = "", rendition = "2048" }
  targets = [
    { name = "rest", platform = "rest", spec = {}, endpoint = { url = "https://api.example.com/v1/posts" } },
    { name = "gallery", platform = "rest", spec = {}, endpoint = { url = "https://gallery.example.com/v1/media" } },
  ]
  # The runs below that plan modules/pipeline alone need what the roots pass it.
  function_timeouts = { processor = 60, publisher = 90, analytics = 30, poller = 120 }
}

run "every_consumer_has_a_mapping_with_partial_batch_failures" {
  command = apply

  assert {
    condition     = module.processor.wiring.event_source_mapping.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "processor must consume its queue with ReportBatchItemFailures"
  }
  assert {
    condition     = alltrue([for k, m in module.publisher : m.wiring.event_source_mapping.function_response_types == toset(["ReportBatchItemFailures"])])
    error_message = "every publisher must consume its queue with ReportBatchItemFailures"
  }
  assert {
    condition     = module.analytics.wiring.event_source_mapping.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "analytics must consume its queue with ReportBatchItemFailures"
  }
  assert {
    condition = (
      module.analytics.wiring.event_source_mapping.maximum_concurrency == 2 &&
      alltrue([for k, m in module.publisher : m.wiring.event_source_mapping.maximum_concurrency == 2]) &&
      module.processor.wiring.event_source_mapping.maximum_concurrency == 5
    )
    error_message = "analytics and each publisher (platform rate limits) run at most 2 at a time, the processor 5 (modules/pipeline maximum_concurrency)"
  }
  assert {
    condition     = module.poller.wiring.event_source_mapping == null
    error_message = "the poller is scheduled, not queue-driven"
  }
  assert {
    condition     = toset(keys(module.publisher)) == toset(["publisher-rest", "publisher-gallery"])
    error_message = "one publisher function per target"
  }
}

run "every_queue_has_a_dlq_redrive_and_alarm_and_6x_visibility" {
  command = apply

  assert {
    condition     = length(module.pipeline.wiring.queues) == 4
    error_message = "images, analytics and one publish queue per target"
  }
  assert {
    condition     = alltrue([for q in values(module.pipeline.wiring.queues) : q.redrive.maxReceiveCount >= 5 && q.redrive.deadLetterTargetArn == q.dlq_arn])
    error_message = "every queue redrives to its own DLQ after at least 5 receives"
  }
  assert {
    condition     = alltrue([for q in values(module.pipeline.wiring.queues) : q.alarm_queue_name == q.dlq_name && q.alarm_threshold == 0])
    error_message = "every DLQ has a depth alarm"
  }
  assert {
    condition     = module.pipeline.wiring.queues["images"].visibility_timeout == 6 * module.processor.wiring.timeout
    error_message = "images visibility timeout must be 6x the processor timeout"
  }
  assert {
    condition     = alltrue([for k, m in module.publisher : module.pipeline.wiring.queues["publish-${trimprefix(k, "publisher-")}"].visibility_timeout == 6 * m.wiring.timeout])
    error_message = "publish queues' visibility timeout must be 6x the publisher timeout"
  }
  assert {
    condition     = module.pipeline.wiring.queues["analytics"].visibility_timeout == 6 * module.analytics.wiring.timeout
    error_message = "analytics visibility timeout must be 6x the aggregator timeout"
  }
}

run "functions_are_traced_images_with_their_own_roles_and_log_retention" {
  command = apply

  assert {
    condition     = alltrue([for m in concat([module.poller, module.processor, module.analytics], values(module.publisher)) : m.wiring.tracing_mode == "Active" && m.wiring.package_type == "Image"])
    error_message = "every function is a container image with active X-Ray tracing"
  }
  assert {
    condition     = length(toset([for m in concat([module.poller, module.processor, module.analytics], values(module.publisher)) : m.wiring.role_name])) == 5
    error_message = "each function has its own role"
  }
  assert {
    condition     = alltrue([for m in concat([module.poller, module.processor, module.analytics], values(module.publisher)) : m.wiring.log_retention_days == 30])
    error_message = "log groups have a retention"
  }
}

run "policies_name_only_their_own_resources" {
  command = apply

  assert {
    condition     = !strcontains(jsonencode(module.publisher["publisher-rest"].wiring.policy), "secret:socialomega/test/gallery")
    error_message = "the rest publisher must not read the gallery secret"
  }
  assert {
    condition     = strcontains(jsonencode(module.publisher["publisher-rest"].wiring.policy), "secret:socialomega/test/rest")
    error_message = "the rest publisher reads its own secret"
  }
  assert {
    condition     = !strcontains(jsonencode(module.analytics.wiring.policy), "secretsmanager") && !strcontains(jsonencode(module.processor.wiring.policy), "secretsmanager")
    error_message = "only the poller and publishers read secrets"
  }
  assert {
    condition     = strcontains(jsonencode(module.poller.wiring.policy), "secret:socialomega/test/lightroom") && !strcontains(jsonencode(module.poller.wiring.policy), "secret:socialomega/test/rest")
    error_message = "the poller reads the Lightroom secret and no target's"
  }
  assert {
    condition     = alltrue([for m in concat([module.poller, module.processor, module.analytics], values(module.publisher)) : alltrue([for st in m.wiring.policy.Statement : st.Sid == "Tracing" || !contains(st.Resource, "*")])])
    error_message = "no statement but X-Ray's uses a wildcard resource"
  }
}

run "fan_out_and_status_events_have_explicit_retries_and_dlqs" {
  command = apply

  assert {
    condition = alltrue([for k, sub in module.pipeline.wiring.messaging.subscriptions :
      sub.raw_message_delivery && sub.filter_policy.platform == [k] &&
    sub.redrive_policy.deadLetterTargetArn == module.pipeline.wiring.queues["publish-${k}"].dlq_arn])
    error_message = "each subscription: raw delivery, platform filter, its target's DLQ"
  }
  assert {
    condition = alltrue([for k in keys(module.pipeline.wiring.messaging.subscriptions) :
      module.pipeline.wiring.queues["publish-${k}"].policy.Statement[0].Condition.ArnEquals["aws:SourceArn"] == module.pipeline.topic_arn &&
      module.pipeline.wiring.queues["publish-${k}"].dlq_policy.Statement[0].Principal.Service == "sns.amazonaws.com" &&
    length(module.pipeline.wiring.queues["publish-${k}"].policy.Statement) == 1])
    error_message = "publish queues and their DLQs admit the publish topic and nothing else"
  }
  assert {
    condition     = module.pipeline.wiring.queues["images"].policy == null && module.pipeline.wiring.queues["analytics"].policy.Statement[0].Principal.Service == "events.amazonaws.com"
    error_message = "only the fed queues have resource policies"
  }
  assert {
    condition     = module.pipeline.wiring.messaging.analytics_target.maximum_retry_attempts == 185 && module.pipeline.wiring.messaging.analytics_target.dead_letter_arn == module.pipeline.wiring.queues["analytics"].dlq_arn
    error_message = "the analytics rule target has an explicit retry policy and DLQ"
  }
  assert {
    condition     = aws_scheduler_schedule.poller.target[0].dead_letter_config[0].arn == aws_sqs_queue.poller_schedule_dlq.arn && aws_scheduler_schedule.poller.target[0].retry_policy[0].maximum_retry_attempts == 2
    error_message = "the poller schedule has a retry policy and DLQ"
  }
}

# Distinct queue ARNs (overrides above) make "its own" checkable: a consumer's mapping, its
# SQS statements and a publisher's secret statement must name its own resources exactly.
run "each_consumer_touches_only_its_own_queue_dlq_and_secret" {
  command = apply

  assert {
    condition = alltrue([for name, m in merge({ processor = module.processor, analytics = module.analytics }, module.publisher) :
    m.wiring.event_source_mapping.event_source_arn == module.pipeline.consumers[name].queue_arn])
    error_message = "every consumer's event source mapping reads its own queue"
  }
  assert {
    condition = alltrue([for name, m in merge({ processor = module.processor, analytics = module.analytics }, module.publisher) :
      one([for st in m.wiring.policy.Statement : st.Resource if st.Sid == "ConsumeOwnQueue"]) == [module.pipeline.consumers[name].queue_arn] &&
    one([for st in m.wiring.policy.Statement : st.Resource if st.Sid == "OwnDeadLetterQueue"]) == [module.pipeline.consumers[name].dlq_arn]])
    error_message = "every consumer receives from its own queue and dead-letters to its own DLQ, nothing else"
  }
  assert {
    condition = alltrue([for name, m in merge({ processor = module.processor, analytics = module.analytics }, module.publisher) :
    one([for st in m.wiring.policy.Statement : st.Resource if st.Sid == "RetryOnOwnQueue"]) == [module.pipeline.consumers[name].queue_arn]])
    error_message = "every consumer sends retries and deferrals to its own queue, and only there"
  }
  assert {
    condition = alltrue([for name, m in merge({ processor = module.processor, analytics = module.analytics }, module.publisher) :
      alltrue([for r in flatten([for st in m.wiring.policy.Statement : st.Resource]) :
    contains([module.pipeline.consumers[name].queue_arn, module.pipeline.consumers[name].dlq_arn], r) if startswith(r, "arn:aws:sqs:")])])
    error_message = "no consumer's policy names another consumer's queue or DLQ"
  }
  assert {
    condition = alltrue([for name, m in module.publisher :
    one([for st in m.wiring.policy.Statement : st.Resource if contains(st.Action, "secretsmanager:GetSecretValue")]) == [module.pipeline.config.secrets[trimprefix(name, "publisher-")]]])
    error_message = "a publisher's one secret statement names exactly its own target's secret"
  }
  assert {
    condition     = alltrue([for m in values(module.publisher) : !strcontains(jsonencode(m.wiring.policy), module.pipeline.config.secrets["lightroom"])])
    error_message = "no publisher can read the Lightroom secret"
  }
  assert {
    condition     = [for st in module.poller.wiring.policy.Statement : st.Resource if contains(st.Action, "secretsmanager:GetSecretValue")] == [[module.pipeline.config.secrets["lightroom"]]]
    error_message = "the poller reads exactly the Lightroom secret"
  }
}

# X and Adobe IMS rotate refresh tokens on every use: an X publisher may write its own secret
# back, and the poller the Lightroom secret; no other function writes any.
run "only_the_poller_and_x_publishers_write_a_secret_each_its_own" {
  command = apply

  variables {
    targets = [
      { name = "rest", platform = "rest", spec = {}, endpoint = { url = "https://api.example.com/v1/posts" } },
      { name = "gallery", platform = "rest", spec = {}, endpoint = { url = "https://gallery.example.com/v1/media" } },
      { name = "xacct", platform = "x", spec = {} },
    ]
  }

  override_resource {
    target = module.pipeline.module.config.aws_secretsmanager_secret.this["xacct"]
    values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/xacct-AbCdEf" }
  }

  assert {
    condition     = [for st in module.publisher["publisher-xacct"].wiring.policy.Statement : st.Resource if contains(st.Action, "secretsmanager:PutSecretValue")] == [[module.pipeline.config.secrets["xacct"]]]
    error_message = "the X publisher writes back exactly its own secret"
  }
  assert {
    condition     = [for st in module.poller.wiring.policy.Statement : st.Resource if contains(st.Action, "secretsmanager:PutSecretValue")] == [[module.pipeline.config.secrets["lightroom"]]]
    error_message = "the poller writes back exactly the Lightroom secret (rotated IMS tokens)"
  }
  assert {
    condition = alltrue([for m in concat([module.processor, module.analytics, module.webhooks, module.publisher["publisher-rest"], module.publisher["publisher-gallery"]]) :
    !strcontains(jsonencode(m.wiring.policy), "secretsmanager:PutSecretValue")])
    error_message = "no other function writes a secret"
  }
  assert {
    condition     = one([for st in module.publisher["publisher-xacct"].wiring.policy.Statement : st.Resource if contains(st.Action, "secretsmanager:GetSecretValue")]) == [module.pipeline.config.secrets["xacct"]]
    error_message = "the X publisher reads only its own secret"
  }
}

run "a_failing_scheduled_poll_is_dead_lettered_and_alarmed" {
  command = apply

  assert {
    condition     = module.poller.wiring.dead_letter_arn == aws_sqs_queue.poller_schedule_dlq.arn
    error_message = "the poller's asynchronous failures go to the schedule DLQ"
  }
  assert {
    condition     = one([for st in module.poller.wiring.policy.Statement : st.Resource if st.Sid == "AsyncDeadLetterQueue"]) == [aws_sqs_queue.poller_schedule_dlq.arn]
    error_message = "the poller's role may send to that DLQ (Lambda uses the function's role)"
  }
  assert {
    condition     = alltrue([for m in concat([module.processor, module.analytics], values(module.publisher)) : m.wiring.dead_letter_arn == null])
    error_message = "queue consumers dead-letter through their queue's redrive policy, not a function DLQ"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.poller_schedule_dlq.dimensions["QueueName"] == aws_sqs_queue.poller_schedule_dlq.name && aws_cloudwatch_metric_alarm.poller_schedule_dlq.threshold == 0
    error_message = "the schedule DLQ has a depth alarm"
  }
  assert {
    condition     = alltrue([for m in concat([module.poller, module.processor, module.analytics], values(module.publisher)) : m.wiring.log_group_name == "/aws/lambda/${m.function_name}"])
    error_message = "the retention applies to the log group each function actually writes to"
  }
}

# --- the engagement webhooks: API Gateway -> webhook function -> bus -> analytics queue -------

run "webhook_api_stage_is_traced_access_logged_throttled_and_uncached" {
  command = apply

  assert {
    condition     = module.webhook_api.wiring.endpoint_types == tolist(["REGIONAL"]) && module.webhook_api.wiring.xray_tracing_enabled
    error_message = "a regional REST API whose stage has X-Ray tracing on"
  }
  assert {
    condition = (
      module.webhook_api.wiring.access_log_destination == module.webhook_api.wiring.access_log_group_arn &&
      module.webhook_api.wiring.access_log_group_arn == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/apigateway/socialomega-test-webhooks" &&
      module.webhook_api.wiring.access_log_retention_days == 30 && module.webhook_api.wiring.execution_log_retention == 30
    )
    error_message = "the stage writes access logs to the module's own log group, which (like the execution log group) has a retention"
  }
  assert {
    condition     = module.webhook_api.wiring.execution_log_group_name == "API-Gateway-Execution-Logs_${module.webhook_api.rest_api_id}/v1"
    error_message = "the execution log group Terraform creates is the one API Gateway writes to"
  }
  assert {
    condition = (
      toset(keys(module.webhook_api.wiring.access_log_format)) == toset(["requestId", "ip", "httpMethod", "resourcePath", "status", "responseLength", "requestTime"]) &&
      !strcontains(lower(jsonencode(module.webhook_api.wiring.access_log_format)), "header") &&
      !strcontains(lower(jsonencode(module.webhook_api.wiring.access_log_format)), "body") &&
      !strcontains(lower(jsonencode(module.webhook_api.wiring.access_log_format)), "querystring")
    )
    error_message = "access log lines are JSON with request id, ip, method, resource, status, length and time; never headers, query string or body (signatures, verify tokens)"
  }
  assert {
    condition = (
      module.webhook_api.wiring.method_settings.method_path == "*/*" && module.webhook_api.wiring.method_settings.metrics_enabled &&
      module.webhook_api.wiring.method_settings.throttling_burst_limit == 50 && module.webhook_api.wiring.method_settings.throttling_rate_limit == 25 &&
      !module.webhook_api.wiring.method_settings.caching_enabled && !module.webhook_api.wiring.method_settings.data_trace_enabled &&
      module.webhook_api.wiring.method_settings.logging_level == "ERROR"
    )
    error_message = "every method is throttled and metered, never cached, and never logs full requests"
  }
  assert {
    condition = (
      toset(keys(module.webhook_api.wiring.methods)) == toset(["GET", "POST"]) && module.webhook_api.wiring.platform_path == "/webhooks/{platform}" &&
      alltrue([for m in values(module.webhook_api.wiring.methods) : m.authorization == "NONE" && m.request_parameters == tomap({ "method.request.path.platform" = true })])
    )
    error_message = "GET (challenges) and POST (notifications) on /webhooks/{platform}, the platform required; authentication is the platforms' signatures, verified by the function"
  }
  assert {
    condition = alltrue([for i in values(module.webhook_api.wiring.integrations) :
    i.type == "AWS_PROXY" && i.integration_http_method == "POST" && i.uri == module.webhooks.invoke_arn])
    error_message = "both methods proxy to the webhook function"
  }
  assert {
    condition     = output.webhook_url_template == "${module.webhook_api.invoke_url}/webhooks/{platform}" && module.webhook_api.stage_name == "v1"
    error_message = "the URL to register with the platforms is the v1 stage's /webhooks/{platform}"
  }
}

run "only_this_api_may_invoke_the_webhook_function" {
  command = apply

  assert {
    condition = (
      module.webhook_api.wiring.permission.principal == "apigateway.amazonaws.com" &&
      module.webhook_api.wiring.permission.action == "lambda:InvokeFunction" &&
      module.webhook_api.wiring.permission.function_name == module.webhooks.function_name
    )
    error_message = "API Gateway may invoke the webhook function"
  }
  assert {
    condition = (
      module.webhook_api.wiring.permission.source_arn == "${module.webhook_api.execution_arn}/v1/*/webhooks/*" &&
      module.webhook_api.execution_arn == "arn:aws:execute-api:eu-west-1:123456789012:mockapi"
    )
    error_message = "only from this API's execution ARN and stage, routes under /webhooks/"
  }
}

run "the_webhook_function_reads_the_post_index_and_its_secret_and_announces_on_the_bus" {
  command = apply

  assert {
    condition     = module.webhooks.wiring.tracing_mode == "Active" && module.webhooks.wiring.package_type == "Image" && module.webhooks.wiring.timeout == 10
    error_message = "a traced container-image function answering within 10 s"
  }
  assert {
    condition = (
      module.webhooks.wiring.event_source_mapping == null && module.webhooks.wiring.dead_letter_arn == null &&
      module.webhooks.wiring.log_retention_days == 30 && module.webhooks.wiring.log_group_name == "/aws/lambda/${module.webhooks.function_name}"
    )
    error_message = "invoked synchronously by API Gateway (no queue, no async DLQ); its log group has a retention"
  }
  assert {
    condition     = length(toset([for m in concat([module.poller, module.processor, module.analytics, module.webhooks], values(module.publisher)) : m.wiring.role_name])) == 6
    error_message = "the webhook function has its own role"
  }
  assert {
    condition = [for st in module.webhooks.wiring.policy.Statement : { sid = st.Sid, actions = st.Action, resources = st.Resource }] == [
      { sid = "OwnLogs", actions = ["logs:CreateLogStream", "logs:PutLogEvents"], resources = ["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/socialomega-test-webhooks:*"] },
      { sid = "Tracing", actions = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources = ["*"] },
      { sid = "PostIndexRead", actions = ["s3:GetObject"], resources = ["arn:aws:s3:::socialomega-test-123456789012-store/posts/*"] },
      { sid = "UnreadableWrite", actions = ["s3:PutObject"], resources = ["arn:aws:s3:::socialomega-test-123456789012-store/webhooks/unreadable/*"] },
      { sid = "WebhookSecret", actions = ["secretsmanager:GetSecretValue"], resources = [module.pipeline.config.secrets["webhooks"]] },
      { sid = "PostIndexList", actions = ["s3:ListBucket"], resources = ["arn:aws:s3:::socialomega-test-123456789012-store"] },
      { sid = "AnnounceEngagement", actions = ["events:PutEvents"], resources = [module.pipeline.bus.arn] },
    ]
    error_message = "the webhook function's role: its logs, X-Ray, the store's post index (read; list so a missing post is a 404), keeping unreadable notifications, PutEvents on the bus, and the webhooks secret, nothing else"
  }
  assert {
    condition = [for st in module.webhooks.wiring.policy.Statement : lookup(st, "Condition", null) if st.Sid == "PostIndexList"] == [
      { StringLike = { "s3:prefix" = ["posts/*"] } }
    ]
    error_message = "the webhook function may list the store only under posts/ (the index it reads), not every key"
  }
  assert {
    condition = [for st in module.webhooks.wiring.policy.Statement : lookup(st, "Condition", null) if st.Sid == "AnnounceEngagement"] == [
      { StringEquals = { "events:source" = ["socialomega.webhooks"] } }
    ]
    error_message = "the public-facing function may put only its own events (source socialomega.webhooks) on the bus"
  }
  assert {
    condition = (
      module.pipeline.bus.arn == "arn:aws:events:eu-west-1:123456789012:event-bus/socialomega-test-bus" &&
      module.pipeline.config.secrets["webhooks"] == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/webhooks-AbCdEf"
    )
    error_message = "the statements above name the real bus and secret socialomega/<env>/webhooks"
  }
  assert {
    condition     = !strcontains(jsonencode(module.webhooks.wiring.policy), "secretsmanager:PutSecretValue") && length([for st in module.webhooks.wiring.policy.Statement : st if contains(st.Action, "s3:PutObject")]) == 1
    error_message = "the webhook function writes no secret, and the store only under webhooks/unreadable/ (the statement above)"
  }
  assert {
    condition     = alltrue([for m in concat([module.poller, module.processor, module.analytics], values(module.publisher)) : !strcontains(jsonencode(m.wiring.policy), module.pipeline.config.secrets["webhooks"])])
    error_message = "no other function can read the webhooks secret"
  }
}

run "every_event_reaches_the_analytics_queue_with_retries_and_its_dlq_and_the_archive_keeps_all" {
  command = apply

  assert {
    condition = (
      module.pipeline.wiring.messaging.analytics_target.event_pattern == { source = [{ prefix = "socialomega." }] }
    )
    error_message = "one rule sends every event of every socialomega source, any detail-type, to analytics (the event log)"
  }
  assert {
    condition     = module.pipeline.wiring.messaging.analytics_target.arn == module.pipeline.consumers["analytics"].queue_arn
    error_message = "every event reaches the analytics queue"
  }
  assert {
    condition = (
      module.pipeline.wiring.messaging.analytics_target.maximum_retry_attempts == 185 &&
      module.pipeline.wiring.messaging.analytics_target.maximum_event_age_in_seconds == 86400 &&
      module.pipeline.wiring.messaging.analytics_target.dead_letter_arn == module.pipeline.wiring.queues["analytics"].dlq_arn &&
      module.pipeline.wiring.queues["analytics"].dlq_arn == "arn:aws:sqs:eu-west-1:123456789012:socialomega-test-analytics-dlq"
    )
    error_message = "the analytics rule target has an explicit retry policy and the analytics DLQ"
  }
  assert {
    condition = alltrue([for p in [module.pipeline.wiring.queues["analytics"].policy, module.pipeline.wiring.queues["analytics"].dlq_policy] :
      [for st in p.Statement : st.Condition.ArnEquals["aws:SourceArn"]] == [module.pipeline.wiring.messaging.analytics_target.rule_arn] &&
      alltrue([for st in p.Statement : st.Principal.Service == "events.amazonaws.com" && st.Action == "sqs:SendMessage"])
    ])
    error_message = "the analytics queue and its DLQ admit exactly the analytics rule"
  }
  assert {
    condition = (
      module.pipeline.wiring.messaging.archive.event_pattern == null &&
      module.pipeline.wiring.messaging.archive.event_source_arn == module.pipeline.bus.arn
    )
    error_message = "the bus's archive has no event pattern: it keeps every event"
  }
}

run "a_target_may_not_take_a_service_secret_name" {
  command = plan
  module {
    source = "../../modules/pipeline"
  }
  variables {
    targets = [{ name = "webhooks", platform = "rest", spec = {}, endpoint = { url = "https://api.example.com/v1/posts" } }]
  }
  expect_failures = [var.targets]
}

run "target_names_are_unique" {
  command = plan
  module {
    source = "../../modules/pipeline"
  }
  variables {
    targets = [
      { name = "rest", platform = "rest", spec = {}, endpoint = { url = "https://api.example.com/v1/posts" } },
      { name = "rest", platform = "rest", spec = {}, endpoint = { url = "https://gallery.example.com/v1/media" } },
    ]
  }
  expect_failures = [var.targets]
}

run "max_receive_count_below_5_is_rejected" {
  command = plan
  module {
    source = "../../modules/queue"
  }
  variables {
    name              = "q"
    function_timeout  = 30
    max_receive_count = 3
  }
  expect_failures = [var.max_receive_count]
}

run "retries_breakers_and_waiting_work_are_configured_and_alarmed" {
  command = apply

  variables {
    resilience = { retry_max_age_seconds = 43200, breaker_threshold = 3, breaker_alarm_seconds = 600 }
  }

  assert {
    condition = (
      module.pipeline.service_env.SO_RETRY_MAX_AGE_SECONDS == "43200" &&
      module.pipeline.service_env.SO_BREAKER_THRESHOLD == "3" &&
      module.pipeline.service_env.SO_BREAKER_COOLDOWN_SECONDS == "60" &&
      module.pipeline.service_env.SO_RECORD_MIN_SECONDS == "10"
    )
    error_message = "every function gets the resilience settings, defaults filled in: ${jsonencode(module.pipeline.service_env)}"
  }
  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.breaker_open_too_long)) == toset([for t in var.targets : t.name])
    error_message = "every target has a breaker-open-too-long alarm"
  }
  assert {
    condition = alltrue([for name, a in aws_cloudwatch_metric_alarm.breaker_open_too_long :
    a.namespace == "SocialOmega" && a.metric_name == "BreakerOpenSeconds" && a.dimensions.Target == name && a.threshold == 600])
    error_message = "a breaker alarm watches its own target's BreakerOpenSeconds (what publishers/service.py emits) against breaker_alarm_seconds"
  }
  assert {
    condition     = alltrue([for q in values(module.pipeline.wiring.queues) : q.age_alarm_seconds > 0 && q.age_alarm_seconds <= 3600])
    error_message = "every queue's oldest-message age is alarmed within an hour"
  }
}

run "resilience_settings_must_be_positive" {
  command = plan
  module {
    source = "../../modules/pipeline"
  }
  variables {
    resilience = { breaker_threshold = 0 }
  }
  expect_failures = [var.resilience]
}

run "alerts_reach_a_person_by_the_alarm_topic" {
  command = apply
  variables {
    alarm_email         = "ops@example.com"
    alarm_subscriptions = [{ protocol = "https", endpoint = "https://hooks.example.com/socialomega" }]
  }

  assert {
    condition     = length(aws_sns_topic.alarms) == 1 && aws_sns_topic.alarms[0].kms_master_key_id == aws_kms_key.alarms[0].arn
    error_message = "without alarm_topic_arn the root creates its alarm topic, encrypted with its own key (CloudWatch and EventBridge cannot use aws/sns)"
  }
  assert {
    condition = (
      aws_sns_topic_subscription.alarm_email[0].protocol == "email" && aws_sns_topic_subscription.alarm_email[0].endpoint == "ops@example.com" &&
      one(values(aws_sns_topic_subscription.alarm_other)).endpoint == "https://hooks.example.com/socialomega"
    )
    error_message = "alarm_email and alarm_subscriptions subscribe to the topic"
  }
  assert {
    condition = (
      toset(keys(aws_cloudwatch_metric_alarm.function_errors)) == toset(["poller", "processor", "analytics", "webhooks", "token-keeper", "insights", "release", "publisher-rest", "publisher-gallery"]) &&
      toset(keys(aws_cloudwatch_metric_alarm.function_throttles)) == toset(keys(aws_cloudwatch_metric_alarm.function_errors))
    )
    error_message = "every function has an errors and a throttles alarm"
  }
  assert {
    condition = (
      toset(keys(aws_cloudwatch_metric_alarm.post_index_conflicts)) == toset(["rest", "gallery"]) &&
      aws_cloudwatch_metric_alarm.post_index_conflicts["rest"].metric_name == "PostIndexConflicts" &&
      aws_cloudwatch_metric_alarm.post_index_conflicts["rest"].dimensions["Target"] == "rest"
    )
    error_message = "every target has an alarm on a post id indexed for another photo"
  }
  assert {
    condition = alltrue([for a in concat(
      values(aws_cloudwatch_metric_alarm.function_errors), values(aws_cloudwatch_metric_alarm.function_throttles),
      values(aws_cloudwatch_metric_alarm.breaker_open_too_long), values(aws_cloudwatch_metric_alarm.post_index_conflicts),
      [aws_cloudwatch_metric_alarm.webhook_api_5xx, aws_cloudwatch_metric_alarm.webhook_server_errors],
      [aws_cloudwatch_metric_alarm.photos_parked, aws_cloudwatch_metric_alarm.poller_schedule_dlq],
      values(aws_cloudwatch_metric_alarm.token_expiring), values(aws_cloudwatch_metric_alarm.token_unhealthy),
      values(aws_cloudwatch_metric_alarm.scheduled_run_dlq),
    ) : toset(a.alarm_actions) == toset([aws_sns_topic.alarms[0].arn])])
    error_message = "every alarm of the root notifies the alarm topic"
  }
  assert {
    condition     = alltrue([for q in values(module.pipeline.wiring.queues) : toset(q.alarm_actions) == toset([aws_sns_topic.alarms[0].arn])])
    error_message = "every queue's DLQ-depth and oldest-message alarm notifies the alarm topic"
  }
  assert {
    condition = (
      jsondecode(aws_cloudwatch_event_rule.publish_failed.event_pattern) == { source = ["socialomega.publisher"], "detail-type" = ["PublishFailed"] } &&
      aws_cloudwatch_event_target.publish_failed.arn == aws_sns_topic.alarms[0].arn &&
      strcontains(aws_cloudwatch_event_target.publish_failed.input_transformer[0].input_template, "<asset>") &&
      strcontains(aws_cloudwatch_event_target.publish_failed.input_transformer[0].input_template, "<target>") &&
      strcontains(aws_cloudwatch_event_target.publish_failed.input_transformer[0].input_template, "<reason>")
    )
    error_message = "every PublishFailed (failed or unconfirmed) becomes a notification naming the photo, the target and the reason"
  }
  assert {
    condition = contains([for st in jsondecode(aws_sns_topic_policy.alarms[0].policy).Statement : st.Condition.ArnEquals["aws:SourceArn"] if st.Sid == "TheFailedPostRule"],
    aws_cloudwatch_event_rule.publish_failed.arn)
    error_message = "only the failed-post rule may publish to the topic from EventBridge"
  }
}

run "an_existing_alarm_topic_is_used_not_created" {
  command = apply
  variables {
    alarm_topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops-pager"
  }

  assert {
    condition     = length(aws_sns_topic.alarms) == 0 && length(aws_kms_key.alarms) == 0 && length(aws_sns_topic_subscription.alarm_email) == 0
    error_message = "with alarm_topic_arn no topic, key or subscription is created"
  }
  assert {
    condition = alltrue([for a in values(aws_cloudwatch_metric_alarm.function_errors) : toset(a.alarm_actions) == toset(["arn:aws:sns:eu-west-1:123456789012:ops-pager"])]) && (
    aws_cloudwatch_event_target.publish_failed.arn == "arn:aws:sns:eu-west-1:123456789012:ops-pager")
    error_message = "alarms and the failed-post rule notify the given topic"
  }
}

