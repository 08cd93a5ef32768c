//! The engine behind the `strata_eks_cluster` resource: one EKS control plane, and the
//! IAM role it runs as when the configuration names none.
//!
//! Where to start:
//! * [`spec`] — pure: the desired cluster ([`ClusterSpec`]), input validation with the
//!   attribute each problem concerns ([`validate`]), Kubernetes version arithmetic
//!   ([`check_upgrade`]: one minor version up, never down) and the ordered in-place
//!   changes of an update ([`update_steps`]).
//! * [`create`], [`read`], [`update`], [`delete`] — the EKS (and IAM) calls, each bounded
//!   by its timeout, with EKS's state transitions waited for.
//!
//! The engine's contract with the Terraform glue, as for the network engine: what the
//! engine creates is written into the `&mut` [`ClusterState`] the moment AWS confirms
//! it (the role's name before the cluster is even asked for), so when a create fails
//! half-way the caller saves that state and a later destroy removes the role too.
//! [`delete`] tolerates a cluster or role that is already gone.

use crate::aws::code_and_message;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::iam_role::IamRoleError;

mod engine;
pub mod spec;
mod wait;

pub use engine::{create, delete, read, update};
pub use spec::{
    ClusterInput, ClusterSpec, KubeVersion, LOG_TYPES, SpecProblem, UpdateStep, VersionChangeError,
    check_upgrade, role_name_for, update_steps, validate,
};

/// The service principal of EKS's control plane, trusted by the cluster role.
pub const EKS_SERVICE_PRINCIPAL: &str = "eks.amazonaws.com";
/// Managed policies attached to the role the provider creates: the cluster policy, and
/// the VPC resource controller policy (security groups for pods, trunk ENIs).
pub const CLUSTER_ROLE_POLICIES: [&str; 2] =
    ["AmazonEKSClusterPolicy", "AmazonEKSVPCResourceController"];

/// Errors of the cluster engine.
#[derive(Debug, thiserror::Error)]
pub enum EksClusterError {
    /// An EKS call failed after the SDK's own retries (and ours, where the error is one
    /// that eventual consistency explains).
    #[error("failed to {operation} {object}: {}", code_and_message(.code.as_deref(), .message))]
    Aws {
        /// The operation (`create`, `describe`, `upgrade`…).
        operation: &'static str,
        /// The object (`eks cluster prod`).
        object: String,
        /// The AWS error code (`ResourceInUseException`…), absent for transport errors.
        code: Option<String>,
        /// The AWS error message, or the transport error chain.
        message: String,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Creating or deleting the cluster's IAM role failed.
    #[error(transparent)]
    Role(#[from] IamRoleError),
    /// A wait ran out of the operation's timeout.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was awaited (`eks cluster prod to become ACTIVE (now CREATING)`).
        what: String,
        /// The operation's timeout.
        waited: Duration,
    },
    /// The cluster went to `FAILED`.
    #[error("eks cluster {name} failed (status FAILED): {issues}")]
    ClusterFailed {
        /// The cluster.
        name: String,
        /// Its `health.issues`, one per line (or a note that EKS gave none).
        issues: String,
    },
    /// An in-place update ended `Failed` or `Cancelled`.
    #[error("eks cluster {name}: {what} (update {update_id}) ended {status}: {errors}")]
    UpdateFailed {
        /// The cluster.
        name: String,
        /// The step ([`UpdateStep::describe`]).
        what: String,
        /// EKS's update ID.
        update_id: String,
        /// `Failed` or `Cancelled`.
        status: String,
        /// The update's errors.
        errors: String,
    },
    /// The cluster is in a state the operation cannot continue from (e.g. `DELETING`
    /// while waiting for `ACTIVE`).
    #[error("eks cluster {name} is {status} while waiting for it to be {wanted}")]
    UnexpectedStatus {
        /// The cluster.
        name: String,
        /// Its status.
        status: String,
        /// What the wait wanted.
        wanted: &'static str,
    },
    /// A successful response lacked a field AWS always returns.
    #[error("unexpected response to {operation} {object}: {detail}")]
    UnexpectedResponse {
        /// The operation.
        operation: &'static str,
        /// The object.
        object: String,
        /// What is wrong with the response.
        detail: String,
    },
}

impl EksClusterError {
    /// The AWS error code, when this is an EKS error.
    pub fn code(&self) -> Option<&str> {
        match self {
            EksClusterError::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether EKS says the cluster does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some("ResourceNotFoundException")
    }
}

pub use crate::wait::Timeouts;

/// Defaults of the `timeouts` block.
/// [`create`]: EKS takes 10–15 minutes to create a control plane.
/// [`update`]: a version upgrade alone takes 20–40 minutes.
/// [`delete`]: a control plane is gone in 5–10 minutes.
pub const DEFAULT_TIMEOUTS: Timeouts = Timeouts {
    create: Duration::from_secs(30 * 60),
    update: Duration::from_secs(60 * 60),
    delete: Duration::from_secs(15 * 60),
};

/// What a create has made so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterState {
    /// The role the provider created (and so deletes with the cluster).
    pub created_role_name: Option<String>,
    /// The role the cluster runs as (given, or the created one's ARN).
    pub role_arn: Option<String>,
    /// EKS accepted `CreateCluster`: a cluster of the spec's name exists (or did).
    pub cluster_requested: bool,
    /// The last description of the cluster seen while waiting.
    pub last_seen: Option<ObservedCluster>,
}

/// A cluster as EKS describes it, in the resource's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedCluster {
    pub name: String,
    pub arn: Option<String>,
    pub kubernetes_version: Option<String>,
    pub role_arn: Option<String>,
    pub subnet_ids: BTreeSet<String>,
    pub security_group_ids: BTreeSet<String>,
    pub endpoint_public_access: bool,
    pub endpoint_private_access: bool,
    pub public_access_cidrs: BTreeSet<String>,
    pub service_ipv4_cidr: Option<String>,
    /// Log types whose logging is enabled.
    pub enabled_log_types: BTreeSet<String>,
    /// The KMS key that encrypts `secrets`, if any.
    pub encryption_kms_key_arn: Option<String>,
    /// Tags, without AWS's own `aws:` ones.
    pub tags: BTreeMap<String, String>,
    pub endpoint: Option<String>,
    pub certificate_authority_data: Option<String>,
    pub oidc_issuer_url: Option<String>,
    pub platform_version: Option<String>,
    /// `CREATING`, `ACTIVE`, `UPDATING`, `DELETING`, `FAILED`, `PENDING`.
    pub status: String,
    /// The security group EKS creates for the control plane and managed nodes.
    pub cluster_security_group_id: Option<String>,
    /// `health.issues`, as `CODE: message (resources)`.
    pub health_issues: Vec<String>,
}

#[cfg(test)]
mod tests;

impl From<crate::wait::Timeout> for EksClusterError {
    fn from(t: crate::wait::Timeout) -> Self {
        EksClusterError::Timeout {
            what: t.what,
            waited: t.waited,
        }
    }
}
