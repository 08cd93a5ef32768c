//! Field ownership (`metadata.managedFields`) and server-side apply, after the real
//! server's field manager and structured-merge-diff:
//!
//! - an `Update` (POST, PUT, non-apply PATCH) takes the fields whose values it changed
//!   away from everyone else, without conflicts;
//! - an `Apply` replaces the applier's set with the fields of its configuration, removes
//!   the fields it stopped applying that nobody else owns, and conflicts with the other
//!   owners of fields it would change (unless forced, which takes them).

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::fieldset::{FieldSet, path_string};
use crate::schema::Schema;
use crate::structure::{self, compare};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// Which part of an object a request writes: the main resource or its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Main,
    Status,
}

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Manager {
    pub name: String,
    pub operation: Operation,
    pub api_version: String,
    pub subresource: String,
    pub time: Option<String>,
    pub set: FieldSet,
}

impl Manager {
    /// The real server's identity: appliers are one manager whatever the API version.
    fn is(&self, name: &str, operation: Operation, api_version: &str, subresource: &str) -> bool {
        self.name == name
            && self.operation == operation
            && self.subresource == subresource
            && (operation == Operation::Apply || self.api_version == api_version)
    }

    /// How conflict messages name a manager: `"x"`, `"x" using apps/v1`,
    /// `"x" with subresource "status" using apps/v1`.
    pub fn label(&self) -> String {
        let mut s = format!("{:?}", self.name);
        if !self.subresource.is_empty() {
            s.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == Operation::Update {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

/// Who writes and how.
#[derive(Clone, Debug)]
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub part: Part,
    pub force: bool,
}

impl Writer<'_> {
    fn subresource(&self) -> &'static str {
        match self.part {
            Part::Main => "",
            Part::Status => "status",
        }
    }
}

/// The context of the object being written.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    pub schema: Schema<'a>,
    /// The kind has a status subresource, so the main resource does not own `status`.
    pub status_sub: bool,
}

/// Metadata the server manages; never owned by a field manager.
const SERVER_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "creationTimestamp",
    "resourceVersion",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// The part of `obj` that managers of `part` own and that comparisons look at.
pub fn view(ctx: Ctx<'_>, obj: &Value, part: Part) -> Value {
    match part {
        Part::Status => {
            let mut m = Map::new();
            if let Some(s) = obj.get("status").filter(|s| !s.is_null()) {
                m.insert("status".into(), s.clone());
            }
            Value::Object(m)
        }
        Part::Main => {
            let mut v = obj.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("apiVersion");
                m.remove("kind");
                if ctx.status_sub {
                    m.remove("status");
                }
                let empty_meta = match m.get_mut("metadata").and_then(Value::as_object_mut) {
                    Some(meta) => {
                        SERVER_META.iter().for_each(|k| {
                            meta.remove(*k);
                        });
                        meta.is_empty()
                    }
                    None => false,
                };
                if empty_meta {
                    m.remove("metadata");
                }
            }
            v
        }
    }
}

pub fn decode(obj: &Value) -> Vec<Manager> {
    let Some(entries) = obj["metadata"]["managedFields"].as_array() else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|e| Manager {
            name: e["manager"].as_str().unwrap_or_default().into(),
            operation: if e["operation"] == "Apply" {
                Operation::Apply
            } else {
                Operation::Update
            },
            api_version: e["apiVersion"].as_str().unwrap_or_default().into(),
            subresource: e["subresource"].as_str().unwrap_or_default().into(),
            time: e["time"].as_str().map(Into::into),
            set: FieldSet::from_fields_v1(&e["fieldsV1"]),
        })
        .collect()
}

/// Encodes managers in the real server's order: appliers first, then by time and name.
pub fn encode(managers: &[Manager]) -> Value {
    let mut sorted: Vec<&Manager> = managers.iter().collect();
    sorted.sort_by(|a, b| {
        (
            a.operation.as_str(),
            &a.time,
            &a.name,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                b.operation.as_str(),
                &b.time,
                &b.name,
                &b.api_version,
                &b.subresource,
            ))
    });
    let entries: Vec<Value> = sorted
        .into_iter()
        .map(|m| {
            let mut e = json!({
                "manager": m.name,
                "operation": m.operation.as_str(),
                "apiVersion": m.api_version,
                "fieldsType": "FieldsV1",
                "fieldsV1": m.set.to_fields_v1(),
            });
            if let Some(t) = &m.time {
                e["time"] = Value::String(t.clone());
            }
            if !m.subresource.is_empty() {
                e["subresource"] = Value::String(m.subresource.clone());
            }
            e
        })
        .collect();
    Value::Array(entries)
}

/// Keeps the time of entries whose fields did not change (so an unchanged write is a
/// no-op); stamps `now` on the rest.
pub fn stamp(old: &[Manager], new: &mut [Manager], now: &str) {
    for m in new {
        let before = old
            .iter()
            .find(|o| o.is(&m.name, m.operation, &m.api_version, &m.subresource));
        m.time = match before {
            Some(o) if o.set == m.set && o.api_version == m.api_version => o.time.clone(),
            _ => Some(now.to_owned()),
        };
    }
}

/// Ownership after a non-apply write from `old` (absent on create) to `new`.
pub fn update(ctx: Ctx<'_>, old: Option<&Value>, new: &Value, w: &Writer<'_>) -> Vec<Manager> {
    let mut managers = old.map(decode).unwrap_or_default();
    let before = old
        .map(|o| view(ctx, o, w.part))
        .unwrap_or_else(|| json!({}));
    let c = compare(ctx.schema, &before, &view(ctx, new, w.part));
    let changed = c.changed();
    let sub = w.subresource();
    let mine = |m: &Manager| m.is(w.manager, Operation::Update, w.api_version, sub);
    for m in managers.iter_mut().filter(|m| !mine(m)) {
        m.set = m.set.difference(&changed);
        m.set.remove_under(&c.removed);
    }
    match managers.iter_mut().find(|m| mine(m)) {
        Some(m) => {
            m.set.remove_under(&c.removed);
            m.set = m.set.union(&changed);
        }
        None => managers.push(Manager {
            name: w.manager.into(),
            operation: Operation::Update,
            api_version: w.api_version.into(),
            subresource: sub.into(),
            time: None,
            set: changed,
        }),
    }
    managers.retain(|m| !m.set.is_empty());
    managers
}

/// Server-side apply of `config` onto `live`. `finish` runs on the merged object before
/// ownership is settled (defaulting: defaulted fields belong to nobody).
pub fn apply(
    ctx: Ctx<'_>,
    live: &Value,
    config: &Value,
    w: &Writer<'_>,
    finish: &mut dyn FnMut(&mut Value),
) -> Result<(Value, Vec<Manager>), ApiError> {
    let config = view(ctx, config, w.part);
    let new_set = structure::field_set(ctx.schema, &config);
    let sub = w.subresource();
    let mut managers = decode(live);
    let me = match managers
        .iter()
        .position(|m| m.is(w.manager, Operation::Apply, "", sub))
    {
        Some(i) => i,
        None => {
            managers.push(Manager {
                name: w.manager.into(),
                operation: Operation::Apply,
                api_version: w.api_version.into(),
                subresource: sub.into(),
                time: None,
                set: FieldSet::default(),
            });
            managers.len() - 1
        }
    };
    let last_set = std::mem::replace(&mut managers[me].set, new_set);
    managers[me].api_version = w.api_version.into();

    let mut merged = structure::merge(ctx.schema, live, &config);

    // Fields this applier stopped applying go, unless someone (the applier included,
    // through a parent or child path) still owns them.
    // Shallow paths first: a list item goes before its key fields, which identify it.
    let mut dropped: Vec<_> = last_set
        .difference(&managers[me].set)
        .iter()
        .cloned()
        .collect();
    dropped.sort_by_key(Vec::len);
    let owned = |p: &[crate::fieldset::Element]| managers.iter().any(|m| m.set.contains(p));
    for path in &dropped {
        if owned(path) || managers.iter().any(|m| m.set.has_below(path)) {
            continue;
        }
        structure::remove(&mut merged, path, &owned);
    }
    finish(&mut merged);

    let c = compare(
        ctx.schema,
        &view(ctx, live, w.part),
        &view(ctx, &merged, w.part),
    );
    let changed = c.changed();
    let mut conflicts = Vec::new();
    for (i, m) in managers.iter().enumerate() {
        if i != me {
            conflicts.extend(
                m.set
                    .intersection(&changed)
                    .iter()
                    .map(|p| (m.label(), path_string(p))),
            );
        }
    }
    if !conflicts.is_empty() && !w.force {
        conflicts.sort();
        return Err(ApiError::apply_conflict(&conflicts));
    }
    for (i, m) in managers.iter_mut().enumerate() {
        if i != me {
            m.set = m.set.difference(&changed);
            m.set.remove_under(&c.removed);
        }
    }
    managers.retain(|m| !m.set.is_empty());
    Ok((merged, managers))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: Ctx<'static> = Ctx {
        schema: Schema {
            builtin: true,
            kind: "Deployment",
        },
        status_sub: true,
    };

    fn writer(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            api_version: "apps/v1",
            part: Part::Main,
            force: false,
        }
    }

    fn with_managers(mut obj: Value, managers: &[Manager]) -> Value {
        obj["metadata"]["managedFields"] = encode(managers);
        obj
    }

    #[test]
    fn apply_removes_what_it_stops_applying() {
        let live = json!({"metadata": {"name": "d"}});
        let first = json!({"metadata": {"name": "d", "labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 2}});
        let (obj, ms) = apply(CTX, &live, &first, &writer("me"), &mut |_| {}).unwrap();
        let live = with_managers(obj, &ms);
        let second = json!({"metadata": {"name": "d", "labels": {"a": "1"}}});
        let (obj, ms) = apply(CTX, &live, &second, &writer("me"), &mut |_| {}).unwrap();
        assert_eq!(obj["metadata"]["labels"], json!({"a": "1"}));
        assert!(obj["spec"].get("replicas").is_none());
        assert_eq!(ms.len(), 1);
    }

    #[test]
    fn apply_conflicts_with_updater_unless_same_value_or_forced() {
        let created = json!({"metadata": {"name": "d"}, "spec": {"replicas": 3}});
        let ms = update(CTX, None, &created, &writer("kubectl-edit"));
        let live = with_managers(created, &ms);

        let same = json!({"metadata": {"name": "d"}, "spec": {"replicas": 3}});
        let (_, shared) = apply(CTX, &live, &same, &writer("me"), &mut |_| {}).unwrap();
        assert_eq!(shared.len(), 2);

        let other = json!({"metadata": {"name": "d"}, "spec": {"replicas": 5}});
        let err = apply(CTX, &live, &other, &writer("me"), &mut |_| {}).unwrap_err();
        assert_eq!(err.code, 409);
        assert!(
            err.message
                .contains(r#"conflict with "kubectl-edit" using apps/v1: .spec.replicas"#),
            "{}",
            err.message
        );

        let forced = Writer {
            force: true,
            ..writer("me")
        };
        let (obj, ms) = apply(CTX, &live, &other, &forced, &mut |_| {}).unwrap();
        assert_eq!(obj["spec"]["replicas"], 5);
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].name, "me");
    }
}
