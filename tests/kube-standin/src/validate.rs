//! Validation (422 Invalid) with the real server's field paths and messages, for the
//! checks that matter to a deployer: names, labels, selectors, containers, Service
//! ports, claim templates, and the immutable fields of each kind.

use serde_json::{Value, json};

use crate::error::FieldError;
use crate::kinds::ResourceType;
use crate::quantity;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const LABEL_KEY_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const STS_FORBIDDEN: &str = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
const PVC_FORBIDDEN: &str = "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";
const IMMUTABLE_WHEN_SET: &str = "field is immutable when `immutable` is set";

fn alnum_lower(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| alnum_lower(c) || c == '-')
        && s.starts_with(alnum_lower)
        && s.ends_with(alnum_lower)
}

fn is_subdomain(s: &str) -> bool {
    s.split('.').all(is_label)
}

fn is_label_value_chars(s: &str) -> bool {
    let edge = |c: char| c.is_ascii_alphanumeric();
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.starts_with(edge)
        && s.ends_with(edge)
}

/// The problems with a name of the given rule; empty when valid.
fn name_problems(rule: NameRule, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    match rule {
        NameRule::Subdomain => {
            if name.len() > 253 {
                out.push("must be no more than 253 characters".to_owned());
            }
            if !is_subdomain(name) {
                out.push(SUBDOMAIN_MSG.to_owned());
            }
        }
        NameRule::Label | NameRule::Dns1035 => {
            if name.len() > 63 {
                out.push("must be no more than 63 characters".to_owned());
            }
            let ok = is_label(name)
                && (rule == NameRule::Label || name.starts_with(|c: char| c.is_ascii_lowercase()));
            if !ok {
                out.push(
                    if rule == NameRule::Label {
                        LABEL_MSG
                    } else {
                        DNS1035_MSG
                    }
                    .to_owned(),
                );
            }
        }
        NameRule::PathSegment => {
            if name == "." || name == ".." {
                out.push(format!("may not be '{name}'"));
            }
            for bad in ["/", "%"] {
                if name.contains(bad) {
                    out.push(format!("may not contain '{bad}'"));
                }
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum NameRule {
    Subdomain,
    Label,
    Dns1035,
    PathSegment,
}

fn name_rule(rt: &ResourceType) -> NameRule {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "namespaces") => NameRule::Label,
        ("", "services") => NameRule::Dns1035,
        ("rbac.authorization.k8s.io", _) => NameRule::PathSegment,
        _ => NameRule::Subdomain,
    }
}

fn meta(rt: &ResourceType, obj: &Value, errs: &mut Vec<FieldError>) {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for problem in name_problems(name_rule(rt), name) {
            errs.push(FieldError::invalid("metadata.name", json!(name), problem));
        }
    }
    labels(&obj["metadata"]["labels"], "metadata.labels", errs);
}

fn labels(labels: &Value, field: &str, errs: &mut Vec<FieldError>) {
    let Some(labels) = labels.as_object() else {
        return;
    };
    for (k, v) in labels {
        let name = k.rsplit_once('/').map_or(k.as_str(), |(prefix, name)| {
            if !is_subdomain(prefix) || prefix.len() > 253 {
                errs.push(FieldError::invalid(
                    field,
                    json!(k),
                    format!("prefix part {SUBDOMAIN_MSG}"),
                ));
            }
            name
        });
        if name.len() > 63 || !is_label_value_chars(name) {
            errs.push(FieldError::invalid(field, json!(k), LABEL_KEY_MSG));
        }
        let value = v.as_str().unwrap_or_default();
        if value.len() > 63 {
            errs.push(FieldError::invalid(
                field,
                json!(value),
                "must be no more than 63 characters",
            ));
        }
        if !value.is_empty() && !is_label_value_chars(value) {
            errs.push(FieldError::invalid(field, json!(value), LABEL_VALUE_MSG));
        }
    }
}

/// Validation of a new object.
pub fn create(rt: &ResourceType, obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    meta(rt, obj, &mut errs);
    if rt.builtin {
        kind(rt, obj, &mut errs);
    }
    errs
}

/// Validation of an update: the object itself plus what may not change.
pub fn update(rt: &ResourceType, old: &Value, new: &Value) -> Vec<FieldError> {
    let mut errs = create(rt, new);
    if rt.builtin {
        immutable(rt, old, new, &mut errs);
    }
    errs
}

fn kind(rt: &ResourceType, o: &Value, errs: &mut Vec<FieldError>) {
    let spec = &o["spec"];
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "services") => service(spec, errs),
        ("", "persistentvolumeclaims") => claim_spec(spec, "spec", errs),
        ("", "pods") => pod_spec(spec, "spec", &[], errs),
        ("apps", "statefulsets") => {
            workload(spec, "statefulset", errs);
            let claims: Vec<&str> = spec["volumeClaimTemplates"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["metadata"]["name"].as_str())
                .collect();
            pod_spec(
                &spec["template"]["spec"],
                "spec.template.spec",
                &claims,
                errs,
            );
            for (i, vct) in spec["volumeClaimTemplates"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                claim_spec(
                    &vct["spec"],
                    &format!("spec.volumeClaimTemplates[{i}].spec"),
                    errs,
                );
            }
        }
        ("apps", "deployments") => {
            workload(spec, "deployment", errs);
            pod_spec(&spec["template"]["spec"], "spec.template.spec", &[], errs);
        }
        ("batch", "jobs") => job_template(&spec["template"], "spec.template", errs),
        ("batch", "cronjobs") => {
            if spec["schedule"].as_str().unwrap_or_default().is_empty() {
                errs.push(FieldError::required("spec.schedule", ""));
            }
            job_template(
                &spec["jobTemplate"]["spec"]["template"],
                "spec.jobTemplate.spec.template",
                errs,
            );
        }
        ("storage.k8s.io", "storageclasses")
            if o["provisioner"].as_str().unwrap_or_default().is_empty() =>
        {
            errs.push(FieldError::required("provisioner", ""));
        }
        ("policy", "poddisruptionbudgets")
            if !spec["minAvailable"].is_null() && !spec["maxUnavailable"].is_null() =>
        {
            errs.push(FieldError::invalid(
                "spec",
                spec.clone(),
                "minAvailable and maxUnavailable cannot be both set",
            ));
        }
        ("autoscaling", "horizontalpodautoscalers") => {
            if spec["maxReplicas"].as_i64().unwrap_or(0) < 1 {
                errs.push(FieldError::invalid(
                    "spec.maxReplicas",
                    spec["maxReplicas"].clone(),
                    "must be greater than or equal to 1",
                ));
            }
            if spec["scaleTargetRef"]["name"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
            {
                errs.push(FieldError::required("spec.scaleTargetRef.name", ""));
            }
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => crd(o, errs),
        _ => {}
    }
}

fn service(spec: &Value, errs: &mut Vec<FieldError>) {
    let kind = spec["type"].as_str().unwrap_or("ClusterIP");
    const TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if !TYPES.contains(&kind) {
        errs.push(FieldError::not_supported("spec.type", json!(kind), &TYPES));
    }
    let ports = spec["ports"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let headless = spec["clusterIP"] == "None";
    if ports.is_empty() && kind != "ExternalName" && !headless {
        errs.push(FieldError::required("spec.ports", ""));
    }
    let mut names = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let port = p["port"].as_i64().unwrap_or(0);
        if !(1..=65535).contains(&port) {
            errs.push(FieldError::invalid(
                format!("spec.ports[{i}].port"),
                p["port"].clone(),
                "must be between 1 and 65535, inclusive",
            ));
        }
        let name = p["name"].as_str().unwrap_or_default();
        if ports.len() > 1 && name.is_empty() {
            errs.push(FieldError::required(format!("spec.ports[{i}].name"), ""));
        } else if !name.is_empty() && names.contains(&name) {
            errs.push(FieldError::duplicate(
                format!("spec.ports[{i}].name"),
                json!(name),
            ));
        }
        names.push(name);
    }
}

fn claim_spec(spec: &Value, at: &str, errs: &mut Vec<FieldError>) {
    if spec["accessModes"].as_array().is_none_or(Vec::is_empty) {
        errs.push(FieldError::required(
            format!("{at}.accessModes"),
            "at least 1 access mode is required",
        ));
    }
    if spec["resources"]["requests"]["storage"].is_null() {
        errs.push(FieldError::required(format!("{at}.resources[storage]"), ""));
    }
}

/// Selector and template labels of a StatefulSet or Deployment.
fn workload(spec: &Value, what: &str, errs: &mut Vec<FieldError>) {
    if let Some(r) = spec["replicas"].as_i64().filter(|r| *r < 0) {
        errs.push(FieldError::invalid(
            "spec.replicas",
            json!(r),
            "must be greater than or equal to 0",
        ));
    }
    let selector = &spec["selector"];
    if selector.is_null() {
        errs.push(FieldError::required("spec.selector", ""));
        return;
    }
    let empty = selector["matchLabels"]
        .as_object()
        .is_none_or(|m| m.is_empty())
        && selector["matchExpressions"]
            .as_array()
            .is_none_or(Vec::is_empty);
    if empty {
        errs.push(FieldError::invalid(
            "spec.selector",
            selector.clone(),
            format!("empty selector is invalid for {what}"),
        ));
        return;
    }
    let labels = &spec["template"]["metadata"]["labels"];
    if !selector_matches(selector, labels) {
        errs.push(FieldError::invalid(
            "spec.template.metadata.labels",
            labels.clone(),
            "`selector` does not match template `labels`",
        ));
    }
    let policy = spec["template"]["spec"]["restartPolicy"]
        .as_str()
        .unwrap_or("Always");
    if policy != "Always" {
        errs.push(FieldError::not_supported(
            "spec.template.spec.restartPolicy",
            json!(policy),
            &["Always"],
        ));
    }
}

/// A `LabelSelector` (matchLabels and matchExpressions) against a label map.
pub fn selector_matches(selector: &Value, labels: &Value) -> bool {
    let get = |k: &str| labels.get(k).and_then(Value::as_str);
    let labels_ok = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| get(k) == v.as_str());
    let exprs_ok = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match e["operator"].as_str().unwrap_or_default() {
                "In" => get(key).is_some_and(|v| values.contains(&v)),
                "NotIn" => get(key).is_none_or(|v| !values.contains(&v)),
                "Exists" => get(key).is_some(),
                "DoesNotExist" => get(key).is_none(),
                _ => false,
            }
        });
    labels_ok && exprs_ok
}

fn job_template(template: &Value, at: &str, errs: &mut Vec<FieldError>) {
    let policy = template["spec"]["restartPolicy"]
        .as_str()
        .unwrap_or("Always");
    if !matches!(policy, "OnFailure" | "Never") {
        errs.push(FieldError::not_supported(
            format!("{at}.spec.restartPolicy"),
            json!(policy),
            &["OnFailure", "Never"],
        ));
    }
    pod_spec(&template["spec"], &format!("{at}.spec"), &[], errs);
}

/// Containers and volume mounts of a pod spec at `at`; `extra_volumes` are the claim
/// templates of a StatefulSet, which mounts may name.
fn pod_spec(spec: &Value, at: &str, extra_volumes: &[&str], errs: &mut Vec<FieldError>) {
    let volumes: Vec<&str> = spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str())
        .chain(extra_volumes.iter().copied())
        .collect();
    if spec["containers"].as_array().is_none_or(Vec::is_empty) {
        errs.push(FieldError::required(format!("{at}.containers"), ""));
    }
    let mut names = Vec::new();
    for list in ["initContainers", "containers"] {
        for (i, c) in spec[list].as_array().into_iter().flatten().enumerate() {
            let here = format!("{at}.{list}[{i}]");
            match c["name"].as_str().unwrap_or_default() {
                "" => errs.push(FieldError::required(format!("{here}.name"), "")),
                name if names.contains(&name) => {
                    errs.push(FieldError::duplicate(format!("{here}.name"), json!(name)))
                }
                name => {
                    if !is_label(name) || name.len() > 63 {
                        errs.push(FieldError::invalid(
                            format!("{here}.name"),
                            json!(name),
                            LABEL_MSG,
                        ));
                    }
                    names.push(name);
                }
            }
            if c["image"].as_str().unwrap_or_default().trim().is_empty() {
                errs.push(FieldError::required(format!("{here}.image"), ""));
            }
            for (j, m) in c["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let name = m["name"].as_str().unwrap_or_default();
                if !volumes.contains(&name) {
                    errs.push(FieldError::not_found(
                        format!("{here}.volumeMounts[{j}].name"),
                        json!(name),
                    ));
                }
            }
        }
    }
}

fn crd(o: &Value, errs: &mut Vec<FieldError>) {
    let spec = &o["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let plural = spec["names"]["plural"].as_str().unwrap_or_default();
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    }
    if plural.is_empty() {
        errs.push(FieldError::required("spec.names.plural", ""));
    }
    if spec["names"]["kind"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        errs.push(FieldError::required("spec.names.kind", ""));
    }
    let name = o["metadata"]["name"].as_str().unwrap_or_default();
    if !name.is_empty() && name != format!("{plural}.{group}") {
        errs.push(FieldError::invalid(
            "metadata.name",
            json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    let scope = spec["scope"].as_str().unwrap_or_default();
    if !matches!(scope, "Namespaced" | "Cluster") {
        errs.push(FieldError::not_supported(
            "spec.scope",
            json!(scope),
            &["Cluster", "Namespaced"],
        ));
    }
    let versions = spec["versions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if versions.is_empty() {
        errs.push(FieldError::required(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
    } else if versions.iter().filter(|v| v["storage"] == true).count() != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            spec["versions"].clone(),
            "must have exactly one version marked as storage version",
        ));
    }
}

fn without(v: &Value, keys: &[&str]) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        keys.iter().for_each(|k| {
            m.remove(*k);
        });
    }
    v
}

fn changed(old: &Value, new: &Value, pointer: &str) -> bool {
    old.pointer(pointer) != new.pointer(pointer)
}

fn immutable(rt: &ResourceType, old: &Value, new: &Value, errs: &mut Vec<FieldError>) {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("apps", "statefulsets") => {
            const MUTABLE: [&str; 6] = [
                "replicas",
                "ordinals",
                "template",
                "updateStrategy",
                "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds",
            ];
            if without(&old["spec"], &MUTABLE) != without(&new["spec"], &MUTABLE) {
                errs.push(FieldError::forbidden("spec", STS_FORBIDDEN));
            }
        }
        ("apps", "deployments") if changed(old, new, "/spec/selector") => {
            errs.push(FieldError::immutable(
                "spec.selector",
                new["spec"]["selector"].clone(),
            ));
        }
        ("batch", "jobs") => {
            if changed(old, new, "/spec/selector") {
                errs.push(FieldError::immutable(
                    "spec.selector",
                    new["spec"]["selector"].clone(),
                ));
            }
            if changed(old, new, "/spec/template") {
                errs.push(FieldError::immutable(
                    "spec.template",
                    new["spec"]["template"].clone(),
                ));
            }
        }
        ("", "services") => {
            let (before, after) = (&old["spec"]["clusterIP"], &new["spec"]["clusterIP"]);
            if before.as_str().is_some_and(|ip| !ip.is_empty()) && before != after {
                errs.push(FieldError::immutable("spec.clusterIP", after.clone()));
            }
        }
        ("", "persistentvolumeclaims") => pvc_update(old, new, errs),
        ("", "configmaps" | "secrets") => {
            if rt.plural == "secrets" && changed(old, new, "/type") {
                errs.push(FieldError::immutable("type", new["type"].clone()));
            }
            if old["immutable"] == true {
                if new["immutable"] != true {
                    errs.push(FieldError::forbidden("immutable", IMMUTABLE_WHEN_SET));
                }
                for key in ["data", "binaryData"] {
                    if old.get(key) != new.get(key) {
                        errs.push(FieldError::forbidden(key, IMMUTABLE_WHEN_SET));
                    }
                }
            }
        }
        ("storage.k8s.io", "storageclasses") => {
            for key in ["parameters", "provisioner", "reclaimPolicy"] {
                if old.get(key) != new.get(key) {
                    errs.push(FieldError::forbidden(
                        key,
                        format!("updates to {key} are forbidden."),
                    ));
                }
            }
            if changed(old, new, "/volumeBindingMode") {
                errs.push(FieldError::immutable(
                    "volumeBindingMode",
                    new["volumeBindingMode"].clone(),
                ));
            }
        }
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings")
            if changed(old, new, "/roleRef") =>
        {
            errs.push(FieldError::invalid(
                "roleRef",
                new["roleRef"].clone(),
                "cannot change roleRef",
            ));
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            for key in ["group", "scope"] {
                if old["spec"].get(key) != new["spec"].get(key) {
                    errs.push(FieldError::immutable(
                        format!("spec.{key}"),
                        new["spec"][key].clone(),
                    ));
                }
            }
        }
        _ => {}
    }
}

/// Makes `to` hold at `pointer` what `from` holds there, absence included.
fn copy_at(from: &Value, to: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    let value = from.pointer(pointer).cloned();
    match (to.pointer_mut(parent).and_then(Value::as_object_mut), value) {
        (Some(m), Some(v)) => {
            m.insert(key.into(), v);
        }
        (Some(m), None) => {
            m.remove(key);
        }
        (None, _) => {}
    }
}

fn storage(v: &Value) -> Option<f64> {
    quantity::parse(&v["spec"]["resources"]["requests"]["storage"])
}

fn pvc_update(old: &Value, new: &Value, errs: &mut Vec<FieldError>) {
    let bound = new["status"]["phase"] == "Bound";
    let mut old_spec = old["spec"].clone();
    let mut new_spec = new["spec"].clone();
    for spec in [&mut old_spec, &mut new_spec] {
        if let Some(m) = spec.as_object_mut() {
            m.remove("volumeAttributesClassName");
        }
    }
    // The volume binder sets `volumeName` once.
    if old_spec["volumeName"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        copy_at(&new_spec, &mut old_spec, "/volumeName");
    }
    // Only a bound claim may change its requests.
    if bound {
        copy_at(&old_spec, &mut new_spec, "/resources/requests/storage");
    }
    if old_spec != new_spec {
        errs.push(FieldError::forbidden("spec", PVC_FORBIDDEN));
    }
    if let (Some(before), Some(after)) = (storage(old), storage(new))
        && after < before
    {
        let capacity = quantity::parse(&new["status"]["capacity"]["storage"]).unwrap_or(0.0);
        if after <= capacity {
            errs.push(FieldError::forbidden(
                "spec.resources.requests.storage",
                "field can not be less than status.capacity",
            ));
        }
    }
}

/// The PersistentVolumeClaimResize admission check: growing a claim needs a bound claim
/// whose StorageClass allows expansion. `Some(reason)` means 403 Forbidden.
pub fn pvc_resize(old: &Value, new: &Value, class: Option<&Value>) -> Option<&'static str> {
    let (before, after) = (storage(old)?, storage(new)?);
    if after <= before {
        return None;
    }
    if old["status"]["phase"] != "Bound" {
        return Some("Only bound persistent volume claims can be expanded");
    }
    if class.is_none_or(|c| c["allowVolumeExpansion"] != true) {
        return Some(
            "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Registry;

    #[test]
    fn names() {
        assert!(name_problems(NameRule::Subdomain, "a.b-c").is_empty());
        assert!(!name_problems(NameRule::Subdomain, "Bad_Name").is_empty());
        assert!(!name_problems(NameRule::Label, "a.b").is_empty());
        assert!(!name_problems(NameRule::Dns1035, "1abc").is_empty());
        assert!(name_problems(NameRule::PathSegment, "system:controller").is_empty());
    }

    #[test]
    fn statefulset_selector_must_match_template() {
        let reg = Registry::default();
        let rt = reg.find("apps", "v1", "statefulsets").unwrap();
        let sts = json!({"metadata": {"name": "db"}, "spec": {"selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        let errs = create(rt, &sts);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.template.metadata.labels");
    }

    #[test]
    fn pvc_shrink_and_unbound_growth_are_forbidden() {
        let reg = Registry::default();
        let rt = reg.find("", "v1", "persistentvolumeclaims").unwrap();
        let pvc = |size: &str, phase: &str| {
            json!({"metadata": {"name": "p"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
                "status": {"phase": phase, "capacity": {"storage": "10Gi"}}})
        };
        let errs = update(rt, &pvc("10Gi", "Bound"), &pvc("5Gi", "Bound"));
        assert_eq!(
            errs[0].message(),
            "Forbidden: field can not be less than status.capacity"
        );
        let errs = update(rt, &pvc("10Gi", "Pending"), &pvc("20Gi", "Pending"));
        assert_eq!(errs[0].field, "spec");
        assert!(update(rt, &pvc("10Gi", "Bound"), &pvc("20Gi", "Bound")).is_empty());
    }
}
