//! The pure rules of a peering: no I/O, so every one is unit-tested.

use std::collections::BTreeSet;

use ipnet::Ipv4Net;

/// Connection states after which the connection can never carry traffic again: read
/// reports such a connection as gone, so the next plan re-creates it. (`deleting` is on
/// its way to `deleted`.)
pub const GONE_STATES: [&str; 5] = ["deleted", "deleting", "rejected", "expired", "failed"];

/// The state of a working connection.
pub const ACTIVE: &str = "active";

/// The state in which the accepter can accept.
pub const PENDING_ACCEPTANCE: &str = "pending-acceptance";

/// Whether a connection in state `status` is gone for good.
pub fn is_gone(status: &str) -> bool {
    GONE_STATES.contains(&status)
}

/// Whether two IPv4 networks share any address. (Two CIDR blocks either nest or are
/// disjoint, so it is enough to check whether one contains the other's first address.)
pub fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The diagnostic text for overlapping CIDRs.
pub fn overlap_message(requester: Ipv4Net, accepter: Ipv4Net) -> String {
    format!(
        "the requester vpc's cidr block {requester} overlaps the accepter vpc's {accepter}: AWS cannot peer VPCs whose address ranges overlap. Peer VPCs with disjoint ranges (for example 10.0.0.0/16 and 10.1.0.0/16)"
    )
}

/// The attribute an overlap diagnostic points at: `accepter_cidr_block` when the
/// configuration sets it (the line a person would change), otherwise `accepter_vpc_id`
/// (the CIDR came from that VPC, and an unset attribute has no line to point at).
pub fn overlap_attribute(accepter_cidr_configured: bool) -> &'static str {
    if accepter_cidr_configured {
        "accepter_cidr_block"
    } else {
        "accepter_vpc_id"
    }
}

/// Routes to add and remove on one side to go from the tables that hold our route now
/// to the tables the configuration names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteChanges {
    /// Tables that need the route.
    pub add: BTreeSet<String>,
    /// Tables whose route must go.
    pub remove: BTreeSet<String>,
}

impl RouteChanges {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// The changes from `current` (tables holding our route, as read) to `wanted`. Tables
/// in both are left alone: adding or removing one table never touches the others.
pub fn route_changes(current: &BTreeSet<String>, wanted: &BTreeSet<String>) -> RouteChanges {
    RouteChanges {
        add: wanted.difference(current).cloned().collect(),
        remove: current.difference(wanted).cloned().collect(),
    }
}

/// The route tables a refresh keeps in state: those the state names that still hold
/// our route (a route removed out of band drops its table, so the plan shows the route
/// being added back). On import the state names none yet (`None`): every table routed
/// through the connection is recovered.
pub fn refreshed_route_tables(
    in_state: Option<&BTreeSet<String>>,
    found: &BTreeSet<String>,
) -> BTreeSet<String> {
    match in_state {
        Some(named) => named.intersection(found).cloned().collect(),
        None => found.clone(),
    }
}

/// The single `allow_remote_vpc_dns_resolution` value for the options of the two
/// sides. When they disagree (one side changed out of band) the result is the opposite
/// of what the state held, so the plan always shows a change and the update sets both
/// sides again. A side that cannot be seen (`None`) does not count.
pub fn dns_resolution(requester: Option<bool>, accepter: Option<bool>, prior: bool) -> bool {
    match (requester, accepter) {
        (Some(r), Some(a)) if r != a => !prior,
        (Some(v), _) | (None, Some(v)) => v,
        (None, None) => prior,
    }
}

/// An import ID: `pcx-…` (requested from the provider's region) or `REGION/pcx-…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportId {
    /// The requester's region, when given.
    pub region: Option<String>,
    /// The connection.
    pub connection_id: String,
}

/// Parses an import ID, or says what is wrong with it.
pub fn parse_import_id(id: &str) -> Result<ImportId, String> {
    let (region, pcx) = match id.split_once('/') {
        Some((r, p)) => (Some(r), p),
        None => (None, id),
    };
    let valid_region = |r: &str| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if let Some(r) = region
        && !valid_region(r)
    {
        return Err(format!(
            "{r:?} is not a region name (like `us-east-1`) in {id:?}"
        ));
    }
    let suffix = pcx.strip_prefix("pcx-").unwrap_or_default();
    if suffix.is_empty() || !suffix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "{pcx:?} is not a VPC peering connection ID (`pcx-0abc…`)"
        ));
    }
    Ok(ImportId {
        region: region.map(str::to_owned),
        connection_id: pcx.to_owned(),
    })
}
