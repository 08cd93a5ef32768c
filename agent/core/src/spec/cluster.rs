//! `Cluster`: a cluster the config repo serves, so documents can target it by name and
//! storage classes can be checked.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `metadata` of a `Cluster`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterMeta {
    /// The name documents target and `strata-agent --cluster` selects.
    pub name: String,
}

/// `spec` of a `Cluster`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterSpec {
    /// AWS region, for people reading the repo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// StorageClasses the cluster has (e.g. made by `strata_storage_class`). A workload
    /// naming another class gets a warning: its volumes would stay pending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_classes: Vec<String>,
}
