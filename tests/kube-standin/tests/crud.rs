//! Create, read, update, delete: status codes, resourceVersion and generation, scopes,
//! selectors, status subresource, and optimistic concurrency.

mod common;

use common::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::ObjectMeta;
use kube_standin::Options;
use serde_json::json;

fn config_map(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        data: Some([("k".to_string(), "v".to_string())].into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn namespaced_crud_and_errors() {
    let (s, client) = start(Options::default()).await;
    create_namespace(&client, "app").await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "app");

    let created = api
        .create(&PostParams::default(), &config_map("one", &[]))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("app"));
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some());
    let rv: u64 = meta.resource_version.as_deref().unwrap().parse().unwrap();
    assert!(
        meta.generation.is_none(),
        "ConfigMaps have no generation on a real server"
    );
    assert_eq!(
        s.get("/api/v1/namespaces/app/configmaps/one").unwrap()["data"]["k"],
        "v"
    );

    // 409 AlreadyExists with the real wording.
    let e = status(
        api.create(&PostParams::default(), &config_map("one", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(e.message, r#"configmaps "one" already exists"#);

    // 404 with details.
    let e = status(api.get("missing").await.unwrap_err());
    assert_eq!(
        (e.code, e.reason.as_str(), e.message.as_str()),
        (404, "NotFound", r#"configmaps "missing" not found"#)
    );
    assert_eq!(e.details.unwrap().kind, "configmaps");

    // Update bumps resourceVersion; a stale one is a 409 Conflict.
    let mut cm = api.get("one").await.unwrap();
    cm.data = Some([("k".to_string(), "w".to_string())].into());
    let updated = api
        .replace("one", &PostParams::default(), &cm)
        .await
        .unwrap();
    let rv2: u64 = updated
        .metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv);
    let e = status(
        api.replace("one", &PostParams::default(), &cm)
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert!(e.message.contains("the object has been modified; please apply your changes to the latest version and try again"));

    // A PUT that changes nothing is no write.
    let writes = s.writes();
    let same = api
        .replace("one", &PostParams::default(), &updated)
        .await
        .unwrap();
    assert_eq!(
        same.metadata.resource_version,
        updated.metadata.resource_version
    );
    assert_eq!(s.writes(), writes);

    // List carries the kind and a resourceVersion.
    let list = get(&client, "/api/v1/namespaces/app/configmaps")
        .await
        .unwrap();
    assert_eq!(list["kind"], "ConfigMapList");
    assert!(list["metadata"]["resourceVersion"].as_str().is_some());
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Invalid name → 422 naming the field.
    let e = status(
        api.create(&PostParams::default(), &config_map("Bad_Name", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    let cause = &e.details.unwrap().causes[0];
    assert_eq!(cause.field, "metadata.name");
    assert!(
        cause.message.contains("RFC 1123 subdomain"),
        "{}",
        cause.message
    );

    // A namespace that does not exist.
    let missing: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let e = status(
        missing
            .create(&PostParams::default(), &config_map("x", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, r#"namespaces "nowhere" not found"#)
    );

    // Body/URL mismatches are 400.
    let e = post(
        &client,
        "/api/v1/namespaces/app/configmaps",
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}),
    )
    .await
    .unwrap_err();
    assert_eq!((e.code, e.reason.as_str()), (400, "BadRequest"));
    let e = post(&client, "/api/v1/namespaces/app/configmaps", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "other"}}))
        .await
        .unwrap_err();
    assert_eq!(e.code, 400);

    // Delete, then 404.
    api.delete("one", &DeleteParams::default()).await.unwrap();
    assert_eq!(status(api.get("one").await.unwrap_err()).code, 404);
    assert_eq!(
        status(
            api.delete("one", &DeleteParams::default())
                .await
                .unwrap_err()
        )
        .code,
        404
    );
}

#[tokio::test]
async fn cluster_scoped_kinds_and_namespace_cascade() {
    let (s, client) = start(Options::default()).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("team".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let created = namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    assert_eq!(
        created.metadata.labels.unwrap()["kubernetes.io/metadata.name"],
        "team"
    );
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Active"));
    let names: Vec<String> = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .iter()
        .map(|n| n.metadata.name.clone().unwrap())
        .collect();
    assert!(names.contains(&"default".to_string()) && names.contains(&"team".to_string()));

    let classes: Api<StorageClass> = Api::all(client.clone());
    let sc: StorageClass = serde_json::from_value(
        json!({"metadata": {"name": "fast"}, "provisioner": "ebs.csi.aws.com"}),
    )
    .unwrap();
    let sc = classes.create(&PostParams::default(), &sc).await.unwrap();
    assert_eq!(sc.reclaim_policy.as_deref(), Some("Delete"));
    assert_eq!(sc.volume_binding_mode.as_deref(), Some("Immediate"));
    assert!(classes.get("fast").await.is_ok());
    assert_eq!(
        get(
            &client,
            "/apis/storage.k8s.io/v1/namespaces/team/storageclasses/fast"
        )
        .await
        .unwrap_err()
        .code,
        404
    );

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    cms.create(&PostParams::default(), &config_map("a", &[]))
        .await
        .unwrap();
    let deleted = namespaces
        .delete("team", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        deleted.is_left(),
        "a Namespace delete answers with the namespace"
    );
    assert!(
        s.get("/api/v1/namespaces/team/configmaps/a").is_none(),
        "contents go with the namespace"
    );
    assert_eq!(status(namespaces.get("team").await.unwrap_err()).code, 404);
    classes
        .delete("fast", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(status(classes.get("fast").await.unwrap_err()).code, 404);
}

fn statefulset(replicas: i32, image: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "labels": {"app": "db"}},
        "spec": {
            "replicas": replicas,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": image}]}},
        }
    })
}

#[tokio::test]
async fn generation_and_status_subresource() {
    let (_s, client) = start(Options::default()).await;
    let path = "/apis/apps/v1/namespaces/default/statefulsets";
    let created = post(&client, path, statefulset(1, "redis:7"))
        .await
        .unwrap();
    assert_eq!(created["metadata"]["generation"], 1);
    assert!(
        created.get("status").is_none(),
        "no controllers: status stays empty"
    );

    // Labels are metadata: no new generation.
    let obj = merge_patch(
        &client,
        &format!("{path}/db"),
        json!({"metadata": {"labels": {"tier": "data"}}}),
    )
    .await
    .unwrap();
    assert_eq!(obj["metadata"]["generation"], 1);
    // A spec change is.
    let obj = merge_patch(
        &client,
        &format!("{path}/db"),
        json!({"spec": {"replicas": 3}}),
    )
    .await
    .unwrap();
    assert_eq!(obj["metadata"]["generation"], 2);

    // Status on the main resource is ignored...
    let obj = merge_patch(
        &client,
        &format!("{path}/db"),
        json!({"status": {"replicas": 3}}),
    )
    .await
    .unwrap();
    assert!(obj.get("status").is_none());
    // ...and the status subresource changes only status.
    let obj = merge_patch(
        &client,
        &format!("{path}/db/status"),
        json!({"spec": {"replicas": 9}, "status": {"replicas": 3, "readyReplicas": 3, "observedGeneration": 2}}),
    )
    .await
    .unwrap();
    assert_eq!(obj["status"]["readyReplicas"], 3);
    assert_eq!(obj["spec"]["replicas"], 3);
    assert_eq!(obj["metadata"]["generation"], 2);

    // Typed access through kube's status API.
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let patched = api
        .patch_status(
            "db",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"availableReplicas": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.status.unwrap().available_replicas, Some(2));
}

#[tokio::test]
async fn json_patch_and_delete_preconditions() {
    let (s, client) = start(Options::default()).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm = api
        .create(&PostParams::default(), &config_map("p", &[]))
        .await
        .unwrap();
    let ops = json!([
        {"op": "test", "path": "/data/k", "value": "v"},
        {"op": "replace", "path": "/data/k", "value": "x"},
        {"op": "add", "path": "/data/n", "value": "1"},
        {"op": "remove", "path": "/data/n"},
    ]);
    let out = raw(
        &client,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/p",
        "application/json-patch+json",
        Some(ops),
    )
    .await
    .unwrap();
    assert_eq!(out["data"], json!({"k": "x"}));
    let failed = raw(
        &client,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/p",
        "application/json-patch+json",
        Some(json!([{"op": "test", "path": "/data/k", "value": "v"}])),
    )
    .await
    .unwrap_err();
    assert_eq!(failed.code, 422);

    // Preconditions on delete.
    let dp = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: Some("wrong".into()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let e = status(api.delete("p", &dp).await.unwrap_err());
    assert_eq!(e.code, 409);
    assert!(
        e.message
            .contains("Precondition failed: UID in precondition: wrong"),
        "{}",
        e.message
    );
    let dp = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: cm.metadata.uid.clone(),
            resource_version: None,
        }),
        ..Default::default()
    };
    // propagationPolicy is accepted (there is no garbage collector).
    let dp = DeleteParams {
        propagation_policy: Some(kube::api::PropagationPolicy::Foreground),
        ..dp
    };
    api.delete("p", &dp).await.unwrap();
    assert!(s.get("/api/v1/namespaces/default/configmaps/p").is_none());
}

#[tokio::test]
async fn label_and_field_selectors() {
    let (_s, client) = start(Options::default()).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for (name, labels) in [
        ("a", vec![("app", "web"), ("tier", "front")]),
        ("b", vec![("app", "db"), ("tier", "data")]),
        ("c", vec![("app", "cache")]),
    ] {
        api.create(&PostParams::default(), &config_map(name, &labels))
            .await
            .unwrap();
    }
    let names = |sel: &'static str| {
        let api = api.clone();
        async move {
            let list = api.list(&ListParams::default().labels(sel)).await.unwrap();
            list.items
                .into_iter()
                .map(|c| c.metadata.name.unwrap())
                .collect::<Vec<_>>()
                .join(",")
        }
    };
    assert_eq!(names("app=web").await, "a");
    assert_eq!(names("app==db").await, "b");
    assert_eq!(names("app!=web").await, "b,c");
    assert_eq!(names("app in (web,db)").await, "a,b");
    assert_eq!(names("app notin (web)").await, "b,c");
    assert_eq!(names("tier").await, "a,b");
    assert_eq!(names("!tier").await, "c");
    assert_eq!(names("app,tier=data").await, "b");
    let by_name = api
        .list(&ListParams::default().fields("metadata.name=c"))
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 1);

    // All-namespaces list.
    let all = get(&client, "/api/v1/configmaps?labelSelector=app%3Dweb")
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 1);

    // Delete collection by selector.
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("app in (db,cache)"),
    )
    .await
    .unwrap();
    assert_eq!(names("").await, "a");

    // Watch is not supported, and says so.
    let e = get(&client, "/api/v1/namespaces/default/configmaps?watch=true")
        .await
        .unwrap_err();
    assert_eq!((e.code, e.reason.as_str()), (405, "MethodNotAllowed"));
    assert!(e.message.contains("watch"));
}

#[tokio::test]
async fn lease_optimistic_concurrency() {
    let (_s, client) = start(Options::default()).await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    let lease: Lease = serde_json::from_value(json!({"metadata": {"name": "leader"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}})).unwrap();
    leases.create(&PostParams::default(), &lease).await.unwrap();

    // Two replicas read the same version; the first write wins, the second gets 409.
    let mut mine = leases.get("leader").await.unwrap();
    let mut theirs = mine.clone();
    mine.spec.as_mut().unwrap().holder_identity = Some("b".into());
    theirs.spec.as_mut().unwrap().holder_identity = Some("c".into());
    leases
        .replace("leader", &PostParams::default(), &mine)
        .await
        .unwrap();
    let e = status(
        leases
            .replace("leader", &PostParams::default(), &theirs)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 409);
    assert_eq!(
        leases
            .get("leader")
            .await
            .unwrap()
            .spec
            .unwrap()
            .holder_identity
            .as_deref(),
        Some("b")
    );
}

#[tokio::test]
async fn token_auth() {
    let (s, client) = start(Options {
        token: Some("s3cret".into()),
        ..Default::default()
    })
    .await;
    // The kubeconfig carries the token.
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.list(&ListParams::default()).await.unwrap();

    let bare = reqwest_free_get(&s.url(), None).await;
    assert_eq!(bare.0, 401);
    assert_eq!(bare.1["reason"], "Unauthorized");
    assert_eq!(reqwest_free_get(&s.url(), Some("wrong")).await.0, 401);
    assert_eq!(reqwest_free_get(&s.url(), Some("s3cret")).await.0, 200);
}

/// A GET over a plain TCP connection, to send exactly the Authorization header we choose.
async fn reqwest_free_get(url: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET /api/v1/namespaces HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let code = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (code, serde_json::from_str(body).unwrap_or_default())
}

#[tokio::test]
async fn concurrent_clients() {
    let (s, client) = start(Options::default()).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let api: Api<ConfigMap> = Api::namespaced(client, "default");
            api.create(&PostParams::default(), &config_map(&format!("c{i}"), &[]))
                .await
                .map(|_| ())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(s.list("/api/v1/namespaces/default/configmaps").len(), 16);

    // Many replicas racing for the same lease version: exactly one wins.
    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    let lease: Lease =
        serde_json::from_value(json!({"metadata": {"name": "race"}, "spec": {}})).unwrap();
    let base = leases.create(&PostParams::default(), &lease).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (leases, mut mine) = (leases.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            mine.spec.as_mut().unwrap().holder_identity = Some(format!("r{i}"));
            leases
                .replace("race", &PostParams::default(), &mine)
                .await
                .is_ok()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
}
