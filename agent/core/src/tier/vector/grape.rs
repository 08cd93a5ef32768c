//! Grape (seed 003): a Raft cluster; REST 8080, Raft 9000, metrics 9091, health at
//! `/health`. Every pod reads the same `server.yaml` (ConfigMap `<name>-config`) and takes
//! its node id from its pod name. Reads go to Service `<name>`, writes to `<name>-leader`,
//! which selects the pod labelled [`RAFT_ROLE`]`: `[`RAFT_LEADER`] (set by the agent's
//! operate step once Raft has elected a leader).

use k8s_openapi::api::core::v1::{
    ConfigMapProjection, Container, KeyToPath, Probe, ProjectedVolumeSource, SecretProjection,
    Volume, VolumeProjection,
};

use super::{Access, Plan, Port, config_name, pod_host, pod_labels, scope, valid_secret_name};
use crate::diag::Checks;
use crate::render::build::{self, Alert, Timing};
use crate::spec::VectorStore;
use crate::spec::vector::VectorStoreSpec;

/// The pod label that marks Grape's Raft leader; Service `<name>-leader` selects it.
pub const RAFT_ROLE: &str = "strata.dev/raft-role";
/// The value of [`RAFT_ROLE`] on the leader.
pub const RAFT_LEADER: &str = "leader";

const HTTP: Port = Port::tcp("http", 8080, Access::Client);
const RAFT: Port = Port::tcp("raft", 9000, Access::Cluster);
const METRICS: Port = Port::tcp("metrics", 9091, Access::Metrics);

const DATA_PATH: &str = "/var/lib/grape-vector-db";
const CONFIG_DIR: &str = "/etc/grape-vector-db";

pub(super) fn validate(spec: &VectorStoreSpec, checks: &mut Checks) {
    let replicas = spec.replicas;
    if replicas > 1 && replicas.is_multiple_of(2) {
        checks.warn(
            "spec.replicas",
            format!(
                "{replicas} Raft members tolerate no more failures than {}; use an odd count",
                replicas - 1
            ),
        );
    }
    if spec.auth.users.is_some() {
        checks.error(
            "spec.auth.users",
            "Grape reads API keys only; users are a Weaviate setting",
        );
    }
    if spec.autoscaling.as_ref().is_some_and(|a| a.enabled) {
        checks.warn(
            "spec.autoscaling",
            "Grape's Raft membership would follow load: pods the autoscaler adds are not peers in server.yaml, and removing members can cost the majority",
        );
    }
    let majority = replicas / 2 + 1;
    if let Some(min) = spec.disruption.min_available
        && replicas > 1
        && min < majority
    {
        checks.warn(
            "spec.disruption.minAvailable",
            format!("{min} is less than a Raft majority ({majority} of {replicas}); a drain could stop writes"),
        );
    }
    let Some(grape) = &spec.grape else {
        return;
    };
    if let Some(factor) = grape.replication_factor {
        if factor == 0 {
            checks.error("spec.grape.replicationFactor", "must be at least 1");
        } else if factor > replicas {
            checks.error(
                "spec.grape.replicationFactor",
                format!(
                    "{factor} is more than the {replicas} replicas; each copy needs its own pod"
                ),
            );
        }
    }
    for (path, value) in [
        ("spec.grape.shards", grape.shards),
        ("spec.grape.vectorDimension", grape.vector_dimension),
        ("spec.grape.hnsw.m", grape.hnsw.m),
        ("spec.grape.hnsw.efConstruction", grape.hnsw.ef_construction),
        ("spec.grape.hnsw.efSearch", grape.hnsw.ef_search),
        (
            "spec.grape.heartbeatIntervalMs",
            grape.heartbeat_interval_ms,
        ),
    ] {
        checks.require(value >= 1, path, "must be at least 1");
    }
    if grape.heartbeat_interval_ms >= 1 && grape.election_timeout_ms <= grape.heartbeat_interval_ms
    {
        checks.error(
            "spec.grape.electionTimeoutMs",
            format!(
                "must be longer than heartbeatIntervalMs ({} ms), or followers start elections between heartbeats",
                grape.heartbeat_interval_ms
            ),
        );
    }
    if let Some(limit) = spec.resources().limits.memory
        && let Ok(bytes) = limit.value()
        && f64::from(grape.cache_size_mb) * 1024.0 * 1024.0 >= bytes
    {
        checks.warn(
            "spec.grape.cacheSizeMb",
            format!(
                "{} MB of cache does not fit in the memory limit {limit}; the pods would be OOM-killed",
                grape.cache_size_mb
            ),
        );
    }
    if let Some(secret) = &grape.tls_secret
        && !valid_secret_name(secret)
    {
        checks.error(
            "spec.grape.tlsSecret",
            format!("`{secret}` is not a Secret name"),
        );
    }
}

pub(super) fn plan(w: &VectorStore) -> Plan {
    let spec = &w.spec;
    let name = w.metadata.name.as_str();
    let namespace = w.metadata.namespace.as_str();
    let tls = spec.grape().tls_secret.is_some();

    let probe = |timing: Timing| -> Probe {
        let mut probe = build::http_probe("/health", HTTP.name, timing);
        if tls && let Some(get) = probe.http_get.as_mut() {
            get.scheme = Some("HTTPS".to_owned());
        }
        probe
    };
    let container = Container {
        name: "grape".to_owned(),
        image: Some(spec.image()),
        env: Some(vec![
            build::env_field("GRAPE_NODE_ID", "metadata.name"),
            build::env("RUST_LOG", "info"),
        ]),
        volume_mounts: Some(vec![build::mount("config", CONFIG_DIR, true)]),
        // Seed health check: every 10 s, 5 s timeout, 3 retries, 30 s start period. A
        // restart costs a Raft member, so liveness waits longer and checks less often.
        readiness_probe: Some(probe(Timing {
            initial_delay: 30,
            period: 10,
            timeout: 5,
            failures: 3,
        })),
        liveness_probe: Some(probe(Timing {
            initial_delay: 90,
            period: 15,
            timeout: 5,
            failures: 3,
        })),
        ..Default::default()
    };

    let mut leader_selector = pod_labels(w);
    leader_selector.insert(RAFT_ROLE.to_owned(), RAFT_LEADER.to_owned());
    let leader = build::client_service(
        &format!("{name}-leader"),
        namespace,
        &leader_selector,
        vec![build::service_port(HTTP.name, HTTP.number)],
        &spec.service,
    );

    let mut ports = vec![HTTP, RAFT];
    if spec.monitoring.enabled {
        ports.push(METRICS);
    }
    Plan {
        ports,
        config: [("server.yaml".to_owned(), server_yaml(w))].into(),
        container,
        volumes: vec![config_volume(w)],
        data_path: DATA_PATH,
        // OrderedReady: pod 0 starts alone and becomes leader, the others join one at a
        // time, so membership grows by one while a majority is up, as Raft wants.
        pod_management_policy: "OrderedReady",
        services: vec![leader],
        alerts: alerts(w),
    }
}

/// `/etc/grape-vector-db`: `server.yaml`, the API keys file and the TLS files, in one
/// projected volume (nested mounts inside a ConfigMap volume are fragile).
fn config_volume(w: &VectorStore) -> Volume {
    let spec = &w.spec;
    let name = w.metadata.name.as_str();
    let item = |key: &str, path: &str| KeyToPath {
        key: key.to_owned(),
        path: path.to_owned(),
        mode: None,
    };
    let keys = spec.api_keys(name);
    let mut sources = vec![
        VolumeProjection {
            config_map: Some(ConfigMapProjection {
                name: config_name(name),
                items: Some(vec![item("server.yaml", "server.yaml")]),
                optional: Some(false),
            }),
            ..Default::default()
        },
        VolumeProjection {
            secret: Some(SecretProjection {
                name: keys.name.clone(),
                items: Some(vec![item(&keys.key, "api_keys.yaml")]),
                optional: Some(false),
            }),
            ..Default::default()
        },
    ];
    if let Some(tls) = spec.grape().tls_secret {
        sources.push(VolumeProjection {
            secret: Some(SecretProjection {
                name: tls,
                items: Some(vec![
                    item("tls.crt", "tls/tls.crt"),
                    item("tls.key", "tls/tls.key"),
                    item("ca.crt", "tls/ca.crt"),
                ]),
                optional: Some(false),
            }),
            ..Default::default()
        });
    }
    Volume {
        name: "config".to_owned(),
        projected: Some(ProjectedVolumeSource {
            // Readable by the pod's group (fsGroup) only: the directory holds API keys.
            default_mode: Some(0o440),
            sources: Some(sources),
        }),
        ..Default::default()
    }
}

/// A YAML double-quoted string (JSON's quoting is valid YAML).
fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Seed 003's node configuration, the same for every pod.
fn server_yaml(w: &VectorStore) -> String {
    let spec = &w.spec;
    let grape = spec.grape();
    let name = w.metadata.name.as_str();
    let tls = grape.tls_secret.is_some();
    // One worker per CPU of the limit (the seed's 8 threads for its 8 CPUs).
    let threads = spec
        .resources()
        .limits
        .cpu
        .and_then(|cpu| cpu.value().ok())
        .map_or(8, |cpu| (cpu.ceil() as u32).max(1));
    let file = |f: &str| quoted(&format!("{CONFIG_DIR}/{f}"));

    let mut lines = vec![
        format!(
            "# Grape server configuration of VectorStore {}/{name}, rendered by strata-agent.",
            w.metadata.namespace
        ),
        "# Every pod reads this file: a node takes its id from GRAPE_NODE_ID (its pod name)"
            .to_owned(),
        "# and its role from Raft elections.".to_owned(),
        "node:".to_owned(),
        format!(
            "  listen_address: {}",
            quoted(&format!("0.0.0.0:{}", HTTP.number))
        ),
        format!(
            "  raft_address: {}",
            quoted(&format!("0.0.0.0:{}", RAFT.number))
        ),
        format!("  data_dir: {}", quoted(DATA_PATH)),
        String::new(),
        "cluster:".to_owned(),
        "  enabled: true".to_owned(),
        "  peers:".to_owned(),
    ];
    for i in 0..spec.replicas {
        lines.push(format!("    - id: {}", quoted(&format!("{name}-{i}"))));
        lines.push(format!(
            "      address: {}",
            quoted(&format!("{}:{}", pod_host(w, i), RAFT.number))
        ));
    }
    lines.push(format!(
        "  election_timeout_ms: {}",
        grape.election_timeout_ms
    ));
    lines.push(format!(
        "  heartbeat_interval_ms: {}",
        grape.heartbeat_interval_ms
    ));
    lines.push(format!("  enable_tls: {tls}"));
    if tls {
        lines.extend([
            "  tls_config:".to_owned(),
            format!("    cert_file: {}", file("tls/tls.crt")),
            format!("    key_file: {}", file("tls/tls.key")),
            format!("    ca_file: {}", file("tls/ca.crt")),
            "    verify_peer: true".to_owned(),
        ]);
    }
    lines.extend([
        String::new(),
        "database:".to_owned(),
        format!("  vector_dimension: {}", grape.vector_dimension),
        "  max_documents: 10000000".to_owned(),
        format!("  cache_size_mb: {}", grape.cache_size_mb),
        "  enable_compression: true".to_owned(),
        format!("  shard_count: {}", grape.shards),
        format!("  replication_factor: {}", spec.replication_factor()),
        String::new(),
        "index:".to_owned(),
        "  type: \"hnsw\"".to_owned(),
        format!("  hnsw_m: {}", grape.hnsw.m),
        format!("  hnsw_ef_construction: {}", grape.hnsw.ef_construction),
        format!("  hnsw_ef_search: {}", grape.hnsw.ef_search),
        format!(
            "  enable_binary_quantization: {}",
            grape.binary_quantization
        ),
        "  rebuild_threshold: 100000".to_owned(),
        String::new(),
        "performance:".to_owned(),
        format!("  num_threads: {threads}"),
        "  max_batch_size: 2000".to_owned(),
        "  query_timeout_ms: 10000".to_owned(),
        "  enable_query_cache: true".to_owned(),
        "  cache_ttl_seconds: 600".to_owned(),
        String::new(),
        "monitoring:".to_owned(),
        format!("  enable_metrics: {}", spec.monitoring.enabled),
        format!("  metrics_port: {}", METRICS.number),
        "  enable_tracing: true".to_owned(),
        "  log_level: \"info\"".to_owned(),
        String::new(),
        "security:".to_owned(),
        "  enable_auth: true".to_owned(),
        format!("  api_keys_file: {}", file("api_keys.yaml")),
        format!("  enable_tls: {tls}"),
    ]);
    if tls {
        lines.push(format!("  cert_file: {}", file("tls/tls.crt")));
        lines.push(format!("  key_file: {}", file("tls/tls.key")));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Seed 003's alerts.
fn alerts(w: &VectorStore) -> Vec<Alert> {
    let scope = scope(w);
    vec![
        Alert {
            name: "GrapeNodeDown",
            expr: format!("up{{{scope}}} == 0"),
            for_: "30s",
            severity: "critical",
            summary: "Grape Vector DB node {{ $labels.instance }} is down".to_owned(),
            description: "Node {{ $labels.pod }} has been down for more than 30 seconds."
                .to_owned(),
        },
        Alert {
            name: "GrapeLeaderElection",
            expr: format!("increase(grape_raft_leadership_changes_total{{{scope}}}[5m]) > 0"),
            for_: "0s",
            severity: "warning",
            summary: format!("Grape cluster {} elected a new leader", w.metadata.name),
            description: "A leader election happened in the last 5 minutes.".to_owned(),
        },
        Alert {
            name: "GrapeHighSearchLatency",
            expr: format!(
                "histogram_quantile(0.95, sum by (le, instance) (rate(grape_search_duration_seconds_bucket{{{scope}}}[5m]))) > 0.5"
            ),
            for_: "2m",
            severity: "warning",
            summary: "High search latency on {{ $labels.instance }}".to_owned(),
            description: "95th percentile search latency is {{ $value }}s.".to_owned(),
        },
        Alert {
            name: "GrapeDiskSpaceWarning",
            expr: format!(
                "(1 - grape_db_disk_free_bytes{{{scope}}} / grape_db_disk_total_bytes{{{scope}}}) > 0.8"
            ),
            for_: "5m",
            severity: "warning",
            summary: "Disk space running low on {{ $labels.instance }}".to_owned(),
            description: "Disk usage is {{ $value | humanizePercentage }} on {{ $labels.pod }}."
                .to_owned(),
        },
        Alert {
            name: "GrapeMemoryUsage",
            expr: format!(
                "grape_db_memory_usage_bytes{{{scope}}} / grape_db_memory_limit_bytes{{{scope}}} > 0.9"
            ),
            for_: "5m",
            severity: "warning",
            summary: "High memory usage on {{ $labels.instance }}".to_owned(),
            description: "Memory usage is {{ $value | humanizePercentage }} on {{ $labels.pod }}."
                .to_owned(),
        },
    ]
}
