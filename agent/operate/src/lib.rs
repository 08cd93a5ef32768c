//! strata-agent's operate step: what manifests cannot do. After the reconcile loop has
//! applied a revision, [`operate`] runs the operations its documents need on the live
//! workloads. Today that is forming and keeping Redis Clusters ([`redis_cluster`]).
//!
//! Operations only ever add (introduce nodes, assign slots nobody serves, attach empty
//! replicas); a state that would need something taken away is reported for a human.

pub mod error;
pub mod redis_cluster;

use strata_agent_core::spec::{Body, Document};

pub use error::Error;

/// What one [`operate`] run did and found. Every message names its workload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperateReport {
    /// Changes made, e.g. `redis data/cache: formed cluster of 3 masters × 1 replica (16384 slots)`.
    pub actions: Vec<String>,
    /// Operations not started yet because the workload is not ready for them, e.g.
    /// `redis data/cache: 4 of 6 pods ready`.
    pub waiting: Vec<String>,
    /// Operations that failed or were refused, with what to do about them.
    pub failures: Vec<String>,
}

impl OperateReport {
    /// Nothing done, nothing pending, nothing wrong.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty() && self.waiting.is_empty() && self.failures.is_empty()
    }

    /// Adds `other`'s messages, each prefixed with `label: `.
    pub fn absorb(&mut self, label: &str, other: OperateReport) {
        let prefixed =
            |messages: Vec<String>| messages.into_iter().map(|m| format!("{label}: {m}"));
        self.actions.extend(prefixed(other.actions));
        self.waiting.extend(prefixed(other.waiting));
        self.failures.extend(prefixed(other.failures));
    }
}

/// Runs every operation the documents need on this cluster. Never destructive.
///
/// Only documents that target `cluster` count (`None`: a repo without clusters). The
/// workloads are operated one after the other; one failing does not stop the others.
pub async fn operate(
    client: &kube::Client,
    documents: &[Document],
    cluster: Option<&str>,
) -> OperateReport {
    let mut report = OperateReport::default();
    for document in documents.iter().filter(|d| d.body.targets(cluster)) {
        match &document.body {
            Body::RedisCluster(workload) => {
                redis_cluster::operate(client, workload, &mut report).await;
            }
            // Their manifests are all they need (so far).
            Body::VectorStore(_)
            | Body::StreamCluster(_)
            | Body::Cluster(_)
            | Body::Manifest(_) => {}
        }
    }
    for failure in &report.failures {
        tracing::warn!(%failure, "operate");
    }
    report
}
