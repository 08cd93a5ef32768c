# The us-west-2 network of the KnowledgeBeast HA guide (seed 001): 10.0.0.0/16 across
# three availability zones, public and private subnets ready for EKS, and one NAT
# gateway per AZ so losing an AZ does not cut the others off from the internet.

terraform {
  required_version = ">= 1.5"

  required_providers {
    strata = {
      source = "strata/strata"
    }
  }
}

provider "strata" {
  region = var.region

  # Only when var.aws_endpoint is set (the demo points it at moto); otherwise the
  # provider talks to real AWS with the standard credential chain.
  dynamic "endpoints" {
    for_each = var.aws_endpoint == null ? [] : [var.aws_endpoint]
    content {
      ec2 = endpoints.value
      eks = endpoints.value
      iam = endpoints.value
      sts = endpoints.value
    }
  }

  default_tags {
    tags = var.default_tags
  }
}

resource "strata_vpc" "west" {
  name               = var.name
  cidr_block         = var.cidr_block
  availability_zones = var.availability_zones

  # Subnet CIDRs are carved from cidr_block: 16 equal blocks, the AZ letter picks the
  # index (a=0 … h=7); private = block i, public = block 8+i. For 10.0.0.0/16 that is
  # us-west-2a → 10.0.0.0/20 private, 10.0.128.0/20 public. Set private_subnet_cidrs /
  # public_subnet_cidrs (maps keyed by AZ) to choose them yourself.

  nat_gateway_mode = var.nat_gateway_mode

  tags = {
    Tier = "network"
  }

  timeouts {
    create = "10m"
    delete = "10m"
  }
}
