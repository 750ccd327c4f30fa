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
    condition = alltrue([for m in concat([module.processor, module.analytics, module.publisher["publisher-rest"], module.publisher["publisher-gallery"]]) :
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
