output "repository_urls" {
  description = "Service => repository URL (<account>.dkr.ecr.<region>.amazonaws.com/<name>); terraform/bin/deploy pushes there."
  value       = { for k, r in aws_ecr_repository.this : k => r.repository_url }
}

output "registry" {
  description = "The registry host to `docker login` to."
  value       = split("/", values(aws_ecr_repository.this)[0].repository_url)[0]
}

output "wiring" {
  description = "Settings checked by `terraform test`."
  value = { for k, r in aws_ecr_repository.this : k => {
    name            = r.name
    tag_mutability  = r.image_tag_mutability
    scan_on_push    = r.image_scanning_configuration[0].scan_on_push
    encryption_type = r.encryption_configuration[0].encryption_type
    lifecycle_rules = jsondecode(aws_ecr_lifecycle_policy.this[k].policy).rules
    policy          = jsondecode(aws_ecr_repository_policy.this[k].policy)
  } }
}

output "image_tags" {
  description = "The tags terraform/bin/deploy pushes, which the lifecycle rules rely on: every image it deploys to <env> carries <env>-<commit> (its rollback identity) and, from before its `terraform apply` until a later successful deploy replaces it, deployed-<env>-<UTC yyyymmddThhmmssZ> (never expired)."
  value = {
    environment_tag = "<env>-<commit>"
    deployed_prefix = local.deployed_tag_prefix
    deployed_tag    = "${local.deployed_tag_prefix}<env>-<UTC yyyymmddThhmmssZ>"
    environments    = sort(var.environments)
  }
}
