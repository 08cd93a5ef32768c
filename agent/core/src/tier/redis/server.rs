//! The Redis servers: ConfigMap `<name>-config`, Services `<name>-headless` and `<name>`,
//! StatefulSet `<name>` and PodDisruptionBudget `<name>`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, PodSpec, PodTemplateSpec, ResourceRequirements, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::config::{self, CONFIG_DIR};
use super::{BUS_PORT, CONFIG_HASH, EXPORTER_PORT, REDIS_PORT, Redis, UID, config_volume};
use crate::object::Object;
use crate::render::build::{self, Labels, Timing};

/// Readiness: answers PONG; checked often so a pod leaves the Service quickly.
pub const READINESS: Timing = Timing {
    initial_delay: 5,
    period: 5,
    timeout: 5,
    failures: 3,
};

/// Liveness: only a server that stops answering for a while is restarted (loading a
/// large data set counts as alive).
pub const LIVENESS: Timing = Timing {
    initial_delay: 30,
    period: 10,
    timeout: 5,
    failures: 5,
};

pub fn render(redis: &Redis) -> Vec<Object> {
    let files = config::server_files(redis);
    let set = stateful_set(redis, &files);
    vec![
        build::config_map(&config_map_name(redis), redis.namespace, files).into(),
        headless_service(redis).into(),
        client_service(redis).into(),
        set.into(),
        build::disruption_budget(
            redis.name,
            redis.namespace,
            &redis.server_labels(),
            min_available(redis),
        )
        .into(),
    ]
}

/// The servers' budget: the document's, or a majority (4 of 6) that still leaves a pod
/// to drain (1 of a primary and one replica).
pub fn min_available(redis: &Redis) -> u32 {
    redis
        .spec
        .disruption
        .min_available_below(redis.spec.server_pods())
}

pub fn config_map_name(redis: &Redis) -> String {
    format!("{}-config", redis.name)
}

fn headless_service(redis: &Redis) -> Service {
    let mut ports = vec![build::service_port("redis", REDIS_PORT)];
    if redis.is_cluster() {
        ports.push(build::service_port("bus", BUS_PORT));
    }
    build::headless_service(
        &redis.headless(),
        redis.namespace,
        &redis.server_labels(),
        ports,
    )
}

/// The Service clients connect to. With Sentinels as the topology it reaches every
/// server, replicas included: clients ask the Sentinels (`<name>-sentinel`) for the
/// primary, as Sentinel clients do. It carries the component labels so the
/// ServiceMonitor finds its `metrics` port.
fn client_service(redis: &Redis) -> Service {
    let mut ports = vec![build::service_port("redis", REDIS_PORT)];
    if redis.exporter() {
        ports.push(build::service_port("metrics", EXPORTER_PORT));
    }
    let mut service = build::client_service(
        redis.name,
        redis.namespace,
        &redis.server_labels(),
        ports,
        &redis.spec.service,
    );
    service.metadata.labels = Some(redis.server_labels());
    service
}

/// The password for the server's arguments (`REDIS_PASSWORD`) and for `redis-cli`
/// (`REDISCLI_AUTH`), both from the Secret.
pub fn password_env(redis: &Redis) -> Vec<EnvVar> {
    let auth = redis.spec.auth(redis.name);
    vec![
        build::env_secret("REDIS_PASSWORD", &auth),
        cli_auth_env(redis),
    ]
}

/// The password for `redis-cli` only, which reads it from `REDISCLI_AUTH`.
pub fn cli_auth_env(redis: &Redis) -> EnvVar {
    build::env_secret("REDISCLI_AUTH", &redis.spec.auth(redis.name))
}

fn stateful_set(redis: &Redis, files: &BTreeMap<String, String>) -> StatefulSet {
    let spec = redis.spec;
    let labels = redis.server_labels();
    let mut containers = vec![redis_container(redis)];
    if redis.exporter() {
        containers.push(exporter_container(
            redis,
            REDIS_PORT,
            EXPORTER_PORT,
            build::resources(&spec.exporter_resources()),
        ));
    }
    // The backup script is the backup jobs'; changing it must not restart the servers.
    let files: BTreeMap<String, String> = files
        .iter()
        .filter(|(key, _)| *key != config::BACKUP_SCRIPT)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let pod = PodSpec {
        containers,
        volumes: Some(vec![
            config_volume("config", &config_map_name(redis), files.keys()),
            build::empty_dir("tmp", None),
        ]),
        security_context: Some(build::pod_security(UID)),
        affinity: build::anti_affinity(&spec.placement, &labels),
        topology_spread_constraints: build::zone_spread(&spec.placement, &labels),
        node_selector: build::node_selector(&spec.placement),
        tolerations: build::tolerations(&spec.placement),
        // A shutting-down server writes a final RDB snapshot; give it time.
        termination_grace_period_seconds: Some(60),
        enable_service_links: Some(false),
        automount_service_account_token: Some(false),
        ..Default::default()
    };
    let storage_size = spec.storage_size();
    StatefulSet {
        metadata: build::meta(redis.name, redis.namespace),
        spec: Some(StatefulSetSpec {
            service_name: Some(redis.headless()),
            replicas: Some(spec.server_pods() as i32),
            selector: build::selector(&labels),
            // The servers find each other (cluster bus, replication) whatever their order.
            pod_management_policy: Some("Parallel".to_owned()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".to_owned()),
                ..Default::default()
            }),
            template: pod_template(labels, &files, pod),
            volume_claim_templates: Some(vec![build::volume_claim(
                "data",
                &storage_size,
                spec.storage.storage_class.as_deref(),
            )]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A pod template with its selector labels and the digest of the files it reads.
pub fn pod_template(
    labels: Labels,
    files: &BTreeMap<String, String>,
    spec: PodSpec,
) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels),
            annotations: Some(BTreeMap::from([(
                CONFIG_HASH.to_owned(),
                build::data_hash(files),
            )])),
            ..Default::default()
        }),
        spec: Some(spec),
    }
}

fn redis_container(redis: &Redis) -> Container {
    let spec = redis.spec;
    let mut ports = vec![build::container_port("redis", REDIS_PORT)];
    if redis.is_cluster() {
        ports.push(build::container_port("bus", BUS_PORT));
    }
    let mut env = password_env(redis);
    env.push(build::env_field("POD_NAME", "metadata.name"));
    env.push(build::env_field("POD_IP", "status.podIP"));
    let health = format!("{CONFIG_DIR}/health.sh");
    let port = REDIS_PORT.to_string();
    Container {
        name: "redis".to_owned(),
        image: Some(spec.image()),
        command: Some(vec![format!("{CONFIG_DIR}/start.sh")]),
        // Kubernetes fills these in from the environment, so the password stays in the Secret.
        args: Some(
            [
                "--requirepass",
                "$(REDIS_PASSWORD)",
                "--masterauth",
                "$(REDIS_PASSWORD)",
            ]
            .map(str::to_owned)
            .to_vec(),
        ),
        env: Some(env),
        ports: Some(ports),
        readiness_probe: Some(build::exec_probe(&[&health, "ready", &port], READINESS)),
        liveness_probe: Some(build::exec_probe(&[&health, "alive", &port], LIVENESS)),
        resources: Some(build::resources(&spec.resources())),
        security_context: Some(build::container_security(UID, true)),
        volume_mounts: Some(vec![
            build::mount("data", "/data", false),
            build::mount("config", CONFIG_DIR, true),
            build::mount("tmp", "/tmp", false),
        ]),
        ..Default::default()
    }
}

/// The `redis_exporter` sidecar reading the server (or Sentinel) on `port` of its pod.
pub fn exporter_container(
    redis: &Redis,
    port: i32,
    metrics_port: i32,
    resources: ResourceRequirements,
) -> Container {
    let auth = redis.spec.auth(redis.name);
    Container {
        name: "exporter".to_owned(),
        image: Some(redis.spec.exporter.image.clone()),
        env: Some(vec![
            build::env("REDIS_ADDR", format!("redis://127.0.0.1:{port}")),
            build::env_secret("REDIS_PASSWORD", &auth),
            build::env(
                "REDIS_EXPORTER_WEB_LISTEN_ADDRESS",
                format!(":{metrics_port}"),
            ),
        ]),
        ports: Some(vec![build::container_port("metrics", metrics_port)]),
        liveness_probe: Some(build::http_probe(
            "/health",
            "metrics",
            Timing {
                initial_delay: 10,
                period: 30,
                timeout: 5,
                failures: 3,
            },
        )),
        resources: Some(resources),
        security_context: Some(build::container_security(UID, true)),
        ..Default::default()
    }
}
