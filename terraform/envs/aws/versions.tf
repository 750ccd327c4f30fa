terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.100" }
  }
  # Configure a remote backend for real use, e.g. `terraform init -backend-config=...` with
  # an S3 backend block added here; state stays local until then.
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { project = "socialomega", env = var.env }
  }
}
