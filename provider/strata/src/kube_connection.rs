//! How the resources that work inside a Kubernetes cluster (`strata_storage_class`,
//! `strata_gitops_agent`) reach it — the engine half of their `cluster` block:
//!
//! * [`Connection`] — an EKS cluster by name (endpoint and CA from `DescribeCluster`, a
//!   bearer token minted by [`eks_token`] from the provider's AWS credentials), or an
//!   explicit endpoint, CA certificate and token.
//! * [`access`] resolves it, [`client`] turns that into a `kube::Client` built in code
//!   (no kubeconfig); [`connect`] does both.
//!
//! The Terraform half (schema, validation, replacement rules) is
//! [`crate::resources::kube_cluster`].

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials as _;
use base64::Engine as _;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use secrecy::SecretString;

use crate::aws::{AwsClients, code_and_message, sdk_failure};

pub mod eks_token;

/// How long connecting to, and one answer from, the Kubernetes API may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// How the resource reaches its cluster.
#[derive(Clone)]
pub enum Connection {
    /// An EKS cluster by name, in `region` (the provider's when `None`).
    Eks {
        cluster: String,
        region: Option<String>,
    },
    /// An API server URL, the PEM CA bundle that signs its certificate, a bearer token.
    Explicit {
        endpoint: String,
        ca_pem: String,
        token: SecretString,
    },
}

impl std::fmt::Debug for Connection {
    // The token never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connection::Eks { cluster, region } => f
                .debug_struct("Eks")
                .field("cluster", cluster)
                .field("region", region)
                .finish(),
            Connection::Explicit { endpoint, .. } => f
                .debug_struct("Explicit")
                .field("endpoint", endpoint)
                .finish_non_exhaustive(),
        }
    }
}

type Result<T, E = ConnectionError> = std::result::Result<T, E>;

/// Errors reaching a cluster.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// `DescribeCluster` failed.
    #[error("failed to describe eks cluster `{cluster}` in {region}: {message}")]
    DescribeCluster {
        cluster: String,
        region: String,
        message: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The EKS cluster does not exist (only an error where something in it must be reached).
    #[error("eks cluster `{cluster}` not found in {region}")]
    ClusterNotFound { cluster: String, region: String },
    /// The cluster has no endpoint or CA yet (still creating, or failed).
    #[error("eks cluster `{cluster}` in {region} has no API endpoint or CA yet (status {status})")]
    ClusterNotReady {
        cluster: String,
        region: String,
        status: String,
    },
    /// The CA bundle holds no usable PEM certificate.
    #[error("invalid cluster CA certificate: {0}")]
    InvalidCa(String),
    /// The endpoint is not an https URL.
    #[error("invalid cluster endpoint `{endpoint}`: {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },
    /// The provider's AWS credentials could not be resolved for the token.
    #[error("failed to resolve aws credentials to sign the eks token")]
    Credentials(#[source] aws_credential_types::provider::error::CredentialsError),
    /// The token could not be minted.
    #[error(transparent)]
    Token(#[from] eks_token::TokenError),
    /// The Kubernetes client could not be built from the connection.
    #[error("failed to build the kubernetes client")]
    Client(#[source] Box<kube::Error>),
}

impl ConnectionError {
    /// The attribute (path below the resource) a diagnostic about this error points at.
    pub fn attribute(&self) -> Option<&'static [&'static str]> {
        match self {
            ConnectionError::ClusterNotFound { .. } | ConnectionError::ClusterNotReady { .. } => {
                Some(&["cluster", "eks_cluster_name"])
            }
            ConnectionError::InvalidCa(_) => Some(&["cluster", "cluster_ca_certificate"]),
            ConnectionError::InvalidEndpoint { .. } => Some(&["cluster", "endpoint"]),
            _ => None,
        }
    }
}

/// What a connection resolves to: where the API server is and how to trust and
/// authenticate to it.
pub struct ClusterAccess {
    pub endpoint: String,
    pub ca_pem: String,
    pub token: SecretString,
}

/// Resolves `connection` into an endpoint, CA and token. `Ok(None)`: the EKS cluster
/// does not exist (so neither does anything in it).
pub async fn access(aws: &AwsClients, connection: &Connection) -> Result<Option<ClusterAccess>> {
    let (cluster, region) = match connection {
        Connection::Explicit {
            endpoint,
            ca_pem,
            token,
        } => {
            return Ok(Some(ClusterAccess {
                endpoint: endpoint.clone(),
                ca_pem: ca_pem.clone(),
                token: token.clone(),
            }));
        }
        Connection::Eks { cluster, region } => (cluster, aws.region(region.as_deref()).to_owned()),
    };
    let described = aws
        .eks(Some(&region))
        .describe_cluster()
        .name(cluster)
        .send()
        .await;
    let described = match described {
        Ok(out) => out.cluster,
        Err(e) => {
            let failure = sdk_failure(e);
            if failure.code.as_deref() == Some("ResourceNotFoundException") {
                return Ok(None);
            }
            return Err(ConnectionError::DescribeCluster {
                cluster: cluster.clone(),
                region,
                message: code_and_message(failure.code.as_deref(), &failure.message),
                source: failure.source,
            });
        }
    };
    let Some(described) = described else {
        return Ok(None);
    };
    let endpoint = described.endpoint.clone().filter(|e| !e.is_empty());
    let ca_data = described
        .certificate_authority
        .as_ref()
        .and_then(|ca| ca.data.clone())
        .filter(|d| !d.is_empty());
    let (Some(endpoint), Some(ca_data)) = (endpoint, ca_data) else {
        return Err(ConnectionError::ClusterNotReady {
            cluster: cluster.clone(),
            region,
            status: described
                .status
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|| "unknown".into()),
        });
    };
    // EKS hands out the CA as base64 of the PEM bundle.
    let ca_pem = base64::engine::general_purpose::STANDARD
        .decode(ca_data.trim())
        .ok()
        .and_then(|pem| String::from_utf8(pem).ok())
        .ok_or_else(|| {
            ConnectionError::InvalidCa(format!(
                "eks cluster `{cluster}` reports certificate authority data that is not base64 of a PEM certificate"
            ))
        })?;
    let token = eks_bearer_token(aws, &region, cluster).await?;
    Ok(Some(ClusterAccess {
        endpoint,
        ca_pem,
        token,
    }))
}

/// A fresh EKS token for `cluster`, signed with the provider's credentials for STS in
/// `region` (through `endpoints.sts` when set).
pub async fn eks_bearer_token(
    aws: &AwsClients,
    region: &str,
    cluster: &str,
) -> Result<SecretString> {
    let provider = aws.sdk_config().credentials_provider().ok_or_else(|| {
        ConnectionError::Credentials(
            aws_credential_types::provider::error::CredentialsError::not_loaded(
                "no credentials provider is configured",
            ),
        )
    })?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(ConnectionError::Credentials)?;
    let identity = credentials.into();
    let base = eks_token::sts_base_url(region, aws.endpoints().sts.as_deref());
    let token = eks_token::mint(&identity, &base, region, cluster, SystemTime::now())?;
    Ok(SecretString::from(token))
}

/// The PEM certificates of a CA bundle, as DER.
pub fn parse_ca(pem: &str) -> Result<Vec<Vec<u8>>> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| ConnectionError::InvalidCa(format!("not a PEM certificate bundle ({e})")))?;
    if certs.is_empty() {
        return Err(ConnectionError::InvalidCa(
            "no `-----BEGIN CERTIFICATE-----` block found".into(),
        ));
    }
    Ok(certs.into_iter().map(|c| c.to_vec()).collect())
}

/// Why `endpoint` cannot be a Kubernetes API server URL, if it cannot.
pub fn endpoint_problem(endpoint: &str) -> Option<String> {
    match endpoint.parse::<http::Uri>() {
        Ok(uri) if uri.scheme_str() == Some("https") && uri.host().is_some() => None,
        Ok(_) => Some(
            "expected an https:// URL such as `https://ABC.gr7.us-west-2.eks.amazonaws.com`".into(),
        ),
        Err(e) => Some(format!("not a URL ({e})")),
    }
}

/// A `kube::Client` for `access`, built in code: the endpoint, the CA as the only
/// trusted roots, the token as bearer.
pub fn client(access: &ClusterAccess) -> Result<kube::Client> {
    if let Some(reason) = endpoint_problem(&access.endpoint) {
        return Err(ConnectionError::InvalidEndpoint {
            endpoint: access.endpoint.clone(),
            reason,
        });
    }
    let uri =
        access
            .endpoint
            .parse::<http::Uri>()
            .map_err(|e| ConnectionError::InvalidEndpoint {
                endpoint: access.endpoint.clone(),
                reason: e.to_string(),
            })?;
    // kube builds its rustls configuration on the process's default crypto provider;
    // make that aws-lc-rs (the provider's TLS stack) whatever else is linked in.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut config = kube::Config::new(uri);
    config.root_cert = Some(parse_ca(&access.ca_pem)?);
    config.auth_info.token = Some(access.token.clone());
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(READ_TIMEOUT);
    config.write_timeout = Some(READ_TIMEOUT);
    kube::Client::try_from(config).map_err(|e| ConnectionError::Client(Box::new(e)))
}

/// A client for `connection`; `Ok(None)`: the EKS cluster does not exist.
pub async fn connect(aws: &AwsClients, connection: &Connection) -> Result<Option<kube::Client>> {
    match access(aws, connection).await? {
        Some(access) => Ok(Some(client(&access)?)),
        None => Ok(None),
    }
}

/// A client for `connection`, or [`ConnectionError::ClusterNotFound`].
pub async fn connect_existing(aws: &AwsClients, connection: &Connection) -> Result<kube::Client> {
    match connect(aws, connection).await? {
        Some(client) => Ok(client),
        None => {
            let Connection::Eks { cluster, region } = connection else {
                unreachable!("only an EKS connection can find its cluster missing")
            };
            Err(ConnectionError::ClusterNotFound {
                cluster: cluster.clone(),
                region: aws.region(region.as_deref()).to_owned(),
            })
        }
    }
}
