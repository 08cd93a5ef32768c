//! The stream tier: a `StreamCluster` becomes Chronik Stream as the production guide
//! (seed 004) deploys it: Raft controllers in a StatefulSet with a sled metadata volume
//! each, stateless ingest nodes (Kafka brokers) in a Deployment with a local segment
//! cache, the log itself in S3.
//!
//! Objects, for a workload `<name>`:
//!
//! | object | what |
//! |---|---|
//! | ConfigMap `<name>-config` | `production.yaml` (seed tuning, S3, TLS, SASL, Raft quorum) |
//! | ConfigMap `<name>-topics` | the topics the operate step creates |
//! | Service `<name>-controller-headless` | controller API, Raft, metrics; stable pod DNS |
//! | Service `<name>` | Kafka 9092 and metrics of the ingest nodes |
//! | StatefulSet `<name>-controller` | the controllers, OrderedReady, `metadata` volumes |
//! | Deployment `<name>-ingest` | the ingest nodes, rolling 10% at a time |
//! | PodDisruptionBudget `<name>-controller`, `<name>-ingest` | Raft majority; all but 10% |
//! | HorizontalPodAutoscaler `<name>-ingest` | when `ingest.autoscaling` is on |
//! | NetworkPolicy `<name>` | 9092 from the clients; egress to S3, DNS, the pods |
//! | ServiceMonitor, PrometheusRule `<name>` | when monitoring (and alerts) are on |
//!
//! Ports (the seed fixes only Kafka's 9092; the rest are this tier's choice, one block):
//! [`KAFKA_PORT`], [`CONTROLLER_PORT`], [`RAFT_PORT`], [`METRICS_PORT`].

mod checks;
mod config;
mod pods;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyEgressRule};

use crate::diag::Checks;
use crate::object::{CustomObject, Object};
use crate::render::build::{self, Alert, Labels};
use crate::render::{Context, labels};
use crate::spec::StreamCluster;
use crate::spec::common::ServiceExposure;

/// The Kafka protocol, on the ingest nodes (the seed's client port).
pub const KAFKA_PORT: i32 = 9092;
/// The controller API: ingest nodes ask the controllers for metadata and leadership.
pub const CONTROLLER_PORT: i32 = 9093;
/// Raft between the controllers.
pub const RAFT_PORT: i32 = 9094;
/// Prometheus metrics (`/metrics`), on every pod.
pub const METRICS_PORT: i32 = 9095;

/// The UID and GID every Chronik container runs as.
const UID: i64 = 1000;
/// `app.kubernetes.io/name` of the pods.
const APP: &str = "chronik";
const CONTROLLER: &str = "controller";
const INGEST: &str = "ingest";

/// The names of a workload's objects.
struct Names<'a> {
    name: &'a str,
    namespace: &'a str,
}

impl<'a> Names<'a> {
    fn of(w: &'a StreamCluster) -> Self {
        Self {
            name: &w.metadata.name,
            namespace: &w.metadata.namespace,
        }
    }

    fn controller(&self) -> String {
        format!("{}-controller", self.name)
    }

    fn headless(&self) -> String {
        format!("{}-controller-headless", self.name)
    }

    fn ingest(&self) -> String {
        format!("{}-ingest", self.name)
    }

    fn config(&self) -> String {
        format!("{}-config", self.name)
    }

    fn topics(&self) -> String {
        format!("{}-topics", self.name)
    }

    /// The stable DNS name of controller `ordinal`.
    fn controller_host(&self, ordinal: u32) -> String {
        format!(
            "{}-{ordinal}.{}.{}.svc.cluster.local",
            self.controller(),
            self.headless(),
            self.namespace
        )
    }

    fn controller_selector(&self) -> Labels {
        labels::selector(APP, self.name, CONTROLLER)
    }

    fn ingest_selector(&self) -> Labels {
        labels::selector(APP, self.name, INGEST)
    }

    /// Every pod of this workload, controllers and ingest nodes, and nothing else: by
    /// app and instance, so a workload of another tier with the same name never matches.
    fn workload_selector(&self) -> Labels {
        Labels::from([
            (labels::NAME.to_owned(), APP.to_owned()),
            (labels::INSTANCE.to_owned(), self.name.to_owned()),
        ])
    }
}

/// Rules of a `StreamCluster` beyond its types.
pub fn validate(workload: &StreamCluster, checks: &mut Checks) {
    checks::validate(workload, checks);
}

/// The objects of a `StreamCluster`.
pub fn render(workload: &StreamCluster, _context: &Context) -> Vec<Object> {
    let w = workload;
    let spec = &w.spec;
    let names = Names::of(w);
    let production = config::production_yaml(w, &names);
    let config_hash = build::config_hash([production.as_str()]);
    let mut objects: Vec<Object> = vec![
        build::config_map(
            &names.config(),
            names.namespace,
            BTreeMap::from([(config::PRODUCTION_YAML.to_owned(), production)]),
        )
        .into(),
        build::config_map(
            &names.topics(),
            names.namespace,
            BTreeMap::from([(config::TOPICS_YAML.to_owned(), config::topics_yaml(w))]),
        )
        .into(),
        headless_service(&names).into(),
        client_service(&names).into(),
        pods::controllers(w, &names, &config_hash).into(),
        pods::ingest(w, &names, &config_hash).into(),
        network_policy(w, &names).into(),
    ];

    // A budget is rendered only when it both protects a pod and lets one go: a single
    // controller (or ingest node) could otherwise never be drained.
    let controllers = spec.controllers.replicas;
    let controller_min = spec.controllers.disruption.min_available_for(controllers);
    if controller_min >= 1 && controller_min < controllers {
        objects.push(
            build::disruption_budget(
                &names.controller(),
                names.namespace,
                &names.controller_selector(),
                controller_min,
            )
            .into(),
        );
    }
    let ingest_min = spec.ingest_min_available();
    if ingest_min >= 1 && ingest_min < spec.min_ingest_replicas() {
        objects.push(
            build::disruption_budget(
                &names.ingest(),
                names.namespace,
                &names.ingest_selector(),
                ingest_min,
            )
            .into(),
        );
    }
    if let Some(autoscaling) = spec.ingest_autoscaled() {
        objects.push(
            build::autoscaler(
                &names.ingest(),
                names.namespace,
                "Deployment",
                "apps/v1",
                autoscaling,
                spec.ingest.replicas,
            )
            .into(),
        );
    }
    if spec.monitoring.enabled {
        objects.push(service_monitor(w, &names).into());
        if spec.monitoring.alerts {
            objects.push(prometheus_rule(w, &names).into());
        }
    }
    objects
}

/// Stable DNS for the controllers (Raft peers find each other through it, ready or not)
/// and their metrics.
fn headless_service(names: &Names) -> Service {
    let mut service = build::headless_service(
        &names.headless(),
        names.namespace,
        &names.controller_selector(),
        vec![
            build::service_port("controller", CONTROLLER_PORT),
            build::service_port("raft", RAFT_PORT),
            build::service_port("metrics", METRICS_PORT),
        ],
    );
    // Labelled like the pods, so the ServiceMonitor finds it.
    service.metadata.labels = Some(names.controller_selector());
    service
}

/// The bootstrap Service Kafka clients connect to.
fn client_service(names: &Names) -> Service {
    let mut service = build::client_service(
        names.name,
        names.namespace,
        &names.ingest_selector(),
        vec![
            build::service_port("kafka", KAFKA_PORT),
            build::service_port("metrics", METRICS_PORT),
        ],
        &ServiceExposure::default(),
    );
    service.metadata.labels = Some(names.ingest_selector());
    service
}

/// The seed's policy, with its gaps closed: clients reach only Kafka, the pods reach each
/// other, Prometheus reaches the metrics; egress to the pods, S3, DNS and the collector.
fn network_policy(w: &StreamCluster, names: &Names) -> NetworkPolicy {
    let spec = &w.spec;
    let own = build::pod_peer(&names.workload_selector());
    let mut ingress = Vec::new();
    let clients: Vec<_> = spec
        .network
        .client_namespaces
        .iter()
        .map(|namespace| build::namespace_peer(namespace))
        .chain(spec.network.allowed_sources.iter().map(build::network_peer))
        .collect();
    // An empty `from` would admit everyone: no clients, no rule.
    if !clients.is_empty() {
        ingress.push(build::ingress(clients, &[KAFKA_PORT]));
    }
    ingress.push(build::ingress(vec![own.clone()], &[]));
    if spec.monitoring.enabled {
        ingress.push(build::ingress(
            vec![build::namespace_peer(&spec.monitoring.namespace)],
            &[METRICS_PORT],
        ));
    }

    let mut egress = vec![
        build::egress(vec![own], &[]),
        // S3 lives outside the cluster: any destination, on the endpoint's port (the seed's
        // `namespaceSelector: {}` would only match pods and so never reach S3).
        build::egress(Vec::new(), &[s3_port(w)]),
        // DNS: the seed opens TCP 53 only, but lookups go over UDP first.
        NetworkPolicyEgressRule {
            to: None,
            ports: Some(vec![
                build::policy_port(53, "UDP"),
                build::policy_port(53, "TCP"),
            ]),
        },
    ];
    if let Some(port) = spec.otlp_endpoint.as_deref().and_then(otlp_port) {
        egress.push(build::egress(Vec::new(), &[port]));
    }
    build::network_policy(
        names.name,
        names.namespace,
        &names.workload_selector(),
        ingress,
        Some(egress),
    )
}

fn service_monitor(w: &StreamCluster, names: &Names) -> CustomObject {
    build::service_monitor(
        names.name,
        names.namespace,
        &names.workload_selector(),
        &[("metrics", "/metrics")],
        &w.spec.monitoring.interval,
        &w.spec.monitoring.labels,
    )
}

/// The seed's four alerts, limited to this workload's targets (the ServiceMonitor's jobs
/// are named after the two Services) and, for disk space, to its metadata volumes.
fn prometheus_rule(w: &StreamCluster, names: &Names) -> CustomObject {
    let ns = names.namespace;
    let targets = format!(
        r#"namespace="{ns}",job=~"{}|{}""#,
        names.name,
        names.headless()
    );
    let volumes = format!(
        r#"namespace="{ns}",persistentvolumeclaim=~"{}-{}-[0-9]+""#,
        pods::METADATA_VOLUME,
        names.controller()
    );
    let workload = format!("{ns}/{}", names.name);
    let alerts = [
        Alert {
            name: "ChronikNodeDown",
            expr: format!("up{{{targets}}} == 0"),
            for_: "5m",
            severity: "critical",
            summary: "Chronik node is down".to_owned(),
            description: format!(
                "{{{{ $labels.pod }}}} of Chronik {workload} has not been scrapeable for 5 minutes."
            ),
        },
        Alert {
            name: "HighProduceLatency",
            expr: format!(r#"chronik_produce_latency_seconds{{quantile="0.99",{targets}}} > 0.1"#),
            for_: "10m",
            severity: "warning",
            summary: "High produce latency detected".to_owned(),
            description: format!(
                "p99 produce latency on {{{{ $labels.pod }}}} of Chronik {workload} is {{{{ $value }}}}s (over 0.1s for 10 minutes)."
            ),
        },
        Alert {
            name: "HighConsumerLag",
            expr: format!("chronik_consumer_lag{{{targets}}} > 100000"),
            for_: "15m",
            severity: "warning",
            summary: "Consumer lag is high".to_owned(),
            description: format!(
                "Consumer lag on Chronik {workload} is {{{{ $value }}}} messages (over 100000 for 15 minutes)."
            ),
        },
        Alert {
            name: "DiskSpaceLow",
            expr: format!(
                "kubelet_volume_stats_available_bytes{{{volumes}}} / kubelet_volume_stats_capacity_bytes{{{volumes}}} < 0.1"
            ),
            for_: "5m",
            severity: "critical",
            summary: "Low disk space on data volume".to_owned(),
            description: format!(
                "Metadata volume {{{{ $labels.persistentvolumeclaim }}}} of Chronik {workload} has less than 10% free."
            ),
        },
    ];
    build::prometheus_rule(
        names.name,
        names.namespace,
        &format!("chronik-{}", names.name),
        &alerts,
        &w.spec.monitoring.labels,
    )
}

/// A `[scheme://]host[:port][/path]` endpoint, as written in the document.
#[derive(Debug, PartialEq)]
struct Endpoint<'a> {
    scheme: Option<&'a str>,
    host: &'a str,
    port: Option<u16>,
}

/// Reads an endpoint; `None` when it has no host, a bad port or whitespace.
fn parse_endpoint(text: &str) -> Option<Endpoint<'_>> {
    if text.is_empty() || text.chars().any(char::is_whitespace) {
        return None;
    }
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, text),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        // An IPv6 literal without a port: `[::1]`.
        Some((_, tail)) if tail.ends_with(']') => (authority, None),
        Some((host, port)) => (host, Some(port.parse::<u16>().ok().filter(|p| *p > 0)?)),
        None => (authority, None),
    };
    if host.is_empty() || host.contains('@') {
        return None;
    }
    Some(Endpoint { scheme, host, port })
}

/// The port S3 is reached on: the endpoint's, else HTTPS.
fn s3_port(w: &StreamCluster) -> i32 {
    let endpoint = w.spec.object_storage.s3.endpoint.as_deref();
    match endpoint.and_then(parse_endpoint) {
        Some(Endpoint {
            port: Some(port), ..
        }) => i32::from(port),
        Some(Endpoint {
            scheme: Some("http"),
            ..
        }) => 80,
        _ => 443,
    }
}

/// The port of the OTLP collector: its own, 443 for a bare `https://` URL, else 4317
/// (OTLP over gRPC).
fn otlp_port(endpoint: &str) -> Option<i32> {
    let endpoint = parse_endpoint(endpoint)?;
    Some(match endpoint {
        Endpoint {
            port: Some(port), ..
        } => i32::from(port),
        Endpoint {
            scheme: Some("https"),
            ..
        } => 443,
        _ => 4317,
    })
}

/// The OTLP endpoint as the SDKs' `OTEL_EXPORTER_OTLP_ENDPOINT` wants it: a URL.
fn otlp_url(endpoint: &str) -> String {
    if endpoint.contains("://") {
        endpoint.to_owned()
    } else {
        format!("http://{endpoint}")
    }
}
