# A network in the provider's region, by VPC ID:
terraform import strata_vpc.west vpc-0123456789abcdef0

# A network in another region:
terraform import strata_vpc.east us-east-1/vpc-0fedcba9876543210
