//! The rules of a `RedisCluster` beyond its types. Paths are relative to the document
//! (`spec.sentinel.quorum`); errors stop the revision, warnings are printed.

use crate::diag::Checks;
use crate::quantity::redis_bytes;
use crate::spec::RedisCluster;
use crate::spec::common::{SecretKeyRef, ServiceType};
use crate::spec::redis::{BackupSchedule, RedisClusterSpec, RedisTopology, S3Target};
use crate::validate;

/// Longest name with backups on: `<name>-backup-hourly` must fit the 52 characters
/// Kubernetes allows a CronJob (it appends 11 for its Jobs).
pub const MAX_NAME_LEN_WITH_BACKUPS: usize = 52 - "-backup-hourly".len();

pub fn validate(workload: &RedisCluster, checks: &mut Checks) {
    let spec = &workload.spec;
    let name = &workload.metadata.name;
    match spec.topology {
        RedisTopology::Cluster => cluster(spec, checks),
        RedisTopology::Sentinel => replication(spec, checks),
    }
    sentinels(spec, checks);
    memory(spec, checks);
    if !(1..=128).contains(&spec.io_threads) {
        checks.error("spec.ioThreads", "must be between 1 and 128");
    }
    persistence(spec, checks);
    auth(&spec.auth(name), checks);
    if spec.image.as_deref().is_some_and(|i| i.trim().is_empty()) {
        checks.error("spec.image", "must not be empty");
    }
    if spec.exporter.image.trim().is_empty() {
        checks.error("spec.exporter.image", "must not be empty");
    }
    if spec.backup.enabled {
        if name.len() > MAX_NAME_LEN_WITH_BACKUPS {
            checks.error(
                "metadata.name",
                format!(
                    "with backups on, at most {MAX_NAME_LEN_WITH_BACKUPS} characters: the CronJob `{name}-backup-hourly` must fit Kubernetes' 52-character limit"
                ),
            );
        }
        schedule(&spec.backup.hourly, "spec.backup.hourly", checks);
        schedule(&spec.backup.daily, "spec.backup.daily", checks);
        if let Some(s3) = &spec.backup.s3 {
            s3_target(s3, checks);
        }
        validate::size(
            &spec.backup_storage_size(),
            "spec.backup.storage.size",
            checks,
        );
    }
    if spec.monitoring.enabled && !spec.exporter.enabled {
        checks.warn(
            "spec.exporter.enabled",
            "monitoring is on but the exporter is off: no ServiceMonitor or alerts are rendered, as there would be nothing to scrape",
        );
    }
    if spec.service.kind != ServiceType::ClusterIP {
        let why = match spec.topology {
            RedisTopology::Cluster => {
                "Redis Cluster redirects clients (MOVED) to the pods' own addresses, which only the cluster's network reaches; clients outside it fail after the first redirect"
            }
            RedisTopology::Sentinel => {
                "the Service reaches every server, replicas included, and the Sentinels name the primary by its cluster DNS name; clients outside the cluster cannot find the primary"
            }
        };
        checks.warn("spec.service.type", why);
    }
    // The checks every tier shares.
    validate::resources(&spec.resources(), "spec.resources", checks);
    validate::resources(
        &spec.exporter_resources(),
        "spec.exporter.resources",
        checks,
    );
    validate::size(&spec.storage_size(), "spec.storage.size", checks);
    validate::disruption(
        &spec.disruption,
        spec.server_pods(),
        "spec.disruption",
        checks,
    );
    validate::network_sources(
        &spec.network.allowed_sources,
        "spec.network.allowedSources",
        checks,
    );
    validate::monitoring(&spec.monitoring, "spec.monitoring", checks);
}

fn cluster(spec: &RedisClusterSpec, checks: &mut Checks) {
    let masters = spec.masters();
    if masters < 3 {
        checks.error(
            "spec.masters",
            format!("must be at least 3 for a cluster (got {masters}): Redis Cluster needs a majority of masters to agree on a failover"),
        );
    }
    if spec.replicas_per_master() == 0 {
        checks.warn(
            "spec.replicasPerMaster",
            "0 replicas per master: no failover; when a master fails, its slots are unavailable (and the cluster refuses writes) until it comes back",
        );
    }
    if spec.replicas.is_some() {
        checks.error(
            "spec.replicas",
            "only for topology: sentinel; a cluster has masters × (1 + replicasPerMaster) pods",
        );
    }
    if spec.cluster_node_timeout_ms == 0 {
        checks.error("spec.clusterNodeTimeoutMs", "must be larger than 0");
    }
    if let Some(sentinel) = &spec.sentinel
        && sentinel.enabled
    {
        checks.warn(
            "spec.sentinel",
            "with topology: cluster the Sentinels only watch and alert: Redis Cluster fails over by itself (a replica takes over a master that is unreachable for longer than clusterNodeTimeoutMs). The Sentinels do not fail over shards (their attempts are refused in cluster mode), and after a cluster failover they keep watching the old master's address. Leave them out unless you want that extra view",
        );
    }
}

fn replication(spec: &RedisClusterSpec, checks: &mut Checks) {
    for (field, set) in [
        ("spec.masters", spec.masters.is_some()),
        ("spec.replicasPerMaster", spec.replicas_per_master.is_some()),
    ] {
        if set {
            checks.error(
                field,
                "only for topology: cluster; with topology: sentinel set spec.replicas",
            );
        }
    }
    if spec.replicas() == 0 {
        checks.warn(
            "spec.replicas",
            "0 replicas: the Sentinels have nothing to promote, so the primary failing means downtime and its volume is the only copy of the data",
        );
    }
    if spec.sentinel.as_ref().is_some_and(|s| !s.enabled) {
        checks.warn(
            "spec.sentinel.enabled",
            "without Sentinels nothing promotes a replica when the primary fails; clients lose writes until pod 0 is back",
        );
    }
}

fn sentinels(spec: &RedisClusterSpec, checks: &mut Checks) {
    let Some(sentinel) = spec.sentinel() else {
        return;
    };
    let replicas = sentinel.replicas;
    let quorum = sentinel.quorum;
    if replicas == 0 {
        checks.error(
            "spec.sentinel.replicas",
            "must be at least 1 (or set enabled: false)",
        );
    } else if replicas < 3 {
        checks.warn(
            "spec.sentinel.replicas",
            format!("{replicas} Sentinels cannot lose one and still have a majority to authorise a failover; run at least 3"),
        );
    }
    if quorum == 0 {
        checks.error("spec.sentinel.quorum", "must be at least 1");
    } else if quorum > replicas {
        checks.error(
            "spec.sentinel.quorum",
            format!("quorum {quorum} is larger than the {replicas} Sentinels: the primary could never be agreed down"),
        );
    } else if replicas > 0 && quorum <= replicas / 2 {
        checks.warn(
            "spec.sentinel.quorum",
            format!("quorum {quorum} is not a majority of the {replicas} Sentinels: a minority cut off from the primary can declare it down (a failover still needs a majority); use {}", replicas / 2 + 1),
        );
    } else if replicas > 1 && quorum == replicas {
        checks.warn(
            "spec.sentinel.quorum",
            format!(
                "quorum {quorum} needs every Sentinel: with one of them down, no failover happens"
            ),
        );
    }
    if sentinel.parallel_syncs == 0 {
        checks.error("spec.sentinel.parallelSyncs", "must be at least 1");
    }
    if sentinel.down_after_ms == Some(0) {
        checks.error("spec.sentinel.downAfterMs", "must be larger than 0");
    }
    if sentinel.failover_timeout_ms == Some(0) {
        checks.error("spec.sentinel.failoverTimeoutMs", "must be larger than 0");
    }
    validate::resources(&sentinel.resources, "spec.sentinel.resources", checks);
    if let Some(size) = &sentinel.storage.size {
        validate::size(size, "spec.sentinel.storage.size", checks);
    }
}

fn memory(spec: &RedisClusterSpec, checks: &mut Checks) {
    let path = "spec.memory.maxmemory";
    let text = &spec.memory.maxmemory;
    let Some(bytes) = redis_bytes(text) else {
        checks.error(
            path,
            format!("`{text}` is not a Redis memory size such as 6gb or 512mb"),
        );
        return;
    };
    if bytes == 0 {
        checks.error(
            path,
            "must be larger than 0: 0 means no limit, and Redis would grow until the container is killed",
        );
        return;
    }
    let resources = spec.resources();
    let gib = |b: f64| format!("{:.1} GiB", b / f64::from(1u32 << 30));
    let bytes = bytes as f64;
    if let Some(limit) = &resources.limits.memory
        && let Ok(limit_bytes) = limit.value()
        && bytes >= limit_bytes
    {
        checks.error(
            path,
            format!("{text} ({}) is not less than the memory limit {limit}: the container would be killed before Redis evicts anything", gib(bytes)),
        );
        return;
    }
    if let Some(request) = &resources.requests.memory
        && let Ok(request_bytes) = request.value()
        && bytes > 0.75 * request_bytes
    {
        checks.warn(
            path,
            format!("{text} ({}) is more than 75% of the memory request {request}: snapshots and AOF rewrites fork the server, and replication buffers need room too", gib(bytes)),
        );
    }
}

fn persistence(spec: &RedisClusterSpec, checks: &mut Checks) {
    for (i, point) in spec.persistence.save.iter().enumerate() {
        if point.seconds == 0 {
            checks.error(
                format!("spec.persistence.save[{i}].seconds"),
                "must be larger than 0",
            );
        }
        if point.changes == 0 {
            checks.error(
                format!("spec.persistence.save[{i}].changes"),
                "must be larger than 0",
            );
        }
    }
    if !spec.persistence.aof && spec.persistence.save.is_empty() {
        checks.warn(
            "spec.persistence",
            "no AOF and no save points: a restarted server comes back empty (only the backups keep data)",
        );
    }
}

fn auth(secret: &SecretKeyRef, checks: &mut Checks) {
    if !dns_subdomain(&secret.name) {
        checks.error(
            "spec.auth.name",
            format!("`{}` is not a Secret name", secret.name),
        );
    }
    if !secret_key(&secret.key) {
        checks.error(
            "spec.auth.key",
            format!(
                "`{}` is not a Secret key (letters, digits, `-`, `_` or `.`)",
                secret.key
            ),
        );
    }
}

/// Kubernetes CronJob schedules: five fields, or one of the `@` macros it accepts.
fn schedule(schedule: &BackupSchedule, path: &str, checks: &mut Checks) {
    let text = schedule.schedule.trim();
    let macros = [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    let fields: Vec<&str> = text.split_whitespace().collect();
    let valid = macros.contains(&text)
        || (fields.len() == 5
            && fields.iter().all(|f| {
                f.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"*/,-?".contains(&b))
            }));
    if !valid {
        checks.error(
            format!("{path}.schedule"),
            format!("`{text}` is not a five-field cron expression (minute hour day-of-month month day-of-week), e.g. `0 2 * * *`"),
        );
    }
    if schedule.keep == 0 {
        checks.error(format!("{path}.keep"), "must be at least 1");
    }
}

fn s3_target(s3: &S3Target, checks: &mut Checks) {
    let bucket = &s3.bucket;
    let bytes = bucket.as_bytes();
    let ip_like = bucket.split('.').count() == 4
        && bucket
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    let valid = (3..=63).contains(&bucket.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !bucket.contains("..")
        && !ip_like;
    if !valid {
        checks.error(
            "spec.backup.s3.bucket",
            format!("`{bucket}` is not an S3 bucket name (3 to 63 lowercase letters, digits, `.` or `-`, starting and ending with a letter or digit, not an IP address)"),
        );
    }
    let region = &s3.region;
    let region_valid = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && region.contains('-');
    if !region_valid {
        checks.error(
            "spec.backup.s3.region",
            format!("`{region}` is not an AWS region such as us-east-1"),
        );
    }
    if let Some(secret) = &s3.credentials_secret
        && !dns_subdomain(secret)
    {
        checks.error(
            "spec.backup.s3.credentialsSecret",
            format!("`{secret}` is not a Secret name"),
        );
    }
    if let Some(prefix) = &s3.prefix
        && prefix.trim_matches('/').is_empty()
    {
        checks.error(
            "spec.backup.s3.prefix",
            "must not be empty; leave it out for the default `<namespace>/<name>`",
        );
    }
    if s3.role_arn.is_some() && s3.credentials_secret.is_some() {
        checks.warn(
            "spec.backup.s3.roleArn",
            "ignored: credentialsSecret is set, and the upload uses those keys",
        );
    }
    if let Some(role) = &s3.role_arn
        && !(role.starts_with("arn:") && role.contains(":role/"))
    {
        checks.error(
            "spec.backup.s3.roleArn",
            format!("`{role}` is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
        );
    }
}

/// An RFC 1123 subdomain: what Secret names are.
fn dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && label.as_bytes()[0].is_ascii_alphanumeric()
                && label.as_bytes()[label.len() - 1].is_ascii_alphanumeric()
        })
}

fn secret_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}
