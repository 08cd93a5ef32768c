# A cluster in the provider's region, by name:
terraform import strata_eks_cluster.west knowledgebeast-west

# A cluster in another region:
terraform import strata_eks_cluster.east us-east-1/knowledgebeast-east

# Every argument is read back from EKS, so the plan after an import is empty when the
# configuration matches the cluster. Two things do not come from EKS: `timeouts` (set
# them in the configuration), and ownership of the cluster's IAM role: an imported
# cluster's `created_role_name` is null, so destroying it leaves its role alone.
