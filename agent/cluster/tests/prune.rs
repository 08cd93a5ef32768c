//! Safe prune: what is deleted, what is kept and why, what fails.

mod common;

use std::collections::BTreeSet;

use common::{Env, builtin_only, example_objects, find};
use serde_json::json;
use strata_agent_cluster::prune::{Kept, prune};
use strata_agent_core::object::ObjectKey;
use strata_agent_core::render::labels;

fn key(group: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectKey {
    ObjectKey {
        group: group.into(),
        kind: kind.into(),
        namespace: namespace.map(Into::into),
        name: name.into(),
    }
}

fn config_map(
    name: &str,
    labels: serde_json::Value,
    owners: serde_json::Value,
) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "data", "labels": labels, "ownerReferences": owners},
        "data": {"a": "b"}
    })
}

#[tokio::test]
async fn prune_deletes_only_what_is_safely_the_agents() {
    let env = Env::start().await;
    let objects = builtin_only(&example_objects());
    env.apply(&objects).await;
    let configmaps = env.dynamic("v1", "ConfigMap", "configmaps", Some("data"));
    let services = env.dynamic("v1", "Service", "services", Some("data"));

    // A user re-labelled a Service: no longer the agent's.
    env.merge_as(
        "kubectl-edit",
        &services,
        "grape-headless",
        json!({"metadata": {"labels": {labels::MANAGED_BY: "someone-else"}}}),
    )
    .await;
    // An operator copied the managed-by label onto what it generated, but not the
    // workload label.
    let copied = config_map(
        "operator-copy",
        json!({labels::MANAGED_BY: labels::AGENT}),
        json!([]),
    );
    env.apply_as("operator", &configmaps, "operator-copy", copied, true)
        .await;
    // Another controller owns an object with both labels.
    let owner = config_map("operator-owner", json!({}), json!([]));
    env.apply_as("operator", &configmaps, "operator-owner", owner, true)
        .await;
    let owner_uid = env
        .stored("v1", "configmaps", Some("data"), "operator-owner")
        .unwrap()["metadata"]["uid"]
        .clone();
    let both = json!({labels::MANAGED_BY: labels::AGENT, labels::WORKLOAD: "grape"});
    let owned = config_map(
        "operator-child",
        both.clone(),
        json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "operator-owner", "uid": owner_uid, "controller": true}]),
    );
    env.apply_as("operator", &configmaps, "operator-child", owned, true)
        .await;
    // An object owned by one of the agent's own objects is still the agent's.
    let agents_uid = env
        .stored("v1", "configmaps", Some("data"), "weaviate-config")
        .unwrap()["metadata"]["uid"]
        .clone();
    let child = config_map(
        "agent-child",
        both,
        json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "weaviate-config", "uid": agents_uid, "controller": true}]),
    );
    env.apply_as("strata-agent", &configmaps, "agent-child", child, true)
        .await;

    let grape_sts = find(&objects, "StatefulSet", "grape").key();
    let grape_svc = find(&objects, "Service", "grape").key();
    let grape_cm = find(&objects, "ConfigMap", "grape-config").key();
    let weaviate_headless = find(&objects, "Service", "weaviate-headless").key();
    let candidates = BTreeSet::from([
        grape_sts.clone(),
        grape_svc.clone(),
        grape_cm.clone(),
        weaviate_headless.clone(),
        find(&objects, "Service", "grape-headless").key(),
        find(&objects, "PersistentVolumeClaim", "redis-backup").key(),
        find(&objects, "Namespace", "chronik-clients").key(),
        key("", "ConfigMap", Some("data"), "operator-copy"),
        key("", "ConfigMap", Some("data"), "operator-child"),
        key("", "ConfigMap", Some("data"), "agent-child"),
        key("", "ConfigMap", Some("data"), "never-existed"),
        key(
            "monitoring.coreos.com",
            "ServiceMonitor",
            Some("data"),
            "grape",
        ),
    ]);

    // Deletes of weaviate-headless fail (through a proxy), as a changed precondition would.
    let failing = common::api_path("v1", "services", Some("data"), "weaviate-headless");
    let url = common::proxy::failing_deletes(env.standin.url(), vec![failing]).await;
    let cluster = env.cluster_via(&url).await;
    let report = prune(&cluster, &candidates).await.unwrap();

    // Reverse apply order: the workload before its Service before its configuration.
    let position = |k: &ObjectKey| report.deleted.iter().position(|d| d == k).unwrap();
    assert!(
        position(&grape_sts) < position(&grape_svc),
        "{:?}",
        report.deleted
    );
    assert!(
        position(&grape_svc) < position(&grape_cm),
        "{:?}",
        report.deleted
    );
    let deleted: BTreeSet<_> = report
        .deleted
        .iter()
        .map(|k| (k.kind.as_str(), k.name.as_str()))
        .collect();
    assert_eq!(
        deleted,
        BTreeSet::from([
            ("StatefulSet", "grape"),
            ("Service", "grape"),
            ("ConfigMap", "grape-config"),
            ("ConfigMap", "agent-child"),
        ])
    );
    let kept: BTreeSet<_> = report
        .kept
        .iter()
        .map(|(k, why)| (k.kind.clone(), k.name.clone(), format!("{why:?}")))
        .collect();
    let expected_kept: BTreeSet<_> = [
        ("PersistentVolumeClaim", "redis-backup", Kept::Protected),
        ("Namespace", "chronik-clients", Kept::Protected),
        ("Service", "grape-headless", Kept::NotOwned),
        ("ConfigMap", "operator-copy", Kept::NotOwned),
        ("ConfigMap", "operator-child", Kept::NotOwned),
        ("ConfigMap", "never-existed", Kept::Gone),
        ("ServiceMonitor", "grape", Kept::Gone),
    ]
    .into_iter()
    .map(|(kind, name, why)| (kind.to_owned(), name.to_owned(), format!("{why:?}")))
    .collect();
    assert_eq!(kept, expected_kept);
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    assert_eq!(report.failed[0].0, weaviate_headless);
    assert!(report.failed[0].1.contains("409"), "{}", report.failed[0].1);

    assert!(
        env.stored("apps/v1", "statefulsets", Some("data"), "grape")
            .is_none()
    );
    assert!(
        env.stored("v1", "services", Some("data"), "grape")
            .is_none()
    );
    assert!(
        env.stored("v1", "configmaps", Some("data"), "grape-config")
            .is_none()
    );
    assert!(
        env.stored(
            "v1",
            "persistentvolumeclaims",
            Some("redis-system"),
            "redis-backup"
        )
        .is_some()
    );
    assert!(
        env.stored("v1", "namespaces", None, "chronik-clients")
            .is_some()
    );
    assert!(
        env.stored("v1", "services", Some("data"), "grape-headless")
            .is_some()
    );
    assert!(
        env.stored("v1", "services", Some("data"), "weaviate-headless")
            .is_some()
    );
    assert!(
        env.stored("v1", "configmaps", Some("data"), "operator-child")
            .is_some()
    );
}
