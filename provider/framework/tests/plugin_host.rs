//! Process-level tests of the go-plugin host: the `strata-plugin-echo` fixture
//! (tests/fixtures/echo_plugin.rs) is launched the way Terraform launches a
//! provider, and driven through a gRPC client that does what Terraform's Go
//! client does: P-521 self-signed CA:TRUE client certificate, the server
//! certificate from the handshake line as the only root for `localhost`, ALPN
//! `h2`, then `GRPCController.Shutdown`.

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use strata_framework::plugin_host::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use strata_proto::plugin::Empty;
use strata_proto::plugin::grpc_controller_client::GrpcControllerClient;
use strata_proto::plugin::grpc_stdio_client::GrpcStdioClient;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const PLUGIN: &str = env!("CARGO_BIN_EXE_strata-plugin-echo");

/// Generous: the first launch may wait on a cold disk cache in CI.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// A client identity like the one Terraform generates for every run.
struct ClientIdentity {
    cert: CertificateDer<'static>,
    pem: String,
    key: Vec<u8>,
}

impl ClientIdentity {
    fn terraform_like() -> Self {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let cert = params.self_signed(&key).unwrap();
        Self {
            cert: cert.der().clone(),
            pem: cert.pem(),
            key: key.serialize_der(),
        }
    }
}

/// What the plugin printed on stdout.
struct Handshake {
    addr: SocketAddr,
    server_cert: Option<CertificateDer<'static>>,
}

/// A running plugin process; killed on drop if a test fails half-way.
struct Plugin {
    child: Child,
    handshake: Handshake,
    stderr: Arc<Mutex<String>>,
    /// Finish once the plugin's pipes close: stderr fully captured, and
    /// whatever followed the handshake line on stdout.
    stderr_done: Option<JoinHandle<()>>,
    stdout_rest: Option<JoinHandle<String>>,
}

impl Plugin {
    /// Launches the fixture as Terraform would, with `client_cert` as
    /// `PLUGIN_CLIENT_CERT` (or plaintext without it), and reads the handshake.
    async fn launch(client_cert: Option<&ClientIdentity>) -> Self {
        let mut command = terraform_env(Command::new(PLUGIN));
        if let Some(identity) = client_cert {
            command.env("PLUGIN_CLIENT_CERT", &identity.pem);
        }
        let mut child = command.spawn().unwrap();
        let (stderr, stderr_done) = capture_stderr(&mut child);

        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let read = tokio::time::timeout(HANDSHAKE_TIMEOUT, stdout.read_line(&mut line)).await;
        assert!(
            matches!(read, Ok(Ok(n)) if n > 0),
            "no handshake line ({read:?}); stderr:\n{}",
            stderr.lock().unwrap()
        );
        let handshake = parse_handshake(&line);
        assert_eq!(
            handshake.server_cert.is_some(),
            client_cert.is_some(),
            "{line}"
        );
        // Anything after the handshake would be discarded by Terraform: keep
        // reading so a stray write cannot block the plugin, and check it at exit.
        let stdout_rest = tokio::spawn(async move {
            let mut rest = String::new();
            let _ = stdout.read_to_string(&mut rest).await;
            rest
        });
        Self {
            child,
            handshake,
            stderr,
            stderr_done: Some(stderr_done),
            stdout_rest: Some(stdout_rest),
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn pid(&self) -> i32 {
        self.child.id().unwrap() as i32
    }

    /// Waits for the process to exit, then for its pipes to close (Terraform
    /// waits for both), and checks nothing followed the handshake on stdout.
    async fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        let status = match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => panic!(
                "plugin still running after {limit:?}; stderr:\n{}",
                self.stderr()
            ),
        };
        let pipes_closed = Duration::from_secs(2);
        if let Some(done) = self.stderr_done.take() {
            tokio::time::timeout(pipes_closed, done)
                .await
                .unwrap()
                .unwrap();
        }
        if let Some(rest) = self.stdout_rest.take() {
            let rest = tokio::time::timeout(pipes_closed, rest)
                .await
                .unwrap()
                .unwrap();
            assert!(
                rest.is_empty(),
                "plugin wrote to stdout after the handshake: {rest:?}"
            );
        }
        status
    }
}

/// The environment Terraform gives a provider, minus the client certificate.
fn terraform_env(mut command: Command) -> Command {
    for var in [
        "PLUGIN_CLIENT_CERT",
        "PLUGIN_PROTOCOL_VERSIONS",
        "PLUGIN_MIN_PORT",
        "PLUGIN_MAX_PORT",
        "TF_LOG",
        "TF_LOG_PROVIDER",
    ] {
        command.env_remove(var);
    }
    command
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("TF_LOG", "DEBUG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

fn capture_stderr(child: &mut Child) -> (Arc<Mutex<String>>, JoinHandle<()>) {
    let buffer = Arc::new(Mutex::new(String::new()));
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let sink = Arc::clone(&buffer);
    let done = tokio::spawn(async move {
        let mut line = String::new();
        while matches!(stderr.read_line(&mut line).await, Ok(n) if n > 0) {
            sink.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    (buffer, done)
}

/// Checks the line field by field, as go-plugin's client does.
fn parse_handshake(line: &str) -> Handshake {
    let line = line
        .strip_suffix('\n')
        .expect("handshake line ends with a newline");
    let parts: Vec<&str> = line.split('|').collect();
    assert_eq!(parts.len(), 6, "{line}");
    assert_eq!(&parts[..3], ["1", "6", "tcp"], "{line}");
    assert_eq!(parts[4], "grpc", "{line}");
    let addr: SocketAddr = parts[3].parse().unwrap();
    assert!(addr.ip().is_loopback(), "{line}");
    assert!((10000..=25000).contains(&addr.port()), "{line}");
    assert!(!parts[5].contains('='), "padded base64: {line}");
    let server_cert = (!parts[5].is_empty())
        .then(|| CertificateDer::from(STANDARD_NO_PAD.decode(parts[5]).unwrap()));
    Handshake { addr, server_cert }
}

/// A channel like Terraform's: TLS 1.2+ on aws-lc-rs, the handshake's
/// certificate as the only root, server name `localhost`, ALPN h2, and
/// `identity` (if any) as the client certificate.
async fn tls_channel(
    handshake: &Handshake,
    identity: Option<&ClientIdentity>,
) -> Result<Channel, tonic::transport::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(handshake.server_cert.clone().expect("plugin serves TLS"))
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(identity) => builder
            .with_client_auth_cert(
                vec![identity.cert.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key.clone())),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = TlsConnector::from(Arc::new(config));
    let addr = handshake.addr;

    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let connector = connector.clone();
            async move {
                let tcp = TcpStream::connect(addr).await?;
                let tls = connector
                    .connect(ServerName::try_from("localhost").unwrap(), tcp)
                    .await?;
                assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        }))
        .await
}

#[tokio::test]
async fn without_magic_cookie_explains_and_exits_1() {
    let output = terraform_env(Command::new(PLUGIN))
        .env_remove(MAGIC_COOKIE_KEY)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "stdout: {:?}", output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not meant to be run directly"), "{stderr}");
    assert!(stderr.contains("terraform"), "{stderr}");
}

#[tokio::test]
async fn wrong_magic_cookie_exits_1() {
    let output = terraform_env(Command::new(PLUGIN))
        .env(MAGIC_COOKIE_KEY, "not-the-cookie")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn protocol_without_6_is_refused() {
    let output = terraform_env(Command::new(PLUGIN))
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("only version 6"), "{stderr}");
}

#[tokio::test]
async fn mtls_shutdown_exits_promptly() {
    let identity = ClientIdentity::terraform_like();
    let mut plugin = Plugin::launch(Some(&identity)).await;
    let channel = tls_channel(&plugin.handshake, Some(&identity))
        .await
        .unwrap();

    // Terraform opens the stdio stream first and keeps it open; it must not
    // hold up the exit.
    let mut stdio = GrpcStdioClient::new(channel.clone())
        .stream_stdio(())
        .await
        .unwrap()
        .into_inner();

    let mut health = HealthClient::new(channel.clone());
    let status = health
        .check(HealthCheckRequest {
            service: "plugin".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);

    let started = Instant::now();
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .unwrap();
    let status = plugin.exit_within(Duration::from_secs(5)).await;
    let elapsed = started.elapsed();
    assert!(status.success(), "{status}; stderr:\n{}", plugin.stderr());
    assert!(
        elapsed < Duration::from_millis(1500),
        "exit took {elapsed:?}; stderr:\n{}",
        plugin.stderr()
    );

    // The stdio stream ended cleanly (or with the connection) instead of hanging.
    let end = tokio::time::timeout(Duration::from_secs(1), stdio.message()).await;
    assert!(matches!(end, Ok(Ok(None)) | Ok(Err(_))), "{end:?}");
}

#[tokio::test]
async fn other_client_certificates_are_refused() {
    let terraform = ClientIdentity::terraform_like();
    let intruder = ClientIdentity::terraform_like();
    let mut plugin = Plugin::launch(Some(&terraform)).await;

    for identity in [Some(&intruder), None] {
        let attempt = async {
            let channel = tls_channel(&plugin.handshake, identity).await?;
            GrpcControllerClient::new(channel)
                .shutdown(Empty {})
                .await
                .map_err(|status| Box::new(status) as Box<dyn std::error::Error>)?;
            Ok::<_, Box<dyn std::error::Error>>(())
        };
        let result = tokio::time::timeout(Duration::from_secs(10), attempt).await;
        assert!(
            matches!(result, Ok(Err(_))),
            "a client with {} certificate got through: {result:?}",
            if identity.is_some() { "another" } else { "no" }
        );
    }

    // The refused handshakes did not stop the server.
    assert!(
        plugin.child.try_wait().unwrap().is_none(),
        "{}",
        plugin.stderr()
    );
    let channel = tls_channel(&plugin.handshake, Some(&terraform))
        .await
        .unwrap();
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .unwrap();
    assert!(plugin.exit_within(Duration::from_secs(5)).await.success());
}

#[tokio::test]
async fn sigint_is_ignored() {
    let identity = ClientIdentity::terraform_like();
    let mut plugin = Plugin::launch(Some(&identity)).await;

    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    let sent = unsafe { libc::kill(plugin.pid(), libc::SIGINT) };
    assert_eq!(sent, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        plugin.child.try_wait().unwrap().is_none(),
        "SIGINT stopped the plugin; stderr:\n{}",
        plugin.stderr()
    );

    let channel = tls_channel(&plugin.handshake, Some(&identity))
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    health
        .check(HealthCheckRequest {
            service: "plugin".to_owned(),
        })
        .await
        .unwrap();
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .unwrap();
    assert!(plugin.exit_within(Duration::from_secs(5)).await.success());
}

#[tokio::test]
async fn sigterm_exits_gracefully() {
    let identity = ClientIdentity::terraform_like();
    let mut plugin = Plugin::launch(Some(&identity)).await;

    // SAFETY: as above.
    let sent = unsafe { libc::kill(plugin.pid(), libc::SIGTERM) };
    assert_eq!(sent, 0);
    let status = plugin.exit_within(Duration::from_secs(2)).await;
    assert!(status.success(), "{status}; stderr:\n{}", plugin.stderr());
}

#[tokio::test]
async fn plaintext_without_client_cert() {
    let mut plugin = Plugin::launch(None).await;
    let channel = Endpoint::from_shared(format!("http://{}", plugin.handshake.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    let status = health
        .check(HealthCheckRequest {
            service: "plugin".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .unwrap();
    assert!(plugin.exit_within(Duration::from_secs(5)).await.success());
}

#[tokio::test]
async fn logs_are_hclog_json_on_stderr() {
    let identity = ClientIdentity::terraform_like();
    let mut plugin = Plugin::launch(Some(&identity)).await;
    let channel = tls_channel(&plugin.handshake, Some(&identity))
        .await
        .unwrap();
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .unwrap();
    plugin.exit_within(Duration::from_secs(5)).await;

    let stderr = plugin.stderr();
    let mut lines = 0;
    for line in stderr.lines() {
        let entry: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(entry["@level"].is_string(), "{line}");
        assert!(entry["@message"].is_string(), "{line}");
        assert_eq!(entry["@module"], "provider.strata-plugin-echo", "{line}");
        let timestamp = entry["@timestamp"].as_str().unwrap();
        assert_eq!(
            timestamp.len(),
            "2006-01-02T15:04:05.000000+00:00".len(),
            "{line}"
        );
        lines += 1;
    }
    assert!(lines > 0, "TF_LOG=DEBUG should log something");
}
