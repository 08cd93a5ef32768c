//! A Terraform stand-in for benchmarks: launches any go-plugin provider binary
//! the way Terraform 1.15 does and talks to it the way Terraform's Go client
//! does, so the figures are comparable between our provider and a Go peer.
//!
//! Same approach as `tests/plugin_host.rs` (P-521 self-signed CA:TRUE client
//! certificate, rustls on aws-lc-rs, ALPN `h2`), with two differences a Go
//! peer needs: the server certificate is pinned rather than verified by webpki
//! (see [`PinnedServerCert`]), and providers listening on a Unix socket, which
//! is what go-plugin does on Linux, are reached there.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use strata_framework::plugin_host::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use strata_proto::plugin::Empty;
use strata_proto::plugin::grpc_controller_client::GrpcControllerClient;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader};
use tokio::net::{TcpStream, UnixStream};
use tokio::process::{Child, ChildStdout, Command};
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longer than any healthy launch; only there so a broken binary fails the run
/// instead of hanging it.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// A client identity shaped like the one Terraform generates for every run
/// (go-plugin's `generateCert`).
pub struct ClientIdentity {
    cert: CertificateDer<'static>,
    pem: String,
    key: Vec<u8>,
}

impl ClientIdentity {
    pub fn terraform_like() -> Result<Self> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512)?;
        let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
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
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert: cert.der().clone(),
            pem: cert.pem(),
            key: key.serialize_der(),
        })
    }
}

/// Where the plugin listens, from the handshake line.
#[derive(Debug, Clone)]
pub enum PluginAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// The handshake line, checked field by field as go-plugin's client does.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The plugin protocol the provider chose (5 or 6).
    pub app_protocol: u32,
    pub addr: PluginAddr,
    pub server_cert: Option<CertificateDer<'static>>,
}

impl Handshake {
    pub fn parse(line: &str) -> Result<Self> {
        let line = line.trim_end_matches(['\r', '\n']);
        let parts: Vec<&str> = line.split('|').collect();
        let [core, app, network, addr, protocol, cert] = parts[..] else {
            return Err(format!("not a go-plugin handshake line: {line:?}").into());
        };
        if core != "1" || protocol != "grpc" {
            return Err(format!("not a go-plugin gRPC handshake line: {line:?}").into());
        }
        let addr = match network {
            "tcp" => PluginAddr::Tcp(addr.parse()?),
            "unix" => PluginAddr::Unix(PathBuf::from(addr)),
            other => return Err(format!("unknown network {other:?} in {line:?}").into()),
        };
        // go-plugin decodes with RawStdEncoding: padding would fail the launch.
        let server_cert = match cert {
            "" => None,
            b64 => Some(CertificateDer::from(STANDARD_NO_PAD.decode(b64)?)),
        };
        Ok(Self {
            app_protocol: app.parse()?,
            addr,
            server_cert,
        })
    }
}

/// A launched plugin process. Killed on drop, so an error half-way through a
/// run does not leave providers behind.
pub struct Plugin {
    child: Child,
    pub handshake: Handshake,
    /// Held open until the process ends: a Go program that writes to a closed
    /// stdout dies of SIGPIPE, which would distort the exit timings.
    _stdout: BufReader<ChildStdout>,
}

impl Plugin {
    /// Starts `binary` with the environment Terraform gives a provider and
    /// returns once the handshake line has been read, with the time that took.
    /// `client` set means AutoMTLS (what Terraform does), `None` plaintext.
    /// `tmp_dir` becomes the plugin's `TMPDIR`, where go-plugin creates its
    /// Unix socket: processes we kill cannot remove theirs, so the caller
    /// deletes the directory at the end.
    pub async fn launch(
        binary: &Path,
        client: Option<&ClientIdentity>,
        tmp_dir: &Path,
    ) -> Result<(Self, Duration)> {
        let mut command = Command::new(binary);
        // Terraform passes its own environment through; drop only what would
        // change the provider's behaviour between runs (log level, stray
        // go-plugin settings from the caller's shell).
        for var in [
            "PLUGIN_CLIENT_CERT",
            "TF_LOG",
            "TF_LOG_PROVIDER",
            "TF_LOG_SDK",
            "TF_LOG_SDK_PROTO",
            "TF_LOG_SDK_FRAMEWORK",
            "TF_REATTACH_PROVIDERS",
            "TF_DISABLE_PLUGIN_TLS",
            "PLUGIN_UNIX_SOCKET_DIR",
        ] {
            command.env_remove(var);
        }
        command
            .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            // What Terraform 1.15 sends; each provider picks its own version.
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .env("TMPDIR", tmp_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // Terraform reads stderr into its log; discarding it costs the
            // provider the same write(2) calls without a reader to keep up with.
            .stderr(Stdio::null())
            .kill_on_drop(true);
        if let Some(identity) = client {
            command.env("PLUGIN_CLIENT_CERT", &identity.pem);
        }

        let started = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout pipe")?);
        let mut line = String::new();
        let read = tokio::time::timeout(STEP_TIMEOUT, stdout.read_line(&mut line)).await;
        let elapsed = started.elapsed();
        match read {
            Ok(Ok(n)) if n > 0 && line.ends_with('\n') => {}
            Ok(Ok(_)) => {
                let status = child.wait().await?;
                return Err(format!(
                    "{} exited ({status}) before its handshake",
                    binary.display()
                )
                .into());
            }
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => {
                return Err(
                    format!("{}: no handshake within {STEP_TIMEOUT:?}", binary.display()).into(),
                );
            }
        }
        let handshake = Handshake::parse(&line)?;
        if handshake.server_cert.is_some() != client.is_some() {
            return Err(format!("TLS expected: {}, handshake: {line:?}", client.is_some()).into());
        }
        Ok((
            Self {
                child,
                handshake,
                _stdout: stdout,
            },
            elapsed,
        ))
    }

    pub fn pid(&self) -> Result<u32> {
        Ok(self.child.id().ok_or("plugin already reaped")?)
    }

    /// Connects like Terraform: mutual TLS when `client` is set, h2c otherwise.
    pub async fn connect(&self, client: Option<&ClientIdentity>) -> Result<Channel> {
        let tls = match client {
            Some(identity) => Some(tls_connector(&self.handshake, identity)?),
            None => None,
        };
        let addr = self.handshake.addr.clone();
        let endpoint = Endpoint::from_static("http://localhost")
            .connect_timeout(STEP_TIMEOUT)
            .timeout(STEP_TIMEOUT);
        let channel = endpoint
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let (tls, addr) = (tls.clone(), addr.clone());
                async move {
                    let stream: Box<dyn Io> = match addr {
                        PluginAddr::Tcp(addr) => {
                            let tcp = TcpStream::connect(addr).await?;
                            // Go's net package (Terraform) sets TCP_NODELAY on
                            // every TCP connection; without it, Nagle plus the
                            // server's delayed ACK adds ~40 ms to RPCs whose
                            // request spans more than one write.
                            tcp.set_nodelay(true)?;
                            Box::new(tcp)
                        }
                        PluginAddr::Unix(path) => Box::new(UnixStream::connect(path).await?),
                    };
                    let stream: Box<dyn Io> = match tls {
                        None => stream,
                        Some(tls) => {
                            let server =
                                ServerName::try_from("localhost").map_err(io::Error::other)?;
                            let stream = tls.connect(server, stream).await?;
                            if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
                                return Err(io::Error::other("server did not negotiate ALPN h2"));
                            }
                            Box::new(stream)
                        }
                    };
                    Ok::<_, io::Error>(TokioIo::new(stream))
                }
            }))
            .await?;
        Ok(channel)
    }

    /// Calls `GRPCController.Shutdown` as Terraform does when it is done with
    /// a provider and waits for the process to exit. Returns the time from the
    /// call to the exit: Terraform waits that long (up to 2 s) per process.
    pub async fn shutdown(mut self, channel: Channel) -> Result<Duration> {
        let started = Instant::now();
        // go-plugin stops its gRPC server inside the handler, so the reply may
        // never arrive; Terraform ignores the outcome too and waits for the exit.
        let _ = tokio::time::timeout(
            STEP_TIMEOUT,
            GrpcControllerClient::new(channel).shutdown(Empty {}),
        )
        .await;
        let status = tokio::time::timeout(STEP_TIMEOUT, self.child.wait())
            .await
            .map_err(|_| format!("still running {STEP_TIMEOUT:?} after Shutdown"))??;
        let elapsed = started.elapsed();
        if !status.success() {
            return Err(format!("exited with {status} after Shutdown").into());
        }
        Ok(elapsed)
    }

    /// Ends the process without ceremony (for launches that only time the
    /// handshake) and reaps it.
    pub async fn kill(mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

/// A byte stream hyper can run HTTP/2 over: TCP or Unix, with or without TLS.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// TLS 1.2+ on aws-lc-rs (ring cannot sign with Terraform's P-521 key), the
/// handshake's certificate pinned, ALPN h2 (Terraform fails without it), and
/// `identity` as the client certificate.
fn tls_connector(handshake: &Handshake, identity: &ClientIdentity) -> Result<TlsConnector> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let pinned = PinnedServerCert {
        cert: handshake
            .server_cert
            .clone()
            .ok_or("the plugin serves no TLS")?,
        provider: Arc::clone(&provider),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(pinned))
        .with_client_auth_cert(
            vec![identity.cert.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key.clone())),
        )?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Accepts exactly the certificate from the handshake line, and checks the
/// handshake signature against it.
///
/// Not webpki's verifier: go-plugin's server certificate is self-signed with
/// CA:TRUE, which webpki refuses as an end entity ("CaUsedAsEndEntity"), while
/// Go's crypto/tls (Terraform) accepts it because it is its own root. Pinning
/// the DER is what that root pool amounts to, and it works for our certificate
/// too, so both providers go through the same client code.
#[derive(Debug)]
struct PinnedServerCert {
    cert: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedServerCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if intermediates.is_empty() && end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Resident set size now and at its peak (`VmRSS`, `VmHWM`), in KiB.
pub fn memory_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))?;
        Ok(line.trim().trim_end_matches("kB").trim().parse()?)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}
