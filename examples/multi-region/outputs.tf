output "vpc_ids" {
  description = "VPC ID per region."
  value       = { for region, network in module.network : region => network.vpc_id }
}

output "private_subnet_ids" {
  description = "Private subnets per region, keyed by AZ: where the clusters and nodes live."
  value       = { for region, network in module.network : region => network.private_subnet_ids }
}

output "cluster_endpoints" {
  description = "Kubernetes API server URL of each cluster, keyed by region."
  value       = { for region, cluster in module.eks : region => cluster.cluster_endpoint }
}

output "cluster_arns" {
  description = "ARN of each cluster, keyed by region."
  value       = { for region, cluster in module.eks : region => cluster.cluster_arn }
}

output "kubernetes_version" {
  description = "Kubernetes version of the control planes (both run var.kubernetes_version)."
  value       = module.eks["us-west-2"].kubernetes_version
}

output "node_groups" {
  description = "Node group IDs (cluster:nodegroup), keyed by region."
  value       = { for region, cluster in module.eks : region => cluster.node_group_ids["standard-workers"] }
}

output "peering_connection_id" {
  description = "ID of the us-west-2 → us-east-1 VPC peering connection."
  value       = module.peering.id
}

output "peering_status" {
  description = "Status of the peering connection (active once accepted)."
  value       = module.peering.status
}
