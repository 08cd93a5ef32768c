//! Finding the server pods through the Kubernetes API: the StatefulSet's pods by its
//! selector labels, those ready to serve, with their addresses.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use strata_agent_core::tier::redis::REDIS_PORT;

use super::member::Member;
use crate::error::Error;

/// The ready pods of StatefulSet `set` in `namespace`, in ordinal order.
pub async fn ready_members(
    client: &kube::Client,
    namespace: &str,
    selector: &BTreeMap<String, String>,
    set: &str,
) -> Result<Vec<Member>, Error> {
    let labels: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let pods = Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels(&labels.join(",")))
        .await
        .map_err(|source| Error::ListPods {
            namespace: namespace.to_owned(),
            source,
        })?;
    let mut members: Vec<Member> = pods.items.iter().filter_map(|p| member(p, set)).collect();
    members.sort_by_key(|m| m.ordinal);
    Ok(members)
}

/// The pod as a cluster member, if it is one of `set`'s, is not being deleted, has an
/// IP and is Ready (its probe answers PONG).
pub fn member(pod: &Pod, set: &str) -> Option<Member> {
    let name = pod.metadata.name.as_deref()?;
    let ordinal = name.strip_prefix(set)?.strip_prefix('-')?.parse().ok()?;
    if pod.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let status = pod.status.as_ref()?;
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let ip: IpAddr = status.pod_ip.as_deref()?.parse().ok()?;
    ready.then(|| Member {
        ordinal,
        pod: name.to_owned(),
        ip,
        port: redis_port(pod),
    })
}

/// The container port named `redis` (the render names it so), else Redis's default.
fn redis_port(pod: &Pod) -> u16 {
    pod.spec
        .iter()
        .flat_map(|spec| &spec.containers)
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some("redis"))
        .and_then(|p| u16::try_from(p.container_port).ok())
        .unwrap_or(REDIS_PORT as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, ip: Option<&str>, ready: &str, port: Option<i32>) -> Pod {
        let ports = port.map(|p| serde_json::json!([{ "name": "redis", "containerPort": p }]));
        serde_json::from_value(serde_json::json!({
            "metadata": { "name": name },
            "spec": { "containers": [{ "name": "redis", "ports": ports }] },
            "status": {
                "podIP": ip,
                "conditions": [{ "type": "Ready", "status": ready }],
            },
        }))
        .unwrap()
    }

    #[test]
    fn reads_ordinal_address_and_port() {
        let m = member(
            &pod("cache-4", Some("10.0.0.9"), "True", Some(7000)),
            "cache",
        )
        .unwrap();
        assert_eq!((m.ordinal, m.addr()), (4, "10.0.0.9:7000".to_owned()));
        let m = member(&pod("cache-0", Some("10.0.0.9"), "True", None), "cache").unwrap();
        assert_eq!(m.port, 6379);
    }

    #[test]
    fn skips_pods_not_ready_or_not_the_sets() {
        assert!(member(&pod("cache-1", Some("10.0.0.9"), "False", None), "cache").is_none());
        assert!(member(&pod("cache-1", None, "True", None), "cache").is_none());
        assert!(
            member(
                &pod("cache-sentinel-0", Some("10.0.0.9"), "True", None),
                "cache"
            )
            .is_none()
        );
        assert!(member(&pod("cachex-1", Some("10.0.0.9"), "True", None), "cache").is_none());
        let mut deleting = pod("cache-1", Some("10.0.0.9"), "True", None);
        deleting.metadata.deletion_timestamp =
            Some(serde_json::from_value(serde_json::json!("2024-01-01T00:00:00Z")).unwrap());
        assert!(member(&deleting, "cache").is_none());
    }
}
