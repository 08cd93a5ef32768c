output "vpc_id" {
  description = "ID of the VPC."
  value       = strata_vpc.west.id
}

output "internet_gateway_id" {
  description = "ID of the internet gateway attached to the VPC."
  value       = strata_vpc.west.internet_gateway_id
}

output "public_subnet_ids" {
  description = "Public subnets (tagged kubernetes.io/role/elb=1), keyed by AZ."
  value       = strata_vpc.west.public_subnet_ids
}

output "private_subnet_ids" {
  description = "Private subnets (tagged kubernetes.io/role/internal-elb=1), keyed by AZ."
  value       = strata_vpc.west.private_subnet_ids
}

output "public_subnet_cidrs" {
  description = "CIDR of each public subnet, keyed by AZ."
  value       = strata_vpc.west.public_subnet_cidrs
}

output "private_subnet_cidrs" {
  description = "CIDR of each private subnet, keyed by AZ."
  value       = strata_vpc.west.private_subnet_cidrs
}

output "nat_public_ips" {
  description = "Public IP of each NAT gateway, keyed by AZ: the addresses the private subnets reach the internet from."
  value       = strata_vpc.west.nat_public_ips
}
