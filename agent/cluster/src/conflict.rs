//! Server-side apply conflicts: who holds the fields we set, and how they got them.
//!
//! A 409 on apply lists each conflict as a Status cause: reason `FieldManagerConflict`,
//! message `conflict with "kubectl-edit" using apps/v1`, field `.spec.replicas`. Whether
//! the other manager wrote with an *Update* (an imperative edit: `kubectl edit`, `scale`,
//! `patch`) or an *Apply* (another declarative tool) decides what the agent does.

use std::collections::BTreeSet;

use kube::core::Status;
use serde_json::Value;

/// How a field manager last wrote its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Apply,
    Update,
}

/// One conflicting field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub manager: String,
    /// The field without its leading dot: `spec.replicas`, `metadata.labels.foo`.
    pub field: String,
    /// What the message suggests: the API server prints `using <apiVersion>` only for
    /// managers whose entry is an Update.
    pub hint: Operation,
}

/// Whether an apply error is a field-manager conflict (rather than, say, an
/// "object has been modified" 409).
pub fn is_field_conflict(status: &Status) -> bool {
    status.code == 409 && !parse(status).is_empty()
}

/// The conflicts a 409 names, from its causes or, lacking those, from its message.
pub fn parse(status: &Status) -> Vec<Conflict> {
    let causes = status.details.iter().flat_map(|d| &d.causes);
    let mut out: Vec<Conflict> = causes
        .filter(|c| c.reason == "FieldManagerConflict" || c.message.starts_with("conflict with"))
        .filter_map(|c| {
            let (manager, hint) = manager_of(&c.message)?;
            Some(Conflict {
                manager,
                field: field_path(&c.field),
                hint,
            })
        })
        .collect();
    if out.is_empty() {
        out = parse_message(&status.message);
    }
    out
}

/// Parses `Apply failed with 1 conflict: conflict with "m" using apps/v1: .spec.replicas`
/// and the multi-line form (`conflicts with "m":` followed by `- .field` lines).
fn parse_message(message: &str) -> Vec<Conflict> {
    let mut out = Vec::new();
    let mut current: Option<(String, Operation)> = None;
    for line in message.lines() {
        let line = line.trim();
        if let Some(field) = line.strip_prefix("- ") {
            if let Some((manager, hint)) = &current {
                out.push(Conflict {
                    manager: manager.clone(),
                    field: field_path(field),
                    hint: *hint,
                });
            }
            continue;
        }
        let Some(at) = line
            .find("conflict with \"")
            .or_else(|| line.find("conflicts with \""))
        else {
            continue;
        };
        let rest = &line[at..];
        let Some((manager, hint)) = manager_of(rest) else {
            continue;
        };
        // The single-conflict form ends with `: .field` after the manager.
        let after_manager = &rest[rest.find('"').unwrap_or(0) + 1..];
        let after_manager = &after_manager[after_manager.find('"').map_or(0, |i| i + 1)..];
        match after_manager.rsplit_once(": ") {
            Some((_, field)) if field.starts_with('.') => out.push(Conflict {
                manager: manager.clone(),
                field: field_path(field),
                hint,
            }),
            _ => {}
        }
        current = Some((manager, hint));
    }
    out
}

/// The quoted manager name of `conflict with "name" [with subresource "s"] [using v1 …]`.
fn manager_of(message: &str) -> Option<(String, Operation)> {
    let start = message.find('"')? + 1;
    let len = message[start..].find('"')?;
    let manager = message[start..start + len].to_owned();
    let rest = &message[start + len + 1..];
    let hint = if rest.contains(" using ") {
        Operation::Update
    } else {
        Operation::Apply
    };
    Some((manager, hint))
}

fn field_path(field: &str) -> String {
    field.trim().trim_start_matches('.').to_owned()
}

/// How `manager` wrote to the live object, from its `metadata.managedFields`: `None` when
/// it has no entry, or entries of both kinds.
pub fn operation_in(live: &Value, manager: &str) -> Option<Operation> {
    let entries = live.pointer("/metadata/managedFields")?.as_array()?;
    let operations: BTreeSet<&str> = entries
        .iter()
        .filter(|e| e.get("manager").and_then(Value::as_str) == Some(manager))
        .filter_map(|e| e.get("operation").and_then(Value::as_str))
        .collect();
    match (operations.contains("Apply"), operations.contains("Update")) {
        (true, false) => Some(Operation::Apply),
        (false, true) => Some(Operation::Update),
        _ => None,
    }
}

/// Conflicts split by what the other manager is: imperative edits (drift the agent
/// takes back) and declarative appliers (another tool, which the agent does not fight).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Classified {
    pub imperative: Vec<Conflict>,
    pub declarative: Vec<Conflict>,
}

impl Classified {
    pub fn new(conflicts: Vec<Conflict>, live: Option<&Value>) -> Self {
        let mut out = Classified::default();
        for conflict in conflicts {
            let operation = live
                .and_then(|l| operation_in(l, &conflict.manager))
                .unwrap_or(conflict.hint);
            match operation {
                Operation::Update => out.imperative.push(conflict),
                Operation::Apply => out.declarative.push(conflict),
            }
        }
        out
    }

    /// Managers and fields of the declarative conflicts, deduplicated, in order.
    pub fn declarative_summary(&self) -> (Vec<String>, Vec<String>) {
        let mut managers = Vec::new();
        let mut fields = Vec::new();
        for c in &self.declarative {
            if !managers.contains(&c.manager) {
                managers.push(c.manager.clone());
            }
            if !fields.contains(&c.field) {
                fields.push(c.field.clone());
            }
        }
        (managers, fields)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn status(message: &str, causes: Vec<(&str, &str)>) -> Status {
        let causes: Vec<Value> = causes
            .into_iter()
            .map(|(message, field)| json!({"reason": "FieldManagerConflict", "message": message, "field": field}))
            .collect();
        serde_json::from_value(json!({
            "code": 409,
            "message": message,
            "reason": "Conflict",
            "details": {"causes": causes},
        }))
        .unwrap()
    }

    #[test]
    fn causes_name_manager_field_and_operation() {
        let s = status(
            "Apply failed with 2 conflicts: ...",
            vec![
                (
                    r#"conflict with "kubectl-edit" using apps/v1"#,
                    ".spec.replicas",
                ),
                (r#"conflict with "flux""#, ".metadata.labels.team"),
            ],
        );
        assert!(is_field_conflict(&s));
        assert_eq!(
            parse(&s),
            [
                Conflict {
                    manager: "kubectl-edit".into(),
                    field: "spec.replicas".into(),
                    hint: Operation::Update
                },
                Conflict {
                    manager: "flux".into(),
                    field: "metadata.labels.team".into(),
                    hint: Operation::Apply
                },
            ]
        );
    }

    #[test]
    fn single_conflict_message_without_causes() {
        let s = status(
            r#"Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas"#,
            vec![],
        );
        assert_eq!(
            parse(&s),
            [Conflict {
                manager: "kubectl-edit".into(),
                field: "spec.replicas".into(),
                hint: Operation::Update
            }]
        );
    }

    #[test]
    fn multi_line_message_without_causes() {
        let s = status(
            "Apply failed with 2 conflicts: conflicts with \"helm\":\n- .spec.replicas\n- .metadata.labels.foo",
            vec![],
        );
        let fields: Vec<_> = parse(&s)
            .into_iter()
            .map(|c| (c.manager, c.field, c.hint))
            .collect();
        assert_eq!(
            fields,
            [
                ("helm".into(), "spec.replicas".into(), Operation::Apply),
                (
                    "helm".into(),
                    "metadata.labels.foo".into(),
                    Operation::Apply
                ),
            ]
        );
    }

    #[test]
    fn other_409s_are_not_field_conflicts() {
        let s = status(
            "Operation cannot be fulfilled on statefulsets.apps \"redis\": the object has been modified",
            vec![],
        );
        assert!(!is_field_conflict(&s));
    }

    #[test]
    fn managed_fields_decide_over_the_message() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "strata-agent", "operation": "Apply"},
            {"manager": "kubectl-edit", "operation": "Update"},
            {"manager": "argocd", "operation": "Apply"},
            {"manager": "both", "operation": "Apply"},
            {"manager": "both", "operation": "Update"},
        ]}});
        let conflict = |manager: &str, hint| Conflict {
            manager: manager.into(),
            field: "spec.replicas".into(),
            hint,
        };
        let classified = Classified::new(
            vec![
                conflict("kubectl-edit", Operation::Apply),
                conflict("argocd", Operation::Update),
                conflict("both", Operation::Update),
                conflict("unknown", Operation::Apply),
            ],
            Some(&live),
        );
        let names = |v: &[Conflict]| v.iter().map(|c| c.manager.clone()).collect::<Vec<_>>();
        assert_eq!(names(&classified.imperative), ["kubectl-edit", "both"]);
        assert_eq!(names(&classified.declarative), ["argocd", "unknown"]);
        assert_eq!(
            classified.declarative_summary(),
            (
                vec!["argocd".into(), "unknown".into()],
                vec!["spec.replicas".into()]
            )
        );
    }
}
