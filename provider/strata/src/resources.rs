//! The provider's resource types, one file each.

use std::sync::Arc;

use strata_framework::Resource;

use crate::provider::ProviderData;

pub mod vpc;

/// Every resource type the provider serves.
pub fn all() -> Vec<Arc<dyn Resource<ProviderData>>> {
    vec![Arc::new(vpc::VpcResource)]
}
