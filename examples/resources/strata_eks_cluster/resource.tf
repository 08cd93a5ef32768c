# The network the cluster lives in (see strata_vpc).
resource "strata_vpc" "west" {
  name               = "knowledgebeast-west"
  cidr_block         = "10.0.0.0/16"
  availability_zones = ["us-west-2a", "us-west-2b", "us-west-2c"]
}

# A cluster on the network's private subnets. Without `role_arn` the provider creates
# the IAM role `knowledgebeast-west-eks-cluster` and deletes it with the cluster.
resource "strata_eks_cluster" "west" {
  name               = "knowledgebeast-west"
  kubernetes_version = "1.31"
  subnet_ids         = values(strata_vpc.west.private_subnet_ids)

  # Public endpoint only for the office; nodes use the private endpoint.
  endpoint_public_access  = true
  endpoint_private_access = true
  public_access_cidrs     = ["203.0.113.0/24"]

  service_ipv4_cidr = "172.20.0.0/16"
  enabled_log_types = ["api", "audit", "authenticator"]

  tags = {
    Environment = "production"
  }

  timeouts {
    create = "40m"
  }
}

output "cluster_endpoint" {
  value = strata_eks_cluster.west.endpoint
}

output "oidc_issuer_url" {
  value = strata_eks_cluster.west.oidc_issuer_url
}
