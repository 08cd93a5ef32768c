//! The write pipeline every create, update, patch and apply goes through, in the real
//! server's order: reset of the part not written (status or spec), defaulting,
//! validation, admission, field ownership, then server-managed metadata. A write that
//! changes nothing stores nothing and bumps nothing.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::kinds::ResourceType;
use crate::managed::{self, Ctx, Manager, Part, Writer};
use crate::schema::Schema;
use crate::store::Store;
use crate::{defaults, validate};

/// Everything behind the API's lock.
#[derive(Default)]
pub struct State {
    pub store: Store,
    /// Simulate the StatefulSet/Deployment/PVC controllers.
    pub controllers: bool,
}

/// The new content: a whole object (POST, PUT, non-apply PATCH) or an applied configuration.
pub enum Change {
    Replace(Value),
    Apply { config: Value, force: bool },
}

/// Who writes what.
pub struct Write<'a> {
    pub rt: &'a ResourceType,
    pub part: Part,
    pub manager: &'a str,
    pub dry_run: bool,
}

pub struct Written {
    pub object: Value,
    /// Stored state changed (or, in a dry run, would have).
    pub changed: bool,
    pub created: bool,
}

/// The current time as the API prints it (RFC 3339, seconds).
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Metadata only the server sets; what a client sends there is ignored.
const SERVER_META: [&str; 6] = [
    "uid",
    "creationTimestamp",
    "resourceVersion",
    "generation",
    "managedFields",
    "selfLink",
];

pub fn write(
    state: &mut State,
    w: &Write<'_>,
    old: Option<&Value>,
    change: Change,
) -> Result<Written, ApiError> {
    let rt = w.rt;
    let ctx = Ctx {
        schema: Schema {
            builtin: rt.builtin,
            kind: &rt.kind,
        },
        status_sub: rt.status,
    };
    let api_version = rt.api_version();
    let mut env = state.store.env();
    let (new, managers) = match change {
        Change::Replace(body) => {
            let mut new = reset(rt, w.part, old, body);
            if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                SERVER_META.iter().for_each(|k| {
                    meta.remove(*k);
                });
            }
            if let Some(old) = old {
                defaults::carry_allocated(rt, old, &mut new);
            }
            defaults::apply(rt, &mut new, &mut env);
            let writer = Writer {
                manager: w.manager,
                api_version: &api_version,
                part: w.part,
                force: false,
            };
            let managers = managed::update(ctx, old, &new, &writer);
            (new, managers)
        }
        Change::Apply { config, force } => {
            let base = old.cloned().unwrap_or_else(|| skeleton(rt, &config));
            let writer = Writer {
                manager: w.manager,
                api_version: &api_version,
                part: w.part,
                force,
            };
            managed::apply(ctx, &base, &config, &writer, &mut |obj| {
                defaults::apply(rt, obj, &mut env)
            })?
        }
    };

    let name = new["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let namespace = new["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let errors = match old {
        None => validate::create(rt, &new),
        Some(old) => validate::update(rt, old, &new),
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(&rt.kind, &rt.group, &name, &errors));
    }
    if let Some(old) = old
        && rt.is("", "persistentvolumeclaims")
    {
        let class = new["spec"]["storageClassName"]
            .as_str()
            .and_then(|c| state.store.storage_class(c));
        if let Some(why) = validate::pvc_resize(old, &new, class) {
            return Err(ApiError::forbidden(&rt.plural, &rt.group, &name, why));
        }
    }
    if old.is_none() && state.store.get(rt, &namespace, &name).is_some() {
        return Err(ApiError::already_exists(&rt.plural, &rt.group, &name));
    }

    let (object, changed) = finalize(&mut state.store, rt, old, new, managers, w.dry_run);
    if changed && !w.dry_run {
        state.store.commit_env(&env);
        state.store.insert(rt, object.clone());
    }
    Ok(Written {
        object,
        changed,
        created: old.is_none(),
    })
}

/// What an apply creates from: the identity of the applied configuration.
fn skeleton(rt: &ResourceType, config: &Value) -> Value {
    let mut meta = Map::new();
    for key in ["name", "namespace"] {
        if let Some(v) = config["metadata"].get(key).filter(|v| v.is_string()) {
            meta.insert(key.into(), v.clone());
        }
    }
    json!({"apiVersion": rt.api_version(), "kind": rt.kind, "metadata": meta})
}

/// A write to the main resource keeps the old status; a write to `/status` keeps
/// everything but the status.
fn reset(rt: &ResourceType, part: Part, old: Option<&Value>, mut new: Value) -> Value {
    let status = |v: Option<&Value>| {
        v.and_then(|v| v.get("status"))
            .filter(|s| !s.is_null())
            .cloned()
    };
    let (mut target, status) = match part {
        Part::Main if !rt.status => return new,
        Part::Main => {
            let s = status(old);
            (std::mem::take(&mut new), s)
        }
        Part::Status => (old.cloned().unwrap_or_default(), status(Some(&new))),
    };
    if let Some(m) = target.as_object_mut() {
        match status {
            Some(s) => m.insert("status".into(), s),
            None => m.remove("status"),
        };
    }
    target
}

/// Everything but metadata and status: what `generation` counts changes of.
fn spec_view(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        for k in ["metadata", "status", "apiVersion", "kind"] {
            m.remove(k);
        }
    }
    v
}

/// Sets the server-managed metadata; returns the object and whether it differs from `old`.
fn finalize(
    store: &mut Store,
    rt: &ResourceType,
    old: Option<&Value>,
    mut new: Value,
    mut managers: Vec<Manager>,
    dry_run: bool,
) -> (Value, bool) {
    let now = now();
    let old_managers = old.map(managed::decode).unwrap_or_default();
    managed::stamp(&old_managers, &mut managers, &now);
    new["apiVersion"] = json!(rt.api_version());
    new["kind"] = json!(rt.kind);
    if !new["metadata"].is_object() {
        new["metadata"] = json!({});
    }
    let generation = match old {
        Some(o) => {
            let g = o["metadata"]["generation"].as_i64().unwrap_or(1);
            if spec_view(o) != spec_view(&new) {
                g + 1
            } else {
                g
            }
        }
        None => 1,
    };
    let (uid, created) = match old {
        Some(o) => (
            o["metadata"]["uid"].clone(),
            o["metadata"]["creationTimestamp"].clone(),
        ),
        None => (json!(store.uid()), json!(now)),
    };
    let meta = new["metadata"]
        .as_object_mut()
        .expect("metadata is an object");
    for k in SERVER_META {
        meta.remove(k);
    }
    meta.insert("uid".into(), uid);
    meta.insert("creationTimestamp".into(), created);
    if rt.generation {
        meta.insert("generation".into(), json!(generation));
    }
    if !managers.is_empty() {
        meta.insert("managedFields".into(), managed::encode(&managers));
    }
    if let Some(o) = old {
        meta.insert(
            "resourceVersion".into(),
            o["metadata"]["resourceVersion"].clone(),
        );
        if new == *o {
            return (new, false);
        }
    }
    if !dry_run {
        let rv = store.next_resource_version();
        new["metadata"]["resourceVersion"] = json!(rv);
    }
    (new, true)
}
