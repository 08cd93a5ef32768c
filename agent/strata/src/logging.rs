//! Logs: tracing to stderr, filtered by `RUST_LOG` (default `warn`), without timestamps
//! (a terminal, or a log collector that adds its own). Stdout stays for the command's
//! output.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

pub fn init() {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::WARN.into())
        .from_env_lossy();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
