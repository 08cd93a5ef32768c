//! Structural operations on objects that know associative lists: the field set of an
//! applied configuration, the comparison of two objects, the merge of a configuration
//! into a live object and the removal of one field.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::fieldset::{Element, FieldSet, Path};
use crate::schema::{Schema, associative, item_key};

/// The fields an applied configuration sets: leaves, atomic lists, empty maps and
/// associative-list items (maps themselves are not members, as in structured-merge-diff).
pub fn field_set(schema: Schema<'_>, v: &Value) -> FieldSet {
    fn walk(
        schema: Schema<'_>,
        trail: &mut Vec<String>,
        path: &mut Path,
        v: &Value,
        out: &mut FieldSet,
    ) {
        match v {
            Value::Null => {}
            Value::Object(m) if m.is_empty() => {
                if !path.is_empty() {
                    out.insert(path.clone());
                }
            }
            Value::Object(m) => walk_map(schema, trail, path, m, out),
            Value::Array(items) => match associative(schema, trail, items) {
                Some(keys) => {
                    for item in items {
                        let Some(key) = item_key(keys, item) else {
                            continue;
                        };
                        path.push(key);
                        out.insert(path.clone());
                        if let Some(m) = item.as_object() {
                            walk_map(schema, trail, path, m, out);
                        }
                        path.pop();
                    }
                }
                None => out.insert(path.clone()),
            },
            _ => out.insert(path.clone()),
        }
    }
    fn walk_map(
        schema: Schema<'_>,
        trail: &mut Vec<String>,
        path: &mut Path,
        m: &Map<String, Value>,
        out: &mut FieldSet,
    ) {
        for (k, child) in m {
            trail.push(k.clone());
            path.push(Element::Field(k.clone()));
            walk(schema, trail, path, child, out);
            path.pop();
            trail.pop();
        }
    }
    let mut out = FieldSet::default();
    walk(schema, &mut Vec::new(), &mut Vec::new(), v, &mut out);
    out
}

/// What changed from one object to another, path by path.
#[derive(Debug, Default)]
pub struct Comparison {
    pub added: FieldSet,
    pub modified: FieldSet,
    pub removed: FieldSet,
}

impl Comparison {
    pub fn changed(&self) -> FieldSet {
        self.added.union(&self.modified)
    }
}

pub fn compare(schema: Schema<'_>, lhs: &Value, rhs: &Value) -> Comparison {
    let mut out = Comparison::default();
    cmp(
        schema,
        &mut Vec::new(),
        &mut Vec::new(),
        Some(lhs),
        Some(rhs),
        true,
        &mut out,
    );
    out
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// A newly added map is itself owned by its writer when it is a plain string map (labels,
/// annotations, data, requests...) — that is where the real server writes `.: {}` for an
/// `Update`; struct-like maps such as `spec` or `template` are not.
fn map_is_member(trail: &[String], m: &Map<String, Value>) -> bool {
    let struct_like = matches!(
        trail.last().map(String::as_str),
        Some("spec" | "status" | "template" | "metadata")
    );
    !struct_like && m.values().all(|v| !v.is_object() && !v.is_array())
}

fn cmp(
    schema: Schema<'_>,
    trail: &mut Vec<String>,
    path: &mut Path,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    item: bool,
    out: &mut Comparison,
) {
    let (lhs, rhs) = (present(lhs), present(rhs));
    if lhs.is_none() && rhs.is_none() {
        return;
    }
    let objects = lhs.is_none_or(Value::is_object) && rhs.is_none_or(Value::is_object);
    if objects {
        let (l, r) = (
            lhs.and_then(Value::as_object),
            rhs.and_then(Value::as_object),
        );
        let empty = |m: Option<&Map<String, Value>>| m.is_none_or(Map::is_empty);
        if empty(l) && empty(r) {
            // Empty and absent maps compare as leaves, keeping `{}` distinct from absent.
            if !path.is_empty() {
                leaf(path, lhs, rhs, out);
            }
            return;
        }
        if !item {
            match (l, r) {
                (None, Some(r)) if map_is_member(trail, r) => out.added.insert(path.clone()),
                (Some(_), None) => out.removed.insert(path.clone()),
                _ => {}
            }
        }
        let keys: BTreeSet<&String> = l.into_iter().chain(r).flat_map(Map::keys).collect();
        for k in keys {
            trail.push(k.clone());
            path.push(Element::Field(k.clone()));
            cmp(
                schema,
                trail,
                path,
                l.and_then(|m| m.get(k)),
                r.and_then(|m| m.get(k)),
                false,
                out,
            );
            path.pop();
            trail.pop();
        }
        return;
    }
    let arrays = lhs.is_none_or(Value::is_array) && rhs.is_none_or(Value::is_array);
    if arrays {
        let l = lhs
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let r = rhs
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let (Some(keys), Some(_)) =
            (associative(schema, trail, l), associative(schema, trail, r))
        {
            let (lm, rm) = (by_key(keys, l), by_key(keys, r));
            let all: BTreeSet<&Element> = lm.keys().chain(rm.keys()).collect();
            for key in all {
                let (li, ri) = (lm.get(key).copied(), rm.get(key).copied());
                path.push(key.clone());
                match (li, ri) {
                    (None, Some(_)) => out.added.insert(path.clone()),
                    (Some(_), None) => out.removed.insert(path.clone()),
                    _ => {}
                }
                cmp(schema, trail, path, li, ri, true, out);
                path.pop();
            }
            return;
        }
    }
    leaf(path, lhs, rhs, out);
}

fn by_key<'a>(keys: &[&str], items: &'a [Value]) -> BTreeMap<Element, &'a Value> {
    items
        .iter()
        .filter_map(|i| Some((item_key(keys, i)?, i)))
        .collect()
}

fn leaf(path: &Path, lhs: Option<&Value>, rhs: Option<&Value>, out: &mut Comparison) {
    match (lhs, rhs) {
        (None, Some(_)) => out.added.insert(path.clone()),
        (Some(_), None) => out.removed.insert(path.clone()),
        (Some(a), Some(b)) if a != b => out.modified.insert(path.clone()),
        _ => {}
    }
}

/// Merges an applied configuration into the live object: maps field by field,
/// associative lists item by item, everything else replaced. `null`s are not applied.
pub fn merge(schema: Schema<'_>, live: &Value, config: &Value) -> Value {
    merge_at(schema, &mut Vec::new(), Some(live), config)
}

fn merge_at(
    schema: Schema<'_>,
    trail: &mut Vec<String>,
    live: Option<&Value>,
    config: &Value,
) -> Value {
    match config {
        Value::Object(cm) => {
            let mut out = live.and_then(Value::as_object).cloned().unwrap_or_default();
            for (k, cv) in cm {
                if cv.is_null() {
                    continue;
                }
                trail.push(k.clone());
                let merged = merge_at(schema, trail, out.get(k), cv);
                trail.pop();
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let live_items = live
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let keys = associative(schema, trail, items)
                .filter(|_| associative(schema, trail, live_items).is_some());
            let Some(keys) = keys else {
                return config.clone();
            };
            // Applied items in the applied order, then the live items others keep.
            let mut seen = BTreeSet::new();
            let mut result = Vec::new();
            for ci in items {
                let key = item_key(keys, ci);
                let li = live_items.iter().find(|li| item_key(keys, li) == key);
                result.push(merge_at(schema, trail, li, ci));
                seen.insert(key);
            }
            result.extend(
                live_items
                    .iter()
                    .filter(|li| !seen.contains(&item_key(keys, li)))
                    .cloned(),
            );
            Value::Array(result)
        }
        _ => config.clone(),
    }
}

/// Removes the field or list item at `path`. Maps left empty by the removal go too,
/// unless `owned` says someone owns them.
pub fn remove(obj: &mut Value, path: &[Element], owned: &dyn Fn(&[Element]) -> bool) -> bool {
    remove_at(obj, path, 0, owned)
}

fn remove_at(
    v: &mut Value,
    full: &[Element],
    depth: usize,
    owned: &dyn Fn(&[Element]) -> bool,
) -> bool {
    let Some(element) = full.get(depth) else {
        return false;
    };
    let last = depth + 1 == full.len();
    match element {
        Element::Field(name) => {
            let Some(m) = v.as_object_mut() else {
                return false;
            };
            if last {
                return m.remove(name).is_some();
            }
            let Some(child) = m.get_mut(name) else {
                return false;
            };
            let removed = remove_at(child, full, depth + 1, owned);
            if removed && child.as_object().is_some_and(Map::is_empty) && !owned(&full[..=depth]) {
                m.remove(name);
            }
            removed
        }
        Element::Key(pairs) => {
            let Some(items) = v.as_array_mut() else {
                return false;
            };
            let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
            let Some(idx) = items
                .iter()
                .position(|i| item_key(&names, i).as_ref() == Some(element))
            else {
                return false;
            };
            if last {
                items.remove(idx);
                return true;
            }
            remove_at(&mut items[idx], full, depth + 1, owned)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fieldset::path_string;
    use serde_json::json;

    const DEPLOY: Schema<'static> = Schema {
        builtin: true,
        kind: "Deployment",
    };

    fn paths(set: &FieldSet) -> Vec<String> {
        set.iter().map(|p| path_string(p)).collect()
    }

    #[test]
    fn field_set_has_leaves_and_items() {
        let v = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "x", "env": [{"name": "E", "value": "1"}]}]}}}});
        assert_eq!(
            paths(&field_set(DEPLOY, &v)),
            [
                ".metadata.labels.a",
                ".spec.template.spec.containers[name=\"app\"]",
                ".spec.template.spec.containers[name=\"app\"].env[name=\"E\"]",
                ".spec.template.spec.containers[name=\"app\"].env[name=\"E\"].name",
                ".spec.template.spec.containers[name=\"app\"].env[name=\"E\"].value",
                ".spec.template.spec.containers[name=\"app\"].image",
                ".spec.template.spec.containers[name=\"app\"].name",
            ]
        );
    }

    #[test]
    fn compare_finds_added_modified_removed() {
        let a = json!({"spec": {"replicas": 1, "x": "gone"}, "metadata": {}});
        let b = json!({"spec": {"replicas": 2}, "metadata": {"labels": {"a": "b"}}});
        let c = compare(DEPLOY, &a, &b);
        assert_eq!(paths(&c.modified), [".spec.replicas"]);
        assert_eq!(paths(&c.removed), [".spec.x"]);
        assert_eq!(paths(&c.added), [".metadata.labels", ".metadata.labels.a"]);
    }

    #[test]
    fn merge_keeps_other_items_and_replaces_atomic_lists() {
        let live = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "side", "image": "s"}],
            "tolerations": [{"key": "x"}]}});
        let cfg = json!({"spec": {"containers": [{"name": "a", "image": "2"}], "tolerations": []}});
        let s = Schema {
            builtin: true,
            kind: "Pod",
        };
        let merged = merge(s, &live, &cfg);
        assert_eq!(
            merged,
            json!({"spec": {"containers": [{"name": "a", "image": "2"}, {"name": "side", "image": "s"}], "tolerations": []}})
        );
    }

    #[test]
    fn remove_drops_emptied_maps() {
        let mut v = json!({"metadata": {"labels": {"a": "1"}, "name": "x"}});
        let path = vec![
            Element::Field("metadata".into()),
            Element::Field("labels".into()),
            Element::Field("a".into()),
        ];
        assert!(remove(&mut v, &path, &|_| false));
        assert_eq!(v, json!({"metadata": {"name": "x"}}));
    }
}
