//! Defaulting and validation: what the API server fills in, and the 422s and 403s a
//! deployer meets (immutable fields, claim expansion).

mod common;

use common::*;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, PostParams};
use kube_standin::Options;
use serde_json::{Value, json};

const STS: &str = "/apis/apps/v1/namespaces/default/statefulsets";

fn statefulset(storage: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "replicas": replicas,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [
                {"name": "db", "image": "postgres:16", "ports": [{"containerPort": 5432}],
                 "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": {"app": "db"}},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}}],
        }
    })
}

#[tokio::test]
async fn statefulset_defaults_and_immutable_claim_templates() {
    let (s, client) = start(Options::default()).await;
    let obj = apply(
        &client,
        &format!("{STS}/db"),
        "strata",
        "",
        statefulset("1Gi", 1),
    )
    .await
    .unwrap();
    let spec = &obj["spec"];
    assert_eq!(spec["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        spec["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    let vct = &spec["volumeClaimTemplates"][0];
    assert_eq!(vct["spec"]["volumeMode"], "Filesystem");
    assert_eq!(vct["status"], json!({"phase": "Pending"}));
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["dnsPolicy"], "ClusterFirst");
    assert_eq!(pod["schedulerName"], "default-scheduler");
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    assert_eq!(pod["securityContext"], json!({}));
    let container = &pod["containers"][0];
    assert_eq!(container["imagePullPolicy"], "IfNotPresent");
    assert_eq!(container["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(container["ports"][0]["protocol"], "TCP");

    // Re-applying the same template is no change despite the defaults.
    let writes = s.writes();
    apply(
        &client,
        &format!("{STS}/db"),
        "strata",
        "",
        statefulset("1Gi", 1),
    )
    .await
    .unwrap();
    assert_eq!(s.writes(), writes);

    // Changing the claim template size is forbidden.
    let e = apply(
        &client,
        &format!("{STS}/db"),
        "strata",
        "",
        statefulset("2Gi", 1),
    )
    .await
    .unwrap_err();
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    assert!(e.message.starts_with(r#"StatefulSet.apps "db" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"#), "{}", e.message);
    assert_eq!(e.details.unwrap().causes[0].field, "spec");
    // Replicas may change.
    apply(
        &client,
        &format!("{STS}/db"),
        "strata",
        "",
        statefulset("1Gi", 3),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn workload_validation() {
    let (_s, client) = start(Options::default()).await;
    let mut bad = statefulset("1Gi", 1);
    bad["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    let e = post(&client, STS, bad).await.unwrap_err();
    assert_eq!(e.code, 422);
    assert_eq!(
        e.details.unwrap().causes[0].field,
        "spec.template.metadata.labels"
    );

    let mut no_image = statefulset("1Gi", 1);
    no_image["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("image");
    let e = post(&client, STS, no_image).await.unwrap_err();
    assert_eq!(
        e.details.unwrap().causes[0].field,
        "spec.template.spec.containers[0].image"
    );

    // Deployment selectors are immutable.
    let deploy = |app: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": app}}, "template": {"metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    };
    let path = "/apis/apps/v1/namespaces/default/deployments/web";
    apply(&client, path, "strata", "", deploy("web"))
        .await
        .unwrap();
    let e = apply(&client, path, "strata", "", deploy("web2"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 422);
    let cause = &e.details.unwrap().causes[0];
    assert_eq!(cause.field, "spec.selector");
    assert!(
        cause.message.ends_with("field is immutable"),
        "{}",
        cause.message
    );
}

#[tokio::test]
async fn service_defaults_and_immutable_cluster_ip() {
    let (_s, client) = start(Options::default()).await;
    let api: Api<Service> = Api::namespaced(client.clone(), "default");
    let svc: Service = serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})).unwrap();
    let created = api.create(&PostParams::default(), &svc).await.unwrap();
    let spec = created.spec.unwrap();
    let ip = spec.cluster_ip.clone().unwrap();
    assert!(ip.starts_with("10.96."), "{ip}");
    assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
    assert_eq!(spec.session_affinity.as_deref(), Some("None"));
    let port = &spec.ports.unwrap()[0];
    assert_eq!(port.protocol.as_deref(), Some("TCP"));
    assert_eq!(
        port.target_port,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(80))
    );

    // Applying without clusterIP keeps it; changing it is rejected.
    let applied = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}});
    let obj = apply(
        &client,
        "/api/v1/namespaces/default/services/web",
        "strata",
        "",
        applied,
    )
    .await
    .unwrap();
    assert_eq!(obj["spec"]["clusterIP"], ip.as_str());
    let e = merge_patch(
        &client,
        "/api/v1/namespaces/default/services/web",
        json!({"spec": {"clusterIP": "10.96.9.9"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (e.code, e.details.unwrap().causes[0].field.as_str()),
        (422, "spec.clusterIP")
    );

    // Ports are required unless headless.
    let e = post(
        &client,
        "/api/v1/namespaces/default/services",
        json!({"metadata": {"name": "noports"}, "spec": {}}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.details.unwrap().causes[0].field, "spec.ports");
    let headless = post(
        &client,
        "/api/v1/namespaces/default/services",
        json!({"metadata": {"name": "h"}, "spec": {"clusterIP": "None"}}),
    )
    .await
    .unwrap();
    assert_eq!(headless["spec"]["clusterIP"], "None");
    // Service names are DNS-1035 labels.
    let e = post(
        &client,
        "/api/v1/namespaces/default/services",
        json!({"metadata": {"name": "1web"}, "spec": {"ports": [{"port": 1}]}}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 422);
}

fn pvc(storage: &str, class: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class, "resources": {"requests": {"storage": storage}}}})
}

#[tokio::test]
async fn claim_expansion_rules() {
    let (_s, client) = start(Options::default()).await;
    let classes = "/apis/storage.k8s.io/v1/storageclasses";
    post(
        &client,
        classes,
        json!({"metadata": {"name": "fixed"}, "provisioner": "p"}),
    )
    .await
    .unwrap();
    post(
        &client,
        classes,
        json!({"metadata": {"name": "grow"}, "provisioner": "p", "allowVolumeExpansion": true}),
    )
    .await
    .unwrap();
    let claims = "/api/v1/namespaces/default/persistentvolumeclaims";
    let created = post(&client, claims, pvc("10Gi", "grow")).await.unwrap();
    assert_eq!(created["spec"]["volumeMode"], "Filesystem");
    assert_eq!(created["status"]["phase"], "Pending");

    // Unbound claims cannot be resized.
    let e = put(&client, &format!("{claims}/data"), pvc("20Gi", "grow"))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.details.unwrap().causes[0].field.as_str()),
        (422, "spec")
    );

    // Bind it (as a controller would), then grow: allowed with allowVolumeExpansion.
    merge_patch(
        &client,
        &format!("{claims}/data/status"),
        json!({"status": {"phase": "Bound", "capacity": {"storage": "10Gi"}}}),
    )
    .await
    .unwrap();
    let grown = put(&client, &format!("{claims}/data"), pvc("20Gi", "grow"))
        .await
        .unwrap();
    assert_eq!(grown["spec"]["resources"]["requests"]["storage"], "20Gi");
    // Shrinking is forbidden.
    let e = put(&client, &format!("{claims}/data"), pvc("5Gi", "grow"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 422);
    assert!(
        e.message.contains(
            "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
        ),
        "{}",
        e.message
    );
    // Other spec fields are immutable.
    let e = put(&client, &format!("{claims}/data"), pvc("20Gi", "fixed"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 422);

    // A class without allowVolumeExpansion: the admission plugin answers 403 Forbidden.
    let mut fixed = pvc("1Gi", "fixed");
    fixed["metadata"]["name"] = json!("fixed");
    post(&client, claims, fixed.clone()).await.unwrap();
    merge_patch(
        &client,
        &format!("{claims}/fixed/status"),
        json!({"status": {"phase": "Bound", "capacity": {"storage": "1Gi"}}}),
    )
    .await
    .unwrap();
    fixed["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
    let e = put(&client, &format!("{claims}/fixed"), fixed)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.reason.as_str()), (403, "Forbidden"));
    assert!(e.message.contains("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"));
}

#[tokio::test]
async fn immutable_config_and_storage_class_fields() {
    let (_s, client) = start(Options::default()).await;
    let cms = "/api/v1/namespaces/default/configmaps";
    post(
        &client,
        cms,
        json!({"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": true}),
    )
    .await
    .unwrap();
    let e = merge_patch(
        &client,
        &format!("{cms}/frozen"),
        json!({"data": {"a": "2"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (e.code, e.details.unwrap().causes[0].field.as_str()),
        (422, "data")
    );

    let classes = "/apis/storage.k8s.io/v1/storageclasses";
    post(
        &client,
        classes,
        json!({"metadata": {"name": "sc"}, "provisioner": "p", "parameters": {"type": "gp3"}}),
    )
    .await
    .unwrap();
    let e = merge_patch(
        &client,
        &format!("{classes}/sc"),
        json!({"parameters": {"type": "io2"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 422);
    assert!(
        e.message
            .contains("parameters: Forbidden: updates to parameters are forbidden."),
        "{}",
        e.message
    );
    // allowVolumeExpansion may change.
    merge_patch(
        &client,
        &format!("{classes}/sc"),
        json!({"allowVolumeExpansion": true}),
    )
    .await
    .unwrap();

    // Secrets: stringData folds into data.
    let secret = post(
        &client,
        "/api/v1/namespaces/default/secrets",
        json!({"metadata": {"name": "s"}, "stringData": {"pw": "hunter2"}}),
    )
    .await
    .unwrap();
    assert_eq!(secret["data"]["pw"], "aHVudGVyMg==");
    assert_eq!(secret["type"], "Opaque");
    assert!(secret.get("stringData").is_none());
}

#[tokio::test]
async fn quantities_are_stored_canonical() {
    let (s, client) = start(Options::default()).await;
    let deploy = |memory: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "q"},
            "spec": {"selector": {"matchLabels": {"app": "q"}}, "template": {"metadata": {"labels": {"app": "q"}},
                "spec": {"containers": [{"name": "q", "image": "nginx", "resources": {"requests": {"memory": memory, "cpu": "0.5"}}}]}}}})
    };
    let path = "/apis/apps/v1/namespaces/default/deployments/q";
    let obj = apply(&client, path, "strata", "", deploy(json!("1024Mi")))
        .await
        .unwrap();
    let requests = &obj["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"];
    assert_eq!(requests, &json!({"memory": "1Gi", "cpu": "500m"}));
    // The same quantity spelled differently is no change.
    let writes = s.writes();
    let again = apply(&client, path, "strata", "", deploy(json!("1Gi")))
        .await
        .unwrap();
    assert_eq!(again, obj);
    let again = apply(&client, path, "strata", "", deploy(json!("1048576Ki")))
        .await
        .unwrap();
    assert_eq!(again, obj);
    // A plain number of bytes is a decimal quantity: canonically "1073741824", a change.
    let changed = apply(&client, path, "strata", "", deploy(json!(1073741824)))
        .await
        .unwrap();
    let memory =
        &changed["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"];
    assert_eq!(memory, "1073741824");
    assert_eq!(s.writes(), writes + 1);
}
