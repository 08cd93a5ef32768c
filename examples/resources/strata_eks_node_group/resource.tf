# The seed's us-west-2 workers: a network, a cluster on its private subnets, and a
# managed node group of 3 t3.xlarge nodes that may scale from 2 to 10.
resource "strata_vpc" "west" {
  name               = "knowledgebeast-west"
  cidr_block         = "10.0.0.0/16"
  availability_zones = ["us-west-2a", "us-west-2b", "us-west-2c"]
  nat_gateway_mode   = "single"
}

resource "strata_eks_cluster" "west" {
  name       = "knowledgebeast-west"
  subnet_ids = values(strata_vpc.west.private_subnet_ids)
}

resource "strata_eks_node_group" "workers" {
  cluster_name   = strata_eks_cluster.west.name
  name           = "standard-workers"
  subnet_ids     = values(strata_vpc.west.private_subnet_ids)
  instance_types = ["t3.xlarge"]

  min_size     = 2
  max_size     = 10
  desired_size = 3
  # A cluster autoscaler owns the node count once the group exists: no perpetual diff.
  ignore_desired_size_changes = true

  labels = {
    "knowledgebeast.io/tier" = "data"
  }

  # Only pods that tolerate this taint (the Redis tier) are scheduled here.
  taint {
    key    = "dedicated"
    value  = "redis"
    effect = "NO_SCHEDULE"
  }

  tags = {
    Environment = "production"
  }

  # node_role_arn is omitted: the provider creates `knowledgebeast-west-standard-workers-node`
  # with the worker, CNI and ECR read-only policies, and deletes it with the group.
}

output "node_role" {
  value = strata_eks_node_group.workers.created_role_name
}
