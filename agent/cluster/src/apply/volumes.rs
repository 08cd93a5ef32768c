//! StatefulSet `volumeClaimTemplates`: immutable in the API, so a change is either a
//! storage increase the agent performs the documented way (grow each PVC, delete the
//! StatefulSet orphaning its pods and claims, re-create it), or a refusal with advice.

use std::cmp::Ordering;
use std::time::Duration;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, Preconditions};
use serde_json::{Value, json};
use strata_agent_core::object::ObjectKey;
use strata_agent_core::quantity::Quantity;

use super::failure::{self, object_name};
use super::{Change, Failure};
use crate::diff::{is_subset, normalise_claim_template};
use crate::{Cluster, FIELD_MANAGER};

/// How long to wait for the orphaning delete to finish before re-creating.
const DELETE_TIMEOUT: Duration = Duration::from_secs(30);

/// One claim template whose storage request grows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Expansion {
    pub index: usize,
    pub template: String,
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Plan {
    /// The templates match: nothing special to do.
    Unchanged,
    /// Only storage requests grow.
    Expand(Vec<Expansion>),
    /// Anything else: the API would refuse it, and the agent will not delete volumes.
    Refuse(Failure),
}

/// Compares the desired claim templates of a StatefulSet with the live ones.
pub(crate) fn plan(key: &ObjectKey, desired: &Value, live: &Value) -> Plan {
    let desired = templates(desired);
    let live = templates(live);
    let names = |t: &[(String, Value)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let (desired_names, live_names) = (names(&desired), names(&live));
    if desired_names != live_names {
        let added: Vec<_> = desired_names
            .iter()
            .filter(|n| !live_names.contains(n))
            .cloned()
            .collect();
        let removed: Vec<_> = live_names
            .iter()
            .filter(|n| !desired_names.contains(n))
            .cloned()
            .collect();
        let what = match (added.is_empty(), removed.is_empty()) {
            (false, _) => format!("gain the template {}", added.join(", ")),
            (true, false) => format!("lose the template {}", removed.join(", ")),
            (true, true) => "reorder their templates".to_owned(),
        };
        return refuse(key, "spec.volumeClaimTemplates", &what);
    }
    let mut expansions = Vec::new();
    for (index, ((name, desired), (_, live))) in desired.iter().zip(&live).enumerate() {
        let field = |rest: &str| format!("spec.volumeClaimTemplates[{index}].spec.{rest}");
        let d_spec = &desired["spec"];
        let l_spec = &live["spec"];
        if d_spec["storageClassName"] != l_spec["storageClassName"] {
            let what = format!(
                "change storageClassName ({} → {})",
                text(&l_spec["storageClassName"]),
                text(&d_spec["storageClassName"])
            );
            return refuse(key, &field("storageClassName"), &what);
        }
        if d_spec["accessModes"] != l_spec["accessModes"] {
            return refuse(key, &field("accessModes"), "change accessModes");
        }
        let d_size = d_spec
            .pointer("/resources/requests/storage")
            .and_then(Value::as_str);
        let l_size = l_spec
            .pointer("/resources/requests/storage")
            .and_then(Value::as_str);
        match (d_size, l_size) {
            (Some(to), Some(from)) => match compare_sizes(to, from) {
                Some(Ordering::Equal) => {}
                Some(Ordering::Greater) => expansions.push(Expansion {
                    index,
                    template: name.clone(),
                    from: from.to_owned(),
                    to: to.to_owned(),
                }),
                Some(Ordering::Less) => {
                    let what = format!("shrink storage ({from} → {to}; volumes never shrink)");
                    return refuse(key, &field("resources.requests.storage"), &what);
                }
                None => {
                    return Plan::Refuse(Failure::Invalid {
                        message: format!(
                            "{}: `{to}` or `{from}` is not a storage quantity",
                            field("resources")
                        ),
                    });
                }
            },
            (None, None) => {}
            _ => {
                return refuse(
                    key,
                    &field("resources.requests.storage"),
                    "change the storage request",
                );
            }
        }
        // Everything else the agent sets must already be there (the live side also
        // holds server defaults, hence a subset test rather than equality).
        let rest = |template: &Value| {
            let mut template = template.clone();
            normalise_claim_template(&mut template);
            if let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut) {
                spec.remove("storageClassName");
                spec.remove("accessModes");
            }
            if let Some(requests) = template
                .pointer_mut("/spec/resources/requests")
                .and_then(Value::as_object_mut)
            {
                requests.remove("storage");
            }
            template
        };
        if !is_subset(&rest(desired), &rest(live)) {
            return refuse(
                key,
                &format!("spec.volumeClaimTemplates[{index}]"),
                "change labels, selector or volume mode",
            );
        }
    }
    if expansions.is_empty() {
        Plan::Unchanged
    } else {
        Plan::Expand(expansions)
    }
}

fn templates(sts: &Value) -> Vec<(String, Value)> {
    sts.pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| (text(&t["metadata"]["name"]), t.clone()))
        .collect()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "none".to_owned(),
        other => other.to_string(),
    }
}

fn refuse(key: &ObjectKey, field: &str, what: &str) -> Plan {
    Plan::Refuse(Failure::Immutable {
        field: field.to_owned(),
        advice: format!(
            "volumeClaimTemplates of StatefulSet {} cannot {what}; create a new StatefulSet under \
             another name and migrate the data, the agent will not delete volumes",
            object_name(key)
        ),
    })
}

/// Compares two sizes (`100Gi`, `107374182400`, `1T`) by value; `None` if either does
/// not parse.
pub(crate) fn compare_sizes(a: &str, b: &str) -> Option<Ordering> {
    let a = Quantity::new(a).value().ok()?;
    let b = Quantity::new(b).value().ok()?;
    a.partial_cmp(&b)
}

/// What an expansion needs besides the plan.
pub(crate) struct Target<'a> {
    pub cluster: &'a Cluster,
    pub key: &'a ObjectKey,
    pub api: &'a Api<DynamicObject>,
    pub desired: &'a Value,
    pub live_uid: Option<String>,
    pub dry_run: bool,
    pub force: bool,
}

/// Grows the claims, then replaces the StatefulSet without touching its pods or claims.
pub(crate) async fn expand(
    target: Target<'_>,
    expansions: &[Expansion],
) -> Result<Change, Failure> {
    let Target { cluster, key, .. } = target;
    let namespace = key.namespace.as_deref().unwrap_or("default");
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), namespace);
    let existing = claims
        .list(&ListParams::default())
        .await
        .map_err(|e| failure::from_error(key, &e))?;
    let mut grow = Vec::new();
    for expansion in expansions {
        let prefix = format!("{}-{}-", expansion.template, key.name);
        for claim in &existing.items {
            let name = claim.metadata.name.as_deref().unwrap_or_default();
            let Some(ordinal) = name.strip_prefix(&prefix) else {
                continue;
            };
            if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let spec = claim.spec.as_ref();
            let current = spec
                .and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get("storage"))
                .map(|q| q.0.as_str());
            if current.is_some_and(|c| compare_sizes(c, &expansion.to) != Some(Ordering::Less)) {
                continue;
            }
            let class = spec.and_then(|s| s.storage_class_name.clone());
            check_class(cluster, key, expansion, name, class.as_deref()).await?;
            grow.push((name.to_owned(), expansion, class));
        }
    }
    let change = reported(expansions);
    if target.dry_run {
        return Ok(change);
    }
    for (name, expansion, class) in grow {
        let patch = json!({"spec": {"resources": {"requests": {"storage": expansion.to}}}});
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..Default::default()
        };
        match claims.patch(&name, &params, &Patch::Merge(&patch)).await {
            Ok(_) => {
                tracing::info!(%key, claim = name, from = expansion.from, to = expansion.to, "expanded volume")
            }
            Err(kube::Error::Api(status)) if matches!(status.code, 403 | 422) => {
                return Err(not_expandable(
                    key,
                    expansion,
                    &name,
                    class.as_deref(),
                    &status.message,
                ));
            }
            Err(e) => return Err(failure::from_error(key, &e)),
        }
    }
    replace(target).await?;
    Ok(change)
}

/// Refuses before growing anything when the claim's StorageClass says it cannot grow,
/// so a StatefulSet is never left with half of its claims resized.
async fn check_class(
    cluster: &Cluster,
    key: &ObjectKey,
    expansion: &Expansion,
    claim: &str,
    class: Option<&str>,
) -> Result<(), Failure> {
    let Some(class) = class else {
        return Ok(());
    };
    let classes: Api<StorageClass> = Api::all(cluster.client.clone());
    // Unreadable (RBAC) or absent: let the API server decide on the patch itself.
    if let Ok(Some(found)) = classes.get_opt(class).await
        && found.allow_volume_expansion != Some(true)
    {
        return Err(not_expandable(
            key,
            expansion,
            claim,
            Some(class),
            "the StorageClass does not allow volume expansion",
        ));
    }
    Ok(())
}

fn not_expandable(
    key: &ObjectKey,
    expansion: &Expansion,
    claim: &str,
    class: Option<&str>,
    why: &str,
) -> Failure {
    let class = class.unwrap_or("(the default class)");
    Failure::Immutable {
        field: format!(
            "spec.volumeClaimTemplates[{}].spec.resources.requests.storage",
            expansion.index
        ),
        advice: format!(
            "PersistentVolumeClaim {claim} of StatefulSet {} cannot grow from {} to {} ({why}); set \
             allowVolumeExpansion: true on StorageClass {class} if its provisioner can resize \
             volumes, or keep the size at {}",
            object_name(key),
            expansion.from,
            expansion.to,
            expansion.from,
        ),
    }
}

/// Deletes the StatefulSet orphaning its pods and claims, waits until it is gone, and
/// applies it again with the new templates; its pods are adopted back unchanged.
async fn replace(target: Target<'_>) -> Result<(), Failure> {
    let Target { key, api, .. } = target;
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: target.live_uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::orphan()
    };
    match api.delete(&key.name, &params).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(e) => return Err(failure::from_error(key, &e)),
    }
    let deadline = tokio::time::Instant::now() + DELETE_TIMEOUT;
    loop {
        match api.get_opt(&key.name).await {
            Ok(None) => break,
            Ok(Some(live)) if live.metadata.uid != target.live_uid => break,
            Ok(Some(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(Some(_)) => {
                return Err(Failure::Transient {
                    message: format!(
                        "{key}: still being deleted (orphaning its pods) after {}s; it is re-created on the next pass",
                        DELETE_TIMEOUT.as_secs()
                    ),
                });
            }
            Err(e) => return Err(failure::from_error(key, &e)),
        }
    }
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = target.force;
    api.patch(&key.name, &params, &Patch::Apply(target.desired))
        .await
        .map_err(|e| failure::from_error(key, &e))?;
    tracing::info!(%key, "re-created with the new volumeClaimTemplates (pods and claims kept)");
    Ok(())
}

fn reported(expansions: &[Expansion]) -> Change {
    match expansions {
        [one] => Change::Expanded {
            from: one.from.clone(),
            to: one.to.clone(),
        },
        many => Change::Expanded {
            from: many
                .iter()
                .map(|e| format!("{}={}", e.template, e.from))
                .collect::<Vec<_>>()
                .join(","),
            to: many
                .iter()
                .map(|e| format!("{}={}", e.template, e.to))
                .collect::<Vec<_>>()
                .join(","),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ObjectKey {
        ObjectKey {
            group: "apps".into(),
            kind: "StatefulSet".into(),
            namespace: Some("data".into()),
            name: "redis".into(),
        }
    }

    fn sts(templates: Value) -> Value {
        json!({"kind": "StatefulSet", "spec": {"volumeClaimTemplates": templates}})
    }

    fn template(name: &str, size: &str, class: &str) -> Value {
        json!({"metadata": {"name": name, "labels": {"app": "redis"}}, "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": class,
            "resources": {"requests": {"storage": size}}
        }})
    }

    /// The live form: server defaults and status on top of what was applied.
    fn live(name: &str, size: &str, class: &str) -> Value {
        let mut t = template(name, size, class);
        t["apiVersion"] = json!("v1");
        t["kind"] = json!("PersistentVolumeClaim");
        t["metadata"]["creationTimestamp"] = Value::Null;
        t["spec"]["volumeMode"] = json!("Filesystem");
        t["status"] = json!({"phase": "Pending"});
        t
    }

    #[test]
    fn sizes_compare_by_value() {
        assert_eq!(
            compare_sizes("100Gi", "107374182400"),
            Some(Ordering::Equal)
        );
        assert_eq!(compare_sizes("1Ti", "1000Gi"), Some(Ordering::Greater));
        assert_eq!(compare_sizes("1G", "1Gi"), Some(Ordering::Less));
        assert_eq!(compare_sizes("512Mi", "0.5Gi"), Some(Ordering::Equal));
        assert_eq!(compare_sizes("20Gi", "lots"), None);
    }

    #[test]
    fn same_templates_with_server_defaults_are_unchanged() {
        let plan = plan(
            &key(),
            &sts(json!([template("data", "10Gi", "gp3")])),
            &sts(json!([live("data", "10Gi", "gp3")])),
        );
        assert_eq!(plan, Plan::Unchanged);
    }

    #[test]
    fn equal_sizes_in_other_units_are_unchanged() {
        let plan = plan(
            &key(),
            &sts(json!([template("data", "10240Mi", "gp3")])),
            &sts(json!([live("data", "10Gi", "gp3")])),
        );
        assert_eq!(plan, Plan::Unchanged);
    }

    #[test]
    fn increase_is_an_expansion() {
        let plan = plan(
            &key(),
            &sts(json!([template("data", "20Gi", "gp3")])),
            &sts(json!([live("data", "10Gi", "gp3")])),
        );
        assert_eq!(
            plan,
            Plan::Expand(vec![Expansion {
                index: 0,
                template: "data".into(),
                from: "10Gi".into(),
                to: "20Gi".into()
            }])
        );
    }

    fn refused(plan: Plan) -> (String, String) {
        match plan {
            Plan::Refuse(Failure::Immutable { field, advice }) => (field, advice),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn shrink_is_refused() {
        let (field, advice) = refused(plan(
            &key(),
            &sts(json!([template("data", "5Gi", "gp3")])),
            &sts(json!([live("data", "10Gi", "gp3")])),
        ));
        assert_eq!(
            field,
            "spec.volumeClaimTemplates[0].spec.resources.requests.storage"
        );
        assert!(advice.contains("shrink"), "{advice}");
    }

    #[test]
    fn storage_class_change_is_refused_with_advice() {
        let (field, advice) = refused(plan(
            &key(),
            &sts(json!([template("data", "20Gi", "gp3")])),
            &sts(json!([live("data", "10Gi", "gp2")])),
        ));
        assert_eq!(field, "spec.volumeClaimTemplates[0].spec.storageClassName");
        assert_eq!(
            advice,
            "volumeClaimTemplates of StatefulSet data/redis cannot change storageClassName (gp2 → gp3); \
             create a new StatefulSet under another name and migrate the data, the agent will not delete volumes"
        );
    }

    #[test]
    fn new_template_is_refused() {
        let (field, advice) = refused(plan(
            &key(),
            &sts(json!([
                template("data", "10Gi", "gp3"),
                template("logs", "1Gi", "gp3")
            ])),
            &sts(json!([live("data", "10Gi", "gp3")])),
        ));
        assert_eq!(field, "spec.volumeClaimTemplates");
        assert!(advice.contains("gain the template logs"), "{advice}");
    }

    #[test]
    fn label_change_is_refused() {
        let mut desired = template("data", "10Gi", "gp3");
        desired["metadata"]["labels"]["app"] = json!("other");
        let (field, _) = refused(plan(
            &key(),
            &sts(json!([desired])),
            &sts(json!([live("data", "10Gi", "gp3")])),
        ));
        assert_eq!(field, "spec.volumeClaimTemplates[0]");
    }

    #[test]
    fn several_expansions_are_reported_together() {
        let e = |t: &str, from: &str, to: &str| Expansion {
            index: 0,
            template: t.into(),
            from: from.into(),
            to: to.into(),
        };
        assert_eq!(
            reported(&[e("data", "1Gi", "2Gi"), e("logs", "1Gi", "3Gi")]),
            Change::Expanded {
                from: "data=1Gi,logs=1Gi".into(),
                to: "data=2Gi,logs=3Gi".into()
            }
        );
    }
}
