//! The provider's resource types, one file each.

use std::sync::Arc;

use strata_framework::Resource;

use crate::provider::ProviderData;

pub mod eks_cluster;
pub mod eks_node_group;
pub mod vpc;
pub mod vpc_peering;

/// Every resource type the provider serves.
pub fn all() -> Vec<Arc<dyn Resource<ProviderData>>> {
    vec![
        Arc::new(vpc::VpcResource),
        Arc::new(eks_cluster::EksClusterResource),
        Arc::new(eks_node_group::EksNodeGroupResource),
        Arc::new(vpc_peering::VpcPeeringResource),
    ]
}
