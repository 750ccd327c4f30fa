# The poller within its budget (mocked AWS provider, `terraform test`): one poll at a time
# (reserved concurrency 1), and Lambda's asynchronous retries set explicitly: none, since the
# schedule fires again and the next poll resumes from the saved cursor; a throttled event is
# kept for two function timeouts at most. The other functions keep Lambda's defaults.

mock_provider "aws" {
  source = "../../tests/mocks" # shared mocks: terraform/tests/mocks
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
  ]
}

run "the_poller_runs_one_at_a_time_and_lambda_does_not_retry_a_failed_poll" {
  command = apply

  assert {
    condition     = module.poller.wiring.reserved_concurrency == 1
    error_message = "the poller has reserved concurrency 1 (one poll at a time); it has ${module.poller.wiring.reserved_concurrency}"
  }
  assert {
    condition     = module.poller.wiring.async_invoke != null && module.poller.wiring.async_invoke.maximum_retry_attempts == 0
    error_message = "Lambda does not retry a failed poll (maximum_retry_attempts = 0): the schedule fires again; it has ${jsonencode(module.poller.wiring.async_invoke)}"
  }
  assert {
    condition     = module.poller.wiring.async_invoke.maximum_event_age_in_seconds == 2 * module.poller.wiring.timeout && module.poller.wiring.async_invoke.maximum_event_age_in_seconds < 6 * 3600
    error_message = "a throttled poll event is kept for two function timeouts, not Lambda's 6 hours; it is kept ${module.poller.wiring.async_invoke.maximum_event_age_in_seconds} s"
  }
  assert {
    condition     = module.poller.wiring.dead_letter_arn == aws_sqs_queue.poller_schedule_dlq.arn
    error_message = "a failed or expired poll event still lands in the schedule DLQ (its alarm)"
  }
}

run "the_other_functions_keep_lambdas_defaults" {
  command = apply

  assert {
    condition     = alltrue([for m in concat([module.processor, module.analytics, module.webhooks], values(module.publisher)) : m.wiring.reserved_concurrency == -1 && m.wiring.async_invoke == null])
    error_message = "only the poller reserves concurrency and sets asynchronous retries"
  }
}
