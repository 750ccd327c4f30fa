terraform {
  required_version = ">= 1.10"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.100" }
  }
  # Remote state in S3 (partial configuration): terraform/bin/bootstrap-state writes the settings
  # and terraform/bin/deploy passes them (terraform init -backend-config=...); tests, validate
  # and plan-preview use -backend=false or a local-backend override.
  backend "s3" {}
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { project = "socialomega", env = var.env }
  }
}
