variable "region" {
  description = "AWS region of the repositories; must be the functions' region (Lambda pulls images from its own region). null: the AWS CLI/SDK default (AWS_REGION, profile). terraform/bin/deploy passes the same region to both roots."
  type        = string
  default     = null
}

variable "repository_prefix" {
  description = "Repositories are named <prefix>-<service>, shared by every environment of the account (functions pin images by digest)."
  type        = string
  default     = "socialomega"
}

variable "services" {
  description = "One repository per service image."
  type        = list(string)
  default     = ["poller", "processor", "publisher", "analytics"]
}

variable "function_name_prefix" {
  description = "Lambda functions allowed to pull the images: arn:...:function:<prefix>* (envs/aws names them socialomega-<env>-<service>)."
  type        = string
  default     = "socialomega-"
}

variable "environments" {
  description = "Every environment deployed from this account (envs/aws `env`): each gets a lifecycle rule keeping its newest keep_per_environment images, tagged <env>-<commit> by terraform/bin/deploy. An environment left out still never loses its running image (the deployed-<env>-* rule), only its rollback images fall to keep_images. Names as envs/aws `env` (1-20 of a-z, 0-9, -), none `deployed` and none another's name followed by `-` (prod and prod-eu would share the tag pattern prod-*)."
  type        = list(string)
  default     = ["prod"]
  nullable    = false
  validation {
    condition     = alltrue([for e in var.environments : can(regex("^[a-z0-9][a-z0-9-]{0,19}$", e))]) && length(distinct(var.environments)) == length(var.environments) && length(var.environments) <= 50
    error_message = "environments: at most 50 distinct names of 1-20 characters a-z, 0-9, - (as envs/aws `env`)."
  }
  validation {
    condition     = alltrue([for e in var.environments : e != "deployed" && !startswith(e, "deployed-")])
    error_message = "environments: `deployed` is reserved (the deployed-<env>-* tags that mark running images)."
  }
  validation {
    condition     = alltrue([for a in var.environments : alltrue([for b in var.environments : a == b || !startswith(a, "${b}-")])])
    error_message = "environments: no name may start with another's name and `-` (its <env>-* tag pattern would select the other's images)."
  }
}

variable "keep_per_environment" {
  description = "Images kept per environment (tagged <env>-<commit>), newest pushed first: how far back a rollback finds its image without a rebuild. The running image never counts against anything: it is kept by its deployed-<env>-* tag."
  type        = number
  default     = 10
  validation {
    condition     = var.keep_per_environment >= 1 && var.keep_per_environment <= 1000 && floor(var.keep_per_environment) == var.keep_per_environment
    error_message = "keep_per_environment is a whole number of images, 1..1000."
  }
}

variable "untagged_expire_days" {
  description = "Days after which untagged images (interrupted pushes, orphaned manifests) expire. terraform/bin/deploy pushes single-platform images with tags, so nothing it deploys is ever untagged."
  type        = number
  default     = 7
  validation {
    condition     = var.untagged_expire_days >= 1 && floor(var.untagged_expire_days) == var.untagged_expire_days
    error_message = "untagged_expire_days is a whole number of days, at least 1."
  }
}

variable "keep_images" {
  description = "Images kept per repository among those no other rule selects (tags of older deploys before the <env>- scheme, environments not listed in `environments`), newest pushed first; ECR ranks them among every image of the repository."
  type        = number
  default     = 30
  validation {
    condition     = var.keep_images >= 1 && floor(var.keep_images) == var.keep_images
    error_message = "keep_images is a whole number of images, at least 1."
  }
}
