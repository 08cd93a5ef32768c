//! The two pod sets: the controllers' StatefulSet and the ingest nodes' Deployment.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment, StatefulSet,
    StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, EnvVar, PodSpec, PodTemplateSpec, SecretVolumeSource, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::config::PRODUCTION_YAML;
use super::{
    CONTROLLER, CONTROLLER_PORT, INGEST, KAFKA_PORT, METRICS_PORT, Names, RAFT_PORT, UID, otlp_url,
};
use crate::quantity::Quantity;
use crate::render::build::{self, Labels, Timing};
use crate::spec::StreamCluster;
use crate::spec::common::SecretKeyRef;

/// Where the ConfigMap's `production.yaml` is mounted.
pub const CONFIG_DIR: &str = "/etc/chronik/config";
/// Where the TLS Secret is mounted.
pub const TLS_DIR: &str = "/etc/chronik/tls";
/// Where the SASL users Secret is mounted.
pub const SASL_DIR: &str = "/etc/chronik/sasl";
/// The controllers' sled database, on their persistent volume.
pub const METADATA_DIR: &str = "/var/lib/chronik/metadata";
/// The ingest nodes' segment cache, on an emptyDir.
pub const CACHE_DIR: &str = "/var/lib/chronik/cache";
/// The volume claim template of the controllers (PVCs `metadata-<name>-controller-<i>`).
pub const METADATA_VOLUME: &str = "metadata";
/// The pod template annotation carrying the hash of `production.yaml`.
pub use crate::render::build::CONFIG_HASH;

/// Secret files are readable by the pods' group (fsGroup) only.
const SECRET_MODE: i32 = 0o440;
/// Seconds a pod gets to hand over partitions and flush to S3 before it is killed.
const GRACE_SECONDS: i64 = 60;
/// Scratch space for the read-only root filesystem.
const TMP_SIZE: &str = "1Gi";

/// The controllers: Raft over stable identities, one sled volume each, started one at a
/// time (OrderedReady) so each joins a quorum that already exists.
pub fn controllers(w: &StreamCluster, names: &Names, config_hash: &str) -> StatefulSet {
    let spec = &w.spec;
    let selector = names.controller_selector();
    let mut volumes = vec![config_volume(names), tmp_volume()];
    let mut mounts = vec![
        config_mount(),
        tmp_mount(),
        build::mount(METADATA_VOLUME, METADATA_DIR, false),
    ];
    if spec.security.tls.enabled {
        volumes.push(secret_volume("tls", &spec.tls_secret(names.name)));
        mounts.push(build::mount("tls", TLS_DIR, true));
    }
    let mut env = vec![
        build::env_field("CHRONIK_NODE_ID", "metadata.name"),
        build::env(
            "CHRONIK_ADVERTISED_HOST",
            format!(
                "$(CHRONIK_NODE_ID).{}.{}.svc.cluster.local",
                names.headless(),
                names.namespace
            ),
        ),
    ];
    env.extend(otlp_env(w, &names.controller()));
    let container = Container {
        name: CONTROLLER.to_owned(),
        image: Some(spec.controller_image()),
        args: Some(config_args()),
        ports: Some(vec![
            build::container_port("controller", CONTROLLER_PORT),
            build::container_port("raft", RAFT_PORT),
            build::container_port("metrics", METRICS_PORT),
        ]),
        env: Some(env),
        resources: Some(build::resources(&spec.controller_resources())),
        // The controller API answers before a quorum exists, so OrderedReady start-up
        // can make progress: controller 1 must start for controller 0 to have a quorum.
        readiness_probe: Some(build::tcp_probe(
            "controller",
            Timing {
                initial_delay: 10,
                period: 10,
                timeout: 5,
                failures: 3,
            },
        )),
        liveness_probe: Some(build::tcp_probe(
            "controller",
            Timing {
                initial_delay: 60,
                period: 20,
                timeout: 5,
                failures: 6,
            },
        )),
        volume_mounts: Some(mounts),
        security_context: Some(build::container_security(UID, true)),
        ..Default::default()
    };
    StatefulSet {
        metadata: build::meta(&names.controller(), names.namespace),
        spec: Some(StatefulSetSpec {
            service_name: Some(names.headless()),
            replicas: Some(spec.controllers.replicas as i32),
            pod_management_policy: Some("OrderedReady".to_owned()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".to_owned()),
                ..Default::default()
            }),
            selector: build::selector(&selector),
            template: template(w, &selector, config_hash, container, volumes),
            volume_claim_templates: Some(vec![build::volume_claim(
                METADATA_VOLUME,
                &spec.metadata_size(),
                spec.controllers.metadata_storage.storage_class.as_deref(),
            )]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The ingest nodes (Kafka brokers): stateless but for a local cache, replaced 10% at a
/// time as the seed's rolling updates.
pub fn ingest(w: &StreamCluster, names: &Names, config_hash: &str) -> Deployment {
    let spec = &w.spec;
    let selector = names.ingest_selector();
    let mut volumes = vec![
        config_volume(names),
        tmp_volume(),
        build::empty_dir("cache", Some(&spec.cache_size())),
    ];
    let mut mounts = vec![
        config_mount(),
        tmp_mount(),
        build::mount("cache", CACHE_DIR, false),
    ];
    if spec.security.tls.enabled {
        volumes.push(secret_volume("tls", &spec.tls_secret(names.name)));
        mounts.push(build::mount("tls", TLS_DIR, true));
    }
    if spec.security.sasl.enabled {
        volumes.push(secret_volume("sasl", &spec.sasl_secret(names.name)));
        mounts.push(build::mount("sasl", SASL_DIR, true));
    }
    let s3 = &spec.object_storage.s3;
    let mut env = vec![
        build::env_field("CHRONIK_NODE_ID", "metadata.name"),
        // Ingest pods have no stable names: clients are sent to the pod's address.
        build::env_field("CHRONIK_ADVERTISED_HOST", "status.podIP"),
        build::env("AWS_REGION", s3.region.clone()),
    ];
    if let Some(secret) = &s3.credentials_secret {
        for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            env.push(build::env_secret(
                key,
                &SecretKeyRef {
                    name: secret.clone(),
                    key: key.to_owned(),
                },
            ));
        }
    }
    env.extend(otlp_env(w, &names.ingest()));
    let container = Container {
        name: INGEST.to_owned(),
        image: Some(spec.ingest_image()),
        args: Some(config_args()),
        ports: Some(vec![
            build::container_port("kafka", KAFKA_PORT),
            build::container_port("metrics", METRICS_PORT),
        ]),
        env: Some(env),
        resources: Some(build::resources(&spec.ingest_resources())),
        readiness_probe: Some(build::tcp_probe(
            "kafka",
            Timing {
                initial_delay: 10,
                period: 10,
                timeout: 5,
                failures: 3,
            },
        )),
        liveness_probe: Some(build::tcp_probe(
            "kafka",
            Timing {
                initial_delay: 30,
                period: 20,
                timeout: 5,
                failures: 6,
            },
        )),
        volume_mounts: Some(mounts),
        security_context: Some(build::container_security(UID, true)),
        ..Default::default()
    };
    let ten_percent = || Some(IntOrString::String("10%".to_owned()));
    Deployment {
        metadata: build::meta(&names.ingest(), names.namespace),
        spec: Some(DeploymentSpec {
            // While the autoscaler is on it owns the replica count.
            replicas: spec
                .ingest_autoscaled()
                .is_none()
                .then_some(spec.ingest.replicas as i32),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: ten_percent(),
                    max_unavailable: ten_percent(),
                }),
            }),
            min_ready_seconds: Some(10),
            selector: build::selector(&selector),
            template: template(w, &selector, config_hash, container, volumes),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The pod template shared by both: non-root, spread as `placement` asks, no API token.
fn template(
    w: &StreamCluster,
    selector: &Labels,
    config_hash: &str,
    container: Container,
    volumes: Vec<Volume>,
) -> PodTemplateSpec {
    let placement = &w.spec.placement;
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(selector.clone()),
            annotations: Some(BTreeMap::from([(
                CONFIG_HASH.to_owned(),
                config_hash.to_owned(),
            )])),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            automount_service_account_token: Some(false),
            security_context: Some(build::pod_security(UID)),
            affinity: build::anti_affinity(placement, selector),
            topology_spread_constraints: build::zone_spread(placement, selector),
            node_selector: build::node_selector(placement),
            tolerations: build::tolerations(placement),
            termination_grace_period_seconds: Some(GRACE_SECONDS),
            containers: vec![container],
            volumes: Some(volumes),
            ..Default::default()
        }),
    }
}

fn config_args() -> Vec<String> {
    vec![
        "--config".to_owned(),
        format!("{CONFIG_DIR}/{PRODUCTION_YAML}"),
    ]
}

/// Tracing to the collector, when one is set.
fn otlp_env(w: &StreamCluster, service: &str) -> Vec<EnvVar> {
    match &w.spec.otlp_endpoint {
        Some(endpoint) => vec![
            build::env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_url(endpoint)),
            build::env("OTEL_SERVICE_NAME", service),
        ],
        None => Vec::new(),
    }
}

fn config_volume(names: &Names) -> Volume {
    Volume {
        name: "config".to_owned(),
        config_map: Some(ConfigMapVolumeSource {
            name: names.config(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn config_mount() -> VolumeMount {
    build::mount("config", CONFIG_DIR, true)
}

fn tmp_volume() -> Volume {
    build::empty_dir("tmp", Some(&Quantity::from(TMP_SIZE)))
}

fn tmp_mount() -> VolumeMount {
    build::mount("tmp", "/tmp", false)
}

/// A Secret as read-only files.
fn secret_volume(name: &str, secret: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.to_owned()),
            default_mode: Some(SECRET_MODE),
            ..Default::default()
        }),
        ..Default::default()
    }
}
