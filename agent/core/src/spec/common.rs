//! Settings shared by every tier: metadata and targeting, resources, storage, secrets,
//! autoscaling, disruption budgets, placement, network access and monitoring.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::quantity::Quantity;

/// `metadata` of a workload document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadMeta {
    /// Name of the workload: a DNS label of at most 40 characters. Object names are
    /// derived from it (`<name>`, `<name>-headless`, `<name>-sentinel`, …).
    pub name: String,
    /// Namespace the workload's objects go to. The agent creates it when missing.
    pub namespace: String,
    /// Names of the clusters (declared by `Cluster` documents) this workload runs on.
    /// Empty or absent: every cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
    /// Extra labels put on every object of the workload (never overriding the agent's own).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Extra annotations put on every object of the workload.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// CPU and memory for a container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    /// What the scheduler reserves.
    #[serde(default)]
    pub requests: ResourceList,
    /// The most the container may use.
    #[serde(default)]
    pub limits: ResourceList,
}

/// CPU and memory amounts. An absent value falls back to the tier's default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Quantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Quantity>,
}

impl Resources {
    /// These resources with every absent value taken from `defaults`.
    pub fn or(&self, defaults: &Resources) -> Resources {
        let pick = |mine: &Option<Quantity>, theirs: &Option<Quantity>| {
            mine.clone().or_else(|| theirs.clone())
        };
        Resources {
            requests: ResourceList {
                cpu: pick(&self.requests.cpu, &defaults.requests.cpu),
                memory: pick(&self.requests.memory, &defaults.requests.memory),
            },
            limits: ResourceList {
                cpu: pick(&self.limits.cpu, &defaults.limits.cpu),
                memory: pick(&self.limits.memory, &defaults.limits.memory),
            },
        }
    }

    /// Requests and limits from four quantities, for the tiers' defaults.
    pub fn of(cpu: &str, memory: &str, cpu_limit: &str, memory_limit: &str) -> Resources {
        Resources {
            requests: ResourceList {
                cpu: Some(cpu.into()),
                memory: Some(memory.into()),
            },
            limits: ResourceList {
                cpu: Some(cpu_limit.into()),
                memory: Some(memory_limit.into()),
            },
        }
    }
}

/// A persistent volume per pod.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Storage {
    /// Size of each pod's volume. Default: the tier's (from the seeds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Quantity>,
    /// StorageClass of the volumes. Default: the cluster's default class. Name one the
    /// `Cluster` document lists (e.g. the classes `strata_storage_class` created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

/// A key of a Secret that exists in the workload's namespace. Secrets are referenced,
/// never written into the config repo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    pub name: String,
    /// Key within the Secret.
    pub key: String,
}

/// A HorizontalPodAutoscaler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Autoscaling {
    /// Whether to render the HorizontalPodAutoscaler. While it is on, the agent does not
    /// set the replica count, so it never fights the autoscaler.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Fewest replicas. Default: `spec.replicas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<u32>,
    /// Most replicas.
    pub max_replicas: u32,
    /// Average CPU utilisation (percent of requests) to scale at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_cpu_utilization: Option<u32>,
    /// Average memory utilisation (percent of requests) to scale at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_memory_utilization: Option<u32>,
}

/// The PodDisruptionBudget.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Disruption {
    /// Pods that must stay up during voluntary disruptions (drains, upgrades). Default: a
    /// majority of the replicas (2 of 3, 4 of 6), which keeps quorum-based systems writable.
    /// Must be less than the replica count, or nodes could never be drained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_available: Option<u32>,
}

impl Disruption {
    /// The budget for `replicas` pods: the user's value or a majority.
    pub fn min_available_for(&self, replicas: u32) -> u32 {
        self.min_available.unwrap_or(replicas / 2 + 1)
    }

    /// Like [`Self::min_available_for`], but a default majority is capped so one pod can
    /// always be evicted (a majority of 2 is 2, which would block every drain). A user's
    /// value is kept; validation holds it below the replicas.
    pub fn min_available_below(&self, replicas: u32) -> u32 {
        self.min_available
            .unwrap_or_else(|| (replicas / 2 + 1).min(replicas.saturating_sub(1)))
    }
}

/// How strongly to spread pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Spread {
    /// The scheduler must spread the pods; a pod stays pending rather than share.
    Required,
    /// The scheduler spreads the pods when it can.
    Preferred,
    /// No spreading rule.
    None,
}

/// Where pods may run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Placement {
    /// Spreading across nodes (`kubernetes.io/hostname`). Default: required.
    #[serde(default = "required")]
    pub nodes: Spread,
    /// Spreading across availability zones (`topology.kubernetes.io/zone`). Default: preferred.
    #[serde(default = "preferred")]
    pub zones: Spread,
    /// Node labels the pods require.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Taints the pods tolerate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
}

impl Default for Placement {
    fn default() -> Self {
        Self {
            nodes: Spread::Required,
            zones: Spread::Preferred,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
        }
    }
}

/// A toleration, as in a Pod spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Toleration {
    pub key: String,
    /// `Equal` (default) or `Exists`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`; absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
}

/// Who may connect. The workload's own pods may always talk to each other, and the
/// `monitoring` namespace may scrape metrics when monitoring is on; everything else is
/// denied unless listed here.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Network {
    /// Sources allowed to reach the client ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_sources: Vec<NetworkSource>,
}

/// One allowed source: exactly one of `namespace`, `namespaceSelector`, `podSelector`
/// (pods in the workload's namespace) or `cidr`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkSource {
    /// Every pod of this namespace (matched by `kubernetes.io/metadata.name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Every pod of the namespaces with these labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<BTreeMap<String, String>>,
    /// Pods with these labels in the workload's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<BTreeMap<String, String>>,
    /// An IP block, e.g. `10.1.0.0/16` for the peered region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
}

/// Prometheus Operator objects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Monitoring {
    /// Render a ServiceMonitor (and exporters where the tier needs one). Default: true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Render a PrometheusRule with the seed's alerts. Default: true.
    #[serde(default = "yes")]
    pub alerts: bool,
    /// Scrape interval. Default: 30s.
    #[serde(default = "thirty_seconds")]
    pub interval: String,
    /// Labels for the ServiceMonitor and PrometheusRule, e.g. `release: prometheus` so the
    /// Prometheus instance selects them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Namespace of Prometheus, allowed to scrape by the NetworkPolicy. Default: monitoring.
    #[serde(default = "monitoring_namespace")]
    pub namespace: String,
}

impl Default for Monitoring {
    fn default() -> Self {
        Self {
            enabled: true,
            alerts: true,
            interval: thirty_seconds(),
            labels: BTreeMap::new(),
            namespace: monitoring_namespace(),
        }
    }
}

/// How the client Service is exposed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceExposure {
    /// `ClusterIP` (default), `LoadBalancer` or `NodePort`.
    #[serde(default, rename = "type")]
    pub kind: ServiceType,
    /// Annotations for the Service, e.g. for an internal AWS load balancer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// Kubernetes Service types the tiers can be exposed with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    LoadBalancer,
    NodePort,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::LoadBalancer => "LoadBalancer",
            ServiceType::NodePort => "NodePort",
        }
    }
}

pub(crate) fn yes() -> bool {
    true
}

fn required() -> Spread {
    Spread::Required
}

fn preferred() -> Spread {
    Spread::Preferred
}

fn thirty_seconds() -> String {
    "30s".to_owned()
}

fn monitoring_namespace() -> String {
    "monitoring".to_owned()
}
