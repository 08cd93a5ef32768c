terraform {
  # Validation blocks that compare one input with another need Terraform 1.9 or newer.
  required_version = ">= 1.9"

  required_providers {
    strata = {
      source = "strata/strata"
    }
  }
}
