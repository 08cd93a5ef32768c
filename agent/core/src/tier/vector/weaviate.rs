//! Weaviate (seed 000): REST 8080, gRPC 50051, memberlist gossip 7100 (TCP and UDP),
//! data 7101, metrics 2112; configured by environment variables, the non-secret ones
//! from ConfigMap `<name>-config`, the API keys from a Secret.

use k8s_openapi::api::core::v1::{ConfigMapEnvSource, Container, EnvFromSource};

use super::{Access, Plan, Port, config_name, pod_host, scope, secret_ref};
use crate::diag::Checks;
use crate::render::build::{self, Alert, Timing};
use crate::spec::VectorStore;
use crate::spec::vector::VectorStoreSpec;

const HTTP: Port = Port::tcp("http", 8080, Access::Client);
const GRPC: Port = Port::tcp("grpc", 50051, Access::Client);
const GOSSIP: Port = Port {
    name: "gossip",
    number: 7100,
    access: Access::Cluster,
    udp: true,
};
const DATA: Port = Port::tcp("data", 7101, Access::Cluster);
const METRICS: Port = Port::tcp("metrics", 2112, Access::Metrics);

const DATA_PATH: &str = "/var/lib/weaviate";
const LSM_ACCESS_STRATEGIES: [&str; 2] = ["mmap", "pread"];

/// Variables the agent sets: `spec.weaviate.env` and `secretEnv` may not set them.
pub(super) const AGENT_ENV: [&str; 16] = [
    "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED",
    "AUTHENTICATION_APIKEY_ENABLED",
    "AUTHENTICATION_APIKEY_ALLOWED_KEYS",
    "AUTHENTICATION_APIKEY_USERS",
    "PERSISTENCE_DATA_PATH",
    "PERSISTENCE_LSM_ACCESS_STRATEGY",
    "PERSISTENCE_MEMTABLES_FLUSH_IDLE_AFTER_SECONDS",
    "CLUSTER_HOSTNAME",
    "CLUSTER_GOSSIP_BIND_PORT",
    "CLUSTER_DATA_BIND_PORT",
    "CLUSTER_JOIN",
    "QUERY_MAXIMUM_RESULTS",
    "DEFAULT_VECTORIZER_MODULE",
    "PROMETHEUS_MONITORING_ENABLED",
    "PROMETHEUS_MONITORING_PORT",
    "GRPC_PORT",
];

pub(super) fn validate(spec: &VectorStoreSpec, checks: &mut Checks) {
    let Some(settings) = &spec.weaviate else {
        return;
    };
    if !LSM_ACCESS_STRATEGIES.contains(&settings.lsm_access_strategy.as_str()) {
        checks.error(
            "spec.weaviate.lsmAccessStrategy",
            format!(
                "`{}` is not one of {}",
                settings.lsm_access_strategy,
                LSM_ACCESS_STRATEGIES.join(", ")
            ),
        );
    }
    if settings.query_maximum_results == 0 {
        checks.error("spec.weaviate.queryMaximumResults", "must be at least 1");
    }
    if settings.default_vectorizer_module.trim().is_empty() {
        checks.error(
            "spec.weaviate.defaultVectorizerModule",
            "must not be empty; use `none` for no vectorizer",
        );
    }
    for key in settings.env.keys() {
        let path = format!("spec.weaviate.env.{key}");
        env_name(key, &path, checks);
        if looks_secret(key) {
            checks.warn(
                &path,
                "looks like a secret; put it in a Secret and reference it from `secretEnv`, so the value stays out of the config repo",
            );
        }
    }
    for (key, secret) in &settings.secret_env {
        let path = format!("spec.weaviate.secretEnv.{key}");
        env_name(key, &path, checks);
        if settings.env.contains_key(key) {
            checks.error(
                &path,
                "also set in `spec.weaviate.env`; set it in one place",
            );
        }
        secret_ref(secret, &path, checks);
    }
}

/// A name the container may take as an environment variable, not one the agent sets.
fn env_name(key: &str, path: &str, checks: &mut Checks) {
    let valid = key
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        checks.error(
            path,
            "is not an environment variable name (letters, digits and `_`, not starting with a digit)",
        );
    }
    if AGENT_ENV.contains(&key) {
        checks.error(
            path,
            "is set by the agent from the VectorStore (auth, cluster, persistence or monitoring settings) and cannot be overridden",
        );
    }
}

fn looks_secret(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    ["APIKEY", "API_KEY", "SECRET", "PASSWORD", "TOKEN"]
        .iter()
        .any(|marker| upper.contains(marker))
}

pub(super) fn plan(w: &VectorStore) -> Plan {
    let spec = &w.spec;
    let name = w.metadata.name.as_str();
    let settings = spec.weaviate();
    let metrics = spec.monitoring.enabled;

    // The user's variables first, so the agent's always win (validation refuses clashes).
    let mut config = settings.env.clone();
    let join: Vec<String> = (0..spec.replicas)
        .map(|i| format!("{}:{}", pod_host(w, i), GOSSIP.number))
        .collect();
    for (key, value) in [
        (
            "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED",
            "false".to_owned(),
        ),
        ("AUTHENTICATION_APIKEY_ENABLED", "true".to_owned()),
        ("PERSISTENCE_DATA_PATH", DATA_PATH.to_owned()),
        (
            "PERSISTENCE_LSM_ACCESS_STRATEGY",
            settings.lsm_access_strategy.clone(),
        ),
        (
            "PERSISTENCE_MEMTABLES_FLUSH_IDLE_AFTER_SECONDS",
            settings.flush_idle_after_seconds.to_string(),
        ),
        ("CLUSTER_GOSSIP_BIND_PORT", GOSSIP.number.to_string()),
        ("CLUSTER_DATA_BIND_PORT", DATA.number.to_string()),
        // Every pod of `replicas` as a seed; pods the autoscaler adds join through them.
        ("CLUSTER_JOIN", join.join(",")),
        (
            "QUERY_MAXIMUM_RESULTS",
            settings.query_maximum_results.to_string(),
        ),
        (
            "DEFAULT_VECTORIZER_MODULE",
            settings.default_vectorizer_module.clone(),
        ),
        ("GRPC_PORT", GRPC.number.to_string()),
        ("PROMETHEUS_MONITORING_ENABLED", metrics.to_string()),
        ("PROMETHEUS_MONITORING_PORT", METRICS.number.to_string()),
    ] {
        config.insert(key.to_owned(), value);
    }

    let mut env = vec![
        build::env_field("CLUSTER_HOSTNAME", "metadata.name"),
        build::env_secret("AUTHENTICATION_APIKEY_ALLOWED_KEYS", &spec.api_keys(name)),
        build::env_secret("AUTHENTICATION_APIKEY_USERS", &spec.users(name)),
    ];
    env.extend(
        settings
            .secret_env
            .iter()
            .map(|(key, secret)| build::env_secret(key, secret)),
    );

    let container = Container {
        name: "weaviate".to_owned(),
        image: Some(spec.image()),
        args: Some(
            ["--host", "0.0.0.0", "--port", "8080", "--scheme", "http"]
                .map(str::to_owned)
                .to_vec(),
        ),
        env_from: Some(vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: config_name(name),
                optional: Some(false),
            }),
            ..Default::default()
        }]),
        env: Some(env),
        // Seed: live after 120 s, ready after 30 s, 3 failures. Every 10 s with a 5 s
        // timeout, so a node busy at 10k QPS is not restarted for one slow answer.
        liveness_probe: Some(build::http_probe(
            "/v1/.well-known/live",
            HTTP.name,
            Timing {
                initial_delay: 120,
                period: 10,
                timeout: 5,
                failures: 3,
            },
        )),
        readiness_probe: Some(build::http_probe(
            "/v1/.well-known/ready",
            HTTP.name,
            Timing {
                initial_delay: 30,
                period: 10,
                timeout: 5,
                failures: 3,
            },
        )),
        ..Default::default()
    };

    let mut ports = vec![HTTP, GRPC, GOSSIP, DATA];
    if metrics {
        ports.push(METRICS);
    }
    Plan {
        ports,
        config,
        container,
        volumes: Vec::new(),
        data_path: DATA_PATH,
        // Parallel: gossip members join in any order, and a pod is only ready once it
        // has found its peers, so OrderedReady could wait forever on pod 0.
        pod_management_policy: "Parallel",
        services: Vec::new(),
        alerts: alerts(w),
    }
}

/// Seed 000's alerts.
fn alerts(w: &VectorStore) -> Vec<Alert> {
    let scope = scope(w);
    // Below the budget's floor (at least 1: no pod up is always unhealthy).
    let min_available = super::min_available(w).unwrap_or(1);
    vec![
        Alert {
            name: "WeaviateInstanceDown",
            expr: format!("up{{{scope}}} == 0"),
            for_: "1m",
            severity: "critical",
            summary: "Weaviate instance {{ $labels.instance }} is down".to_owned(),
            description: "{{ $labels.pod }} has not answered a scrape for more than 1 minute."
                .to_owned(),
        },
        Alert {
            name: "WeaviateClusterUnhealthy",
            expr: format!("(sum(up{{{scope}}}) or vector(0)) < {min_available}"),
            for_: "2m",
            severity: "critical",
            summary: format!(
                "Weaviate cluster {} has fewer than {min_available} pods up",
                w.metadata.name
            ),
            description: format!(
                "Only {{{{ $value }}}} Weaviate pods of {} are up, fewer than the {min_available} that must stay available.",
                w.metadata.name
            ),
        },
        Alert {
            name: "WeaviateHighLatency",
            expr: format!(
                "histogram_quantile(0.95, sum by (le) (rate(queries_durations_ms_bucket{{{scope}}}[5m]))) > 100"
            ),
            for_: "5m",
            severity: "warning",
            summary: "Weaviate query latency p95 is above 100ms".to_owned(),
            description: "The 95th percentile query latency is {{ $value }}ms.".to_owned(),
        },
        Alert {
            name: "WeaviateHighErrorRate",
            expr: format!(
                r#"sum(rate(requests_total{{{scope}, status="server_error"}}[5m])) / sum(rate(requests_total{{{scope}}}[5m])) > 0.05"#
            ),
            for_: "3m",
            severity: "critical",
            summary: "Weaviate server error rate is above 5%".to_owned(),
            description:
                "{{ $value | humanizePercentage }} of Weaviate requests fail with server errors."
                    .to_owned(),
        },
    ]
}
