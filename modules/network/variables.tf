variable "name" {
  description = "Name of the network: the `Name` tag of the VPC and, suffixed by role and zone, of every subnet, gateway and route table. 1–64 letters, digits, `-`, `_` and `.`, starting with a letter or digit."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", var.name))
    error_message = "name must be 1–64 letters, digits, '-', '_' or '.', starting with a letter or digit; got \"${var.name}\"."
  }
}

variable "region" {
  description = "AWS region to build the network in, e.g. `us-west-2`. Every object of the network is created there, whatever the provider's default region."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region name such as \"us-west-2\" or \"eu-central-1\"; got \"${var.region}\"."
  }
}

variable "cidr_block" {
  description = "The VPC's IPv4 range, e.g. `10.0.0.0/16`: a network address with a prefix length from /16 to /24 (the subnets are carved from it in sixteenths, so /24 gives /28 subnets, the smallest AWS allows)."
  type        = string
  nullable    = false

  validation {
    condition     = can(cidrnetmask(var.cidr_block))
    error_message = "cidr_block must be an IPv4 CIDR block such as \"10.0.0.0/16\"; got \"${var.cidr_block}\"."
  }

  validation {
    condition     = try(tonumber(split("/", var.cidr_block)[1]) >= 16 && tonumber(split("/", var.cidr_block)[1]) <= 24, true)
    error_message = "cidr_block must be between /16 (65,536 addresses, the largest VPC) and /24 (the smallest whose subnets, a sixteenth each, AWS accepts); got \"${var.cidr_block}\"."
  }

  validation {
    condition     = try(cidrsubnet(var.cidr_block, 0, 0) == var.cidr_block, true)
    error_message = "cidr_block must name its network address (the host bits zero): \"${try(cidrsubnet(var.cidr_block, 0, 0), var.cidr_block)}\" rather than \"${var.cidr_block}\"."
  }
}

variable "availability_zones" {
  description = "Availability zones of var.region to spread the subnets over (at least two, each the region's name plus a letter a–h). `null` (the default) means the region's zones a, b and c."
  type        = list(string)
  default     = null

  validation {
    condition     = var.availability_zones == null || try(length(var.availability_zones) >= 2, true)
    error_message = "availability_zones must name at least two zones (a production network, and EKS, need two); leave it unset for the region's a, b and c."
  }

  validation {
    condition     = var.availability_zones == null || try(alltrue([for az in var.availability_zones : can(regex("^${var.region}[a-h]$", az))]), true)
    error_message = "Every availability zone must belong to region \"${var.region}\": the region's name followed by one letter a–h, e.g. \"${var.region}a\"; got ${jsonencode(var.availability_zones)}."
  }

  validation {
    condition     = var.availability_zones == null || try(length(distinct(var.availability_zones)) == length(var.availability_zones), true)
    error_message = "availability_zones must not name a zone twice; got ${jsonencode(var.availability_zones)}."
  }
}

variable "nat_gateway_mode" {
  description = "How the private subnets reach the internet: `one_per_az` (the default: a NAT gateway in every zone, so losing a zone never cuts the others off), `single` (one NAT gateway; cheaper, one zone's outage cuts egress for all) or `none`."
  type        = string
  default     = "one_per_az"
  nullable    = false

  validation {
    condition     = contains(["one_per_az", "single", "none"], var.nat_gateway_mode)
    error_message = "nat_gateway_mode must be \"one_per_az\", \"single\" or \"none\"; got \"${var.nat_gateway_mode}\"."
  }
}

variable "tags" {
  description = "Tags for every object of the network, over the provider's `default_tags`."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for key in keys(var.tags) : !startswith(lower(key), "aws:")])
    error_message = "Tag keys starting with \"aws:\" are reserved by AWS and cannot be set."
  }

  validation {
    condition     = alltrue([for key, value in var.tags : length(key) >= 1 && length(key) <= 128 && length(value) <= 256])
    error_message = "Tag keys must be 1–128 characters and tag values at most 256 (AWS's limits)."
  }
}
