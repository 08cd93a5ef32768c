//! Discovery as kube's discovery module sees it, and CRDs coming and going.

mod common;

use common::*;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Discovery, Scope, verbs};
use kube_standin::Options;
use serde_json::json;

#[tokio::test]
async fn version_and_builtin_groups() {
    let (_s, client) = start(Options::default()).await;
    let info = client.apiserver_version().await.unwrap();
    assert_eq!((info.major.as_str(), info.minor.as_str()), ("1", "33"));
    let health = http::Request::get("/readyz").body(Vec::new()).unwrap();
    assert_eq!(client.request_text(health).await.unwrap(), "ok");

    let (cm, caps) = discovery::pinned_kind(&client, &GroupVersionKind::gvk("", "v1", "ConfigMap"))
        .await
        .unwrap();
    assert_eq!(cm.plural, "configmaps");
    assert_eq!(caps.scope, Scope::Namespaced);
    assert!(caps.supports_operation(verbs::PATCH));

    let apps = discovery::group(&client, "apps").await.unwrap();
    let (sts, caps) = apps.recommended_kind("StatefulSet").unwrap();
    assert_eq!(sts.plural, "statefulsets");
    assert!(
        caps.subresources.iter().any(|(r, _)| r.plural == "status"),
        "{:?}",
        caps.subresources
    );

    let (sc, caps) = discovery::pinned_kind(
        &client,
        &GroupVersionKind::gvk("storage.k8s.io", "v1", "StorageClass"),
    )
    .await
    .unwrap();
    assert_eq!(
        (sc.plural.as_str(), caps.scope),
        ("storageclasses", Scope::Cluster)
    );
    let (lease, _) = discovery::pinned_kind(
        &client,
        &GroupVersionKind::gvk("coordination.k8s.io", "v1", "Lease"),
    )
    .await
    .unwrap();
    assert_eq!(lease.plural, "leases");

    // The full discovery, both ways.
    let full = Discovery::new(client.clone()).run().await.unwrap();
    for group in [
        "",
        "apps",
        "batch",
        "policy",
        "autoscaling",
        "rbac.authorization.k8s.io",
        "networking.k8s.io",
    ] {
        assert!(full.has_group(group), "{group} missing");
    }
    let aggregated = Discovery::new(client.clone())
        .run_aggregated()
        .await
        .unwrap();
    assert!(
        aggregated
            .resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"))
            .is_some()
    );
    assert!(
        aggregated
            .resolve_gvk(&GroupVersionKind::gvk("", "v1", "Service"))
            .is_some()
    );
}

#[tokio::test]
async fn unknown_group_version_is_404() {
    let (_s, client) = start(Options::default()).await;
    let gvk = GroupVersionKind::gvk("monitoring.coreos.com", "v1", "ServiceMonitor");
    let error = discovery::pinned_kind(&client, &gvk).await.unwrap_err();
    assert_eq!(status(error).code, 404);
    assert_eq!(get(&client, "/apis/apps/v9").await.unwrap_err().code, 404);
    assert_eq!(
        get(
            &client,
            "/apis/monitoring.coreos.com/v1/namespaces/default/servicemonitors"
        )
        .await
        .unwrap_err()
        .code,
        404
    );
    let missing = discovery::group(&client, "monitoring.coreos.com").await;
    assert!(missing.is_err());
}

fn service_monitor_crd() -> serde_json::Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "scope": "Namespaced",
            "names": {"plural": "servicemonitors", "singular": "servicemonitor", "kind": "ServiceMonitor", "listKind": "ServiceMonitorList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    })
}

#[tokio::test]
async fn crd_kind_appears_is_served_and_goes_away() {
    let (s, client) = start(Options::default()).await;
    let gvk = GroupVersionKind::gvk("monitoring.coreos.com", "v1", "ServiceMonitor");
    assert_eq!(
        status(discovery::pinned_kind(&client, &gvk).await.unwrap_err()).code,
        404
    );

    let crd = post(
        &client,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        service_monitor_crd(),
    )
    .await
    .unwrap();
    assert_eq!(crd["status"]["conditions"][1]["type"], "Established");

    let (resource, caps) = discovery::pinned_kind(&client, &gvk).await.unwrap();
    assert_eq!(
        (resource.plural.as_str(), caps.scope),
        ("servicemonitors", Scope::Namespaced)
    );

    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &resource);
    let mut sm = DynamicObject::new("web", &resource);
    sm.data = json!({"spec": {"endpoints": [{"port": "http"}], "selector": {"matchLabels": {"app": "web"}}}});
    let created = api.create(&PostParams::default(), &sm).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let listed = api.list(&Default::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].data["spec"]["endpoints"][0]["port"], "http");

    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &discovery::pinned_kind(
            &client,
            &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        )
        .await
        .unwrap()
        .0,
    );
    crds.delete("servicemonitors.monitoring.coreos.com", &Default::default())
        .await
        .unwrap();
    assert_eq!(
        status(discovery::pinned_kind(&client, &gvk).await.unwrap_err()).code,
        404
    );
    assert_eq!(
        get(
            &client,
            "/apis/monitoring.coreos.com/v1/namespaces/default/servicemonitors/web"
        )
        .await
        .unwrap_err()
        .code,
        404
    );

    // Re-created, the kind comes back empty: the objects went with the CRD.
    post(
        &client,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        service_monitor_crd(),
    )
    .await
    .unwrap();
    assert!(
        s.list("/apis/monitoring.coreos.com/v1/namespaces/default/servicemonitors")
            .is_empty()
    );
}
