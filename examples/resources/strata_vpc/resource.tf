# The seed's us-west-2 network: three zones, a NAT gateway in each.
resource "strata_vpc" "west" {
  name               = "knowledgebeast-west"
  cidr_block         = "10.0.0.0/16"
  availability_zones = ["us-west-2a", "us-west-2b", "us-west-2c"]

  tags = {
    Environment = "production"
  }
}

# The us-east-1 network in the same configuration, with explicit subnets.
resource "strata_vpc" "east" {
  name               = "knowledgebeast-east"
  region             = "us-east-1"
  cidr_block         = "10.1.0.0/16"
  availability_zones = ["us-east-1a", "us-east-1b"]
  nat_gateway_mode   = "single"

  private_subnet_cidrs = {
    "us-east-1a" = "10.1.0.0/19"
    "us-east-1b" = "10.1.32.0/19"
  }
  public_subnet_cidrs = {
    "us-east-1a" = "10.1.128.0/20"
    "us-east-1b" = "10.1.144.0/20"
  }

  timeouts {
    create = "15m"
  }
}

output "private_subnet_ids" {
  value = values(strata_vpc.west.private_subnet_ids)
}
