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

# Credentials come from outside the configuration (TF_VAR_git_token, a secrets
# manager data source, …); left null, the repository is read anonymously and the push
# webhook is off (the agent polls every `interval`).
variable "git_token" {
  type      = string
  sensitive = true
  default   = null
}

variable "webhook_secret" {
  type      = string
  sensitive = true
  default   = null
}

# The GitOps agent on the cluster created in the same apply, following the config
# repo's `main` branch and rendering the `us-west-2` Cluster document.
resource "strata_gitops_agent" "west" {
  cluster {
    eks_cluster_name = strata_eks_cluster.west.name
  }

  repository   = "https://git.example.com/platform/config.git"
  ref          = "main"
  path         = "."
  cluster_name = "us-west-2"
  interval     = "1m"

  git_token      = var.git_token
  webhook_secret = var.webhook_secret

  labels = {
    "app.kubernetes.io/part-of" = "strata"
  }
}

output "agent_status_url" {
  value = strata_gitops_agent.west.status_url
}
