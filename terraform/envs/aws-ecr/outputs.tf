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
