//! The steps of a pass, in order, and what each hands to the next.

use std::collections::BTreeSet;

use strata_agent_cluster::apply::{self, ApplyReport, Change, Failure};
use strata_agent_cluster::health::{self, State, WorkloadHealth};
use strata_agent_cluster::inventory::Inventory;
use strata_agent_cluster::prune::{self, Kept};
use strata_agent_core::{Object, ObjectKey, RenderError, Repo, RepoFile};

use super::{Reconciler, digest};
use crate::report;
use crate::status::Outcome;

/// The steps, in the order a pass runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Fetch,
    Render,
    Apply,
    Prune,
    Health,
    Operate,
}

/// A step that finished; `outcome` may still ask for a retry (`Waiting`).
pub struct Done {
    pub outcome: Outcome,
    pub message: String,
}

impl Done {
    fn ready(message: impl Into<String>) -> Self {
        Done {
            outcome: Outcome::Ready,
            message: message.into(),
        }
    }

    fn waiting(message: impl Into<String>) -> Self {
        Done {
            outcome: Outcome::Waiting,
            message: message.into(),
        }
    }
}

/// A step that failed.
pub struct Failed {
    pub class: Outcome,
    pub message: String,
    /// One line per document or object at fault.
    pub details: Vec<String>,
    /// Whether the remaining steps must not run.
    pub stop: bool,
}

impl Failed {
    fn stop(class: Outcome, message: impl Into<String>, details: Vec<String>) -> Self {
        Failed {
            class,
            message: message.into(),
            details,
            stop: true,
        }
    }

    fn cluster(context: &str, error: &strata_agent_cluster::Error) -> Self {
        Failed::stop(
            class_of(error.class()),
            format!("{context}: {error}"),
            Vec::new(),
        )
    }
}

/// What the steps of one pass hand each other.
#[derive(Default)]
pub struct PassState {
    pub revision: Option<String>,
    files: Vec<RepoFile>,
    repo: Option<Repo>,
    objects: Vec<Object>,
    previous: Option<Inventory>,
    applied_report: Option<ApplyReport>,
    /// Cleared by any failure that makes pruning unsafe.
    prune_allowed: bool,
    pub applied: usize,
    pub unchanged: usize,
    pub pruned: usize,
    pub failed: usize,
    pub drift: Vec<String>,
    pub applied_revision: Option<String>,
    pub inventory_size: Option<usize>,
    pub health: Option<Vec<WorkloadHealth>>,
}

type StepResult = Result<Done, Failed>;

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Fetch,
        Step::Render,
        Step::Apply,
        Step::Prune,
        Step::Health,
        Step::Operate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Fetch => "fetch",
            Step::Render => "render",
            Step::Apply => "apply",
            Step::Prune => "prune",
            Step::Health => "health",
            Step::Operate => "operate",
        }
    }

    pub async fn run(self, r: &mut Reconciler, state: &mut PassState) -> StepResult {
        match self {
            Step::Fetch => fetch(r, state),
            Step::Render => render(r, state),
            Step::Apply => apply_step(r, state).await,
            Step::Prune => prune_step(r, state).await,
            Step::Health => health_step(r, state).await,
            Step::Operate => operate_step(r, state).await,
        }
    }
}

fn fetch(r: &mut Reconciler, state: &mut PassState) -> StepResult {
    // git2 blocks; the status server and lease renewal run on the other workers.
    let loaded = tokio::task::block_in_place(|| r.source.load());
    match loaded {
        Ok(loaded) => {
            let message = format!(
                "revision {}, {}",
                short(&loaded.revision),
                report::count(loaded.files.len(), "file")
            );
            state.revision = Some(loaded.revision);
            state.files = loaded.files;
            Ok(Done::ready(message))
        }
        Err(error) => {
            let class = if error.is_transient() {
                Outcome::Transient
            } else {
                Outcome::Stalled
            };
            Err(Failed::stop(
                class,
                format!("cannot fetch {}: {}", r.source.location(), chain(&error)),
                Vec::new(),
            ))
        }
    }
}

fn render(r: &mut Reconciler, state: &mut PassState) -> StepResult {
    let revision = state.revision.clone().unwrap_or_default();
    let repo = Repo::load(&std::mem::take(&mut state.files));
    for warning in repo.warnings() {
        tracing::warn!("{warning}");
    }
    let errors: Vec<String> = repo.errors().map(ToString::to_string).collect();
    if !errors.is_empty() {
        return Err(Failed::stop(
            Outcome::Stalled,
            format!(
                "revision {} has {}; none of it was applied and nothing was pruned",
                short(&revision),
                report::count(errors.len(), "error")
            ),
            errors,
        ));
    }
    let objects = match repo.render(r.settings.cluster.as_deref(), &revision) {
        Ok(objects) => objects,
        Err(RenderError::Collisions(found)) => {
            return Err(Failed::stop(
                Outcome::Stalled,
                format!("revision {}: documents collide", short(&revision)),
                found.iter().map(ToString::to_string).collect(),
            ));
        }
        Err(error) => {
            return Err(Failed::stop(
                Outcome::Stalled,
                error.to_string(),
                Vec::new(),
            ));
        }
    };
    if objects.is_empty() {
        return Err(Failed::stop(
            Outcome::Stalled,
            format!(
                "revision {} renders no objects for this cluster; refusing to apply it, \
                 as that would prune everything the agent manages",
                short(&revision)
            ),
            Vec::new(),
        ));
    }
    let message = format!(
        "{} from {} ({})",
        report::count(objects.len(), "object"),
        report::count(repo.documents.len(), "document"),
        report::count(repo.warnings().count(), "warning"),
    );
    let mut objects = objects;
    digest::stamp(&mut objects);
    state.objects = objects;
    state.repo = Some(repo);
    state.prune_allowed = true;
    Ok(Done::ready(message))
}

async fn apply_step(r: &mut Reconciler, state: &mut PassState) -> StepResult {
    let inventory = r
        .settings
        .inventory
        .load(&r.cluster)
        .await
        .map_err(|e| Failed::cluster("cannot read the inventory", &e))?;
    let report = apply::apply(&r.cluster, &state.objects, &r.settings.apply)
        .await
        .map_err(|e| Failed::cluster("cannot apply", &e))?;
    let mut waiting_kinds = BTreeSet::new();
    let mut details = Vec::new();
    let mut class = Outcome::Ready;
    for result in &report.objects {
        match &result.outcome {
            Ok(Change::Unchanged) => state.unchanged += 1,
            Ok(Change::Created | Change::Expanded { .. }) => state.applied += 1,
            Ok(Change::Updated { fields }) => {
                state.applied += 1;
                if !digest::changed_by_repo(fields) {
                    state
                        .drift
                        .push(format!("{}: {}", result.key, fields.join(", ")));
                }
            }
            Ok(Change::SkippedMissingKind) => {
                waiting_kinds.insert(kind_name(&result.key));
            }
            Err(failure) => {
                state.failed += 1;
                let (failure_class, text) = describe(failure);
                class = worst(class, failure_class);
                details.push(format!("{}: {text}", result.key));
            }
        }
    }
    for line in &state.drift {
        tracing::info!("drift restored: {line}");
    }
    state.previous = Some(inventory);
    state.applied_report = Some(report);
    let summary = format!(
        "applied {}, unchanged {}, drift {}, failed {}",
        state.applied,
        state.unchanged,
        state.drift.len(),
        state.failed
    );
    if !details.is_empty() {
        state.prune_allowed = false;
        return Err(Failed {
            class,
            message: format!(
                "{} of {} could not be applied ({summary}); nothing was pruned",
                report::count(details.len(), "object"),
                state.objects.len()
            ),
            details,
            stop: false,
        });
    }
    if !waiting_kinds.is_empty() {
        let kinds: Vec<String> = waiting_kinds.into_iter().collect();
        return Ok(Done::waiting(format!(
            "{summary}; waiting for the CRDs of {}",
            kinds.join(", ")
        )));
    }
    state.applied_revision = state.revision.clone();
    Ok(Done::ready(summary))
}

async fn prune_step(r: &mut Reconciler, state: &mut PassState) -> StepResult {
    let (Some(previous), Some(report)) = (state.previous.take(), state.applied_report.as_ref())
    else {
        return Ok(Done::ready("skipped"));
    };
    // Everything that exists because of this pass is tracked, whatever else happened.
    let applied: BTreeSet<ObjectKey> = report
        .objects
        .iter()
        .filter(|o| !matches!(o.outcome, Ok(Change::SkippedMissingKind)))
        .map(|o| o.key.clone())
        .collect();
    let mut next = Inventory {
        revision: state.applied_revision.clone().or(previous.revision.clone()),
        objects: applied.clone(),
    };
    let mut outcome = Ok(Done::ready("nothing to prune"));
    if !state.prune_allowed {
        next.objects.extend(previous.objects.iter().cloned());
        outcome = Ok(Done::ready("skipped: apply failed"));
    } else {
        let desired: BTreeSet<ObjectKey> = state.objects.iter().map(Object::key).collect();
        let candidates: BTreeSet<ObjectKey> =
            previous.objects.difference(&desired).cloned().collect();
        if !candidates.is_empty() {
            let pruned = prune::prune(&r.cluster, &candidates)
                .await
                .map_err(|e| Failed::cluster("cannot prune", &e))?;
            state.pruned = pruned.deleted.len();
            for key in &pruned.deleted {
                tracing::info!("pruned {key}");
            }
            for (key, why) in &pruned.kept {
                match why {
                    Kept::Protected => tracing::info!("kept {key}: never pruned"),
                    Kept::NotOwned => tracing::warn!(
                        "kept {key}: it no longer carries the agent's labels; not pruned"
                    ),
                    Kept::Gone => {}
                }
            }
            next.objects
                .extend(pruned.failed.iter().map(|(key, _)| key.clone()));
            let kept = pruned
                .kept
                .iter()
                .filter(|(_, why)| *why != Kept::Gone)
                .count();
            let summary = format!("pruned {}, kept {kept}", pruned.deleted.len());
            outcome = if pruned.failed.is_empty() {
                Ok(Done::ready(summary))
            } else {
                state.failed += pruned.failed.len();
                Err(Failed {
                    class: Outcome::Transient,
                    message: format!(
                        "{summary}; {} failed and will be retried",
                        report::count(pruned.failed.len(), "delete")
                    ),
                    details: pruned
                        .failed
                        .iter()
                        .map(|(key, error)| format!("{key}: {error}"))
                        .collect(),
                    stop: false,
                })
            };
        }
    }
    // A pass that changed nothing writes nothing, the inventory included.
    if next != previous {
        r.settings
            .inventory
            .save(&r.cluster, &next)
            .await
            .map_err(|e| Failed::cluster("cannot save the inventory", &e))?;
    }
    state.inventory_size = Some(next.objects.len());
    outcome
}

async fn health_step(r: &mut Reconciler, state: &mut PassState) -> StepResult {
    let workloads = health::health(&r.cluster, &state.objects)
        .await
        .map_err(|e| Failed {
            stop: false,
            ..Failed::cluster("cannot read workload health", &e)
        })?;
    let count = |wanted: State| workloads.iter().filter(|w| w.state == wanted).count();
    let (ready, progressing) = (count(State::Ready), count(State::Progressing));
    let failed: Vec<String> = workloads
        .iter()
        .filter(|w| w.state == State::Failed)
        .map(|w| {
            format!(
                "{}/{}: {}: {}",
                w.namespace, w.workload, w.reason, w.message
            )
        })
        .collect();
    let summary = format!(
        "{ready} ready, {progressing} progressing, {} failed",
        failed.len()
    );
    state.health = Some(workloads);
    if !failed.is_empty() {
        return Err(Failed {
            class: Outcome::Stalled,
            message: format!(
                "{} failed ({summary})",
                report::count(failed.len(), "workload")
            ),
            details: failed,
            stop: false,
        });
    }
    Ok(if progressing > 0 {
        Done::waiting(summary)
    } else {
        Done::ready(summary)
    })
}

async fn operate_step(r: &mut Reconciler, state: &mut PassState) -> StepResult {
    let Some(repo) = &state.repo else {
        return Ok(Done::ready("skipped"));
    };
    let report = strata_agent_operate::operate(
        &r.cluster.client,
        &repo.documents,
        r.settings.cluster.as_deref(),
    )
    .await;
    for action in &report.actions {
        tracing::info!("operate: {action}");
    }
    if !report.failures.is_empty() {
        return Err(Failed {
            class: Outcome::Stalled,
            message: format!(
                "{} need attention",
                report::count(report.failures.len(), "operation")
            ),
            details: report.failures,
            stop: false,
        });
    }
    let mut parts: Vec<String> = report.actions;
    parts.extend(report.waiting.iter().map(|w| format!("waiting: {w}")));
    let message = if parts.is_empty() {
        "nothing to do".to_owned()
    } else {
        parts.join("; ")
    };
    Ok(if report.waiting.is_empty() {
        Done::ready(message)
    } else {
        Done::waiting(message)
    })
}

/// How a failed object is reported, and what it means for the pass.
fn describe(failure: &Failure) -> (Outcome, String) {
    match failure {
        Failure::Conflict {
            managers,
            fields,
            message,
        } => (
            Outcome::Stalled,
            format!(
                "fields {} are managed by {}; not overwritten (annotate the object with \
                 strata.dev/force-conflicts: \"true\" to take them): {message}",
                fields.join(", "),
                managers.join(", ")
            ),
        ),
        Failure::Immutable { field, advice } => (
            Outcome::Stalled,
            format!("{field} cannot be changed: {advice}"),
        ),
        Failure::Invalid { message } => (Outcome::Stalled, format!("rejected: {message}")),
        Failure::Transient { message } => (Outcome::Transient, message.clone()),
    }
}

fn class_of(class: strata_agent_cluster::ErrorClass) -> Outcome {
    match class {
        strata_agent_cluster::ErrorClass::Stalled => Outcome::Stalled,
        strata_agent_cluster::ErrorClass::Waiting => Outcome::Waiting,
        strata_agent_cluster::ErrorClass::Transient => Outcome::Transient,
    }
}

fn worst(a: Outcome, b: Outcome) -> Outcome {
    if super::severity(b) > super::severity(a) {
        b
    } else {
        a
    }
}

fn kind_name(key: &ObjectKey) -> String {
    if key.group.is_empty() {
        key.kind.clone()
    } else {
        format!("{}.{}", key.kind, key.group)
    }
}

/// The first 12 characters of a commit id (a directory's `worktree` stays whole).
pub fn short(revision: &str) -> &str {
    revision.get(..12).unwrap_or(revision)
}

/// An error and its sources on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
