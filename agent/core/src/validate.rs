//! Checks beyond what the types enforce: names, sizes, cross-field rules shared by the
//! tiers, and rules across documents (duplicates, cluster targets, storage classes).
//! Each tier adds its own rules in `tier::<tier>::validate`.

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::{Checks, Diagnostic};
use crate::quantity::Quantity;
use crate::render::labels;
use crate::spec::common::{
    Autoscaling, Disruption, Monitoring, NetworkSource, Resources, WorkloadMeta,
};
use crate::spec::{Body, Document, Workload};
use crate::tier;

/// Longest workload name: derived names (`<name>-sentinel-2`, `<name>-backup-hourly`) and
/// the pod names of their StatefulSets must stay within Kubernetes' limits.
pub const MAX_NAME_LEN: usize = 40;

/// Everything the repo's documents say wrong, per document and across documents.
pub fn validate(documents: &[Document]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let clusters = declared_clusters(documents);
    for document in documents {
        let mut checks = Checks::new(&document.origin, &mut out);
        match &document.body {
            Body::VectorStore(w) => {
                workload(w, &clusters, &mut checks);
                tier::vector::validate(w, &mut checks);
            }
            Body::RedisCluster(w) => {
                workload(w, &clusters, &mut checks);
                tier::redis::validate(w, &mut checks);
            }
            Body::StreamCluster(w) => {
                workload(w, &clusters, &mut checks);
                tier::stream::validate(w, &mut checks);
            }
            Body::Cluster(c) => {
                dns_label(&c.metadata.name, 63, "metadata.name", &mut checks);
            }
            Body::Manifest(m) => {
                if m.kind == "Secret" && m.api_version == "v1" {
                    checks.error(
                        "kind",
                        "Secrets must not be kept in the config repo; create the Secret in the cluster (or use a sealed/external secret kind) and reference it by name",
                    );
                }
                match m.metadata.name.as_deref() {
                    None | Some("") => checks.error("metadata.name", "missing"),
                    Some(_) => {}
                }
                cluster_targets(
                    &document.body.clusters(),
                    &clusters,
                    "metadata.annotations",
                    &mut checks,
                );
            }
        }
    }
    duplicates(documents, &mut out);
    storage_classes(documents, &clusters, &mut out);
    out
}

/// Cluster name → the storage classes it declares.
fn declared_clusters(documents: &[Document]) -> BTreeMap<String, BTreeSet<String>> {
    documents
        .iter()
        .filter_map(|d| match &d.body {
            Body::Cluster(c) => Some((
                c.metadata.name.clone(),
                c.spec.storage_classes.iter().cloned().collect(),
            )),
            _ => None,
        })
        .collect()
}

fn workload<S>(
    w: &Workload<S>,
    clusters: &BTreeMap<String, BTreeSet<String>>,
    checks: &mut Checks,
) {
    meta(&w.metadata, checks);
    cluster_targets(&w.metadata.clusters, clusters, "metadata.clusters", checks);
}

fn meta(meta: &WorkloadMeta, checks: &mut Checks) {
    dns_label(&meta.name, MAX_NAME_LEN, "metadata.name", checks);
    dns_label(&meta.namespace, 63, "metadata.namespace", checks);
    for key in meta.labels.keys() {
        if labels::is_reserved(key) {
            checks.error(
                format!("metadata.labels.{key}"),
                "this label is set by the agent and cannot be overridden",
            );
        }
    }
    for (key, value) in &meta.labels {
        if !labels::valid_value(value) {
            checks.error(
                format!("metadata.labels.{key}"),
                format!("`{value}` is not a valid label value (at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit)"),
            );
        }
    }
}

fn cluster_targets(
    targets: &[String],
    clusters: &BTreeMap<String, BTreeSet<String>>,
    path: &str,
    checks: &mut Checks,
) {
    if clusters.is_empty() {
        return;
    }
    for target in targets {
        if !clusters.contains_key(target) {
            let known: Vec<&str> = clusters.keys().map(String::as_str).collect();
            checks.error(
                path,
                format!(
                    "no Cluster document declares `{target}` (declared: {})",
                    known.join(", ")
                ),
            );
        }
    }
}

/// An RFC 1123 label of at most `max` characters.
pub fn dns_label(name: &str, max: usize, path: &str, checks: &mut Checks) {
    let valid = !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    if !valid {
        checks.error(
            path,
            format!("`{name}` must be at most {max} lowercase letters, digits or `-`, starting and ending with a letter or digit"),
        );
    }
}

/// Requests must not exceed limits.
pub fn resources(resources: &Resources, path: &str, checks: &mut Checks) {
    let pairs = [
        ("cpu", &resources.requests.cpu, &resources.limits.cpu),
        (
            "memory",
            &resources.requests.memory,
            &resources.limits.memory,
        ),
    ];
    for (name, request, limit) in pairs {
        if let (Some(request), Some(limit)) = (request, limit)
            && let (Ok(r), Ok(l)) = (request.value(), limit.value())
            && r > l
        {
            checks.error(
                format!("{path}.requests.{name}"),
                format!("{request} is more than the limit {limit}"),
            );
        }
    }
}

/// A volume size must be positive.
pub fn size(size: &Quantity, path: &str, checks: &mut Checks) {
    if size.value().is_ok_and(|v| v <= 0.0) {
        checks.error(path, "must be larger than 0");
    }
}

/// The budget must leave at least one pod that may be evicted.
pub fn disruption(disruption: &Disruption, replicas: u32, path: &str, checks: &mut Checks) {
    if let Some(min) = disruption.min_available
        && replicas > 1
        && min >= replicas
    {
        checks.error(
            format!("{path}.minAvailable"),
            format!("must be less than the {replicas} replicas, or no node could ever be drained"),
        );
    }
}

/// Bounds and targets of an autoscaler for a workload of `replicas` pods.
pub fn autoscaling(a: &Autoscaling, replicas: u32, path: &str, checks: &mut Checks) {
    let min = a.min_replicas.unwrap_or(replicas);
    if min == 0 {
        checks.error(format!("{path}.minReplicas"), "must be at least 1");
    }
    if a.max_replicas < min {
        checks.error(
            format!("{path}.maxReplicas"),
            format!("{} is less than the minimum {min}", a.max_replicas),
        );
    }
    if a.target_cpu_utilization.is_none() && a.target_memory_utilization.is_none() {
        checks.error(
            path,
            "set targetCpuUtilization or targetMemoryUtilization (or both)",
        );
    }
    for (field, target) in [
        ("targetCpuUtilization", a.target_cpu_utilization),
        ("targetMemoryUtilization", a.target_memory_utilization),
    ] {
        if let Some(t) = target
            && !(1..=100).contains(&t)
        {
            checks.error(
                format!("{path}.{field}"),
                "must be between 1 and 100 (percent)",
            );
        }
    }
}

/// Each allowed source sets exactly one way of matching.
pub fn network_sources(sources: &[NetworkSource], path: &str, checks: &mut Checks) {
    for (i, source) in sources.iter().enumerate() {
        let set = [
            source.namespace.is_some(),
            source.namespace_selector.is_some(),
            source.pod_selector.is_some(),
            source.cidr.is_some(),
        ]
        .into_iter()
        .filter(|x| *x)
        .count();
        let here = format!("{path}[{i}]");
        if set != 1 {
            checks.error(
                &here,
                "set exactly one of namespace, namespaceSelector, podSelector or cidr",
            );
        }
        if let Some(cidr) = &source.cidr
            && !valid_cidr(cidr)
        {
            checks.error(
                format!("{here}.cidr"),
                format!("`{cidr}` is not a CIDR block such as 10.1.0.0/16"),
            );
        }
    }
}

fn valid_cidr(cidr: &str) -> bool {
    let Some((address, prefix)) = cidr.split_once('/') else {
        return false;
    };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => prefix.parse::<u8>().is_ok_and(|p| p <= 32),
        Ok(std::net::IpAddr::V6(_)) => prefix.parse::<u8>().is_ok_and(|p| p <= 128),
        Err(_) => false,
    }
}

/// The scrape interval is a Prometheus duration.
pub fn monitoring(monitoring: &Monitoring, path: &str, checks: &mut Checks) {
    let interval = &monitoring.interval;
    let digits = interval.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &interval[digits.len()..];
    let valid = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(unit, "ms" | "s" | "m" | "h");
    if !valid {
        checks.error(
            format!("{path}.interval"),
            format!("`{interval}` is not a duration such as 30s or 1m"),
        );
    }
    dns_label(
        &monitoring.namespace,
        63,
        &format!("{path}.namespace"),
        checks,
    );
}

/// Two documents of the same kind and name that can meet on a cluster.
fn duplicates(documents: &[Document], out: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<(String, Option<String>, String), Vec<&Document>> = BTreeMap::new();
    for document in documents {
        let identity = document.body.identity();
        let earlier = seen.entry(identity.clone()).or_default();
        let clusters = document.body.clusters();
        if let Some(first) = earlier
            .iter()
            .find(|e| overlaps(&e.body.clusters(), &clusters))
        {
            let (kind, namespace, name) = identity;
            let what = match namespace {
                Some(ns) => format!("{kind} {ns}/{name}"),
                None => format!("{kind} {name}"),
            };
            Checks::new(&document.origin, out).error(
                "metadata.name",
                format!("duplicate {what}: also defined at {}", first.origin),
            );
        }
        earlier.push(document);
    }
}

/// Whether two target lists share a cluster (empty = every cluster).
fn overlaps(a: &[String], b: &[String]) -> bool {
    a.is_empty() || b.is_empty() || a.iter().any(|x| b.contains(x))
}

/// A storage class the targeted cluster does not declare: the volumes would stay pending.
fn storage_classes(
    documents: &[Document],
    clusters: &BTreeMap<String, BTreeSet<String>>,
    out: &mut Vec<Diagnostic>,
) {
    for document in documents {
        let classes = tier::storage_classes(&document.body);
        let targets = document.body.clusters();
        for (path, class) in classes {
            for (cluster, known) in clusters {
                let targeted = targets.is_empty() || targets.contains(cluster);
                if targeted && !known.is_empty() && !known.contains(&class) {
                    Checks::new(&document.origin, out).warn(
                        &path,
                        format!(
                            "cluster `{cluster}` does not list StorageClass `{class}` (it has {}); the volumes would stay Pending",
                            known.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
            }
        }
    }
}
