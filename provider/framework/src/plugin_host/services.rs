//! go-plugin's own gRPC services, served next to the provider: the controller
//! (Terraform's `Shutdown`), stdio forwarding and the health check; plus the
//! [`Shutdown`] signal they share with `serve`.

use std::time::Duration;

use strata_proto::plugin::grpc_controller_server::{GrpcController, GrpcControllerServer};
use strata_proto::plugin::grpc_stdio_server::{GrpcStdio, GrpcStdioServer};
use strata_proto::plugin::{self, StdioData};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::codegen::BoxStream;
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tonic_health::ServingStatus;

/// The service name go-plugin's health check asks about.
const HEALTH_SERVICE_NAME: &str = "plugin";

/// A one-way "shut down now" flag, shared by the controller, the signal
/// handler, open stdio streams and the server.
#[derive(Clone, Debug)]
pub(super) struct Shutdown {
    flag: watch::Sender<bool>,
    force_exit_after: Option<Duration>,
}

impl Shutdown {
    pub(super) fn new(force_exit_after: Option<Duration>) -> Self {
        Self {
            flag: watch::Sender::new(false),
            force_exit_after,
        }
    }

    /// Requests shutdown; later calls do nothing. Arms the exit backstop on a
    /// plain OS thread, so it fires even if every runtime worker is stuck.
    pub(super) fn trigger(&self, reason: &'static str) {
        let first = self
            .flag
            .send_if_modified(|stopping| !std::mem::replace(stopping, true));
        if !first {
            return;
        }
        tracing::debug!(reason, "plugin shutdown requested");
        if let Some(delay) = self.force_exit_after {
            let spawned = std::thread::Builder::new()
                .name("plugin-exit-backstop".to_owned())
                .spawn(move || {
                    std::thread::sleep(delay);
                    tracing::warn!(
                        ?delay,
                        "still running after shutdown was requested; exiting"
                    );
                    std::process::exit(0);
                });
            if let Err(error) = spawned {
                tracing::warn!(%error, "could not start the exit backstop thread");
            }
        }
    }

    /// Completes once shutdown has been requested (at once if it already was).
    pub(super) fn requested(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut flag = self.flag.subscribe();
        async move {
            // Err only if the sender is gone, which also means "stop".
            let _ = flag.wait_for(|stopping| *stopping).await;
        }
    }
}

/// Adds go-plugin's services to the caller's routes.
pub(super) async fn add_plugin_services(routes: Routes, shutdown: &Shutdown) -> Routes {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status(HEALTH_SERVICE_NAME, ServingStatus::Serving)
        .await;
    routes
        .add_service(GrpcControllerServer::new(Controller {
            shutdown: shutdown.clone(),
        }))
        .add_service(GrpcStdioServer::new(Stdio {
            shutdown: shutdown.clone(),
        }))
        .add_service(health_service)
}

/// `plugin.GRPCController`: Terraform calls `Shutdown` when it is done with us.
#[derive(Debug)]
pub(super) struct Controller {
    pub(super) shutdown: Shutdown,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(
        &self,
        _request: Request<plugin::Empty>,
    ) -> Result<Response<plugin::Empty>, Status> {
        // Only flag it: the server drains gracefully, so this response is still
        // delivered before the connection closes.
        self.shutdown.trigger("GRPCController.Shutdown");
        Ok(Response::new(plugin::Empty {}))
    }
}

/// `plugin.GRPCStdio`: we never write to stdout/stderr through it (logs go to
/// stderr directly, which Terraform reads), so the stream stays idle and ends
/// on shutdown; an open stream would otherwise hold the connection and delay
/// the exit Terraform is waiting for.
#[derive(Debug)]
pub(super) struct Stdio {
    pub(super) shutdown: Shutdown,
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<BoxStream<StdioData>>, Status> {
        let (tx, rx) = mpsc::channel(1);
        let stop = self.shutdown.requested();
        tokio::spawn(async move {
            // Holding `tx` keeps the stream open; dropping it ends the stream.
            tokio::select! {
                () = stop => {}
                () = tx.closed() => {}
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio_stream::StreamExt;

    use super::*;

    #[tokio::test]
    async fn shutdown_is_one_way_and_seen_by_late_waiters() {
        let shutdown = Shutdown::new(None);
        let early = tokio::spawn(shutdown.requested());
        shutdown.trigger("test");
        shutdown.trigger("again");
        early.await.unwrap();
        // Already requested: completes at once.
        tokio::time::timeout(Duration::from_secs(1), shutdown.requested())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn controller_shutdown_flags_the_server() {
        let shutdown = Shutdown::new(None);
        let controller = Controller {
            shutdown: shutdown.clone(),
        };
        controller
            .shutdown(Request::new(plugin::Empty {}))
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(1), shutdown.requested())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn stdio_stream_is_silent_and_ends_on_shutdown() {
        let shutdown = Shutdown::new(None);
        let stdio = Stdio {
            shutdown: shutdown.clone(),
        };
        let mut stream = stdio
            .stream_stdio(Request::new(()))
            .await
            .unwrap()
            .into_inner();

        // Nothing is sent while running.
        let idle = tokio::time::timeout(Duration::from_millis(50), stream.next()).await;
        assert!(idle.is_err(), "stream yielded {idle:?}");

        shutdown.trigger("test");
        let end = tokio::time::timeout(Duration::from_secs(1), stream.next())
            .await
            .unwrap();
        assert!(end.is_none());
    }
}
