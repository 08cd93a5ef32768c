# The network and the cluster (see strata_vpc and strata_eks_cluster).
resource "strata_vpc" "west" {
  name               = "knowledgebeast-west"
  cidr_block         = "10.0.0.0/16"
  availability_zones = ["us-west-2a", "us-west-2b"]
  nat_gateway_mode   = "none"
}

resource "strata_eks_cluster" "west" {
  name       = "knowledgebeast-west"
  subnet_ids = values(strata_vpc.west.private_subnet_ids)
}

# Storage for the vector database, on the cluster created in the same apply: the
# provider finds the cluster's endpoint and CA itself and signs in with an EKS token
# made from its own AWS credentials.
resource "strata_storage_class" "weaviate" {
  name = "weaviate-gp3"

  cluster {
    eks_cluster_name = strata_eks_cluster.west.name
  }

  type       = "gp3"
  iops       = 16000
  throughput = 1000
  encrypted  = true
  fs_type    = "xfs"

  reclaim_policy         = "Retain"
  volume_binding_mode    = "WaitForFirstConsumer"
  allow_volume_expansion = true

  labels = {
    "app.kubernetes.io/part-of" = "strata"
    tier                        = "vector"
  }
}

# A cluster reached with an explicit endpoint, CA and token instead:
#
# resource "strata_storage_class" "redis" {
#   name = "redis-gp3"
#
#   cluster {
#     endpoint               = var.cluster_endpoint
#     cluster_ca_certificate = var.cluster_ca_pem
#     token                  = var.cluster_token
#   }
#
#   default_class = true
# }
