# A production network in one region, with the defaults of the KnowledgeBeast HA guide
# (seed 001): three availability zones, a public and a private subnet in each (tagged
# for EKS load balancers), and a NAT gateway per zone so that losing a zone does not cut
# the others off from the internet. The provider is configured by the caller; the
# network is built in var.region whatever the provider's default region is.

locals {
  # The region's zones a, b and c unless the caller names them.
  availability_zones = var.availability_zones != null ? var.availability_zones : [for letter in ["a", "b", "c"] : "${var.region}${letter}"]
}

resource "strata_vpc" "this" {
  name               = var.name
  region             = var.region
  cidr_block         = var.cidr_block
  availability_zones = local.availability_zones
  nat_gateway_mode   = var.nat_gateway_mode

  # Subnet CIDRs are carved from cidr_block by zone letter: 16 equal blocks, zone
  # letter L takes block L-a for its private subnet and 8+(L-a) for its public one
  # (10.0.0.0/16: us-west-2a → private 10.0.0.0/20, public 10.0.128.0/20).

  tags = var.tags
}
