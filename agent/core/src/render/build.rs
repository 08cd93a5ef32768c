//! Builders for the pieces every tier renders the same way: metadata, Services, probes,
//! security contexts, volumes, disruption budgets, autoscalers, network policies and the
//! Prometheus Operator objects. Tiers compose these; the seeds' numbers stay in the tiers.

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMap, ContainerPort, EnvVar, EnvVarSource, ExecAction,
    HTTPGetAction, ObjectFieldSelector, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PodAffinityTerm, PodAntiAffinity, PodSecurityContext, Probe, ResourceRequirements,
    SeccompProfile, SecretKeySelector, SecurityContext, Service, ServicePort, ServiceSpec,
    TCPSocketAction, Toleration, TopologySpreadConstraint, VolumeResourceRequirements,
    WeightedPodAffinityTerm,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use crate::object::CustomObject;
use crate::quantity::Quantity;
use crate::spec::common::{
    Autoscaling, NetworkSource, Placement, Resources, SecretKeyRef, ServiceExposure, Spread,
};

pub type Labels = BTreeMap<String, String>;

/// `metadata` with a name and namespace; the agent's labels are added later, centrally.
pub fn meta(name: &str, namespace: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        ..Default::default()
    }
}

/// `metadata` with labels (for pod templates and selectors).
pub fn meta_labels(name: &str, namespace: &str, labels: &Labels) -> ObjectMeta {
    ObjectMeta {
        labels: Some(labels.clone()),
        ..meta(name, namespace)
    }
}

pub fn selector(labels: &Labels) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels.clone()),
        ..Default::default()
    }
}

/// A named TCP port, for Services.
pub fn service_port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_owned()),
        port,
        target_port: Some(IntOrString::String(name.to_owned())),
        protocol: Some("TCP".to_owned()),
        ..Default::default()
    }
}

/// A named TCP port, for containers.
pub fn container_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_owned()),
        container_port: port,
        protocol: Some("TCP".to_owned()),
        ..Default::default()
    }
}

/// The headless Service that gives a StatefulSet's pods stable DNS names. Not-ready pods
/// are published so peers can find each other while a cluster forms.
pub fn headless_service(
    name: &str,
    namespace: &str,
    selector: &Labels,
    ports: Vec<ServicePort>,
) -> Service {
    Service {
        metadata: meta(name, namespace),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            publish_not_ready_addresses: Some(true),
            selector: Some(selector.clone()),
            ports: Some(ports),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The Service clients use, exposed as the workload asks.
pub fn client_service(
    name: &str,
    namespace: &str,
    selector: &Labels,
    ports: Vec<ServicePort>,
    exposure: &ServiceExposure,
) -> Service {
    let mut metadata = meta(name, namespace);
    if !exposure.annotations.is_empty() {
        metadata.annotations = Some(exposure.annotations.clone());
    }
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some(exposure.kind.as_str().to_owned()),
            selector: Some(selector.clone()),
            ports: Some(ports),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn resources(resources: &Resources) -> ResourceRequirements {
    let list = |cpu: &Option<Quantity>, memory: &Option<Quantity>| {
        let mut map = BTreeMap::new();
        if let Some(cpu) = cpu {
            map.insert("cpu".to_owned(), cpu.to_k8s());
        }
        if let Some(memory) = memory {
            map.insert("memory".to_owned(), memory.to_k8s());
        }
        (!map.is_empty()).then_some(map)
    };
    ResourceRequirements {
        requests: list(&resources.requests.cpu, &resources.requests.memory),
        limits: list(&resources.limits.cpu, &resources.limits.memory),
        ..Default::default()
    }
}

/// A ReadWriteOnce volume claim (template) of `size` on `storage_class` (None: the default class).
pub fn volume_claim(
    name: &str,
    size: &Quantity,
    storage_class: Option<&str>,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
            storage_class_name: storage_class.map(str::to_owned),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_owned(), size.to_k8s())])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Anti-affinity over nodes and zones, as `placement` asks, for pods matching `selector`.
pub fn anti_affinity(placement: &Placement, selector: &Labels) -> Option<Affinity> {
    let term = |topology: &str| PodAffinityTerm {
        label_selector: Some(self::selector(selector)),
        topology_key: topology.to_owned(),
        ..Default::default()
    };
    let mut required = Vec::new();
    let mut preferred = Vec::new();
    for (spread, topology, weight) in [
        (placement.nodes, "kubernetes.io/hostname", 100),
        (placement.zones, "topology.kubernetes.io/zone", 50),
    ] {
        match spread {
            Spread::Required => required.push(term(topology)),
            Spread::Preferred => preferred.push(WeightedPodAffinityTerm {
                weight,
                pod_affinity_term: term(topology),
            }),
            Spread::None => {}
        }
    }
    if required.is_empty() && preferred.is_empty() {
        return None;
    }
    Some(Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: (!required.is_empty())
                .then_some(required),
            preferred_during_scheduling_ignored_during_execution: (!preferred.is_empty())
                .then_some(preferred),
        }),
        ..Default::default()
    })
}

/// Zone spreading that also balances (anti-affinity alone only avoids co-location).
pub fn zone_spread(
    placement: &Placement,
    selector: &Labels,
) -> Option<Vec<TopologySpreadConstraint>> {
    (placement.zones != Spread::None).then(|| {
        vec![TopologySpreadConstraint {
            max_skew: 1,
            topology_key: "topology.kubernetes.io/zone".to_owned(),
            when_unsatisfiable: if placement.zones == Spread::Required {
                "DoNotSchedule"
            } else {
                "ScheduleAnyway"
            }
            .to_owned(),
            label_selector: Some(self::selector(selector)),
            ..Default::default()
        }]
    })
}

pub fn node_selector(placement: &Placement) -> Option<Labels> {
    (!placement.node_selector.is_empty()).then(|| placement.node_selector.clone())
}

pub fn tolerations(placement: &Placement) -> Option<Vec<Toleration>> {
    (!placement.tolerations.is_empty()).then(|| {
        placement
            .tolerations
            .iter()
            .map(|t| Toleration {
                key: Some(t.key.clone()),
                operator: t.operator.clone(),
                value: t.value.clone(),
                effect: t.effect.clone(),
                ..Default::default()
            })
            .collect()
    })
}

/// Pod-level security: a fixed non-root user and group, volumes owned by `fs_group`.
pub fn pod_security(uid: i64) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        fs_group: Some(uid),
        fs_group_change_policy: Some("OnRootMismatch".to_owned()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Container-level security: non-root, no privilege escalation, no capabilities.
pub fn container_security(uid: i64, read_only_root: bool) -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(read_only_root),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Probe timing: initial delay, period, timeout, failures before acting.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub initial_delay: i32,
    pub period: i32,
    pub timeout: i32,
    pub failures: i32,
}

fn probe(timing: Timing) -> Probe {
    Probe {
        initial_delay_seconds: Some(timing.initial_delay),
        period_seconds: Some(timing.period),
        timeout_seconds: Some(timing.timeout),
        failure_threshold: Some(timing.failures),
        ..Default::default()
    }
}

pub fn http_probe(path: &str, port: &str, timing: Timing) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String(port.to_owned()),
            ..Default::default()
        }),
        ..probe(timing)
    }
}

pub fn tcp_probe(port: &str, timing: Timing) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String(port.to_owned()),
            ..Default::default()
        }),
        ..probe(timing)
    }
}

pub fn exec_probe(command: &[&str], timing: Timing) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(command.iter().map(|s| (*s).to_owned()).collect()),
        }),
        ..probe(timing)
    }
}

pub fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.into()),
        ..Default::default()
    }
}

/// An environment variable read from a Secret (the value never appears in the object).
pub fn env_secret(name: &str, secret: &SecretKeyRef) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.name.clone(),
                key: secret.key.clone(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An environment variable from the pod's own fields (`metadata.name`, `status.podIP`).
pub fn env_field(name: &str, field_path: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: field_path.to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn config_map(name: &str, namespace: &str, data: BTreeMap<String, String>) -> ConfigMap {
    ConfigMap {
        metadata: meta(name, namespace),
        data: Some(data),
        ..Default::default()
    }
}

/// A budget keeping `min_available` of the selected pods up.
pub fn disruption_budget(
    name: &str,
    namespace: &str,
    selector: &Labels,
    min_available: u32,
) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: meta(name, namespace),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(min_available as i32)),
            selector: Some(self::selector(selector)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An autoscaler for `kind`/`name` between `min` (default `replicas`) and max replicas.
pub fn autoscaler(
    name: &str,
    namespace: &str,
    kind: &str,
    api_version: &str,
    autoscaling: &Autoscaling,
    replicas: u32,
) -> HorizontalPodAutoscaler {
    let metric = |resource: &str, target: u32| MetricSpec {
        type_: "Resource".to_owned(),
        resource: Some(ResourceMetricSource {
            name: resource.to_owned(),
            target: MetricTarget {
                type_: "Utilization".to_owned(),
                average_utilization: Some(target as i32),
                ..Default::default()
            },
        }),
        ..Default::default()
    };
    let mut metrics = Vec::new();
    if let Some(cpu) = autoscaling.target_cpu_utilization {
        metrics.push(metric("cpu", cpu));
    }
    if let Some(memory) = autoscaling.target_memory_utilization {
        metrics.push(metric("memory", memory));
    }
    HorizontalPodAutoscaler {
        metadata: meta(name, namespace),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some(api_version.to_owned()),
                kind: kind.to_owned(),
                name: name.to_owned(),
            },
            min_replicas: Some(autoscaling.min_replicas.unwrap_or(replicas) as i32),
            max_replicas: autoscaling.max_replicas as i32,
            metrics: Some(metrics),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The peers an allowed source matches.
pub fn network_peer(source: &NetworkSource) -> NetworkPolicyPeer {
    if let Some(namespace) = &source.namespace {
        return namespace_peer(namespace);
    }
    if let Some(labels) = &source.namespace_selector {
        return NetworkPolicyPeer {
            namespace_selector: Some(selector(labels)),
            ..Default::default()
        };
    }
    if let Some(labels) = &source.pod_selector {
        return NetworkPolicyPeer {
            pod_selector: Some(selector(labels)),
            ..Default::default()
        };
    }
    NetworkPolicyPeer {
        ip_block: source.cidr.as_ref().map(|cidr| IPBlock {
            cidr: cidr.clone(),
            except: None,
        }),
        ..Default::default()
    }
}

/// Every pod of one namespace, by the label Kubernetes sets on every namespace.
pub fn namespace_peer(namespace: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(selector(&Labels::from([(
            "kubernetes.io/metadata.name".to_owned(),
            namespace.to_owned(),
        )]))),
        ..Default::default()
    }
}

/// Pods of the policy's own namespace with these labels.
pub fn pod_peer(labels: &Labels) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(selector(labels)),
        ..Default::default()
    }
}

/// A NetworkPolicy port; `protocol` is `TCP` or `UDP`.
pub fn policy_port(port: i32, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some(protocol.to_owned()),
        ..Default::default()
    }
}

pub fn tcp_ports(ports: &[i32]) -> Vec<NetworkPolicyPort> {
    ports.iter().map(|port| policy_port(*port, "TCP")).collect()
}

/// An ingress rule: `from` may reach `ports` (all ports when empty).
pub fn ingress(from: Vec<NetworkPolicyPeer>, ports: &[i32]) -> NetworkPolicyIngressRule {
    NetworkPolicyIngressRule {
        from: Some(from),
        ports: (!ports.is_empty()).then(|| tcp_ports(ports)),
    }
}

/// An egress rule: `to` (anywhere when empty) on `ports` (all when empty).
pub fn egress(to: Vec<NetworkPolicyPeer>, ports: &[i32]) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: (!to.is_empty()).then_some(to),
        ports: (!ports.is_empty()).then(|| tcp_ports(ports)),
    }
}

/// A policy for the pods matching `pod_selector`. `egress: None` leaves egress open.
pub fn network_policy(
    name: &str,
    namespace: &str,
    pod_selector: &Labels,
    ingress: Vec<NetworkPolicyIngressRule>,
    egress: Option<Vec<NetworkPolicyEgressRule>>,
) -> NetworkPolicy {
    let mut types = vec!["Ingress".to_owned()];
    if egress.is_some() {
        types.push("Egress".to_owned());
    }
    NetworkPolicy {
        metadata: meta(name, namespace),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector(pod_selector)),
            policy_types: Some(types),
            ingress: Some(ingress),
            egress,
        }),
    }
}

/// A Prometheus Operator ServiceMonitor scraping `port` of the Services matching `selector`.
pub fn service_monitor(
    name: &str,
    namespace: &str,
    selector: &Labels,
    endpoints: &[(&str, &str)],
    interval: &str,
    labels: &Labels,
) -> CustomObject {
    let mut metadata = meta(name, namespace);
    if !labels.is_empty() {
        metadata.labels = Some(labels.clone());
    }
    let endpoints: Vec<_> = endpoints
        .iter()
        .map(|(port, path)| json!({ "port": port, "path": path, "interval": interval }))
        .collect();
    CustomObject::new("monitoring.coreos.com/v1", "ServiceMonitor", metadata).with(
        "spec",
        json!({
            "selector": { "matchLabels": selector },
            "namespaceSelector": { "matchNames": [namespace] },
            "endpoints": endpoints,
        }),
    )
}

/// One alerting rule.
#[derive(Clone, Debug)]
pub struct Alert {
    pub name: &'static str,
    pub expr: String,
    pub for_: &'static str,
    pub severity: &'static str,
    pub summary: String,
    pub description: String,
}

/// A PrometheusRule with one group of alerts.
pub fn prometheus_rule(
    name: &str,
    namespace: &str,
    group: &str,
    alerts: &[Alert],
    labels: &Labels,
) -> CustomObject {
    let mut metadata = meta(name, namespace);
    if !labels.is_empty() {
        metadata.labels = Some(labels.clone());
    }
    let rules: Vec<_> = alerts
        .iter()
        .map(|a| {
            json!({
                "alert": a.name,
                "expr": a.expr,
                "for": a.for_,
                "labels": { "severity": a.severity },
                "annotations": { "summary": a.summary, "description": a.description },
            })
        })
        .collect();
    CustomObject::new("monitoring.coreos.com/v1", "PrometheusRule", metadata).with(
        "spec",
        json!({ "groups": [{ "name": group, "rules": rules }] }),
    )
}

/// A quantity for fields k8s-openapi types directly (e.g. emptyDir size limits).
pub fn quantity(q: &Quantity) -> K8sQuantity {
    q.to_k8s()
}

/// The pod-template annotation holding [`config_hash`] of the files a pod mounts, so pods
/// roll when their configuration changes, and only then.
pub const CONFIG_HASH: &str = "strata.dev/config-hash";

/// A stable fingerprint (64-bit FNV-1a, hex) of some texts: the same on every platform
/// and Rust version, unlike `std`'s hashers. Each part is terminated, so ("ab", "c") and
/// ("a", "bc") differ.
pub fn config_hash<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// [`config_hash`] of a ConfigMap's data (keys and values).
pub fn data_hash(data: &BTreeMap<String, String>) -> String {
    config_hash(data.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]))
}

/// A scratch volume, optionally capped (exceeding the cap evicts the pod).
pub fn empty_dir(name: &str, size_limit: Option<&Quantity>) -> k8s_openapi::api::core::v1::Volume {
    k8s_openapi::api::core::v1::Volume {
        name: name.to_owned(),
        empty_dir: Some(k8s_openapi::api::core::v1::EmptyDirVolumeSource {
            size_limit: size_limit.map(Quantity::to_k8s),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn mount(volume: &str, path: &str, read_only: bool) -> k8s_openapi::api::core::v1::VolumeMount {
    k8s_openapi::api::core::v1::VolumeMount {
        name: volume.to_owned(),
        mount_path: path.to_owned(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}
