variable "aws_endpoint" {
  description = "URL every AWS API call goes to instead of AWS (e.g. moto at http://127.0.0.1:5000). null = real AWS."
  type        = string
  default     = null
}

variable "region" {
  description = "AWS region of the network."
  type        = string
  default     = "us-west-2"
}

variable "name" {
  description = "Name of the network; every object it owns is tagged Name=<name>…"
  type        = string
  default     = "knowledgebeast-west"
}

variable "cidr_block" {
  description = "The VPC's IPv4 CIDR block. Changing it replaces the whole network."
  type        = string
  default     = "10.0.0.0/16"
}

variable "availability_zones" {
  description = "AZs to spread subnets (and NAT gateways) over. Adding one later creates only that AZ's objects."
  type        = set(string)
  default     = ["us-west-2a", "us-west-2b", "us-west-2c"]
}

variable "nat_gateway_mode" {
  description = "none, single, or one_per_az (one NAT gateway and Elastic IP per AZ: survives an AZ outage)."
  type        = string
  default     = "one_per_az"
}

variable "default_tags" {
  description = "Tags the provider puts on everything it creates."
  type        = map(string)
  default = {
    Project   = "strata-demo"
    ManagedBy = "terraform"
  }
}
