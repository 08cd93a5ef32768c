//! Safe prune: previous inventory − desired, with the guards that keep data alive.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{DeleteParams, DynamicObject, Preconditions};
use strata_agent_core::object::{CustomObject, Object, ObjectKey};
use strata_agent_core::render::labels;

use crate::Error;

/// Why an object in the inventory was not deleted.
#[derive(Clone, Debug, PartialEq)]
pub enum Kept {
    /// PersistentVolumeClaims and Namespaces are never deleted (nor PersistentVolumes and
    /// CustomResourceDefinitions, whose deletion takes every custom object with it).
    Protected,
    /// The live object no longer carries the agent's ownership labels.
    NotOwned,
    /// Already gone.
    Gone,
}

#[derive(Clone, Debug, Default)]
pub struct PruneReport {
    pub deleted: Vec<ObjectKey>,
    pub kept: Vec<(ObjectKey, Kept)>,
    /// Deletes that failed: they stay in the inventory and are retried next pass.
    pub failed: Vec<(ObjectKey, String)>,
}

/// Deletes `candidates` (previous inventory − desired), in reverse apply order.
pub async fn prune(
    cluster: &crate::Cluster,
    candidates: &BTreeSet<ObjectKey>,
) -> Result<PruneReport, Error> {
    let mut ordered: Vec<&ObjectKey> = candidates.iter().collect();
    // Workloads before the services and configuration they use; stable within a rank.
    ordered.sort_by_key(|key| std::cmp::Reverse(rank(key)));
    let mut report = PruneReport::default();
    for key in ordered {
        match prune_one(cluster, key).await? {
            Outcome::Deleted => {
                tracing::info!(%key, "pruned");
                report.deleted.push(key.clone());
            }
            Outcome::Kept(why) => report.kept.push((key.clone(), why)),
            Outcome::Failed(message) => {
                tracing::warn!(%key, message, "prune failed");
                report.failed.push((key.clone(), message));
            }
        }
    }
    Ok(report)
}

enum Outcome {
    Deleted,
    Kept(Kept),
    Failed(String),
}

/// Kinds whose deletion destroys data: volumes, everything in a namespace, every object
/// of a custom kind.
fn is_protected(key: &ObjectKey) -> bool {
    matches!(
        (key.group.as_str(), key.kind.as_str()),
        (
            "",
            "PersistentVolumeClaim" | "Namespace" | "PersistentVolume"
        ) | ("apiextensions.k8s.io", "CustomResourceDefinition")
    )
}

/// The kind's position in apply order, from the same rule the renderer sorts by.
fn rank(key: &ObjectKey) -> u8 {
    let api_version = if key.group.is_empty() {
        "v1".to_owned()
    } else {
        format!("{}/v1", key.group)
    };
    Object::Custom(CustomObject::new(
        &api_version,
        &key.kind,
        ObjectMeta::default(),
    ))
    .apply_rank()
}

async fn prune_one(cluster: &crate::Cluster, key: &ObjectKey) -> Result<Outcome, Error> {
    if is_protected(key) {
        return Ok(Outcome::Kept(Kept::Protected));
    }
    // A kind no longer served (its CRD deleted) took its objects with it.
    let Some(resolved) = cluster.resolve(&key.group, &key.kind, None).await? else {
        return Ok(Outcome::Kept(Kept::Gone));
    };
    let api = cluster.api(&resolved, key.namespace.as_deref());
    let live = match api.get_opt(&key.name).await {
        Ok(Some(live)) => live,
        Ok(None) => return Ok(Outcome::Kept(Kept::Gone)),
        Err(e) => return Ok(Outcome::Failed(format!("reading it: {e}"))),
    };
    if !owned(cluster, key, &live).await {
        tracing::warn!(%key, "not pruned: the live object is not the agent's (labels or owner changed)");
        return Ok(Outcome::Kept(Kept::NotOwned));
    }
    // Delete exactly what was checked: if it changed since (re-labelled, re-created), the
    // precondition fails and the next pass looks again.
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            resource_version: live.metadata.resource_version.clone(),
            uid: live.metadata.uid.clone(),
        }),
        ..DeleteParams::background()
    };
    match api.delete(&key.name, &params).await {
        Ok(_) => Ok(Outcome::Deleted),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Outcome::Kept(Kept::Gone)),
        Err(kube::Error::Api(status)) => Ok(Outcome::Failed(format!(
            "HTTP {}: {}",
            status.code, status.message
        ))),
        Err(e) => Ok(Outcome::Failed(e.to_string())),
    }
}

/// Whether the live object is still the agent's. Operators copy labels onto what they
/// generate (Flux once pruned Strimzi's objects that way), so the managed-by label alone
/// is not enough: the workload label must be there too, and no controller other than an
/// object of the agent's may own it.
async fn owned(cluster: &crate::Cluster, key: &ObjectKey, live: &DynamicObject) -> bool {
    if !has_ownership_labels(&live.metadata) {
        return false;
    }
    for owner in controllers(&live.metadata) {
        if !owner_is_agents(cluster, key, owner).await {
            return false;
        }
    }
    true
}

fn has_ownership_labels(metadata: &ObjectMeta) -> bool {
    let labels = metadata.labels.as_ref();
    let label = |name: &str| labels.and_then(|l| l.get(name)).map(String::as_str);
    label(labels::MANAGED_BY) == Some(labels::AGENT)
        && label(labels::WORKLOAD).is_some_and(|w| !w.is_empty())
}

fn controllers(metadata: &ObjectMeta) -> impl Iterator<Item = &OwnerReference> {
    metadata
        .owner_references
        .iter()
        .flatten()
        .filter(|r| r.controller == Some(true))
}

async fn owner_is_agents(
    cluster: &crate::Cluster,
    key: &ObjectKey,
    owner: &OwnerReference,
) -> bool {
    let (group, version) = owner
        .api_version
        .rsplit_once('/')
        .unwrap_or(("", &owner.api_version));
    let Ok(Some(resolved)) = cluster.resolve(group, &owner.kind, Some(version)).await else {
        return false;
    };
    let api = cluster.api(&resolved, key.namespace.as_deref());
    match api.get_opt(&owner.name).await {
        Ok(Some(found)) => {
            found.metadata.uid.as_deref() == Some(owner.uid.as_str())
                && has_ownership_labels(&found.metadata)
        }
        // Gone or unreadable: the garbage collector, not the agent, takes it from here.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(group: &str, kind: &str) -> ObjectKey {
        ObjectKey {
            group: group.into(),
            kind: kind.into(),
            namespace: Some("data".into()),
            name: "x".into(),
        }
    }

    #[test]
    fn workloads_go_before_services_and_configuration() {
        let mut keys = [
            key("", "ConfigMap"),
            key("", "Service"),
            key("monitoring.coreos.com", "ServiceMonitor"),
            key("apps", "StatefulSet"),
            key("policy", "PodDisruptionBudget"),
        ];
        keys.sort_by_key(|k| std::cmp::Reverse(rank(k)));
        let kinds: Vec<_> = keys.iter().map(|k| k.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "ServiceMonitor",
                "PodDisruptionBudget",
                "StatefulSet",
                "Service",
                "ConfigMap"
            ]
        );
    }

    #[test]
    fn data_holding_kinds_are_protected() {
        assert!(is_protected(&key("", "PersistentVolumeClaim")));
        assert!(is_protected(&key("", "Namespace")));
        assert!(is_protected(&key(
            "apiextensions.k8s.io",
            "CustomResourceDefinition"
        )));
        assert!(!is_protected(&key("", "ConfigMap")));
        assert!(!is_protected(&key("apps", "StatefulSet")));
    }

    #[test]
    fn ownership_needs_both_labels() {
        let meta = |pairs: &[(&str, &str)]| ObjectMeta {
            labels: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        };
        assert!(has_ownership_labels(&meta(&[
            (labels::MANAGED_BY, labels::AGENT),
            (labels::WORKLOAD, "redis")
        ])));
        assert!(!has_ownership_labels(&meta(&[(
            labels::MANAGED_BY,
            labels::AGENT
        )])));
        assert!(!has_ownership_labels(&meta(&[
            (labels::MANAGED_BY, "strimzi"),
            (labels::WORKLOAD, "redis")
        ])));
    }
}
