variable "bucket_prefix" {
  description = "Prefix of the three bucket names (`<prefix>-raw`, `-processed`, `-store`); globally unique in AWS."
  type        = string
}

variable "force_destroy" {
  description = "Allow destroying non-empty buckets (local stacks only)."
  type        = bool
  default     = false
}

variable "noncurrent_version_days" {
  description = "Days to keep non-current object versions in the versioned image buckets, at least 30: a message names the exact version it reads (raw renditions, variants), and a rebuilt variant makes the one a queued or dead-lettered message names non-current; it must stay readable for the longest retry age (retry_max_age_seconds, at most 14 days) plus the DLQ's 14-day retention. null: no lifecycle configuration at all (local throwaway stacks; LocalStack makes the provider wait on its creation)."
  type        = number
  default     = 30
  validation {
    condition     = var.noncurrent_version_days == null || coalesce(var.noncurrent_version_days, 30) >= 30
    error_message = "noncurrent_version_days is at least 30 (the longest retry age plus the DLQ's retention), or null."
  }
}

variable "object_lifecycle" {
  description = <<-EOT
    Retention and tiering of the pipeline's objects; every field optional. What reads them:
    a rendition (raw/<asset>/<version>.jpg) is read by the processor when its detection is
    processed, retried (up to resilience.retry_max_age_seconds, 24 h by default, at most 14 days),
    redriven from its DLQ (kept 14 days) or replayed from the event log; a variant
    (processed/<asset>/<version>/<target>.<ext>) is read by its target's publisher on every try
    and redrive of the publish request and on a republish. Reads name the object version, so with
    versioning an expired object stays readable noncurrent_version_days longer.
    * raw_transition_days / raw_storage_class (30, STANDARD_IA) and processed_transition_days /
      processed_storage_class (30, STANDARD_IA): after the retry and DLQ windows an object is read
      rarely, and these classes store it for less and still read it instantly (with a per-GB
      retrieval fee). Only STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING and GLACIER_IR: GLACIER and
      DEEP_ARCHIVE need a restore before a read, which would fail a replay. S3 moves nothing to
      the IA classes before day 30. STANDARD: no transition.
    * raw_expiration_days (null: keep): the renditions are the pipeline's copy of the Lightroom
      originals; a replayed detection re-reads them, and once they are gone only a new Lightroom
      version brings a photo back.
    * processed_expiration_days (null: keep): variants are derived, rebuilt from the rendition by
      replaying the detection (socialomega replay; the publishers' claims stop a second post), so
      they may expire, e.g. after 90 days; but a publish request retried, redriven or replayed
      after that fails on the missing variant, so nothing expires unless asked.
    * events_expiration_days (null: keep): the store's event log (events/), what replay and the
      analytics rebuild read; set it no shorter than the oldest failure you would still replay.
      Nothing else of the store (claims, cursors, quotas, breakers, the post index) ever expires.
    * abort_incomplete_multipart_days (1): the services write single-part objects; an upload into
      inbox/ left unfinished for a day is abandoned.
    Expirations are at least 30 days (the longest retry age, 14 days, plus the DLQ's 14) and come
    after the transition. (Terraform gives an attribute set to null its default: keep or STANDARD
    say "off".)
  EOT
  type = object({
    raw_transition_days             = optional(number, 30)
    raw_storage_class               = optional(string, "STANDARD_IA")
    raw_expiration_days             = optional(number)
    processed_transition_days       = optional(number, 30)
    processed_storage_class         = optional(string, "STANDARD_IA")
    processed_expiration_days       = optional(number)
    events_expiration_days          = optional(number)
    abort_incomplete_multipart_days = optional(number, 1)
  })
  default  = {}
  nullable = false
  validation {
    condition     = alltrue([for c in [var.object_lifecycle.raw_storage_class, var.object_lifecycle.processed_storage_class] : contains(["STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"], c)])
    error_message = "object_lifecycle storage classes: STANDARD (no transition), STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING or GLACIER_IR (read instantly; GLACIER and DEEP_ARCHIVE need a restore the pipeline does not do)."
  }
  validation {
    condition = alltrue([for t in [
      [var.object_lifecycle.raw_transition_days, var.object_lifecycle.raw_storage_class],
      [var.object_lifecycle.processed_transition_days, var.object_lifecycle.processed_storage_class],
    ] : t[0] == null || try(t[0] >= (startswith(t[1], "STANDARD_IA") || startswith(t[1], "ONEZONE_IA") ? 30 : 1), false)])
    error_message = "object_lifecycle transition days: at least 30 to STANDARD_IA or ONEZONE_IA (S3's minimum), at least 1 otherwise."
  }
  validation {
    condition = alltrue([for d in [var.object_lifecycle.raw_expiration_days, var.object_lifecycle.processed_expiration_days, var.object_lifecycle.events_expiration_days] :
    d == null || try(d >= 30, false)])
    error_message = "object_lifecycle expirations are at least 30 days (the longest retry age plus the DLQ's retention), or null to keep."
  }
  validation {
    condition = alltrue([for p in [
      [var.object_lifecycle.raw_transition_days, var.object_lifecycle.raw_expiration_days, var.object_lifecycle.raw_storage_class],
      [var.object_lifecycle.processed_transition_days, var.object_lifecycle.processed_expiration_days, var.object_lifecycle.processed_storage_class],
    ] : p[0] == null || p[1] == null || p[2] == "STANDARD" || try(p[1] > p[0], false)])
    error_message = "object_lifecycle: an expiration comes after the transition of the same objects."
  }
  validation {
    condition     = try(var.object_lifecycle.abort_incomplete_multipart_days >= 1, false)
    error_message = "object_lifecycle.abort_incomplete_multipart_days is at least 1."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
