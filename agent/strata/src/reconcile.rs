//! One reconcile pass: an ordered list of named steps — fetch, render, apply, prune,
//! health, operate — over one revision of the config repo. Each step returns a small
//! outcome; the pass ends with one [`PassReport`] that the loop publishes as status, on
//! every exit path.
//!
//! Safety rules kept here, in one place:
//! * a revision is all-or-nothing: if any document fails to parse, validate or render,
//!   nothing of that revision is applied and the last applied revision stays;
//! * nothing is pruned when the fetch, the render or any apply failed, and a revision
//!   that renders no objects at all is refused rather than pruning everything;
//! * a delete that fails stays in the inventory and is retried on the next pass.

pub mod digest;
mod steps;

use std::collections::BTreeMap;
use std::time::Instant;

use jiff::Timestamp;
use strata_agent_cluster::Cluster;
use strata_agent_cluster::apply::ApplyOptions;
use strata_agent_cluster::inventory::InventoryRef;

use crate::input::ConfigSource;
use crate::status::{
    Condition, Drift, ErrorStatus, ObjectCounts, Outcome, Pass, READY, RevisionStamp, Status,
    StepStatus, WorkloadState, WorkloadStatus,
};

pub use steps::Step;

/// What the agent reconciles, and how.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The `Cluster` document to render for (`None`: the repo's only one).
    pub cluster: Option<String>,
    /// Where the inventory ConfigMap lives.
    pub inventory: InventoryRef,
    pub apply: ApplyOptions,
}

/// Keeps one cluster converged to one config repo.
pub struct Reconciler {
    source: ConfigSource,
    cluster: Cluster,
    settings: Settings,
    /// Ready conditions of the previous pass, to keep their transition times.
    conditions: BTreeMap<(String, String), Condition>,
}

/// Everything one pass learned, to fold into [`Status`].
#[derive(Clone, Debug)]
pub struct PassReport {
    pub pass: Pass,
    pub fetched: Option<RevisionStamp>,
    /// Set when the revision was applied in full (and pruned).
    pub applied: Option<RevisionStamp>,
    pub error: Option<ErrorStatus>,
    pub drift: Vec<String>,
    /// The inventory's size after the pass, when it was read.
    pub inventory: Option<usize>,
    /// Health, when the health step ran.
    pub workloads: Option<Vec<WorkloadStatus>>,
}

impl PassReport {
    /// Folds the pass into the status document.
    pub fn update(&self, status: &mut Status) {
        if let Some(fetched) = &self.fetched {
            status.last_fetched = Some(fetched.clone());
        }
        if let Some(applied) = &self.applied {
            status.last_applied = Some(applied.clone());
        }
        if self.error.is_none() && self.pass.outcome == Outcome::Ready {
            status.last_success = Some(self.pass.started);
        }
        status.last_error = self.error.clone();
        status.drift = Drift {
            count: self.drift.len(),
            objects: self.drift.clone(),
            total: status.drift.total + self.drift.len() as u64,
        };
        if let Some(inventory) = self.inventory {
            status.inventory = inventory;
        }
        if let Some(workloads) = &self.workloads {
            status.workloads = workloads.clone();
        }
        status.last_pass = Some(self.pass.clone());
    }
}

impl Reconciler {
    pub fn new(source: ConfigSource, cluster: Cluster, settings: Settings) -> Self {
        Self {
            source,
            cluster,
            settings,
            conditions: BTreeMap::new(),
        }
    }

    /// Runs every step in order, stopping where a step says the rest must not run.
    pub async fn pass(&mut self, trigger: &str) -> PassReport {
        let started = Timestamp::now();
        let clock = Instant::now();
        let mut state = steps::PassState::default();
        let mut step_status = Vec::new();
        let mut error = None;
        for step in Step::ALL {
            let step_clock = Instant::now();
            let result = step.run(self, &mut state).await;
            let duration_ms = elapsed_ms(step_clock);
            let (outcome, message, stop) = match result {
                Ok(done) => (done.outcome, done.message, false),
                Err(failed) => {
                    let summary = (failed.class, failed.message.clone(), failed.stop);
                    if error.is_none() {
                        error = Some(ErrorStatus {
                            class: failed.class,
                            step: step.name().to_owned(),
                            message: failed.message,
                            details: failed.details,
                            at: Timestamp::now(),
                        });
                    }
                    summary
                }
            };
            tracing::debug!(step = step.name(), ?outcome, message, duration_ms, "step");
            step_status.push(StepStatus {
                name: step.name().to_owned(),
                outcome,
                message,
                duration_ms,
            });
            if stop {
                break;
            }
        }
        let outcome = step_status
            .iter()
            .map(|s| s.outcome)
            .max_by_key(|o| severity(*o))
            .unwrap_or(Outcome::Ready);
        let workloads = state.health.take().map(|health| self.conditions(health));
        let pass = Pass {
            revision: state.revision.clone(),
            started,
            duration_ms: elapsed_ms(clock),
            trigger: trigger.to_owned(),
            outcome,
            steps: step_status,
            objects: ObjectCounts {
                applied: state.applied,
                unchanged: state.unchanged,
                pruned: state.pruned,
                failed: state.failed,
            },
        };
        let at = Timestamp::now();
        PassReport {
            fetched: state
                .revision
                .clone()
                .map(|revision| RevisionStamp { revision, at }),
            applied: state
                .applied_revision
                .clone()
                .map(|revision| RevisionStamp { revision, at }),
            error,
            drift: state.drift,
            inventory: state.inventory_size,
            workloads,
            pass,
        }
    }

    /// Workload health as Ready conditions, keeping each condition's transition time
    /// while its status stays the same.
    fn conditions(
        &mut self,
        health: Vec<strata_agent_cluster::health::WorkloadHealth>,
    ) -> Vec<WorkloadStatus> {
        let now = Timestamp::now();
        let mut next = BTreeMap::new();
        let workloads = health
            .into_iter()
            .map(|h| {
                let status = WorkloadState::from(h.state).condition_status();
                let key = (h.namespace.clone(), h.workload.clone());
                let last_transition_time = match self.conditions.get(&key) {
                    Some(previous) if previous.status == status => previous.last_transition_time,
                    _ => now,
                };
                let condition = Condition {
                    type_: READY.to_owned(),
                    status: status.to_owned(),
                    reason: h.reason,
                    message: h.message,
                    last_transition_time,
                };
                next.insert(key, condition.clone());
                WorkloadStatus {
                    namespace: h.namespace,
                    name: h.workload,
                    tier: h.tier,
                    conditions: vec![condition],
                }
            })
            .collect();
        self.conditions = next;
        workloads
    }
}

/// Which outcome wins when steps disagree: a person's action first, then retries.
fn severity(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Ready => 0,
        Outcome::Waiting => 1,
        Outcome::Transient => 2,
        Outcome::Stalled => 3,
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    since.elapsed().as_millis().try_into().unwrap_or(u64::MAX)
}
