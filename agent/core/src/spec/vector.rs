//! `VectorStore`: a vector database, Weaviate (seed 000) or Grape (seed 003).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Autoscaling, Disruption, Monitoring, Network, Placement, Resources, SecretKeyRef,
    ServiceExposure, Storage,
};
use crate::quantity::Quantity;

/// The vector database engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VectorEngine {
    /// Weaviate: gossip cluster, REST 8080, gRPC 50051 (seed 000).
    Weaviate,
    /// Grape: a Raft cluster with sharding, REST 8080, Raft 9000 (seed 003).
    Grape,
}

impl VectorEngine {
    pub fn as_str(self) -> &'static str {
        match self {
            VectorEngine::Weaviate => "weaviate",
            VectorEngine::Grape => "grape",
        }
    }
}

/// `spec` of a `VectorStore`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VectorStoreSpec {
    /// `weaviate` or `grape`.
    pub engine: VectorEngine,
    /// Container image. Default: `semitechnologies/weaviate:1.23.0` or `grape-vector-db/grape:0.5.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Pods in the StatefulSet (the autoscaler's minimum when autoscaling is on). Default: 3.
    #[serde(default = "three")]
    pub replicas: u32,
    /// Default: Weaviate 2 CPU / 8Gi requested, 4 CPU / 16Gi limit; Grape 4 CPU / 8Gi, 8 CPU / 16Gi.
    #[serde(default)]
    pub resources: Resources,
    /// Default size: Weaviate 500Gi, Grape 100Gi.
    #[serde(default)]
    pub storage: Storage,
    /// API-key authentication (anonymous access is always off).
    #[serde(default)]
    pub auth: VectorAuth,
    /// Default: on for Weaviate (from `replicas` up to 9, or `replicas` when that is more,
    /// at 70% CPU / 80% memory), off for Grape, whose Raft membership should change by
    /// intent, not by load (`server.yaml` names `replicas` peers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
    /// The PodDisruptionBudget, rendered when at least 2 pods run (`replicas`, or the
    /// autoscaler's minimum when it is on). Default: a majority (2 of 3), and never all
    /// of them (1 of 2), so nodes can be drained. Grape needs a majority to stay writable.
    #[serde(default)]
    pub disruption: Disruption,
    /// Default: pods on different nodes (required), spread over zones (preferred).
    #[serde(default)]
    pub placement: Placement,
    /// Who may reach the client ports (REST 8080, and gRPC 50051 for Weaviate). Default,
    /// when no source is listed: every pod of the workload's own namespace. The cluster
    /// ports (Weaviate gossip 7100 and data 7101, Grape Raft 9000) are open only to the
    /// workload's own pods, the metrics port only to `monitoring.namespace`. Egress is
    /// left open: vectorizer modules call model APIs outside the cluster.
    #[serde(default)]
    pub network: Network,
    /// The client Service `<name>`; for Grape also the write Service `<name>-leader`,
    /// exposed the same way. Default: ClusterIP.
    #[serde(default)]
    pub service: ServiceExposure,
    /// ServiceMonitor and PrometheusRule (the seeds' alerts). With `enabled: false` the
    /// engine's metrics endpoint is turned off too.
    #[serde(default)]
    pub monitoring: Monitoring,
    /// Weaviate settings; only with `engine: weaviate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weaviate: Option<WeaviateSettings>,
    /// Grape settings; only with `engine: grape`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grape: Option<GrapeSettings>,
}

/// API keys, read from a Secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VectorAuth {
    /// The Secret key holding the API keys: for Weaviate comma-separated keys, for Grape
    /// the contents of its `api_keys_file` (mounted as `api_keys.yaml`). Default: key
    /// `api-keys` of Secret `<name>-api-keys`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_keys: Option<SecretKeyRef>,
    /// Weaviate: the Secret key holding the users the keys map to, comma-separated in the
    /// same order. Default: key `users` of the same Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<SecretKeyRef>,
}

/// Weaviate's own settings (seed 000).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WeaviateSettings {
    /// `QUERY_MAXIMUM_RESULTS`. Default: 10000.
    #[serde(default = "ten_thousand")]
    pub query_maximum_results: u32,
    /// `PERSISTENCE_LSM_ACCESS_STRATEGY`: `mmap` (default) or `pread`.
    #[serde(default = "mmap")]
    pub lsm_access_strategy: String,
    /// `PERSISTENCE_MEMTABLES_FLUSH_IDLE_AFTER_SECONDS`. Default: 60.
    #[serde(default = "sixty")]
    pub flush_idle_after_seconds: u32,
    /// `DEFAULT_VECTORIZER_MODULE`. Default: `none`.
    #[serde(default = "none_module")]
    pub default_vectorizer_module: String,
    /// More environment variables for Weaviate (not secrets), e.g. `ENABLE_MODULES`.
    /// Variables the agent sets itself (`CLUSTER_JOIN`, `AUTHENTICATION_*`, …) are refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Environment variables read from Secrets, e.g. `OPENAI_APIKEY` for
    /// `text2vec-openai`; the values never appear in the repo or the rendered objects.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_env: BTreeMap<String, SecretKeyRef>,
}

impl Default for WeaviateSettings {
    fn default() -> Self {
        Self {
            query_maximum_results: ten_thousand(),
            lsm_access_strategy: mmap(),
            flush_idle_after_seconds: sixty(),
            default_vectorizer_module: none_module(),
            env: BTreeMap::new(),
            secret_env: BTreeMap::new(),
        }
    }
}

/// Grape's own settings (seed 003, `server.yaml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrapeSettings {
    /// Vector dimension. Default: 1536.
    #[serde(default = "dimension")]
    pub vector_dimension: u32,
    /// Shards the data is split into. Default: 16.
    #[serde(default = "sixteen")]
    pub shards: u32,
    /// Copies of each shard; at most `replicas`. Default: 3, or `replicas` when fewer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_factor: Option<u32>,
    #[serde(default)]
    pub hnsw: Hnsw,
    /// Binary quantisation of the index. Default: true.
    #[serde(default = "crate::spec::common::yes")]
    pub binary_quantization: bool,
    /// Cache size in MB. Default: 2048.
    #[serde(default = "cache_mb")]
    pub cache_size_mb: u32,
    /// Raft election timeout. Default: 5000 ms.
    #[serde(default = "election_ms")]
    pub election_timeout_ms: u32,
    /// Raft heartbeat. Default: 1000 ms.
    #[serde(default = "heartbeat_ms")]
    pub heartbeat_interval_ms: u32,
    /// TLS for the API and Raft: a `kubernetes.io/tls` Secret with `tls.crt`, `tls.key`
    /// and `ca.crt` (as cert-manager writes it); its certificate must name the pods
    /// (`*.<name>-headless.<namespace>.svc.cluster.local`) and the Services. Absent: plain TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret: Option<String>,
}

impl Default for GrapeSettings {
    fn default() -> Self {
        Self {
            vector_dimension: dimension(),
            shards: sixteen(),
            replication_factor: None,
            hnsw: Hnsw::default(),
            binary_quantization: true,
            cache_size_mb: cache_mb(),
            election_timeout_ms: election_ms(),
            heartbeat_interval_ms: heartbeat_ms(),
            tls_secret: None,
        }
    }
}

/// HNSW index parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Hnsw {
    /// Default: 32.
    #[serde(default = "thirty_two")]
    pub m: u32,
    /// Default: 400.
    #[serde(default = "four_hundred")]
    pub ef_construction: u32,
    /// Default: 128.
    #[serde(default = "one_twenty_eight")]
    pub ef_search: u32,
}

impl Default for Hnsw {
    fn default() -> Self {
        Self {
            m: thirty_two(),
            ef_construction: four_hundred(),
            ef_search: one_twenty_eight(),
        }
    }
}

impl VectorStoreSpec {
    pub fn image(&self) -> String {
        self.image.clone().unwrap_or_else(|| {
            match self.engine {
                VectorEngine::Weaviate => "semitechnologies/weaviate:1.23.0",
                VectorEngine::Grape => "grape-vector-db/grape:0.5.0",
            }
            .to_owned()
        })
    }

    pub fn resources(&self) -> Resources {
        let defaults = match self.engine {
            VectorEngine::Weaviate => Resources::of("2", "8Gi", "4", "16Gi"),
            VectorEngine::Grape => Resources::of("4", "8Gi", "8", "16Gi"),
        };
        self.resources.or(&defaults)
    }

    pub fn storage_size(&self) -> Quantity {
        self.storage
            .size
            .clone()
            .unwrap_or_else(|| match self.engine {
                VectorEngine::Weaviate => "500Gi".into(),
                VectorEngine::Grape => "100Gi".into(),
            })
    }

    /// The autoscaler, when one is to be rendered.
    pub fn autoscaling(&self) -> Option<Autoscaling> {
        match (&self.autoscaling, self.engine) {
            (Some(a), _) => a.enabled.then(|| a.clone()),
            (None, VectorEngine::Weaviate) => Some(Autoscaling {
                enabled: true,
                min_replicas: None,
                max_replicas: self.replicas.max(9),
                target_cpu_utilization: Some(70),
                target_memory_utilization: Some(80),
            }),
            (None, VectorEngine::Grape) => None,
        }
    }

    pub fn api_keys(&self, name: &str) -> SecretKeyRef {
        self.auth.api_keys.clone().unwrap_or_else(|| SecretKeyRef {
            name: format!("{name}-api-keys"),
            key: "api-keys".to_owned(),
        })
    }

    pub fn users(&self, name: &str) -> SecretKeyRef {
        self.auth.users.clone().unwrap_or_else(|| SecretKeyRef {
            name: self.api_keys(name).name,
            key: "users".to_owned(),
        })
    }

    pub fn weaviate(&self) -> WeaviateSettings {
        self.weaviate.clone().unwrap_or_default()
    }

    pub fn grape(&self) -> GrapeSettings {
        self.grape.clone().unwrap_or_default()
    }

    /// Grape's copies of each shard: the user's value, or 3 capped at the replica count.
    pub fn replication_factor(&self) -> u32 {
        self.grape
            .as_ref()
            .and_then(|g| g.replication_factor)
            .unwrap_or_else(|| self.replicas.clamp(1, 3))
    }
}

fn three() -> u32 {
    3
}
fn sixteen() -> u32 {
    16
}
fn sixty() -> u32 {
    60
}
fn ten_thousand() -> u32 {
    10_000
}
fn dimension() -> u32 {
    1536
}
fn cache_mb() -> u32 {
    2048
}
fn election_ms() -> u32 {
    5000
}
fn heartbeat_ms() -> u32 {
    1000
}
fn thirty_two() -> u32 {
    32
}
fn four_hundred() -> u32 {
    400
}
fn one_twenty_eight() -> u32 {
    128
}
fn mmap() -> String {
    "mmap".to_owned()
}
fn none_module() -> String {
    "none".to_owned()
}
