//! The provider's resource types, one file each.

use std::sync::Arc;

use strata_framework::schema::parse_duration;
use strata_framework::{Resource, Value};

use crate::provider::ProviderData;
use crate::wait::Timeouts;

pub mod eks_cluster;
pub mod eks_node_group;
pub mod gitops_agent;
pub mod kube_cluster;
pub mod storage_class;
pub mod vpc;
pub mod vpc_peering;

/// Runs `work` until it ends or Terraform asks the provider to stop (Ctrl-C). Stopping
/// drops the work between AWS calls; the IDs recorded so far are still saved.
pub(crate) async fn interruptible<T, E: std::fmt::Display>(
    ctx: &strata_framework::Context<ProviderData>,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    tokio::select! {
        result = work => result.map_err(|e| e.to_string()),
        () = ctx.stop.stopped() => Err("interrupted: Terraform asked the provider to stop".into()),
    }
}

/// The durations of a state's `timeouts` block, each falling back to the engine's default.
pub(crate) fn timeouts(state: &Value, defaults: Timeouts) -> Timeouts {
    let block = state.attr("timeouts");
    let get = |name: &str| block.attr(name).as_str().and_then(parse_duration);
    Timeouts {
        create: get("create").unwrap_or(defaults.create),
        update: get("update").unwrap_or(defaults.update),
        delete: get("delete").unwrap_or(defaults.delete),
    }
}

/// Every resource type the provider serves.
pub fn all() -> Vec<Arc<dyn Resource<ProviderData>>> {
    vec![
        Arc::new(vpc::VpcResource),
        Arc::new(eks_cluster::EksClusterResource),
        Arc::new(eks_node_group::EksNodeGroupResource),
        Arc::new(vpc_peering::VpcPeeringResource),
        Arc::new(storage_class::StorageClassResource),
        Arc::new(gitops_agent::GitopsAgentResource),
    ]
}
