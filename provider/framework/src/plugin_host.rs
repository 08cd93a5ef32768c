//! The go-plugin host: everything between "Terraform executed this binary" and
//! "the `tfplugin6.Provider` service answers RPCs".
//!
//! Terraform launches a provider the way hashicorp/go-plugin does: it runs the
//! binary with a magic cookie and a few `PLUGIN_*` variables in the environment,
//! reads one handshake line from its stdout, connects over gRPC (mutual TLS
//! unless disabled) and, when done, calls `GRPCController.Shutdown` and gives the
//! process two seconds to exit. [`serve`] implements the plugin side of that
//! contract around the caller's [`Routes`]; [`init_logging`] makes `tracing`
//! output readable by Terraform's log pipeline. A provider's `main` is:
//!
//! ```no_run
//! # async fn provider_routes() -> tonic::service::Routes { tonic::service::Routes::default() }
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use strata_framework::plugin_host::{init_logging, serve, ServeConfig};
//!
//! init_logging("provider.terraform-provider-strata");
//! serve(provider_routes().await, ServeConfig::from_env()?).await?;
//! # Ok(()) }
//! ```
//!
//! Where to look: `handshake` (cookie, protocol negotiation, port, the stdout
//! line), `tls` (AutoMTLS: our certificate and the pinned client certificate),
//! `services` (controller, stdio, health), `signals`, `logging`.

mod handshake;
mod logging;
mod services;
mod signals;
mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::service::Routes;
use tonic::transport::Server;

pub use handshake::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, PROTOCOL_VERSION};
pub use logging::init_logging;

use services::Shutdown;

/// Largest gRPC message accepted or sent, both ways: 256 MiB.
///
/// Terraform sends whole plans and states without a size limit, and tonic's
/// default 4 MiB decode limit is far too small for them. The caller must apply
/// it to the provider service it builds, e.g.
/// `ProviderServer::new(p).max_decoding_message_size(MAX_MESSAGE_SIZE).max_encoding_message_size(MAX_MESSAGE_SIZE)`.
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;

/// How long a TLS handshake may take before the connection is dropped, so a
/// stalled local client cannot pin a task forever.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Options for [`serve`].
///
/// `Default` reads nothing: no cookie, no client certificate, any port. Use
/// [`ServeConfig::from_env`] to take the values Terraform puts in the
/// environment.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Value of `TF_PLUGIN_MAGIC_COOKIE`; [`serve`] refuses to run unless it is
    /// [`MAGIC_COOKIE_VALUE`].
    pub magic_cookie: Option<String>,
    /// Value of `PLUGIN_PROTOCOL_VERSIONS`: a comma-separated set of the
    /// protocol versions the client speaks. `None` means a client too old to
    /// send it; we then answer version 6 as go-plugin would.
    pub protocol_versions: Option<String>,
    /// Lowest TCP port we may listen on (`PLUGIN_MIN_PORT`).
    pub min_port: Option<u16>,
    /// Highest TCP port we may listen on (`PLUGIN_MAX_PORT`).
    pub max_port: Option<u16>,
    /// Terraform's client certificate, PEM (`PLUGIN_CLIENT_CERT`). When set we
    /// serve mutual TLS and accept only this certificate; when `None`
    /// (`TF_DISABLE_PLUGIN_TLS`, debug reattach) we serve plaintext HTTP/2.
    pub client_cert_pem: Option<String>,
    /// After a shutdown request, how long open connections may drain before
    /// [`serve`] returns anyway.
    pub shutdown_grace: Duration,
    /// After a shutdown request, exit the process (status 0) if it is still
    /// alive this much later. Terraform kills a plugin that has not exited two
    /// seconds after `Shutdown`; returning from `main` can stall on blocking
    /// work the runtime waits for, so this is the backstop that keeps us under
    /// that limit. `None` disables it (for in-process tests).
    pub force_exit_after_shutdown: Option<Duration>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            magic_cookie: None,
            protocol_versions: None,
            min_port: None,
            max_port: None,
            client_cert_pem: None,
            shutdown_grace: Duration::from_millis(500),
            force_exit_after_shutdown: Some(Duration::from_millis(1200)),
        }
    }
}

impl ServeConfig {
    /// Reads the go-plugin environment: `TF_PLUGIN_MAGIC_COOKIE`,
    /// `PLUGIN_PROTOCOL_VERSIONS`, `PLUGIN_MIN_PORT`, `PLUGIN_MAX_PORT` and
    /// `PLUGIN_CLIENT_CERT`. Empty values count as unset, as in go-plugin.
    ///
    /// Fails only when a variable is present but unusable (not UTF-8, or a
    /// port that is not a number), so that a broken launch is reported rather
    /// than silently served differently.
    pub fn from_env() -> Result<Self, ServeError> {
        Ok(Self {
            magic_cookie: env_var(MAGIC_COOKIE_KEY)?,
            protocol_versions: env_var("PLUGIN_PROTOCOL_VERSIONS")?,
            min_port: env_port("PLUGIN_MIN_PORT")?,
            max_port: env_port("PLUGIN_MAX_PORT")?,
            client_cert_pem: env_var("PLUGIN_CLIENT_CERT")?,
            ..Self::default()
        })
    }
}

fn env_var(name: &'static str) -> Result<Option<String>, ServeError> {
    match std::env::var(name) {
        Ok(value) if value.is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ServeError::InvalidEnv {
            name,
            reason: "not valid UTF-8".to_owned(),
        }),
    }
}

fn env_port(name: &'static str) -> Result<Option<u16>, ServeError> {
    env_var(name)?
        .map(|value| {
            value.trim().parse().map_err(|e| ServeError::InvalidEnv {
                name,
                reason: format!("{value:?} is not a port number: {e}"),
            })
        })
        .transpose()
}

/// Why [`serve`] stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The magic cookie was missing or wrong: a person ran the binary by hand.
    /// An explanation has already been printed on stderr; exit with status 1.
    #[error("not launched by terraform: the plugin magic cookie is missing or wrong")]
    NotLaunchedByTerraform,
    /// The client offered protocol versions that do not include 6.
    #[error(
        "terraform offered plugin protocol versions {offered:?}, but this provider speaks only version 6"
    )]
    UnsupportedProtocol {
        /// The raw `PLUGIN_PROTOCOL_VERSIONS` value.
        offered: String,
    },
    /// A go-plugin environment variable is present but unusable.
    #[error("invalid {name}: {reason}")]
    InvalidEnv {
        /// The variable's name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `PLUGIN_CLIENT_CERT` holds no certificate we can parse.
    #[error("PLUGIN_CLIENT_CERT holds no usable PEM certificate")]
    InvalidClientCert(#[source] Option<rustls::pki_types::pem::Error>),
    /// Generating our self-signed server certificate failed.
    #[error("failed to generate the server certificate")]
    Certificate(#[source] rcgen::Error),
    /// rustls rejected our TLS configuration.
    #[error("failed to configure tls")]
    Tls(#[source] rustls::Error),
    /// No port in the allowed range could be bound on 127.0.0.1.
    #[error("failed to listen on 127.0.0.1 ports {min}..={max}")]
    Bind {
        /// Lowest port tried.
        min: u16,
        /// Highest port tried.
        max: u16,
        /// The error from the last port tried.
        #[source]
        source: io::Error,
    },
    /// Writing the handshake line to stdout failed.
    #[error("failed to write the handshake line to stdout")]
    Handshake(#[source] io::Error),
    /// Installing the SIGINT/SIGTERM handlers failed.
    #[error("failed to install signal handlers")]
    Signal(#[source] io::Error),
    /// The gRPC server stopped with an error.
    #[error("grpc server failed")]
    Serve(#[source] tonic::transport::Error),
}

/// Runs the go-plugin protocol around `routes`, which must hold the
/// `tfplugin6.Provider` service (built with [`MAX_MESSAGE_SIZE`] both ways).
///
/// In order: checks the magic cookie (a person running the binary by hand gets
/// an explanation on stderr and [`ServeError::NotLaunchedByTerraform`]; exit with
/// status 1), negotiates protocol 6, ignores SIGINT (Terraform cancels with
/// `StopProvider`; Ctrl-C reaches the whole process group) and turns SIGTERM
/// into a graceful exit, listens on 127.0.0.1 within the allowed port range,
/// serves mutual TLS when `PLUGIN_CLIENT_CERT` is set (plaintext HTTP/2
/// otherwise), prints the handshake line on stdout, and serves the caller's
/// routes plus `plugin.GRPCController`, `plugin.GRPCStdio` and
/// `grpc.health.v1.Health`.
///
/// Returns `Ok(())` once Terraform has called `GRPCController.Shutdown` (or
/// SIGTERM arrived) and connections drained or [`ServeConfig::shutdown_grace`]
/// passed; `main` should then return promptly. Nothing else may write to
/// stdout: Terraform reads the handshake from it and discards the rest.
pub async fn serve(routes: Routes, config: ServeConfig) -> Result<(), ServeError> {
    if !handshake::cookie_matches(config.magic_cookie.as_deref()) {
        eprintln!("{}", handshake::NOT_A_PLUGIN_EXPLANATION);
        return Err(ServeError::NotLaunchedByTerraform);
    }
    let version = handshake::negotiate_protocol(config.protocol_versions.as_deref())?;

    let shutdown = Shutdown::new(config.force_exit_after_shutdown);
    signals::install(shutdown.clone())?;

    let tls = config
        .client_cert_pem
        .as_deref()
        .map(tls::ServerTls::new)
        .transpose()?;

    let listener = handshake::bind_listener(config.min_port, config.max_port).await?;
    let addr = listener.local_addr().map_err(ServeError::Handshake)?;

    let routes = services::add_plugin_services(routes, &shutdown).await;
    let router = Server::builder().add_routes(routes);
    let stop = shutdown.requested();
    let server: Pin<Box<dyn Future<Output = Result<(), tonic::transport::Error>> + Send>> =
        match &tls {
            Some(tls) => {
                let acceptor = tls.acceptor();
                let incoming = accept_loop(listener, move |tcp| {
                    let acceptor = acceptor.clone();
                    async move {
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
                            .await
                            .unwrap_or_else(|_| {
                                Err(io::Error::new(io::ErrorKind::TimedOut, "tls handshake"))
                            })
                    }
                });
                Box::pin(router.serve_with_incoming_shutdown(incoming, stop))
            }
            None => {
                let incoming = accept_loop(listener, |tcp| async move { Ok(tcp) });
                Box::pin(router.serve_with_incoming_shutdown(incoming, stop))
            }
        };

    // The listener is bound and accepting (connections queue until the server
    // is polled), so Terraform may dial as soon as it reads this line.
    let line = handshake::handshake_line(version, addr, tls.as_ref().map(|t| t.cert_der()));
    handshake::announce(&line).map_err(ServeError::Handshake)?;
    tracing::info!(address = %addr, tls = tls.is_some(), "plugin server listening");

    run_until_stopped(server, &shutdown, config.shutdown_grace).await
}

/// Drives the server until it finishes on its own or, once shutdown has been
/// requested, until `grace` has passed; connections still open then are
/// dropped with the server future.
async fn run_until_stopped(
    server: impl Future<Output = Result<(), tonic::transport::Error>>,
    shutdown: &Shutdown,
    grace: Duration,
) -> Result<(), ServeError> {
    let drained_or_late = async {
        shutdown.requested().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result.map_err(ServeError::Serve),
        () = drained_or_late => {
            tracing::debug!(?grace, "connections still open after the shutdown grace; closing them");
            Ok(())
        }
    }
}

/// Accepts TCP connections and runs `handshake` on each one in its own task,
/// yielding the connections that complete it.
///
/// Handshakes run concurrently, so one slow or stalled client cannot hold up
/// Terraform's connection behind it. A failed handshake (wrong client
/// certificate, a port scanner, a timeout) only drops that connection, logged
/// at debug. The loop, and with it the listener, ends when tonic drops the
/// stream at shutdown.
fn accept_loop<IO, H, Fut>(
    listener: TcpListener,
    handshake: H,
) -> ReceiverStream<Result<IO, Infallible>>
where
    IO: Send + 'static,
    H: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<IO>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = tx.closed() => break,
                accepted = listener.accept() => accepted,
            };
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Typically EMFILE; back off briefly instead of spinning.
                    tracing::warn!(%error, "failed to accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // gRPC is request/response on small frames: Nagle only adds latency.
            let _ = tcp.set_nodelay(true);
            let connection = handshake(tcp);
            let tx = tx.clone();
            tokio::spawn(async move {
                match connection.await {
                    Ok(io) => {
                        let _ = tx.send(Ok(io)).await;
                    }
                    Err(error) => {
                        tracing::debug!(%peer, %error, "connection handshake failed; dropping it");
                    }
                }
            });
        }
    });
    ReceiverStream::new(rx)
}
