//! `strata-agent`: the Strata GitOps agent's command line.
//!
//! `validate` and `render` read a config repo (a directory or a git remote) and run it
//! through `strata-agent-core`; `schema` publishes the document format for editors.
//! Exit codes: 0 success, 1 the config repo has errors, 2 usage or I/O problems.

mod cli;
mod command;
mod input;
mod logging;
mod reconcile;
mod report;
mod serve;
mod status;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    logging::init(cli.command.default_log_level());
    match cli.command.run() {
        Ok(status) => status.exit_code(),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(report::USAGE_OR_IO)
        }
    }
}
