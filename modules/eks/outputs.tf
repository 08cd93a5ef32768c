output "cluster_name" {
  description = "Name of the EKS cluster (var.name), for `aws eks update-kubeconfig --name`."
  value       = strata_eks_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the EKS cluster."
  value       = strata_eks_cluster.this.arn
}

output "cluster_endpoint" {
  description = "URL of the cluster's Kubernetes API server."
  value       = strata_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64-encoded certificate of the cluster's certificate authority (`certificate-authority-data` of a kubeconfig)."
  value       = strata_eks_cluster.this.certificate_authority_data
}

output "cluster_security_group_id" {
  description = "The security group EKS created for the control plane and the managed nodes."
  value       = strata_eks_cluster.this.cluster_security_group_id
}

output "cluster_oidc_issuer_url" {
  description = "URL of the cluster's OpenID Connect issuer (for IAM roles for service accounts)."
  value       = strata_eks_cluster.this.oidc_issuer_url
}

output "cluster_role_name" {
  description = "Name of the IAM role the provider created for the control plane (deleted with the cluster); null when cluster_role_arn was given."
  value       = strata_eks_cluster.this.created_role_name
}

output "kubernetes_version" {
  description = "Kubernetes version of the control plane (the node groups follow it)."
  value       = strata_eks_cluster.this.kubernetes_version
}

output "region" {
  description = "Region of the cluster (var.region)."
  value       = var.region
}

output "node_group_names" {
  description = "Names of the node groups, sorted."
  value       = sort([for group in strata_eks_node_group.this : group.name])
}

output "node_group_ids" {
  description = "ID of each node group (`cluster:nodegroup`, also its import ID), keyed by node group name."
  value       = tomap({ for name, group in strata_eks_node_group.this : name => group.id })
}

output "node_group_arns" {
  description = "ARN of each node group, keyed by node group name."
  value       = tomap({ for name, group in strata_eks_node_group.this : name => group.arn })
}

output "node_group_statuses" {
  description = "Status of each node group (`ACTIVE` once its nodes have joined), keyed by node group name."
  value       = tomap({ for name, group in strata_eks_node_group.this : name => group.status })
}

output "node_role_names" {
  description = "Name of the IAM role the provider created for each node group's nodes, keyed by node group name (null for a group given a node_role_arn)."
  value       = tomap({ for name, group in strata_eks_node_group.this : name => group.created_role_name })
}
