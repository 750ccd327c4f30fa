terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.100" }
  }
  # Local state until a backend is configured (README: Deploying to a real AWS account).
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { project = "socialomega" }
  }
}
