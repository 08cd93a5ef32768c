//! Pure parts of the cluster engine: the desired cluster ([`ClusterSpec`]), input
//! validation with the attribute each problem concerns ([`validate`]), Kubernetes
//! version arithmetic ([`KubeVersion`], [`check_upgrade`]) and the in-place changes an
//! update makes, in the order it makes them ([`update_steps`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// The control-plane log types EKS knows, in the API's spelling.
pub const LOG_TYPES: [&str; 5] = [
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];

/// Suffix of the role the provider creates when no `role_arn` is given.
pub const ROLE_SUFFIX: &str = "-eks-cluster";

/// EKS's limit on cluster names (characters).
const MAX_NAME_LEN: usize = 100;
/// IAM's limit on role names (characters).
const MAX_ROLE_NAME_LEN: usize = 64;

/// The name of the role the provider creates for cluster `name`.
pub fn role_name_for(cluster: &str) -> String {
    format!("{cluster}{ROLE_SUFFIX}")
}

/// The cluster as the configuration wants it (after plan: every value known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Cluster name (also the resource ID).
    pub name: String,
    /// `major.minor`; `None` lets EKS pick its default version.
    pub kubernetes_version: Option<String>,
    /// The cluster's IAM role; `None` makes the provider create one
    /// ([`role_name_for`]).
    pub role_arn: Option<String>,
    /// Subnets for the control plane's network interfaces.
    pub subnet_ids: BTreeSet<String>,
    /// Extra security groups for those interfaces.
    pub security_group_ids: BTreeSet<String>,
    /// Public API server endpoint.
    pub endpoint_public_access: bool,
    /// Private (in-VPC) API server endpoint.
    pub endpoint_private_access: bool,
    /// Who may reach the public endpoint; `None` = EKS's default (`0.0.0.0/0`).
    pub public_access_cidrs: Option<BTreeSet<String>>,
    /// Kubernetes service range; `None` = EKS's choice.
    pub service_ipv4_cidr: Option<String>,
    /// Enabled control-plane log types (a subset of [`LOG_TYPES`]).
    pub enabled_log_types: BTreeSet<String>,
    /// KMS key for envelope encryption of Kubernetes secrets.
    pub encryption_kms_key_arn: Option<String>,
    /// Every tag the cluster carries (default tags merged with the resource's).
    pub tags: BTreeMap<String, String>,
}

/// A configuration as far as it is known (unknown values are `None`), for validation.
#[derive(Debug, Clone, Default)]
pub struct ClusterInput {
    pub name: Option<String>,
    pub kubernetes_version: Option<String>,
    /// `Some(None)` = configured null (the provider creates the role); `None` = unknown.
    pub role_arn: Option<Option<String>>,
    /// `None` = unknown set; `Some(None)` elements are unknown subnet IDs (e.g. of a
    /// VPC not created yet): they count, but cannot be checked.
    pub subnet_ids: Option<Vec<Option<String>>>,
    pub security_group_ids: Vec<String>,
    pub endpoint_public_access: Option<bool>,
    pub endpoint_private_access: Option<bool>,
    pub public_access_cidrs: Vec<String>,
    pub service_ipv4_cidr: Option<String>,
    pub enabled_log_types: Vec<String>,
    pub encryption_kms_key_arn: Option<String>,
}

/// One thing wrong with a configuration, on the attribute it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    /// The top-level attribute (`subnet_ids`, `enabled_log_types`…).
    pub attribute: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn problem(attribute: &'static str, message: impl Into<String>) -> SpecProblem {
    SpecProblem {
        attribute,
        message: message.into(),
    }
}

/// Every problem of `input` that can be seen with the values known so far.
pub fn validate(input: &ClusterInput) -> Vec<SpecProblem> {
    let mut out = Vec::new();
    if let Some(name) = &input.name {
        out.extend(check_name(name));
        if let Some(None) = input.role_arn {
            let role = role_name_for(name);
            if role.chars().count() > MAX_ROLE_NAME_LEN {
                out.push(problem(
                    "name",
                    format!(
                        "without `role_arn` the provider creates the IAM role {role:?}, longer than IAM's limit of {MAX_ROLE_NAME_LEN} characters; use a name of at most {} characters or set `role_arn`",
                        MAX_ROLE_NAME_LEN - ROLE_SUFFIX.len()
                    ),
                ));
            }
        }
    }
    if let Some(v) = &input.kubernetes_version
        && let Err(e) = v.parse::<KubeVersion>()
    {
        out.push(problem("kubernetes_version", e));
    }
    if let Some(Some(arn)) = &input.role_arn
        && !is_role_arn(arn)
    {
        out.push(problem(
            "role_arn",
            format!("{arn:?} is not an IAM role ARN (`arn:aws:iam::123456789012:role/NAME`)"),
        ));
    }
    if let Some(subnets) = &input.subnet_ids {
        if subnets.is_empty() {
            out.push(problem(
                "subnet_ids",
                "at least one subnet is needed (on AWS, at least two in different availability zones)",
            ));
        }
        if subnets.iter().flatten().any(|s| s.trim().is_empty()) {
            out.push(problem(
                "subnet_ids",
                "subnet IDs must not be empty strings",
            ));
        }
    }
    if input.security_group_ids.iter().any(|s| s.trim().is_empty()) {
        out.push(problem(
            "security_group_ids",
            "security group IDs must not be empty strings",
        ));
    }
    if input.endpoint_public_access == Some(false) && input.endpoint_private_access == Some(false) {
        out.push(problem(
            "endpoint_private_access",
            "the API server needs at least one endpoint: `endpoint_public_access` and `endpoint_private_access` cannot both be false",
        ));
    }
    for cidr in &input.public_access_cidrs {
        if let Err(e) = strata_framework::schema::parse_ipv4_cidr(cidr) {
            out.push(problem(
                "public_access_cidrs",
                format!("{cidr:?} is not an IPv4 CIDR block: {e}"),
            ));
        }
    }
    if let Some(cidr) = &input.service_ipv4_cidr
        && let Some(e) = check_service_cidr(cidr)
    {
        out.push(problem("service_ipv4_cidr", e));
    }
    for t in &input.enabled_log_types {
        if !LOG_TYPES.contains(&t.as_str()) {
            out.push(problem(
                "enabled_log_types",
                format!(
                    "{t:?} is not an EKS control-plane log type; use any of {}",
                    LOG_TYPES.map(|t| format!("\"{t}\"")).join(", ")
                ),
            ));
        }
    }
    if let Some(arn) = &input.encryption_kms_key_arn
        && !arn.starts_with("arn:")
    {
        out.push(problem(
            "encryption_kms_key_arn",
            format!("{arn:?} is not a KMS key ARN (`arn:aws:kms:REGION:ACCOUNT:key/ID`)"),
        ));
    }
    out
}

fn check_name(name: &str) -> Option<SpecProblem> {
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let len = name.chars().count();
    (!(first_ok && rest_ok && (1..=MAX_NAME_LEN).contains(&len))).then(|| {
        problem(
            "name",
            format!(
                "{name:?} is not a valid EKS cluster name: 1 to {MAX_NAME_LEN} letters, digits, `-` and `_`, starting with a letter or digit"
            ),
        )
    })
}

fn is_role_arn(arn: &str) -> bool {
    // arn:PARTITION:iam::ACCOUNT:role/PATH/NAME
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "iam", "", account, resource]
            if !partition.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.strip_prefix("role/").is_some_and(|n| !n.is_empty())
    )
}

/// EKS wants the service range inside the private ranges, between /12 and /24.
fn check_service_cidr(cidr: &str) -> Option<String> {
    let (addr, len) = match strata_framework::schema::parse_ipv4_cidr(cidr) {
        Ok(v) => v,
        // The schema's CIDR validator reports malformed blocks.
        Err(_) => return None,
    };
    if !(12..=24).contains(&len) {
        return Some(format!(
            "{cidr:?}: EKS needs a service range between /12 and /24"
        ));
    }
    let private = [
        (std::net::Ipv4Addr::new(10, 0, 0, 0), 8),
        (std::net::Ipv4Addr::new(172, 16, 0, 0), 12),
        (std::net::Ipv4Addr::new(192, 168, 0, 0), 16),
    ];
    let inside = private.iter().any(|(net, plen)| {
        let mask = u32::MAX << (32 - plen);
        len >= *plen && u32::from(addr) & mask == u32::from(*net)
    });
    (!inside).then(|| {
        format!(
            "{cidr:?}: EKS needs a service range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"
        )
    })
}

/// A Kubernetes `major.minor` version as EKS spells it (`1.31`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
}

impl FromStr for KubeVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a Kubernetes version; write major.minor, e.g. \"1.31\"");
        let (major, minor) = s.split_once('.').ok_or_else(bad)?;
        let num = |p: &str| {
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u32>().ok())
                .flatten()
        };
        Ok(KubeVersion {
            major: num(major).ok_or_else(bad)?,
            minor: num(minor).ok_or_else(bad)?,
        })
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Why a version change cannot be made in place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionChangeError {
    /// EKS never downgrades a control plane.
    #[error("EKS cannot downgrade a cluster from {from} to {to}; replace the cluster to go back")]
    Downgrade { from: KubeVersion, to: KubeVersion },
    /// EKS upgrades one minor version at a time.
    #[error(
        "EKS upgrades one minor version at a time: upgrade from {from} to {next} first, then to {to}"
    )]
    Skip {
        from: KubeVersion,
        to: KubeVersion,
        next: KubeVersion,
    },
}

/// Checks that `from` → `to` is an upgrade EKS makes in place (same version, or the
/// next minor version).
pub fn check_upgrade(from: KubeVersion, to: KubeVersion) -> Result<(), VersionChangeError> {
    let next = KubeVersion {
        major: from.major,
        minor: from.minor + 1,
    };
    if to < from {
        Err(VersionChangeError::Downgrade { from, to })
    } else if to == from || to == next {
        Ok(())
    } else {
        Err(VersionChangeError::Skip { from, to, next })
    }
}

/// One in-place change, as EKS makes it (one at a time: EKS allows a single update in
/// flight per cluster).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateStep {
    /// `UpdateClusterVersion`.
    Version { to: String },
    /// `UpdateClusterConfig` with `logging`: exactly `enabled` on, every other type off.
    Logging { enabled: BTreeSet<String> },
    /// `UpdateClusterConfig` with `resourcesVpcConfig`'s endpoint fields.
    EndpointAccess {
        public: bool,
        private: bool,
        /// `None`: leave the CIDRs as they are.
        public_access_cidrs: Option<BTreeSet<String>>,
    },
}

impl UpdateStep {
    /// What the step changes, for logs and messages.
    pub fn describe(&self) -> String {
        match self {
            UpdateStep::Version { to } => format!("kubernetes version upgrade to {to}"),
            UpdateStep::Logging { enabled } if enabled.is_empty() => {
                "control-plane logging change (all off)".into()
            }
            UpdateStep::Logging { enabled } => format!(
                "control-plane logging change (on: {})",
                enabled.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            UpdateStep::EndpointAccess { .. } => "endpoint access change".into(),
        }
    }
}

/// The in-place updates that take a cluster from `old` to `new`, in the order they are
/// made: version first (the long one, and the one the others may depend on: new log
/// types or endpoint features can need a newer platform), then logging, then endpoint
/// access. Attributes that force replacement are not looked at; tags are not EKS
/// "updates" (they go through TagResource and need no wait).
pub fn update_steps(old: &ClusterSpec, new: &ClusterSpec) -> Vec<UpdateStep> {
    let mut steps = Vec::new();
    if let Some(to) = &new.kubernetes_version
        && old.kubernetes_version.as_ref() != Some(to)
    {
        steps.push(UpdateStep::Version { to: to.clone() });
    }
    if old.enabled_log_types != new.enabled_log_types {
        steps.push(UpdateStep::Logging {
            enabled: new.enabled_log_types.clone(),
        });
    }
    let cidrs_changed =
        new.public_access_cidrs.is_some() && old.public_access_cidrs != new.public_access_cidrs;
    if old.endpoint_public_access != new.endpoint_public_access
        || old.endpoint_private_access != new.endpoint_private_access
        || cidrs_changed
    {
        steps.push(UpdateStep::EndpointAccess {
            public: new.endpoint_public_access,
            private: new.endpoint_private_access,
            public_access_cidrs: if cidrs_changed {
                new.public_access_cidrs.clone()
            } else {
                None
            },
        });
    }
    steps
}

/// Tags to set (new or changed values) and tag keys to remove, from `old` to `new`.
pub fn tag_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect();
    (set, remove)
}

/// Whether a tag is AWS's own (`aws:…`): never set, removed or reported by us.
pub fn is_aws_tag(key: &str) -> bool {
    key.starts_with("aws:")
}
