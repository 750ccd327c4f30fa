# The on-call dashboard (dashboard.tf, mocked AWS provider): it exists, it charts every metric
# the services emit (namespace SocialOmega, core/metrics.py) and the AWS metrics on-call needs,
# per target, with the latency's p50 and p95, and every DLQ of the environment.

mock_provider "aws" {
  source = "../../tests/mocks" # shared mocks: terraform/tests/mocks
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
  target = module.pipeline.module.images_queue.aws_sqs_queue.this
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:socialomega-test-images" }
}
override_resource {
  target = aws_sqs_queue.poller_schedule_dlq
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:socialomega-test-poller-schedule-dlq", name = "socialomega-test-poller-schedule-dlq" }
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
    { name = "gallery", platform = "rest", spec = {}, endpoint = { url = "https://gallery.example.com/v1/posts" } },
  ]
}

run "the_dashboard_charts_every_metric_on_call_needs" {
  command = apply

  assert {
    condition     = aws_cloudwatch_dashboard.this.dashboard_name == "socialomega-test-overview"
    error_message = "the dashboard is socialomega-<env>-overview"
  }

  assert {
    # Every metric line of every widget: [namespace, metric, dimension, value, ...].
    condition = alltrue([for metric in [
      "Published", "Failed", "Unconfirmed", "Deferred", "DetectionToPublishLatency", "PublishRetries",
      "CredentialsRejected", "VariantBuildTime", "VariantBytes", "VariantsSkipped", "PhotosRejected",
      "PhotosParked", "BreakerOpenSeconds", "WebhookAccepted", "WebhookRejected", "WebhookServerErrors",
      "EngagementsRecorded", "EngagementsUnmatched", "WebhookUnreadable", "RecordsRetried",
      "RecordsDeadLettered", "DeadLetterFailures", "RecordsOutOfTime", "TokenDaysLeft", "TokenUnhealthy",
      ] : contains(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
        [for line in try(w.properties.metrics, []) : "${line[0]}/${line[1]}"]
    ]), "SocialOmega/${metric}")])
    error_message = "every metric the services emit is charted in namespace SocialOmega"
  }

  assert {
    condition = alltrue([for metric in [
      "AWS/SQS/ApproximateNumberOfMessagesVisible", "AWS/SQS/ApproximateAgeOfOldestMessage",
      "AWS/Lambda/Errors", "AWS/Lambda/Throttles", "AWS/Lambda/Duration", "AWS/ApiGateway/5XXError",
      ] : contains(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
        [for line in try(w.properties.metrics, []) : "${line[0]}/${line[1]}"]
    ]), metric)])
    error_message = "queue depth and age, DLQ depth, function errors, throttles and duration, API Gateway 5xx are charted"
  }

  assert {
    condition = alltrue([for stat in ["p50", "p95"] : contains(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
      [for line in try(w.properties.metrics, []) : "${line[1]}/${line[3]}/${try(line[4].stat, "")}"]
    ]), "DetectionToPublishLatency/gallery/${stat}")])
    error_message = "the detection -> publish latency is charted per target at p50 and p95"
  }

  assert {
    condition = alltrue([for queue in ["socialomega-test-publish-rest-dlq", "socialomega-test-publish-gallery-dlq", "socialomega-test-poller-schedule-dlq", "socialomega-test-images"] :
      contains(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
        [for line in try(w.properties.metrics, []) : line[3] if line[0] == "AWS/SQS"]
    ]), queue)])
    error_message = "every DLQ (the publishers', the poller schedule's) and every queue is charted by its name"
  }

  assert {
    condition     = alltrue([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.type == "text" || try(w.properties.region, "") == "eu-west-1"])
    error_message = "every metric widget names the environment's region"
  }
}
