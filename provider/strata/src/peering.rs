//! The engine behind `strata_vpc_peering`: a VPC peering connection between two VPCs
//! (same or different regions, same account or not), accepted on the accepter side by
//! the same operation, with routes to the peer's CIDR in named route tables on both
//! sides and DNS resolution across the peering.
//!
//! Where to start:
//! * [`rules`] — pure: CIDR overlap, route-table set changes, which connection states
//!   mean "gone", import IDs, how the two sides' DNS options read as one value.
//! * [`PeeringSpec`] (what is wanted) and [`PeeringState`] (what exists); [`create`],
//!   [`read`], [`update`] and [`delete`] drive EC2 with one client per side, each in its
//!   own region (`AwsClients::ec2(Some(region))`): the connection is requested and
//!   tagged in the requester region, accepted and its accepter options set in the
//!   accepter region, and each side's routes go through its own region's client.
//!
//! The contract with the Terraform glue is the network engine's: the connection ID is
//! written into the `&mut PeeringState` the moment AWS returns it, every route the
//! moment it exists, so a half-finished create is saved as it is and nothing is
//! orphaned; [`delete`] tolerates anything already gone.
//!
//! Accounts: when the accepter VPC belongs to another account, only that account can
//! accept the request and manage its side, so the engine then creates the request, waits
//! for the other account to accept it, and manages the requester side only (accepter
//! route tables are refused before anything is created).

use crate::aws::code_and_message;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use ipnet::Ipv4Net;

pub mod rules;

mod engine;

pub use engine::{create, delete, lookup_vpc_cidr, read, update};

/// One end of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The VPC that requests the connection (its region creates it).
    Requester,
    /// The VPC that accepts it.
    Accepter,
}

impl Side {
    /// The other side.
    pub fn peer(self) -> Side {
        match self {
            Side::Requester => Side::Accepter,
            Side::Accepter => Side::Requester,
        }
    }
    /// The attribute holding this side's VPC ID.
    pub fn vpc_attribute(self) -> &'static str {
        match self {
            Side::Requester => "requester_vpc_id",
            Side::Accepter => "accepter_vpc_id",
        }
    }
    /// The attribute holding this side's CIDR block.
    pub fn cidr_attribute(self) -> &'static str {
        match self {
            Side::Requester => "requester_cidr_block",
            Side::Accepter => "accepter_cidr_block",
        }
    }
    /// The attribute naming this side's route tables.
    pub fn route_tables_attribute(self) -> &'static str {
        match self {
            Side::Requester => "requester_route_table_ids",
            Side::Accepter => "accepter_route_table_ids",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Requester => "requester",
            Side::Accepter => "accepter",
        })
    }
}

/// Errors of the peering engine.
#[derive(Debug, thiserror::Error)]
pub enum PeeringError {
    /// An EC2 call failed after the SDK's own retries (and ours, where eventual
    /// consistency explains the error).
    #[error("failed to {operation} {object}: {}", code_and_message(.code.as_deref(), .message))]
    Aws {
        /// The operation, as a verb (`create`, `accept`, `describe`…).
        operation: &'static str,
        /// The object and its identity (`vpc peering connection pcx-0abc in us-east-1`).
        object: String,
        /// The AWS error code, absent for transport errors.
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
        /// What was awaited.
        what: String,
        /// The operation's timeout.
        waited: Duration,
    },
    /// The connection ended in a state it cannot leave (`failed`, `rejected`,
    /// `expired`, `deleted`) while we waited for it to become usable.
    #[error("vpc peering connection {id} is {status}: {message}")]
    ConnectionEnded {
        /// The connection.
        id: String,
        /// Its status code.
        status: String,
        /// AWS's status message (for `failed`, the reason, e.g. overlapping CIDRs).
        message: String,
    },
    /// A VPC named in the configuration does not exist in its region.
    #[error("{side} vpc {vpc_id} does not exist in {region}")]
    VpcNotFound {
        /// Which side names it.
        side: Side,
        /// The VPC.
        vpc_id: String,
        /// The region it was looked for in.
        region: String,
    },
    /// A configured CIDR block is not the VPC's.
    #[error("{side} cidr block is configured as {configured}, but vpc {vpc_id} has {actual}")]
    CidrMismatch {
        /// Which side.
        side: Side,
        /// The VPC.
        vpc_id: String,
        /// What the configuration says.
        configured: Ipv4Net,
        /// What AWS says.
        actual: Ipv4Net,
    },
    /// The two VPCs' CIDR blocks overlap; AWS cannot route between them.
    #[error("{}", rules::overlap_message(*.requester, *.accepter))]
    Overlap {
        /// The requester VPC's CIDR.
        requester: Ipv4Net,
        /// The accepter VPC's CIDR.
        accepter: Ipv4Net,
    },
    /// Accepter route tables were named for a VPC in another account.
    #[error(
        "the accepter vpc belongs to account {accepter_account}, not {requester_account}: its route tables can only be changed with that account's credentials"
    )]
    CrossAccountRoutes {
        /// The requester VPC's owner (the provider's account).
        requester_account: String,
        /// The accepter VPC's owner.
        accepter_account: String,
    },
    /// A route table already has a route to the peer's CIDR through something else.
    #[error(
        "route table {route_table} already routes {destination} to {target}; remove that route or leave the table out"
    )]
    RouteConflict {
        /// Which side the table is on.
        side: Side,
        /// The table.
        route_table: String,
        /// The peer CIDR.
        destination: Ipv4Net,
        /// What the existing route points at.
        target: String,
    },
    /// A successful response lacked a field AWS always returns or had one we cannot parse.
    #[error("unexpected response to {operation} {object}: {detail}")]
    UnexpectedResponse {
        /// The operation.
        operation: &'static str,
        /// The object.
        object: String,
        /// What is wrong.
        detail: String,
    },
    /// Terraform asked the provider to stop (Ctrl-C) before the operation ended.
    #[error("interrupted: Terraform asked the provider to stop")]
    Interrupted,
    /// An operation needed the connection ID but the state has none.
    #[error("the state has no vpc peering connection id: the connection was never created")]
    NoConnectionId,
}

impl PeeringError {
    /// The AWS error code, when this is an AWS error.
    pub fn code(&self) -> Option<&str> {
        match self {
            PeeringError::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether AWS says the object does not exist (`InvalidVpcPeeringConnectionID.NotFound`,
    /// `InvalidRouteTableID.NotFound`, `InvalidRoute.NotFound`…).
    pub fn is_not_found(&self) -> bool {
        self.code().is_some_and(|c| c.ends_with("NotFound"))
    }

    /// The configuration attribute this error is about, for the diagnostic's path.
    pub fn attribute(&self, config_has_accepter_cidr: bool) -> Option<&'static str> {
        match self {
            PeeringError::VpcNotFound { side, .. } => Some(side.vpc_attribute()),
            PeeringError::CidrMismatch { side, .. } => Some(side.cidr_attribute()),
            PeeringError::Overlap { .. } => {
                Some(rules::overlap_attribute(config_has_accepter_cidr))
            }
            PeeringError::CrossAccountRoutes { .. } => {
                Some(Side::Accepter.route_tables_attribute())
            }
            PeeringError::RouteConflict { side, .. } => Some(side.route_tables_attribute()),
            _ => None,
        }
    }
}

pub use crate::wait::Timeouts;

/// Defaults of the `timeouts` block.
/// [`create`]: request, acceptance, `active`, options, routes (default 10 minutes;
/// cross-account, the other account must accept within it).
/// [`update`] (default 10 minutes).
/// [`delete`]: routes, then the connection until `deleted` (default 10 minutes).
pub const DEFAULT_TIMEOUTS: Timeouts = Timeouts {
    create: Duration::from_secs(600),
    update: Duration::from_secs(600),
    delete: Duration::from_secs(600),
};

/// One side of the wanted connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideSpec {
    /// The VPC.
    pub vpc_id: String,
    /// Its region.
    pub region: String,
    /// The CIDR the configuration states (checked against the VPC before anything is
    /// created); `None` = take the VPC's.
    pub cidr: Option<Ipv4Net>,
    /// Route tables (of this side's VPC) that get a route to the peer's CIDR.
    pub route_tables: BTreeSet<String>,
}

/// The wanted connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeeringSpec {
    /// The requesting VPC.
    pub requester: SideSpec,
    /// The accepting VPC.
    pub accepter: SideSpec,
    /// The accepter VPC's owner when it is not the requester's account.
    pub accepter_account_id: Option<String>,
    /// `AllowDnsResolutionFromRemoteVpc` on both sides.
    pub dns_resolution: bool,
    /// The connection's tags (default tags merged in).
    pub tags: BTreeMap<String, String>,
}

impl PeeringSpec {
    /// The spec of one side.
    pub fn side(&self, side: Side) -> &SideSpec {
        match side {
            Side::Requester => &self.requester,
            Side::Accepter => &self.accepter,
        }
    }
}

/// What exists. Empty sets / `None` = nothing (yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeeringState {
    /// The connection (`pcx-…`).
    pub connection_id: Option<String>,
    /// Its last seen status code (`pending-acceptance`, `active`…).
    pub status: Option<String>,
    /// The requester VPC's CIDR, once known.
    pub requester_cidr: Option<Ipv4Net>,
    /// The accepter VPC's CIDR, once known.
    pub accepter_cidr: Option<Ipv4Net>,
    /// Requester-side route tables holding our route to the accepter's CIDR.
    pub requester_routes: BTreeSet<String>,
    /// Accepter-side route tables holding our route to the requester's CIDR.
    pub accepter_routes: BTreeSet<String>,
    /// `AllowDnsResolutionFromRemoteVpc` as set on both sides (`false` until we set it:
    /// AWS's default).
    pub dns_resolution: bool,
}

impl PeeringState {
    /// The route tables of one side that hold our route.
    pub fn routes(&self, side: Side) -> &BTreeSet<String> {
        match side {
            Side::Requester => &self.requester_routes,
            Side::Accepter => &self.accepter_routes,
        }
    }
    fn routes_mut(&mut self, side: Side) -> &mut BTreeSet<String> {
        match side {
            Side::Requester => &mut self.requester_routes,
            Side::Accepter => &mut self.accepter_routes,
        }
    }
    /// The CIDR of one side.
    pub fn cidr(&self, side: Side) -> Option<Ipv4Net> {
        match side {
            Side::Requester => self.requester_cidr,
            Side::Accepter => self.accepter_cidr,
        }
    }
}

/// What [`read`] finds about one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSide {
    /// The VPC.
    pub vpc_id: String,
    /// Its region.
    pub region: String,
    /// Its owner account.
    pub owner_id: Option<String>,
    /// Its CIDR (AWS may leave it out while the request is pending).
    pub cidr: Option<Ipv4Net>,
    /// Every route table of this side with a route to the peer's CIDR through this
    /// connection (the glue keeps only the ones it manages, except on import).
    pub route_tables: BTreeSet<String>,
    /// `AllowDnsResolutionFromRemoteVpc` of this side; `None` when it cannot be seen
    /// (the other account's side of a cross-account connection).
    pub dns_resolution: Option<bool>,
}

/// What [`read`] finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedPeering {
    /// The connection.
    pub connection_id: String,
    /// Its status code.
    pub status: String,
    /// The requester side.
    pub requester: ObservedSide,
    /// The accepter side.
    pub accepter: ObservedSide,
    /// The connection's tags (as seen in the requester region).
    pub tags: BTreeMap<String, String>,
}

impl ObservedPeering {
    /// Whether the accepter VPC belongs to another account.
    pub fn cross_account(&self) -> bool {
        matches!(
            (&self.requester.owner_id, &self.accepter.owner_id),
            (Some(r), Some(a)) if r != a
        )
    }
}

#[cfg(test)]
mod tests;

impl From<crate::wait::Timeout> for PeeringError {
    fn from(t: crate::wait::Timeout) -> Self {
        PeeringError::Timeout {
            what: t.what,
            waited: t.waited,
        }
    }
}
