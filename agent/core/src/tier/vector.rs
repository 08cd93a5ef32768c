//! The vector tier: a `VectorStore` is a StatefulSet of Weaviate (seed 000, a gossip
//! cluster configured by environment variables) or Grape (seed 003, a Raft cluster
//! configured by `server.yaml`).
//!
//! For a workload `<name>` the tier renders: ConfigMap `<name>-config` (the engine's
//! non-secret configuration), Services `<name>-headless` (stable pod DNS, scraped for
//! metrics) and `<name>` (clients; Grape adds `<name>-leader` for writes), StatefulSet
//! `<name>`, PodDisruptionBudget `<name>` (2+ replicas), HorizontalPodAutoscaler `<name>`
//! (when autoscaling), NetworkPolicy `<name>`, and with monitoring a ServiceMonitor and a
//! PrometheusRule `<name>`. This module holds what both engines share; [`weaviate`] and
//! [`grape`] hold the seeds' engine specifics.

mod grape;
#[cfg(test)]
mod tests;
mod weaviate;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, PodSpec, PodTemplateSpec, Service, ServicePort, Volume,
};
use k8s_openapi::api::networking::v1::NetworkPolicyIngressRule;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::diag::Checks;
use crate::object::{CustomObject, Object};
use crate::render::build::{self, Alert, Labels};
use crate::render::{Context, labels};
use crate::spec::VectorStore;
use crate::spec::common::SecretKeyRef;
use crate::spec::vector::VectorEngine;
use crate::validate;

pub use grape::{RAFT_LEADER, RAFT_ROLE};

/// `app.kubernetes.io/component` of the database pods.
const COMPONENT: &str = "database";
/// The non-root user and group both images run as.
const UID: i64 = 1000;
/// Pod-template annotation with a hash of the ConfigMap: a configuration change rolls the
/// pods (neither engine re-reads its configuration), a commit that changes nothing does not.
pub use build::CONFIG_HASH;

/// Who may reach a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Clients: `spec.network.allowedSources` (default: the workload's namespace).
    Client,
    /// The workload's own pods only (gossip, data, Raft).
    Cluster,
    /// Prometheus, from `spec.monitoring.namespace`.
    Metrics,
}

/// A port of the engine's container.
#[derive(Clone, Copy, Debug)]
struct Port {
    name: &'static str,
    number: i32,
    access: Access,
    /// Also UDP (memberlist gossips over UDP and syncs state over TCP on the same port).
    udp: bool,
}

impl Port {
    const fn tcp(name: &'static str, number: i32, access: Access) -> Self {
        Self {
            name,
            number,
            access,
            udp: false,
        }
    }
}

/// What an engine contributes to the shared layout.
struct Plan {
    /// Container ports; the metrics port only when monitoring is on.
    ports: Vec<Port>,
    /// Data of ConfigMap `<name>-config`.
    config: BTreeMap<String, String>,
    /// The engine's container: image, args, env, probes and its own mounts. Ports,
    /// resources, security and the data and `/tmp` mounts are added here.
    container: Container,
    /// Pod volumes besides `/tmp`.
    volumes: Vec<Volume>,
    /// Where the `data` volume is mounted.
    data_path: &'static str,
    /// `OrderedReady` or `Parallel`, with the engine's reason next to it.
    pod_management_policy: &'static str,
    /// Services besides `<name>-headless` and `<name>`.
    services: Vec<Service>,
    /// The seed's alerts, scoped to the workload.
    alerts: Vec<Alert>,
}

/// Rules of a `VectorStore` beyond its types.
pub fn validate(w: &VectorStore, checks: &mut Checks) {
    let spec = &w.spec;
    match spec.engine {
        VectorEngine::Weaviate if spec.grape.is_some() => {
            checks.error(
                "spec.grape",
                "only allowed with `engine: grape`; this VectorStore is `engine: weaviate`",
            );
        }
        VectorEngine::Grape if spec.weaviate.is_some() => {
            checks.error(
                "spec.weaviate",
                "only allowed with `engine: weaviate`; this VectorStore is `engine: grape`",
            );
        }
        _ => {}
    }
    if spec.replicas == 0 {
        checks.error("spec.replicas", "must be at least 1");
    } else if spec.replicas == 1 {
        checks.warn(
            "spec.replicas",
            "a single pod has no high availability; no PodDisruptionBudget is rendered",
        );
    }
    if spec.image.as_deref().is_some_and(|i| i.trim().is_empty()) {
        checks.error(
            "spec.image",
            "must not be empty; leave it out for the default",
        );
    }
    validate::resources(&spec.resources(), "spec.resources", checks);
    validate::size(&spec.storage_size(), "spec.storage.size", checks);
    validate::disruption(&spec.disruption, spec.replicas, "spec.disruption", checks);
    let floor = pod_floor(w);
    if let Some(min) = spec.disruption.min_available
        && floor < spec.replicas
        && floor > 1
        && min >= floor
    {
        checks.error(
            "spec.disruption.minAvailable",
            format!("must be less than autoscaling.minReplicas ({floor}), or no node could be drained while the autoscaler runs that few pods"),
        );
    }
    if let Some(autoscaling) = spec.autoscaling.as_ref().filter(|a| a.enabled) {
        validate::autoscaling(autoscaling, spec.replicas, "spec.autoscaling", checks);
    }
    validate::network_sources(
        &spec.network.allowed_sources,
        "spec.network.allowedSources",
        checks,
    );
    validate::monitoring(&spec.monitoring, "spec.monitoring", checks);
    if let Some(keys) = &spec.auth.api_keys {
        secret_ref(keys, "spec.auth.apiKeys", checks);
    }
    if let Some(users) = &spec.auth.users {
        secret_ref(users, "spec.auth.users", checks);
    }
    match spec.engine {
        VectorEngine::Weaviate => weaviate::validate(spec, checks),
        VectorEngine::Grape => grape::validate(spec, checks),
    }
}

/// The objects of a `VectorStore`.
pub fn render(w: &VectorStore, _context: &Context) -> Vec<Object> {
    let spec = &w.spec;
    let name = w.metadata.name.as_str();
    let namespace = w.metadata.namespace.as_str();
    let selector = pod_labels(w);
    let plan = match spec.engine {
        VectorEngine::Weaviate => weaviate::plan(w),
        VectorEngine::Grape => grape::plan(w),
    };
    let autoscaling = spec.autoscaling();

    let mut objects: Vec<Object> = Vec::new();
    let hash = build::data_hash(&plan.config);
    objects.push(build::config_map(&config_name(name), namespace, plan.config.clone()).into());

    // Every TCP port on the headless Service (pod DNS and the ServiceMonitor's target);
    // its labels are the pods' so the ServiceMonitor selects it and no other Service.
    let mut headless = build::headless_service(
        &headless_name(name),
        namespace,
        &selector,
        service_ports(&plan.ports, |_| true),
    );
    headless.metadata.labels = Some(selector.clone());
    objects.push(headless.into());
    objects.push(
        build::client_service(
            name,
            namespace,
            &selector,
            service_ports(&plan.ports, |p| p.access == Access::Client),
            &spec.service,
        )
        .into(),
    );
    objects.extend(plan.services.iter().cloned().map(Object::from));

    objects.push(stateful_set(w, &plan, &selector, &hash, autoscaling.is_none()).into());

    if let Some(min_available) = min_available(w) {
        objects.push(build::disruption_budget(name, namespace, &selector, min_available).into());
    }
    if let Some(autoscaling) = &autoscaling {
        objects.push(
            build::autoscaler(
                name,
                namespace,
                "StatefulSet",
                "apps/v1",
                autoscaling,
                spec.replicas,
            )
            .into(),
        );
    }
    objects.push(network_policy(w, &plan.ports, &selector).into());

    let monitoring = &spec.monitoring;
    if monitoring.enabled {
        objects.push(service_monitor(w, &selector).into());
        if monitoring.alerts {
            let group = format!("{}.{name}", spec.engine.as_str());
            objects.push(
                build::prometheus_rule(name, namespace, &group, &plan.alerts, &monitoring.labels)
                    .into(),
            );
        }
    }
    objects
}

/// The fewest pods the workload runs: the autoscaler's minimum when it has one.
fn pod_floor(w: &VectorStore) -> u32 {
    w.spec
        .autoscaling()
        .and_then(|a| a.min_replicas)
        .unwrap_or(w.spec.replicas)
}

/// The PodDisruptionBudget's `minAvailable`, `None` when there is no budget (one pod).
/// The default majority is capped so that one pod can always be evicted (2 of 2 would
/// block every drain); validation keeps a user's value below the floor.
fn min_available(w: &VectorStore) -> Option<u32> {
    let floor = pod_floor(w);
    (floor > 1).then(|| w.spec.disruption.min_available_below(floor))
}

/// The labels that select the workload's database pods.
fn pod_labels(w: &VectorStore) -> Labels {
    labels::selector(w.spec.engine.as_str(), &w.metadata.name, COMPONENT)
}

fn config_name(name: &str) -> String {
    format!("{name}-config")
}

fn headless_name(name: &str) -> String {
    format!("{name}-headless")
}

/// The stable DNS name of pod `i` (through the headless Service).
fn pod_host(w: &VectorStore, i: u32) -> String {
    let name = &w.metadata.name;
    format!(
        "{name}-{i}.{}.{}.svc.cluster.local",
        headless_name(name),
        w.metadata.namespace
    )
}

/// The PromQL label matchers of the workload's scrape targets. The ServiceMonitor takes
/// `job` from the headless Service's `app.kubernetes.io/instance`, i.e. the workload name.
fn scope(w: &VectorStore) -> String {
    format!(
        r#"job="{}", namespace="{}""#,
        w.metadata.name, w.metadata.namespace
    )
}

fn service_ports(ports: &[Port], keep: impl Fn(&Port) -> bool) -> Vec<ServicePort> {
    ports
        .iter()
        .filter(|p| keep(p))
        .map(|p| build::service_port(p.name, p.number))
        .collect()
}

fn stateful_set(
    w: &VectorStore,
    plan: &Plan,
    selector: &Labels,
    config_hash: &str,
    set_replicas: bool,
) -> StatefulSet {
    let spec = &w.spec;
    let name = w.metadata.name.as_str();
    let placement = &spec.placement;

    let mut container = plan.container.clone();
    let mut ports = Vec::new();
    for port in &plan.ports {
        ports.push(build::container_port(port.name, port.number));
        if port.udp {
            let mut udp = build::container_port(&format!("{}-udp", port.name), port.number);
            udp.protocol = Some("UDP".to_owned());
            ports.push(udp);
        }
    }
    container.ports = Some(ports);
    container.resources = Some(build::resources(&spec.resources()));
    // A read-only root; the engines write only to their data volume and /tmp.
    container.security_context = Some(build::container_security(UID, true));
    let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
    mounts.insert(0, build::mount("data", plan.data_path, false));
    mounts.push(build::mount("tmp", "/tmp", false));

    let mut volumes = plan.volumes.clone();
    volumes.push(Volume {
        name: "tmp".to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    });

    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(selector.clone()),
            annotations: Some(BTreeMap::from([(
                CONFIG_HASH.to_owned(),
                config_hash.to_owned(),
            )])),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: vec![container],
            volumes: Some(volumes),
            affinity: build::anti_affinity(placement, selector),
            topology_spread_constraints: build::zone_spread(placement, selector),
            node_selector: build::node_selector(placement),
            tolerations: build::tolerations(placement),
            security_context: Some(build::pod_security(UID)),
            // The databases never call the Kubernetes API.
            automount_service_account_token: Some(false),
            // Peers are found by DNS; Service links would only inject `<SERVICE>_PORT`
            // variables that can shadow the engines' own (`GRAPE_*`, `WEAVIATE_*`).
            enable_service_links: Some(false),
            // Time to flush memtables (Weaviate) or hand over leadership (Grape).
            termination_grace_period_seconds: Some(60),
            ..Default::default()
        }),
    };

    let mut claim = build::volume_claim(
        "data",
        &spec.storage_size(),
        spec.storage.storage_class.as_deref(),
    );
    claim.metadata.labels = Some(selector.clone());

    StatefulSet {
        metadata: build::meta(name, &w.metadata.namespace),
        spec: Some(StatefulSetSpec {
            // Left out while an autoscaler owns the count, so the agent never fights it.
            replicas: set_replicas.then_some(spec.replicas as i32),
            selector: build::selector(selector),
            service_name: Some(headless_name(name)),
            pod_management_policy: Some(plan.pod_management_policy.to_owned()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".to_owned()),
                ..Default::default()
            }),
            // Volumes outlive scale-downs and the StatefulSet itself: a pod that comes
            // back finds its data, and data is only ever deleted by a person.
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".to_owned()),
                    when_scaled: Some("Retain".to_owned()),
                },
            ),
            template,
            volume_claim_templates: Some(vec![claim]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Clients reach the client ports; the workload's own pods reach the client and cluster
/// ports (gossip also over UDP); Prometheus reaches the metrics port.
/// Egress stays open: vectorizer modules call model APIs outside the cluster.
fn network_policy(
    w: &VectorStore,
    ports: &[Port],
    selector: &Labels,
) -> k8s_openapi::api::networking::v1::NetworkPolicy {
    let spec = &w.spec;
    let numbers = |access: &[Access]| -> Vec<i32> {
        ports
            .iter()
            .filter(|p| access.contains(&p.access))
            .map(|p| p.number)
            .collect()
    };
    let clients = if spec.network.allowed_sources.is_empty() {
        // An empty pod selector: every pod of the workload's namespace.
        vec![build::pod_peer(&Labels::new())]
    } else {
        spec.network
            .allowed_sources
            .iter()
            .map(build::network_peer)
            .collect()
    };
    let mut rules: Vec<NetworkPolicyIngressRule> =
        vec![build::ingress(clients, &numbers(&[Access::Client]))];

    let mut own = build::ingress(
        vec![build::pod_peer(selector)],
        &numbers(&[Access::Client, Access::Cluster]),
    );
    let udp = ports
        .iter()
        .filter(|p| p.udp)
        .map(|p| build::policy_port(p.number, "UDP"));
    own.ports.get_or_insert_with(Vec::new).extend(udp);
    rules.push(own);

    let metrics = numbers(&[Access::Metrics]);
    if spec.monitoring.enabled && !metrics.is_empty() {
        rules.push(build::ingress(
            vec![build::namespace_peer(&spec.monitoring.namespace)],
            &metrics,
        ));
    }
    build::network_policy(
        &w.metadata.name,
        &w.metadata.namespace,
        selector,
        rules,
        None,
    )
}

/// Scrapes `/metrics` on the headless Service's `metrics` port, with `job` = the workload
/// name so the alerts can be scoped to it.
fn service_monitor(w: &VectorStore, selector: &Labels) -> CustomObject {
    let monitoring = &w.spec.monitoring;
    let mut monitor = build::service_monitor(
        &w.metadata.name,
        &w.metadata.namespace,
        selector,
        &[("metrics", "/metrics")],
        &monitoring.interval,
        &monitoring.labels,
    );
    if let Some(spec) = monitor
        .fields
        .get_mut("spec")
        .and_then(serde_json::Value::as_object_mut)
    {
        spec.insert("jobLabel".to_owned(), labels::INSTANCE.into());
    }
    monitor
}

/// A Secret reference: a DNS-subdomain name and a valid key.
fn secret_ref(secret: &SecretKeyRef, path: &str, checks: &mut Checks) {
    if !valid_secret_name(&secret.name) {
        checks.error(
            format!("{path}.name"),
            format!(
                "`{}` is not a Secret name (lowercase letters, digits, `-` and `.`, at most 253)",
                secret.name
            ),
        );
    }
    let key_ok = !secret.key.is_empty()
        && secret.key.len() <= 253
        && secret
            .key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !key_ok {
        checks.error(
            format!("{path}.key"),
            format!(
                "`{}` is not a Secret key (letters, digits, `-`, `_` and `.`)",
                secret.key
            ),
        );
    }
}

fn valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}
