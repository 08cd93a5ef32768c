output "id" {
  description = "ID of the peering connection (`pcx-…`)."
  value       = strata_vpc_peering.this.id
}

output "status" {
  description = "Status of the connection: `active` once accepted and carrying traffic."
  value       = strata_vpc_peering.this.status
}

output "requester" {
  description = "The requester side: `vpc_id`, `region`, `cidr_block` and the `route_table_ids` that route to the accepter through the connection."
  value = {
    vpc_id          = strata_vpc_peering.this.requester_vpc_id
    region          = var.requester_region
    cidr_block      = var.requester_cidr_block
    route_table_ids = try(sort(tolist(strata_vpc_peering.this.requester_route_table_ids)), [])
  }
}

output "accepter" {
  description = "The accepter side: `vpc_id`, `region`, `cidr_block` and the `route_table_ids` that route to the requester through the connection."
  value = {
    vpc_id          = strata_vpc_peering.this.accepter_vpc_id
    region          = var.accepter_region
    cidr_block      = var.accepter_cidr_block
    route_table_ids = try(sort(tolist(strata_vpc_peering.this.accepter_route_table_ids)), [])
  }
}
