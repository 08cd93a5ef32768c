//! `StreamCluster`: Chronik Stream, a Kafka-compatible log on object storage (seed 004).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Autoscaling, Disruption, Monitoring, NetworkSource, Placement, Resources, Storage,
};
use crate::quantity::Quantity;

/// The streaming engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StreamEngine {
    /// Chronik Stream: Raft controllers plus stateless ingest nodes on S3 (seed 004).
    Chronik,
}

/// `spec` of a `StreamCluster`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StreamClusterSpec {
    /// `chronik`.
    pub engine: StreamEngine,
    /// Image tag of `chronik/controller` and `chronik/ingest`. Default: v1.2.0.
    #[serde(default = "version")]
    pub version: String,
    #[serde(default)]
    pub controllers: Controllers,
    #[serde(default)]
    pub ingest: Ingest,
    /// Where the log segments live.
    pub object_storage: ObjectStorage,
    #[serde(default)]
    pub replication: Replication,
    #[serde(default)]
    pub security: StreamSecurity,
    #[serde(default)]
    pub network: StreamNetwork,
    /// Topics the agent creates (it never deletes topics).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<Topic>,
    #[serde(default)]
    pub server: ServerSettings,
    #[serde(default)]
    pub placement: Placement,
    #[serde(default)]
    pub monitoring: Monitoring,
    /// OpenTelemetry collector for traces (e.g. `jaeger-collector.monitoring:4317`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_endpoint: Option<String>,
}

/// The Raft controllers: a StatefulSet with a metadata (sled) volume each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Controllers {
    /// Default: 3. Use an odd number: Raft needs a majority.
    #[serde(default = "three")]
    pub replicas: u32,
    /// Default: 4 CPU / 8Gi requested, 8 CPU / 16Gi limit.
    #[serde(default)]
    pub resources: Resources,
    /// Metadata volume. Default size: 10Gi.
    #[serde(default)]
    pub metadata_storage: Storage,
    #[serde(default)]
    pub disruption: Disruption,
}

impl Default for Controllers {
    fn default() -> Self {
        Self {
            replicas: three(),
            resources: Resources::default(),
            metadata_storage: Storage::default(),
            disruption: Disruption::default(),
        }
    }
}

/// The ingest nodes: a Deployment (they keep no state but a local cache).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Ingest {
    /// Default: 10 (the seed's medium size, 100K messages/s).
    #[serde(default = "ten")]
    pub replicas: u32,
    /// Default: 8 CPU / 16Gi requested, 16 CPU / 32Gi limit.
    #[serde(default)]
    pub resources: Resources,
    /// Size of the local segment cache (an emptyDir). Default: 100Gi.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_size: Option<Quantity>,
    /// Optional HorizontalPodAutoscaler for the ingest nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
    /// Default: all but 10% of the replicas (at least one may go), as the seed's rolling
    /// updates; with an autoscaler, of its minimum.
    #[serde(default)]
    pub disruption: Disruption,
}

impl Default for Ingest {
    fn default() -> Self {
        Self {
            replicas: ten(),
            resources: Resources::default(),
            cache_size: None,
            autoscaling: None,
            disruption: Disruption::default(),
        }
    }
}

/// Object storage for the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectStorage {
    pub s3: S3Backend,
}

/// An S3 bucket (or an S3-compatible store).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct S3Backend {
    /// Name of the bucket: 3–63 lowercase letters, digits, `-` or `.`.
    pub bucket: String,
    /// Region of the bucket, e.g. `us-east-1`.
    pub region: String,
    /// An `https://` (or `http://`) URL, e.g. `https://s3.amazonaws.com` or a MinIO
    /// Service. The NetworkPolicy opens egress to its port. Default: the region's AWS
    /// endpoint (port 443).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// A Secret with `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`. Absent: the pods'
    /// own identity (IRSA or EKS Pod Identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<String>,
}

/// Replication of partitions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Replication {
    /// Default: 3.
    #[serde(default = "three")]
    pub factor: u32,
    /// Default: 2.
    #[serde(default = "two")]
    pub min_insync_replicas: u32,
    /// Default: 30000.
    #[serde(default = "ack_timeout")]
    pub ack_timeout_ms: u32,
}

impl Default for Replication {
    fn default() -> Self {
        Self {
            factor: three(),
            min_insync_replicas: two(),
            ack_timeout_ms: ack_timeout(),
        }
    }
}

/// TLS and SASL.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StreamSecurity {
    #[serde(default)]
    pub tls: StreamTls,
    #[serde(default)]
    pub sasl: Sasl,
}

/// TLS on the Kafka listener.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StreamTls {
    /// Default: true.
    #[serde(default = "crate::spec::common::yes")]
    pub enabled: bool,
    /// A `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`), mounted read-only into the
    /// controllers and ingest nodes. Default: `<name>-tls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret: Option<String>,
}

impl Default for StreamTls {
    fn default() -> Self {
        Self {
            enabled: true,
            cert_secret: None,
        }
    }
}

/// SASL authentication.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sasl {
    /// Default: true.
    #[serde(default = "crate::spec::common::yes")]
    pub enabled: bool,
    /// Default: SCRAM-SHA-256 and SCRAM-SHA-512.
    #[serde(default = "scram")]
    pub mechanisms: Vec<SaslMechanism>,
    /// A Secret with the SCRAM users: one key per user name, its value the password.
    /// Mounted read-only into the ingest nodes. Default: `<name>-sasl-users`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_secret: Option<String>,
}

impl Default for Sasl {
    fn default() -> Self {
        Self {
            enabled: true,
            mechanisms: scram(),
            users_secret: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SaslMechanism {
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// Who may produce and consume. Egress is always limited to the cluster's own pods, DNS
/// (53, TCP and UDP), S3 (443, or the port of `objectStorage.s3.endpoint`) and the port
/// of `otlpEndpoint` when set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StreamNetwork {
    /// Namespaces whose pods may reach the Kafka port 9092. Default: `chronik-clients`.
    #[serde(default = "client_namespaces")]
    pub client_namespaces: Vec<String>,
    /// More sources allowed to reach 9092.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_sources: Vec<NetworkSource>,
}

impl Default for StreamNetwork {
    fn default() -> Self {
        Self {
            client_namespaces: client_namespaces(),
            allowed_sources: Vec::new(),
        }
    }
}

/// A topic to create.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Topic {
    /// At most 249 letters, digits, `.`, `_` or `-` (not `.` or `..`). Kafka treats `.`
    /// and `_` alike, so `a.b` and `a_b` cannot both exist.
    pub name: String,
    /// Default: 6.
    #[serde(default = "six")]
    pub partitions: u32,
    /// Default: `spec.replication.factor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_factor: Option<u32>,
    /// Topic configuration, e.g. `retention.ms`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
}

/// Chronik's `production.yaml` tuning (seed 004).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServerSettings {
    /// Default: 16.
    #[serde(default = "sixteen")]
    pub network_threads: u32,
    /// Default: 32.
    #[serde(default = "thirty_two")]
    pub io_threads: u32,
    /// Default: 10000.
    #[serde(default = "ten_thousand")]
    pub max_connections: u32,
    /// Segment size in bytes. Default: 1073741824 (1 GiB).
    #[serde(default = "segment_size")]
    pub segment_size_bytes: u64,
    /// `none`, `gzip`, `snappy`, `lz4` or `zstd` (default).
    #[serde(default = "zstd")]
    pub compression: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            network_threads: sixteen(),
            io_threads: thirty_two(),
            max_connections: ten_thousand(),
            segment_size_bytes: segment_size(),
            compression: zstd(),
        }
    }
}

impl StreamClusterSpec {
    pub fn controller_image(&self) -> String {
        format!("chronik/controller:{}", self.version)
    }

    pub fn ingest_image(&self) -> String {
        format!("chronik/ingest:{}", self.version)
    }

    pub fn controller_resources(&self) -> Resources {
        self.controllers
            .resources
            .or(&Resources::of("4", "8Gi", "8", "16Gi"))
    }

    pub fn ingest_resources(&self) -> Resources {
        self.ingest
            .resources
            .or(&Resources::of("8", "16Gi", "16", "32Gi"))
    }

    pub fn metadata_size(&self) -> Quantity {
        self.controllers
            .metadata_storage
            .size
            .clone()
            .unwrap_or_else(|| "10Gi".into())
    }

    pub fn cache_size(&self) -> Quantity {
        self.ingest
            .cache_size
            .clone()
            .unwrap_or_else(|| "100Gi".into())
    }

    /// The ingest nodes' autoscaler when it is on (and so rendered).
    pub fn ingest_autoscaled(&self) -> Option<&Autoscaling> {
        self.ingest.autoscaling.as_ref().filter(|a| a.enabled)
    }

    /// The fewest ingest nodes (brokers) there will be: the autoscaler's minimum while
    /// one is on, else `ingest.replicas`.
    pub fn min_ingest_replicas(&self) -> u32 {
        match self.ingest_autoscaled() {
            Some(a) => a.min_replicas.unwrap_or(self.ingest.replicas),
            None => self.ingest.replicas,
        }
    }

    /// Ingest pods that must stay up: the user's value, or all but 10% (at least one may
    /// go) of [`Self::min_ingest_replicas`], so drains work at the autoscaler's minimum.
    pub fn ingest_min_available(&self) -> u32 {
        let replicas = self.min_ingest_replicas();
        self.ingest
            .disruption
            .min_available
            .unwrap_or_else(|| replicas.saturating_sub((replicas / 10).max(1)))
    }

    pub fn tls_secret(&self, name: &str) -> String {
        self.security
            .tls
            .cert_secret
            .clone()
            .unwrap_or_else(|| format!("{name}-tls"))
    }

    pub fn sasl_secret(&self, name: &str) -> String {
        self.security
            .sasl
            .users_secret
            .clone()
            .unwrap_or_else(|| format!("{name}-sasl-users"))
    }

    pub fn topic_replication(&self, topic: &Topic) -> u32 {
        topic.replication_factor.unwrap_or(self.replication.factor)
    }
}

fn two() -> u32 {
    2
}
fn three() -> u32 {
    3
}
fn six() -> u32 {
    6
}
fn ten() -> u32 {
    10
}
fn sixteen() -> u32 {
    16
}
fn thirty_two() -> u32 {
    32
}
fn ten_thousand() -> u32 {
    10_000
}
fn ack_timeout() -> u32 {
    30_000
}
fn segment_size() -> u64 {
    1 << 30
}
fn version() -> String {
    "v1.2.0".to_owned()
}
fn zstd() -> String {
    "zstd".to_owned()
}
fn scram() -> Vec<SaslMechanism> {
    vec![SaslMechanism::ScramSha256, SaslMechanism::ScramSha512]
}
fn client_namespaces() -> Vec<String> {
    vec!["chronik-clients".to_owned()]
}
