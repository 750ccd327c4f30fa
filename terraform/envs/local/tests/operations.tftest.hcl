# The operator manifest `socialomega --env <env>` finds an environment by (services/socialomega/
# ops/environment.py `Manifest`): its parameter, tier and content keys (mocked AWS).

mock_provider "aws" {
  source = "../../tests/mocks" # shared mocks: terraform/tests/mocks
}

variables {
  env                = "tfdev"
  lightroom_settings = { base_url = "http://127.0.0.1:8701", album = "Publish", keyword = "", rendition = "2048" }
  targets = [
    { name = "rest", platform = "rest", spec = {}, endpoint = { url = "http://127.0.0.1:8702/v1/posts" } },
    { name = "x", platform = "x", spec = {} },
  ]
  secrets = { lightroom = { client_id = "id", access_token = "token" }, rest = { api_key = "key" } }
}

run "the_manifest_names_every_queue_bucket_and_prefix" {
  command = apply

  assert {
    condition     = output.operations.parameter == "/socialomega/tfdev/operations"
    error_message = "the manifest is /socialomega/<env>/operations"
  }
  assert {
    condition = toset(keys(jsondecode(output.operations.value))) == toset([
      "schema_version", "env", "buckets", "consumers", "images_queue_url", "publish_topic_arn", "event_bus",
      "config_prefix", "secret_prefix", "secret_names", "functions", "schedule_dlqs", "alarm_topic_arn",
    ])
    error_message = "the manifest's keys are what ops/environment.py Manifest reads"
  }
  assert {
    condition = (
      toset(keys(jsondecode(output.operations.value).consumers)) == toset(["processor", "analytics", "publisher-rest", "publisher-x"]) &&
      alltrue([for c in values(jsondecode(output.operations.value).consumers) :
      toset(keys(c)) == toset(["queue_url", "dlq_url", "service", "target", "maximum_concurrency"])]) &&
      jsondecode(output.operations.value).consumers["publisher-x"].target == "x"
    )
    error_message = "one entry per queue consumer, each with its queue, its DLQ, its service and (publishers) its target"
  }
  assert {
    condition = (
      jsondecode(output.operations.value).buckets.store == "socialomega-tfdev-store" &&
      jsondecode(output.operations.value).config_prefix == "/socialomega/tfdev" &&
      jsondecode(output.operations.value).secret_names == ["lightroom", "rest", "webhooks", "x"]
    )
    error_message = "bucket names, the config prefix and every secret name"
  }
  assert {
    condition = (
      jsondecode(output.operations.value).functions == null && jsondecode(output.operations.value).alarm_topic_arn == null &&
      jsondecode(output.operations.value).schedule_dlqs == null
    )
    error_message = "a local stack has no functions, schedule DLQs or alarm topic: null, not made up"
  }
  assert {
    condition     = module.pipeline.operations.parameter == output.operations.parameter
    error_message = "the root passes the pipeline's manifest on"
  }
}
