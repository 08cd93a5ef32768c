//! Signal handling for a plugin process.
//!
//! * **SIGINT is ignored.** Ctrl-C in the terminal reaches every process in the
//!   foreground group, Terraform's providers included. Terraform handles it
//!   itself and cancels our work with the `StopProvider` RPC, then shuts us
//!   down; dying on the signal would instead lose in-flight state (e.g. an
//!   object created but not yet saved).
//! * **SIGTERM shuts down gracefully**, exactly like `GRPCController.Shutdown`.
//!
//! Once tokio registers a handler the default action (terminate) is gone for
//! the rest of the process, so keeping the SIGINT stream drained is enough.

use super::ServeError;
use super::services::Shutdown;

#[cfg(unix)]
pub(super) fn install(shutdown: Shutdown) -> Result<(), ServeError> {
    use tokio::signal::unix::{SignalKind, signal};

    let mut interrupt = signal(SignalKind::interrupt()).map_err(ServeError::Signal)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(ServeError::Signal)?;
    tokio::spawn(async move {
        while interrupt.recv().await.is_some() {
            tracing::debug!("ignoring SIGINT: Terraform cancels work with StopProvider");
        }
    });
    tokio::spawn(async move {
        if terminate.recv().await.is_some() {
            shutdown.trigger("SIGTERM");
        }
    });
    Ok(())
}

#[cfg(not(unix))]
pub(super) fn install(_shutdown: Shutdown) -> Result<(), ServeError> {
    // Ctrl-C on Windows: same reasoning as SIGINT above.
    tokio::spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            tracing::debug!("ignoring Ctrl-C: Terraform cancels work with StopProvider");
        }
    });
    Ok(())
}
