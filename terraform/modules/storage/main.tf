# raw and processed hold images and are versioned; store holds the JSON metadata store.
locals {
  buckets   = { raw = true, processed = true, store = false } # name => versioned
  versioned = [for name, v in local.buckets : name if v]
}

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_18:No S3 server access logs: access is by the pipeline's own roles only (public access blocked); audit object access with CloudTrail data events, account-wide, rather than a log bucket per environment.
  # checkov:skip=CKV_AWS_144:No cross-region replication: raw holds copies of Lightroom originals (re-fetchable), processed holds variants rebuilt from raw, store holds idempotency/claim metadata; versioning covers accidental overwrite. Add replication if a regional DR target is set.
  # checkov:skip=CKV_AWS_145:SSE-S3 (AES256) encryption at rest is set (aws_s3_bucket_server_side_encryption_configuration below); a customer managed KMS key adds per-request KMS cost and key policy for no requirement we have (photos already published publicly).
  # checkov:skip=CKV2_AWS_62:No S3 event notifications by design: the poller lists the inbox on its schedule and announces work on SQS itself (explicit envelopes, retries and DLQs).
  # checkov:skip=CKV2_AWS_61:Every bucket has a lifecycle configuration (aws_s3_bucket_lifecycle_configuration.this, for_each over the same map); checkov 3.3.30 links it to one for_each instance only. Local throwaway stacks turn it off.
  # checkov:skip=CKV_AWS_21:raw and processed are versioned (aws_s3_bucket_versioning.this; checkov does not follow for_each here); store holds small JSON claim/idempotency records written with conditional puts, whose history has no use.
  for_each      = local.buckets
  bucket        = "${var.bucket_prefix}-${each.key}"
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = toset(local.versioned)
  bucket   = aws_s3_bucket.this[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each                = local.buckets
  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets
  bucket   = aws_s3_bucket.this[each.key].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets
  bucket   = aws_s3_bucket.this[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# Every bucket: abandoned multipart uploads go after a day; the versioned image buckets
# also drop non-current versions after noncurrent_version_days.
resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = var.noncurrent_version_days == null ? {} : local.buckets
  bucket   = aws_s3_bucket.this[each.key].id
  rule {
    id     = each.value ? "expire-noncurrent-versions" : "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    dynamic "noncurrent_version_expiration" {
      for_each = each.value ? [var.noncurrent_version_days] : []
      content {
        noncurrent_days = noncurrent_version_expiration.value
      }
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  depends_on = [aws_s3_bucket_versioning.this]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.images
  to   = aws_s3_bucket_lifecycle_configuration.this
}
