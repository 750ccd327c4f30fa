output "parameter_arns" {
  description = "SSM parameter ARNs by name (lightroom, targets)."
  value = {
    lightroom = aws_ssm_parameter.lightroom.arn
    targets   = aws_ssm_parameter.targets.arn
  }
}

output "secret_arns" {
  description = "Secret ARNs by name."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.arn }
}

output "seeded_secret_names" {
  description = "Secrets given an initial value from secret_values (local stacks only; empty in AWS)."
  value       = sort(keys(aws_secretsmanager_secret_version.initial))
}

output "config_prefix" {
  description = "SSM prefix of this environment."
  value       = "/socialomega/${var.env}"
}

output "secret_prefix" {
  description = "Secrets Manager prefix of this environment."
  value       = "socialomega/${var.env}"
}
