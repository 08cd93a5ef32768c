# `terraform test` for modules/peering: proves that bad input is refused at plan time by
# the validation blocks, then applies the module for real between two networks from
# modules/network, one per region, and checks its outputs.
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

# --- bad input, refused before anything is created ------------------------------------
# (Made-up IDs: validation runs before anything is looked up.)

variables {
  requester_vpc_id          = "vpc-0a"
  requester_region          = "us-west-2"
  requester_cidr_block      = "10.40.0.0/16"
  requester_route_table_ids = ["rtb-0a"]
  accepter_vpc_id           = "vpc-0b"
  accepter_region           = "us-east-1"
  accepter_cidr_block       = "10.41.0.0/16"
  accepter_route_table_ids  = ["rtb-0b"]
}

run "rejects_overlapping_networks" {
  command = plan
  variables {
    accepter_cidr_block = "10.40.128.0/17"
  }
  expect_failures = [var.accepter_cidr_block]
}

run "rejects_a_network_inside_the_other" {
  command = plan
  variables {
    requester_cidr_block = "10.0.0.0/8"
  }
  expect_failures = [var.accepter_cidr_block]
}

run "rejects_an_invalid_cidr_block" {
  command = plan
  variables {
    requester_cidr_block = "10.40.0.0"
  }
  expect_failures = [var.requester_cidr_block]
}

run "rejects_peering_a_vpc_with_itself" {
  command = plan
  variables {
    accepter_vpc_id = "vpc-0a"
    accepter_region = "us-west-2"
  }
  expect_failures = [var.accepter_vpc_id]
}

run "rejects_something_that_is_not_a_vpc_id" {
  command = plan
  variables {
    requester_vpc_id = "subnet-0a"
  }
  expect_failures = [var.requester_vpc_id]
}

run "rejects_a_malformed_region" {
  command = plan
  variables {
    accepter_region = "us-east-1a"
  }
  expect_failures = [var.accepter_region]
}

run "rejects_something_that_is_not_a_route_table_id" {
  command = plan
  variables {
    accepter_route_table_ids = ["rtb-0b", "igw-0c"]
  }
  expect_failures = [var.accepter_route_table_ids]
}

# --- two networks in two regions, peered with routes on both sides ------------------

run "west" {
  state_key = "west"
  module {
    source = "../network"
  }
  variables {
    name             = "tftest-west"
    region           = "us-west-2"
    cidr_block       = "10.40.0.0/16"
    nat_gateway_mode = "none"
  }
}

run "east" {
  state_key = "east"
  module {
    source = "../network"
  }
  variables {
    name             = "tftest-east"
    region           = "us-east-1"
    cidr_block       = "10.41.0.0/16"
    nat_gateway_mode = "none"
  }
}

run "peers_two_regions_with_routes_on_both_sides" {
  command = apply

  variables {
    name                      = "tftest-west-east"
    requester_vpc_id          = run.west.vpc_id
    requester_region          = run.west.region
    requester_cidr_block      = run.west.cidr_block
    requester_route_table_ids = values(run.west.private_route_table_ids)
    accepter_vpc_id           = run.east.vpc_id
    accepter_region           = run.east.region
    accepter_cidr_block       = run.east.cidr_block
    accepter_route_table_ids  = values(run.east.private_route_table_ids)
  }

  assert {
    condition     = startswith(output.id, "pcx-") && output.status == "active"
    error_message = "the connection should be active: ${output.id} ${output.status}"
  }
  assert {
    condition     = output.requester.vpc_id == run.west.vpc_id && output.requester.region == "us-west-2" && output.accepter.vpc_id == run.east.vpc_id && output.accepter.region == "us-east-1"
    error_message = "sides: ${jsonencode(output.requester)} ${jsonencode(output.accepter)}"
  }
  assert {
    condition     = output.requester.route_table_ids == sort(values(run.west.private_route_table_ids)) && output.accepter.route_table_ids == sort(values(run.east.private_route_table_ids))
    error_message = "routes should be on every private route table of both sides: ${jsonencode(output.requester.route_table_ids)} ${jsonencode(output.accepter.route_table_ids)}"
  }
  assert {
    condition     = strata_vpc_peering.this.tags_all["Name"] == "tftest-west-east"
    error_message = "the connection's Name tag: ${jsonencode(strata_vpc_peering.this.tags_all)}"
  }
  assert {
    condition     = strata_vpc_peering.this.allow_remote_vpc_dns_resolution
    error_message = "DNS resolution across the peering is on by default"
  }
}

run "routes_follow_the_route_table_list" {
  command = apply

  variables {
    name                      = "tftest-west-east"
    requester_vpc_id          = run.west.vpc_id
    requester_region          = run.west.region
    requester_cidr_block      = run.west.cidr_block
    requester_route_table_ids = [run.west.private_route_table_ids["us-west-2a"]]
    accepter_vpc_id           = run.east.vpc_id
    accepter_region           = run.east.region
    accepter_cidr_block       = run.east.cidr_block
    accepter_route_table_ids  = values(run.east.private_route_table_ids)
  }

  assert {
    condition     = output.id == run.peers_two_regions_with_routes_on_both_sides.id
    error_message = "changing the route tables must not replace the connection"
  }
  assert {
    condition     = output.requester.route_table_ids == tolist([run.west.private_route_table_ids["us-west-2a"]])
    error_message = "requester routes: ${jsonencode(output.requester.route_table_ids)}"
  }
}
