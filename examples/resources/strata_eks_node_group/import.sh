# A node group of a cluster in the provider's region, as CLUSTER:NODEGROUP:
terraform import strata_eks_node_group.workers knowledgebeast-west:standard-workers

# A node group of a cluster in another region:
terraform import strata_eks_node_group.east us-east-1/knowledgebeast-east:standard-workers
