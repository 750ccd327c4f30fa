# The release run (services/socialomega/scheduling): every minute it sends each target's
# scheduled posts whose time has come back to the target's publish queue, in order (or, while the
# target's breaker is open, moves them to the next free slots), and deletes the posts of photos
# that left the selection on targets with unpublish_on_leave. Targets without a `schedule` use it
# only for photos with their own time (`so:at`). It runs from the publisher image (CMD override).

locals {
  release = module.pipeline.release
  # The operator manifest names each target's publish queue (ops/environment.py).
  operations_parameter_arn = "arn:${data.aws_partition.current.partition}:ssm:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:parameter/socialomega/${var.env}/operations"
  # Targets whose posts are deleted when their photo leaves the selection: the release reads
  # their secrets (and writes X's, whose publisher renews its rotating pair on use).
  unpublish_targets          = sort([for t in var.targets : t.name if try(t.unpublish_on_leave, false) == true && try(t.enabled, true) != false])
  unpublish_rotating_targets = sort([for name in local.unpublish_targets : name if contains(local.rotating_token_targets, name)])
  release_store = {
    # Every target's slot documents, read and rewritten; the publications it cancels; the
    # breakers it reads (an open breaker moves the slots on instead of releasing them); the
    # poller's last complete listings and the photos' sources (a photo that left the album is
    # cancelled).
    read  = ["schedule/*", "publications/*", "breakers/*", "state/poller/*", "metadata/assets/*"]
    write = ["schedule/*", "publications/*"]
  }
}

module "release" {
  source               = "../../modules/scheduled_function"
  name                 = "${local.prefix}-release"
  image_uri            = var.image_uris["publisher"]
  architecture         = var.architecture
  command              = local.release.handler
  timeout              = local.release.function_timeout
  memory_size          = var.memory_sizes.publisher
  reserved_concurrency = 1 # one release at a time: a post is sent once
  schedule_expression  = "rate(1 minute)"
  environment          = local.env_vars
  policy_statements = concat(
    [{ sid = "Settings", actions = ["ssm:GetParameter"], resources = [local.params["targets"], local.operations_parameter_arn] }],
    [
      { sid = "StoreRead", actions = ["s3:GetObject"], resources = [for k in local.release_store.read : "${local.buckets["store"]}/${k}"] },
      { sid = "StoreWrite", actions = ["s3:PutObject"], resources = [for k in local.release_store.write : "${local.buckets["store"]}/${k}"] },
    ],
    length(local.publishers) == 0 ? [] : [
      { sid = "PublishQueues", actions = ["sqs:SendMessage"], resources = [for c in values(local.publishers) : c.queue_arn] },
    ],
    length(local.unpublish_targets) == 0 ? [] : [
      { sid = "UnpublishTokens", actions = ["secretsmanager:GetSecretValue"], resources = [for name in local.unpublish_targets : local.secrets[name]] },
    ],
    length(local.unpublish_rotating_targets) == 0 ? [] : [
      { sid = "UnpublishRotatedTokens", actions = ["secretsmanager:PutSecretValue"], resources = [for name in local.unpublish_rotating_targets : local.secrets[name]] },
    ],
  )
  conditional_statements = [
    { sid = "StoreList", actions = ["s3:ListBucket"], resources = [local.buckets["store"]], conditions = { StringLike = { "s3:prefix" = local.release_store.read } } },
  ]
  log_retention_days = var.log_retention_days
}

output "release" {
  description = "The release run of scheduled posts: function and schedule."
  value       = { function_name = module.release.function_name, schedule = "rate(1 minute)" }
}
