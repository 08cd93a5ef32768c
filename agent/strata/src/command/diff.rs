//! `strata-agent diff`: what a pass would change on the cluster, found the way the agent
//! finds drift — a server-side dry-run apply of every object compared with the live one —
//! plus the objects the next pass would prune. Writes nothing.

use std::collections::BTreeSet;

use anyhow::Context as _;
use strata_agent_cluster::apply::{self, ApplyOptions, Change, Failure};
use strata_agent_core::{Object, ObjectKey, RenderError, Repo};

use crate::command::run::KubeArgs;
use crate::input::{self, SourceArgs};
use crate::reconcile::digest;
use crate::report::{self, Status};

/// Show what applying the config repo would change
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cluster to render for; required when the repo declares more than one
    #[arg(long, value_name = "NAME", env = "STRATA_CLUSTER")]
    pub cluster: Option<String>,
    #[command(flatten)]
    pub kube: KubeArgs,
    // Last: its options end under their own help heading.
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Exit status 0: no differences; 1: differences (or repo errors); 2: trouble.
pub fn run(args: &Args) -> anyhow::Result<Status> {
    let loaded = input::load(&args.source).context("cannot read the config repo")?;
    let repo = Repo::load(&loaded.files);
    report::print(&repo.diagnostics);
    let mut objects = match repo.render(args.cluster.as_deref(), &loaded.revision) {
        Ok(objects) => objects,
        Err(RenderError::Collisions(found)) => {
            report::print(&found);
            return Ok(Status::Invalid);
        }
        Err(RenderError::Invalid(errors)) => {
            eprintln!(
                "error: the config repo has {}; nothing to compare",
                report::count(errors, "error")
            );
            return Ok(Status::Invalid);
        }
        Err(error) => return Err(error.into()),
    };
    // Compared exactly as the agent's apply step would send them.
    digest::stamp(&mut objects);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let lines = runtime.block_on(compare(args, &objects))?;
    for line in &lines {
        println!("{line}");
    }
    if lines.is_empty() {
        eprintln!(
            "no differences: the cluster matches revision {}",
            loaded.revision
        );
        Ok(Status::Ok)
    } else {
        eprintln!("{}", report::count(lines.len(), "difference"));
        Ok(Status::Invalid)
    }
}

/// One line per object that differs: `+` created, `~` changed (with the fields), `-`
/// pruned, `!` refused by the API server.
async fn compare(args: &Args, objects: &[Object]) -> anyhow::Result<Vec<String>> {
    let cluster = args.kube.connect().await?;
    let options = ApplyOptions {
        dry_run: true,
        force: false,
    };
    let report = apply::apply(&cluster, objects, &options)
        .await
        .context("cannot compare with the cluster")?;
    let mut lines = Vec::new();
    for result in &report.objects {
        match &result.outcome {
            Ok(Change::Created) => lines.push(format!("+ {}", result.key)),
            Ok(Change::Updated { fields }) => {
                lines.push(format!("~ {}: {}", result.key, fields.join(", ")))
            }
            Ok(Change::Expanded { from, to }) => {
                lines.push(format!("~ {}: volumes {from} → {to}", result.key))
            }
            Ok(Change::SkippedMissingKind) => {
                lines.push(format!("? {}: its kind is not installed", result.key))
            }
            Ok(Change::Unchanged) => {}
            Err(failure) => lines.push(format!("! {}: {}", result.key, refusal(failure))),
        }
    }
    let inventory = args
        .kube
        .inventory()
        .load(&cluster)
        .await
        .context("cannot read the inventory")?;
    let desired: BTreeSet<ObjectKey> = objects.iter().map(Object::key).collect();
    for key in inventory.objects.difference(&desired) {
        let note = if matches!(key.kind.as_str(), "PersistentVolumeClaim" | "Namespace") {
            " (kept: never pruned)"
        } else {
            ""
        };
        lines.push(format!("- {key}{note}"));
    }
    Ok(lines)
}

fn refusal(failure: &Failure) -> String {
    match failure {
        Failure::Conflict {
            managers, fields, ..
        } => format!(
            "conflict: {} managed by {}",
            fields.join(", "),
            managers.join(", ")
        ),
        Failure::Immutable { field, advice } => format!("{field} is immutable: {advice}"),
        Failure::Invalid { message } | Failure::Transient { message } => message.clone(),
    }
}
