# A function EventBridge Scheduler runs on a schedule (the token keeper, the insights puller):
# the function (lambda_service), the schedule, the role the scheduler assumes to invoke it, and
# the DLQ where a run that could not be delivered or failed lands (its alarm is the root's,
# alerting.tf). A run reports one target's failure in its metrics instead of failing, so only a
# run that could not start gets to the DLQ; no Lambda retry: the next scheduled run tries again.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  schedule_arn = join(":", [
    "arn", data.aws_partition.current.partition, "scheduler", data.aws_region.current.name,
    data.aws_caller_identity.current.account_id, "schedule/${var.schedule_group}/${var.name}",
  ])
}

module "function" {
  source                 = "../lambda_service"
  name                   = var.name
  image_uri              = var.image_uri
  architecture           = var.architecture
  command                = var.command
  timeout                = var.timeout
  memory_size            = var.memory_size
  environment            = var.environment
  policy_statements      = var.policy_statements
  conditional_statements = var.conditional_statements
  log_retention_days     = var.log_retention_days
  reserved_concurrency   = var.reserved_concurrency

  dead_letter_queue_arn           = aws_sqs_queue.schedule_dlq.arn
  async_maximum_retry_attempts    = 0
  async_maximum_event_age_seconds = 3600
}

resource "aws_sqs_queue" "schedule_dlq" {
  name                      = "${var.name}-schedule-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_iam_role" "scheduler" {
  name = "${var.name}-scheduler"
  # Confused deputy: only this account's schedule of this name may assume the role.
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        ArnLike      = { "aws:SourceArn" = local.schedule_arn }
      }
    }]
  })
}

resource "aws_iam_role_policy" "scheduler" {
  name = "invoke-${var.name}"
  role = aws_iam_role.scheduler.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "InvokeFunction", Effect = "Allow", Action = "lambda:InvokeFunction", Resource = module.function.function_arn },
      { Sid = "ScheduleDLQ", Effect = "Allow", Action = "sqs:SendMessage", Resource = aws_sqs_queue.schedule_dlq.arn },
    ]
  })
}

resource "aws_scheduler_schedule" "this" {
  # checkov:skip=CKV_AWS_297:The schedule holds no data (no target input, just the function's ARN); an AWS owned key encrypts it. A CMK would protect nothing.
  name                = var.name
  group_name          = var.schedule_group
  schedule_expression = var.schedule_expression
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = module.function.function_arn
    role_arn = aws_iam_role.scheduler.arn
    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 2
    }
    dead_letter_config {
      arn = aws_sqs_queue.schedule_dlq.arn
    }
  }
}
