//! What `strata-agent run` reports: the `/status` document. The reconcile loop writes it
//! once per pass, on every exit path; the HTTP server and `strata-agent status` read it.
//! It never holds secret values: the repo URL is redacted and object data is not copied.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The whole `/status` document.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The cluster (a `Cluster` document's name) this agent renders for.
    pub cluster: Option<String>,
    pub source: SourceStatus,
    pub leader: LeaderStatus,
    /// The newest revision fetched from the repo.
    pub last_fetched: Option<RevisionStamp>,
    /// The newest revision applied in full (every object applied, prune done).
    pub last_applied: Option<RevisionStamp>,
    /// When a pass last ended without error.
    pub last_success: Option<Timestamp>,
    /// The most recent pass, whatever its outcome.
    pub last_pass: Option<Pass>,
    /// The error of the most recent pass, if it failed; cleared by a successful pass.
    pub last_error: Option<ErrorStatus>,
    pub drift: Drift,
    /// Objects the agent applied and keeps track of (the inventory's size).
    pub inventory: usize,
    pub workloads: Vec<WorkloadStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SourceStatus {
    /// The repo URL with any credentials removed.
    pub repo: String,
    /// Branch, tag or commit.
    pub reference: String,
    /// Subdirectory of the repo holding the config, if any.
    pub path: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LeaderStatus {
    /// This replica's identity.
    pub identity: String,
    /// Whether this replica holds the lease (only the leader applies).
    pub is_leader: bool,
    /// The identity of the replica holding the lease, if known.
    pub holder: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RevisionStamp {
    pub revision: String,
    pub at: Timestamp,
}

/// How a pass ended, and what the loop does next.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Converged: everything applied and healthy or progressing.
    Ready,
    /// A person must fix the repo or the cluster; retried on the next change or interval.
    Stalled,
    /// Waiting for something else (a CRD, a rollout); retried after a delay.
    Waiting,
    /// Network or API trouble; retried with backoff.
    Transient,
}

impl Outcome {
    /// The JSON spelling, also used as the `outcome` metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ready => "ready",
            Outcome::Stalled => "stalled",
            Outcome::Waiting => "waiting",
            Outcome::Transient => "transient",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reconcile pass.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Pass {
    pub revision: Option<String>,
    pub started: Timestamp,
    pub duration_ms: u64,
    /// What started the pass: `interval`, `webhook`, `startup`, `retry`.
    pub trigger: String,
    pub outcome: Outcome,
    pub steps: Vec<StepStatus>,
    pub objects: ObjectCounts,
}

/// One named step of a pass: fetch, render, apply, prune, health, operate.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepStatus {
    pub name: String,
    pub outcome: Outcome,
    /// A one-line summary, e.g. `applied 3, unchanged 57`.
    pub message: String,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectCounts {
    pub applied: usize,
    pub unchanged: usize,
    pub pruned: usize,
    pub failed: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorStatus {
    pub class: Outcome,
    /// The step that failed.
    pub step: String,
    pub message: String,
    /// Per-document or per-object details: `tiers/redis.yaml#2 spec.masters: …`,
    /// `StatefulSet data/redis: …`.
    pub details: Vec<String>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// Objects changed out of band and restored, in the most recent pass.
    pub count: usize,
    /// `Kind namespace/name: field, field`.
    pub objects: Vec<String>,
    /// Drifted objects restored since the agent started.
    pub total: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    pub namespace: String,
    pub name: String,
    pub tier: String,
    pub conditions: Vec<Condition>,
}

/// The condition type whose status says how a workload is doing.
pub const READY: &str = "Ready";

/// A workload's health in three states, as the `workloads{state}` metric counts it.
///
/// It is carried by the `Ready` condition's status, after the Knative convention:
/// `True` ready, `Unknown` (or no `Ready` condition yet) progressing, `False` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadState {
    Ready,
    Progressing,
    Failed,
}

impl WorkloadState {
    pub const ALL: [WorkloadState; 3] = [
        WorkloadState::Ready,
        WorkloadState::Progressing,
        WorkloadState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadState::Ready => "ready",
            WorkloadState::Progressing => "progressing",
            WorkloadState::Failed => "failed",
        }
    }

    /// The `Ready` condition status that carries this state.
    pub fn condition_status(self) -> &'static str {
        match self {
            WorkloadState::Ready => "True",
            WorkloadState::Progressing => "Unknown",
            WorkloadState::Failed => "False",
        }
    }
}

impl From<strata_agent_cluster::health::State> for WorkloadState {
    fn from(state: strata_agent_cluster::health::State) -> Self {
        use strata_agent_cluster::health::State;
        match state {
            State::Ready => WorkloadState::Ready,
            State::Progressing => WorkloadState::Progressing,
            State::Failed => WorkloadState::Failed,
        }
    }
}

impl WorkloadStatus {
    /// The `Ready` condition, if the loop has set one.
    pub fn ready_condition(&self) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == READY)
    }

    pub fn state(&self) -> WorkloadState {
        let status = self.ready_condition().map(|c| c.status.as_str());
        WorkloadState::ALL
            .into_iter()
            .find(|state| Some(state.condition_status()) == status)
            .unwrap_or(WorkloadState::Progressing)
    }
}

/// A Kubernetes-style condition: `Ready` True/False/Unknown with a reason.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: String,
    pub message: String,
    pub last_transition_time: Timestamp,
}
