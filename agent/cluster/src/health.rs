//! Workload health from rollout status, after kstatus: Ready, Progressing or Failed, with
//! the reason.

pub mod rules;

use std::collections::BTreeMap;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use strata_agent_core::object::Object;
use strata_agent_core::render::labels;

use crate::Error;
use rules::Verdict;

/// Workloads read at the same time.
const CONCURRENCY: usize = 8;

// Declared best first: `Ord` ranks Failed as the worst.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum State {
    Ready,
    Progressing,
    Failed,
}

/// Health of one workload (all objects sharing the `strata.dev/workload` label in one
/// namespace), the worst of its StatefulSets and Deployments.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadHealth {
    pub namespace: String,
    pub workload: String,
    pub tier: String,
    pub state: State,
    /// CamelCase reason, e.g. `RolloutInProgress`, `ReplicasNotReady`, `ObservedGenerationStale`, `ProgressDeadlineExceeded`.
    pub reason: String,
    /// Human-readable, e.g. `StatefulSet vector/weaviate: 2 of 3 replicas ready`.
    pub message: String,
}

/// Reads the live StatefulSets and Deployments among `objects` and computes health,
/// sorted by namespace and workload.
pub async fn health(
    cluster: &crate::Cluster,
    objects: &[Object],
) -> Result<Vec<WorkloadHealth>, Error> {
    let rollouts = objects
        .iter()
        .filter(|o| matches!(o, Object::StatefulSet(_) | Object::Deployment(_)));
    let checks: Vec<Result<WorkloadHealth, Error>> = futures::stream::iter(rollouts)
        .map(|object| check(cluster, object))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut workloads: BTreeMap<(String, String), WorkloadHealth> = BTreeMap::new();
    for check in checks {
        // An object that cannot be read leaves its workload's health unknown: no report
        // rather than a wrong one.
        let health = check?;
        let id = (health.namespace.clone(), health.workload.clone());
        // The worst state wins; among equals the first message in text order, so the
        // report does not depend on which answer came first.
        let worse = |old: &WorkloadHealth| {
            health.state > old.state || (health.state == old.state && health.message < old.message)
        };
        if workloads.get(&id).is_none_or(worse) {
            workloads.insert(id, health);
        }
    }
    Ok(workloads.into_values().collect())
}

/// The health of one StatefulSet or Deployment, as its workload's.
async fn check(cluster: &crate::Cluster, object: &Object) -> Result<WorkloadHealth, Error> {
    let namespace = object.namespace().unwrap_or("default").to_owned();
    let label = |name: &str| {
        object
            .metadata()
            .labels
            .as_ref()
            .and_then(|l| l.get(name))
            .cloned()
    };
    let workload = label(labels::WORKLOAD).unwrap_or_else(|| object.name().to_owned());
    let tier = label(labels::TIER).unwrap_or_default();
    let name = object.name();
    let client = cluster.client.clone();
    let read = |e| Error::kube(format!("reading {}", object.key()), e);
    let live = match object {
        Object::StatefulSet(_) => Api::<StatefulSet>::namespaced(client, &namespace)
            .get_opt(name)
            .await
            .map_err(read)?
            .map(|sts| rules::statefulset(&sts)),
        _ => Api::<Deployment>::namespaced(client, &namespace)
            .get_opt(name)
            .await
            .map_err(read)?
            .map(|d| rules::deployment(&d)),
    };
    let mut verdict = live.unwrap_or_else(|| Verdict {
        state: State::Failed,
        reason: "Missing",
        message: "not found in the cluster after apply".to_owned(),
    });
    // A rollout that is not done may be stuck on pods that will never start.
    if verdict.state == State::Progressing
        && let Some(stuck) = stuck_pod(cluster, &namespace, &workload).await
    {
        verdict = stuck;
    }
    Ok(WorkloadHealth {
        message: format!("{} {namespace}/{name}: {}", object.kind(), verdict.message),
        namespace,
        workload,
        tier,
        state: verdict.state,
        reason: verdict.reason.to_owned(),
    })
}

/// The first pod of the workload waiting on something that will not fix itself. Pods
/// that cannot be listed do not change the verdict.
async fn stuck_pod(cluster: &crate::Cluster, namespace: &str, workload: &str) -> Option<Verdict> {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    let selector = format!("{}={workload}", labels::WORKLOAD);
    let list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .ok()?;
    list.items.iter().find_map(rules::stuck_pod)
}
