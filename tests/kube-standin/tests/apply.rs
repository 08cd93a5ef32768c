//! Server-side apply: creation, no-op re-apply, removal of fields no longer applied,
//! conflicts with Apply and Update managers, force, shared ownership, dry-run.

mod common;

use common::*;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube_standin::Options;
use serde_json::{Value, json};

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

fn deployment(replicas: i64, labels: Value, env: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "env": env}]},
            },
        }
    })
}

fn web_path() -> String {
    format!("{DEPLOYMENTS}/web")
}

#[tokio::test]
async fn apply_creates_and_unchanged_reapply_is_no_write() {
    let (s, client) = start(Options::default()).await;
    let desired = deployment(
        2,
        json!({"app": "web"}),
        json!([{"name": "A", "value": "1"}]),
    );
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let params = PatchParams::apply("strata");
    let created = api
        .patch("web", &params, &Patch::Apply(&desired))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let fields = created.metadata.managed_fields.as_ref().unwrap();
    assert_eq!(fields.len(), 1);
    assert_eq!(
        (fields[0].manager.as_deref(), fields[0].operation.as_deref()),
        (Some("strata"), Some("Apply"))
    );
    let fields_v1 = serde_json::to_value(&fields[0].fields_v1).unwrap();
    assert_eq!(
        fields_v1["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["."],
        json!({})
    );
    assert_eq!(fields_v1["f:metadata"]["f:labels"], json!({"f:app": {}}));
    // Defaults are applied and owned by nobody.
    let spec = created.spec.as_ref().unwrap();
    assert_eq!(spec.progress_deadline_seconds, Some(600));
    assert!(
        fields_v1["f:spec"]
            .get("f:progressDeadlineSeconds")
            .is_none()
    );

    let writes = s.writes();
    let again = api
        .patch("web", &params, &Patch::Apply(&desired))
        .await
        .unwrap();
    assert_eq!(
        again.metadata.resource_version,
        created.metadata.resource_version
    );
    assert_eq!(
        again.metadata.managed_fields,
        created.metadata.managed_fields
    );
    assert_eq!(s.writes(), writes, "an unchanged apply is not a write");

    // Fieldmanager is required for apply (the real server answers 422 Invalid).
    let e = raw(
        &client,
        "PATCH",
        &web_path(),
        "application/apply-patch+yaml",
        Some(desired.clone()),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 422);
    assert!(
        e.message.contains("fieldManager: Required value"),
        "{}",
        e.message
    );
    // YAML bodies are accepted.
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n";
    let request = http::Request::builder()
        .method("PATCH")
        .uri("/api/v1/namespaces/default/configmaps/from-yaml?fieldManager=strata")
        .header("content-type", "application/apply-patch+yaml")
        .body(yaml.as_bytes().to_vec())
        .unwrap();
    client.request_text(request).await.unwrap();
    assert_eq!(
        s.get("/api/v1/namespaces/default/configmaps/from-yaml")
            .unwrap()["data"]["a"],
        "b"
    );
}

#[tokio::test]
async fn fields_no_longer_applied_are_removed() {
    let (_s, client) = start(Options::default()).await;
    let first = deployment(
        3,
        json!({"app": "web", "team": "a"}),
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]),
    );
    apply(&client, &web_path(), "strata", "", first)
        .await
        .unwrap();
    let mut second = deployment(
        3,
        json!({"app": "web"}),
        json!([{"name": "A", "value": "1"}]),
    );
    second["spec"].as_object_mut().unwrap().remove("replicas");
    let obj = apply(&client, &web_path(), "strata", "", second)
        .await
        .unwrap();
    assert_eq!(obj["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}])
    );
    // A removed field with a default is defaulted again.
    assert_eq!(obj["spec"]["replicas"], 1);
    assert_eq!(obj["metadata"]["generation"], 2);
}

#[tokio::test]
async fn fields_owned_by_others_stay() {
    let (_s, client) = start(Options::default()).await;
    apply(
        &client,
        &web_path(),
        "strata",
        "",
        deployment(2, json!({"app": "web", "team": "a"}), json!([])),
    )
    .await
    .unwrap();
    // Another applier sets the same label value: shared ownership.
    let other = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"team": "a"}}});
    apply(&client, &web_path(), "other", "", other)
        .await
        .unwrap();
    // The first applier drops the label; the other still owns it, so it stays.
    let obj = apply(
        &client,
        &web_path(),
        "strata",
        "",
        deployment(2, json!({"app": "web"}), json!([])),
    )
    .await
    .unwrap();
    assert_eq!(obj["metadata"]["labels"]["team"], "a");
}

#[tokio::test]
async fn conflicts_with_another_applier_and_force() {
    let (_s, client) = start(Options::default()).await;
    apply(
        &client,
        &web_path(),
        "strata",
        "",
        deployment(2, json!({"app": "web"}), json!([])),
    )
    .await
    .unwrap();
    let hpa = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 5}});
    let e = apply(&client, &web_path(), "autoscaler", "", hpa.clone())
        .await
        .unwrap_err();
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        e.message,
        r#"Apply failed with 1 conflict: conflict with "strata": .spec.replicas"#
    );
    let cause = &e.details.unwrap().causes[0];
    assert_eq!(
        (cause.reason.as_str(), cause.field.as_str()),
        ("FieldManagerConflict", ".spec.replicas")
    );
    assert_eq!(cause.message, r#"conflict with "strata""#);

    // Same value: shared, no conflict.
    let same = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}});
    let obj = apply(&client, &web_path(), "autoscaler", "", same)
        .await
        .unwrap();
    assert_eq!(managers(&obj), ["autoscaler/Apply", "strata/Apply"]);

    // Force takes the field; the original applier now conflicts.
    let obj = apply(&client, &web_path(), "autoscaler", "&force=true", hpa)
        .await
        .unwrap();
    assert_eq!(obj["spec"]["replicas"], 5);
    let e = apply(
        &client,
        &web_path(),
        "strata",
        "",
        deployment(2, json!({"app": "web"}), json!([])),
    )
    .await
    .unwrap_err();
    assert!(
        e.message
            .contains(r#"conflict with "autoscaler": .spec.replicas"#),
        "{}",
        e.message
    );
    // ...but dropping the field from its configuration resolves it.
    let mut without = deployment(2, json!({"app": "web"}), json!([]));
    without["spec"].as_object_mut().unwrap().remove("replicas");
    let obj = apply(&client, &web_path(), "strata", "", without)
        .await
        .unwrap();
    assert_eq!(obj["spec"]["replicas"], 5, "still owned by the autoscaler");
}

#[tokio::test]
async fn conflicts_with_an_update_manager() {
    let (_s, client) = start(Options::default()).await;
    apply(
        &client,
        &web_path(),
        "strata",
        "",
        deployment(2, json!({"app": "web"}), json!([])),
    )
    .await
    .unwrap();
    // `kubectl edit` changes replicas with an update: it takes the field.
    let edited = merge_patch(
        &client,
        &format!("{}?fieldManager=kubectl-edit", web_path()),
        json!({"spec": {"replicas": 4}}),
    )
    .await
    .unwrap();
    assert_eq!(managers(&edited), ["strata/Apply", "kubectl-edit/Update"]);
    let e = apply(
        &client,
        &web_path(),
        "strata",
        "",
        deployment(2, json!({"app": "web"}), json!([])),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 409);
    assert_eq!(
        e.message,
        r#"Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas"#
    );
    let obj = apply(
        &client,
        &web_path(),
        "strata",
        "&force=true",
        deployment(2, json!({"app": "web"}), json!([])),
    )
    .await
    .unwrap();
    assert_eq!(obj["spec"]["replicas"], 2);
    assert_eq!(
        managers(&obj),
        ["strata/Apply"],
        "the editor owned nothing else"
    );
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let (s, client) = start(Options::default()).await;
    // Dry-run create returns the would-be object, stores nothing.
    let desired = deployment(2, json!({"app": "web"}), json!([]));
    let would = apply(
        &client,
        &web_path(),
        "strata",
        "&dryRun=All",
        desired.clone(),
    )
    .await
    .unwrap();
    assert_eq!(would["spec"]["revisionHistoryLimit"], 10);
    assert!(s.get(&web_path()).is_none());
    assert_eq!(s.writes(), 0);

    let created = apply(&client, &web_path(), "strata", "", desired)
        .await
        .unwrap();
    let writes = s.writes();
    let changed = apply(
        &client,
        &web_path(),
        "strata",
        "&dryRun=All",
        deployment(7, json!({"app": "web"}), json!([])),
    )
    .await
    .unwrap();
    assert_eq!(changed["spec"]["replicas"], 7);
    assert_eq!(changed["metadata"]["generation"], 2);
    let live = s.get(&web_path()).unwrap();
    assert_eq!(live["spec"]["replicas"], 2);
    assert_eq!(
        live["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    // Conflicts are found in a dry run too.
    merge_patch(
        &client,
        &format!("{}?fieldManager=kubectl-edit", web_path()),
        json!({"spec": {"replicas": 4}}),
    )
    .await
    .unwrap();
    let writes_after_edit = s.writes();
    assert_eq!(writes_after_edit, writes + 1);
    let e = apply(
        &client,
        &web_path(),
        "strata",
        "&dryRun=All",
        deployment(2, json!({"app": "web"}), json!([])),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 409);

    // Dry-run delete.
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    api.delete("web", &DeleteParams::default().dry_run())
        .await
        .unwrap();
    assert!(s.get(&web_path()).is_some());
    assert_eq!(s.writes(), writes_after_edit);

    // Only `All` is a dry-run value.
    let e = apply(
        &client,
        &web_path(),
        "strata",
        "&dryRun=Yes",
        deployment(2, json!({"app": "web"}), json!([])),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 422);
}

#[tokio::test]
async fn update_managers_are_recorded_and_status_apply_is_separate() {
    let (_s, client) = start(Options::default()).await;
    let created = post(
        &client,
        &format!("{DEPLOYMENTS}?fieldManager=creator"),
        deployment(1, json!({"app": "web"}), json!([])),
    )
    .await
    .unwrap();
    assert_eq!(managers(&created), ["creator/Update"]);
    let fields = &created["metadata"]["managedFields"][0]["fieldsV1"];
    // An update owns what it set, defaulted values included, with `.` markers for new maps.
    assert_eq!(
        fields["f:metadata"]["f:labels"],
        json!({".": {}, "f:app": {}})
    );
    assert!(fields["f:spec"].get("f:revisionHistoryLimit").is_some());

    // Applying status goes through /status and is owned separately.
    let status = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "status": {"replicas": 1}});
    let obj = apply(
        &client,
        &format!("{}/status", web_path()),
        "probe",
        "",
        status,
    )
    .await
    .unwrap();
    assert_eq!(obj["status"]["replicas"], 1);
    let entry = obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["manager"] == "probe")
        .unwrap()
        .clone();
    assert_eq!(entry["subresource"], "status");
    assert_eq!(entry["fieldsV1"], json!({"f:status": {"f:replicas": {}}}));
}
