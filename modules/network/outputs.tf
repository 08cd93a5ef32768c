output "vpc_id" {
  description = "ID of the VPC (`vpc-…`)."
  value       = strata_vpc.this.id
}

output "cidr_block" {
  description = "The VPC's IPv4 range (var.cidr_block)."
  value       = strata_vpc.this.cidr_block
}

output "region" {
  description = "Region the network is in (var.region)."
  value       = var.region
}

output "availability_zones" {
  description = "The zones the network spans, sorted."
  value       = sort(local.availability_zones)
}

output "private_subnet_ids" {
  description = "Private subnet IDs keyed by availability zone (tagged `kubernetes.io/role/internal-elb=1`): where EKS clusters and nodes go. `values(…)` gives the list."
  value       = strata_vpc.this.private_subnet_ids
}

output "public_subnet_ids" {
  description = "Public subnet IDs keyed by availability zone (tagged `kubernetes.io/role/elb=1`)."
  value       = strata_vpc.this.public_subnet_ids
}

output "private_subnet_cidrs" {
  description = "CIDR block of each private subnet, keyed by availability zone."
  value       = strata_vpc.this.private_subnet_cidrs
}

output "public_subnet_cidrs" {
  description = "CIDR block of each public subnet, keyed by availability zone."
  value       = strata_vpc.this.public_subnet_cidrs
}

output "private_route_table_ids" {
  description = "Route table of each private subnet (one per zone), keyed by availability zone: where peering routes go."
  value       = strata_vpc.this.private_route_table_ids
}

output "public_route_table_id" {
  description = "The route table shared by the public subnets (default route to the internet gateway)."
  value       = strata_vpc.this.public_route_table_id
}

output "internet_gateway_id" {
  description = "ID of the internet gateway attached to the VPC."
  value       = strata_vpc.this.internet_gateway_id
}

output "nat_gateway_ids" {
  description = "NAT gateway IDs keyed by availability zone (only the zones that hold one: all of them with `one_per_az`)."
  value       = strata_vpc.this.nat_gateway_ids
}

output "nat_public_ips" {
  description = "Public IP of each NAT gateway, keyed by availability zone: the addresses the private subnets reach the internet from."
  value       = strata_vpc.this.nat_public_ips
}
