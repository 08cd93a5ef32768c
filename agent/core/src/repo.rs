//! A loaded config repo: its documents and everything wrong with them, ready to render.

use crate::diag::Diagnostic;
use crate::load::{RepoFile, parse_files};
use crate::object::Object;
use crate::render::{Target, render};
use crate::spec::{Body, Cluster, Document};
use crate::validate::validate;

/// The documents of one revision of the config repo, parsed and validated.
#[derive(Clone, Debug, Default)]
pub struct Repo {
    pub documents: Vec<Document>,
    /// Errors and warnings, sorted by file, document and field.
    pub diagnostics: Vec<Diagnostic>,
}

/// Why a repo could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Some document has errors; nothing is rendered, so nothing can be half-applied.
    #[error("the config repo has {0} error(s); nothing was rendered")]
    Invalid(usize),
    /// The cluster asked for is not declared.
    #[error("no Cluster document declares `{cluster}` (declared: {declared})")]
    UnknownCluster { cluster: String, declared: String },
    /// The repo serves several clusters and none was chosen.
    #[error("the config repo serves several clusters ({0}); choose one")]
    ClusterRequired(String),
    /// Two documents produce the same object.
    #[error("documents collide:\n{}", .0.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n"))]
    Collisions(Vec<Diagnostic>),
}

impl Repo {
    /// Parses and validates the files (non-YAML files and hidden directories are skipped).
    pub fn load(files: &[RepoFile]) -> Repo {
        let (documents, mut diagnostics) = parse_files(files);
        diagnostics.extend(validate(&documents));
        diagnostics.sort();
        diagnostics.dedup();
        Repo {
            documents,
            diagnostics,
        }
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// The clusters the repo declares, in name order.
    pub fn clusters(&self) -> Vec<&Cluster> {
        let mut clusters: Vec<&Cluster> = self
            .documents
            .iter()
            .filter_map(|d| match &d.body {
                Body::Cluster(c) => Some(c),
                _ => None,
            })
            .collect();
        clusters.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        clusters
    }

    /// The cluster to render for when the caller named `cluster` (or none): a declared
    /// name, the only declared cluster, or none when the repo declares no clusters.
    pub fn resolve_cluster<'a>(
        &'a self,
        cluster: Option<&'a str>,
    ) -> Result<Option<&'a str>, RenderError> {
        let declared: Vec<&str> = self
            .clusters()
            .iter()
            .map(|c| c.metadata.name.as_str())
            .collect();
        match (cluster, declared.as_slice()) {
            (Some(name), []) => Ok(Some(name)),
            (Some(name), names) if names.contains(&name) => Ok(Some(name)),
            (Some(name), names) => Err(RenderError::UnknownCluster {
                cluster: name.to_owned(),
                declared: names.join(", "),
            }),
            (None, []) => Ok(None),
            (None, [only]) => Ok(Some(only)),
            (None, names) => Err(RenderError::ClusterRequired(names.join(", "))),
        }
    }

    /// The objects for `cluster` at `revision`, in apply order. Refuses when the repo has
    /// errors.
    pub fn render(
        &self,
        cluster: Option<&str>,
        revision: &str,
    ) -> Result<Vec<Object>, RenderError> {
        let errors = self.errors().count();
        if errors > 0 {
            return Err(RenderError::Invalid(errors));
        }
        let cluster = self.resolve_cluster(cluster)?;
        render(&self.documents, Target { cluster, revision }).map_err(RenderError::Collisions)
    }
}
