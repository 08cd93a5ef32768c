//! A Kubernetes API stand-in for tests (see README.md in this directory): the REST API on
//! loopback, with the semantics product code relies on — resourceVersion, generation,
//! 404/409/422 Status errors, server-side apply with field ownership, dry-run,
//! defaulting, validation, discovery and CRDs.

mod api;
mod controllers;
mod defaults;
mod discovery;
mod eks_token;
mod error;
mod fieldset;
mod kinds;
mod managed;
mod patch;
mod quantity;
mod route;
mod schema;
mod selector;
mod server;
mod store;
mod structure;
mod tls;
mod validate;
mod write;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use serde_json::{Value, json};

use crate::managed::Part;
use crate::route::Route;
use crate::server::App;

/// What the stand-in simulates besides the API itself.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Run simulated StatefulSet/Deployment controllers: create PVCs from
    /// volumeClaimTemplates and report rollouts complete in `status`.
    pub controllers: bool,
    /// Require this bearer token (401 otherwise); `None` accepts any or none.
    pub token: Option<String>,
    /// Serve HTTPS with a CA generated at start ([`StandIn::ca_pem`]).
    pub tls: bool,
    /// Accept only well-formed EKS tokens (`k8s-aws-v1.…`, a presigned STS
    /// `GetCallerIdentity` URL); checks the form only, never calls STS. Takes precedence
    /// over `token`.
    pub eks_tokens: bool,
}

/// A running stand-in on 127.0.0.1; dropping it stops the server.
pub struct StandIn {
    addr: SocketAddr,
    token: String,
    ca_pem: Option<String>,
    app: Arc<App>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// The namespaces every cluster starts with.
const INITIAL_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

fn initial_state(options: &Options) -> write::State {
    let mut state = write::State {
        controllers: options.controllers,
        ..Default::default()
    };
    let rt = state
        .store
        .registry
        .find("", "v1", "namespaces")
        .cloned()
        .expect("namespaces are built in");
    for name in INITIAL_NAMESPACES {
        let w = write::Write {
            rt: &rt,
            part: Part::Main,
            manager: "kube-apiserver",
            dry_run: false,
        };
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        write::write(&mut state, &w, None, write::Change::Replace(ns))
            .expect("initial namespaces are valid");
    }
    state
}

impl StandIn {
    /// Starts on a free loopback port, on its own thread and runtime; returns once it
    /// accepts connections.
    pub fn start(options: Options) -> std::io::Result<StandIn> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), options)
    }

    /// Starts on the given address (port 0 picks a free one).
    pub fn start_on(addr: SocketAddr, options: Options) -> std::io::Result<StandIn> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let auth = match (&options.token, options.eks_tokens) {
            (_, true) => server::Auth::Eks,
            (Some(token), false) => server::Auth::Token(token.clone()),
            (None, false) => server::Auth::Any,
        };
        let tls = if options.tls {
            Some(tls::generate().map_err(std::io::Error::other)?)
        } else {
            None
        };
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let app = Arc::new(App::new(initial_state(&options), auth));
        let router = server::router(app.clone());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        // The socket listens from `bind` on, so connections made before the runtime
        // polls it wait in the backlog: the server accepts connections once this returns.
        let thread = std::thread::Builder::new()
            .name("kube-standin".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let serve = async {
                        let listener = match tokio::net::TcpListener::from_std(listener) {
                            Ok(listener) => listener,
                            Err(error) => {
                                tracing::error!(%error, "kube-standin listener failed");
                                return;
                            }
                        };
                        let served = match tls {
                            Some(tls) => match tls::TlsListener::new(listener, tls.config) {
                                Ok(listener) => axum::serve(listener, router).await,
                                Err(error) => Err(error),
                            },
                            None => axum::serve(listener, router).await,
                        };
                        if let Err(error) = served {
                            tracing::error!(%error, "kube-standin server failed");
                        }
                    };
                    tokio::select! {
                        () = serve => {}
                        _ = stopped => {}
                    }
                });
                // Open keep-alive connections must not hold the shutdown up.
                runtime.shutdown_background();
            })?;
        Ok(StandIn {
            addr,
            token: options.token.unwrap_or_else(|| "kube-standin".to_owned()),
            ca_pem,
            app,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, or `https://…` with TLS.
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// With TLS: the PEM certificate of the CA that signed the server's certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// With `eks_tokens`: the presigned STS URL of every distinct EKS token accepted so
    /// far, in order.
    pub fn eks_token_urls(&self) -> Vec<String> {
        self.app
            .eks_urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A kubeconfig (YAML) whose current context points at this server (and, with TLS,
    /// trusts its CA). With `eks_tokens` its static token is refused: clients need an
    /// EKS token.
    pub fn kubeconfig(&self) -> String {
        use base64::Engine as _;
        let ca = match &self.ca_pem {
            Some(pem) => format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(pem)
            ),
            None => String::new(),
        };
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: kube-standin
  cluster:
    server: {url}{ca}
users:
- name: kube-standin
  user:
    token: {token}
contexts:
- name: kube-standin
  context:
    cluster: kube-standin
    user: kube-standin
    namespace: default
current-context: kube-standin
preferences: {{}}
",
            url = self.url(),
            token = self.token,
        )
    }

    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig())
    }

    /// Requests that changed stored state (successful, not dry-run writes; a write that
    /// changed nothing does not count, nor do the simulated controllers' writes).
    pub fn writes(&self) -> u64 {
        self.app.writes.load(Ordering::SeqCst)
    }

    /// All requests served.
    pub fn requests(&self) -> u64 {
        self.app.requests.load(Ordering::SeqCst)
    }

    /// `METHOD path?query` of every request served so far, in order.
    pub fn request_log(&self) -> Vec<String> {
        self.app
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The stored object at an API path, e.g.
    /// `/apis/apps/v1/namespaces/data/statefulsets/redis`; `None` when absent.
    pub fn get(&self, path: &str) -> Option<serde_json::Value> {
        let Route::Object(p) = route::parse(path) else {
            return None;
        };
        let state = self.app.state();
        let rt = state.store.registry.find(&p.group, &p.version, &p.plural)?;
        state
            .store
            .get(
                rt,
                p.namespace.as_deref().unwrap_or_default(),
                p.name.as_deref()?,
            )
            .cloned()
    }

    /// The stored objects at a collection path, e.g. `/api/v1/namespaces/data/persistentvolumeclaims`
    /// or `/api/v1/persistentvolumeclaims` for all namespaces; empty when the kind is not served.
    pub fn list(&self, path: &str) -> Vec<Value> {
        let Route::Object(p) = route::parse(path) else {
            return Vec::new();
        };
        let state = self.app.state();
        let Some(rt) = state.store.registry.find(&p.group, &p.version, &p.plural) else {
            return Vec::new();
        };
        state
            .store
            .list(rt, p.namespace.as_deref())
            .into_iter()
            .cloned()
            .collect()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
