//! What the commands tell the user: diagnostics on stderr, and the exit status.

use std::process::ExitCode;

use strata_agent_core::Diagnostic;

/// Exit status for usage and I/O problems (clap uses 2 for bad arguments too).
pub const USAGE_OR_IO: u8 = 2;

/// How a command that ran to the end went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Exit 0.
    Ok,
    /// The config repo has errors: exit 1.
    Invalid,
}

impl Status {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Status::Ok => ExitCode::SUCCESS,
            Status::Invalid => ExitCode::from(1),
        }
    }
}

/// `error: tiers/redis.yaml#1 spec.masters: must be at least 3 for a cluster`, or
/// `warning: …`.
pub fn line(diagnostic: &Diagnostic) -> String {
    let severity = if diagnostic.is_error() {
        "error"
    } else {
        "warning"
    };
    format!("{severity}: {diagnostic}")
}

/// Prints every diagnostic to stderr, in the repo's order (file, document, field).
pub fn print(diagnostics: &[Diagnostic]) {
    for diagnostic in diagnostics {
        eprintln!("{}", line(diagnostic));
    }
}

/// `1 error`, `2 warnings`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Says so when the repo has no documents at all: applied, it would remove everything.
/// Returns whether it warned.
pub fn warn_if_empty(repo: &strata_agent_core::Repo) -> bool {
    let empty = repo.documents.is_empty() && repo.diagnostics.is_empty();
    if empty {
        eprintln!(
            "warning: the config repo has no documents (only .yaml and .yml files outside hidden directories are read)"
        );
    }
    empty
}
