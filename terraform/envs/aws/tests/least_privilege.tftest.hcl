# Least privilege, function by function (mocked AWS provider, `terraform test`): the exact S3
# keys each role may read, write and list per bucket, the event source each may put on the
# bus, the scheduler role's trust, and the publisher's own target in its environment.
#
# The S3 checks read module.<fn>.wiring.s3 (modules/lambda_service/main.tf), a summary of the
# rendered policy by bucket ARN: read/write = the key patterns of every statement whose actions
# allow reading (s3:Get*, s3:*, *) or writing (s3:Put*, s3:Delete*, ..., s3:*, *); actions =
# the S3 actions held; list = the ListBucket statements with their conditions. Every check
# compares exact sets, so a broader resource, a wildcard action or another bucket fails it.

mock_provider "aws" {
  source = "../../tests/mocks" # shared mocks: terraform/tests/mocks
}

# Short, distinct bucket ARNs keep the expected sets below readable.
override_resource {
  target = module.pipeline.module.storage.aws_s3_bucket.this["store"]
  values = { arn = "arn:aws:s3:::so-store" }
}
override_resource {
  target = module.pipeline.module.storage.aws_s3_bucket.this["raw"]
  values = { arn = "arn:aws:s3:::so-raw" }
}
override_resource {
  target = module.pipeline.module.storage.aws_s3_bucket.this["processed"]
  values = { arn = "arn:aws:s3:::so-processed" }
}
override_resource {
  target = module.pipeline.module.messaging.aws_cloudwatch_event_bus.this
  values = { arn = "arn:aws:events:eu-west-1:123456789012:event-bus/socialomega-test-bus" }
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
  # Two targets on one platform (they share its post index, nothing else) and one on another.
  targets = [
    { name = "rest", platform = "rest", spec = {}, endpoint = { url = "https://api.example.com/v1/posts" } },
    { name = "gallery", platform = "rest", spec = {}, endpoint = { url = "https://gallery.example.com/v1/media" } },
    { name = "xacct", platform = "x", spec = {} },
  ]
}

run "the_poller_reads_and_writes_its_store_prefixes_writes_raw_and_reads_the_inbox" {
  command = apply

  assert {
    condition     = jsonencode(module.poller.wiring.s3.actions) == jsonencode({ "arn:aws:s3:::so-store" = ["s3:GetObject", "s3:ListBucket", "s3:PutObject"], "arn:aws:s3:::so-raw" = ["s3:GetObject", "s3:ListBucket", "s3:PutObject"] })
    error_message = "the poller holds exactly Get/Put/ListBucket on the store and the raw bucket, no other S3 action or resource; it has ${jsonencode(module.poller.wiring.s3.actions)}"
  }
  assert {
    condition     = toset(lookup(module.poller.wiring.s3.read, "arn:aws:s3:::so-store", [])) == toset(["metadata/assets/*", "detections/*", "state/poller/*"])
    error_message = "the poller reads exactly metadata/assets/*, detections/*, state/poller/* of the store; it may read ${jsonencode(lookup(module.poller.wiring.s3.read, "arn:aws:s3:::so-store", []))}"
  }
  assert {
    condition     = toset(lookup(module.poller.wiring.s3.write, "arn:aws:s3:::so-store", [])) == toset(["metadata/assets/*", "detections/*", "state/poller/*"])
    error_message = "the poller writes exactly metadata/assets/*, detections/*, state/poller/* of the store; it may write ${jsonencode(lookup(module.poller.wiring.s3.write, "arn:aws:s3:::so-store", []))}"
  }
  assert {
    condition     = toset(lookup(module.poller.wiring.s3.read, "arn:aws:s3:::so-raw", [])) == toset(["inbox/*"]) && toset(lookup(module.poller.wiring.s3.write, "arn:aws:s3:::so-raw", [])) == toset(["raw/*"])
    error_message = "the poller reads exactly inbox/* and writes exactly raw/* of the raw bucket; it may read ${jsonencode(lookup(module.poller.wiring.s3.read, "arn:aws:s3:::so-raw", []))} and write ${jsonencode(lookup(module.poller.wiring.s3.write, "arn:aws:s3:::so-raw", []))}"
  }
  assert {
    condition     = length(lookup(module.poller.wiring.s3.read, "arn:aws:s3:::so-processed", [])) + length(lookup(module.poller.wiring.s3.write, "arn:aws:s3:::so-processed", [])) == 0
    error_message = "the poller has nothing to do with the processed bucket"
  }
  assert {
    condition = jsonencode(module.poller.wiring.s3.list) == jsonencode([
      { bucket = "arn:aws:s3:::so-store", key = "", condition = { StringLike = { "s3:prefix" = ["metadata/assets/*", "detections/*", "state/poller/*"] } } },
      { bucket = "arn:aws:s3:::so-raw", key = "", condition = { StringLike = { "s3:prefix" = ["inbox/", "inbox/*"] } } },
    ])
    error_message = "the poller lists the store only under the prefixes it reads, and the raw bucket only under inbox/; its ListBucket statements are ${jsonencode(module.poller.wiring.s3.list)}"
  }
}

run "the_processor_reads_raw_originals_and_asset_metadata_and_writes_variants" {
  command = apply

  assert {
    condition     = jsonencode(module.processor.wiring.s3.actions) == jsonencode({ "arn:aws:s3:::so-store" = ["s3:GetObject", "s3:ListBucket", "s3:PutObject"], "arn:aws:s3:::so-raw" = ["s3:GetObject", "s3:GetObjectVersion"], "arn:aws:s3:::so-processed" = ["s3:PutObject"] })
    error_message = "the processor holds exactly Get/Put/ListBucket on the store, Get(Version) on raw and Put on processed; it has ${jsonencode(module.processor.wiring.s3.actions)}"
  }
  assert {
    condition     = toset(lookup(module.processor.wiring.s3.read, "arn:aws:s3:::so-store", [])) == toset(["metadata/assets/*"]) && toset(lookup(module.processor.wiring.s3.write, "arn:aws:s3:::so-store", [])) == toset(["metadata/assets/*"])
    error_message = "the processor reads and writes exactly metadata/assets/* of the store; it may read ${jsonencode(lookup(module.processor.wiring.s3.read, "arn:aws:s3:::so-store", []))} and write ${jsonencode(lookup(module.processor.wiring.s3.write, "arn:aws:s3:::so-store", []))}"
  }
  assert {
    condition     = toset(lookup(module.processor.wiring.s3.read, "arn:aws:s3:::so-raw", [])) == toset(["raw/*"]) && length(lookup(module.processor.wiring.s3.write, "arn:aws:s3:::so-raw", [])) == 0
    error_message = "the processor reads exactly raw/* of the raw bucket (not the inbox) and writes none of it; it may read ${jsonencode(lookup(module.processor.wiring.s3.read, "arn:aws:s3:::so-raw", []))} and write ${jsonencode(lookup(module.processor.wiring.s3.write, "arn:aws:s3:::so-raw", []))}"
  }
  assert {
    condition     = length(lookup(module.processor.wiring.s3.read, "arn:aws:s3:::so-processed", [])) == 0 && toset(lookup(module.processor.wiring.s3.write, "arn:aws:s3:::so-processed", [])) == toset(["processed/*"])
    error_message = "the processor writes exactly processed/* of the processed bucket and reads none of it; it may read ${jsonencode(lookup(module.processor.wiring.s3.read, "arn:aws:s3:::so-processed", []))} and write ${jsonencode(lookup(module.processor.wiring.s3.write, "arn:aws:s3:::so-processed", []))}"
  }
  assert {
    condition = jsonencode(module.processor.wiring.s3.list) == jsonencode([
      { bucket = "arn:aws:s3:::so-store", key = "", condition = { StringLike = { "s3:prefix" = ["metadata/assets/*"] } } },
    ])
    error_message = "the processor lists the store only under metadata/assets/; its ListBucket statements are ${jsonencode(module.processor.wiring.s3.list)}"
  }
  assert {
    condition = [for st in module.processor.wiring.policy.Statement : { resources = st.Resource, condition = lookup(st, "Condition", null) }
      if anytrue([for a in st.Action : a == "*" || startswith(a, "events:")])] == [
      { resources = ["arn:aws:events:eu-west-1:123456789012:event-bus/socialomega-test-bus"], condition = { StringEquals = { "events:source" = ["socialomega.processor"] } } },
    ]
    error_message = "the processor may put only its own events (source socialomega.processor) on the bus"
  }
}

run "each_publisher_touches_only_its_own_target_claims_quota_breaker_variants_and_platform_index" {
  command = apply

  assert {
    condition     = toset(keys(module.publisher)) == toset(["publisher-rest", "publisher-gallery", "publisher-xacct"])
    error_message = "one publisher per target (the checks below cover each)"
  }
  assert {
    condition = alltrue([for k, m in module.publisher : jsonencode(m.wiring.s3.actions) == jsonencode({
      "arn:aws:s3:::so-store"     = ["s3:GetObject", "s3:ListBucket", "s3:PutObject"]
      "arn:aws:s3:::so-processed" = ["s3:GetObject", "s3:GetObjectVersion"]
    })])
    error_message = "a publisher holds exactly Get/Put/ListBucket on the store and Get(Version) on processed, nothing on raw; they have ${jsonencode({ for k, m in module.publisher : k => m.wiring.s3.actions })}"
  }
  assert {
    condition = alltrue([for k, m in module.publisher : toset(lookup(m.wiring.s3.read, "arn:aws:s3:::so-store", [])) == toset([
      "publications/*/${trimprefix(k, "publisher-")}.json", "quotas/${trimprefix(k, "publisher-")}.json", "breakers/${trimprefix(k, "publisher-")}.json",
      "schedule/${trimprefix(k, "publisher-")}/*",
    ])])
    error_message = "a publisher reads exactly its own target's claims (publications/*/<target>.json), quota (quotas/<target>.json) , breaker (breakers/<target>.json) and scheduled posts (schedule/<target>/) in the store; they may read ${jsonencode({ for k, m in module.publisher : k => lookup(m.wiring.s3.read, "arn:aws:s3:::so-store", []) })}"
  }
  assert {
    condition = (
      toset(lookup(module.publisher["publisher-rest"].wiring.s3.write, "arn:aws:s3:::so-store", [])) == toset(["publications/*/rest.json", "quotas/rest.json", "breakers/rest.json", "posts/rest/*", "schedule/rest/*"]) &&
      toset(lookup(module.publisher["publisher-gallery"].wiring.s3.write, "arn:aws:s3:::so-store", [])) == toset(["publications/*/gallery.json", "quotas/gallery.json", "breakers/gallery.json", "posts/rest/*", "schedule/gallery/*"]) &&
      toset(lookup(module.publisher["publisher-xacct"].wiring.s3.write, "arn:aws:s3:::so-store", [])) == toset(["publications/*/xacct.json", "quotas/xacct.json", "breakers/xacct.json", "posts/x/*", "schedule/xacct/*"])
    )
    error_message = "a publisher writes exactly its own target's claims, quota, breaker and scheduled posts and its platform's post index (posts/<platform>/*) in the store; they may write ${jsonencode({ for k, m in module.publisher : k => lookup(m.wiring.s3.write, "arn:aws:s3:::so-store", []) })}"
  }
  assert {
    condition = alltrue([for k, m in module.publisher :
      toset(lookup(m.wiring.s3.read, "arn:aws:s3:::so-processed", [])) == toset(["processed/*/${trimprefix(k, "publisher-")}.*"]) &&
    length(lookup(m.wiring.s3.write, "arn:aws:s3:::so-processed", [])) == 0])
    error_message = "a publisher reads exactly its own target's variants (processed/*/<target>.*) and writes none; they may read ${jsonencode({ for k, m in module.publisher : k => lookup(m.wiring.s3.read, "arn:aws:s3:::so-processed", []) })}"
  }
  assert {
    condition = alltrue([for k, m in module.publisher : jsonencode(m.wiring.s3.list) == jsonencode([
      { bucket = "arn:aws:s3:::so-store", key = "", condition = { StringLike = { "s3:prefix" = ["publications/*/${trimprefix(k, "publisher-")}.json", "quotas/${trimprefix(k, "publisher-")}.json", "breakers/${trimprefix(k, "publisher-")}.json", "schedule/${trimprefix(k, "publisher-")}/*"] } } },
    ])])
    error_message = "a publisher lists the store only under its own claims, quota and breaker; their ListBucket statements are ${jsonencode({ for k, m in module.publisher : k => m.wiring.s3.list })}"
  }
  assert {
    condition = alltrue([for k, m in module.publisher : [
      for st in m.wiring.policy.Statement : { resources = st.Resource, condition = lookup(st, "Condition", null) }
      if anytrue([for a in st.Action : a == "*" || startswith(a, "events:")])
      ] == [
      { resources = ["arn:aws:events:eu-west-1:123456789012:event-bus/socialomega-test-bus"], condition = { StringEquals = { "events:source" = ["socialomega.publisher"] } } },
    ]])
    error_message = "a publisher may put only events of source socialomega.publisher on the bus; their event statements are ${jsonencode({ for k, m in module.publisher : k => [for st in m.wiring.policy.Statement : st if anytrue([for a in st.Action : a == "*" || startswith(a, "events:")])] })}"
  }
}

run "analytics_reads_and_writes_only_analytics_and_events" {
  command = apply

  assert {
    condition     = jsonencode(module.analytics.wiring.s3.actions) == jsonencode({ "arn:aws:s3:::so-store" = ["s3:GetObject", "s3:ListBucket", "s3:PutObject"] })
    error_message = "analytics holds exactly Get/Put/ListBucket on the store, nothing on raw or processed; it has ${jsonencode(module.analytics.wiring.s3.actions)}"
  }
  assert {
    condition     = toset(lookup(module.analytics.wiring.s3.read, "arn:aws:s3:::so-store", [])) == toset(["analytics/*", "events/*"]) && toset(lookup(module.analytics.wiring.s3.write, "arn:aws:s3:::so-store", [])) == toset(["analytics/*", "events/*"])
    error_message = "analytics reads and writes exactly analytics/* and events/* of the store; it may read ${jsonencode(lookup(module.analytics.wiring.s3.read, "arn:aws:s3:::so-store", []))} and write ${jsonencode(lookup(module.analytics.wiring.s3.write, "arn:aws:s3:::so-store", []))}"
  }
  assert {
    condition = jsonencode(module.analytics.wiring.s3.list) == jsonencode([
      { bucket = "arn:aws:s3:::so-store", key = "", condition = { StringLike = { "s3:prefix" = ["analytics/*", "events/*"] } } },
    ])
    error_message = "analytics lists the store only under analytics/ and events/; its ListBucket statements are ${jsonencode(module.analytics.wiring.s3.list)}"
  }
  assert {
    condition     = length([for st in module.analytics.wiring.policy.Statement : st if anytrue([for a in st.Action : a == "*" || startswith(a, "events:")])]) == 0
    error_message = "analytics puts no events on the bus; its event statements are ${jsonencode([for st in module.analytics.wiring.policy.Statement : st if anytrue([for a in st.Action : a == "*" || startswith(a, "events:")])])}"
  }
}

run "the_webhook_function_reads_the_post_index_and_keeps_unreadable_notifications" {
  command = apply

  assert {
    condition     = jsonencode(module.webhooks.wiring.s3.actions) == jsonencode({ "arn:aws:s3:::so-store" = ["s3:GetObject", "s3:ListBucket", "s3:PutObject"] })
    error_message = "the webhook function holds exactly Get/Put/ListBucket on the store, nothing on raw or processed; it has ${jsonencode(module.webhooks.wiring.s3.actions)}"
  }
  assert {
    condition     = toset(lookup(module.webhooks.wiring.s3.read, "arn:aws:s3:::so-store", [])) == toset(["posts/*"]) && toset(lookup(module.webhooks.wiring.s3.write, "arn:aws:s3:::so-store", [])) == toset(["webhooks/unreadable/*"])
    error_message = "the webhook function reads exactly posts/* and writes exactly webhooks/unreadable/* of the store; it may read ${jsonencode(lookup(module.webhooks.wiring.s3.read, "arn:aws:s3:::so-store", []))} and write ${jsonencode(lookup(module.webhooks.wiring.s3.write, "arn:aws:s3:::so-store", []))}"
  }
  assert {
    condition = jsonencode(module.webhooks.wiring.s3.list) == jsonencode([
      { bucket = "arn:aws:s3:::so-store", key = "", condition = { StringLike = { "s3:prefix" = ["posts/*"] } } },
    ])
    error_message = "the webhook function lists the store only under posts/; its ListBucket statements are ${jsonencode(module.webhooks.wiring.s3.list)}"
  }
}

run "only_this_accounts_poller_schedule_may_assume_the_scheduler_role" {
  command = apply

  assert {
    condition = jsondecode(aws_iam_role.scheduler.assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = "123456789012" }
        ArnLike      = { "aws:SourceArn" = "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/socialomega-test-poller" }
      }
    }]
    error_message = "the scheduler role trusts EventBridge Scheduler only for this account (aws:SourceAccount) and its poller schedule (aws:SourceArn); its trust policy is ${aws_iam_role.scheduler.assume_role_policy}"
  }
  assert {
    condition     = aws_scheduler_schedule.poller.name == "socialomega-test-poller" && aws_scheduler_schedule.poller.group_name == "default" && aws_scheduler_schedule.poller.target[0].role_arn == aws_iam_role.scheduler.arn
    error_message = "the aws:SourceArn above is the schedule that uses the role (group default, name socialomega-test-poller)"
  }
}

run "each_publisher_knows_its_own_target_from_its_environment" {
  command = apply

  assert {
    condition     = alltrue([for k, m in module.publisher : jsonencode(m.wiring.environment) == jsonencode(merge(module.pipeline.service_env, { SO_PUBLISHER_TARGET = trimprefix(k, "publisher-") }))])
    error_message = "every publisher gets the handler contract plus SO_PUBLISHER_TARGET = its own target; they have ${jsonencode({ for k, m in module.publisher : k => lookup(m.wiring.environment, "SO_PUBLISHER_TARGET", null) })}"
  }
  assert {
    condition     = alltrue([for m in [module.poller, module.processor, module.analytics, module.webhooks] : jsonencode(m.wiring.environment) == jsonencode(module.pipeline.service_env)])
    error_message = "the other functions get exactly the handler contract (no SO_PUBLISHER_TARGET)"
  }
  assert {
    condition = (
      jsonencode({ for k, c in module.pipeline.consumers : k => c.environment }) == jsonencode({
        processor      = {}, analytics = {},
        publisher-rest = { SO_PUBLISHER_TARGET = "rest" }, publisher-gallery = { SO_PUBLISHER_TARGET = "gallery" }, publisher-xacct = { SO_PUBLISHER_TARGET = "xacct" },
      })
    )
    error_message = "the pipeline's consumers output carries each consumer's own environment (the local runtime reads it); it is ${jsonencode({ for k, c in module.pipeline.consumers : k => c.environment })}"
  }
}
