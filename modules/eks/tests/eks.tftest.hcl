# `terraform test` for modules/eks: proves that bad input is refused at plan time by the
# validation blocks, then applies the module for real (on a network from modules/network)
# and checks its outputs.
#
# The provider talks to the AWS endpoint given as var.aws_endpoint; the repository's
# tests point it at moto (tests/e2e/test_modules.py):
#
#   terraform init && terraform test -var aws_endpoint=http://127.0.0.1:5000

variable "aws_endpoint" {
  description = "URL of the AWS emulator (or endpoint) every AWS call goes to, e.g. http://127.0.0.1:5000."
  type        = string

  validation {
    condition     = can(regex("^https?://", var.aws_endpoint))
    error_message = "aws_endpoint must be an http:// or https:// URL, e.g. http://127.0.0.1:5000 (moto)."
  }
}

provider "strata" {
  region = "us-west-2"

  endpoints {
    ec2 = var.aws_endpoint
    eks = var.aws_endpoint
    iam = var.aws_endpoint
    sts = var.aws_endpoint
  }
}


variables {
  name = "tftest-eks"
  # Not the provider's default region: the module must build where it is told.
  region = "us-east-1"
}

# --- bad input, refused before anything is created ------------------------------------
# (Made-up subnet IDs: validation runs before anything is looked up.)

run "rejects_desired_size_below_min_size" {
  command = plan
  variables {
    subnet_ids  = ["subnet-0a", "subnet-0b"]
    node_groups = { workers = { min_size = 3, desired_size = 2, max_size = 10 } }
  }
  expect_failures = [var.node_groups]
}

run "rejects_desired_size_above_max_size" {
  command = plan
  variables {
    subnet_ids  = ["subnet-0a", "subnet-0b"]
    node_groups = { workers = { desired_size = 11 } }
  }
  expect_failures = [var.node_groups]
}

run "rejects_a_fractional_node_count" {
  command = plan
  variables {
    subnet_ids  = ["subnet-0a", "subnet-0b"]
    node_groups = { workers = { desired_size = 2.5 } }
  }
  expect_failures = [var.node_groups]
}

run "rejects_empty_instance_types" {
  command = plan
  variables {
    subnet_ids  = ["subnet-0a", "subnet-0b"]
    node_groups = { workers = { instance_types = [] } }
  }
  expect_failures = [var.node_groups]
}

run "rejects_a_blank_instance_type" {
  command = plan
  variables {
    subnet_ids  = ["subnet-0a", "subnet-0b"]
    node_groups = { workers = { instance_types = [""] } }
  }
  expect_failures = [var.node_groups]
}

run "rejects_a_bad_node_group_name" {
  command = plan
  variables {
    subnet_ids  = ["subnet-0a", "subnet-0b"]
    node_groups = { "workers!" = {} }
  }
  expect_failures = [var.node_groups]
}

run "rejects_an_unknown_taint_effect" {
  command = plan
  variables {
    subnet_ids  = ["subnet-0a", "subnet-0b"]
    node_groups = { workers = { taints = [{ key = "dedicated", value = "redis", effect = "NoSchedule" }] } }
  }
  expect_failures = [var.node_groups]
}

run "rejects_a_single_subnet" {
  command = plan
  variables {
    subnet_ids = ["subnet-0a"]
  }
  expect_failures = [var.subnet_ids]
}

run "rejects_something_that_is_not_a_subnet_id" {
  command = plan
  variables {
    subnet_ids = ["subnet-0a", "sg-0b"]
  }
  expect_failures = [var.subnet_ids]
}

run "rejects_a_patch_version" {
  command = plan
  variables {
    subnet_ids         = ["subnet-0a", "subnet-0b"]
    kubernetes_version = "1.35.1"
  }
  expect_failures = [var.kubernetes_version]
}

run "rejects_a_cluster_without_endpoints" {
  command = plan
  variables {
    subnet_ids              = ["subnet-0a", "subnet-0b"]
    endpoint_public_access  = false
    endpoint_private_access = false
  }
  expect_failures = [var.endpoint_private_access]
}

run "rejects_a_name_too_long_for_the_created_role" {
  command = plan
  variables {
    name       = "a-cluster-name-that-is-fifty-three-characters-long-xx"
    subnet_ids = ["subnet-0a", "subnet-0b"]
  }
  expect_failures = [var.name]
}

run "rejects_an_unknown_log_type" {
  command = plan
  variables {
    subnet_ids        = ["subnet-0a", "subnet-0b"]
    enabled_log_types = ["api", "kubelet"]
  }
  expect_failures = [var.enabled_log_types]
}

run "rejects_a_malformed_region" {
  command = plan
  variables {
    region     = "useast1"
    subnet_ids = ["subnet-0a", "subnet-0b"]
  }
  expect_failures = [var.region]
}

# --- a cluster with the seed's node group, then a second group ---------------------

run "network" {
  module {
    source = "../network"
  }
  variables {
    cidr_block       = "10.30.0.0/16"
    nat_gateway_mode = "none"
  }
}

run "builds_a_cluster_with_the_seed_node_group" {
  command = apply

  variables {
    subnet_ids         = values(run.network.private_subnet_ids)
    kubernetes_version = "1.35"
    tags               = { Tier = "compute" }
  }

  assert {
    condition     = output.cluster_name == "tftest-eks" && output.region == "us-east-1"
    error_message = "cluster ${output.cluster_name} in ${output.region}"
  }
  assert {
    condition     = startswith(output.cluster_arn, "arn:aws:eks:us-east-1:") && endswith(output.cluster_arn, ":cluster/tftest-eks")
    error_message = "the cluster's ARN should be in us-east-1: ${output.cluster_arn}"
  }
  assert {
    condition     = startswith(output.cluster_endpoint, "https://")
    error_message = "endpoint: ${output.cluster_endpoint}"
  }
  # moto's certificate data is random text (AWS's is base64), and moto creates no cluster
  # security group (AWS does): check only that the module passes them on.
  assert {
    condition     = length(output.cluster_certificate_authority_data) > 0 && output.cluster_certificate_authority_data == strata_eks_cluster.this.certificate_authority_data
    error_message = "the CA data should be the cluster's"
  }
  assert {
    condition     = output.cluster_security_group_id == strata_eks_cluster.this.cluster_security_group_id
    error_message = "the cluster security group should be the cluster's"
  }
  assert {
    condition     = output.kubernetes_version == "1.35"
    error_message = "kubernetes_version: ${output.kubernetes_version}"
  }
  assert {
    condition     = output.cluster_role_name == "tftest-eks-eks-cluster"
    error_message = "the provider should have created the cluster role: ${jsonencode(output.cluster_role_name)}"
  }
  assert {
    condition     = output.node_group_names == tolist(["standard-workers"])
    error_message = "the default node group is the seed's standard-workers: ${jsonencode(output.node_group_names)}"
  }
  assert {
    condition     = output.node_group_ids == tomap({ "standard-workers" = "tftest-eks:standard-workers" })
    error_message = "node group IDs: ${jsonencode(output.node_group_ids)}"
  }
  assert {
    condition     = output.node_group_statuses["standard-workers"] == "ACTIVE"
    error_message = "node group status: ${jsonencode(output.node_group_statuses)}"
  }
  # The seed's sizes, read back from the resource (and through it from EKS).
  assert {
    condition = (
      strata_eks_node_group.this["standard-workers"].instance_types == tolist(["t3.xlarge"])
      && strata_eks_node_group.this["standard-workers"].desired_size == 3
      && strata_eks_node_group.this["standard-workers"].min_size == 2
      && strata_eks_node_group.this["standard-workers"].max_size == 10
    )
    error_message = "the default group should be t3.xlarge, 3 nodes (2..10)"
  }
  assert {
    condition     = toset(strata_eks_cluster.this.subnet_ids) == toset(values(run.network.private_subnet_ids))
    error_message = "the cluster should be on the given subnets"
  }
  assert {
    condition     = strata_eks_node_group.this["standard-workers"].kubernetes_version == "1.35"
    error_message = "the nodes should follow the control plane's version"
  }
}

run "adds_a_tainted_node_group" {
  command = apply

  variables {
    subnet_ids         = values(run.network.private_subnet_ids)
    kubernetes_version = "1.35"
    tags               = { Tier = "compute" }
    node_groups = {
      standard-workers = {}
      redis = {
        instance_types = ["r6i.large"]
        desired_size   = 1
        min_size       = 1
        max_size       = 3
        subnet_ids     = [run.network.private_subnet_ids["us-east-1a"]]
        labels         = { "knowledgebeast.io/tier" = "redis" }
        taints         = [{ key = "dedicated", value = "redis", effect = "NO_SCHEDULE" }]
      }
    }
  }

  assert {
    condition     = output.node_group_names == tolist(["redis", "standard-workers"])
    error_message = "node groups: ${jsonencode(output.node_group_names)}"
  }
  assert {
    condition     = output.cluster_arn == run.builds_a_cluster_with_the_seed_node_group.cluster_arn && output.node_group_arns["standard-workers"] == run.builds_a_cluster_with_the_seed_node_group.node_group_arns["standard-workers"]
    error_message = "adding a node group must leave the cluster and the other group alone"
  }
  assert {
    condition     = strata_eks_node_group.this["redis"].max_size == 3 && strata_eks_node_group.this["redis"].labels["knowledgebeast.io/tier"] == "redis"
    error_message = "the redis group's size and labels"
  }
  assert {
    condition     = length(strata_eks_node_group.this["redis"].taint) == 1 && strata_eks_node_group.this["redis"].taint[0].effect == "NO_SCHEDULE"
    error_message = "the redis group's taint"
  }
  assert {
    condition     = toset(strata_eks_node_group.this["redis"].subnet_ids) == toset([run.network.private_subnet_ids["us-east-1a"]])
    error_message = "a group's own subnet_ids win over the cluster's"
  }
}
