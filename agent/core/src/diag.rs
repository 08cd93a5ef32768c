//! Diagnostics: what is wrong (or risky) in the config repo, and exactly where.

use std::fmt;

use crate::spec::Origin;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The document (and so the revision) cannot be applied.
    Error,
    /// Applied, but the user should know.
    Warning,
}

/// Where in the repo a diagnostic points.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    /// A whole file, optionally at a line and column (YAML syntax errors).
    File {
        file: String,
        line: Option<(usize, usize)>,
    },
    /// A field of a document; `path` like `spec.sentinel.quorum` (empty: the document).
    Field { origin: Origin, path: String },
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    pub location: Location,
    pub severity: Severity,
    pub message: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The repo-relative file the diagnostic is about.
    pub fn file(&self) -> &str {
        match &self.location {
            Location::File { file, .. } => file,
            Location::Field { origin, .. } => &origin.file,
        }
    }
}

/// `tiers/redis.yaml#1 spec.masters: must be at least 3 for a cluster`
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::File {
                file,
                line: Some((line, column)),
            } => write!(f, "{file}:{line}:{column}")?,
            Location::File { file, line: None } => f.write_str(file)?,
            Location::Field { origin, path } if path.is_empty() => write!(f, "{origin}")?,
            Location::Field { origin, path } => write!(f, "{origin} {path}")?,
        }
        write!(f, ": {}", self.message)
    }
}

/// Collects the diagnostics of one document. Paths are relative to the document root.
pub struct Checks<'a> {
    origin: &'a Origin,
    out: &'a mut Vec<Diagnostic>,
}

impl<'a> Checks<'a> {
    pub fn new(origin: &'a Origin, out: &'a mut Vec<Diagnostic>) -> Self {
        Self { origin, out }
    }

    pub fn origin(&self) -> &Origin {
        self.origin
    }

    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.push(Severity::Error, path.into(), message.into());
    }

    pub fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.push(Severity::Warning, path.into(), message.into());
    }

    /// Reports an error at `path` unless `ok`.
    pub fn require(&mut self, ok: bool, path: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.error(path, message);
        }
    }

    fn push(&mut self, severity: Severity, path: String, message: String) {
        self.out.push(Diagnostic {
            location: Location::Field {
                origin: self.origin.clone(),
                path,
            },
            severity,
            message,
        });
    }
}
