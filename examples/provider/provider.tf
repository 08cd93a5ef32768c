terraform {
  required_providers {
    strata = {
      source = "strata/strata"
    }
  }
}

provider "strata" {
  region = "us-west-2"

  default_tags {
    tags = {
      Project   = "knowledgebeast"
      ManagedBy = "terraform"
    }
  }

  # Point at a local AWS emulator instead of AWS (omit for real AWS).
  # endpoints {
  #   ec2 = "http://127.0.0.1:5000"
  # }
}
