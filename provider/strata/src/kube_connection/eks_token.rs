//! EKS bearer tokens, minted the way `aws eks get-token` and aws-iam-authenticator do:
//! a presigned STS `GetCallerIdentity` request that names the cluster in the signed
//! header `x-k8s-aws-id`, valid for 60 seconds, base64url-encoded (no padding) after
//! the prefix `k8s-aws-v1.`. EKS's authenticator calls STS with the URL to learn who
//! signed it; nothing is sent to STS here.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine as _;

/// What every EKS token starts with.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The signed header that binds a token to one cluster.
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// How long the presigned request is valid (what aws-iam-authenticator uses).
pub const EXPIRES: Duration = Duration::from_secs(60);

/// Errors from minting a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The signing parameters were incomplete (a bug: every one is always given).
    #[error("failed to prepare signing the EKS token: {0}")]
    Params(#[source] v4::signing_params::BuildError),
    /// The STS URL or the request could not be signed.
    #[error("failed to sign the EKS token request to {url}")]
    Sign {
        url: String,
        #[source]
        source: aws_sigv4::http_request::SigningError,
    },
    /// The STS URL is not a valid URI.
    #[error("invalid STS url `{url}`")]
    Url {
        url: String,
        #[source]
        source: http::Error,
    },
}

/// STS for `region`: the `endpoints.sts` override when set, else the regional endpoint.
pub fn sts_base_url(region: &str, endpoint_override: Option<&str>) -> String {
    match endpoint_override {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None if region.starts_with("cn-") => format!("https://sts.{region}.amazonaws.com.cn"),
        None => format!("https://sts.{region}.amazonaws.com"),
    }
}

/// A bearer token for `cluster`, signed with `identity` (AWS credentials) for STS in
/// `region` at `time`.
pub fn mint(
    identity: &Identity,
    sts_base: &str,
    region: &str,
    cluster: &str,
    time: SystemTime,
) -> Result<String, TokenError> {
    let url = format!(
        "{}/?Action=GetCallerIdentity&Version=2011-06-15",
        sts_base.trim_end_matches('/')
    );
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(settings)
        .build()
        .map_err(TokenError::Params)?
        .into();
    let sign_error = |source| TokenError::Sign {
        url: url.clone(),
        source,
    };
    let signable = SignableRequest::new(
        "GET",
        url.as_str(),
        [(CLUSTER_ID_HEADER, cluster)].into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(sign_error)?;
    let (instructions, _signature) = sign(signable, &params).map_err(sign_error)?.into_parts();
    let mut request = http::Request::builder()
        .method("GET")
        .uri(url.as_str())
        .body(())
        .map_err(|source| TokenError::Url {
            url: url.clone(),
            source,
        })?;
    instructions.apply_to_request_http1x(&mut request);
    let presigned = request.uri().to_string();
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned)
    ))
}
