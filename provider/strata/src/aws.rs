//! Provider configuration → AWS SDK clients.
//!
//! [`AwsSettings`] is the plain-Rust form of the provider block (`region`, `profile`,
//! `endpoints`, `default_tags`, `max_retries`); [`AwsClients::new`] turns it into SDK
//! configuration once, at `ConfigureProvider`, and hands out per-region service clients
//! afterwards ([`AwsClients::ec2`]).
//!
//! What `new` does and does not do:
//! * **Credentials** come from the standard chain of `aws-config` (environment, shared
//!   config/credentials files and `profile`, web identity, SSO, ECS/IMDS). The chain is
//!   lazy: nothing is resolved and no request is sent until the first API call, so
//!   validate-like flows work offline and without credentials.
//! * **Region** comes from `region`, else `AWS_REGION` / `AWS_DEFAULT_REGION`, else the
//!   (selected) profile in the shared config file. Unlike the SDK's default chain we do
//!   *not* ask IMDS for the region: that would be a network call at configure time (and
//!   a multi-second stall off EC2). No region at all is an error ([`AwsError::NoRegion`]).
//! * **Retries** use the SDK's standard mode (exponential backoff with jitter; throttling
//!   and transient errors are retried) with `max_retries + 1` attempts per request.
//! * **Endpoint overrides** apply to every region: an emulator such as moto serves all
//!   regions on one URL and routes by the request's signing region.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_types::region::Region;

/// `max_retries` when the provider block does not set it: the value the official AWS
/// provider uses, so configurations tuned for it behave the same here. With the SDK's
/// 20 s backoff cap this rides out long throttling bursts (EC2 throttles per account).
pub const DEFAULT_MAX_RETRIES: u32 = 25;

/// Longest sleep between two retries of one request (the SDK's standard-mode default,
/// stated here so the worst case `max_retries × MAX_BACKOFF` is visible).
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// Errors from turning provider settings into clients.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// Neither the settings, the environment nor the shared config file name a region.
    #[error(
        "no aws region configured: set `region` in the provider block, the AWS_REGION \
         environment variable, or `region` in the shared config profile"
    )]
    NoRegion,
    /// A region name that cannot be an AWS region (e.g. `US West`).
    #[error(
        "invalid aws region `{region}`: expected lowercase letters, digits and dashes like `us-west-2`"
    )]
    InvalidRegion {
        /// The rejected value.
        region: String,
    },
    /// An `endpoints` override that is not an absolute http(s) URL.
    #[error(
        "invalid endpoint url `{url}` for service `{service}`: expected an absolute http:// or https:// url"
    )]
    InvalidEndpoint {
        /// Which override (`ec2`, `eks`, `iam`, `sts`).
        service: &'static str,
        /// The rejected value.
        url: String,
    },
}

/// Per-service endpoint overrides (`endpoints { ec2 = "http://127.0.0.1:5000" }`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// EC2 (VPCs, subnets, gateways, routes, EIPs).
    pub ec2: Option<String>,
    /// EKS.
    pub eks: Option<String>,
    /// IAM.
    pub iam: Option<String>,
    /// STS. Applied to STS clients built from [`AwsClients::sdk_config`]; the credential
    /// providers' own STS calls (web identity, assume role) follow the SDK's
    /// `AWS_ENDPOINT_URL_STS` setting instead.
    pub sts: Option<String>,
}

impl Endpoints {
    fn all(&self) -> [(&'static str, Option<&str>); 4] {
        [
            ("ec2", self.ec2.as_deref()),
            ("eks", self.eks.as_deref()),
            ("iam", self.iam.as_deref()),
            ("sts", self.sts.as_deref()),
        ]
    }
}

/// The provider block, as plain Rust values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// Default region; per-resource `region` arguments override it.
    pub region: Option<String>,
    /// Named profile of the shared config/credentials files.
    pub profile: Option<String>,
    /// Endpoint overrides, applied to every region.
    pub endpoints: Endpoints,
    /// Tags applied to every object the provider creates; resource tags win on conflict.
    pub default_tags: BTreeMap<String, String>,
    /// How often one request is retried on throttling or transient errors
    /// (0 = a single attempt). Defaults to [`DEFAULT_MAX_RETRIES`].
    pub max_retries: u32,
}

impl Default for AwsSettings {
    fn default() -> Self {
        Self {
            region: None,
            profile: None,
            endpoints: Endpoints::default(),
            default_tags: BTreeMap::new(),
            max_retries: DEFAULT_MAX_RETRIES,
        }
    }
}

/// SDK configuration and per-region clients, built once per configured provider.
///
/// Cheap to share behind an `Arc`; client handles it returns are themselves cheap clones.
#[derive(Debug)]
pub struct AwsClients {
    sdk_config: SdkConfig,
    default_region: String,
    endpoints: Endpoints,
    default_tags: BTreeMap<String, String>,
    // Per-region clients: a client owns its connection pool and credential cache,
    // so resources in the same region should share one instead of building their own.
    ec2: Mutex<HashMap<String, aws_sdk_ec2::Client>>,
    eks: Mutex<HashMap<String, aws_sdk_eks::Client>>,
    // IAM is global: one client.
    iam: std::sync::OnceLock<aws_sdk_iam::Client>,
}

impl AwsClients {
    /// Resolves region, credentials chain and retry policy from `settings`.
    ///
    /// Sends no request: credentials are resolved lazily by the first API call.
    pub async fn new(settings: AwsSettings) -> Result<Self, AwsError> {
        for (service, url) in settings.endpoints.all() {
            if let Some(url) = url {
                check_endpoint(service, url)?;
            }
        }
        let region = match settings.region.as_deref().filter(|r| !r.is_empty()) {
            Some(region) => region.to_owned(),
            None => resolve_region(settings.profile.as_deref())
                .await
                .ok_or(AwsError::NoRegion)?,
        };
        check_region(&region)?;

        let retry = RetryConfig::standard()
            .with_max_attempts(settings.max_retries.saturating_add(1))
            .with_max_backoff(MAX_BACKOFF);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            // Giving the region explicitly also keeps `load` from consulting IMDS.
            .region(Region::new(region.clone()))
            .retry_config(retry);
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        let sdk_config = loader.load().await;

        Ok(Self {
            sdk_config,
            default_region: region,
            endpoints: settings.endpoints,
            default_tags: settings.default_tags,
            ec2: Mutex::new(HashMap::new()),
            eks: Mutex::new(HashMap::new()),
            iam: std::sync::OnceLock::new(),
        })
    }

    /// The provider-level region (used when a resource has no `region` argument).
    pub fn default_region(&self) -> &str {
        &self.default_region
    }

    /// The region a resource works in: its own `region` argument or the provider's.
    pub fn region<'a>(&'a self, region: Option<&'a str>) -> &'a str {
        region
            .filter(|r| !r.is_empty())
            .unwrap_or(&self.default_region)
    }

    /// An EC2 client for `region` (the default region when `None`), cached per region,
    /// with the `endpoints.ec2` override applied.
    pub fn ec2(&self, region: Option<&str>) -> aws_sdk_ec2::Client {
        self.cached(&self.ec2, region, |region| {
            let mut conf = aws_sdk_ec2::config::Builder::from(&self.sdk_config).region(region);
            if let Some(url) = &self.endpoints.ec2 {
                conf = conf.endpoint_url(url);
            }
            aws_sdk_ec2::Client::from_conf(conf.build())
        })
    }

    /// An EKS client for `region`, cached per region, with `endpoints.eks` applied.
    pub fn eks(&self, region: Option<&str>) -> aws_sdk_eks::Client {
        self.cached(&self.eks, region, |region| {
            let mut conf = aws_sdk_eks::config::Builder::from(&self.sdk_config).region(region);
            if let Some(url) = &self.endpoints.eks {
                conf = conf.endpoint_url(url);
            }
            aws_sdk_eks::Client::from_conf(conf.build())
        })
    }

    /// The IAM client (IAM is global), with `endpoints.iam` applied.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        self.iam
            .get_or_init(|| {
                let mut conf = aws_sdk_iam::config::Builder::from(&self.sdk_config);
                if let Some(url) = &self.endpoints.iam {
                    conf = conf.endpoint_url(url);
                }
                aws_sdk_iam::Client::from_conf(conf.build())
            })
            .clone()
    }

    fn cached<C: Clone>(
        &self,
        cache: &Mutex<HashMap<String, C>>,
        region: Option<&str>,
        build: impl FnOnce(Region) -> C,
    ) -> C {
        let region = self.region(region).to_owned();
        // A poisoned lock only means another thread panicked while inserting a clone;
        // the map itself is still consistent.
        let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(region)
            .or_insert_with_key(|region| build(Region::new(region.clone())))
            .clone()
    }

    /// Tags to merge under every resource's own tags.
    pub fn default_tags(&self) -> &BTreeMap<String, String> {
        &self.default_tags
    }

    /// The endpoint overrides, for services whose clients are built elsewhere
    /// (EKS, IAM): apply them to every region the same way [`AwsClients::ec2`] does.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The shared SDK configuration (credentials chain, retry policy, default region)
    /// to build other service clients from.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk_config
    }
}

/// Region from `AWS_REGION` / `AWS_DEFAULT_REGION`, then the shared config profile.
async fn resolve_region(profile: Option<&str>) -> Option<String> {
    let mut from_profile = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(profile) = profile {
        from_profile = from_profile.profile_name(profile);
    }
    RegionProviderChain::first_try(
        aws_config::environment::EnvironmentVariableRegionProvider::new(),
    )
    .or_else(from_profile.build())
    .region()
    .await
    .map(|r| r.as_ref().to_owned())
}

fn check_region(region: &str) -> Result<(), AwsError> {
    let ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(AwsError::InvalidRegion {
            region: region.to_owned(),
        })
    }
}

fn check_endpoint(service: &'static str, url: &str) -> Result<(), AwsError> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && !rest.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(AwsError::InvalidEndpoint {
            service,
            url: url.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests;

/// What every engine keeps of a failed SDK call: the AWS error code (which the retry
/// rules look at), a message for a person, and the error itself as the source.
pub struct SdkFailure {
    pub code: Option<String>,
    pub message: String,
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Splits an SDK error into its [`SdkFailure`] parts.
pub fn sdk_failure<E, R>(err: aws_smithy_runtime_api::client::result::SdkError<E, R>) -> SdkFailure
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_smithy_types::error::display::DisplayErrorContext;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    SdkFailure {
        code: err.code().map(str::to_owned),
        message: match err.message() {
            Some(message) => message.to_owned(),
            // Transport errors and unparsable responses carry no AWS message: the
            // error chain is the most useful thing to show.
            None => DisplayErrorContext(&err).to_string(),
        },
        source: Box::new(err),
    }
}

/// `Code: message`, or the message alone when AWS gave no code.
pub fn code_and_message(code: Option<&str>, message: &str) -> String {
    match code {
        Some(code) => format!("{code}: {message}"),
        None => message.to_owned(),
    }
}
