# A StorageClass on an EKS cluster in the provider's region, as CLUSTER/NAME:
terraform import strata_storage_class.weaviate knowledgebeast-west/weaviate-gp3

# Every argument is read back from the cluster, so the plan after an import is empty
# when the configuration matches the class. The imported state connects with
# `cluster { eks_cluster_name = … }`; a class on a cluster in another region, or one
# reached through an explicit endpoint, cannot be imported (its configuration would
# plan a replacement of the connection).
