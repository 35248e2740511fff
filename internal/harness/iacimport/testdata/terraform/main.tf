# The MCP-on-AWS deployment of the tutorial (variant "tutorial"), the kit's corrected policies
# (variant "corrected") and the corrected ones with one tutorial mistake put back (the other
# variants). plan.sh plans each variant against the kit's emulator and writes plans/<variant>.json
# with `terraform show -json`; the tests read those files and never run Terraform.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

variable "variant" {
  type        = string
  description = "tutorial, corrected, or corrected with one mistake: trust-single-statement, trust-no-tenant-pin, task-no-set-source-identity, bucket-any-account"
}

variable "endpoint" {
  type        = string
  description = "the kit's emulator (mcpsso aws serve), which answers the provider's account lookup"
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    sts = var.endpoint
    iam = var.endpoint
    s3  = var.endpoint
  }
}

module "mcp" {
  source  = "./modules/mcp"
  variant = var.variant
  tenants = ["acme", "globex"]
}
