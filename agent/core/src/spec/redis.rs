//! `RedisCluster`: sharded Redis Cluster (seed 002) or primary/replicas watched by
//! Sentinels (seed 001).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Disruption, Monitoring, Network, Placement, Resources, SecretKeyRef, ServiceExposure, Storage,
};
use crate::quantity::Quantity;

/// How the Redis servers are organised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RedisTopology {
    /// Redis Cluster: data sharded over `masters` across 16384 slots, each master with
    /// `replicasPerMaster` replicas; the cluster fails over by itself.
    #[default]
    Cluster,
    /// One primary and `replicas` replicas; Sentinels promote a replica when the primary fails.
    Sentinel,
}

/// `spec` of a `RedisCluster`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedisClusterSpec {
    /// `cluster` (default) or `sentinel`.
    #[serde(default)]
    pub topology: RedisTopology,
    /// Default: `redis:7.2-alpine`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Cluster topology: shards (masters), at least 3. Default: 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masters: Option<u32>,
    /// Cluster topology: replicas of each master. Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_per_master: Option<u32>,
    /// Sentinel topology: replicas of the primary. Default: 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// The Sentinels. On by default with `topology: sentinel`; with `topology: cluster`
    /// they only watch (see the warning the agent prints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel: Option<SentinelSpec>,
    #[serde(default)]
    pub memory: RedisMemory,
    #[serde(default)]
    pub persistence: Persistence,
    /// The password, from a Secret. Default: key `password` of Secret `<name>-auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<SecretKeyRef>,
    /// `io-threads`. Default: 4.
    #[serde(default = "four")]
    pub io_threads: u32,
    /// `cluster-node-timeout` in ms. Default: 15000.
    #[serde(default = "fifteen_seconds")]
    pub cluster_node_timeout_ms: u32,
    /// Default: 2 CPU / 8Gi requested, 4 CPU / 16Gi limit.
    #[serde(default)]
    pub resources: Resources,
    /// Default size: 100Gi.
    #[serde(default)]
    pub storage: Storage,
    #[serde(default)]
    pub exporter: Exporter,
    #[serde(default)]
    pub backup: Backup,
    #[serde(default)]
    pub disruption: Disruption,
    #[serde(default)]
    pub placement: Placement,
    #[serde(default)]
    pub network: Network,
    /// The client Service `<name>`. Default: ClusterIP. Redis Cluster redirects clients
    /// to the pods' own addresses and Sentinels name the primary by its cluster DNS name,
    /// both reachable only inside the cluster, so a load balancer alone does not expose
    /// either topology to outside clients. `<name>-sentinel` is always ClusterIP.
    #[serde(default)]
    pub service: ServiceExposure,
    #[serde(default)]
    pub monitoring: Monitoring,
}

/// The Sentinels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SentinelSpec {
    /// Default: true.
    #[serde(default = "crate::spec::common::yes")]
    pub enabled: bool,
    /// Sentinel pods. Default: 3.
    #[serde(default = "three")]
    pub replicas: u32,
    /// Sentinels that must agree a primary is down. Default: 2.
    #[serde(default = "two")]
    pub quorum: u32,
    /// `down-after-milliseconds`. Default: 5000 (sentinel topology), 30000 (cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_after_ms: Option<u32>,
    /// `failover-timeout`. Default: 10000 (sentinel topology), 180000 (cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_timeout_ms: Option<u32>,
    /// `parallel-syncs`. Default: 1.
    #[serde(default = "one")]
    pub parallel_syncs: u32,
    /// Default: 100m / 256Mi requested, 200m / 512Mi limit.
    #[serde(default)]
    pub resources: Resources,
    /// Default size: 10Gi.
    #[serde(default)]
    pub storage: Storage,
}

impl Default for SentinelSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            replicas: three(),
            quorum: two(),
            down_after_ms: None,
            failover_timeout_ms: None,
            parallel_syncs: one(),
            resources: Resources::default(),
            storage: Storage::default(),
        }
    }
}

/// Memory limit and eviction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedisMemory {
    /// `maxmemory` in Redis units (`6gb`, `512mb`). Default: 6gb. Keep it well under the
    /// memory request: forks for persistence need headroom.
    #[serde(default = "six_gb")]
    pub maxmemory: String,
    /// `maxmemory-policy`. Default: allkeys-lru.
    #[serde(default)]
    pub policy: EvictionPolicy,
}

impl Default for RedisMemory {
    fn default() -> Self {
        Self {
            maxmemory: six_gb(),
            policy: EvictionPolicy::default(),
        }
    }
}

/// Redis's eviction policies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EvictionPolicy {
    #[default]
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    Noeviction,
}

impl EvictionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            EvictionPolicy::AllkeysLru => "allkeys-lru",
            EvictionPolicy::AllkeysLfu => "allkeys-lfu",
            EvictionPolicy::AllkeysRandom => "allkeys-random",
            EvictionPolicy::VolatileLru => "volatile-lru",
            EvictionPolicy::VolatileLfu => "volatile-lfu",
            EvictionPolicy::VolatileRandom => "volatile-random",
            EvictionPolicy::VolatileTtl => "volatile-ttl",
            EvictionPolicy::Noeviction => "noeviction",
        }
    }
}

/// AOF and RDB persistence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Persistence {
    /// Append-only file. Default: true.
    #[serde(default = "crate::spec::common::yes")]
    pub aof: bool,
    /// `appendfsync`: `always`, `everysec` (default) or `no`.
    #[serde(default)]
    pub appendfsync: AppendFsync,
    /// RDB save points. Default: 900 s/1 change, 300 s/10, 60 s/10000. Empty: no RDB.
    #[serde(default = "save_points")]
    pub save: Vec<SavePoint>,
}

impl Default for Persistence {
    fn default() -> Self {
        Self {
            aof: true,
            appendfsync: AppendFsync::default(),
            save: save_points(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AppendFsync {
    Always,
    #[default]
    Everysec,
    No,
}

impl AppendFsync {
    pub fn as_str(self) -> &'static str {
        match self {
            AppendFsync::Always => "always",
            AppendFsync::Everysec => "everysec",
            AppendFsync::No => "no",
        }
    }
}

/// Save after `seconds` if at least `changes` keys changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SavePoint {
    pub seconds: u32,
    pub changes: u32,
}

/// The Prometheus exporter sidecar (port 9121; Sentinels' exporter on 9355).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Exporter {
    /// Default: true.
    #[serde(default = "crate::spec::common::yes")]
    pub enabled: bool,
    /// Default: `oliver006/redis_exporter:v1.55.0`.
    #[serde(default = "exporter_image")]
    pub image: String,
    /// Default: 100m / 128Mi requested, 200m / 256Mi limit.
    #[serde(default)]
    pub resources: Resources,
}

impl Default for Exporter {
    fn default() -> Self {
        Self {
            enabled: true,
            image: exporter_image(),
            resources: Resources::default(),
        }
    }
}

/// Backup CronJobs: hourly RDB snapshots kept on a backup volume, and a daily copy to S3.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Backup {
    /// Default: true.
    #[serde(default = "crate::spec::common::yes")]
    pub enabled: bool,
    /// Default: every hour (`0 * * * *`), keeping the last 3.
    #[serde(default = "hourly")]
    pub hourly: BackupSchedule,
    /// Default: 02:00 UTC (`0 2 * * *`), keeping the last 7.
    #[serde(default = "daily")]
    pub daily: BackupSchedule,
    /// Where the daily backup is copied. Absent: kept on the backup volume only.
    // Boxed: rarely set, and it would make every document as large as its fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<Box<S3Target>>,
    /// The backup volume, a PersistentVolumeClaim `<name>-backup` shared by both
    /// schedules. Default size: 50Gi; default class: `spec.storage.storageClass`.
    #[serde(default)]
    pub storage: Storage,
}

impl Default for Backup {
    fn default() -> Self {
        Self {
            enabled: true,
            hourly: hourly(),
            daily: daily(),
            s3: None,
            storage: Storage::default(),
        }
    }
}

/// A cron schedule and how many backups it keeps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackupSchedule {
    /// Five-field cron expression, in UTC.
    pub schedule: String,
    /// Backups kept.
    pub keep: u32,
}

/// An S3 location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct S3Target {
    /// Name of the bucket (3 to 63 lowercase letters, digits, `.` or `-`).
    pub bucket: String,
    /// Key prefix. Default: `<namespace>/<name>`. Each daily snapshot is copied to
    /// `<prefix>/daily/<time>/`; expire old ones with the bucket's lifecycle rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Region of the bucket, e.g. `us-east-1`.
    pub region: String,
    /// A Secret with `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`. Absent: the pod's
    /// own identity (IRSA or EKS Pod Identity) through the ServiceAccount `<name>-backup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<String>,
    /// IAM role for IRSA: put on the ServiceAccount `<name>-backup` as
    /// `eks.amazonaws.com/role-arn`. With EKS Pod Identity, associate the role with that
    /// ServiceAccount instead and leave this out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Image of the upload container. Default: `amazon/aws-cli:2.17.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

impl S3Target {
    pub fn image(&self) -> String {
        self.image
            .clone()
            .unwrap_or_else(|| "amazon/aws-cli:2.17.0".to_owned())
    }

    /// The key prefix without surrounding slashes.
    pub fn prefix(&self, namespace: &str, name: &str) -> String {
        match &self.prefix {
            Some(prefix) => prefix.trim_matches('/').to_owned(),
            None => format!("{namespace}/{name}"),
        }
    }
}

impl RedisClusterSpec {
    pub fn image(&self) -> String {
        self.image
            .clone()
            .unwrap_or_else(|| "redis:7.2-alpine".to_owned())
    }

    pub fn masters(&self) -> u32 {
        self.masters.unwrap_or(3)
    }

    pub fn replicas_per_master(&self) -> u32 {
        self.replicas_per_master.unwrap_or(1)
    }

    /// Sentinel topology: replicas of the primary.
    pub fn replicas(&self) -> u32 {
        self.replicas.unwrap_or(2)
    }

    /// Redis server pods: masters × (1 + replicas per master), or 1 + replicas.
    pub fn server_pods(&self) -> u32 {
        match self.topology {
            RedisTopology::Cluster => self.masters() * (1 + self.replicas_per_master()),
            RedisTopology::Sentinel => 1 + self.replicas(),
        }
    }

    /// The Sentinels to render, with topology-dependent defaults filled in.
    pub fn sentinel(&self) -> Option<SentinelSpec> {
        let mut sentinel = match (&self.sentinel, self.topology) {
            (Some(s), _) if !s.enabled => return None,
            (Some(s), _) => s.clone(),
            (None, RedisTopology::Sentinel) => SentinelSpec::default(),
            (None, RedisTopology::Cluster) => return None,
        };
        let (down_after, failover) = match self.topology {
            RedisTopology::Sentinel => (5_000, 10_000),
            RedisTopology::Cluster => (30_000, 180_000),
        };
        sentinel.down_after_ms.get_or_insert(down_after);
        sentinel.failover_timeout_ms.get_or_insert(failover);
        sentinel.resources = sentinel
            .resources
            .or(&Resources::of("100m", "256Mi", "200m", "512Mi"));
        sentinel.storage.size.get_or_insert_with(|| "10Gi".into());
        if sentinel.storage.storage_class.is_none() {
            sentinel.storage.storage_class = self.storage.storage_class.clone();
        }
        Some(sentinel)
    }

    pub fn auth(&self, name: &str) -> SecretKeyRef {
        self.auth.clone().unwrap_or_else(|| SecretKeyRef {
            name: format!("{name}-auth"),
            key: "password".to_owned(),
        })
    }

    pub fn resources(&self) -> Resources {
        self.resources.or(&Resources::of("2", "8Gi", "4", "16Gi"))
    }

    pub fn exporter_resources(&self) -> Resources {
        self.exporter
            .resources
            .or(&Resources::of("100m", "128Mi", "200m", "256Mi"))
    }

    pub fn storage_size(&self) -> Quantity {
        self.storage.size.clone().unwrap_or_else(|| "100Gi".into())
    }

    /// The backup volume's class: its own, or the data volumes' class.
    pub fn backup_storage_class(&self) -> Option<String> {
        self.backup
            .storage
            .storage_class
            .clone()
            .or_else(|| self.storage.storage_class.clone())
    }

    pub fn backup_storage_size(&self) -> Quantity {
        self.backup
            .storage
            .size
            .clone()
            .unwrap_or_else(|| "50Gi".into())
    }
}

fn one() -> u32 {
    1
}
fn two() -> u32 {
    2
}
fn three() -> u32 {
    3
}
fn four() -> u32 {
    4
}
fn fifteen_seconds() -> u32 {
    15_000
}
fn six_gb() -> String {
    "6gb".to_owned()
}
fn exporter_image() -> String {
    "oliver006/redis_exporter:v1.55.0".to_owned()
}
fn save_points() -> Vec<SavePoint> {
    [(900, 1), (300, 10), (60, 10_000)]
        .into_iter()
        .map(|(seconds, changes)| SavePoint { seconds, changes })
        .collect()
}
fn hourly() -> BackupSchedule {
    BackupSchedule {
        schedule: "0 * * * *".to_owned(),
        keep: 3,
    }
}
fn daily() -> BackupSchedule {
    BackupSchedule {
        schedule: "0 2 * * *".to_owned(),
        keep: 7,
    }
}
