# The architecture of every function and the S3 object lifecycle, offline with a mocked AWS
# provider (`terraform test`).

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
    { name = "gallery", platform = "rest", spec = {}, endpoint = { url = "https://gallery.example.com/v1/media" } },
  ]
}

# --- architecture ---------------------------------------------------------------------------

run "functions_default_to_x86_64" {
  command = apply

  assert {
    condition = alltrue([for m in concat([module.poller, module.processor, module.analytics, module.webhooks, module.token_keeper, module.insights, module.release], values(module.publisher)) :
    m.wiring.architectures == tolist(["x86_64"])])
    error_message = "every function runs x86_64 unless told otherwise"
  }
}

run "arm64_reaches_every_function" {
  command = apply
  variables {
    architecture = "arm64"
  }

  assert {
    condition = alltrue([for m in concat([module.poller, module.processor, module.analytics, module.webhooks, module.token_keeper, module.insights, module.release], values(module.publisher)) :
    m.wiring.architectures == tolist(["arm64"])])
    error_message = "architecture = arm64 reaches the poller, the processor, every publisher, analytics, the webhook function and the token keeper"
  }
  assert {
    condition     = length(values(module.publisher)) == 2
    error_message = "one publisher function per target"
  }
}

run "an_unknown_architecture_is_refused" {
  command = plan
  variables {
    architecture = "aarch64"
  }
  expect_failures = [var.architecture]
}

# --- S3 object lifecycle (modules/storage, planned alone: modules/pipeline passes it the defaults)

run "lifecycle_defaults_tier_images_and_never_expire_the_store" {
  command = apply
  module {
    source = "../../modules/storage"
  }
  variables {
    bucket_prefix = "socialomega-test-123456789012"
  }

  assert {
    condition = (keys(output.lifecycle.raw) == ["expire-noncurrent-versions", "raw-renditions"] &&
      { for k, v in output.lifecycle.raw["expire-noncurrent-versions"] : k => v if k != "prefix" } == { transition = [], expiration_days = null, noncurrent_days = 30, abort_multipart_days = 1 } &&
      output.lifecycle.raw["raw-renditions"] == { prefix = "raw/", transition = [{ days = 30, storage_class = "STANDARD_IA" }], expiration_days = null, noncurrent_days = null, abort_multipart_days = null }
    )
    error_message = "raw: renditions move to STANDARD_IA after 30 days and never expire; old versions go after 30 days, abandoned uploads after 1"
  }
  assert {
    condition = (keys(output.lifecycle.processed) == ["expire-noncurrent-versions", "variants"] &&
      { for k, v in output.lifecycle.processed["expire-noncurrent-versions"] : k => v if k != "prefix" } == { transition = [], expiration_days = null, noncurrent_days = 30, abort_multipart_days = 1 } &&
      output.lifecycle.processed["variants"] == { prefix = "processed/", transition = [{ days = 30, storage_class = "STANDARD_IA" }], expiration_days = null, noncurrent_days = null, abort_multipart_days = null }
    )
    error_message = "processed: variants move to STANDARD_IA after 30 days and never expire"
  }
  assert {
    condition = (keys(output.lifecycle.store) == ["abort-incomplete-uploads"] &&
      { for k, v in output.lifecycle.store["abort-incomplete-uploads"] : k => v if k != "prefix" } == { transition = [], expiration_days = null, noncurrent_days = null, abort_multipart_days = 1 }
    )
    error_message = "store: nothing expires (claims, cursors, the event log); only abandoned uploads are aborted"
  }
}

run "lifecycle_takes_the_configured_values" {
  command = apply
  module {
    source = "../../modules/storage"
  }
  variables {
    bucket_prefix           = "socialomega-test-123456789012"
    noncurrent_version_days = 45
    object_lifecycle = {
      raw_transition_days             = 7
      raw_storage_class               = "GLACIER_IR"
      raw_expiration_days             = 365
      processed_storage_class         = "STANDARD"
      processed_expiration_days       = 60
      events_expiration_days          = 400
      abort_incomplete_multipart_days = 3
    }
  }

  assert {
    condition = output.lifecycle.raw["raw-renditions"] == {
      prefix = "raw/", transition = [{ days = 7, storage_class = "GLACIER_IR" }], expiration_days = 365, noncurrent_days = null, abort_multipart_days = null
    }
    error_message = "raw takes its transition, storage class and expiration"
  }
  assert {
    condition = output.lifecycle.processed["variants"] == {
      prefix = "processed/", transition = [], expiration_days = 60, noncurrent_days = null, abort_multipart_days = null
    }
    error_message = "processed: no transition to STANDARD, its expiration"
  }
  assert {
    condition = (keys(output.lifecycle.store) == ["abort-incomplete-uploads", "event-log"] &&
      { for k, v in output.lifecycle.store["abort-incomplete-uploads"] : k => v if k != "prefix" } == { transition = [], expiration_days = null, noncurrent_days = null, abort_multipart_days = 3 } &&
      output.lifecycle.store["event-log"] == { prefix = "events/", transition = [], expiration_days = 400, noncurrent_days = null, abort_multipart_days = null }
    )
    error_message = "store: only the event log expires, and only when told"
  }
  assert {
    condition     = output.lifecycle.raw["expire-noncurrent-versions"].noncurrent_days == 45 && output.lifecycle.processed["expire-noncurrent-versions"].abort_multipart_days == 3
    error_message = "noncurrent_version_days and abort_incomplete_multipart_days reach every versioned bucket"
  }
}

run "nothing_expires_inside_the_retry_and_dlq_windows" {
  command = plan
  module {
    source = "../../modules/storage"
  }
  variables {
    bucket_prefix           = "socialomega-test-123456789012"
    noncurrent_version_days = 7
    object_lifecycle        = { processed_expiration_days = 14 }
  }
  expect_failures = [var.noncurrent_version_days, var.object_lifecycle]
}

run "no_storage_class_that_needs_a_restore" {
  command = plan
  module {
    source = "../../modules/storage"
  }
  variables {
    bucket_prefix    = "socialomega-test-123456789012"
    object_lifecycle = { raw_storage_class = "GLACIER" }
  }
  expect_failures = [var.object_lifecycle]
}

run "no_transition_to_infrequent_access_before_day_30" {
  command = plan
  module {
    source = "../../modules/storage"
  }
  variables {
    bucket_prefix    = "socialomega-test-123456789012"
    object_lifecycle = { processed_transition_days = 10 }
  }
  expect_failures = [var.object_lifecycle]
}

run "local_stacks_have_no_lifecycle" {
  command = apply
  module {
    source = "../../modules/storage"
  }
  variables {
    bucket_prefix           = "socialomega-test-123456789012"
    noncurrent_version_days = null
  }
  assert {
    condition     = output.lifecycle == {}
    error_message = "noncurrent_version_days = null (envs/local) turns the lifecycle configuration off"
  }
}
