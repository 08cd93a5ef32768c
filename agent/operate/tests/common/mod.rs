//! Shared by the integration tests: real `redis-server` processes in cluster mode, one
//! per loopback address (127.0.0.2, .3, …) on one port, as pods share their port; the
//! Kubernetes API stand-in with pods pointing at them; and what to assert about them.

#![allow(dead_code)]

pub mod kube;
pub mod servers;

use std::collections::BTreeMap;

use strata_agent_core::spec::{Body, Document, RedisCluster};
use strata_agent_core::{Repo, RepoFile};
use strata_agent_operate::redis_cluster::nodes::{Info, View};

pub use servers::Fleet;

/// The namespace and name of the test workload.
pub const NAMESPACE: &str = "data";
pub const NAME: &str = "cache";

/// A `RedisCluster` document, parsed and validated as the agent would; `extra` is
/// appended to its spec (two-space indented lines).
pub fn document(extra: &str) -> Document {
    let text = format!(
        "apiVersion: strata.dev/v1alpha1\nkind: RedisCluster\nmetadata:\n  name: {NAME}\n  namespace: {NAMESPACE}\nspec:\n  topology: cluster\n  masters: 3\n  replicasPerMaster: 1\n  backup:\n    enabled: false\n{extra}"
    );
    let repo = Repo::load(&[RepoFile {
        path: "tiers/redis.yaml".to_owned(),
        contents: text.into_bytes(),
    }]);
    let errors: Vec<_> = repo.errors().collect();
    assert!(errors.is_empty(), "test document is invalid: {errors:?}");
    assert_eq!(repo.documents.len(), 1);
    repo.documents.into_iter().next().unwrap()
}

pub fn workload(document: &Document) -> &RedisCluster {
    match &document.body {
        Body::RedisCluster(w) => w,
        other => panic!("not a RedisCluster: {other:?}"),
    }
}

/// Every server's `CLUSTER INFO` and `CLUSTER NODES`.
pub async fn views(fleet: &Fleet) -> Vec<(Info, View)> {
    let mut out = Vec::new();
    for server in &fleet.servers {
        out.push((server.info().await, server.view().await));
    }
    out
}

/// Asserts every server is in one `ok` cluster with all slots, `masters` masters and
/// the replica counts given (sorted), as seen by every node.
pub async fn assert_formed(fleet: &Fleet, masters: usize, replica_counts: &[usize]) {
    for (server, (info, view)) in fleet.servers.iter().zip(views(fleet).await) {
        let at = server.addr();
        assert_eq!(info.state, "ok", "cluster_state on {at}");
        assert_eq!(info.slots_assigned, 16384, "cluster_slots_assigned on {at}");
        assert_eq!(
            info.known_nodes as usize,
            fleet.servers.len(),
            "cluster_known_nodes on {at}"
        );
        let counted = view.masters_with_replicas();
        assert_eq!(counted.len(), masters, "masters seen by {at}: {view:?}");
        let mut counts: Vec<usize> = counted.iter().map(|(_, n)| *n).collect();
        counts.sort_unstable();
        assert_eq!(counts, replica_counts, "replicas per master seen by {at}");
    }
}

/// Asserts no server knows another or serves a slot, except `slots` on server 0.
pub async fn assert_untouched(fleet: &Fleet, slots_on_first: u32) {
    for (i, (info, view)) in views(fleet).await.into_iter().enumerate() {
        let at = fleet.servers[i].addr();
        assert_eq!(
            info.known_nodes, 1,
            "{at} was introduced to others: {view:?}"
        );
        let expected = if i == 0 { slots_on_first } else { 0 };
        assert_eq!(info.slots_assigned, expected, "slots assigned on {at}");
    }
}

/// Labels of the rendered server pods.
pub fn server_labels() -> BTreeMap<String, String> {
    let document = document("");
    strata_agent_core::tier::redis::Redis::new(workload(&document)).server_labels()
}
