# A connection requested from the provider's region, by its ID:
terraform import strata_vpc_peering.west_east pcx-0123456789abcdef0

# A connection requested from another region: REGION/ID (the requester's region).
terraform import strata_vpc_peering.west_east us-east-1/pcx-0fedcba9876543210
