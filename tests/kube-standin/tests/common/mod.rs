//! Shared helpers: a kube client on the stand-in's kubeconfig, and raw requests for
//! status codes and bodies.

#![allow(dead_code)]

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::Status;
use kube::{Client, Config};
use kube_standin::{Options, StandIn};
use serde_json::Value;

/// A client built the way product code builds one: from the kubeconfig.
pub async fn client(standin: &StandIn) -> Client {
    let kubeconfig = Kubeconfig::from_yaml(&standin.kubeconfig()).expect("kubeconfig parses");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig is accepted");
    Client::try_from(config).expect("client")
}

pub async fn start(options: Options) -> (StandIn, Client) {
    let standin = StandIn::start(options).expect("stand-in starts");
    let client = client(&standin).await;
    (standin, client)
}

/// The `Status` of a failed kube call.
pub fn status(error: kube::Error) -> Status {
    match error {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// A raw request; `Err` carries the `Status` of a 4xx/5xx.
pub async fn raw(
    client: &Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<Value>,
) -> Result<Value, Status> {
    let body = body
        .map(|b| serde_json::to_vec(&b).unwrap())
        .unwrap_or_default();
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body)
        .unwrap();
    match client.request_text(request).await {
        Ok(text) => Ok(serde_json::from_str(&text).expect("JSON body")),
        Err(error) => Err(status(error)),
    }
}

pub async fn get(client: &Client, path: &str) -> Result<Value, Status> {
    raw(client, "GET", path, "application/json", None).await
}

pub async fn post(client: &Client, path: &str, body: Value) -> Result<Value, Status> {
    raw(client, "POST", path, "application/json", Some(body)).await
}

pub async fn put(client: &Client, path: &str, body: Value) -> Result<Value, Status> {
    raw(client, "PUT", path, "application/json", Some(body)).await
}

pub async fn merge_patch(client: &Client, path: &str, body: Value) -> Result<Value, Status> {
    raw(
        client,
        "PATCH",
        path,
        "application/merge-patch+json",
        Some(body),
    )
    .await
}

/// Server-side apply by `manager` to `path` (`query` appended, e.g. `&force=true`).
pub async fn apply(
    client: &Client,
    path: &str,
    manager: &str,
    query: &str,
    body: Value,
) -> Result<Value, Status> {
    let path = format!("{path}?fieldManager={manager}{query}");
    raw(
        client,
        "PATCH",
        &path,
        "application/apply-patch+yaml",
        Some(body),
    )
    .await
}

pub async fn create_namespace(client: &Client, name: &str) {
    post(
        client,
        "/api/v1/namespaces",
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
    )
    .await
    .expect("namespace created");
}

/// The managers named in `metadata.managedFields`, as `manager/operation`.
pub fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            format!(
                "{}/{}",
                m["manager"].as_str().unwrap(),
                m["operation"].as_str().unwrap()
            )
        })
        .collect()
}
