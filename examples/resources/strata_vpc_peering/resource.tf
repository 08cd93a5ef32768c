# Two networks in two regions, as in the seed: us-west-2 10.0.0.0/16 and us-east-1 10.1.0.0/16.
resource "strata_vpc" "west" {
  name               = "knowledgebeast-west"
  region             = "us-west-2"
  cidr_block         = "10.0.0.0/16"
  availability_zones = ["us-west-2a", "us-west-2b"]
  nat_gateway_mode   = "single"
}

resource "strata_vpc" "east" {
  name               = "knowledgebeast-east"
  region             = "us-east-1"
  cidr_block         = "10.1.0.0/16"
  availability_zones = ["us-east-1a", "us-east-1b"]
  nat_gateway_mode   = "single"
}

# Requested from us-west-2, accepted in us-east-1 by the same resource, with a route to
# the other network in every private route table of both.
resource "strata_vpc_peering" "west_east" {
  requester_vpc_id          = strata_vpc.west.id
  requester_region          = "us-west-2"
  requester_route_table_ids = values(strata_vpc.west.private_route_table_ids)

  accepter_vpc_id          = strata_vpc.east.id
  accepter_region          = "us-east-1"
  accepter_route_table_ids = values(strata_vpc.east.private_route_table_ids)

  tags = {
    Name = "knowledgebeast-west-east"
  }

  timeouts {
    create = "10m"
    delete = "10m"
  }
}

output "peering" {
  value = {
    id     = strata_vpc_peering.west_east.id
    status = strata_vpc_peering.west_east.status
  }
}
