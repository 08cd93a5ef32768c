variable "name" {
  description = "Name of the EKS cluster: 1–100 letters, digits, `-` and `_`, starting with a letter or digit; at most 52 characters when `cluster_role_arn` is not given (the role the provider creates is named `<name>-eks-cluster`). Changing it replaces the cluster."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$", var.name))
    error_message = "name must be 1–100 letters, digits, '-' or '_', starting with a letter or digit; got \"${var.name}\"."
  }

  validation {
    condition     = var.cluster_role_arn != null || length(var.name) <= 52
    error_message = "name must be at most 52 characters when cluster_role_arn is not given (the provider names the cluster's IAM role \"<name>-eks-cluster\", and IAM allows 64); got ${length(var.name)} characters."
  }
}

variable "region" {
  description = "AWS region of the cluster and its node groups, e.g. `us-west-2` (the region of `subnet_ids`)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region name such as \"us-west-2\" or \"eu-central-1\"; got \"${var.region}\"."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes version of the control plane and the nodes, as `major.minor` (e.g. `\"1.35\"`). `null` (the default) takes EKS's default version. Raising it by one minor version upgrades the cluster in place, then the node groups; EKS cannot skip a version or downgrade."
  type        = string
  default     = null

  validation {
    condition     = var.kubernetes_version == null || can(regex("^[0-9]+\\.[0-9]+$", var.kubernetes_version))
    error_message = "kubernetes_version must be major.minor, such as \"1.35\"; got \"${coalesce(var.kubernetes_version, "null")}\"."
  }
}

variable "subnet_ids" {
  description = "Subnets for the control plane's network interfaces and (unless a node group names its own) the nodes: at least two, in different availability zones, usually `values(module.network.private_subnet_ids)`. Changing them replaces the cluster."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must name at least two subnets (EKS requires subnets in at least two availability zones); got ${length(var.subnet_ids)}."
  }

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "Every subnet ID must look like \"subnet-0123456789abcdef0\"; got ${jsonencode(var.subnet_ids)}."
  }

  validation {
    condition     = length(distinct(var.subnet_ids)) == length(var.subnet_ids)
    error_message = "subnet_ids must not name a subnet twice."
  }
}

variable "cluster_role_arn" {
  description = "ARN of the IAM role the control plane runs as. `null` (the default): the provider creates `<name>-eks-cluster` and deletes it with the cluster."
  type        = string
  default     = null

  validation {
    condition     = var.cluster_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.cluster_role_arn))
    error_message = "cluster_role_arn must be an IAM role ARN such as \"arn:aws:iam::123456789012:role/eks-cluster\"."
  }
}

variable "security_group_ids" {
  description = "Extra security groups for the control plane's network interfaces, besides the cluster security group EKS creates (output `cluster_security_group_id`). Changing them replaces the cluster."
  type        = list(string)
  default     = null

  validation {
    condition     = var.security_group_ids == null || try(alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))]), false)
    error_message = "Every security group ID must look like \"sg-0123456789abcdef0\"."
  }
}

variable "endpoint_public_access" {
  description = "Whether the Kubernetes API server has a public endpoint (limit it with `public_access_cidrs`)."
  type        = bool
  default     = true
  nullable    = false
}

variable "endpoint_private_access" {
  description = "Whether the Kubernetes API server is reachable from inside the VPC (the nodes then reach it without leaving the VPC). At least one of the two endpoints must be on."
  type        = bool
  default     = true
  nullable    = false

  validation {
    condition     = var.endpoint_private_access || var.endpoint_public_access
    error_message = "At least one of endpoint_public_access and endpoint_private_access must be true: otherwise nothing can reach the Kubernetes API."
  }
}

variable "public_access_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the public endpoint. `null` (the default): EKS's `0.0.0.0/0`."
  type        = list(string)
  default     = null

  validation {
    condition     = var.public_access_cidrs == null || try(alltrue([for cidr in var.public_access_cidrs : can(cidrnetmask(cidr))]), false)
    error_message = "Every entry of public_access_cidrs must be an IPv4 CIDR block such as \"203.0.113.0/24\"."
  }
}

variable "service_ipv4_cidr" {
  description = "IPv4 range Kubernetes assigns service IPs from, /12 to /24 inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 and not overlapping the VPC. `null` (the default): EKS chooses. Changing it replaces the cluster."
  type        = string
  default     = null

  validation {
    condition     = var.service_ipv4_cidr == null || can(cidrnetmask(var.service_ipv4_cidr))
    error_message = "service_ipv4_cidr must be an IPv4 CIDR block such as \"172.20.0.0/16\"."
  }
}

variable "enabled_log_types" {
  description = "Control-plane log types sent to CloudWatch Logs: any of `api`, `audit`, `authenticator`, `controllerManager`, `scheduler`. The default sends the three the seed's operators read: `api`, `audit` and `authenticator`."
  type        = list(string)
  default     = ["api", "audit", "authenticator"]
  nullable    = false

  validation {
    condition     = alltrue([for t in var.enabled_log_types : contains(["api", "audit", "authenticator", "controllerManager", "scheduler"], t)])
    error_message = "enabled_log_types may only hold \"api\", \"audit\", \"authenticator\", \"controllerManager\" and \"scheduler\"; got ${jsonencode(var.enabled_log_types)}."
  }
}

variable "encryption_kms_key_arn" {
  description = "ARN of a KMS key for envelope encryption of Kubernetes secrets. `null` (the default): none. Changing it replaces the cluster."
  type        = string
  default     = null

  validation {
    condition     = var.encryption_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.encryption_kms_key_arn))
    error_message = "encryption_kms_key_arn must be a KMS key ARN (arn:aws:kms:…)."
  }
}

variable "node_groups" {
  description = <<-EOT
    Managed node groups, keyed by node group name (1–63 letters, digits, `-`, `_`). Every
    field is optional; the defaults are the seed's workers:

    - `instance_types` (`["t3.xlarge"]`): EC2 instance types; changing them replaces the group
    - `desired_size` (3), `min_size` (2), `max_size` (10): min ≤ desired ≤ max
    - `capacity_type` (`"ON_DEMAND"`, or `"SPOT"`), `ami_type`, `disk_size` (GiB)
    - `subnet_ids`: the nodes' subnets (default: var.subnet_ids)
    - `labels` (map) and `taints` (list of `{ key, value, effect }`, effect one of
      `NO_SCHEDULE`, `NO_EXECUTE`, `PREFER_NO_SCHEDULE`) on every node
    - `ignore_desired_size_changes` (false): let a cluster autoscaler own the desired size
    - `max_unavailable`: nodes replaced at once in a rolling update
    - `node_role_arn`: the nodes' IAM role (default: created by the provider)
    - `tags`: merged over var.tags

    The default is one group, `standard-workers`, with all defaults. `{}` creates none.
  EOT
  type = map(object({
    instance_types              = optional(list(string), ["t3.xlarge"])
    desired_size                = optional(number, 3)
    min_size                    = optional(number, 2)
    max_size                    = optional(number, 10)
    capacity_type               = optional(string, "ON_DEMAND")
    ami_type                    = optional(string)
    disk_size                   = optional(number)
    subnet_ids                  = optional(list(string))
    labels                      = optional(map(string), {})
    taints                      = optional(list(object({ key = string, value = optional(string), effect = string })), [])
    ignore_desired_size_changes = optional(bool, false)
    max_unavailable             = optional(number)
    node_role_arn               = optional(string)
    tags                        = optional(map(string), {})
  }))
  default  = { "standard-workers" = {} }
  nullable = false

  validation {
    condition     = alltrue([for name in keys(var.node_groups) : can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$", name))])
    error_message = "Node group names (the keys of node_groups) must be 1–63 letters, digits, '-' or '_', starting with a letter or digit; got ${jsonencode(keys(var.node_groups))}."
  }

  validation {
    condition = alltrue([
      for g in values(var.node_groups) :
      g.min_size >= 0 && g.max_size >= 1 && floor(g.min_size) == g.min_size && floor(g.max_size) == g.max_size && floor(g.desired_size) == g.desired_size
    ])
    error_message = "Node counts must be whole numbers, min_size 0 or more and max_size 1 or more; got ${jsonencode({ for name, g in var.node_groups : name => { min_size = g.min_size, desired_size = g.desired_size, max_size = g.max_size } })}."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : g.min_size <= g.desired_size && g.desired_size <= g.max_size])
    error_message = "Every node group needs min_size <= desired_size <= max_size; got ${jsonencode({ for name, g in var.node_groups : name => { min_size = g.min_size, desired_size = g.desired_size, max_size = g.max_size } if !(g.min_size <= g.desired_size && g.desired_size <= g.max_size) })}."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : length(g.instance_types) > 0 && alltrue([for t in g.instance_types : can(regex("^[a-z0-9-]+\\.[a-z0-9-]+$", t))])])
    error_message = "Every node group needs at least one instance type, each an EC2 type such as \"t3.xlarge\"; got ${jsonencode({ for name, g in var.node_groups : name => g.instance_types })}."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : contains(["ON_DEMAND", "SPOT"], g.capacity_type)])
    error_message = "capacity_type must be \"ON_DEMAND\" or \"SPOT\"; got ${jsonencode({ for name, g in var.node_groups : name => g.capacity_type })}."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : g.disk_size == null || try(g.disk_size >= 1 && g.disk_size <= 16384, false)])
    error_message = "disk_size must be between 1 and 16384 GiB."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : g.max_unavailable == null || try(g.max_unavailable >= 1 && g.max_unavailable <= 100, false)])
    error_message = "max_unavailable must be between 1 and 100."
  }

  validation {
    condition     = alltrue(flatten([for g in values(var.node_groups) : [for t in g.taints : contains(["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"], t.effect) && length(t.key) >= 1 && length(t.key) <= 63]]))
    error_message = "Every taint needs a key of 1–63 characters and an effect of \"NO_SCHEDULE\", \"NO_EXECUTE\" or \"PREFER_NO_SCHEDULE\"."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : g.subnet_ids == null || try(length(g.subnet_ids) >= 1, false)])
    error_message = "A node group's subnet_ids, when given, must name at least one subnet."
  }
}

variable "tags" {
  description = "Tags for the cluster, the node groups and the IAM roles the provider creates, over the provider's `default_tags`."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for key in keys(var.tags) : !startswith(lower(key), "aws:")])
    error_message = "Tag keys starting with \"aws:\" are reserved by AWS and cannot be set."
  }
}
