//! Which tags each owned object carries, and which tags read-back ignores.
//!
//! Every object gets three kinds of tags:
//! * **user tags**: the resource's `tags` merged over the provider's `default_tags`;
//! * **structural tags** we derive ourselves: `Name`, the `strata.dev/…` markers that let
//!   `read` (and so import) recognise our objects inside a VPC, and the EKS
//!   load-balancer discovery tags on subnets;
//! * nothing else. Tags that AWS (`aws:…`) and EKS/Kubernetes
//!   (`kubernetes.io/cluster/…`) add on their own are **foreign**: never set, never
//!   removed, never reported, so they cannot show up as drift.
//!
//! [`user_view`] is the read-side filter: the tags a user could have written.

use std::collections::BTreeMap;

use super::spec::NetworkSpec;

/// The AWS console's display name.
pub const NAME: &str = "Name";
/// What the object is in the network (`vpc`, `internet-gateway`, `public-route-table`,
/// `private-route-table`, `nat-gateway`, `nat-eip`; subnets use [`TIER`]).
pub const ROLE: &str = "strata.dev/role";
/// Subnet tier: `public` or `private`.
pub const TIER: &str = "strata.dev/tier";
/// The AZ of objects that have none of their own (private route tables, EIPs).
pub const AZ: &str = "strata.dev/az";
/// The VPC an Elastic IP belongs to: EIPs live outside VPCs, so read finds them by it.
pub const VPC_ID: &str = "strata.dev/vpc-id";
/// On the VPC: the NAT mode, to tell `single` from `one_per_az` when there is one AZ.
pub const NAT_MODE: &str = "strata.dev/nat-mode";
/// EKS: public subnets host internet-facing load balancers.
pub const ELB: &str = "kubernetes.io/role/elb";
/// EKS: private subnets host internal load balancers.
pub const INTERNAL_ELB: &str = "kubernetes.io/role/internal-elb";

/// Prefix of our own marker tags.
const OWN_PREFIX: &str = "strata.dev/";
/// Prefixes of tags that others manage on our objects.
const FOREIGN_PREFIXES: [&str; 2] = ["kubernetes.io/cluster/", "aws:"];

/// AWS limits on tag keys and values (characters).
const MAX_KEY_LEN: usize = 128;
const MAX_VALUE_LEN: usize = 256;

/// `ROLE` values.
pub mod role {
    /// The VPC.
    pub const VPC: &str = "vpc";
    /// The internet gateway.
    pub const INTERNET_GATEWAY: &str = "internet-gateway";
    /// The shared public route table.
    pub const PUBLIC_ROUTE_TABLE: &str = "public-route-table";
    /// An AZ's private route table.
    pub const PRIVATE_ROUTE_TABLE: &str = "private-route-table";
    /// A NAT gateway.
    pub const NAT_GATEWAY: &str = "nat-gateway";
    /// A NAT gateway's Elastic IP.
    pub const NAT_EIP: &str = "nat-eip";
}

/// `TIER` values.
pub mod tier {
    /// Public subnet.
    pub const PUBLIC: &str = "public";
    /// Private subnet.
    pub const PRIVATE: &str = "private";
}

/// An object the network owns, with what its tags depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object<'a> {
    /// The VPC.
    Vpc,
    /// The internet gateway.
    InternetGateway,
    /// The public route table.
    PublicRouteTable,
    /// An AZ's public subnet.
    PublicSubnet(&'a str),
    /// An AZ's private subnet.
    PrivateSubnet(&'a str),
    /// An AZ's private route table.
    PrivateRouteTable(&'a str),
    /// The NAT gateway in an AZ.
    NatGateway(&'a str),
    /// The Elastic IP of the NAT gateway in an AZ.
    NatEip {
        /// The AZ of its NAT gateway.
        az: &'a str,
        /// The VPC it serves.
        vpc_id: &'a str,
    },
}

impl Object<'_> {
    /// The `Name` tag for a network called `network`.
    pub fn name(&self, network: &str) -> String {
        match self {
            Object::Vpc => network.to_owned(),
            Object::InternetGateway => format!("{network}-igw"),
            Object::PublicRouteTable => format!("{network}-public"),
            Object::PublicSubnet(az) => format!("{network}-public-{az}"),
            Object::PrivateSubnet(az) | Object::PrivateRouteTable(az) => {
                format!("{network}-private-{az}")
            }
            Object::NatGateway(az) | Object::NatEip { az, .. } => format!("{network}-nat-{az}"),
        }
    }

    /// Structural tags (besides `Name`).
    fn markers(&self, spec: &NetworkSpec) -> Vec<(&'static str, String)> {
        match *self {
            Object::Vpc => vec![
                (ROLE, role::VPC.into()),
                (NAT_MODE, spec.nat_mode.as_str().into()),
            ],
            Object::InternetGateway => vec![(ROLE, role::INTERNET_GATEWAY.into())],
            Object::PublicRouteTable => vec![(ROLE, role::PUBLIC_ROUTE_TABLE.into())],
            Object::PublicSubnet(_) => vec![(TIER, tier::PUBLIC.into()), (ELB, "1".into())],
            Object::PrivateSubnet(_) => {
                vec![(TIER, tier::PRIVATE.into()), (INTERNAL_ELB, "1".into())]
            }
            Object::PrivateRouteTable(az) => {
                vec![(ROLE, role::PRIVATE_ROUTE_TABLE.into()), (AZ, az.into())]
            }
            Object::NatGateway(_) => vec![(ROLE, role::NAT_GATEWAY.into())],
            Object::NatEip { az, vpc_id } => vec![
                (ROLE, role::NAT_EIP.into()),
                (AZ, az.into()),
                (VPC_ID, vpc_id.into()),
            ],
        }
    }
}

impl std::fmt::Display for Object<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Object::Vpc => write!(f, "vpc"),
            Object::InternetGateway => write!(f, "internet gateway"),
            Object::PublicRouteTable => write!(f, "public route table"),
            Object::PublicSubnet(az) => write!(f, "public subnet of {az}"),
            Object::PrivateSubnet(az) => write!(f, "private subnet of {az}"),
            Object::PrivateRouteTable(az) => write!(f, "private route table of {az}"),
            Object::NatGateway(az) => write!(f, "nat gateway of {az}"),
            Object::NatEip { az, .. } => write!(f, "elastic ip of the nat gateway of {az}"),
        }
    }
}

/// Every tag `object` should carry under `spec`: user tags, then structural tags
/// (validation keeps user tags from using structural keys, so nothing is overridden).
pub fn desired(spec: &NetworkSpec, object: Object<'_>) -> BTreeMap<String, String> {
    let mut tags = spec.tags.clone();
    tags.insert(NAME.into(), object.name(&spec.name));
    tags.extend(
        object
            .markers(spec)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
    );
    tags
}

/// Tags managed by others (AWS, EKS, Kubernetes): ignored on read, never written.
pub fn is_foreign(key: &str) -> bool {
    FOREIGN_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Tags this resource derives itself (name, markers, EKS subnet roles).
pub fn is_structural(key: &str) -> bool {
    key == NAME || key.starts_with(OWN_PREFIX) || key == ELB || key == INTERNAL_ELB
}

/// The tags a user could have written, from tags read back from AWS.
pub fn user_view<K, V>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String>
where
    K: Into<String>,
    V: Into<String>,
{
    tags.into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .filter(|(k, _)| !is_foreign(k) && !is_structural(k))
        .collect()
}

/// Why a user (or default) tag cannot be set, if it cannot.
pub fn check_user_tag(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("tag keys must not be empty".into());
    }
    if key.chars().count() > MAX_KEY_LEN {
        return Err(format!("tag keys are at most {MAX_KEY_LEN} characters"));
    }
    if value.chars().count() > MAX_VALUE_LEN {
        return Err(format!("tag values are at most {MAX_VALUE_LEN} characters"));
    }
    if is_foreign(key) {
        return Err(format!(
            "`{key}` is managed by AWS or EKS; this resource ignores such tags and cannot set them"
        ));
    }
    if is_structural(key) {
        return Err(format!(
            "`{key}` is set by the resource itself (from `name`, the subnet tier, or for EKS \
             load balancer discovery)"
        ));
    }
    Ok(())
}
