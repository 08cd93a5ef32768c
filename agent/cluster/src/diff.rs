//! Comparing objects as JSON: normalisation of what the server owns, the paths that
//! differ, and "is everything we ask for already there".

use serde_json::Value;
use strata_agent_core::render::labels::REVISION;

/// Metadata the API server maintains on every write; never part of a comparison.
const SERVER_METADATA: [&str; 6] = [
    "resourceVersion",
    "managedFields",
    "generation",
    "creationTimestamp",
    "uid",
    "selfLink",
];

/// Drops what the server writes and the agent never sets, so the dry-run result of an
/// apply and the live object compare equal when nothing the agent owns would change.
pub fn normalise(value: &mut Value) {
    let Some(object) = value.as_object_mut() else {
        return;
    };
    object.remove("status");
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in SERVER_METADATA {
            metadata.remove(field);
        }
        // Every commit stamps its revision on every object; a commit that leaves an
        // object otherwise alone must not rewrite it. The live annotation thus names
        // the revision that last changed the object.
        let annotations = metadata
            .get_mut("annotations")
            .and_then(Value::as_object_mut);
        if let Some(annotations) = annotations {
            annotations.remove(REVISION);
            if annotations.is_empty() {
                metadata.remove("annotations");
            }
        }
    }
    if object.get("kind").and_then(Value::as_str) == Some("StatefulSet") {
        let templates = object
            .get_mut("spec")
            .and_then(|s| s.get_mut("volumeClaimTemplates"))
            .and_then(Value::as_array_mut);
        for template in templates.into_iter().flatten() {
            normalise_claim_template(template);
        }
    }
}

/// A StatefulSet's claim templates come back with a `status`, a creation timestamp and
/// the defaulted `volumeMode: Filesystem`, none of which the agent renders: left in, they
/// make the object look out of sync forever (a classic of Argo CD).
pub fn normalise_claim_template(template: &mut Value) {
    let Some(template) = template.as_object_mut() else {
        return;
    };
    template.remove("status");
    if let Some(metadata) = template.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("creationTimestamp");
    }
    if let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut)
        && spec.get("volumeMode").and_then(Value::as_str) == Some("Filesystem")
    {
        spec.remove("volumeMode");
    }
}

/// The dotted paths (`spec.template.spec.containers[0].image`, `metadata.labels.foo`)
/// where `a` and `b` differ, in key order, at most `limit` of them.
pub fn diff_paths(a: &Value, b: &Value, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    walk(a, b, &mut String::new(), &mut out, limit);
    out
}

fn walk(a: &Value, b: &Value, path: &mut String, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => walk(x, y, path, out, limit),
                    _ => push(out, path, limit),
                }
                path.truncate(len);
            }
        }
        // Lists of the same length are compared item by item so the path names the
        // container or port that changed; a list that grew or shrank is one change.
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(x, y, path, out, limit);
                path.truncate(len);
            }
        }
        _ => push(out, path, limit),
    }
}

fn push(out: &mut Vec<String>, path: &str, limit: usize) {
    if out.len() < limit {
        out.push(if path.is_empty() {
            ".".to_owned()
        } else {
            path.to_owned()
        });
    }
}

/// Whether every field set in `desired` has the same value in `live` (which may hold
/// more: defaults, fields of other managers). Lists must have the same length.
pub fn is_subset(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(key, value)| match l.get(key) {
            Some(live) => is_subset(value, live),
            None => value.is_null(),
        }),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(d, l)| is_subset(d, l))
        }
        _ => desired == live,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn normalise_drops_server_fields_and_claim_template_defaults() {
        let mut live = json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {
                "name": "redis", "namespace": "data",
                "resourceVersion": "42", "uid": "u-1", "generation": 3,
                "creationTimestamp": "2024-01-01T00:00:00Z",
                "managedFields": [{"manager": "strata-agent"}],
                "labels": {"a": "b"}
            },
            "spec": {
                "replicas": 3,
                "volumeClaimTemplates": [{
                    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": {"name": "data", "creationTimestamp": null},
                    "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
                             "resources": {"requests": {"storage": "10Gi"}}},
                    "status": {"phase": "Pending"}
                }]
            },
            "status": {"replicas": 3}
        });
        normalise(&mut live);
        assert_eq!(
            live,
            json!({
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": "redis", "namespace": "data", "labels": {"a": "b"}},
                "spec": {
                    "replicas": 3,
                    "volumeClaimTemplates": [{
                        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": "data"},
                        "spec": {"accessModes": ["ReadWriteOnce"],
                                 "resources": {"requests": {"storage": "10Gi"}}}
                    }]
                }
            })
        );
    }

    #[test]
    fn the_revision_annotation_alone_is_no_difference() {
        let mut a = json!({"metadata": {"name": "x", "annotations": {"strata.dev/revision": "r1"}}, "data": {"k": "v"}});
        let mut b = json!({"metadata": {"name": "x", "annotations": {"strata.dev/revision": "r2"}}, "data": {"k": "v"}});
        normalise(&mut a);
        normalise(&mut b);
        assert_eq!(a, b);
        assert_eq!(a, json!({"metadata": {"name": "x"}, "data": {"k": "v"}}));
    }

    #[test]
    fn block_volume_mode_is_kept() {
        let mut sts = json!({"kind": "StatefulSet", "spec": {"volumeClaimTemplates": [
            {"spec": {"volumeMode": "Block"}}
        ]}});
        normalise(&mut sts);
        assert_eq!(
            sts["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"],
            "Block"
        );
    }

    #[test]
    fn other_kinds_keep_their_spec() {
        let mut pvc =
            json!({"kind": "PersistentVolumeClaim", "spec": {"volumeMode": "Filesystem"}});
        normalise(&mut pvc);
        assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    }

    #[test]
    fn diff_names_nested_paths() {
        let live = json!({
            "metadata": {"labels": {"foo": "a", "keep": "x"}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [
                {"name": "redis", "image": "redis:7.0"}, {"name": "exporter", "image": "e:1"}
            ]}}}
        });
        let desired = json!({
            "metadata": {"labels": {"foo": "b", "keep": "x", "new": "y"}},
            "spec": {"replicas": 5, "template": {"spec": {"containers": [
                {"name": "redis", "image": "redis:7.2"}, {"name": "exporter", "image": "e:1"}
            ]}}}
        });
        assert_eq!(
            diff_paths(&live, &desired, 10),
            [
                "metadata.labels.foo",
                "metadata.labels.new",
                "spec.replicas",
                "spec.template.spec.containers[0].image",
            ]
        );
    }

    #[test]
    fn diff_of_a_resized_list_is_the_list() {
        let a = json!({"spec": {"ports": [{"port": 1}]}});
        let b = json!({"spec": {"ports": [{"port": 1}, {"port": 2}]}});
        assert_eq!(diff_paths(&a, &b, 10), ["spec.ports"]);
    }

    #[test]
    fn diff_is_capped() {
        let a = json!({"data": (0..30).map(|i| (format!("k{i:02}"), json!(i))).collect::<serde_json::Map<_, _>>()});
        let b = json!({"data": {}});
        let paths = diff_paths(&a, &b, 10);
        assert_eq!(paths.len(), 10);
        assert_eq!(paths[0], "data.k00");
    }

    #[test]
    fn equal_values_have_no_diff() {
        let a = json!({"a": [1, {"b": null}]});
        assert!(diff_paths(&a, &a.clone(), 10).is_empty());
    }

    #[test]
    fn subset_ignores_defaults_but_not_changes() {
        let live = json!({"spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}});
        assert!(is_subset(
            &json!({"spec": {"accessModes": ["ReadWriteOnce"]}}),
            &live
        ));
        assert!(!is_subset(
            &json!({"spec": {"accessModes": ["ReadWriteMany"]}}),
            &live
        ));
        assert!(!is_subset(
            &json!({"spec": {"storageClassName": "gp3"}}),
            &live
        ));
        assert!(is_subset(
            &json!({"spec": {"storageClassName": null}}),
            &live
        ));
    }
}
