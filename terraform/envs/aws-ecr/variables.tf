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

variable "keep_images" {
  description = "Images kept per repository; older ones expire (keep enough to roll back)."
  type        = number
  default     = 30
}
