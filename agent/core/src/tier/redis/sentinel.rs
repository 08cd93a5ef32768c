//! The Sentinels: ConfigMap `<name>-sentinel-config`, Services `<name>-sentinel-headless`
//! and `<name>-sentinel`, StatefulSet `<name>-sentinel` and PodDisruptionBudget
//! `<name>-sentinel`.
//!
//! With `topology: sentinel` they watch the primary and promote a replica when it fails.
//! With `topology: cluster` they watch the cluster's initial masters and only observe:
//! the cluster fails over by itself (see the warning in [`super::rules`]).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy};
use k8s_openapi::api::core::v1::{Container, PodSpec, Service};

use super::config::{self, SENTINEL_CONF, SENTINEL_CONFIG_DIR};
use super::server::{
    LIVENESS, READINESS, cli_auth_env, exporter_container, password_env, pod_template,
};
use super::{Redis, SENTINEL_EXPORTER_PORT, SENTINEL_PORT, UID, config_volume};
use crate::object::Object;
use crate::render::build;
use crate::spec::common::{Resources, ServiceExposure};
use crate::spec::redis::SentinelSpec;

pub fn render(redis: &Redis, sentinel: &SentinelSpec) -> Vec<Object> {
    let name = redis.sentinel_name();
    let labels = redis.sentinel_labels();
    let files = config::sentinel_files(redis, sentinel);
    let set = stateful_set(redis, sentinel, &files);
    let mut ports = vec![build::service_port("sentinel", SENTINEL_PORT)];
    if redis.exporter() {
        ports.push(build::service_port("metrics", SENTINEL_EXPORTER_PORT));
    }
    // Always in-cluster: Sentinels answer with the pods' cluster DNS names.
    let mut service = build::client_service(
        &name,
        redis.namespace,
        &labels,
        ports,
        &ServiceExposure::default(),
    );
    service.metadata.labels = Some(labels.clone());
    vec![
        build::config_map(&config_map_name(redis), redis.namespace, files).into(),
        headless_service(redis).into(),
        service.into(),
        set.into(),
        build::disruption_budget(&name, redis.namespace, &labels, min_available(sentinel)).into(),
    ]
}

pub fn config_map_name(redis: &Redis) -> String {
    format!("{}-sentinel-config", redis.name)
}

/// Sentinels that must stay up: the quorum, and at least a majority, since a failover
/// needs a majority of the Sentinels to authorise it; always leaving one to drain.
pub fn min_available(sentinel: &SentinelSpec) -> u32 {
    let replicas = sentinel.replicas;
    let needed = sentinel.quorum.max(replicas / 2 + 1);
    needed.min(replicas.saturating_sub(1))
}

fn headless_service(redis: &Redis) -> Service {
    build::headless_service(
        &redis.sentinel_headless(),
        redis.namespace,
        &redis.sentinel_labels(),
        vec![build::service_port("sentinel", SENTINEL_PORT)],
    )
}

fn stateful_set(
    redis: &Redis,
    sentinel: &SentinelSpec,
    files: &BTreeMap<String, String>,
) -> StatefulSet {
    let spec = redis.spec;
    let labels = redis.sentinel_labels();
    let mut containers = vec![sentinel_container(redis, sentinel)];
    if redis.exporter() {
        containers.push(exporter_container(
            redis,
            SENTINEL_PORT,
            SENTINEL_EXPORTER_PORT,
            build::resources(&spec.exporter_resources()),
        ));
    }
    let pod = PodSpec {
        init_containers: Some(vec![init_container(redis)]),
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
        enable_service_links: Some(false),
        automount_service_account_token: Some(false),
        ..Default::default()
    };
    let size = sentinel
        .storage
        .size
        .clone()
        .unwrap_or_else(|| "10Gi".into());
    StatefulSet {
        metadata: build::meta(&redis.sentinel_name(), redis.namespace),
        spec: Some(StatefulSetSpec {
            service_name: Some(redis.sentinel_headless()),
            replicas: Some(sentinel.replicas as i32),
            selector: build::selector(&labels),
            pod_management_policy: Some("Parallel".to_owned()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".to_owned()),
                ..Default::default()
            }),
            template: pod_template(labels, files, pod),
            // Sentinel keeps what it learns (current primary, epochs, its id) in its
            // config file; the volume carries that across restarts.
            volume_claim_templates: Some(vec![build::volume_claim(
                "data",
                &size,
                sentinel.storage.storage_class.as_deref(),
            )]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Writes the Sentinel's own sentinel.conf (with the password) into its volume.
fn init_container(redis: &Redis) -> Container {
    let mut env = password_env(redis);
    env.push(build::env_field("POD_NAME", "metadata.name"));
    Container {
        name: "config".to_owned(),
        image: Some(redis.spec.image()),
        command: Some(vec![format!("{SENTINEL_CONFIG_DIR}/init.sh")]),
        env: Some(env),
        resources: Some(build::resources(&Resources::of(
            "50m", "32Mi", "200m", "64Mi",
        ))),
        security_context: Some(build::container_security(UID, true)),
        volume_mounts: Some(vec![
            build::mount("data", "/data", false),
            build::mount("config", SENTINEL_CONFIG_DIR, true),
            build::mount("tmp", "/tmp", false),
        ]),
        ..Default::default()
    }
}

fn sentinel_container(redis: &Redis, sentinel: &SentinelSpec) -> Container {
    let health = format!("{SENTINEL_CONFIG_DIR}/health.sh");
    let port = SENTINEL_PORT.to_string();
    Container {
        name: "sentinel".to_owned(),
        image: Some(redis.spec.image()),
        command: Some(
            ["redis-server", SENTINEL_CONF, "--sentinel"]
                .map(str::to_owned)
                .to_vec(),
        ),
        // For the health probes' redis-cli (Sentinels require the password too).
        env: Some(vec![cli_auth_env(redis)]),
        ports: Some(vec![build::container_port("sentinel", SENTINEL_PORT)]),
        readiness_probe: Some(build::exec_probe(&[&health, "ready", &port], READINESS)),
        liveness_probe: Some(build::exec_probe(&[&health, "alive", &port], LIVENESS)),
        resources: Some(build::resources(&sentinel.resources)),
        security_context: Some(build::container_security(UID, true)),
        volume_mounts: Some(vec![
            build::mount("data", "/data", false),
            build::mount("config", SENTINEL_CONFIG_DIR, true),
            build::mount("tmp", "/tmp", false),
        ]),
        ..Default::default()
    }
}
