output "vpc_ids" {
  description = "VPC ID per region."
  value = {
    "us-west-2" = strata_vpc.west.id
    "us-east-1" = strata_vpc.east.id
  }
}

output "private_subnet_ids" {
  description = "Private subnets per region, keyed by AZ: where the clusters and nodes live."
  value = {
    "us-west-2" = strata_vpc.west.private_subnet_ids
    "us-east-1" = strata_vpc.east.private_subnet_ids
  }
}

output "cluster_endpoints" {
  description = "Kubernetes API server URL of each cluster, keyed by region."
  value = {
    "us-west-2" = strata_eks_cluster.west.endpoint
    "us-east-1" = strata_eks_cluster.east.endpoint
  }
}

output "cluster_arns" {
  description = "ARN of each cluster, keyed by region."
  value = {
    "us-west-2" = strata_eks_cluster.west.arn
    "us-east-1" = strata_eks_cluster.east.arn
  }
}

output "kubernetes_version" {
  description = "Kubernetes version of the control planes (both run var.kubernetes_version)."
  value       = strata_eks_cluster.west.kubernetes_version
}

output "node_groups" {
  description = "Node group IDs (cluster:nodegroup), keyed by region."
  value = {
    "us-west-2" = strata_eks_node_group.west.id
    "us-east-1" = strata_eks_node_group.east.id
  }
}

output "peering_connection_id" {
  description = "ID of the us-west-2 → us-east-1 VPC peering connection."
  value       = strata_vpc_peering.west_east.id
}

output "peering_status" {
  description = "Status of the peering connection (active once accepted)."
  value       = strata_vpc_peering.west_east.status
}
