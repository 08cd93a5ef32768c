//! `strata-agent validate`: every diagnostic of the repo, then a render for every
//! cluster to catch what only rendering finds (two documents making the same object).

use std::collections::BTreeMap;

use anyhow::Context as _;
use strata_agent_core::diag::{Diagnostic, Location};
use strata_agent_core::spec::Body;
use strata_agent_core::{RenderError, Repo};

use crate::input::{self, SourceArgs};
use crate::report::{self, Status};

/// Check a config repo.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Render only for this cluster (default: every cluster the repo declares)
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    // Last: its options end under their own help heading.
    #[command(flatten)]
    pub source: SourceArgs,
}

pub fn run(args: &Args) -> anyhow::Result<Status> {
    let loaded = input::load(&args.source).context("cannot read the config repo")?;
    let repo = Repo::load(&loaded.files);
    report::print(&repo.diagnostics);
    let empty = report::warn_if_empty(&repo);

    let targets = targets(&repo, args.cluster.as_deref())?;
    let mut objects: Vec<(Option<&str>, usize)> = Vec::new();
    let mut collisions: BTreeMap<Diagnostic, Vec<&str>> = BTreeMap::new();
    if !repo.has_errors() {
        for &cluster in &targets {
            match repo.render(cluster, &loaded.revision) {
                Ok(rendered) => objects.push((cluster, rendered.len())),
                Err(RenderError::Collisions(found)) => {
                    for diagnostic in found {
                        collisions.entry(diagnostic).or_default().extend(cluster);
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
    for (diagnostic, clusters) in &collisions {
        eprintln!("{}", report::line(&on_clusters(diagnostic, clusters)));
    }

    let errors = repo.errors().count() + collisions.len();
    let warnings = repo.warnings().count() + usize::from(empty);
    println!("{}", summary(&repo, &objects, errors, warnings));
    Ok(if errors > 0 {
        Status::Invalid
    } else {
        Status::Ok
    })
}

/// The clusters to render for: the one asked for, or every declared one, or "no
/// cluster" once when the repo declares none.
fn targets<'a>(
    repo: &'a Repo,
    cluster: Option<&'a str>,
) -> Result<Vec<Option<&'a str>>, RenderError> {
    if let Some(name) = cluster {
        return repo.resolve_cluster(Some(name)).map(|c| vec![c]);
    }
    let declared: Vec<Option<&str>> = repo
        .clusters()
        .into_iter()
        .map(|c| Some(c.metadata.name.as_str()))
        .collect();
    Ok(if declared.is_empty() {
        vec![None]
    } else {
        declared
    })
}

/// The collision, saying on which clusters it happens.
fn on_clusters(diagnostic: &Diagnostic, clusters: &[&str]) -> Diagnostic {
    let mut diagnostic = diagnostic.clone();
    if !clusters.is_empty() {
        let noun = if clusters.len() == 1 {
            "cluster"
        } else {
            "clusters"
        };
        diagnostic.message = format!("{} (on {noun} {})", diagnostic.message, clusters.join(", "));
    }
    diagnostic
}

/// `ok: 11 documents (2 VectorStore, …, 3 manifests); 2 clusters (us-east-1: 40 objects,
/// us-west-2: 52 objects); 0 warnings`.
fn summary(
    repo: &Repo,
    objects: &[(Option<&str>, usize)],
    errors: usize,
    warnings: usize,
) -> String {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for document in &repo.documents {
        let kind = match &document.body {
            Body::VectorStore(_) => "VectorStore",
            Body::RedisCluster(_) => "RedisCluster",
            Body::StreamCluster(_) => "StreamCluster",
            Body::Cluster(_) => "Cluster",
            Body::Manifest(_) => "manifest",
        };
        *kinds.entry(kind).or_default() += 1;
    }
    // Documents that failed to parse are not in `repo.documents`; count them too.
    let unparsed = {
        let mut failed: Vec<_> = repo
            .errors()
            .filter_map(|d| match &d.location {
                Location::Field { origin, .. }
                    if !repo.documents.iter().any(|doc| &doc.origin == origin) =>
                {
                    Some(origin)
                }
                _ => None,
            })
            .collect();
        failed.dedup();
        failed.len()
    };
    let order = [
        "VectorStore",
        "RedisCluster",
        "StreamCluster",
        "Cluster",
        "manifest",
    ];
    let mut per_kind: Vec<String> = order
        .iter()
        .filter_map(|kind| {
            kinds.get(kind).map(|n| match *kind {
                "manifest" => report::count(*n, kind),
                _ => format!("{n} {kind}"),
            })
        })
        .collect();
    if unparsed > 0 {
        per_kind.push(format!("{unparsed} malformed"));
    }
    let mut documents = report::count(repo.documents.len() + unparsed, "document");
    if !per_kind.is_empty() {
        documents = format!("{documents} ({})", per_kind.join(", "));
    }
    let mut broken: Vec<&str> = repo
        .errors()
        .filter(|d| matches!(d.location, Location::File { .. }))
        .map(Diagnostic::file)
        .collect();
    broken.dedup();
    if !broken.is_empty() {
        documents = format!(
            "{documents}, {} not parsed",
            report::count(broken.len(), "file")
        );
    }
    let clusters: Vec<String> = repo
        .clusters()
        .iter()
        .map(|c| {
            let name = c.metadata.name.as_str();
            match objects.iter().find(|(cluster, _)| *cluster == Some(name)) {
                Some((_, n)) => format!("{name}: {}", report::count(*n, "object")),
                None => name.to_owned(),
            }
        })
        .collect();
    let clusters = match (clusters.is_empty(), objects) {
        (true, [(None, n)]) => format!("no clusters declared ({})", report::count(*n, "object")),
        (true, _) => "no clusters declared".to_owned(),
        (false, _) => format!(
            "{} ({})",
            report::count(clusters.len(), "cluster"),
            clusters.join(", ")
        ),
    };
    let verdict = if errors > 0 {
        format!("invalid, {}", report::count(errors, "error"))
    } else {
        "ok".to_owned()
    };
    format!(
        "{verdict}: {documents}; {clusters}; {}",
        report::count(warnings, "warning"),
    )
}
