# The two-region layout of the KnowledgeBeast HA guide (seed 001), built by hand there with
# `aws ec2` and `eksctl`: in us-west-2 (10.0.0.0/16) and us-east-1 (10.1.0.0/16) a
# production network over three availability zones with a NAT gateway per zone, an EKS
# cluster on its private subnets and a managed node group of t3.xlarge workers (3, from 2
# to 10); between the two networks a VPC peering connection with a route to the other
# side on every private route table. It is composed from the modules in ../../modules:
# `network` and `eks` once per region, `peering` once. One provider process serves both
# regions: each module builds in the `region` it is given.

terraform {
  # The modules' validation blocks compare inputs with each other: Terraform 1.9 or newer.
  required_version = ">= 1.9"

  required_providers {
    strata = {
      source = "strata/strata"
    }
  }
}

provider "strata" {
  # The modules all set their region; this is the default for anything that does not.
  region = "us-west-2"

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

# The two regions, keyed by region name; every module below runs once per entry.
locals {
  regions = {
    "us-west-2" = { name = "knowledgebeast-west", cidr_block = var.west_cidr_block }
    "us-east-1" = { name = "knowledgebeast-east", cidr_block = var.east_cidr_block }
  }
}

# ---------------------------------------------------------------------------------------
# Networks: the module's defaults are the seed's: the region's zones a, b and c and a NAT
# gateway per zone. Subnets are carved from the CIDR by zone letter (us-west-2a →
# private 10.0.0.0/20, public 10.0.128.0/20, …).

module "network" {
  source   = "../../modules/network"
  for_each = local.regions

  name       = each.value.name
  region     = each.key
  cidr_block = each.value.cidr_block

  tags = {
    Tier = "network"
  }
}

# ---------------------------------------------------------------------------------------
# EKS: a cluster per region on the private subnets, with the seed's node group
# (`eksctl --nodegroup-name standard-workers`). The provider creates the IAM roles of the
# clusters and nodes and deletes them on destroy. The nodes follow the control plane's
# version, so raising var.kubernetes_version upgrades each control plane, then its nodes.

module "eks" {
  source   = "../../modules/eks"
  for_each = local.regions

  name               = each.value.name
  region             = each.key
  kubernetes_version = var.kubernetes_version
  subnet_ids         = values(module.network[each.key].private_subnet_ids)

  endpoint_public_access  = true
  endpoint_private_access = true
  enabled_log_types       = ["api", "audit", "authenticator"]

  node_groups = {
    standard-workers = {
      instance_types = var.node_instance_types
      desired_size   = var.node_scaling.desired
      min_size       = var.node_scaling.min
      max_size       = var.node_scaling.max
      labels = {
        "knowledgebeast.io/region" = each.key
      }
    }
  }

  tags = {
    Tier = "compute"
  }
}

# ---------------------------------------------------------------------------------------
# Peering: requested from us-west-2, accepted in us-east-1, with a route to the other
# network's CIDR on every private route table of both sides. The CIDRs come from the
# networks' configuration, so an overlap is refused at plan time, before anything is
# created.

module "peering" {
  source = "../../modules/peering"

  name = "knowledgebeast-west-east"

  requester_vpc_id          = module.network["us-west-2"].vpc_id
  requester_region          = "us-west-2"
  requester_cidr_block      = module.network["us-west-2"].cidr_block
  requester_route_table_ids = values(module.network["us-west-2"].private_route_table_ids)

  accepter_vpc_id          = module.network["us-east-1"].vpc_id
  accepter_region          = "us-east-1"
  accepter_cidr_block      = module.network["us-east-1"].cidr_block
  accepter_route_table_ids = values(module.network["us-east-1"].private_route_table_ids)

  # Private DNS names of one side resolve to private IPs from the other.
  allow_remote_vpc_dns_resolution = true

  tags = {
    Tier = "network"
  }
}
