//! The rules of a `StreamCluster` beyond its types. Paths are relative to the document.

use std::collections::BTreeMap;

use super::{Endpoint, parse_endpoint};
use crate::diag::Checks;
use crate::spec::StreamCluster;
use crate::spec::stream::{StreamClusterSpec, Topic};
use crate::validate;

/// The codecs Chronik (like Kafka) knows.
const COMPRESSIONS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];

pub fn validate(w: &StreamCluster, checks: &mut Checks) {
    let spec = &w.spec;
    version(&spec.version, checks);
    controllers(spec, checks);
    ingest(spec, checks);
    replication(spec, checks);
    topics(spec, checks);
    object_storage(spec, checks);
    security(spec, checks);
    server(spec, checks);
    network(spec, checks);
    validate::monitoring(&spec.monitoring, "spec.monitoring", checks);
    if let Some(endpoint) = &spec.otlp_endpoint {
        let valid = parse_endpoint(endpoint)
            .is_some_and(|e| matches!(e.scheme, None | Some("http" | "https")));
        checks.require(
            valid,
            "spec.otlpEndpoint",
            format!("`{endpoint}` is not a collector address such as jaeger-collector.monitoring:4317 or http://otel-collector:4317"),
        );
    }
}

/// An image tag.
fn version(version: &str, checks: &mut Checks) {
    let valid = !version.is_empty()
        && version.len() <= 128
        && !version.starts_with(['.', '-'])
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    checks.require(
        valid,
        "spec.version",
        format!("`{version}` is not an image tag such as v1.2.0"),
    );
}

fn controllers(spec: &StreamClusterSpec, checks: &mut Checks) {
    let controllers = &spec.controllers;
    let replicas = controllers.replicas;
    if replicas == 0 {
        checks.error("spec.controllers.replicas", "must be at least 1");
    } else if replicas < 3 {
        checks.warn(
            "spec.controllers.replicas",
            format!(
                "{replicas} controller(s) tolerate no failure: Raft needs a majority; use 3 or 5"
            ),
        );
    } else if replicas.is_multiple_of(2) {
        checks.warn(
            "spec.controllers.replicas",
            format!(
                "an even number of controllers tolerates no more failures than {} (Raft needs a majority); use an odd number",
                replicas - 1
            ),
        );
    }
    // With the defaults filled in: a request over the default limit is as wrong.
    validate::resources(
        &spec.controller_resources(),
        "spec.controllers.resources",
        checks,
    );
    validate::size(
        &spec.metadata_size(),
        "spec.controllers.metadataStorage.size",
        checks,
    );
    validate::disruption(
        &controllers.disruption,
        replicas,
        "spec.controllers.disruption",
        checks,
    );
}

fn ingest(spec: &StreamClusterSpec, checks: &mut Checks) {
    let ingest = &spec.ingest;
    checks.require(
        ingest.replicas >= 1,
        "spec.ingest.replicas",
        "must be at least 1",
    );
    validate::resources(&spec.ingest_resources(), "spec.ingest.resources", checks);
    validate::size(&spec.cache_size(), "spec.ingest.cacheSize", checks);
    if let Some(autoscaling) = spec.ingest_autoscaled() {
        validate::autoscaling(
            autoscaling,
            ingest.replicas,
            "spec.ingest.autoscaling",
            checks,
        );
    }
    validate::disruption(
        &ingest.disruption,
        spec.min_ingest_replicas(),
        "spec.ingest.disruption",
        checks,
    );
}

/// "the 10 ingest replicas" or "the autoscaler's minimum of 3 ingest replicas".
fn brokers(spec: &StreamClusterSpec) -> String {
    let min = spec.min_ingest_replicas();
    if spec.ingest_autoscaled().is_some() {
        format!("the autoscaler's minimum of {min} ingest replicas")
    } else {
        format!("the {min} ingest replicas")
    }
}

fn replication(spec: &StreamClusterSpec, checks: &mut Checks) {
    let replication = &spec.replication;
    let factor = replication.factor;
    let min_isr = replication.min_insync_replicas;
    if factor == 0 {
        checks.error("spec.replication.factor", "must be at least 1");
    } else if factor > spec.min_ingest_replicas() {
        checks.error(
            "spec.replication.factor",
            format!(
                "{factor} is more than {}: every replica needs its own ingest node",
                brokers(spec)
            ),
        );
    }
    if min_isr == 0 {
        checks.error("spec.replication.minInsyncReplicas", "must be at least 1");
    } else if min_isr > factor {
        checks.error(
            "spec.replication.minInsyncReplicas",
            format!("{min_isr} is more than the replication factor {factor}: no write could ever be acknowledged"),
        );
    } else if min_isr == factor {
        checks.warn(
            "spec.replication.minInsyncReplicas",
            format!("equals the replication factor {factor}: writes with acks=all stop as soon as one ingest node is down (e.g. during a rolling update)"),
        );
    }
    checks.require(
        replication.ack_timeout_ms >= 1,
        "spec.replication.ackTimeoutMs",
        "must be at least 1",
    );
}

/// A topic name Kafka accepts.
fn valid_topic_name(name: &str) -> bool {
    (1..=249).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn topics(spec: &StreamClusterSpec, checks: &mut Checks) {
    // Kafka treats `.` and `_` alike (they map to the same metric names).
    let mut seen: BTreeMap<String, (usize, &str)> = BTreeMap::new();
    for (i, topic) in spec.topics.iter().enumerate() {
        let here = format!("spec.topics[{i}]");
        let name = &topic.name;
        if !valid_topic_name(name) {
            checks.error(
                format!("{here}.name"),
                format!("`{name}` is not a topic name: 1 to 249 letters, digits, `.`, `_` or `-`, and not `.` or `..`"),
            );
        }
        match seen.get(&name.replace('.', "_")) {
            Some((first, other)) if other == name => checks.error(
                format!("{here}.name"),
                format!("duplicate topic `{name}`: also at spec.topics[{first}]"),
            ),
            Some((first, other)) => checks.error(
                format!("{here}.name"),
                format!("`{name}` collides with `{other}` at spec.topics[{first}]: Kafka treats `.` and `_` in topic names alike"),
            ),
            None => {
                seen.insert(name.replace('.', "_"), (i, name));
            }
        }
        checks.require(
            topic.partitions >= 1,
            format!("{here}.partitions"),
            "must be at least 1",
        );
        topic_replication(spec, topic, &here, checks);
        for key in topic.config.keys() {
            let valid = !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.');
            checks.require(
                valid,
                format!("{here}.config"),
                format!("`{key}` is not a topic setting such as retention.ms"),
            );
        }
    }
}

fn topic_replication(spec: &StreamClusterSpec, topic: &Topic, here: &str, checks: &mut Checks) {
    let factor = spec.topic_replication(topic);
    let path = format!("{here}.replicationFactor");
    if topic.replication_factor.is_some() {
        if factor == 0 {
            checks.error(&path, "must be at least 1");
        } else if factor > spec.min_ingest_replicas() {
            checks.error(
                &path,
                format!(
                    "{factor} is more than {}: every replica needs its own ingest node",
                    brokers(spec)
                ),
            );
        }
    }
    let (min_isr, min_isr_path) = match topic.config.get("min.insync.replicas") {
        Some(value) => match value.parse::<u32>() {
            Ok(n) if n >= 1 => (n, format!("{here}.config.min.insync.replicas")),
            _ => {
                checks.error(
                    format!("{here}.config.min.insync.replicas"),
                    format!("`{value}` is not a whole number of at least 1"),
                );
                return;
            }
        },
        // The cluster-wide value, already checked against the cluster-wide factor.
        None if topic.replication_factor.is_none() => return,
        None => (
            spec.replication.min_insync_replicas,
            "spec.replication.minInsyncReplicas".to_owned(),
        ),
    };
    if factor >= 1 && min_isr > factor {
        checks.error(
            &path,
            format!("{factor} replicas are fewer than min.insync.replicas {min_isr} ({min_isr_path}): writes with acks=all would always fail"),
        );
    }
}

/// An S3 bucket name (the rules for new buckets, which are DNS-compatible).
fn valid_bucket(bucket: &str) -> bool {
    let bytes = bucket.as_bytes();
    (3..=63).contains(&bucket.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !bucket.contains("..")
        && bucket.parse::<std::net::Ipv4Addr>().is_err()
}

fn object_storage(spec: &StreamClusterSpec, checks: &mut Checks) {
    let s3 = &spec.object_storage.s3;
    checks.require(
        valid_bucket(&s3.bucket),
        "spec.objectStorage.s3.bucket",
        format!("`{}` is not a bucket name: 3 to 63 lowercase letters, digits, `-` or `.`, starting and ending with a letter or digit", s3.bucket),
    );
    let region_valid = !s3.region.is_empty()
        && s3
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    checks.require(
        region_valid,
        "spec.objectStorage.s3.region",
        format!("`{}` is not a region such as us-east-1", s3.region),
    );
    if let Some(endpoint) = &s3.endpoint {
        match parse_endpoint(endpoint) {
            Some(Endpoint {
                scheme: Some("https"),
                ..
            }) => {}
            Some(Endpoint {
                scheme: Some("http"),
                ..
            }) => checks.warn(
                "spec.objectStorage.s3.endpoint",
                "plain http: the log and the S3 credentials cross the network unencrypted",
            ),
            _ => checks.error(
                "spec.objectStorage.s3.endpoint",
                format!("`{endpoint}` is not an https:// or http:// URL such as https://s3.amazonaws.com"),
            ),
        }
    }
    if let Some(secret) = &s3.credentials_secret {
        secret_name(secret, "spec.objectStorage.s3.credentialsSecret", checks);
    }
}

fn security(spec: &StreamClusterSpec, checks: &mut Checks) {
    let security = &spec.security;
    if let Some(secret) = &security.tls.cert_secret {
        secret_name(secret, "spec.security.tls.certSecret", checks);
    }
    if let Some(secret) = &security.sasl.users_secret {
        secret_name(secret, "spec.security.sasl.usersSecret", checks);
    }
    if security.sasl.enabled {
        checks.require(
            !security.sasl.mechanisms.is_empty(),
            "spec.security.sasl.mechanisms",
            "SASL is enabled but no mechanism is listed (SCRAM-SHA-256, SCRAM-SHA-512)",
        );
    }
}

/// A Secret's name: a DNS subdomain.
fn secret_name(name: &str, path: &str, checks: &mut Checks) {
    let bytes = name.as_bytes();
    let valid = !name.is_empty()
        && name.len() <= 253
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    checks.require(
        valid,
        path,
        format!("`{name}` is not a Secret name: lowercase letters, digits, `-` or `.`, starting and ending with a letter or digit"),
    );
}

fn server(spec: &StreamClusterSpec, checks: &mut Checks) {
    let server = &spec.server;
    for (field, value) in [
        ("networkThreads", server.network_threads),
        ("ioThreads", server.io_threads),
        ("maxConnections", server.max_connections),
    ] {
        checks.require(
            value >= 1,
            format!("spec.server.{field}"),
            "must be at least 1",
        );
    }
    checks.require(
        server.segment_size_bytes >= 1,
        "spec.server.segmentSizeBytes",
        "must be at least 1",
    );
    checks.require(
        COMPRESSIONS.contains(&server.compression.as_str()),
        "spec.server.compression",
        format!(
            "`{}` is not one of {}",
            server.compression,
            COMPRESSIONS.join(", ")
        ),
    );
}

fn network(spec: &StreamClusterSpec, checks: &mut Checks) {
    for (i, namespace) in spec.network.client_namespaces.iter().enumerate() {
        validate::dns_label(
            namespace,
            63,
            &format!("spec.network.clientNamespaces[{i}]"),
            checks,
        );
    }
    validate::network_sources(
        &spec.network.allowed_sources,
        "spec.network.allowedSources",
        checks,
    );
}
