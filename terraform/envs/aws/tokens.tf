# The token keeper (services/socialomega/tokens): once a day it checks every social target's
# credential, refreshes those within `token_refresh_within_days` of expiry where the platform
# allows it (Instagram long-lived tokens, LinkedIn refresh tokens; never X's rotating pair, which
# its publisher renews on use), writes the new token to the target's secret, and reports
# TokenDaysLeft and TokenUnhealthy per target (EMF). Its alarms are in alerting.tf. It runs from
# the publisher image (CMD override) on a schedule (modules/scheduled_function).

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
}

module "token_keeper" {
  source              = "../../modules/scheduled_function"
  name                = "${local.prefix}-token-keeper"
  image_uri           = var.image_uris["publisher"] # the keeper ships in the publisher image
  architecture        = var.architecture
  command             = local.token_keeper.handler
  timeout             = local.token_keeper.function_timeout
  memory_size         = var.memory_sizes.publisher
  schedule_expression = var.token_check_schedule
  environment         = merge(local.env_vars, { SO_TOKEN_REFRESH_WITHIN_DAYS = tostring(var.token_refresh_within_days) })
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
}

# Where the keeper's parts lived before modules/scheduled_function held them.
moved {
  from = module.token_keeper.aws_cloudwatch_log_group.this
  to   = module.token_keeper.module.function.aws_cloudwatch_log_group.this
}
moved {
  from = module.token_keeper.aws_iam_role.this
  to   = module.token_keeper.module.function.aws_iam_role.this
}
moved {
  from = module.token_keeper.aws_iam_role_policy.this
  to   = module.token_keeper.module.function.aws_iam_role_policy.this
}
moved {
  from = module.token_keeper.aws_lambda_function.this
  to   = module.token_keeper.module.function.aws_lambda_function.this
}
moved {
  from = module.token_keeper.aws_lambda_function_event_invoke_config.this[0]
  to   = module.token_keeper.module.function.aws_lambda_function_event_invoke_config.this[0]
}
moved {
  from = aws_sqs_queue.token_schedule_dlq
  to   = module.token_keeper.aws_sqs_queue.schedule_dlq
}
moved {
  from = aws_iam_role.token_scheduler
  to   = module.token_keeper.aws_iam_role.scheduler
}
moved {
  from = aws_iam_role_policy.token_scheduler
  to   = module.token_keeper.aws_iam_role_policy.scheduler
}
moved {
  from = aws_scheduler_schedule.token_keeper
  to   = module.token_keeper.aws_scheduler_schedule.this
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
