//! The agent's HTTP side, served next to the reconcile loop: liveness and readiness
//! probes, the `/status` document, Prometheus metrics and the push webhook that asks the
//! loop for a sync.

mod metrics;
mod redact;
mod routes;
mod state;
#[cfg(test)]
pub mod testing;
mod webhook;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use state::AgentState;
pub use webhook::WebhookSecret;

/// Serves until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AgentState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = routes::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
