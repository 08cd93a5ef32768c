//! Defaulting: the fields the real server fills in when they are absent, so that a
//! comparison of desired and live objects meets the same noise it meets on a cluster.
//! A realistic subset; see README.md.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::kinds::ResourceType;

/// What defaulting needs from the server: the allocators and the default StorageClass.
#[derive(Clone, Debug)]
pub struct Env {
    /// Next offset in 10.96.0.0/12 for a Service cluster IP.
    pub next_ip: u32,
    pub next_node_port: u32,
    /// The StorageClass annotated `storageclass.kubernetes.io/is-default-class: "true"`.
    pub default_storage_class: Option<String>,
}

impl Env {
    fn cluster_ip(&mut self) -> String {
        let ip = u32::from_be_bytes([10, 96, 0, 0]) + self.next_ip;
        self.next_ip += 1;
        std::net::Ipv4Addr::from(ip).to_string()
    }
    fn node_port(&mut self) -> u32 {
        let p = self.next_node_port;
        self.next_node_port += 1;
        p
    }
}

fn set(m: &mut Map<String, Value>, key: &str, v: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.into(), v);
    }
}

fn obj<'a>(m: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    m.get_mut(key).and_then(Value::as_object_mut)
}

fn obj_or_new<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    if !m.get(key).is_some_and(Value::is_object) {
        m.insert(key.into(), json!({}));
    }
    obj(m, key).expect("just inserted")
}

fn each<'a>(
    m: &'a mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    m.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

/// Keeps values the server allocated when an update leaves them out (the Service REST
/// storage does the same), so a PUT or apply without `clusterIP` is not a change.
pub fn carry_allocated(rt: &ResourceType, old: &Value, new: &mut Value) {
    if !rt.is("", "services") {
        return;
    }
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    for key in ["clusterIP", "clusterIPs", "healthCheckNodePort"] {
        if let Some(v) = old["spec"].get(key).filter(|v| !v.is_null()) {
            set(spec, key, v.clone());
        }
    }
    let old_ports = old["spec"]["ports"].as_array().cloned().unwrap_or_default();
    for port in each(spec, "ports") {
        let same = old_ports
            .iter()
            .find(|p| port.get("port") == Some(&p["port"]) && p.get("nodePort").is_some());
        if let Some(p) = same {
            set(port, "nodePort", p["nodePort"].clone());
        }
    }
}

pub fn apply(rt: &ResourceType, v: &mut Value, env: &mut Env) {
    if !rt.builtin {
        return;
    }
    crate::quantity::canonicalize(v);
    let Some(o) = v.as_object_mut() else { return };
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "namespaces") => namespace(o),
        ("", "services") => service(o, env),
        ("", "persistentvolumeclaims") => pvc(o, env),
        ("", "secrets") => secret(o),
        ("", "pods") => {
            let spec = obj_or_new(o, "spec");
            pod_spec(spec);
            set(spec, "enableServiceLinks", json!(true));
            set(spec, "serviceAccountName", json!("default"));
            set(spec, "serviceAccount", json!("default"));
            set(spec, "priority", json!(0));
            set(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
            set(obj_or_new(o, "status"), "phase", json!("Pending"));
        }
        ("apps", "statefulsets") => statefulset(o),
        ("apps", "deployments") => deployment(o),
        ("batch", "jobs") => job(o),
        ("batch", "cronjobs") => cronjob(o),
        ("storage.k8s.io", "storageclasses") => {
            set(o, "reclaimPolicy", json!("Delete"));
            set(o, "volumeBindingMode", json!("Immediate"));
        }
        ("networking.k8s.io", "networkpolicies") => network_policy(o),
        ("autoscaling", "horizontalpodautoscalers") => hpa(o),
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => {
            for subject in each(o, "subjects") {
                let sa = subject.get("kind").is_some_and(|k| k == "ServiceAccount");
                let group = if sa { "" } else { "rbac.authorization.k8s.io" };
                set(subject, "apiGroup", json!(group));
            }
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => crd(o),
        _ => {}
    }
}

fn namespace(o: &mut Map<String, Value>) {
    let name = o
        .get("metadata")
        .map(|m| m["name"].clone())
        .unwrap_or_default();
    let labels = obj_or_new(obj_or_new(o, "metadata"), "labels");
    labels.insert("kubernetes.io/metadata.name".into(), name);
    set(obj_or_new(o, "spec"), "finalizers", json!(["kubernetes"]));
    set(obj_or_new(o, "status"), "phase", json!("Active"));
}

fn service(o: &mut Map<String, Value>, env: &mut Env) {
    let spec = obj_or_new(o, "spec");
    set(spec, "type", json!("ClusterIP"));
    set(spec, "sessionAffinity", json!("None"));
    let kind = spec["type"].as_str().unwrap_or_default().to_owned();
    if kind != "ExternalName" {
        if spec.get("clusterIP").is_none_or(|v| v.is_null() || v == "") {
            spec.insert("clusterIP".into(), json!(env.cluster_ip()));
        }
        let ip = spec["clusterIP"].clone();
        set(spec, "clusterIPs", json!([ip]));
        set(spec, "ipFamilies", json!(["IPv4"]));
        set(spec, "ipFamilyPolicy", json!("SingleStack"));
        set(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    let external = matches!(kind.as_str(), "NodePort" | "LoadBalancer");
    if external {
        set(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if kind == "LoadBalancer" {
        set(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    for port in each(spec, "ports") {
        set(port, "protocol", json!("TCP"));
        let p = port.get("port").cloned().unwrap_or(Value::Null);
        set(port, "targetPort", p);
        if external {
            set(port, "nodePort", json!(env.node_port()));
        }
    }
    set(obj_or_new(o, "status"), "loadBalancer", json!({}));
}

fn pvc(o: &mut Map<String, Value>, env: &Env) {
    let spec = obj_or_new(o, "spec");
    set(spec, "volumeMode", json!("Filesystem"));
    if let Some(sc) = &env.default_storage_class {
        set(spec, "storageClassName", json!(sc));
    }
    set(obj_or_new(o, "status"), "phase", json!("Pending"));
}

fn secret(o: &mut Map<String, Value>) {
    set(o, "type", json!("Opaque"));
    // `stringData` is write-only: the server folds it into `data`.
    if let Some(Value::Object(strings)) = o.remove("stringData") {
        let data = obj_or_new(o, "data");
        for (k, v) in strings {
            let text = v.as_str().unwrap_or_default();
            data.insert(
                k,
                json!(base64::engine::general_purpose::STANDARD.encode(text)),
            );
        }
    }
}

fn statefulset(o: &mut Map<String, Value>) {
    let spec = obj_or_new(o, "spec");
    set(spec, "replicas", json!(1));
    set(spec, "podManagementPolicy", json!("OrderedReady"));
    set(spec, "revisionHistoryLimit", json!(10));
    let strategy = obj_or_new(spec, "updateStrategy");
    if strategy.get("type").is_none_or(Value::is_null) {
        strategy.insert("type".into(), json!("RollingUpdate"));
        set(strategy, "rollingUpdate", json!({}));
    }
    if strategy["type"] == "RollingUpdate"
        && let Some(rolling) = obj(strategy, "rollingUpdate")
    {
        set(rolling, "partition", json!(0));
    }
    let retention = obj_or_new(spec, "persistentVolumeClaimRetentionPolicy");
    set(retention, "whenDeleted", json!("Retain"));
    set(retention, "whenScaled", json!("Retain"));
    for vct in each(spec, "volumeClaimTemplates") {
        set(vct, "apiVersion", json!("v1"));
        set(vct, "kind", json!("PersistentVolumeClaim"));
        set(obj_or_new(vct, "spec"), "volumeMode", json!("Filesystem"));
        set(obj_or_new(vct, "status"), "phase", json!("Pending"));
    }
    template(spec);
}

fn deployment(o: &mut Map<String, Value>) {
    let spec = obj_or_new(o, "spec");
    set(spec, "replicas", json!(1));
    set(spec, "revisionHistoryLimit", json!(10));
    set(spec, "progressDeadlineSeconds", json!(600));
    let strategy = obj_or_new(spec, "strategy");
    set(strategy, "type", json!("RollingUpdate"));
    if strategy["type"] == "RollingUpdate" {
        let rolling = obj_or_new(strategy, "rollingUpdate");
        set(rolling, "maxUnavailable", json!("25%"));
        set(rolling, "maxSurge", json!("25%"));
    }
    template(spec);
}

fn job(o: &mut Map<String, Value>) {
    let spec = obj_or_new(o, "spec");
    if spec.get("parallelism").is_none_or(Value::is_null)
        && spec.get("completions").is_none_or(Value::is_null)
    {
        spec.insert("completions".into(), json!(1));
    }
    set(spec, "parallelism", json!(1));
    set(spec, "backoffLimit", json!(6));
    set(spec, "completionMode", json!("NonIndexed"));
    set(spec, "suspend", json!(false));
    set(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    template(spec);
}

fn cronjob(o: &mut Map<String, Value>) {
    let spec = obj_or_new(o, "spec");
    set(spec, "concurrencyPolicy", json!("Allow"));
    set(spec, "suspend", json!(false));
    set(spec, "successfulJobsHistoryLimit", json!(3));
    set(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(job_spec) = obj(spec, "jobTemplate").and_then(|t| obj(t, "spec")) {
        template(job_spec);
    }
}

/// `spec.template.spec` of a workload.
fn template(spec: &mut Map<String, Value>) {
    if let Some(pod) = obj(spec, "template").map(|t| obj_or_new(t, "spec")) {
        pod_spec(pod);
    }
}

fn pod_spec(spec: &mut Map<String, Value>) {
    set(spec, "restartPolicy", json!("Always"));
    set(spec, "dnsPolicy", json!("ClusterFirst"));
    set(spec, "schedulerName", json!("default-scheduler"));
    set(spec, "terminationGracePeriodSeconds", json!(30));
    set(spec, "securityContext", json!({}));
    for key in ["containers", "initContainers"] {
        each(spec, key).for_each(container);
    }
    for volume in each(spec, "volumes") {
        for source in ["configMap", "secret", "projected", "downwardAPI"] {
            if let Some(s) = obj(volume, source) {
                set(s, "defaultMode", json!(420));
            }
        }
    }
}

fn container(c: &mut Map<String, Value>) {
    set(c, "terminationMessagePath", json!("/dev/termination-log"));
    set(c, "terminationMessagePolicy", json!("File"));
    set(c, "resources", json!({}));
    let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
    set(c, "imagePullPolicy", json!(pull_policy(image)));
    for port in each(c, "ports") {
        set(port, "protocol", json!("TCP"));
    }
    for env in each(c, "env") {
        if let Some(field_ref) = obj(env, "valueFrom").and_then(|v| obj(v, "fieldRef")) {
            set(field_ref, "apiVersion", json!("v1"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = obj(c, probe) {
            set(p, "timeoutSeconds", json!(1));
            set(p, "periodSeconds", json!(10));
            set(p, "successThreshold", json!(1));
            set(p, "failureThreshold", json!(3));
            if let Some(http) = obj(p, "httpGet") {
                set(http, "scheme", json!("HTTP"));
            }
        }
    }
}

/// `Always` for `:latest` or untagged images, else `IfNotPresent`.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let name = image.rsplit('/').next().unwrap_or(image);
    match name.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn network_policy(o: &mut Map<String, Value>) {
    let spec = obj_or_new(o, "spec");
    for rules in ["ingress", "egress"] {
        for rule in each(spec, rules) {
            for port in each(rule, "ports") {
                set(port, "protocol", json!("TCP"));
            }
        }
    }
    if spec.get("policyTypes").is_none_or(Value::is_null) {
        let mut types = vec![json!("Ingress")];
        if spec.get("egress").is_some_and(|e| !e.is_null()) {
            types.push(json!("Egress"));
        }
        spec.insert("policyTypes".into(), Value::Array(types));
    }
}

fn hpa(o: &mut Map<String, Value>) {
    let spec = obj_or_new(o, "spec");
    set(spec, "minReplicas", json!(1));
    set(
        spec,
        "metrics",
        json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]),
    );
    if let Some(behavior) = obj(spec, "behavior") {
        let up = obj_or_new(behavior, "scaleUp");
        set(up, "stabilizationWindowSeconds", json!(0));
        set(up, "selectPolicy", json!("Max"));
        set(
            up,
            "policies",
            json!([{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]),
        );
        let down = obj_or_new(behavior, "scaleDown");
        set(down, "selectPolicy", json!("Max"));
        set(
            down,
            "policies",
            json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]),
        );
    }
}

fn crd(o: &mut Map<String, Value>) {
    let spec = obj_or_new(o, "spec");
    set(spec, "conversion", json!({"strategy": "None"}));
    let names = obj_or_new(spec, "names");
    if let Some(kind) = names.get("kind").and_then(Value::as_str).map(str::to_owned) {
        set(names, "singular", json!(kind.to_lowercase()));
        set(names, "listKind", json!(format!("{kind}List")));
    }
    let names = names.clone();
    let stored: Vec<Value> = each(spec, "versions")
        .filter(|v| v.get("storage").is_some_and(|s| s == true))
        .map(|v| v.get("name").cloned().unwrap_or_default())
        .collect();
    // The apiextensions controller's status: names accepted, established at once.
    o.insert(
        "status".into(),
        json!({
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
            ],
            "storedVersions": stored,
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Registry;

    fn env() -> Env {
        Env {
            next_ip: 10,
            next_node_port: 30000,
            default_storage_class: None,
        }
    }

    #[test]
    fn service_gets_ip_and_port_defaults() {
        let reg = Registry::default();
        let rt = reg.find("", "v1", "services").unwrap();
        let mut v = json!({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}});
        apply(rt, &mut v, &mut env());
        assert_eq!(v["spec"]["clusterIP"], "10.96.0.10");
        assert_eq!(
            v["spec"]["ports"][0],
            json!({"port": 80, "protocol": "TCP", "targetPort": 80})
        );
        assert_eq!(v["spec"]["type"], "ClusterIP");
    }

    #[test]
    fn statefulset_claim_templates_get_the_classic_noise() {
        let reg = Registry::default();
        let rt = reg.find("apps", "v1", "statefulsets").unwrap();
        let mut v = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "redis"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}]}});
        apply(rt, &mut v, &mut env());
        assert_eq!(
            v["spec"]["volumeClaimTemplates"][0]["status"],
            json!({"phase": "Pending"})
        );
        assert_eq!(
            v["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"],
            "Filesystem"
        );
        assert_eq!(
            v["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(
            v["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "Always"
        );
    }

    #[test]
    fn pull_policies() {
        assert_eq!(pull_policy("redis:7"), "IfNotPresent");
        assert_eq!(pull_policy("registry:5000/redis"), "Always");
        assert_eq!(pull_policy("redis:latest"), "Always");
        assert_eq!(pull_policy("redis@sha256:abc"), "IfNotPresent");
    }
}
