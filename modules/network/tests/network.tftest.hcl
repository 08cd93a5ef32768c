# `terraform test` for modules/network: proves that bad input is refused at plan time by
# the validation blocks, then applies the module for real and checks its outputs.
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
  name = "tftest-network"
  # Not the provider's default region: the module must build where it is told.
  region     = "us-east-1"
  cidr_block = "10.20.0.0/16"
}

# --- bad input, refused before anything is created ---------------------------------

run "rejects_an_invalid_cidr_block" {
  command = plan
  variables {
    cidr_block = "10.20.0.0/33"
  }
  expect_failures = [var.cidr_block]
}

run "rejects_a_cidr_block_larger_than_16" {
  command = plan
  variables {
    cidr_block = "10.0.0.0/8"
  }
  expect_failures = [var.cidr_block]
}

run "rejects_a_cidr_block_smaller_than_24" {
  command = plan
  variables {
    cidr_block = "10.20.0.0/25"
  }
  expect_failures = [var.cidr_block]
}

run "rejects_a_cidr_block_that_is_not_a_network_address" {
  command = plan
  variables {
    cidr_block = "10.20.1.0/16"
  }
  expect_failures = [var.cidr_block]
}

run "rejects_a_malformed_region" {
  command = plan
  variables {
    region = "us-east"
  }
  expect_failures = [var.region]
}

run "rejects_zones_of_another_region" {
  command = plan
  variables {
    availability_zones = ["us-west-2a", "us-west-2b"]
  }
  expect_failures = [var.availability_zones]
}

run "rejects_a_single_zone" {
  command = plan
  variables {
    availability_zones = ["us-east-1a"]
  }
  expect_failures = [var.availability_zones]
}

run "rejects_a_zone_named_twice" {
  command = plan
  variables {
    availability_zones = ["us-east-1a", "us-east-1b", "us-east-1a"]
  }
  expect_failures = [var.availability_zones]
}

run "rejects_an_unknown_nat_gateway_mode" {
  command = plan
  variables {
    nat_gateway_mode = "per_zone"
  }
  expect_failures = [var.nat_gateway_mode]
}

run "rejects_a_bad_name" {
  command = plan
  variables {
    name = "-starts-with-a-dash"
  }
  expect_failures = [var.name]
}

run "rejects_aws_reserved_tags" {
  command = plan
  variables {
    tags = { "aws:owner" = "me" }
  }
  expect_failures = [var.tags]
}

# --- the seed's network, then changed in place ----------------------------------------

run "builds_the_seed_network" {
  command = apply

  variables {
    tags = { Tier = "network" }
  }

  assert {
    condition     = startswith(output.vpc_id, "vpc-")
    error_message = "vpc_id is not a VPC ID: ${output.vpc_id}"
  }
  assert {
    condition     = output.cidr_block == "10.20.0.0/16" && output.region == "us-east-1"
    error_message = "cidr_block/region: ${output.cidr_block} in ${output.region}"
  }
  assert {
    condition     = output.availability_zones == tolist(["us-east-1a", "us-east-1b", "us-east-1c"])
    error_message = "default zones should be the region's a, b and c: ${jsonencode(output.availability_zones)}"
  }
  assert {
    condition     = keys(output.private_subnet_ids) == tolist(["us-east-1a", "us-east-1b", "us-east-1c"]) && keys(output.public_subnet_ids) == tolist(["us-east-1a", "us-east-1b", "us-east-1c"])
    error_message = "a private and a public subnet per zone: ${jsonencode(output.private_subnet_ids)} ${jsonencode(output.public_subnet_ids)}"
  }
  assert {
    condition     = alltrue([for id in concat(values(output.private_subnet_ids), values(output.public_subnet_ids)) : startswith(id, "subnet-")])
    error_message = "subnet IDs: ${jsonencode(output.private_subnet_ids)} ${jsonencode(output.public_subnet_ids)}"
  }
  assert {
    condition     = output.private_subnet_cidrs["us-east-1a"] == "10.20.0.0/20" && output.public_subnet_cidrs["us-east-1c"] == "10.20.160.0/20"
    error_message = "subnets carved by zone letter: ${jsonencode(output.private_subnet_cidrs)} ${jsonencode(output.public_subnet_cidrs)}"
  }
  assert {
    condition     = length(distinct(values(output.private_route_table_ids))) == 3 && alltrue([for id in values(output.private_route_table_ids) : startswith(id, "rtb-")])
    error_message = "one private route table per zone: ${jsonencode(output.private_route_table_ids)}"
  }
  assert {
    condition     = startswith(output.public_route_table_id, "rtb-") && !contains(values(output.private_route_table_ids), output.public_route_table_id)
    error_message = "public route table: ${output.public_route_table_id}"
  }
  assert {
    condition     = keys(output.nat_gateway_ids) == tolist(["us-east-1a", "us-east-1b", "us-east-1c"]) && length(output.nat_public_ips) == 3
    error_message = "a NAT gateway per zone by default: ${jsonencode(output.nat_gateway_ids)}"
  }
  assert {
    condition     = startswith(output.internet_gateway_id, "igw-")
    error_message = "internet gateway: ${output.internet_gateway_id}"
  }
}

run "changes_zones_and_nat_mode_in_place" {
  command = apply

  variables {
    tags               = { Tier = "network" }
    availability_zones = ["us-east-1a", "us-east-1b"]
    nat_gateway_mode   = "single"
  }

  assert {
    condition     = output.vpc_id == run.builds_the_seed_network.vpc_id
    error_message = "the VPC was replaced (${run.builds_the_seed_network.vpc_id} -> ${output.vpc_id}); zones and NAT mode change in place"
  }
  assert {
    condition     = keys(output.private_subnet_ids) == tolist(["us-east-1a", "us-east-1b"])
    error_message = "zone c should be gone: ${jsonencode(output.private_subnet_ids)}"
  }
  assert {
    condition     = output.private_subnet_ids["us-east-1a"] == run.builds_the_seed_network.private_subnet_ids["us-east-1a"]
    error_message = "removing zone c must not touch zone a's subnet"
  }
  assert {
    condition     = length(output.nat_gateway_ids) == 1
    error_message = "single NAT mode keeps one NAT gateway: ${jsonencode(output.nat_gateway_ids)}"
  }
}
