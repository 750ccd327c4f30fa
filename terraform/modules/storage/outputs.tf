output "names" {
  description = "Bucket names by role: raw, processed, store."
  value       = { for k, b in aws_s3_bucket.this : k => b.bucket }
}

output "arns" {
  description = "Bucket ARNs by role."
  value       = { for k, b in aws_s3_bucket.this : k => b.arn }
}
