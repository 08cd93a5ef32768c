//! The config repo's documents: `VectorStore`, `RedisCluster`, `StreamCluster` and
//! `Cluster` (all `apiVersion: strata.dev/v1alpha1`), plus plain Kubernetes manifests.
//!
//! The types are the schema: serde reads them (unknown fields rejected), schemars turns
//! them into the JSON Schema editors use, and their doc comments are its descriptions.
//! Defaults reproduce the seed deployments; the `fn`s on each spec resolve them.

pub mod cluster;
pub mod common;
pub mod redis;
pub mod stream;
pub mod vector;

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use cluster::{ClusterMeta, ClusterSpec};
pub use common::WorkloadMeta;
pub use redis::RedisClusterSpec;
pub use stream::StreamClusterSpec;
pub use vector::VectorStoreSpec;

use crate::object::CustomObject;

/// The API version of every Strata document.
pub const API_VERSION: &str = "strata.dev/v1alpha1";
/// The API group of Strata documents.
pub const API_GROUP: &str = "strata.dev";

/// A workload document: `apiVersion`, `kind`, `metadata`, `spec`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Workload<S> {
    /// `strata.dev/v1alpha1`.
    pub api_version: String,
    pub kind: String,
    pub metadata: WorkloadMeta,
    pub spec: S,
}

pub type VectorStore = Workload<VectorStoreSpec>;
pub type RedisCluster = Workload<RedisClusterSpec>;
pub type StreamCluster = Workload<StreamClusterSpec>;

/// A `Cluster` document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cluster {
    /// `strata.dev/v1alpha1`.
    pub api_version: String,
    pub kind: String,
    pub metadata: ClusterMeta,
    #[serde(default)]
    pub spec: ClusterSpec,
}

/// The Strata kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    VectorStore,
    RedisCluster,
    StreamCluster,
    Cluster,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::VectorStore,
        Kind::RedisCluster,
        Kind::StreamCluster,
        Kind::Cluster,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::VectorStore => "VectorStore",
            Kind::RedisCluster => "RedisCluster",
            Kind::StreamCluster => "StreamCluster",
            Kind::Cluster => "Cluster",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which data tier a workload belongs to; the value of the `strata.dev/tier` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Vector,
    Redis,
    Stream,
    /// Plain manifests from the repo.
    Manifest,
    /// Namespaces the agent creates for workloads.
    Platform,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Vector => "vector",
            Tier::Redis => "redis",
            Tier::Stream => "stream",
            Tier::Manifest => "manifest",
            Tier::Platform => "platform",
        }
    }
}

/// Where a document came from: the repo-relative file and its 1-based position in it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub file: String,
    pub index: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.file, self.index)
    }
}

/// One document of the repo.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub origin: Origin,
    pub body: Body,
}

/// What a document is.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    VectorStore(VectorStore),
    RedisCluster(RedisCluster),
    StreamCluster(StreamCluster),
    Cluster(Cluster),
    /// A plain Kubernetes manifest, applied as it is (with the agent's labels added).
    Manifest(CustomObject),
}

/// The annotation a plain manifest targets clusters with: comma-separated names.
pub const CLUSTERS_ANNOTATION: &str = "strata.dev/clusters";

impl Body {
    /// `(kind, namespace, name)` identifying the document among the repo's.
    pub fn identity(&self) -> (String, Option<String>, String) {
        match self {
            Body::VectorStore(w) => (
                w.kind.clone(),
                Some(w.metadata.namespace.clone()),
                w.metadata.name.clone(),
            ),
            Body::RedisCluster(w) => (
                w.kind.clone(),
                Some(w.metadata.namespace.clone()),
                w.metadata.name.clone(),
            ),
            Body::StreamCluster(w) => (
                w.kind.clone(),
                Some(w.metadata.namespace.clone()),
                w.metadata.name.clone(),
            ),
            Body::Cluster(c) => (c.kind.clone(), None, c.metadata.name.clone()),
            Body::Manifest(m) => (
                format!("{}/{}", m.api_version, m.kind),
                m.metadata.namespace.clone(),
                m.metadata.name.clone().unwrap_or_default(),
            ),
        }
    }

    /// The clusters this document is limited to; empty means all.
    pub fn clusters(&self) -> Vec<String> {
        match self {
            Body::VectorStore(w) => w.metadata.clusters.clone(),
            Body::RedisCluster(w) => w.metadata.clusters.clone(),
            Body::StreamCluster(w) => w.metadata.clusters.clone(),
            Body::Cluster(c) => vec![c.metadata.name.clone()],
            Body::Manifest(m) => m
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(CLUSTERS_ANNOTATION))
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Whether the document applies to `cluster` (`None`: a repo without clusters).
    pub fn targets(&self, cluster: Option<&str>) -> bool {
        let clusters = self.clusters();
        clusters.is_empty() || cluster.is_some_and(|c| clusters.iter().any(|t| t == c))
    }
}
