# The outputs the local runtime reads (`terraform output -json`) are its only source of
# queue URLs, batch sizes, timeouts and handlers: pin that contract offline (mocked AWS).

mock_provider "aws" {
  source = "../../tests/mocks" # shared mocks: terraform/tests/mocks
}

# The shape socialomega.local.sandbox_config passes (one target here).
variables {
  lightroom_settings = { base_url = "http://127.0.0.1:8701", album = "Publish", keyword = "", rendition = "2048" }
  targets            = [{ name = "rest", platform = "rest", spec = {}, endpoint = { url = "http://127.0.0.1:8702/v1/posts" } }]
  secrets            = { lightroom = { client_id = "id", access_token = "token" }, rest = { api_key = "key" } }
}

run "one_rest_target_gives_the_handler_contract" {
  command = apply

  variables {
    env = "tfdev"
  }

  assert {
    condition     = toset(keys(output.consumers)) == toset(["processor", "analytics", "publisher-rest"])
    error_message = "consumers: processor, analytics and one publisher per target (here: rest)"
  }
  assert {
    condition = (
      output.consumers["processor"].handler == "socialomega.processor.handler.handler" && output.consumers["processor"].batch_size == 5 && output.consumers["processor"].function_timeout == 60 &&
      output.consumers["publisher-rest"].handler == "socialomega.publishers.handler.handler" && output.consumers["publisher-rest"].batch_size == 5 && output.consumers["publisher-rest"].function_timeout == 90 &&
      output.consumers["analytics"].handler == "socialomega.analytics.handler.handler" && output.consumers["analytics"].batch_size == 10 && output.consumers["analytics"].function_timeout == 30
    )
    error_message = "handler, batch size and timeout per consumer are the contract the local runtime plays"
  }
  assert {
    condition     = alltrue([for c in values(output.consumers) : c.visibility_timeout == 6 * c.function_timeout])
    error_message = "every queue's visibility timeout is 6x its consumer's timeout"
  }
  assert {
    condition     = toset(keys(output.dlq_urls)) == toset(keys(output.consumers))
    error_message = "one DLQ per consumer"
  }
  assert {
    condition     = output.poller.handler == "socialomega.poller.handler.handler" && output.poller.schedule_seconds == 300
    error_message = "the poller's handler and schedule"
  }
  assert {
    condition = toset(keys(output.service_env)) == toset([
      "SO_ENV", "SO_RAW_BUCKET", "SO_PROCESSED_BUCKET", "SO_STORE_BUCKET", "SO_IMAGES_QUEUE_URL",
      "SO_PUBLISH_TOPIC_ARN", "SO_EVENT_BUS", "SO_CONFIG_PREFIX", "SO_SECRET_PREFIX",
      "SO_RETRY_BASE_SECONDS", "SO_RETRY_MAX_DELAY_SECONDS", "SO_RETRY_MAX_AGE_SECONDS",
      "SO_BREAKER_THRESHOLD", "SO_BREAKER_COOLDOWN_SECONDS", "SO_BREAKER_MAX_COOLDOWN_SECONDS",
      "SO_BREAKER_ALARM_SECONDS", "SO_RECORD_MIN_SECONDS",
    ])
    error_message = "service_env carries exactly the variables of services/CONTRACTS.md every handler shares"
  }
  assert {
    condition = (
      output.consumers["publisher-rest"].environment == tomap({ SO_PUBLISHER_TARGET = "rest" }) &&
      length(output.consumers["processor"].environment) == 0 && length(output.consumers["analytics"].environment) == 0
    )
    error_message = "a publisher consumer carries its own target (SO_PUBLISHER_TARGET, which the local runtime sets for its invocations); the processor and analytics nothing of their own"
  }
  assert {
    condition = (
      output.service_env.SO_ENV == "tfdev" && output.service_env.SO_RAW_BUCKET == "socialomega-tfdev-raw" &&
      output.service_env.SO_PROCESSED_BUCKET == "socialomega-tfdev-processed" && output.service_env.SO_STORE_BUCKET == "socialomega-tfdev-store" &&
      output.service_env.SO_EVENT_BUS == "socialomega-tfdev-bus" &&
      output.service_env.SO_CONFIG_PREFIX == "/socialomega/tfdev" && output.service_env.SO_SECRET_PREFIX == "socialomega/tfdev"
    )
    error_message = "names follow services/CONTRACTS.md"
  }
}

run "each_target_gets_its_own_consumer" {
  command = apply

  variables {
    env = "tfdev"
    targets = [
      { name = "rest", platform = "rest", spec = {}, endpoint = { url = "http://127.0.0.1:8702/v1/posts" } },
      { name = "gallery", platform = "rest", spec = {}, endpoint = { url = "http://127.0.0.1:8702/v1/media" } },
    ]
  }

  assert {
    condition     = toset(keys(output.consumers)) == toset(["processor", "analytics", "publisher-rest", "publisher-gallery"])
    error_message = "one publisher consumer per target"
  }
  assert {
    condition     = output.consumers["publisher-rest"].environment.SO_PUBLISHER_TARGET == "rest" && output.consumers["publisher-gallery"].environment.SO_PUBLISHER_TARGET == "gallery"
    error_message = "each publisher consumer carries its own target, never another's"
  }
}

# The local runtime serves the webhook endpoint itself (no API Gateway, no function here), but
# reads the same secret socialomega/<env>/webhooks: given in var.secrets, it gets its value.
run "the_webhooks_secret_exists_and_gets_its_sandbox_value" {
  command = apply

  variables {
    env = "tfdev"
    secrets = {
      lightroom = { client_id = "id", access_token = "token" }
      rest      = { api_key = "key" }
      webhooks  = { meta_app_secret = "m", meta_verify_token = "v", x_consumer_secret = "x", linkedin_client_secret = "l" }
    }
  }

  assert {
    condition     = toset(keys(module.pipeline.config.secrets)) == toset(["lightroom", "webhooks", "rest"])
    error_message = "secrets: lightroom, webhooks and one per target"
  }
  assert {
    condition     = module.pipeline.config.seeded == tolist(["lightroom", "rest", "webhooks"])
    error_message = "every sandbox secret given, webhooks included, gets its value"
  }
}
