//! ServiceMonitor `<name>` (the exporters of the servers and the Sentinels) and
//! PrometheusRule `<name>` with seed 002's alerts, fitted to the topology.
//!
//! The alerts read the `redis_exporter` metrics of this workload only, by the
//! `namespace` and `service` labels the Prometheus Operator puts on every target.

use super::Redis;
use crate::object::Object;
use crate::render::build::{self, Alert, Labels};
use crate::render::labels;
use crate::spec::Tier;
use crate::spec::redis::SentinelSpec;

pub fn render(redis: &Redis) -> Vec<Object> {
    let monitoring = &redis.spec.monitoring;
    // Without exporters there is nothing to scrape, and the alerts would only say so.
    if !monitoring.enabled || !redis.exporter() {
        return Vec::new();
    }
    let mut objects: Vec<Object> = vec![
        build::service_monitor(
            redis.name,
            redis.namespace,
            &scraped_services(redis),
            &[("metrics", "/metrics")],
            &monitoring.interval,
            &monitoring.labels,
        )
        .into(),
    ];
    if monitoring.alerts {
        objects.push(
            build::prometheus_rule(
                redis.name,
                redis.namespace,
                &format!("redis-{}-{}", redis.namespace, redis.name),
                &alerts(redis),
                &monitoring.labels,
            )
            .into(),
        );
    }
    objects
}

/// The client Services `<name>` and `<name>-sentinel`: the only Services of the
/// workload with the instance label (the headless ones have no metrics port).
fn scraped_services(redis: &Redis) -> Labels {
    Labels::from([
        (labels::INSTANCE.to_owned(), redis.name.to_owned()),
        (labels::TIER.to_owned(), Tier::Redis.as_str().to_owned()),
    ])
}

/// The alerts for this workload.
pub fn alerts(redis: &Redis) -> Vec<Alert> {
    let spec = redis.spec;
    let servers = format!(
        "namespace=\"{}\", service=\"{}\"",
        redis.namespace, redis.name
    );
    let what = format!("RedisCluster {}/{}", redis.namespace, redis.name);
    let pods = spec.server_pods();
    let mut alerts = Vec::new();
    if redis.is_cluster() {
        alerts.push(Alert {
            name: "RedisClusterStateNotOk",
            expr: format!("redis_cluster_state{{{servers}}} == 0"),
            for_: "2m",
            severity: "critical",
            summary: format!("{what}: the cluster state is not ok"),
            description: "{{ $labels.pod }} reports cluster_state:fail: some hash slots are not served (a shard lost its master and has no replica to promote, or the cluster is not formed).".to_owned(),
        });
    }
    alerts.push(Alert {
        name: "RedisDown",
        expr: format!("(count(redis_up{{{servers}}} == 1) or vector(0)) < {pods}"),
        for_: "5m",
        severity: "critical",
        summary: format!("{what}: Redis servers down for 5 minutes"),
        description: format!(
            "Only {{{{ $value }}}} of the {pods} Redis servers answer their exporter."
        ),
    });
    if !redis.is_cluster() {
        alerts.push(Alert {
            name: "RedisNoPrimary",
            expr: format!(
                "(count(redis_instance_info{{{servers}, role=\"master\"}}) or vector(0)) < 1"
            ),
            for_: "1m",
            severity: "critical",
            summary: format!("{what}: no primary"),
            description: "No server is the primary, so writes fail; the Sentinels have not promoted a replica.".to_owned(),
        });
        alerts.push(Alert {
            name: "RedisSeveralPrimaries",
            expr: format!("count(redis_instance_info{{{servers}, role=\"master\"}}) > 1"),
            for_: "2m",
            severity: "critical",
            summary: format!("{what}: more than one primary"),
            description: "{{ $value }} servers act as the primary (split brain); writes to all but one will be lost when the Sentinels reconcile.".to_owned(),
        });
    }
    alerts.push(Alert {
        name: "RedisMemoryCritical",
        expr: memory_ratio(&servers, 0.95),
        for_: "5m",
        severity: "critical",
        summary: format!("{what}: memory above 95% of maxmemory"),
        description: "{{ $labels.pod }} uses {{ $value | humanizePercentage }} of its maxmemory."
            .to_owned(),
    });
    alerts.push(Alert {
        name: "RedisMemoryHigh",
        expr: memory_ratio(&servers, 0.90),
        for_: "10m",
        severity: "warning",
        summary: format!("{what}: memory above 90% of maxmemory"),
        description: "{{ $labels.pod }} uses {{ $value | humanizePercentage }} of its maxmemory."
            .to_owned(),
    });
    let replicated = if redis.is_cluster() {
        spec.replicas_per_master() > 0
    } else {
        spec.replicas() > 0
    };
    if replicated {
        alerts.push(Alert {
            name: "RedisNoReplicas",
            expr: format!(
                "(redis_connected_slaves{{{servers}}} == 0) and on (pod) (redis_instance_info{{{servers}, role=\"master\"}} == 1)"
            ),
            for_: "5m",
            severity: "critical",
            summary: format!("{what}: a primary has no replica"),
            description: "{{ $labels.pod }} is a primary with no replica connected: its data is on one pod only, and it cannot fail over.".to_owned(),
        });
        alerts.push(Alert {
            name: "RedisReplicationBroken",
            expr: format!("redis_master_link_up{{{servers}}} == 0"),
            for_: "2m",
            severity: "critical",
            summary: format!("{what}: replication link down"),
            description:
                "{{ $labels.pod }} has lost its link to its primary {{ $labels.master_host }}."
                    .to_owned(),
        });
    }
    alerts.push(Alert {
        name: "RedisHighEvictionRate",
        expr: format!("rate(redis_evicted_keys_total{{{servers}}}[5m]) > 100"),
        for_: "10m",
        severity: "warning",
        summary: format!("{what}: keys evicted quickly"),
        description: "{{ $labels.pod }} evicts {{ $value }} keys/s to stay under maxmemory; the data set outgrows the memory.".to_owned(),
    });
    alerts.push(Alert {
        name: "RedisSlowQueries",
        expr: format!("increase(redis_slowlog_last_id{{{servers}}}[5m]) > 10"),
        for_: "5m",
        severity: "warning",
        summary: format!("{what}: slow queries"),
        description: "{{ $labels.pod }} logged {{ $value }} commands slower than 10 ms in 5 minutes (SLOWLOG GET).".to_owned(),
    });
    if spec.backup.enabled {
        let jobs = format!(
            "namespace=\"{}\", job_name=~\"{}-backup-.*\"",
            redis.namespace, redis.name
        );
        alerts.push(Alert {
            name: "RedisBackupFailed",
            // From kube-state-metrics: a backup Job of the last two hours that failed.
            expr: format!(
                "(kube_job_status_failed{{{jobs}}} > 0) and on (namespace, job_name) (time() - kube_job_status_start_time{{{jobs}}} < 7200)"
            ),
            for_: "0m",
            severity: "warning",
            summary: format!("{what}: a backup failed"),
            description: "Backup job {{ $labels.job_name }} failed; see its logs.".to_owned(),
        });
    }
    if let Some(sentinel) = spec.sentinel() {
        alerts.extend(sentinel_alerts(redis, &sentinel, &what));
    }
    alerts
}

/// Used memory over maxmemory (where a maxmemory is set) above `ratio`.
fn memory_ratio(servers: &str, ratio: f64) -> String {
    format!(
        "redis_memory_used_bytes{{{servers}}} / (redis_memory_max_bytes{{{servers}}} > 0) > {ratio:.2}"
    )
}

fn sentinel_alerts(redis: &Redis, sentinel: &SentinelSpec, what: &str) -> Vec<Alert> {
    let sentinels = format!(
        "namespace=\"{}\", service=\"{}\"",
        redis.namespace,
        redis.sentinel_name()
    );
    let count = sentinel.replicas;
    let majority = count / 2 + 1;
    let needed = sentinel.quorum.max(majority);
    let up = format!("(count(redis_up{{{sentinels}}} == 1) or vector(0))");
    let mut alerts = vec![
        Alert {
            name: "RedisSentinelDown",
            expr: format!("{up} < {count}"),
            for_: "5m",
            severity: "warning",
            summary: format!("{what}: a Sentinel is down"),
            description: format!("Only {{{{ $value }}}} of the {count} Sentinels are up."),
        },
        Alert {
            name: "RedisSentinelTilt",
            expr: format!("redis_sentinel_tilt{{{sentinels}}} == 1"),
            for_: "2m",
            severity: "warning",
            summary: format!("{what}: a Sentinel is in TILT mode"),
            description:
                "{{ $labels.pod }} stopped acting because its clock or scheduling misbehaved."
                    .to_owned(),
        },
    ];
    if redis.is_cluster() {
        // Watching only: the cluster fails over by itself, so losing the Sentinels loses
        // observation, not availability.
        return alerts;
    }
    alerts.push(Alert {
        name: "RedisSentinelQuorumLost",
        expr: format!("{up} < {needed}"),
        for_: "1m",
        severity: "critical",
        summary: format!("{what}: too few Sentinels to fail over"),
        description: format!(
            "Only {{{{ $value }}}} of the {count} Sentinels are up; a failover needs {needed} (the quorum of {} and a majority).",
            sentinel.quorum
        ),
    });
    alerts.push(Alert {
        name: "RedisSentinelPrimaryDown",
        expr: format!("redis_sentinel_master_status{{{sentinels}}} == 0"),
        for_: "1m",
        severity: "critical",
        summary: format!("{what}: the Sentinels see the primary down"),
        description: "{{ $labels.pod }} sees {{ $labels.master_address }} as {{ $labels.master_status }} and no failover has fixed it.".to_owned(),
    });
    alerts
}
