# One container-image function with its own least-privilege role, log group, X-Ray
# tracing and, for queue consumers, an event source mapping with partial batch responses.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  log_group_arn = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/aws/lambda/${var.name}"
  queue_statements = var.queue == null ? [] : [{
    sid       = "ConsumeOwnQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl"]
    resources = [var.queue.arn]
  }]
  statements = concat(
    [
      { sid = "OwnLogs", actions = ["logs:CreateLogStream", "logs:PutLogEvents"], resources = ["${local.log_group_arn}:*"] },
      # X-Ray accepts no resource-level scoping for these two actions.
      { sid = "Tracing", actions = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources = ["*"] },
    ],
    local.queue_statements,
    var.dead_letter_queue_arn == null ? [] : [
      { sid = "AsyncDeadLetterQueue", actions = ["sqs:SendMessage"], resources = [var.dead_letter_queue_arn] },
    ],
    var.policy_statements,
  )
}

# The rendered policy's S3 grants by bucket ARN, for reviews and `terraform test` (the
# `wiring` output): the object patterns the role may read and write, its ListBucket
# statements with their conditions, and the S3 actions it holds. Wildcard actions (s3:*,
# s3:Get*, *) count as what they allow, so a widened statement shows up in these sets.
locals {
  rendered_statements = jsondecode(aws_iam_role_policy.this.policy).Statement
  s3_grants = flatten([for st in local.rendered_statements : [for r in st.Resource : {
    bucket    = regex("^([^/]*)/?(.*)$", r)[0]
    key       = regex("^([^/]*)/?(.*)$", r)[1]
    actions   = st.Action
    condition = lookup(st, "Condition", null)
  }] if anytrue([for a in st.Action : a == "*" || startswith(a, "s3:")])])
  s3_read  = { for g in local.s3_grants : g.bucket => g.key... if anytrue([for a in g.actions : can(regex("^(\\*|s3:\\*|s3:Get)", a))]) }
  s3_write = { for g in local.s3_grants : g.bucket => g.key... if anytrue([for a in g.actions : can(regex("^(\\*|s3:\\*|s3:(Put|Delete|Restore|Replicate))", a))]) }
  s3_acts  = { for g in local.s3_grants : g.bucket => g.actions... }
  s3_access = {
    read    = { for b, keys in local.s3_read : b => sort(distinct(keys)) }
    write   = { for b, keys in local.s3_write : b => sort(distinct(keys)) }
    actions = { for b, acts in local.s3_acts : b => sort(distinct(flatten(acts))) }
    list = [for g in local.s3_grants : { bucket = g.bucket, key = g.key, condition = g.condition }
    if anytrue([for a in g.actions : can(regex("^(\\*|s3:\\*|s3:List)", a))])]
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "this" {
  name = "${var.name}-role"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  name = "${var.name}-policy"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([for s in local.statements : {
      Sid      = s.sid
      Effect   = "Allow"
      Action   = s.actions
      Resource = s.resources
      }], [for s in var.conditional_statements : {
      Sid       = s.sid
      Effect    = "Allow"
      Action    = s.actions
      Resource  = s.resources
      Condition = s.conditions
    }])
  })
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_117:Not in a VPC: the functions reach only AWS APIs and public HTTPS endpoints (Lightroom, publish targets), no private resources; a VPC would add NAT gateways (cost, a failure point) for no isolation gain. IAM scopes what each role can touch.
  # checkov:skip=CKV_AWS_272:Lambda code signing applies to .zip packages only, not container images; integrity comes from deploying by digest (repo@sha256:...) from immutable-tag ECR repositories with scan on push (terraform/envs/aws-ecr).
  function_name                  = var.name
  role                           = aws_iam_role.this.arn
  package_type                   = "Image"
  image_uri                      = var.image_uri
  timeout                        = var.timeout
  memory_size                    = var.memory_size
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn
  architectures                  = [var.architecture]

  image_config {
    command = [var.command]
  }

  environment {
    variables = var.environment
  }

  tracing_config {
    mode = "Active"
  }

  # Asynchronous invocations that fail after Lambda's retries (the scheduled poller). Queue
  # consumers set none: their event source mapping invokes them synchronously and failures
  # land in the queue's own redrive DLQ (modules/queue), where a function DLQ would never
  # receive anything. (checkov's CKV_AWS_116 passes on this dynamic block for all of them.)
  dynamic "dead_letter_config" {
    for_each = var.dead_letter_queue_arn == null ? [] : [var.dead_letter_queue_arn]
    content {
      target_arn = dead_letter_config.value
    }
  }

  tags       = var.tags
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

# Lambda's handling of asynchronous invocations, set explicitly where a caller asks for it (the
# scheduled poller); left to Lambda's defaults otherwise.
resource "aws_lambda_function_event_invoke_config" "this" {
  count                        = var.async_maximum_retry_attempts == null && var.async_maximum_event_age_seconds == null ? 0 : 1
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.async_maximum_retry_attempts
  maximum_event_age_in_seconds = var.async_maximum_event_age_seconds
}

resource "aws_lambda_event_source_mapping" "queue" {
  count                              = var.queue == null ? 0 : 1
  event_source_arn                   = var.queue.arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.queue.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  # Only the records a handler reports as failed come back (services/socialomega/core/consumer.py).
  function_response_types = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = var.maximum_concurrency == null ? [] : [var.maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }
}
