variable "region" {
  description = "AWS region of every resource; images must be in the same region's ECR. null: the AWS CLI/SDK default (AWS_REGION, then the profile). terraform/bin/deploy always passes -var region=$AWS_REGION to this root and to envs/aws-ecr."
  type        = string
  default     = null
}

variable "env" {
  description = "Environment name, the name prefix: resources are named socialomega-<env>-*, settings live under SSM /socialomega/<env>/ and secrets under socialomega/<env>/. 1-20 of a-z, 0-9, -."
  type        = string
  default     = "prod"
}

variable "bucket_prefix" {
  description = "Globally unique prefix of the three bucket names (<prefix>-raw, -processed, -store), e.g. socialomega-prod-123456789012."
  type        = string
}

variable "image_uris" {
  description = "Container image per service, pinned by digest (<account>.dkr.ecr.<region>.amazonaws.com/socialomega-<service>@sha256:<digest>): keys poller, processor, publisher, analytics (also the webhook function's image). make deploy pushes the images and passes these; do not set them in terraform.tfvars."
  type        = map(string)
  validation {
    condition     = alltrue([for k in ["poller", "processor", "publisher", "analytics"] : contains(keys(var.image_uris), k)])
    error_message = "image_uris needs poller, processor, publisher and analytics."
  }
}

variable "architecture" {
  description = "Instruction set of every function: x86_64 (default) or arm64 (Graviton, priced lower per GB-second). The images must be built for it, linux/amd64 or linux/arm64, each a single-platform image: make deploy builds for this value and refuses an image of another platform."
  type        = string
  default     = "x86_64"
  nullable    = false
  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture is x86_64 or arm64."
  }
}

variable "lightroom_settings" {
  description = "Lightroom intake, written to SSM /socialomega/<env>/lightroom: base_url (https://lr.adobe.io), album (album name to publish from, or \"\"), keyword (only assets with this keyword, or \"\"), rendition (the Lightroom rendition to fetch, default \"2048\"), ims_url (Adobe IMS token endpoint, default https://ims-na1.adobelogin.com/ims/token/v3). Credentials go in the secret socialomega/<env>/lightroom, not here: client_id and access_token, plus client_secret and refresh_token (offline_access) so the poller renews the 24-hour IMS token itself and writes the rotated pair back."
  type        = any
}

variable "targets" {
  description = "Publish targets (the platforms), written to SSM /socialomega/<env>/targets. A list of {name, platform, spec, endpoint, enabled}: name (a-z, 0-9, -; unique, not lightroom or webhooks; also the queue suffix, the SNS filter value, the function socialomega-<env>-publisher-<name> and the secret socialomega/<env>/<name>), platform (instagram, x, facebook, linkedin or rest), spec (variant limits; {} = the platform's defaults), daily_cap, and the platform's settings (instagram: ig_user_id; facebook: page_id; linkedin: author; rest: endpoint {url, mode, auth, ...}). See terraform.tfvars.example and README, Configuration."
  type        = any
}

variable "poll_schedule" {
  description = "EventBridge Scheduler expression for the poller, e.g. rate(5 minutes) or cron(0/10 * * * ? *)."
  type        = string
  default     = "rate(5 minutes)"
}

variable "memory_sizes" {
  description = "Memory (MB) per function, 128..10240; CPU scales with memory (1769 MB = one vCPU). The processor decodes and encodes images: give it the most. webhooks (the engagement webhook endpoint) may be left out: 256."
  type        = object({ poller = number, processor = number, publisher = number, analytics = number, webhooks = optional(number, 256) })
  default     = { poller = 512, processor = 1024, publisher = 256, analytics = 256, webhooks = 256 }
  validation {
    condition     = alltrue([for m in values(var.memory_sizes) : m >= 128 && m <= 10240])
    error_message = "Lambda memory is 128..10240 MB."
  }
}

variable "publisher_max_concurrency" {
  description = "Concurrent publisher invocations per target (platform rate limits); 2..1000."
  type        = number
  default     = 2
  validation {
    condition     = var.publisher_max_concurrency >= 2 && var.publisher_max_concurrency <= 1000
    error_message = "An SQS event source mapping's maximum concurrency is 2..1000."
  }
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention (days) of every function's log group; one of the values CloudWatch accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  type        = number
  default     = 30
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "alarm_topic_arn" {
  description = "An existing SNS topic for every alarm and failed-post notification (null: this root creates <prefix>-alarms, subscribed by alarm_email and alarm_subscriptions)."
  type        = string
  default     = null
}

variable "alarm_email" {
  description = "E-mail address told about every alarm and every failed post (AWS mails a confirmation link first). null: none."
  type        = string
  default     = null
  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address."
  }
}

variable "alarm_subscriptions" {
  description = "More subscriptions of the alarm topic, e.g. [{ protocol = \"https\", endpoint = \"https://hooks.example.com/...\" }] or an SMS number."
  type        = list(object({ protocol = string, endpoint = string }))
  default     = []
}

variable "resilience" {
  description = "Retries and circuit breakers (see modules/pipeline `resilience`); null: the defaults."
  type        = any
  default     = null
}

variable "function_timeouts" {
  description = <<-EOT
    Function timeout in seconds per service. Every handler stops starting records SO_RECORD_MIN_SECONDS
    before its deadline and every call and wait is cut to what is left (core/deadline.py), so a
    timeout only has to fit the longest single step. Sized from the worst cases of the defaults:
    publisher 90 = Facebook's longest call (5 s connect + 60 s read) + 3 s margin + an Instagram
    status wait; `terraform/bin/check-targets` refuses a target whose longest call cannot fit.
    processor 60: variants of a 24 MP photo take 0.2-0.3 s, its S3 and SNS traffic about a second.
    poller 120: it saves its cursor and stops before the deadline, resuming on the next run.
  EOT
  type        = object({ processor = number, publisher = number, analytics = number, poller = number })
  default     = { processor = 60, publisher = 90, analytics = 30, poller = 120 }
}

variable "object_lifecycle" {
  description = "Retention and tiering of raw images, variants and the event log (fields and defaults: terraform/modules/storage/variables.tf object_lifecycle). Default: after 30 days raw/ and processed/ move to STANDARD_IA; nothing expires."
  type        = any
  default     = {}
}
