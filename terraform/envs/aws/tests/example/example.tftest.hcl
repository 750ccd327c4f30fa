# terraform.tfvars.example is a working configuration: tf-check runs this file with
# `-var-file=terraform.tfvars.example` (mocked AWS provider) so the example cannot rot.

mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  image_uris = {
    poller    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/socialomega-poller@sha256:aaaa"
    processor = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/socialomega-processor@sha256:bbbb"
    publisher = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/socialomega-publisher@sha256:cccc"
    analytics = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/socialomega-analytics@sha256:dddd"
  }
}

run "the_example_plans" {
  command = plan

  assert {
    condition     = toset(keys(output.functions)) == toset(["poller", "processor", "analytics", "webhooks", "publisher-instagram", "publisher-x", "publisher-facebook", "publisher-linkedin", "publisher-portfolio"])
    error_message = "the example deploys the four services, the webhook function and one publisher per example target"
  }
  assert {
    condition     = module.webhooks.wiring.timeout == 10 && module.webhook_api.stage_name == "v1"
    error_message = "the example deploys the webhook endpoint (function and API stage v1)"
  }
  assert {
    condition     = aws_scheduler_schedule.poller.schedule_expression == "rate(5 minutes)"
    error_message = "the example's schedule reaches the poller's schedule"
  }
}
