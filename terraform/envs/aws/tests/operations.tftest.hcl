# The operator manifest of a real account names what only this root has: the functions, every
# schedule's DLQ (the poller's and the token keeper's) and the alarm topic
# (services/socialomega/ops/environment.py).

mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  env                = "tfdev"
  lightroom_settings = { base_url = "https://lr.adobe.io", album = "Publish", keyword = "", rendition = "2048" }
  targets            = [{ name = "rest", platform = "rest", spec = {}, endpoint = { url = "https://api.example.com/v1/posts" } }]
  image_uris         = { poller = "p", processor = "p", publisher = "p", analytics = "p" }
  alarm_email        = "ops@example.com"
  bucket_prefix      = "socialomega-tfdev-123456789012"
}

run "the_manifest_names_the_functions_every_schedule_dlq_and_the_alarm_topic" {
  command = apply

  assert {
    condition = (
      toset(keys(jsondecode(module.pipeline.operations.value).functions)) == toset(keys(local.functions)) &&
      contains(keys(jsondecode(module.pipeline.operations.value).functions), "publisher-rest")
    )
    error_message = "every function, by the name its alarms show"
  }
  assert {
    condition = jsondecode(module.pipeline.operations.value).schedule_dlqs == {
      poller-schedule       = aws_sqs_queue.poller_schedule_dlq.url
      token-keeper-schedule = module.token_keeper.dlq.url
      insights-schedule     = module.insights.dlq.url
      release-schedule      = module.release.dlq.url
    }
    error_message = "the manifest names every schedule's DLQ (socialomega dlq list|show, doctor); it has ${jsonencode(jsondecode(module.pipeline.operations.value).schedule_dlqs)}"
  }
  assert {
    condition     = jsondecode(module.pipeline.operations.value).alarm_topic_arn == aws_sns_topic.alarms[0].arn
    error_message = "the manifest names the alarm topic (doctor checks its subscription)"
  }
  assert {
    condition     = output.operations_parameter == "/socialomega/tfdev/operations"
    error_message = "the root names the manifest's parameter"
  }
}

run "a_schedule_dlq_may_not_take_a_consumer_s_name" {
  command = plan
  module {
    source = "../../modules/pipeline"
  }
  variables {
    function_timeouts = { processor = 60, publisher = 120, analytics = 30, poller = 120 }
    operations        = { schedule_dlqs = { processor = "https://sqs.eu-west-1.amazonaws.com/123456789012/q" } }
  }
  expect_failures = [var.operations]
}
