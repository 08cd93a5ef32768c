//! The engine behind the `strata_vpc` resource: one production network in one region.
//!
//! The network is a VPC, an internet gateway, a public and a private subnet in each
//! availability zone (keyed by AZ name, never by list position), NAT gateways with their
//! Elastic IPs ([`NatMode`]: none, a single one, or one per AZ), one public route table
//! (`0.0.0.0/0` → IGW, associated with every public subnet) and one private route table
//! per AZ (`0.0.0.0/0` → the NAT gateway its mode assigns, none in `none` mode).
//!
//! Where to start:
//! * [`spec`] — pure: the desired network ([`NetworkSpec`]), input validation with
//!   attribute paths ([`validate`]), automatic subnet carving ([`carve`]).
//! * [`tags`] — pure: names and marker tags of every owned object, and the read-side
//!   filter that hides tags AWS and EKS add themselves.
//! * [`NetworkState`] — the IDs of everything that exists; [`create`], [`read`],
//!   [`update`] and [`delete`] drive EC2 from a spec and a state.
//!
//! The engine's contract with the Terraform glue: every ID is written into the
//! `&mut NetworkState` the moment AWS returns it (and cleared the moment the object is
//! deleted), so when an operation fails half-way the caller saves that state as it is
//! and nothing the engine created is ever lost; [`delete`] tolerates objects that are
//! already gone.

use crate::aws::code_and_message;
use std::collections::BTreeMap;
use std::time::Duration;

use ipnet::Ipv4Net;

pub mod spec;
pub mod tags;

mod engine;
mod layout;

pub use engine::{create, delete, read, update};
pub use layout::infer_nat_mode;
pub use spec::{
    AzSpec, NatMode, NetworkInput, NetworkSpec, PathStep, SpecError, SpecProblem, build, carve,
    validate,
};

/// Errors of the network engine.
#[derive(Debug, thiserror::Error)]
pub enum VpcError {
    /// An EC2 call failed after the SDK's own retries (and ours, where the error is one
    /// that eventual consistency explains).
    #[error("failed to {operation} {object}: {}", code_and_message(.code.as_deref(), .message))]
    Aws {
        /// The operation, as a verb phrase (`create`, `attach`, `describe`…).
        operation: &'static str,
        /// The object and its identity (`subnet subnet-0abc (public, us-west-2a)`).
        object: String,
        /// The AWS error code (`DependencyViolation`, `InvalidSubnetID.NotFound`…),
        /// absent for transport errors.
        code: Option<String>,
        /// The AWS error message, or the transport error chain.
        message: String,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A wait for an AWS state transition ran out of the operation's timeout.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was awaited (`nat gateway nat-0abc to become available`).
        what: String,
        /// The operation's timeout.
        waited: Duration,
    },
    /// A NAT gateway went to the `failed` state instead of `available`.
    #[error("nat gateway {id} failed: {}", code_and_message(.code.as_deref(), .message))]
    NatGatewayFailed {
        /// The NAT gateway.
        id: String,
        /// AWS's `FailureCode` (e.g. `InsufficientFreeAddressesInSubnet`).
        code: Option<String>,
        /// AWS's `FailureMessage`.
        message: String,
    },
    /// A successful response lacked a field AWS always returns (e.g. the new ID) or had
    /// one we cannot parse (e.g. a CIDR block).
    #[error("unexpected response to {operation} {object}: {detail}")]
    UnexpectedResponse {
        /// The operation.
        operation: &'static str,
        /// The object.
        object: String,
        /// What is wrong with the response.
        detail: String,
    },
    /// `update` was given a state without a VPC ID: there is nothing to update.
    #[error("the network state has no vpc id: the network was never created or was lost")]
    NoVpcId,
    /// `update` was asked to change something AWS cannot change in place; the caller
    /// must plan a replacement (delete + create) instead.
    #[error("changing {attribute} requires replacing the network")]
    RequiresReplacement {
        /// The attribute (`cidr_block`).
        attribute: &'static str,
    },
}

impl VpcError {
    /// The AWS error code, when this is an AWS error.
    pub fn code(&self) -> Option<&str> {
        match self {
            VpcError::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether AWS says the object does not exist (`InvalidVpcID.NotFound`,
    /// `NatGatewayNotFound`, `InvalidRoute.NotFound`…).
    pub fn is_not_found(&self) -> bool {
        self.code().is_some_and(|c| c.ends_with("NotFound"))
    }
}

pub use crate::wait::Timeouts;

/// Defaults of the `timeouts` block.
/// [`create`] (default 10 minutes: NAT gateways take 1–3 minutes each, in parallel).
/// [`update`] (default 10 minutes).
/// [`delete`] (default 10 minutes: NAT gateway deletion takes about a minute, and
/// AWS releases their network interfaces a little later).
pub const DEFAULT_TIMEOUTS: Timeouts = Timeouts {
    create: Duration::from_secs(600),
    update: Duration::from_secs(600),
    delete: Duration::from_secs(600),
};

/// IDs of everything the network owns. `None` = does not exist (yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkState {
    /// The VPC.
    pub vpc_id: Option<String>,
    /// The internet gateway (attached to the VPC).
    pub internet_gateway_id: Option<String>,
    /// The public route table.
    pub public_route_table_id: Option<String>,
    /// Target of the public route table's `0.0.0.0/0` route (the IGW when intact).
    pub public_route_target: Option<String>,
    /// Per-AZ objects, keyed by AZ name.
    pub azs: BTreeMap<String, AzState>,
}

/// IDs of one AZ's objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AzState {
    /// The public subnet.
    pub public_subnet_id: Option<String>,
    /// Association of the public subnet with the public route table.
    pub public_route_table_association_id: Option<String>,
    /// The private subnet.
    pub private_subnet_id: Option<String>,
    /// This AZ's private route table.
    pub private_route_table_id: Option<String>,
    /// Association of the private subnet with the private route table.
    pub private_route_table_association_id: Option<String>,
    /// Target of the private route table's `0.0.0.0/0` route: the NAT gateway it goes
    /// through (possibly another AZ's in `single` mode); `None` = no default route.
    pub private_route_target: Option<String>,
    /// The NAT gateway placed in this AZ's public subnet.
    pub nat_gateway_id: Option<String>,
    /// The Elastic IP of this AZ's NAT gateway.
    pub eip_allocation_id: Option<String>,
    /// Its public address.
    pub nat_public_ip: Option<String>,
}

/// What [`read`] finds, in spec terms (for drift detection and import).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedNetwork {
    /// The VPC's `Name` tag.
    pub name: Option<String>,
    /// The VPC's primary CIDR block.
    pub cidr_block: Ipv4Net,
    /// `enableDnsSupport`.
    pub enable_dns_support: bool,
    /// `enableDnsHostnames`.
    pub enable_dns_hostnames: bool,
    /// The VPC's tags without structural and foreign ones: the user's tags merged over
    /// the default tags, as they are in AWS (`tags_all` in AWS-provider terms).
    pub tags: BTreeMap<String, String>,
    /// Subnets found per AZ (by their tier tag); an AZ appears when any of its subnets
    /// exists.
    pub azs: BTreeMap<String, ObservedAz>,
    /// The NAT layout, or `None` when what exists matches no mode (e.g. one of three
    /// per-AZ NAT gateways was deleted out of band, or a default route points
    /// elsewhere): report it as "no value" so the plan shows a change that
    /// [`update`] repairs.
    pub nat_mode: Option<NatMode>,
}

/// Subnets found in one AZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObservedAz {
    /// The public subnet's CIDR, if the subnet exists.
    pub public_cidr: Option<Ipv4Net>,
    /// The private subnet's CIDR, if the subnet exists.
    pub private_cidr: Option<Ipv4Net>,
}

#[cfg(test)]
mod tests;

impl From<crate::wait::Timeout> for VpcError {
    fn from(t: crate::wait::Timeout) -> Self {
        VpcError::Timeout {
            what: t.what,
            waited: t.waited,
        }
    }
}
