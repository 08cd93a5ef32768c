//! From an API error on one object to the [`Failure`] the report carries.

use kube::core::Status;
use strata_agent_core::object::ObjectKey;

use super::Failure;
use crate::conflict;

/// Classifies an error of a write (or dry-run) of `key`.
pub(crate) fn from_error(key: &ObjectKey, error: &kube::Error) -> Failure {
    let kube::Error::Api(status) = error else {
        return Failure::Transient {
            message: format!("{key}: {error}"),
        };
    };
    match status.code {
        409 if conflict::is_field_conflict(status) => {
            let conflicts = conflict::parse(status);
            let mut managers: Vec<String> = conflicts.iter().map(|c| c.manager.clone()).collect();
            managers.dedup();
            Failure::Conflict {
                managers,
                fields: conflicts.into_iter().map(|c| c.field).collect(),
                message: status.message.clone(),
            }
        }
        400 | 422 => match immutable_field(status) {
            Some(field) => Failure::Immutable {
                advice: advice(key, &field),
                field,
            },
            None => Failure::Invalid {
                message: status.message.clone(),
            },
        },
        // A namespace being deleted refuses new content until it is gone.
        403 if status.message.contains("being terminated") => Failure::Transient {
            message: status.message.clone(),
        },
        // Forbidden by RBAC or an admission webhook: a person must act.
        403 => Failure::Invalid {
            message: status.message.clone(),
        },
        _ => Failure::Transient {
            message: if status.message.is_empty() {
                format!("{key}: HTTP {}", status.code)
            } else {
                status.message.clone()
            },
        },
    }
}

/// The field a 422 says may not change, if that is what it says.
pub(crate) fn immutable_field(status: &Status) -> Option<String> {
    const SIGNS: [&str; 4] = [
        "immutable",
        "Forbidden: updates to",
        "may not change",
        "cannot be changed",
    ];
    let says_immutable = |text: &str| SIGNS.iter().any(|s| text.contains(s));
    let causes = status.details.iter().flat_map(|d| &d.causes);
    for cause in causes {
        if says_immutable(&cause.message) || says_immutable(&cause.reason) {
            let field = cause.field.trim_start_matches('.');
            if !field.is_empty() {
                return Some(field.to_owned());
            }
        }
    }
    if !says_immutable(&status.message) {
        return None;
    }
    // `StatefulSet.apps "redis" is invalid: spec: Forbidden: updates to …`
    let after = status
        .message
        .split_once(" is invalid: ")
        .map_or(status.message.as_str(), |(_, rest)| rest);
    let field = after.split_once(": ").map_or("", |(field, _)| field).trim();
    Some(if field.is_empty() || field.contains(' ') {
        "spec".to_owned()
    } else {
        field.to_owned()
    })
}

/// What to tell the user about a field that cannot change in place: never "the agent
/// will delete it for you", as the object may hold data.
pub(crate) fn advice(key: &ObjectKey, field: &str) -> String {
    let name = object_name(key);
    match key.kind.as_str() {
        "StatefulSet" => format!(
            "{field} of StatefulSet {name} cannot change in place; revert the change, or delete \
             the StatefulSet keeping its pods and volumes (`kubectl delete statefulset --cascade=orphan`) \
             so the agent re-creates it, or create a new StatefulSet under another name and migrate \
             the data; the agent will not delete it"
        ),
        "PersistentVolumeClaim" => format!(
            "{field} of PersistentVolumeClaim {name} cannot change once created; revert the change, \
             or create a new claim under another name and copy the data; the agent never deletes volumes"
        ),
        kind => format!(
            "{field} of {kind} {name} cannot change once created; revert the change, or delete the \
             {kind} so the agent re-creates it on its next pass"
        ),
    }
}

/// `namespace/name`, or `name` for a cluster-scoped object.
pub(crate) fn object_name(key: &ObjectKey) -> String {
    match &key.namespace {
        Some(namespace) => format!("{namespace}/{}", key.name),
        None => key.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key(kind: &str) -> ObjectKey {
        ObjectKey {
            group: "apps".into(),
            kind: kind.into(),
            namespace: Some("data".into()),
            name: "redis".into(),
        }
    }

    fn api(value: serde_json::Value) -> kube::Error {
        kube::Error::Api(Box::new(serde_json::from_value(value).unwrap()))
    }

    #[test]
    fn statefulset_forbidden_update_is_immutable_spec() {
        let error = api(json!({"code": 422, "reason": "Invalid",
            "message": "StatefulSet.apps \"redis\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            "details": {"causes": [{"reason": "FieldValueForbidden", "message": "Forbidden: updates to statefulset spec for fields other than ...", "field": "spec"}]}}));
        match from_error(&key("StatefulSet"), &error) {
            Failure::Immutable { field, advice } => {
                assert_eq!(field, "spec");
                assert!(advice.contains("StatefulSet data/redis"), "{advice}");
                assert!(advice.contains("will not delete"), "{advice}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn selector_immutable_from_message_only() {
        let error = api(json!({"code": 422,
            "message": "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: v1.LabelSelector{...}: field is immutable"}));
        assert!(matches!(
            from_error(&key("Deployment"), &error),
            Failure::Immutable { field, .. } if field == "spec.selector"
        ));
    }

    #[test]
    fn other_rejections_keep_the_api_message() {
        let error = api(json!({"code": 422,
            "message": "Service \"x\" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535"}));
        assert_eq!(
            from_error(&key("Service"), &error),
            Failure::Invalid {
                message: "Service \"x\" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535".into()
            }
        );
    }

    #[test]
    fn server_trouble_is_transient() {
        for code in [429, 500, 503, 504] {
            let error = api(json!({"code": code, "message": "try later"}));
            assert!(
                matches!(
                    from_error(&key("Service"), &error),
                    Failure::Transient { .. }
                ),
                "{code}"
            );
        }
    }
}
