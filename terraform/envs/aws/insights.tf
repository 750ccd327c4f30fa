# The insights puller (services/socialomega/insights): on a schedule it reads each post younger
# than `insights_max_age_days` from its platform (Instagram media insights, Facebook Page post
# reactions and insights, X post metrics, LinkedIn social actions and share statistics) into the
# post's series document (analytics/insights/<target>/<post>.json), and reports InsightsRead,
# InsightsFailed and InsightsDeferred per target (EMF). It runs from the publisher image (CMD
# override), which holds every platform's client, with one run at a time.

variable "insights_schedule" {
  description = "When the insights puller runs (EventBridge Scheduler expression)."
  type        = string
  default     = "rate(1 hour)"
  nullable    = false
}

variable "insights_max_age_days" {
  description = "Posts published longer ago than this are no longer read (their last figures stay)."
  type        = number
  default     = 30
  nullable    = false
  validation {
    condition     = var.insights_max_age_days > 0 && var.insights_max_age_days <= 365
    error_message = "insights_max_age_days must be between 0 and 365."
  }
}

locals {
  insights = module.pipeline.insights
  # The platforms with an insights reader (services/socialomega/platforms/<p>/insights.py; a
  # REST target has none). X's publisher, which the puller reads through, writes its rotated
  # token pair back, so the puller writes the X targets' secrets too.
  insights_platforms = ["instagram", "facebook", "linkedin", "x"]
  insights_targets   = sort([for t in var.targets : t.name if contains(local.insights_platforms, t.platform) && try(t.enabled, true) != false])
  insights_rotating  = sort([for name in local.insights_targets : name if contains(local.rotating_token_targets, name)])
  # Reads the post markers and its own series documents; writes only the series documents.
  insights_store = { read = ["analytics/posts/*", "analytics/insights/*"], write = ["analytics/insights/*"] }
}

module "insights" {
  source               = "../../modules/scheduled_function"
  name                 = "${local.prefix}-insights"
  image_uri            = var.image_uris["publisher"]
  architecture         = var.architecture
  command              = local.insights.handler
  timeout              = local.insights.function_timeout
  memory_size          = var.memory_sizes.publisher
  reserved_concurrency = 1 # one run at a time: each post's series has one writer
  schedule_expression  = var.insights_schedule
  environment          = merge(local.env_vars, { SO_INSIGHTS_MAX_AGE_DAYS = tostring(var.insights_max_age_days) })
  policy_statements = concat(
    [{ sid = "TargetsSettings", actions = ["ssm:GetParameter"], resources = [local.params["targets"]] }],
    [
      { sid = "StoreRead", actions = ["s3:GetObject"], resources = [for k in local.insights_store.read : "${local.buckets["store"]}/${k}"] },
      { sid = "StoreWrite", actions = ["s3:PutObject"], resources = [for k in local.insights_store.write : "${local.buckets["store"]}/${k}"] },
    ],
    length(local.insights_targets) == 0 ? [] : [
      { sid = "ReadTargetTokens", actions = ["secretsmanager:GetSecretValue"], resources = [for name in local.insights_targets : local.secrets[name]] },
    ],
    length(local.insights_rotating) == 0 ? [] : [
      { sid = "WriteRotatedTokens", actions = ["secretsmanager:PutSecretValue"], resources = [for name in local.insights_rotating : local.secrets[name]] },
    ],
  )
  conditional_statements = [
    { sid = "StoreList", actions = ["s3:ListBucket"], resources = [local.buckets["store"]], conditions = { StringLike = { "s3:prefix" = ["analytics/posts/*", "analytics/insights/*"] } } },
  ]
  log_retention_days = var.log_retention_days
}

output "insights" {
  description = "The insights puller: function, schedule, the targets it reads and how far back."
  value = {
    function_name = module.insights.function_name
    schedule      = var.insights_schedule
    targets       = local.insights_targets
    max_age_days  = var.insights_max_age_days
  }
}
