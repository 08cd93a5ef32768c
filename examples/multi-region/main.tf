# The two-region layout of the KnowledgeBeast HA guide (seed 001), built by hand there with
# `aws ec2` and `eksctl`: in us-west-2 (10.0.0.0/16) and us-east-1 (10.1.0.0/16) a
# production network over three availability zones with a NAT gateway per zone, an EKS
# cluster on its private subnets and a managed node group of t3.xlarge workers (3, from 2
# to 10); between the two networks a VPC peering connection with a route to the other
# side on every private route table. One provider process serves both regions: each
# resource names its own `region`.

terraform {
  required_version = ">= 1.5"

  required_providers {
    strata = {
      source = "strata/strata"
    }
  }
}

provider "strata" {
  # Resources below all set `region`; this is the default for any that do not.
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

# ---------------------------------------------------------------------------------------
# Networks: a strata_vpc per region. Subnets are carved from the CIDR by zone letter
# (us-west-2a → private 10.0.0.0/20, public 10.0.128.0/20, …).

resource "strata_vpc" "west" {
  name               = "knowledgebeast-west"
  region             = "us-west-2"
  cidr_block         = var.west_cidr_block
  availability_zones = ["us-west-2a", "us-west-2b", "us-west-2c"]
  nat_gateway_mode   = "one_per_az"

  tags = {
    Tier = "network"
  }
}

resource "strata_vpc" "east" {
  name               = "knowledgebeast-east"
  region             = "us-east-1"
  cidr_block         = var.east_cidr_block
  availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
  nat_gateway_mode   = "one_per_az"

  tags = {
    Tier = "network"
  }
}

# ---------------------------------------------------------------------------------------
# EKS: a cluster per region on the private subnets. role_arn is omitted, so the provider
# creates each cluster's IAM role (AmazonEKSClusterPolicy) and deletes it on destroy.

resource "strata_eks_cluster" "west" {
  name               = "knowledgebeast-west"
  region             = "us-west-2"
  kubernetes_version = var.kubernetes_version
  subnet_ids         = values(strata_vpc.west.private_subnet_ids)

  endpoint_public_access  = true
  endpoint_private_access = true
  enabled_log_types       = ["api", "audit", "authenticator"]

  tags = {
    Tier = "compute"
  }
}

resource "strata_eks_cluster" "east" {
  name               = "knowledgebeast-east"
  region             = "us-east-1"
  kubernetes_version = var.kubernetes_version
  subnet_ids         = values(strata_vpc.east.private_subnet_ids)

  endpoint_public_access  = true
  endpoint_private_access = true
  enabled_log_types       = ["api", "audit", "authenticator"]

  tags = {
    Tier = "compute"
  }
}

# Managed node groups: the seed's `eksctl --nodegroup-name standard-workers`. node_role_arn
# is omitted, so the provider creates the node role (worker, CNI and ECR read-only
# policies). kubernetes_version follows the cluster's, so raising var.kubernetes_version
# upgrades each control plane first, then its nodes.

resource "strata_eks_node_group" "west" {
  cluster_name       = strata_eks_cluster.west.name
  name               = "standard-workers"
  kubernetes_version = strata_eks_cluster.west.kubernetes_version
  region             = "us-west-2"
  subnet_ids         = values(strata_vpc.west.private_subnet_ids)
  instance_types     = var.node_instance_types

  desired_size = var.node_scaling.desired
  min_size     = var.node_scaling.min
  max_size     = var.node_scaling.max

  labels = {
    "knowledgebeast.io/region" = "us-west-2"
  }

  tags = {
    Tier = "compute"
  }
}

resource "strata_eks_node_group" "east" {
  cluster_name       = strata_eks_cluster.east.name
  name               = "standard-workers"
  kubernetes_version = strata_eks_cluster.east.kubernetes_version
  region             = "us-east-1"
  subnet_ids         = values(strata_vpc.east.private_subnet_ids)
  instance_types     = var.node_instance_types

  desired_size = var.node_scaling.desired
  min_size     = var.node_scaling.min
  max_size     = var.node_scaling.max

  labels = {
    "knowledgebeast.io/region" = "us-east-1"
  }

  tags = {
    Tier = "compute"
  }
}

# ---------------------------------------------------------------------------------------
# Peering: requested from us-west-2, accepted in us-east-1 by the same resource, with a
# route to the other network's CIDR on every private route table of both sides. The
# CIDRs come from the networks' configuration, so an overlap is refused at plan time.

resource "strata_vpc_peering" "west_east" {
  requester_vpc_id          = strata_vpc.west.id
  requester_region          = "us-west-2"
  requester_cidr_block      = strata_vpc.west.cidr_block
  requester_route_table_ids = values(strata_vpc.west.private_route_table_ids)

  accepter_vpc_id          = strata_vpc.east.id
  accepter_region          = "us-east-1"
  accepter_cidr_block      = strata_vpc.east.cidr_block
  accepter_route_table_ids = values(strata_vpc.east.private_route_table_ids)

  # Private DNS names of one side resolve to private IPs from the other.
  allow_remote_vpc_dns_resolution = true

  tags = {
    Name = "knowledgebeast-west-east"
    Tier = "network"
  }
}
