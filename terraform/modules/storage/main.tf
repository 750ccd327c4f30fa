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

# Lifecycle (var.object_lifecycle; why each default is safe: its description). Every bucket:
# abandoned multipart uploads are aborted, and the versioned image buckets drop non-current
# versions after noncurrent_version_days. The whole-bucket rule and the prefix rules never
# carry the same kind of action, so no two rules overlap on one (S3 refused that once:
# "overlapping prefixes ... for same action type", ceph/ceph#23668).
# Per prefix: the renditions (raw/) and the variants (processed/) move to a cheaper, still
# instantly readable storage class and expire only if asked; the store's event log (events/)
# expires only if asked, and nothing else of the store (claims, cursors, quotas, breakers, the
# post index) ever does. inbox/ (photos dropped for intake) is never touched. Transition days:
# S3 takes 0+ for INTELLIGENT_TIERING and GLACIER_IR and refuses fewer than 30 for STANDARD_IA
# and ONEZONE_IA (S3 API reference, Transition "Days"; User Guide, "Constraints and
# considerations for transitions").
locals {
  lifecycle = var.noncurrent_version_days == null ? null : var.object_lifecycle
  prefix_rules = local.lifecycle == null ? {} : {
    raw = {
      id              = "raw-renditions"
      prefix          = "raw/"
      storage_class   = local.lifecycle.raw_storage_class
      transition_days = local.lifecycle.raw_storage_class == "STANDARD" ? null : local.lifecycle.raw_transition_days
      expiration_days = local.lifecycle.raw_expiration_days
    }
    processed = {
      id              = "variants"
      prefix          = "processed/"
      storage_class   = local.lifecycle.processed_storage_class
      transition_days = local.lifecycle.processed_storage_class == "STANDARD" ? null : local.lifecycle.processed_transition_days
      expiration_days = local.lifecycle.processed_expiration_days
    }
    store = {
      id              = "event-log"
      prefix          = "events/"
      storage_class   = null
      transition_days = null
      expiration_days = local.lifecycle.events_expiration_days
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.lifecycle == null ? {} : local.buckets
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
      days_after_initiation = local.lifecycle.abort_incomplete_multipart_days
    }
  }
  dynamic "rule" {
    for_each = [for r in [local.prefix_rules[each.key]] : r if r.transition_days != null || r.expiration_days != null]
    content {
      id     = rule.value.id
      status = "Enabled"
      filter {
        prefix = rule.value.prefix
      }
      dynamic "transition" {
        for_each = rule.value.transition_days == null ? [] : [rule.value.transition_days]
        content {
          days          = transition.value
          storage_class = rule.value.storage_class
        }
      }
      dynamic "expiration" {
        for_each = rule.value.expiration_days == null ? [] : [rule.value.expiration_days]
        content {
          days = expiration.value
        }
      }
    }
  }
  depends_on = [aws_s3_bucket_versioning.this]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.images
  to   = aws_s3_bucket_lifecycle_configuration.this
}
