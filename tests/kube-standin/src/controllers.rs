//! Simulated controllers (with `Options::controllers`): the StatefulSet controller makes
//! the claims of its volumeClaimTemplates, the PV binder binds and resizes claims, and
//! StatefulSets and Deployments report their rollout done at once. They write as
//! `kube-controller-manager` through the same pipeline as clients, status through the
//! status subresource. Pods and ReplicaSets are not simulated.

use serde_json::{Map, Value, json};

use crate::kinds::ResourceType;
use crate::managed::Part;
use crate::write::{Change, State, Write, now, write};

pub const MANAGER: &str = "kube-controller-manager";

/// Reacts to a changed main resource.
pub fn react(state: &mut State, rt: &ResourceType, obj: &Value) {
    let result = match (rt.group.as_str(), rt.plural.as_str()) {
        ("apps", "statefulsets") => statefulset(state, rt, obj),
        ("apps", "deployments") => deployment(state, rt, obj),
        ("", "persistentvolumeclaims") => bind(state, rt, obj),
        _ => Ok(()),
    };
    if let Err(error) = result {
        tracing::debug!(%error, "simulated controller failed");
    }
}

fn meta(obj: &Value) -> (String, String) {
    let s = |k: &str| obj["metadata"][k].as_str().unwrap_or_default().to_owned();
    (s("namespace"), s("name"))
}

/// Writes `status` through the status subresource.
fn set_status(
    state: &mut State,
    rt: &ResourceType,
    obj: &Value,
    status: Value,
) -> Result<(), crate::error::ApiError> {
    let (ns, name) = meta(obj);
    let Some(current) = state.store.get(rt, &ns, &name).cloned() else {
        return Ok(());
    };
    let mut new = current.clone();
    new["status"] = status;
    let w = Write {
        rt,
        part: Part::Status,
        manager: MANAGER,
        dry_run: false,
    };
    write(state, &w, Some(&current), Change::Replace(new)).map(|_| ())
}

/// The claim is bound to a (pretend) volume and, once bound, resized to its request.
fn bind(state: &mut State, rt: &ResourceType, claim: &Value) -> Result<(), crate::error::ApiError> {
    let (ns, name) = meta(claim);
    let mut current = claim.clone();
    if current["spec"]["volumeName"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        let mut new = current.clone();
        new["spec"]["volumeName"] = json!(format!(
            "pvc-{}",
            claim["metadata"]["uid"].as_str().unwrap_or_default()
        ));
        let w = Write {
            rt,
            part: Part::Main,
            manager: MANAGER,
            dry_run: false,
        };
        current = write(state, &w, Some(&current), Change::Replace(new))?.object;
    }
    let request = current["spec"]["resources"]["requests"]["storage"].clone();
    let status = &current["status"];
    if status["phase"] == "Bound" && status["capacity"]["storage"] == request {
        return Ok(());
    }
    let mut status = status.as_object().cloned().unwrap_or_default();
    status.insert("phase".into(), json!("Bound"));
    status.insert("accessModes".into(), current["spec"]["accessModes"].clone());
    status.insert("capacity".into(), json!({"storage": request}));
    tracing::debug!(%ns, %name, "binding claim");
    set_status(state, rt, &current, Value::Object(status))
}

fn statefulset(
    state: &mut State,
    rt: &ResourceType,
    sts: &Value,
) -> Result<(), crate::error::ApiError> {
    let (ns, name) = meta(sts);
    let spec = &sts["spec"];
    let replicas = spec["replicas"].as_i64().unwrap_or(1);
    let claims_rt = state
        .store
        .registry
        .find("", "v1", "persistentvolumeclaims")
        .cloned()
        .expect("PVCs are built in");
    for template in spec["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let claim = template["metadata"]["name"].as_str().unwrap_or_default();
        for ordinal in 0..replicas {
            let claim_name = format!("{claim}-{name}-{ordinal}");
            if state.store.get(&claims_rt, &ns, &claim_name).is_some() {
                continue;
            }
            let mut labels: Map<String, Value> = template["metadata"]["labels"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            if let Some(selector) = spec["selector"]["matchLabels"].as_object() {
                labels.extend(selector.clone());
            }
            let mut claim_spec = template["spec"].clone();
            if let Some(m) = claim_spec.as_object_mut() {
                m.remove("volumeMode");
            }
            let mut metadata = json!({"name": claim_name, "namespace": ns, "labels": labels});
            if let Some(annotations) = template["metadata"].get("annotations") {
                metadata["annotations"] = annotations.clone();
            }
            let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata, "spec": claim_spec});
            let w = Write {
                rt: &claims_rt,
                part: Part::Main,
                manager: MANAGER,
                dry_run: false,
            };
            let created = write(state, &w, None, Change::Replace(pvc))?.object;
            bind(state, &claims_rt, &created)?;
        }
    }
    let revision = format!("{name}-{}", template_hash(&spec["template"]));
    let mut status = json!({
        "observedGeneration": sts["metadata"]["generation"],
        "replicas": replicas,
        "availableReplicas": replicas,
        "currentRevision": revision,
        "updateRevision": revision,
        "collisionCount": 0,
    });
    if replicas > 0 {
        for key in ["readyReplicas", "currentReplicas", "updatedReplicas"] {
            status[key] = json!(replicas);
        }
    }
    set_status(state, rt, sts, status)
}

fn deployment(
    state: &mut State,
    rt: &ResourceType,
    deploy: &Value,
) -> Result<(), crate::error::ApiError> {
    let (_, name) = meta(deploy);
    let replicas = deploy["spec"]["replicas"].as_i64().unwrap_or(1);
    let replica_set = format!("{name}-{}", template_hash(&deploy["spec"]["template"]));
    let old_conditions = deploy["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let now = now();
    // A condition keeps its times while its status and reason hold, as the controller does.
    let condition = |kind: &str, reason: &str, message: String| {
        let same = old_conditions
            .iter()
            .find(|c| c["type"] == kind && c["reason"] == reason);
        let (updated, transitioned) = match same {
            Some(c) => (c["lastUpdateTime"].clone(), c["lastTransitionTime"].clone()),
            None => (json!(now), json!(now)),
        };
        json!({"type": kind, "status": "True", "reason": reason, "message": message,
            "lastUpdateTime": updated, "lastTransitionTime": transitioned})
    };
    let conditions = [
        condition(
            "Available",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
        ),
        condition(
            "Progressing",
            "NewReplicaSetAvailable",
            format!("ReplicaSet {replica_set:?} has successfully progressed."),
        ),
    ];
    let mut status =
        json!({"observedGeneration": deploy["metadata"]["generation"], "conditions": conditions});
    if replicas > 0 {
        for key in [
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
        ] {
            status[key] = json!(replicas);
        }
    }
    set_status(state, rt, deploy, status)
}

/// A short stable hash of a pod template, spelled like the controller's revision hashes.
pub fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hash: u32 = 0x811c_9dc5;
    for byte in template.to_string().bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.to_string()
        .bytes()
        .map(|b| ALPHABET[usize::from(b) % ALPHABET.len()] as char)
        .collect()
}
