//! Server-side apply with drift detection: dry-run, compare with live, apply only what
//! differs, in dependency order.

mod failure;
mod object;
mod volumes;

use std::sync::atomic::Ordering;

use futures::StreamExt;
use strata_agent_core::object::{Object, ObjectKey};

use crate::Error;

/// Objects of one rank applied at the same time: enough to hide round trips, few enough
/// not to look like a flood to the API server's priority and fairness.
const CONCURRENCY: usize = 8;

/// At most this many differing paths are reported per object.
const MAX_FIELDS: usize = 10;

/// With value `"true"`, the object takes fields owned by other appliers.
pub const FORCE_ANNOTATION: &str = "strata.dev/force-conflicts";

/// What the caller allows.
#[derive(Clone, Debug, Default)]
pub struct ApplyOptions {
    /// Only compare (dry-run); write nothing. `strata-agent diff` uses this.
    pub dry_run: bool,
    /// Take fields owned by other field managers (workloads opt in with the annotation
    /// `strata.dev/force-conflicts: "true"`; this forces for every object).
    pub force: bool,
}

/// The result of applying one object.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// The live object already matched.
    Unchanged,
    /// Did not exist; created.
    Created,
    /// Existed and differed: `fields` are the JSON paths (e.g. `spec.replicas`) that
    /// differed. Counted as drift when the object was applied before by this agent at the
    /// same revision, or as an update when the desired object changed.
    Updated { fields: Vec<String> },
    /// The kind is CRD-backed and its CRD is not installed: skipped (waiting).
    SkippedMissingKind,
    /// A PVC of a StatefulSet was expanded in place to the template's new size.
    Expanded { from: String, to: String },
}

/// Why one object could not be applied.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// Another field manager owns fields we set: reported, not forced.
    Conflict {
        managers: Vec<String>,
        fields: Vec<String>,
        message: String,
    },
    /// The change touches a field the API treats as immutable; `advice` says what the
    /// user must do (never done for them by deleting data).
    Immutable { field: String, advice: String },
    /// The API server rejected the object (422/400).
    Invalid { message: String },
    /// Network or server trouble; retry.
    Transient { message: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectResult {
    pub key: ObjectKey,
    pub outcome: Result<Change, Failure>,
}

/// Everything one apply pass did, in apply order.
#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    pub objects: Vec<ObjectResult>,
}

impl ApplyReport {
    pub fn failures(&self) -> impl Iterator<Item = (&ObjectKey, &Failure)> {
        self.objects
            .iter()
            .filter_map(|o| o.outcome.as_ref().err().map(|f| (&o.key, f)))
    }
    pub fn changed(&self) -> impl Iterator<Item = (&ObjectKey, &Change)> {
        self.objects
            .iter()
            .filter_map(|o| o.outcome.as_ref().ok().map(|c| (&o.key, c)))
            .filter(|(_, c)| !matches!(c, Change::Unchanged | Change::SkippedMissingKind))
    }
}

/// Applies `objects` (already in apply order) to the cluster: rank after rank, the
/// objects of one rank concurrently. One object failing does not stop the others; the
/// pass fails as a whole only when the cluster cannot be reached.
pub async fn apply(
    cluster: &crate::Cluster,
    objects: &[Object],
    options: &ApplyOptions,
) -> Result<ApplyReport, Error> {
    let mut pass = object::Pass::new(cluster, options);
    let mut report = ApplyReport {
        objects: Vec::with_capacity(objects.len()),
    };
    for rank in objects.chunk_by(|a, b| a.apply_rank() == b.apply_rank()) {
        pass.discover(rank).await?;
        let pass = &pass;
        let mut outcomes: Vec<(usize, Result<Change, Failure>)> =
            futures::stream::iter(rank.iter().enumerate())
                .map(|(i, object)| async move { (i, pass.apply(object).await) })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
        outcomes.sort_by_key(|(i, _)| *i);
        for (i, outcome) in outcomes {
            let key = rank[i].key();
            match &outcome {
                Ok(Change::Unchanged) => tracing::trace!(%key, "unchanged"),
                Ok(change) => tracing::debug!(%key, ?change, "applied"),
                Err(failure) => tracing::debug!(%key, ?failure, "not applied"),
            }
            report.objects.push(ObjectResult { key, outcome });
        }
        // Every object so far failed without an answer: check the cluster is there at all
        // rather than report each object as a transient failure.
        if !report.objects.is_empty()
            && pass.unanswered.load(Ordering::Relaxed) >= report.objects.len()
        {
            cluster
                .client
                .apiserver_version()
                .await
                .map_err(|e| Error::kube("the cluster does not answer", e))?;
        }
    }
    Ok(report)
}
