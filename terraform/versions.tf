terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    # Pinned to one major version; `terraform init` records the exact build in
    # .terraform.lock.hcl, which the deploying team commits.
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ "app.kubernetes.io/part-of" = "runlake" }, var.tags)
  }
}
