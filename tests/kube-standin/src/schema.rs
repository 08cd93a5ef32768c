//! The little of the OpenAPI schema that merging needs: which lists are associative
//! (merged item by item, by key) and which are atomic (replaced whole).
//!
//! Built-in kinds follow the `x-kubernetes-list-type: map` markers of the real types.
//! CRD kinds have no schema here, and a structural schema's lists are atomic by default.

use serde_json::Value;

use crate::fieldset::Element;

/// The context a walk over an object needs.
#[derive(Clone, Copy, Debug)]
pub struct Schema<'a> {
    pub builtin: bool,
    pub kind: &'a str,
}

/// The key fields of the list at `trail` (field names from the root, the list's own
/// name last), or `None` when the list is atomic.
pub fn list_keys(schema: Schema<'_>, trail: &[String]) -> Option<&'static [&'static str]> {
    if !schema.builtin {
        return None;
    }
    let (field, parents) = trail.split_last()?;
    let in_container = matches!(
        parents.last().map(String::as_str),
        Some("containers" | "initContainers" | "ephemeralContainers")
    );
    Some(match field.as_str() {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => &["name"],
        "env" if in_container => &["name"],
        "volumeMounts" => &["mountPath"],
        "volumeDevices" => &["devicePath"],
        "ports" if in_container => &["containerPort", "protocol"],
        "ports" if schema.kind == "Service" && parents == ["spec"] => &["port", "protocol"],
        "conditions" => &["type"],
        "ownerReferences" if parents == ["metadata"] => &["uid"],
        "hostAliases" => &["ip"],
        "topologySpreadConstraints" => &["topologyKey", "whenUnsatisfiable"],
        _ => return None,
    })
}

/// Key fields that the schema defaults, so an item that omits them has the defaulted key.
fn key_default(field: &str) -> Option<Value> {
    (field == "protocol").then(|| Value::String("TCP".into()))
}

/// The path element of a list item, or `None` when the item lacks a key field.
pub fn item_key(keys: &[&str], item: &Value) -> Option<Element> {
    let obj = item.as_object()?;
    let mut pairs = Vec::with_capacity(keys.len());
    for &k in keys {
        let v = match obj.get(k).filter(|v| !v.is_null()) {
            Some(v) => v.clone(),
            None => key_default(k)?,
        };
        pairs.push((k.to_owned(), v.to_string()));
    }
    pairs.sort();
    Some(Element::Key(pairs))
}

/// The keys of `list` at `trail` when it is associative and every item has its keys.
pub fn associative(
    schema: Schema<'_>,
    trail: &[String],
    list: &[Value],
) -> Option<&'static [&'static str]> {
    let keys = list_keys(schema, trail)?;
    list.iter()
        .all(|item| item_key(keys, item).is_some())
        .then_some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trail(s: &str) -> Vec<String> {
        s.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn container_and_service_ports_differ() {
        let b = Schema {
            builtin: true,
            kind: "Deployment",
        };
        assert_eq!(
            list_keys(b, &trail("spec.template.spec.containers.ports")),
            Some(&["containerPort", "protocol"][..])
        );
        let s = Schema {
            builtin: true,
            kind: "Service",
        };
        assert_eq!(
            list_keys(s, &trail("spec.ports")),
            Some(&["port", "protocol"][..])
        );
        assert_eq!(list_keys(b, &trail("spec.template.spec.tolerations")), None);
        let crd = Schema {
            builtin: false,
            kind: "ServiceMonitor",
        };
        assert_eq!(list_keys(crd, &trail("spec.containers")), None);
    }

    #[test]
    fn protocol_key_defaults_to_tcp() {
        let k = item_key(
            &["containerPort", "protocol"],
            &json!({"containerPort": 80}),
        )
        .unwrap();
        assert_eq!(
            k,
            Element::Key(vec![
                ("containerPort".into(), "80".into()),
                ("protocol".into(), "\"TCP\"".into())
            ])
        );
    }
}
