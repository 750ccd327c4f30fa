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
  description = "Days to keep non-current object versions in the versioned image buckets (null: keep them; local stacks skip the rule, whose creation LocalStack makes the provider wait on)."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
