//! The command line: `strata-agent validate | render | schema`.

use clap::{Parser, Subcommand};

use crate::command::{diff, render, run, schema, status, validate};
use crate::report::Status;

/// The Strata GitOps agent: checks and renders a config repo of data-tier workloads
/// (VectorStore, RedisCluster, StreamCluster, Cluster and plain manifests).
#[derive(Debug, Parser)]
#[command(
    name = "strata-agent",
    version,
    after_help = "Exit status: 0 success, 1 the config repo has errors, 2 usage or I/O problems.\n\
                  Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=debug) for more than warnings."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every document of a config repo, then render it for every cluster
    Validate(validate::Args),
    /// Print (or write to a directory) the Kubernetes objects for one cluster
    Render(render::Args),
    /// Write the JSON Schemas of the document kinds, for editors
    Schema(schema::Args),
    /// Keep a cluster converged to the config repo, and serve its status
    Run(run::Args),
    /// Show what applying the config repo to a cluster would change
    Diff(diff::Args),
    /// Show a running agent's status: revisions, last pass, workloads, last error
    Status(status::Args),
}

impl Command {
    /// The log level when `RUST_LOG` is unset.
    pub fn default_log_level(&self) -> tracing_subscriber::filter::LevelFilter {
        match self {
            Command::Run(_) => tracing_subscriber::filter::LevelFilter::INFO,
            _ => tracing_subscriber::filter::LevelFilter::WARN,
        }
    }

    /// Runs the command. `Err` is a usage or I/O problem (exit status 2).
    pub fn run(self) -> anyhow::Result<Status> {
        match self {
            Command::Validate(args) => validate::run(&args),
            Command::Render(args) => render::run(&args),
            Command::Schema(args) => schema::run(&args),
            Command::Run(args) => run::run(&args),
            Command::Diff(args) => diff::run(&args),
            Command::Status(args) => status::run(&args),
        }
    }
}
