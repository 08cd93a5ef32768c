variable "aws_endpoint" {
  description = "URL every AWS API call goes to instead of AWS (e.g. moto at http://127.0.0.1:5000). null = real AWS."
  type        = string
  default     = null
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of both clusters. The seed pins 1.28, which EKS no longer supports; raising it later upgrades the control planes in place (then the node groups follow)."
  type        = string
  default     = "1.35"
}

variable "west_cidr_block" {
  description = "IPv4 range of the us-west-2 network (/16 to /24). Must not overlap east_cidr_block: the peering module refuses overlapping networks at plan time."
  type        = string
  default     = "10.0.0.0/16"
}

variable "east_cidr_block" {
  description = "IPv4 range of the us-east-1 network."
  type        = string
  default     = "10.1.0.0/16"
}

variable "node_instance_types" {
  description = "EC2 instance types of the worker nodes (changing them replaces the node groups)."
  type        = list(string)
  default     = ["t3.xlarge"]
}

variable "node_scaling" {
  description = "Worker nodes per region: desired count and the autoscaling bounds."
  type = object({
    desired = number
    min     = number
    max     = number
  })
  default = {
    desired = 3
    min     = 2
    max     = 10
  }
}

variable "default_tags" {
  description = "Tags the provider puts on everything it creates, in both regions."
  type        = map(string)
  default = {
    Project   = "knowledgebeast"
    ManagedBy = "terraform"
  }
}
