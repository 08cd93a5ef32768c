variable "requester_vpc_id" {
  description = "The VPC that requests the connection (`vpc-…`), e.g. `module.west_network.vpc_id`. Changing it replaces the connection."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.requester_vpc_id))
    error_message = "requester_vpc_id must be a VPC ID such as \"vpc-0123456789abcdef0\"; got \"${var.requester_vpc_id}\"."
  }
}

variable "requester_region" {
  description = "Region of the requester VPC, e.g. `us-west-2`. The connection (and its tags) lives there."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.requester_region))
    error_message = "requester_region must be an AWS region name such as \"us-west-2\"; got \"${var.requester_region}\"."
  }
}

variable "requester_cidr_block" {
  description = "The requester VPC's IPv4 CIDR block (e.g. `module.west_network.cidr_block`): the destination of the accepter side's routes. Known at plan time, so an overlap with the accepter's is refused before anything is created."
  type        = string
  nullable    = false

  validation {
    condition     = can(cidrnetmask(var.requester_cidr_block))
    error_message = "requester_cidr_block must be an IPv4 CIDR block such as \"10.0.0.0/16\"; got \"${var.requester_cidr_block}\"."
  }
}

variable "requester_route_table_ids" {
  description = "Route tables of the requester VPC that get a route to `accepter_cidr_block` through the connection, e.g. `values(module.west_network.private_route_table_ids)`. Empty: no routes on this side."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.requester_route_table_ids : can(regex("^rtb-[0-9a-f]+$", id))])
    error_message = "Every requester route table ID must look like \"rtb-0123456789abcdef0\"; got ${jsonencode(var.requester_route_table_ids)}."
  }
}

variable "accepter_vpc_id" {
  description = "The VPC that accepts the connection (`vpc-…`). Changing it replaces the connection."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.accepter_vpc_id))
    error_message = "accepter_vpc_id must be a VPC ID such as \"vpc-0123456789abcdef0\"; got \"${var.accepter_vpc_id}\"."
  }

  validation {
    condition     = var.accepter_vpc_id != var.requester_vpc_id
    error_message = "A VPC cannot be peered with itself: requester_vpc_id and accepter_vpc_id are both \"${var.accepter_vpc_id}\"."
  }
}

variable "accepter_region" {
  description = "Region of the accepter VPC, e.g. `us-east-1`; the same as `requester_region` for a peering within one region."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.accepter_region))
    error_message = "accepter_region must be an AWS region name such as \"us-east-1\"; got \"${var.accepter_region}\"."
  }
}

variable "accepter_cidr_block" {
  description = "The accepter VPC's IPv4 CIDR block: the destination of the requester side's routes. Must not overlap `requester_cidr_block` (AWS cannot route between overlapping networks)."
  type        = string
  nullable    = false

  validation {
    condition     = can(cidrnetmask(var.accepter_cidr_block))
    error_message = "accepter_cidr_block must be an IPv4 CIDR block such as \"10.1.0.0/16\"; got \"${var.accepter_cidr_block}\"."
  }

  # Two blocks overlap exactly when they are the same network at the shorter of the
  # two prefix lengths.
  validation {
    condition = try(
      cidrhost("${split("/", var.requester_cidr_block)[0]}/${min(tonumber(split("/", var.requester_cidr_block)[1]), tonumber(split("/", var.accepter_cidr_block)[1]))}", 0)
      != cidrhost("${split("/", var.accepter_cidr_block)[0]}/${min(tonumber(split("/", var.requester_cidr_block)[1]), tonumber(split("/", var.accepter_cidr_block)[1]))}", 0),
      true
    )
    error_message = "The two networks overlap: requester_cidr_block \"${var.requester_cidr_block}\" and accepter_cidr_block \"${var.accepter_cidr_block}\" share addresses, and AWS cannot peer overlapping VPCs. Give one of them another range."
  }
}

variable "accepter_route_table_ids" {
  description = "Route tables of the accepter VPC that get a route to `requester_cidr_block` through the connection, e.g. `values(module.east_network.private_route_table_ids)`. Empty: no routes on this side."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.accepter_route_table_ids : can(regex("^rtb-[0-9a-f]+$", id))])
    error_message = "Every accepter route table ID must look like \"rtb-0123456789abcdef0\"; got ${jsonencode(var.accepter_route_table_ids)}."
  }
}

variable "allow_remote_vpc_dns_resolution" {
  description = "Resolve each VPC's private DNS hostnames to private IPs from the other side (both VPCs need DNS support and hostnames, which modules/network turns on)."
  type        = bool
  default     = true
  nullable    = false
}

variable "name" {
  description = "The connection's `Name` tag, e.g. `knowledgebeast-west-east`. `null` (the default): no Name tag (unless `tags` has one)."
  type        = string
  default     = null

  validation {
    condition     = var.name == null || try(length(var.name) >= 1 && length(var.name) <= 256, false)
    error_message = "name must be 1–256 characters (an AWS tag value)."
  }
}

variable "tags" {
  description = "Tags for the connection (in the requester's region), over the provider's `default_tags`; a `Name` here wins over var.name."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for key in keys(var.tags) : !startswith(lower(key), "aws:")])
    error_message = "Tag keys starting with \"aws:\" are reserved by AWS and cannot be set."
  }
}
