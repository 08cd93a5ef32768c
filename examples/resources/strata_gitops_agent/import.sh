# An agent installed in an EKS cluster in the provider's region, as CLUSTER/NAMESPACE:
terraform import strata_gitops_agent.west knowledgebeast-west/strata-system

# The Deployment's image, replicas and arguments, the labels and the Secrets' checksum
# are read back from the cluster, so the plan after an import is empty when the
# configuration (credentials included) matches the installation. An imported
# installation never deletes its namespace on destroy (`namespace_created` is false).
# An agent on a cluster in another region, or one reached through an explicit
# endpoint, cannot be imported.
