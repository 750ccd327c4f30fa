output "names" {
  description = "Bucket names by role: raw, processed, store."
  value       = { for k, b in aws_s3_bucket.this : k => b.bucket }
}

output "arns" {
  description = "Bucket ARNs by role."
  value       = { for k, b in aws_s3_bucket.this : k => b.arn }
}

output "lifecycle" {
  description = "Bucket role => its lifecycle rules as applied ({} when off), for reviews and `terraform test`."
  value = { for k, c in aws_s3_bucket_lifecycle_configuration.this : k => { for r in c.rule : r.id => {
    prefix               = one([for f in r.filter : f.prefix])
    transition           = [for t in r.transition : { days = t.days, storage_class = t.storage_class }]
    expiration_days      = one([for e in r.expiration : e.days])
    noncurrent_days      = one([for n in r.noncurrent_version_expiration : n.noncurrent_days])
    abort_multipart_days = one([for a in r.abort_incomplete_multipart_upload : a.days_after_initiation])
  } } }
}
