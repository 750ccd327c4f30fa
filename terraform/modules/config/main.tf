# Runtime settings in SSM (JSON values), credentials in Secrets Manager.

resource "aws_ssm_parameter" "lightroom" {
  # checkov:skip=CKV2_AWS_34:Plain settings (API base URL, album, keyword, rendition), no credentials: those live in Secrets Manager (aws_secretsmanager_secret.this).
  name  = "/socialomega/${var.env}/lightroom"
  type  = "String"
  value = jsonencode(var.lightroom_settings)
  tags  = var.tags
}

resource "aws_ssm_parameter" "targets" {
  # checkov:skip=CKV2_AWS_34:Target names, endpoints, variant specs and body templates, no credentials: each target's secret lives in Secrets Manager (aws_secretsmanager_secret.this).
  name  = "/socialomega/${var.env}/targets"
  type  = "String"
  tier  = length(jsonencode(var.targets)) > 4096 ? "Advanced" : "Standard"
  value = jsonencode(var.targets)
  tags  = var.tags
}

resource "aws_secretsmanager_secret" "this" {
  # checkov:skip=CKV2_AWS_57:The values are credentials issued by third parties (Adobe Lightroom, each publish target); Secrets Manager cannot rotate them without a per-provider rotation function. The operator puts new values (README: Deploying to a real AWS account), the poller (Lightroom) and X's publishers write their rotated tokens back themselves; handlers cache a secret for 5 minutes at most (core/config.py), so a new value takes effect without a deploy.
  for_each                = toset(var.secret_names)
  name                    = "socialomega/${var.env}/${each.key}"
  description             = "SocialOmega ${each.key} credentials (JSON object)."
  recovery_window_in_days = var.recovery_window_in_days
  kms_key_id              = var.kms_key_id
  tags                    = var.tags
}

# Only for local stacks: in AWS the operator puts the values (see README); Terraform
# never holds real credentials. Pinning AWSCURRENT makes every apply make these values current
# again, also after a service rotated a token (the poller and X publishers write rotated pairs
# back): a local apply always goes with a fresh sandbox, which knows only its fixed tokens.
resource "aws_secretsmanager_secret_version" "initial" {
  for_each       = toset([for name in nonsensitive(keys(var.secret_values)) : name if contains(var.secret_names, name)])
  secret_id      = aws_secretsmanager_secret.this[each.key].id
  secret_string  = jsonencode(var.secret_values[each.key])
  version_stages = ["AWSCURRENT"]
}
