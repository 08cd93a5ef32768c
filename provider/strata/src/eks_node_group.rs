//! The engine behind the `strata_eks_node_group` resource: one EKS managed node group,
//! and the IAM role its nodes use when the configuration names none.
//!
//! Where to start:
//! * [`spec`] — pure: the desired group ([`NodeGroupSpec`]), validation with attribute
//!   paths ([`validate`]), what an in-place update sends ([`config_update`],
//!   [`version_update`]) and the node role's name ([`node_role_name`]).
//! * [`create`], [`read`], [`update`], [`delete`] drive EKS (and IAM for the node role).
//!
//! The engine's contract with the Terraform glue: whatever exists is written into the
//! `&mut NodeGroupState` the moment AWS says so (the created role before the node group
//! is asked for; the node group's ARN as soon as `CreateNodegroup` answers), so when an
//! operation fails half-way the caller saves that state and [`delete`] can remove it.
//! Every wait is bounded by the operation's timeout; EKS's and IAM's eventual
//! consistency (a role just created, a node group just created or just updated) is
//! retried within it.

use crate::aws::code_and_message;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::iam_role::IamRoleError;

pub mod spec;

mod engine;
mod wait;

pub use engine::{create, delete, read, update};
pub use spec::{
    CapacityType, ConfigUpdate, LabelChanges, NodeGroupInput, NodeGroupSpec, PathStep, Scaling,
    SpecError, SpecProblem, Taint, TaintChanges, TaintEffect, TaintInput, VersionUpdate,
    check_scaling, config_update, label_changes, node_role_name, order_taints_like,
    parse_import_id, planned_desired_size, taint_changes, validate, version_update,
};

/// Errors of the node group engine.
#[derive(Debug, thiserror::Error)]
pub enum NodeGroupError {
    /// An EKS call failed after the SDK's own retries (and ours, where the error is one
    /// that eventual consistency explains).
    #[error("failed to {operation} {object}: {}", code_and_message(.code.as_deref(), .message))]
    Aws {
        /// The operation, as a verb phrase (`create`, `describe`, `update the config of`…).
        operation: &'static str,
        /// The object (`node group knowledgebeast-west:standard-workers`).
        object: String,
        /// The AWS error code (`ResourceInUseException`, `InvalidParameterException`…),
        /// absent for transport errors.
        code: Option<String>,
        /// The AWS error message, or the transport error chain.
        message: String,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Creating or deleting the node role failed.
    #[error(transparent)]
    Role(#[from] IamRoleError),
    /// The node group went to `CREATE_FAILED` or `DELETE_FAILED`.
    #[error("{object} is {status}: {}", issues_text(.issues))]
    Failed {
        /// The node group.
        object: String,
        /// `CREATE_FAILED` or `DELETE_FAILED`.
        status: String,
        /// The node group's `health.issues`.
        issues: Vec<HealthIssue>,
    },
    /// An update ended `Failed` or `Cancelled`.
    #[error("update {update_id} of {object} ended {status}: {}", if .errors.is_empty() { "EKS gave no reason".to_owned() } else { .errors.join("; ") })]
    UpdateFailed {
        /// The node group.
        object: String,
        /// EKS's update ID.
        update_id: String,
        /// `Failed` or `Cancelled`.
        status: String,
        /// The update's errors, as `CODE: message`.
        errors: Vec<String>,
    },
    /// The node group disappeared while we were waiting for it to become `ACTIVE`.
    #[error("{object} disappeared while waiting for it to become ACTIVE (deleted out of band?)")]
    Vanished {
        /// The node group.
        object: String,
    },
    /// A wait for an AWS state transition ran out of the operation's timeout.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was awaited (`node group a:b to become ACTIVE (last status CREATING)`).
        what: String,
        /// The operation's timeout.
        waited: Duration,
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

impl NodeGroupError {
    /// The AWS error code, when this is an EKS error.
    pub fn code(&self) -> Option<&str> {
        match self {
            NodeGroupError::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether EKS says the node group (or its cluster) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some("ResourceNotFoundException")
    }
}

fn issues_text(issues: &[HealthIssue]) -> String {
    if issues.is_empty() {
        return "EKS reports no health issues".to_owned();
    }
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One of a node group's `health.issues`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthIssue {
    /// The issue code (`AsgInstanceLaunchFailures`, `NodeCreationFailure`…).
    pub code: String,
    /// EKS's message.
    pub message: String,
    /// The AWS resources concerned (instance IDs, the Auto Scaling group…).
    pub resource_ids: Vec<String>,
}

impl std::fmt::Display for HealthIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if !self.resource_ids.is_empty() {
            write!(f, " ({})", self.resource_ids.join(", "))?;
        }
        Ok(())
    }
}

pub use crate::wait::Timeouts;

/// Defaults of the `timeouts` block.
/// [`create`]: node groups take 3–10 minutes to launch and join their nodes.
/// [`update`]: a version update rolls every node, `max_unavailable` at a time.
/// [`delete`]: nodes are drained and terminated first.
pub const DEFAULT_TIMEOUTS: Timeouts = Timeouts {
    create: Duration::from_secs(3600),
    update: Duration::from_secs(3600),
    delete: Duration::from_secs(3600),
};

/// What exists of a node group, as far as Terraform must remember.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeGroupState {
    /// The node role in use (given, or created).
    pub node_role_arn: Option<String>,
    /// The name of the role the provider created (to delete with the group).
    pub created_role_name: Option<String>,
    /// The node group's ARN, once `CreateNodegroup` answered.
    pub arn: Option<String>,
}

/// A node group as EKS reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedNodeGroup {
    /// The cluster.
    pub cluster_name: String,
    /// The node group's name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// `ACTIVE`, `CREATING`, `DEGRADED`…
    pub status: String,
    /// Subnets.
    pub subnet_ids: BTreeSet<String>,
    /// Instance types.
    pub instance_types: Vec<String>,
    /// `ON_DEMAND`, `SPOT` (or `CAPACITY_BLOCK`, which this resource does not create).
    pub capacity_type: Option<String>,
    /// AMI type.
    pub ami_type: Option<String>,
    /// Root volume size in GiB.
    pub disk_size: Option<i32>,
    /// Scaling (`None` when EKS reports none).
    pub scaling: Option<Scaling>,
    /// Kubernetes labels.
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints (in EKS's order).
    pub taints: Vec<Taint>,
    /// `updateConfig.maxUnavailable`: EKS's default (1) when it reports no update
    /// config at all, `None` when the group uses `maxUnavailablePercentage` instead.
    pub max_unavailable: Option<i32>,
    /// Kubernetes version.
    pub kubernetes_version: Option<String>,
    /// AMI release version.
    pub release_version: Option<String>,
    /// The node role.
    pub node_role_arn: Option<String>,
    /// Tags, without AWS's own `aws:` ones.
    pub tags: BTreeMap<String, String>,
    /// `health.issues`.
    pub health_issues: Vec<HealthIssue>,
}

#[cfg(test)]
mod tests;

impl From<crate::wait::Timeout> for NodeGroupError {
    fn from(t: crate::wait::Timeout) -> Self {
        NodeGroupError::Timeout {
            what: t.what,
            waited: t.waited,
        }
    }
}
