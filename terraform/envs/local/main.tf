# The local stack: the same modules as envs/aws minus the functions, which LocalStack
# cannot run here; `python -m socialomega.local` plays the Lambda service instead.

terraform {
  required_version = ">= 1.10"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.100" }
  }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true

  endpoints {
    s3             = var.localstack_endpoint
    sqs            = var.localstack_endpoint
    sns            = var.localstack_endpoint
    events         = var.localstack_endpoint
    ssm            = var.localstack_endpoint
    secretsmanager = var.localstack_endpoint
    cloudwatch     = var.localstack_endpoint
    iam            = var.localstack_endpoint
    sts            = var.localstack_endpoint
  }
}

module "pipeline" {
  source                  = "../../modules/pipeline"
  env                     = var.env
  lightroom_settings      = var.lightroom_settings
  targets                 = var.targets
  secret_values           = var.secrets
  poll_every_seconds      = var.poll_every_seconds
  release_every_seconds   = var.release_every_seconds
  resilience              = var.resilience == null ? {} : var.resilience
  function_timeouts       = var.function_timeouts
  force_destroy           = true
  noncurrent_version_days = null # throwaway buckets; spares a slow lifecycle wait on LocalStack
  recovery_window_in_days = 0
  tag_alarms              = false # LocalStack drops alarm tags: tagging them is perpetual drift
  tags                    = { project = "socialomega", env = var.env }
}
