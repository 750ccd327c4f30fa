# The token keeper (services/socialomega/tokens): once a day it checks every social target's
# credential, refreshes those within `token_refresh_within_days` of expiry where the platform
# allows it (Instagram long-lived tokens, LinkedIn refresh tokens; never X's rotating pair, which
# its publisher renews on use), writes the new token to the target's secret, and reports
# TokenDaysLeft and TokenUnhealthy per target (EMF). Its alarms are in alerting.tf. It runs from the publisher image (CMD override,
# as the webhook function runs from the analytics image).

variable "token_check_schedule" {
  description = "When the token keeper runs (EventBridge Scheduler expression)."
  type        = string
  default     = "rate(1 day)"
  nullable    = false
}

variable "token_refresh_within_days" {
  description = "A refreshable token expiring within this many days is refreshed by the token keeper."
  type        = number
  default     = 14
  nullable    = false
  validation {
    condition     = var.token_refresh_within_days > 0 && var.token_refresh_within_days <= 365
    error_message = "token_refresh_within_days must be between 0 and 365."
  }
}

variable "token_alarm_days" {
  description = "Alarm when a target's credential expires within this many days (TokenDaysLeft), whether or not it can be refreshed: a refresh that keeps failing shows here too."
  type        = number
  default     = 7
  nullable    = false
  validation {
    condition     = var.token_alarm_days > 0 && var.token_alarm_days < var.token_refresh_within_days
    error_message = "token_alarm_days must be positive and below token_refresh_within_days (the keeper refreshes before the alarm)."
  }
}

locals {
  token_keeper = module.pipeline.token_keeper
  # The platforms services/socialomega/tokens keeps (tokens/health.py `_modules`; the REST
  # target's credential does not expire) and those whose token the keeper itself renews and
  # writes back (`health.renews`: Instagram's long-lived token, LinkedIn's refresh grant).
  # Facebook's Page token is never written; X's rotating pair is renewed by the publisher on use
  # and by an operator's `socialomega tokens refresh --target x` with the operator's own
  # credentials, never by the keeper. tests/unit/test_tokens_keeper.py holds these to the code.
  token_platforms         = ["instagram", "facebook", "linkedin", "x"]
  token_renewed_platforms = ["instagram", "linkedin"]
  token_targets           = sort([for t in var.targets : t.name if contains(local.token_platforms, t.platform) && try(t.enabled, true) != false])
  token_renewed_targets   = sort([for t in var.targets : t.name if contains(local.token_renewed_platforms, t.platform) && contains(local.token_targets, t.name)])
  token_schedule          = { name = "${local.prefix}-token-keeper", group = "default" }
  token_schedule_arn = join(":", [
    "arn", data.aws_partition.current.partition, "scheduler", data.aws_region.current.name,
    data.aws_caller_identity.current.account_id, "schedule/${local.token_schedule.group}/${local.token_schedule.name}",
  ])
}

module "token_keeper" {
  source       = "../../modules/lambda_service"
  name         = "${local.prefix}-token-keeper"
  image_uri    = var.image_uris["publisher"] # the keeper ships in the publisher image
  architecture = var.architecture
  command      = local.token_keeper.handler
  timeout      = local.token_keeper.function_timeout
  memory_size  = var.memory_sizes.publisher
  environment  = merge(local.env_vars, { SO_TOKEN_REFRESH_WITHIN_DAYS = tostring(var.token_refresh_within_days) })
  policy_statements = concat(
    [{ sid = "TargetsSettings", actions = ["ssm:GetParameter"], resources = [local.params["targets"]] }],
    # Reads each social target's secret; writes back only those whose token it renews.
    length(local.token_targets) == 0 ? [] : [
      { sid = "ReadTargetTokens", actions = ["secretsmanager:GetSecretValue"], resources = [for name in local.token_targets : local.secrets[name]] },
    ],
    length(local.token_renewed_targets) == 0 ? [] : [
      { sid = "WriteRenewedTokens", actions = ["secretsmanager:PutSecretValue"], resources = [for name in local.token_renewed_targets : local.secrets[name]] },
    ],
  )
  log_retention_days = var.log_retention_days
  # A failed scheduled run lands in the schedule's DLQ (its alarm is in alerting.tf); a run
  # reports a target's failure in its metrics instead of failing, so only a run that could not
  # start gets here. No Lambda retry: tomorrow's run checks again.
  dead_letter_queue_arn           = aws_sqs_queue.token_schedule_dlq.arn
  async_maximum_retry_attempts    = 0
  async_maximum_event_age_seconds = 3600
}

resource "aws_sqs_queue" "token_schedule_dlq" {
  name                      = "${local.prefix}-token-keeper-schedule-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_iam_role" "token_scheduler" {
  name = "${local.prefix}-token-keeper-scheduler"
  # Confused deputy: only this account's token keeper schedule may assume the role.
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        ArnLike      = { "aws:SourceArn" = local.token_schedule_arn }
      }
    }]
  })
}

resource "aws_iam_role_policy" "token_scheduler" {
  name = "invoke-token-keeper"
  role = aws_iam_role.token_scheduler.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "InvokeTokenKeeper", Effect = "Allow", Action = "lambda:InvokeFunction", Resource = module.token_keeper.function_arn },
      { Sid = "ScheduleDLQ", Effect = "Allow", Action = "sqs:SendMessage", Resource = aws_sqs_queue.token_schedule_dlq.arn },
    ]
  })
}

resource "aws_scheduler_schedule" "token_keeper" {
  # checkov:skip=CKV_AWS_297:The schedule holds no data (no target input, just the keeper's ARN); an AWS owned key encrypts it. A CMK would protect nothing.
  name                = local.token_schedule.name
  group_name          = local.token_schedule.group
  schedule_expression = var.token_check_schedule
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = module.token_keeper.function_arn
    role_arn = aws_iam_role.token_scheduler.arn
    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 2
    }
    dead_letter_config {
      arn = aws_sqs_queue.token_schedule_dlq.arn
    }
  }
}

output "token_keeper" {
  description = "The token keeper: function, schedule, the targets it keeps, its refresh window and alarm threshold."
  value = {
    function_name       = module.token_keeper.function_name
    schedule            = var.token_check_schedule
    targets             = local.token_targets
    refresh_within_days = var.token_refresh_within_days
    alarm_days          = var.token_alarm_days
  }
}
