//! The engine behind `strata_storage_class`: a Kubernetes StorageClass on a cluster the
//! resource connects to by itself.
//!
//! Where to start:
//! * [`rules`] — pure: EBS parameters ⇄ typed arguments, each volume type's plan-time
//!   limits, the IOPS-per-GiB note, import IDs and names.
//! * [`Connection`] — how to reach the cluster: an EKS cluster by name (endpoint and CA
//!   from `DescribeCluster`, a bearer token minted by [`eks_token`] from the provider's
//!   AWS credentials), or an explicit endpoint, CA certificate and token. [`connect`]
//!   turns it into a `kube::Client` built in code (no kubeconfig).
//! * [`create`], [`read`], [`update`], [`delete`] drive the StorageClass API.
//!
//! How writes are made, and why not server-side apply: create is a `POST`, so a class
//! of the same name that someone else made is refused ("import it") instead of being
//! silently adopted; update is a read-modify-write `PUT` guarded by the object's
//! `resourceVersion`, which makes the labels exactly the configured set — labels added
//! out of band (by any field manager) are removed, which an apply by our field manager
//! could not do for fields it does not own. Both carry the field manager
//! `terraform-provider-strata`. Only labels, the default-class annotation and
//! `allowVolumeExpansion` ever change in place: every other field is immutable in the
//! Kubernetes API and changes by replacement.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials as _;
use base64::Engine as _;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use secrecy::SecretString;

use crate::aws::{AwsClients, code_and_message, sdk_failure};

pub mod eks_token;
pub mod rules;

#[cfg(test)]
mod tests;

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

/// A StorageClass: what is wanted, and what is read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageClassSpec {
    pub name: String,
    pub provisioner: String,
    pub parameters: BTreeMap<String, String>,
    pub reclaim_policy: String,
    pub volume_binding_mode: String,
    pub allow_volume_expansion: bool,
    /// The annotation `storageclass.kubernetes.io/is-default-class` is `"true"`.
    pub default_class: bool,
    pub labels: BTreeMap<String, String>,
}

/// Errors of the storage class engine.
#[derive(Debug, thiserror::Error)]
pub enum StorageClassError {
    /// `DescribeCluster` failed.
    #[error("failed to describe eks cluster `{cluster}` in {region}: {message}")]
    DescribeCluster {
        cluster: String,
        region: String,
        message: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The EKS cluster does not exist (only an error where the class must be reached).
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
    /// A class of that name exists already and is not in the Terraform state.
    #[error(
        "storage class `{0}` already exists in the cluster; import it (`terraform import ADDRESS CLUSTER/{0}`) or choose another name"
    )]
    AlreadyExists(String),
    /// The class to update is gone.
    #[error(
        "storage class `{0}` no longer exists in the cluster; run `terraform apply` again to re-create it"
    )]
    Gone(String),
    /// The Kubernetes API refused a request or could not be reached.
    #[error("failed to {action} storage class `{name}`: {message}")]
    Api {
        action: &'static str,
        name: String,
        message: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// Terraform asked the provider to stop.
    #[error("interrupted: Terraform asked the provider to stop")]
    Interrupted,
}

impl StorageClassError {
    /// The attribute (path below the resource) a diagnostic about this error points at.
    pub fn attribute(&self) -> Option<&'static [&'static str]> {
        match self {
            StorageClassError::ClusterNotFound { .. }
            | StorageClassError::ClusterNotReady { .. } => Some(&["cluster", "eks_cluster_name"]),
            StorageClassError::InvalidCa(_) => Some(&["cluster", "cluster_ca_certificate"]),
            StorageClassError::InvalidEndpoint { .. } => Some(&["cluster", "endpoint"]),
            StorageClassError::AlreadyExists(_) => Some(&["name"]),
            _ => None,
        }
    }
}

type Result<T, E = StorageClassError> = std::result::Result<T, E>;

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
            return Err(StorageClassError::DescribeCluster {
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
        return Err(StorageClassError::ClusterNotReady {
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
            StorageClassError::InvalidCa(format!(
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
        StorageClassError::Credentials(
            aws_credential_types::provider::error::CredentialsError::not_loaded(
                "no credentials provider is configured",
            ),
        )
    })?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(StorageClassError::Credentials)?;
    let identity = credentials.into();
    let base = eks_token::sts_base_url(region, aws.endpoints().sts.as_deref());
    let token = eks_token::mint(&identity, &base, region, cluster, SystemTime::now())?;
    Ok(SecretString::from(token))
}

/// The PEM certificates of a CA bundle, as DER.
pub fn parse_ca(pem: &str) -> Result<Vec<Vec<u8>>> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| StorageClassError::InvalidCa(format!("not a PEM certificate bundle ({e})")))?;
    if certs.is_empty() {
        return Err(StorageClassError::InvalidCa(
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
        return Err(StorageClassError::InvalidEndpoint {
            endpoint: access.endpoint.clone(),
            reason,
        });
    }
    let uri =
        access
            .endpoint
            .parse::<http::Uri>()
            .map_err(|e| StorageClassError::InvalidEndpoint {
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
    kube::Client::try_from(config).map_err(|e| StorageClassError::Client(Box::new(e)))
}

async fn api(aws: &AwsClients, connection: &Connection) -> Result<Option<Api<StorageClass>>> {
    match access(aws, connection).await? {
        Some(access) => Ok(Some(Api::all(client(&access)?))),
        None => Ok(None),
    }
}

fn api_error(action: &'static str, name: &str, source: kube::Error) -> StorageClassError {
    let message = match &source {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.code),
        other => other.to_string(),
    };
    StorageClassError::Api {
        action,
        name: name.to_owned(),
        message,
        source: Box::new(source),
    }
}

fn post_params() -> PostParams {
    PostParams {
        dry_run: false,
        field_manager: Some(rules::FIELD_MANAGER.to_owned()),
    }
}

/// The Kubernetes object for `spec`.
pub fn to_object(spec: &StorageClassSpec) -> StorageClass {
    StorageClass {
        metadata: ObjectMeta {
            name: Some(spec.name.clone()),
            labels: (!spec.labels.is_empty()).then(|| spec.labels.clone()),
            annotations: Some(BTreeMap::from([(
                rules::DEFAULT_CLASS_ANNOTATION.to_owned(),
                spec.default_class.to_string(),
            )])),
            ..Default::default()
        },
        provisioner: spec.provisioner.clone(),
        parameters: (!spec.parameters.is_empty()).then(|| spec.parameters.clone()),
        reclaim_policy: Some(spec.reclaim_policy.clone()),
        volume_binding_mode: Some(spec.volume_binding_mode.clone()),
        allow_volume_expansion: Some(spec.allow_volume_expansion),
        ..Default::default()
    }
}

/// What a StorageClass object says, in the spec's terms (API defaults applied as the
/// API server applies them).
pub fn from_object(sc: &StorageClass) -> StorageClassSpec {
    let annotations = sc.metadata.annotations.clone().unwrap_or_default();
    StorageClassSpec {
        name: sc.metadata.name.clone().unwrap_or_default(),
        provisioner: sc.provisioner.clone(),
        parameters: sc.parameters.clone().unwrap_or_default(),
        reclaim_policy: sc.reclaim_policy.clone().unwrap_or_else(|| "Delete".into()),
        volume_binding_mode: sc
            .volume_binding_mode
            .clone()
            .unwrap_or_else(|| "Immediate".into()),
        allow_volume_expansion: sc.allow_volume_expansion.unwrap_or(false),
        default_class: annotations
            .get(rules::DEFAULT_CLASS_ANNOTATION)
            .is_some_and(|v| v == "true"),
        labels: sc.metadata.labels.clone().unwrap_or_default(),
    }
}

/// Creates the class. Refuses to take over one that exists already.
pub async fn create(
    aws: &AwsClients,
    connection: &Connection,
    spec: &StorageClassSpec,
) -> Result<StorageClassSpec> {
    let Some(api) = api(aws, connection).await? else {
        let Connection::Eks { cluster, region } = connection else {
            unreachable!("only an EKS connection can find its cluster missing")
        };
        return Err(StorageClassError::ClusterNotFound {
            cluster: cluster.clone(),
            region: aws.region(region.as_deref()).to_owned(),
        });
    };
    match api.create(&post_params(), &to_object(spec)).await {
        Ok(created) => Ok(from_object(&created)),
        Err(kube::Error::Api(status)) if status.is_already_exists() => {
            Err(StorageClassError::AlreadyExists(spec.name.clone()))
        }
        Err(e) => Err(api_error("create", &spec.name, e)),
    }
}

/// The class as it is, or `None` when it (or its EKS cluster) is gone.
pub async fn read(
    aws: &AwsClients,
    connection: &Connection,
    name: &str,
) -> Result<Option<StorageClassSpec>> {
    let Some(api) = api(aws, connection).await? else {
        return Ok(None);
    };
    match api.get_opt(name).await {
        Ok(found) => Ok(found.as_ref().map(from_object)),
        Err(e) => Err(api_error("read", name, e)),
    }
}

/// Brings the mutable fields (labels, default-class annotation, volume expansion) to
/// `spec`: a read-modify-write guarded by `resourceVersion`, retried once on a conflict.
/// Other annotations are left as they are.
pub async fn update(
    aws: &AwsClients,
    connection: &Connection,
    spec: &StorageClassSpec,
) -> Result<StorageClassSpec> {
    let Some(api) = api(aws, connection).await? else {
        return Err(StorageClassError::Gone(spec.name.clone()));
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        let Some(mut live) = api
            .get_opt(&spec.name)
            .await
            .map_err(|e| api_error("read", &spec.name, e))?
        else {
            return Err(StorageClassError::Gone(spec.name.clone()));
        };
        live.metadata.labels = (!spec.labels.is_empty()).then(|| spec.labels.clone());
        live.metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(
                rules::DEFAULT_CLASS_ANNOTATION.to_owned(),
                spec.default_class.to_string(),
            );
        live.allow_volume_expansion = Some(spec.allow_volume_expansion);
        live.metadata.managed_fields = None;
        match api.replace(&spec.name, &post_params(), &live).await {
            Ok(updated) => return Ok(from_object(&updated)),
            Err(kube::Error::Api(status)) if status.is_conflict() && attempts < 2 => continue,
            Err(e) => return Err(api_error("update", &spec.name, e)),
        }
    }
}

/// Deletes the class; one already gone (or whose EKS cluster is gone) is fine.
pub async fn delete(aws: &AwsClients, connection: &Connection, name: &str) -> Result<()> {
    let Some(api) = api(aws, connection).await? else {
        return Ok(());
    };
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        Err(e) => Err(api_error("delete", name, e)),
    }
}
