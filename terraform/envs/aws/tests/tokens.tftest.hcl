# The token keeper (tokens.tf, alerting.tf) with a mocked AWS provider (`terraform test`): the
# function and its handler, its daily schedule, a role that reads exactly the social targets'
# secrets and writes only those whose token it renews (Instagram, LinkedIn), and an alarm per
# social target on days left and on health, each notifying. Also the insights puller (insights.tf),
# the other scheduled function on the same secrets.

mock_provider "aws" {
  source = "../../tests/mocks" # shared mocks: terraform/tests/mocks
}

override_resource {
  target = module.pipeline.module.config.aws_secretsmanager_secret.this["ig"]
  values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/ig-AbCdEf" }
}
override_resource {
  target = module.pipeline.module.config.aws_secretsmanager_secret.this["li"]
  values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/li-AbCdEf" }
}
override_resource {
  target = module.pipeline.module.config.aws_secretsmanager_secret.this["fb"]
  values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/fb-AbCdEf" }
}
override_resource {
  target = module.pipeline.module.config.aws_secretsmanager_secret.this["xacct"]
  values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/xacct-AbCdEf" }
}
override_resource {
  target = module.pipeline.module.config.aws_secretsmanager_secret.this["rest"]
  values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/rest-AbCdEf" }
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
  target = module.pipeline.module.config.aws_ssm_parameter.targets
  values = { arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/socialomega/test/targets" }
}
override_resource {
  target = module.token_keeper.module.function.aws_lambda_function.this
  values = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:socialomega-test-token-keeper" }
}
override_resource {
  target = module.token_keeper.aws_sqs_queue.schedule_dlq
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:socialomega-test-token-keeper-schedule-dlq" }
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
    { name = "ig", platform = "instagram", spec = {}, ig_user_id = "17841400000000001" },
    { name = "li", platform = "linkedin", spec = {}, author = "urn:li:person:abc" },
    { name = "fb", platform = "facebook", spec = {}, page_id = "1234567890" },
    { name = "xacct", platform = "x", spec = {} },
  ]
}

run "the_keeper_runs_daily_from_the_publisher_image" {
  command = apply

  assert {
    condition     = local.token_keeper.handler == "socialomega.tokens.handler.handler" && module.token_keeper.wiring.timeout == 120
    error_message = "the keeper's handler is socialomega.tokens.handler.handler with a 120 s timeout; it is ${local.token_keeper.handler}, ${module.token_keeper.wiring.timeout} s"
  }
  assert {
    condition     = module.token_keeper.wiring.environment["SO_TOKEN_REFRESH_WITHIN_DAYS"] == "14" && module.token_keeper.wiring.environment["SO_SECRET_PREFIX"] == module.pipeline.service_env["SO_SECRET_PREFIX"]
    error_message = "the keeper gets the service environment and its refresh window (14 days by default)"
  }
  assert {
    condition     = module.token_keeper.schedule.schedule_expression == "rate(1 day)" && module.token_keeper.schedule.target_arn == module.token_keeper.function_arn
    error_message = "the schedule invokes the keeper daily; it is ${module.token_keeper.schedule.schedule_expression}"
  }
  assert {
    condition     = module.token_keeper.schedule.dead_letter_arn == module.token_keeper.dlq.arn && module.token_keeper.wiring.dead_letter_arn == module.token_keeper.dlq.arn
    error_message = "a lost or failed scheduled run lands in the keeper's schedule DLQ"
  }
  assert {
    condition     = module.token_keeper.schedule.role_trust.Statement[0].Condition.ArnLike["aws:SourceArn"] == "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/socialomega-test-token-keeper"
    error_message = "only the keeper's own schedule may assume its scheduler role"
  }
  assert {
    condition     = module.token_keeper.schedule.role_policy.Statement[0].Resource == module.token_keeper.function_arn
    error_message = "the scheduler role invokes the keeper only"
  }
  assert {
    condition     = module.token_keeper.wiring.reserved_concurrency == -1
    error_message = "the keeper reserves no concurrency (new accounts have none to spare; the secret writes compare before writing)"
  }
}

run "the_keeper_reads_every_social_secret_and_writes_only_those_it_renews" {
  command = apply

  assert {
    condition = toset(flatten([
      for st in module.token_keeper.wiring.policy.Statement : st.Resource if contains(st.Action, "secretsmanager:GetSecretValue")
      ])) == toset([
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/ig-AbCdEf",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/li-AbCdEf",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/fb-AbCdEf",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/xacct-AbCdEf",
    ])
    error_message = "the keeper reads the ig, li, fb and xacct secrets only (not rest, lightroom, webhooks); its policy is ${jsonencode(module.token_keeper.wiring.policy)}"
  }
  assert {
    # Instagram's renewed token and LinkedIn's refreshed one: never Facebook's Page token (not
    # renewable) nor X's rotating pair (its publisher and the operator's CLI renew it).
    condition = toset(flatten([
      for st in module.token_keeper.wiring.policy.Statement : st.Resource if contains(st.Action, "secretsmanager:PutSecretValue")
      ])) == toset([
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/ig-AbCdEf",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/li-AbCdEf",
    ])
    error_message = "the keeper writes the ig and li secrets only; its policy is ${jsonencode(module.token_keeper.wiring.policy)}"
  }
  assert {
    condition = alltrue([
      for st in module.token_keeper.wiring.policy.Statement :
      toset(st.Action) == toset(["secretsmanager:GetSecretValue"]) || toset(st.Action) == toset(["secretsmanager:PutSecretValue"])
      if anytrue([for a in st.Action : startswith(a, "secretsmanager:") || a == "*"])
    ])
    error_message = "reading and writing secrets are separate statements (no statement grants both, none a wildcard)"
  }
  assert {
    condition = toset(flatten([for st in module.token_keeper.wiring.policy.Statement : st.Action])) == toset([
      "ssm:GetParameter", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
      # What modules/lambda_service gives every function: its logs, traces and its DLQ.
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords", "sqs:SendMessage",
    ])
    error_message = "the keeper holds ssm:GetParameter and Get/PutSecretValue beyond logs, traces and its DLQ; it has ${jsonencode(flatten([for st in module.token_keeper.wiring.policy.Statement : st.Action]))}"
  }
  assert {
    condition     = flatten([for st in module.token_keeper.wiring.policy.Statement : st.Resource if contains(st.Action, "ssm:GetParameter")]) == ["arn:aws:ssm:eu-west-1:123456789012:parameter/socialomega/test/targets"]
    error_message = "the keeper reads the targets parameter only"
  }
  assert {
    condition     = flatten([for st in module.token_keeper.wiring.policy.Statement : st.Resource if contains(st.Action, "sqs:SendMessage")]) == [module.token_keeper.dlq.arn]
    error_message = "the keeper sends only to its own schedule DLQ"
  }
}

run "every_social_target_has_alarms_on_days_left_and_health_that_notify" {
  command = apply

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.token_expiring)) == toset(["ig", "li", "fb", "xacct"]) && toset(keys(aws_cloudwatch_metric_alarm.token_unhealthy)) == toset(["ig", "li", "fb", "xacct"])
    error_message = "one expiry and one health alarm per social target, none for rest"
  }
  assert {
    condition = alltrue([for a in aws_cloudwatch_metric_alarm.token_expiring : (
      a.namespace == "SocialOmega" && a.metric_name == "TokenDaysLeft" && a.threshold == 7
      && a.comparison_operator == "LessThanThreshold" && a.statistic == "Minimum"
    )])
    error_message = "the expiry alarms fire on TokenDaysLeft < 7 (token_alarm_days)"
  }
  assert {
    condition     = alltrue([for k, a in aws_cloudwatch_metric_alarm.token_unhealthy : a.metric_name == "TokenUnhealthy" && a.threshold == 0 && a.comparison_operator == "GreaterThanThreshold" && a.dimensions["Target"] == k])
    error_message = "the health alarms fire on TokenUnhealthy > 0, per Target"
  }
  assert {
    condition = alltrue([for a in concat(values(aws_cloudwatch_metric_alarm.token_expiring), values(aws_cloudwatch_metric_alarm.token_unhealthy), values(aws_cloudwatch_metric_alarm.scheduled_run_dlq)) :
    a.alarm_actions == toset([local.alarm_topic_arn])])
    error_message = "every token alarm notifies the alarm topic"
  }
  assert {
    condition     = contains(keys(aws_cloudwatch_metric_alarm.function_errors), "token-keeper")
    error_message = "the keeper's own errors alarm like every function's"
  }
}

run "the_alarm_threshold_must_be_below_the_refresh_window" {
  command = plan
  variables {
    token_alarm_days = 14
  }
  expect_failures = [var.token_alarm_days]
}

run "the_insights_puller_runs_hourly_one_at_a_time_and_reads_the_social_secrets" {
  command = apply

  assert {
    condition     = local.insights.handler == "socialomega.insights.handler.handler" && module.insights.wiring.reserved_concurrency == 1
    error_message = "the puller runs socialomega.insights.handler.handler, one run at a time"
  }
  assert {
    condition     = module.insights.schedule.schedule_expression == "rate(1 hour)" && module.insights.schedule.target_arn == module.insights.function_arn && module.insights.schedule.dead_letter_arn == module.insights.dlq.arn
    error_message = "the schedule invokes the puller hourly and dead-letters into its own DLQ"
  }
  assert {
    condition     = module.insights.wiring.environment["SO_INSIGHTS_MAX_AGE_DAYS"] == "30"
    error_message = "the puller reads posts of the last 30 days by default"
  }
  assert {
    condition = toset(flatten([for st in module.insights.wiring.policy.Statement : st.Resource if contains(st.Action, "secretsmanager:GetSecretValue")])) == toset([
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/ig-AbCdEf",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/li-AbCdEf",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/fb-AbCdEf",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/xacct-AbCdEf",
    ])
    error_message = "the puller reads the four social targets' secrets only (not rest, lightroom, webhooks)"
  }
  assert {
    condition = flatten([for st in module.insights.wiring.policy.Statement : st.Resource if contains(st.Action, "secretsmanager:PutSecretValue")]) == [
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:socialomega/test/xacct-AbCdEf",
    ]
    error_message = "the puller writes only X's secret (its rotating token pair, renewed on use)"
  }
  assert {
    condition     = length([for st in module.insights.wiring.policy.Statement : st if contains(st.Action, "s3:PutObject") && anytrue([for r in flatten([st.Resource]) : !endswith(r, "/analytics/insights/*")])]) == 0
    error_message = "the puller writes only the insights series documents"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.scheduled_run_dlq["insights"].dimensions.QueueName == module.insights.dlq.name && toset(aws_cloudwatch_metric_alarm.scheduled_run_dlq["insights"].alarm_actions) == toset([aws_sns_topic.alarms[0].arn])
    error_message = "a failed scheduled insights run is alarmed and notifies"
  }
}
