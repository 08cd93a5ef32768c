//! The files of the two ConfigMaps: Chronik's `production.yaml` and the topic list.
//!
//! Written as text rather than serialized so the file reads like the seed's, comments
//! included; every string from the document is quoted (JSON strings are YAML).

use std::fmt::Write as _;

use super::{CONTROLLER_PORT, KAFKA_PORT, METRICS_PORT, Names, RAFT_PORT, otlp_url, pods};
use crate::spec::StreamCluster;

/// The key of `<name>-config`.
pub const PRODUCTION_YAML: &str = "production.yaml";
/// The key of `<name>-topics`.
pub const TOPICS_YAML: &str = "topics.yaml";

/// The seed's settings the document does not expose.
const SOCKET_BUFFER_BYTES: u64 = 1_048_576;
const COMPRESSION_LEVEL: u32 = 3;
const FLUSH_INTERVAL_MS: u32 = 100;
const FLUSH_MESSAGES: u32 = 10_000;
const BATCH_SIZE: u32 = 16_384;
const LINGER_MS: u32 = 5;
const BUFFER_MEMORY: u64 = 64 << 20;
const PREFETCH_COUNT: u32 = 10;
/// Share of the cache emptyDir's `sizeLimit` Chronik may fill: going over the limit gets
/// the pod evicted, so the cache stops short of it.
const CACHE_FILL_PERCENT: f64 = 90.0;

/// A YAML double-quoted scalar.
fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialize")
}

/// The Kafka listener's security protocol.
fn security_protocol(w: &StreamCluster) -> &'static str {
    let security = &w.spec.security;
    match (security.tls.enabled, security.sasl.enabled) {
        (true, true) => "SASL_SSL",
        (true, false) => "SSL",
        (false, true) => "SASL_PLAINTEXT",
        (false, false) => "PLAINTEXT",
    }
}

/// `production.yaml`: the seed's tuning with the document's settings, plus the S3 backend,
/// TLS and SASL (files mounted from their Secrets) and the controllers' Raft quorum.
pub fn production_yaml(w: &StreamCluster, names: &Names) -> String {
    let spec = &w.spec;
    let server = &spec.server;
    let s3 = &spec.object_storage.s3;
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!(
        "# Chronik Stream configuration of StreamCluster {}/{}, rendered by strata-agent.",
        names.namespace, names.name
    ));
    line("# Tuning from the production deployment guide. Secrets are never written here:".into());
    line("# they are files mounted read-only from Secrets, or environment variables.".into());
    line(format!("cluster_name: {}", quote(names.name)));
    line("server:".into());
    line(format!("  num_network_threads: {}", server.network_threads));
    line(format!("  num_io_threads: {}", server.io_threads));
    line(format!("  socket_send_buffer_bytes: {SOCKET_BUFFER_BYTES}"));
    line(format!(
        "  socket_receive_buffer_bytes: {SOCKET_BUFFER_BYTES}"
    ));
    line(format!("  max_connections: {}", server.max_connections));
    line(format!("  kafka_port: {KAFKA_PORT}"));
    line(format!("  security_protocol: {}", security_protocol(w)));
    line("storage:".into());
    line(format!("  segment_size: {}", server.segment_size_bytes));
    line(format!(
        "  compression_type: {}",
        quote(&server.compression)
    ));
    if matches!(server.compression.as_str(), "gzip" | "lz4" | "zstd") {
        line(format!("  compression_level: {COMPRESSION_LEVEL}"));
    }
    line(format!("  flush_interval_ms: {FLUSH_INTERVAL_MS}"));
    line(format!("  flush_messages: {FLUSH_MESSAGES}"));
    line("  metadata:".into());
    line("    type: sled".into());
    line(format!("    path: {}", pods::METADATA_DIR));
    line("  cache:".into());
    line(format!("    path: {}", pods::CACHE_DIR));
    line(format!(
        "    max_bytes: {}  # {CACHE_FILL_PERCENT}% of the {} cache volume",
        cache_bytes(w),
        spec.cache_size()
    ));
    line("  backend:".into());
    line("    s3:".into());
    line(format!("      bucket: {}", quote(&s3.bucket)));
    line(format!("      region: {}", quote(&s3.region)));
    if let Some(endpoint) = &s3.endpoint {
        line(format!("      endpoint: {}", quote(endpoint)));
    }
    match &s3.credentials_secret {
        Some(secret) => line(format!(
            "      # credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from Secret {secret}"
        )),
        None => {
            line("      # credentials: the pod's own identity (IRSA or EKS Pod Identity)".into())
        }
    }
    line("replication:".into());
    line(format!("  factor: {}", spec.replication.factor));
    line(format!(
        "  min_insync_replicas: {}",
        spec.replication.min_insync_replicas
    ));
    line(format!(
        "  ack_timeout_ms: {}",
        spec.replication.ack_timeout_ms
    ));
    line("performance:".into());
    line(format!("  batch_size: {BATCH_SIZE}"));
    line(format!("  linger_ms: {LINGER_MS}"));
    line(format!("  buffer_memory: {BUFFER_MEMORY}  # 64MB"));
    line(format!("  prefetch_count: {PREFETCH_COUNT}"));
    line("controller:".into());
    line(format!("  api_port: {CONTROLLER_PORT}"));
    line(format!("  raft_port: {RAFT_PORT}"));
    line("  # Raft peers, one per controller pod.".into());
    line("  quorum:".into());
    for ordinal in 0..spec.controllers.replicas {
        line(format!(
            "    - {}",
            quote(&format!("{}:{RAFT_PORT}", names.controller_host(ordinal)))
        ));
    }
    line("  # The controller API, for the ingest nodes.".into());
    line("  endpoints:".into());
    for ordinal in 0..spec.controllers.replicas {
        line(format!(
            "    - {}",
            quote(&format!(
                "{}:{CONTROLLER_PORT}",
                names.controller_host(ordinal)
            ))
        ));
    }
    line("security:".into());
    line("  tls:".into());
    line(format!("    enabled: {}", spec.security.tls.enabled));
    if spec.security.tls.enabled {
        line(format!("    cert_file: {}/tls.crt", pods::TLS_DIR));
        line(format!("    key_file: {}/tls.key", pods::TLS_DIR));
    }
    line("  sasl:".into());
    line(format!("    enabled: {}", spec.security.sasl.enabled));
    if spec.security.sasl.enabled {
        line("    mechanisms:".into());
        for mechanism in &spec.security.sasl.mechanisms {
            line(format!("      - {}", mechanism.as_str()));
        }
        line(
            "    # One file per user: the file name is the user, its content the password.".into(),
        );
        line(format!("    users_dir: {}", pods::SASL_DIR));
    }
    line("telemetry:".into());
    line("  metrics:".into());
    line(format!("    port: {METRICS_PORT}"));
    line("    path: /metrics".into());
    line("  tracing:".into());
    match &spec.otlp_endpoint {
        Some(endpoint) => {
            line("    enabled: true".into());
            line(format!("    otlp_endpoint: {}", quote(&otlp_url(endpoint))));
        }
        None => line("    enabled: false".into()),
    }
    out
}

/// The most bytes the segment cache may hold.
fn cache_bytes(w: &StreamCluster) -> u64 {
    let size = w.spec.cache_size().value().unwrap_or(0.0);
    (size * CACHE_FILL_PERCENT / 100.0) as u64
}

/// `topics.yaml`: what the operate step creates. Topics are never deleted, and partitions
/// are only ever added.
pub fn topics_yaml(w: &StreamCluster) -> String {
    let spec = &w.spec;
    let mut out = format!(
        "# Topics of StreamCluster {}/{}. Missing ones are created; none is ever deleted.\n",
        w.metadata.namespace, w.metadata.name
    );
    if spec.topics.is_empty() {
        out.push_str("topics: []\n");
        return out;
    }
    out.push_str("topics:\n");
    for topic in &spec.topics {
        let _ = writeln!(out, "  - name: {}", quote(&topic.name));
        let _ = writeln!(out, "    partitions: {}", topic.partitions);
        let _ = writeln!(
            out,
            "    replication_factor: {}",
            spec.topic_replication(topic)
        );
        if topic.config.is_empty() {
            out.push_str("    config: {}\n");
        } else {
            out.push_str("    config:\n");
            for (key, value) in &topic.config {
                let _ = writeln!(out, "      {}: {}", quote(key), quote(value));
            }
        }
    }
    out
}
