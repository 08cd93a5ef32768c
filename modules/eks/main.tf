# An EKS cluster and its managed node groups in one region, on subnets the caller
# gives (usually the private subnets of modules/network). The default node group is
# the seed's `standard-workers`: t3.xlarge, 3 nodes, scaling from 2 to 10. The IAM roles
# of the cluster and the nodes are created by the provider (and deleted with them)
# unless their ARNs are given. The provider is configured by the caller; everything is
# built in var.region whatever the provider's default region is.

resource "strata_eks_cluster" "this" {
  name               = var.name
  region             = var.region
  kubernetes_version = var.kubernetes_version
  role_arn           = var.cluster_role_arn
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids

  endpoint_public_access  = var.endpoint_public_access
  endpoint_private_access = var.endpoint_private_access
  public_access_cidrs     = var.public_access_cidrs
  service_ipv4_cidr       = var.service_ipv4_cidr
  enabled_log_types       = var.enabled_log_types
  encryption_kms_key_arn  = var.encryption_kms_key_arn

  tags = var.tags
}

resource "strata_eks_node_group" "this" {
  for_each = var.node_groups

  cluster_name = strata_eks_cluster.this.name
  name         = each.key
  region       = var.region
  # The nodes follow the control plane: raising var.kubernetes_version upgrades the
  # cluster first, then (the same apply) each node group.
  kubernetes_version = strata_eks_cluster.this.kubernetes_version
  subnet_ids         = each.value.subnet_ids != null ? each.value.subnet_ids : var.subnet_ids
  instance_types     = each.value.instance_types
  capacity_type      = each.value.capacity_type
  ami_type           = each.value.ami_type
  disk_size          = each.value.disk_size
  node_role_arn      = each.value.node_role_arn

  desired_size                = each.value.desired_size
  min_size                    = each.value.min_size
  max_size                    = each.value.max_size
  ignore_desired_size_changes = each.value.ignore_desired_size_changes
  max_unavailable             = each.value.max_unavailable

  labels = each.value.labels

  dynamic "taint" {
    for_each = each.value.taints
    content {
      key    = taint.value.key
      value  = taint.value.value
      effect = taint.value.effect
    }
  }

  tags = merge(var.tags, each.value.tags)
}
