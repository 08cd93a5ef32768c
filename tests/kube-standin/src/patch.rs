//! The non-apply patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
//! strategic merge patch, which is a merge patch that merges the associative lists of
//! built-in kinds by key (the `$patch`/`$setElementOrder`/`$retainKeys` directives are
//! dropped, not interpreted).

use serde_json::Value;

use crate::schema::{Schema, associative, item_key};

/// RFC 7386: objects merge recursively, `null` deletes, everything else replaces.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let Value::Object(pm) = patch else {
        return patch.clone();
    };
    let mut out = target.as_object().cloned().unwrap_or_default();
    for (k, pv) in pm {
        if pv.is_null() {
            out.remove(k);
        } else {
            let merged = merge_patch(out.get(k).unwrap_or(&Value::Null), pv);
            out.insert(k.clone(), merged);
        }
    }
    Value::Object(out)
}

/// A merge patch whose lists with a merge key merge item by item.
pub fn strategic_merge_patch(schema: Schema<'_>, target: &Value, patch: &Value) -> Value {
    smp(schema, &mut Vec::new(), target, patch)
}

fn smp(schema: Schema<'_>, trail: &mut Vec<String>, target: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(pm) => {
            let mut out = target.as_object().cloned().unwrap_or_default();
            for (k, pv) in pm {
                if k.starts_with('$') {
                    continue;
                }
                if pv.is_null() {
                    out.remove(k);
                    continue;
                }
                trail.push(k.clone());
                let merged = smp(schema, trail, out.get(k).unwrap_or(&Value::Null), pv);
                trail.pop();
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let live = target.as_array().map(Vec::as_slice).unwrap_or_default();
            let keys = associative(schema, trail, items)
                .filter(|_| associative(schema, trail, live).is_some());
            let Some(keys) = keys else {
                return patch.clone();
            };
            let mut out: Vec<Value> = live.to_vec();
            for pi in items {
                let key = item_key(keys, pi);
                match out.iter_mut().find(|li| item_key(keys, li) == key) {
                    Some(li) => *li = smp(schema, trail, li, pi),
                    None => out.push(smp(schema, trail, &Value::Null, pi)),
                }
            }
            Value::Array(out)
        }
        _ => patch.clone(),
    }
}

/// RFC 6902 JSON patch; the error is the message for a 422/400.
pub fn json_patch(target: &Value, ops: &Value) -> Result<Value, String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON patch must be an array of operations")?;
    let mut doc = target.clone();
    for op in ops {
        let name = op["op"].as_str().ok_or("missing op")?;
        let path = op["path"].as_str().ok_or("missing path")?;
        match name {
            "add" => add(
                &mut doc,
                path,
                op.get("value").cloned().ok_or("missing value")?,
            )?,
            "remove" => {
                take(&mut doc, path)?;
            }
            "replace" => {
                take(&mut doc, path)?;
                add(
                    &mut doc,
                    path,
                    op.get("value").cloned().ok_or("missing value")?,
                )?;
            }
            "move" => {
                let from = op["from"].as_str().ok_or("missing from")?;
                let v = take(&mut doc, from)?;
                add(&mut doc, path, v)?;
            }
            "copy" => {
                let from = op["from"].as_str().ok_or("missing from")?;
                let v = doc
                    .pointer(from)
                    .cloned()
                    .ok_or_else(|| format!("path {from:?} not found"))?;
                add(&mut doc, path, v)?;
            }
            "test" => {
                let want = op.get("value").ok_or("missing value")?;
                if doc.pointer(path) != Some(want) {
                    return Err(format!("testing value {path} failed"));
                }
            }
            other => return Err(format!("unexpected op {other:?}")),
        }
    }
    Ok(doc)
}

fn split(path: &str) -> Result<(&str, String), String> {
    let idx = path
        .rfind('/')
        .ok_or_else(|| format!("invalid path {path:?}"))?;
    let last = path[idx + 1..].replace("~1", "/").replace("~0", "~");
    Ok((&path[..idx], last))
}

fn parent<'a>(doc: &'a mut Value, path: &str) -> Result<&'a mut Value, String> {
    doc.pointer_mut(path)
        .ok_or_else(|| format!("path {path:?} not found"))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent_path, last) = split(path)?;
    match parent(doc, parent_path)? {
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(items) => {
            let idx = if last == "-" {
                items.len()
            } else {
                last.parse().map_err(|_| format!("bad index {last}"))?
            };
            if idx > items.len() {
                return Err(format!("index {idx} out of range"));
            }
            items.insert(idx, value);
            Ok(())
        }
        _ => Err(format!("cannot add below {parent_path:?}")),
    }
}

fn take(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent_path, last) = split(path)?;
    let missing = || format!("path {path:?} not found");
    match parent(doc, parent_path)? {
        Value::Object(m) => m.remove(&last).ok_or_else(missing),
        Value::Array(items) => {
            let idx: usize = last.parse().map_err(|_| missing())?;
            (idx < items.len())
                .then(|| items.remove(idx))
                .ok_or_else(missing)
        }
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_deletes_with_null() {
        let t = json!({"a": {"b": 1, "c": 2}, "l": [1]});
        assert_eq!(
            merge_patch(&t, &json!({"a": {"b": null}, "l": [2]})),
            json!({"a": {"c": 2}, "l": [2]})
        );
    }

    #[test]
    fn json_patch_ops() {
        let t = json!({"spec": {"replicas": 1, "list": [1, 2]}});
        let p = json!([
            {"op": "test", "path": "/spec/replicas", "value": 1},
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/spec/list/-", "value": 3},
            {"op": "remove", "path": "/spec/list/0"},
            {"op": "add", "path": "/metadata", "value": {"labels": {"a/b": "x"}}},
        ]);
        let out = json_patch(&t, &p).unwrap();
        assert_eq!(
            out,
            json!({"spec": {"replicas": 3, "list": [2, 3]}, "metadata": {"labels": {"a/b": "x"}}})
        );
        assert!(
            json_patch(
                &t,
                &json!([{"op": "test", "path": "/spec/replicas", "value": 2}])
            )
            .is_err()
        );
    }

    #[test]
    fn strategic_merges_containers_by_name() {
        let s = Schema {
            builtin: true,
            kind: "Deployment",
        };
        let t = json!({"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]});
        let p = json!({"containers": [{"name": "b", "image": "2"}]});
        assert_eq!(
            strategic_merge_patch(s, &t, &p),
            json!({"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]})
        );
    }
}
