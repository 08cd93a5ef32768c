//! The simulated controllers: StatefulSet claims and rollout status, Deployment status,
//! claim binding and resize.

mod common;

use common::*;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::api::{Api, Patch, PatchParams};
use kube_standin::Options;
use serde_json::{Value, json};

fn statefulset(replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "redis"},
        "spec": {
            "replicas": replicas,
            "serviceName": "redis",
            "selector": {"matchLabels": {"app": "redis"}},
            "template": {"metadata": {"labels": {"app": "redis"}}, "spec": {"containers": [{"name": "redis", "image": "redis:7"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": {"tier": "cache"}},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast", "resources": {"requests": {"storage": "5Gi"}}}}],
        }
    })
}

#[tokio::test]
async fn statefulset_claims_and_ready_status() {
    let (s, client) = start(Options {
        controllers: true,
        ..Default::default()
    })
    .await;
    post(
        &client,
        "/apis/storage.k8s.io/v1/storageclasses",
        json!({"metadata": {"name": "fast"}, "provisioner": "p", "allowVolumeExpansion": true}),
    )
    .await
    .unwrap();
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let params = PatchParams::apply("strata");
    api.patch("redis", &params, &Patch::Apply(statefulset(2)))
        .await
        .unwrap();
    let writes = s.writes();

    let sts = api.get("redis").await.unwrap();
    let st = sts.status.as_ref().unwrap();
    assert_eq!(st.observed_generation, Some(1));
    assert_eq!(
        (st.replicas, st.ready_replicas, st.available_replicas),
        (2, Some(2), Some(2))
    );
    assert_eq!(st.current_revision, st.update_revision);
    assert!(st.update_revision.as_deref().unwrap().starts_with("redis-"));
    let status_manager = sts
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .find(|m| m.manager.as_deref() == Some("kube-controller-manager"))
        .unwrap();
    assert_eq!(status_manager.subresource.as_deref(), Some("status"));

    let claims = s.list("/api/v1/namespaces/default/persistentvolumeclaims");
    let names: Vec<&str> = claims
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["data-redis-0", "data-redis-1"]);
    let claim = &claims[0];
    assert_eq!(
        claim["metadata"]["labels"],
        json!({"app": "redis", "tier": "cache"})
    );
    assert_eq!(claim["status"]["phase"], "Bound");
    assert_eq!(claim["status"]["capacity"]["storage"], "5Gi");
    assert_eq!(claim["spec"]["storageClassName"], "fast");

    // Scaling creates the next claim and a new observed generation.
    let sts = api
        .patch("redis", &params, &Patch::Apply(statefulset(3)))
        .await
        .unwrap();
    assert_eq!(sts.metadata.generation, Some(2));
    let status = api.get_status("redis").await.unwrap().status.unwrap();
    assert_eq!(
        (status.observed_generation, status.ready_replicas),
        (Some(2), Some(3))
    );
    assert!(
        s.get("/api/v1/namespaces/default/persistentvolumeclaims/data-redis-2")
            .is_some()
    );
    assert_eq!(s.writes(), writes + 1, "controller writes are not counted");

    // An unchanged apply wakes no controller and writes nothing.
    let before = s
        .get("/apis/apps/v1/namespaces/default/statefulsets/redis")
        .unwrap();
    api.patch("redis", &params, &Patch::Apply(statefulset(3)))
        .await
        .unwrap();
    assert_eq!(
        s.get("/apis/apps/v1/namespaces/default/statefulsets/redis")
            .unwrap(),
        before
    );

    // Expanding a bound claim completes at once.
    let path = "/api/v1/namespaces/default/persistentvolumeclaims/data-redis-0";
    merge_patch(
        &client,
        path,
        json!({"spec": {"resources": {"requests": {"storage": "10Gi"}}}}),
    )
    .await
    .unwrap();
    assert_eq!(
        s.get(path).unwrap()["status"]["capacity"]["storage"],
        "10Gi"
    );
}

#[tokio::test]
async fn deployment_reports_available() {
    let (_s, client) = start(Options {
        controllers: true,
        ..Default::default()
    })
    .await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let desired = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
    });
    api.patch("web", &PatchParams::apply("strata"), &Patch::Apply(desired))
        .await
        .unwrap();
    let status = api.get("web").await.unwrap().status.unwrap();
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(
        (
            status.ready_replicas,
            status.available_replicas,
            status.updated_replicas
        ),
        (Some(2), Some(2), Some(2))
    );
    let conditions = status.conditions.unwrap();
    let find = |t: &str| conditions.iter().find(|c| c.type_ == t).unwrap().clone();
    assert_eq!(
        (
            find("Available").status.as_str(),
            find("Available").reason.as_deref()
        ),
        ("True", Some("MinimumReplicasAvailable"))
    );
    assert_eq!(
        find("Progressing").reason.as_deref(),
        Some("NewReplicaSetAvailable")
    );
}
