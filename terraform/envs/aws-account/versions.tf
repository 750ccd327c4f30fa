terraform {
  required_version = ">= 1.10"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.100" }
  }
  # Remote state: terraform/bin/bootstrap-state writes the settings, terraform/bin/deploy passes
  # them (terraform init -backend-config=...). Tests and validate use -backend=false.
  backend "s3" {}
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { project = "socialomega" }
  }
}
