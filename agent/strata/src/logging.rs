//! Logs: tracing to stderr, filtered by `RUST_LOG` (default `warn`), without timestamps
//! (a terminal, or a log collector that adds its own). Stdout stays for the command's
//! output.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// `default` applies when `RUST_LOG` is unset: `warn` for one-shot commands, `info` for
/// the agent's loop, whose log is its history.
pub fn init(default: LevelFilter) {
    let filter = EnvFilter::builder()
        .with_default_directive(default.into())
        .from_env_lossy();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
