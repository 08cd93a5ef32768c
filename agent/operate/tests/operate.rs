//! `operate` end to end: documents in, pods found through the Kubernetes API stand-in,
//! real `redis-server`s formed into a cluster.

mod common;

use common::kube::Cluster;
use common::{Fleet, NAMESPACE, assert_formed, assert_untouched, document};
use strata_agent_core::spec::redis::RedisTopology;
use strata_agent_core::spec::{Body, Document, RedisCluster};
use strata_agent_operate::{OperateReport, operate};

const FORMED: &str = "redis data/cache: formed cluster of 3 masters × 1 replica (16384 slots)";

/// The stand-in with one ready pod per server.
async fn cluster_with_pods(fleet: &Fleet) -> Cluster {
    let cluster = Cluster::start().await;
    for server in &fleet.servers {
        cluster.add_pod(server, true).await;
    }
    cluster
}

#[tokio::test]
async fn forms_the_cluster_from_its_pods_then_leaves_it_alone() {
    let fleet = Fleet::start(6, None);
    let cluster = cluster_with_pods(&fleet).await;
    let documents = [document("")];

    let report = operate(&cluster.client, &documents, None).await;
    assert_eq!(
        report,
        OperateReport {
            actions: vec![FORMED.to_owned()],
            ..Default::default()
        }
    );
    assert_formed(&fleet, 3, &[1, 1, 1]).await;

    let again = operate(&cluster.client, &documents, None).await;
    assert!(again.is_empty(), "second run: {again:?}");
}

#[tokio::test]
async fn waits_until_every_pod_is_ready() {
    let fleet = Fleet::start(6, None);
    let cluster = Cluster::start().await;
    for server in &fleet.servers {
        cluster.add_pod(server, server.ordinal < 4).await;
    }
    let report = operate(&cluster.client, &[document("")], None).await;
    assert_eq!(
        report,
        OperateReport {
            waiting: vec![format!("redis {NAMESPACE}/cache: 4 of 6 pods ready")],
            ..Default::default()
        }
    );
    assert_untouched(&fleet, 0).await;
}

#[tokio::test]
async fn refuses_a_half_assigned_cluster() {
    let fleet = Fleet::start(6, None);
    let _: () = fleet.servers[0]
        .cmd(&["CLUSTER", "ADDSLOTSRANGE", "0", "5000"])
        .await;
    let cluster = cluster_with_pods(&fleet).await;
    let report = operate(&cluster.client, &[document("")], None).await;
    assert!(report.actions.is_empty(), "{report:?}");
    assert_eq!(report.failures.len(), 1, "{report:?}");
    let failure = &report.failures[0];
    assert!(
        failure.starts_with("redis data/cache: only 5001 of 16384 slots are assigned"),
        "{failure}"
    );
    assert!(failure.contains("redis-cli --cluster"), "{failure}");
    assert_untouched(&fleet, 5001).await;
}

#[tokio::test]
async fn adds_a_seventh_pod_as_a_replica() {
    let mut fleet = Fleet::start(6, None);
    let cluster = cluster_with_pods(&fleet).await;
    let documents = [document("")];
    let formed = operate(&cluster.client, &documents, None).await;
    assert_eq!(formed.actions, vec![FORMED.to_owned()], "{formed:?}");

    let seventh = fleet.add();
    cluster.add_pod(seventh, true).await;
    let report = operate(&cluster.client, &documents, None).await;
    assert!(
        report.failures.is_empty() && report.waiting.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.actions.len(), 1, "{report:?}");
    assert!(
        report.actions[0].starts_with("redis data/cache: added pod cache-6 (127.0.0.8:"),
        "{}",
        report.actions[0]
    );
    assert_formed(&fleet, 3, &[1, 1, 2]).await;
    assert!(operate(&cluster.client, &documents, None).await.is_empty());
}

#[tokio::test]
async fn reads_the_password_from_the_secret() {
    let fleet = Fleet::start(6, Some("s3cret-pass"));
    let cluster = cluster_with_pods(&fleet).await;
    let documents = [document(
        "  auth:\n    name: cache-secret\n    key: redis-password\n",
    )];

    let missing = operate(&cluster.client, &documents, None).await;
    assert_eq!(
        missing.failures,
        vec!["redis data/cache: Secret data/cache-secret (spec.auth) does not exist".to_owned()]
    );

    cluster
        .add_secret("cache-secret", "redis-password", "s3cret-pass")
        .await;
    let report = operate(&cluster.client, &documents, None).await;
    assert_eq!(report.actions, vec![FORMED.to_owned()], "{report:?}");
    assert_formed(&fleet, 3, &[1, 1, 1]).await;
}

#[tokio::test]
async fn skips_sentinels_and_other_clusters() {
    let cluster = Cluster::start().await;
    // No pods at all: a document that counted would at least report waiting.
    let sentinel = edited(document(""), |w| w.spec.topology = RedisTopology::Sentinel);
    let elsewhere = edited(document(""), |w| {
        w.metadata.clusters = vec!["us-east-1".to_owned()];
    });
    let documents = [sentinel, elsewhere];
    let report = operate(&cluster.client, &documents, Some("us-west-2")).await;
    assert!(report.is_empty(), "{report:?}");

    // The same documents on the cluster the second targets: only it counts.
    let report = operate(&cluster.client, &documents, Some("us-east-1")).await;
    assert_eq!(
        report,
        OperateReport {
            waiting: vec!["redis data/cache: 0 of 6 pods ready".to_owned()],
            ..Default::default()
        }
    );
}

/// `document` with its `RedisCluster` changed by `edit`.
fn edited(mut document: Document, edit: impl FnOnce(&mut RedisCluster)) -> Document {
    match &mut document.body {
        Body::RedisCluster(workload) => edit(workload),
        other => panic!("not a RedisCluster: {other:?}"),
    }
    document
}
