# A VPC peering connection between two VPCs, in one region or two, with a route to the
# other side's CIDR block on the given route tables of both sides. One strata_vpc_peering
# does it all: it requests the connection in the requester's region, accepts it in the
# accepter's region, and adds the routes once the connection is active. The provider is
# configured by the caller; each side is reached through its own region.

resource "strata_vpc_peering" "this" {
  requester_vpc_id          = var.requester_vpc_id
  requester_region          = var.requester_region
  requester_cidr_block      = var.requester_cidr_block
  requester_route_table_ids = var.requester_route_table_ids

  accepter_vpc_id          = var.accepter_vpc_id
  accepter_region          = var.accepter_region
  accepter_cidr_block      = var.accepter_cidr_block
  accepter_route_table_ids = var.accepter_route_table_ids

  allow_remote_vpc_dns_resolution = var.allow_remote_vpc_dns_resolution

  tags = merge(var.name == null ? {} : { Name = var.name }, var.tags)
}
