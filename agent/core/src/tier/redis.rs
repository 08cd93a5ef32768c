//! The redis tier: a `RedisCluster` document becomes a Redis Cluster (seed 002: 3
//! masters × 1 replica, cluster bus, optional watching Sentinels) or a primary with
//! replicas failed over by Sentinels (seed 001), plus backups, monitoring and a
//! NetworkPolicy.
//!
//! [`validate`] holds the document's own rules ([`rules`]); [`render`] composes the
//! objects: the servers ([`server`]), the Sentinels ([`sentinel`]), the backup CronJobs
//! ([`backup`]), the Prometheus objects ([`monitoring`]) and the NetworkPolicy
//! ([`network`]). The files the pods run (redis.conf, sentinel.conf, start-up, health
//! and backup scripts) are in [`config`].
//!
//! The password is never written into an object: it reaches the pods as environment
//! variables from the Secret (`spec.auth`), and the scripts hand it on from there.
//!
//! Forming the cluster (`CLUSTER MEET` / `ADDSLOTS` / `REPLICATE`) needs the running
//! servers, so it is the agent's operate step, not an object rendered here: pods
//! `0..masters` become the masters, in order (see [`config::initial_masters`]).

pub mod backup;
pub mod config;
pub mod monitoring;
pub mod network;
pub mod rules;
pub mod sentinel;
pub mod server;
#[cfg(test)]
mod tests;

use k8s_openapi::api::core::v1::{ConfigMapVolumeSource, KeyToPath, Volume};

use crate::diag::Checks;
use crate::object::Object;
use crate::render::Context;
use crate::render::build::Labels;
use crate::render::labels;
use crate::spec::redis::{RedisClusterSpec, RedisTopology};
use crate::spec::{RedisCluster, Tier};

/// Clients (and replication).
pub const REDIS_PORT: i32 = 6379;
/// The Redis Cluster bus: gossip and failover among the nodes.
pub const BUS_PORT: i32 = 16379;
pub const SENTINEL_PORT: i32 = 26379;
/// The exporter next to each server.
pub const EXPORTER_PORT: i32 = 9121;
/// The exporter next to each Sentinel.
pub const SENTINEL_EXPORTER_PORT: i32 = 9355;
/// The `redis` user of the official images; every container runs as it (seed 002).
pub const UID: i64 = 999;

/// Pod template annotation with a digest of the files the pods read at start-up, so a
/// change to them rolls the pods.
pub use crate::render::build::CONFIG_HASH;

/// Rules of a `RedisCluster` beyond its types.
pub fn validate(workload: &RedisCluster, checks: &mut Checks) {
    rules::validate(workload, checks);
}

/// The objects of a `RedisCluster`.
pub fn render(workload: &RedisCluster, _context: &Context) -> Vec<Object> {
    let redis = Redis::new(workload);
    let mut objects = server::render(&redis);
    if let Some(sentinel) = redis.spec.sentinel() {
        objects.extend(sentinel::render(&redis, &sentinel));
    }
    if redis.spec.backup.enabled {
        objects.extend(backup::render(&redis));
    }
    objects.extend(monitoring::render(&redis));
    objects.push(network::render(&redis).into());
    objects
}

/// One `RedisCluster` being rendered: its names and settings.
pub struct Redis<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub spec: &'a RedisClusterSpec,
}

impl<'a> Redis<'a> {
    pub fn new(workload: &'a RedisCluster) -> Self {
        Self {
            name: &workload.metadata.name,
            namespace: &workload.metadata.namespace,
            spec: &workload.spec,
        }
    }

    pub fn is_cluster(&self) -> bool {
        self.spec.topology == RedisTopology::Cluster
    }

    /// `<name>-headless`, the servers' governing Service.
    pub fn headless(&self) -> String {
        format!("{}-headless", self.name)
    }

    /// The stable DNS name of server pod `i`.
    pub fn pod_host(&self, i: u32) -> String {
        format!(
            "{}-{i}.{}.{}.svc.cluster.local",
            self.name,
            self.headless(),
            self.namespace
        )
    }

    /// The DNS domain of the server pods: `<pod>.<domain>` is a pod's name.
    pub fn pod_domain(&self) -> String {
        format!("{}.{}.svc.cluster.local", self.headless(), self.namespace)
    }

    /// `<name>-sentinel`, the Sentinels' StatefulSet and client Service.
    pub fn sentinel_name(&self) -> String {
        format!("{}-sentinel", self.name)
    }

    pub fn sentinel_headless(&self) -> String {
        format!("{}-sentinel-headless", self.name)
    }

    pub fn server_labels(&self) -> Labels {
        labels::selector("redis", self.name, "server")
    }

    pub fn sentinel_labels(&self) -> Labels {
        labels::selector("redis-sentinel", self.name, "sentinel")
    }

    pub fn backup_labels(&self) -> Labels {
        labels::selector("redis", self.name, "backup")
    }

    /// Every pod of this workload (servers, Sentinels, backup jobs), by the labels the
    /// render frame stamps on every pod template.
    pub fn own_pods(&self) -> Labels {
        let mut own = labels::workload_pods(self.name);
        own.insert(labels::TIER.to_owned(), Tier::Redis.as_str().to_owned());
        own
    }

    /// Whether the exporters run (they feed both the ServiceMonitor and the alerts).
    pub fn exporter(&self) -> bool {
        self.spec.exporter.enabled
    }
}

/// A ConfigMap volume with the files a pod reads (`keys`), each with its mode:
/// scripts `0555`, the rest `0444`.
fn config_volume<'k>(
    name: &str,
    config_map: &str,
    keys: impl IntoIterator<Item = &'k String>,
) -> Volume {
    let items = keys
        .into_iter()
        .map(|key| KeyToPath {
            key: key.clone(),
            path: key.clone(),
            mode: Some(if key.ends_with(".sh") { 0o555 } else { 0o444 }),
        })
        .collect();
    Volume {
        name: name.to_owned(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_map.to_owned(),
            items: Some(items),
            default_mode: Some(0o444),
            optional: Some(false),
        }),
        ..Default::default()
    }
}
