//! The Kubernetes side of the tests: the API stand-in, and the objects the render and
//! the kubelet would have made (Namespace, server pods with their status, Secret).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube_standin::{Options, StandIn};
use serde_json::json;

use super::servers::Server;
use super::{NAME, NAMESPACE, server_labels};

/// A running stand-in and a client for it, with the test namespace created.
pub struct Cluster {
    pub standin: StandIn,
    pub client: kube::Client,
}

impl Cluster {
    pub async fn start() -> Cluster {
        let standin = StandIn::start(Options::default()).expect("starting the kube stand-in");
        let kubeconfig = Kubeconfig::from_yaml(&standin.kubeconfig()).expect("stand-in kubeconfig");
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .expect("kube config from the stand-in's kubeconfig");
        let client = kube::Client::try_from(config).expect("kube client");
        let namespace: Namespace =
            serde_json::from_value(json!({ "metadata": { "name": NAMESPACE } })).unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .expect("creating the namespace");
        Cluster { standin, client }
    }

    /// Creates pod `cache-<ordinal>` for `server` as the StatefulSet would (its selector
    /// labels, the `redis` container port), then writes its status as the kubelet would:
    /// the server's address as `podIP`, and `Ready` as given.
    pub async fn add_pod(&self, server: &Server, ready: bool) {
        let name = format!("{NAME}-{}", server.ordinal);
        let pod: Pod = serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": { "name": name, "namespace": NAMESPACE, "labels": server_labels() },
            "spec": { "containers": [{
                "name": "redis",
                "image": "redis:7.2-alpine",
                "ports": [{ "name": "redis", "containerPort": server.port }],
            }] },
        }))
        .unwrap();
        let pods = Api::<Pod>::namespaced(self.client.clone(), NAMESPACE);
        pods.create(&PostParams::default(), &pod)
            .await
            .unwrap_or_else(|e| panic!("creating pod {name}: {e}"));
        let status = json!({ "status": {
            "phase": "Running",
            "podIP": server.ip.to_string(),
            "podIPs": [{ "ip": server.ip.to_string() }],
            "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" } }],
        } });
        pods.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap_or_else(|e| panic!("writing the status of pod {name}: {e}"));
    }

    /// A Secret `name` in the test namespace with `key` = `value`.
    pub async fn add_secret(&self, name: &str, key: &str, value: &str) {
        // `data`, not `stringData`: only a real API server folds the latter in.
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(NAMESPACE.to_owned()),
                ..Default::default()
            },
            data: Some(BTreeMap::from([(
                key.to_owned(),
                ByteString(value.as_bytes().to_vec()),
            )])),
            ..Default::default()
        };
        Api::<Secret>::namespaced(self.client.clone(), NAMESPACE)
            .create(&PostParams::default(), &secret)
            .await
            .unwrap_or_else(|e| panic!("creating Secret {name}: {e}"));
    }
}
