//! The desired network as plain values, and the pure rules that check and complete it.
//!
//! [`NetworkInput`] is what a configuration says (strings, possibly unknown during
//! validation); [`validate`] reports every problem with the attribute path it belongs to;
//! [`build`] turns valid input into a [`NetworkSpec`], carving subnet CIDRs that were not
//! given ([`carve`]) and merging default tags. Nothing here talks to AWS.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use ipnet::Ipv4Net;

use super::tags;

/// Attribute names of the `strata_vpc` schema that problems point at.
pub mod attr {
    /// Network name; prefix of every `Name` tag.
    pub const NAME: &str = "name";
    /// The VPC's IPv4 CIDR block.
    pub const CIDR_BLOCK: &str = "cidr_block";
    /// List of availability zone names.
    pub const AVAILABILITY_ZONES: &str = "availability_zones";
    /// Map AZ name → public subnet CIDR (optional; carved when absent).
    pub const PUBLIC_SUBNET_CIDRS: &str = "public_subnet_cidrs";
    /// Map AZ name → private subnet CIDR (optional; carved when absent).
    pub const PRIVATE_SUBNET_CIDRS: &str = "private_subnet_cidrs";
    /// `none` | `single` | `one_per_az`.
    pub const NAT_MODE: &str = "nat_mode";
    /// `enableDnsSupport`.
    pub const ENABLE_DNS_SUPPORT: &str = "enable_dns_support";
    /// `enableDnsHostnames`.
    pub const ENABLE_DNS_HOSTNAMES: &str = "enable_dns_hostnames";
    /// Map of user tags.
    pub const TAGS: &str = "tags";
}

/// DNS resolution inside the VPC is on unless disabled (AWS's default, and EKS needs it).
pub const DEFAULT_ENABLE_DNS_SUPPORT: bool = true;
/// DNS hostnames are on by default: EKS nodes need them to join the cluster
/// (AWS's own default for non-default VPCs is off).
pub const DEFAULT_ENABLE_DNS_HOSTNAMES: bool = true;

/// Smallest VPC / subnet prefix AWS accepts (the largest block).
pub const MIN_PREFIX: u8 = 16;
/// Largest VPC / subnet prefix AWS accepts (the smallest block).
pub const MAX_PREFIX: u8 = 28;
/// Largest VPC prefix automatic carving works with (it needs prefix + 4 ≤ 28).
pub const MAX_CARVE_PREFIX: u8 = 24;

/// Errors of the pure spec rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// `nat_mode` is not one of the three modes.
    #[error("unknown nat mode `{0}`: expected one of `none`, `single`, `one_per_az`")]
    UnknownNatMode(String),
    /// Carving needs the AZ's last letter to pick its block; only `a`…`h` have one.
    #[error(
        "cannot carve subnets for availability zone `{az}`: automatic carving needs a name \
         ending in a letter from `a` to `h`; set its subnet CIDRs explicitly"
    )]
    AzLetterOutOfRange {
        /// The availability zone.
        az: String,
    },
    /// Carving splits the VPC block into /prefix+4 pieces, which must stay within /28.
    #[error(
        "cannot carve subnets from `{cidr}`: automatic carving needs a VPC prefix of /24 or \
         shorter; set the subnet CIDRs explicitly"
    )]
    PrefixTooLong {
        /// The VPC CIDR block.
        cidr: Ipv4Net,
    },
}

/// How private subnets reach the internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum NatMode {
    /// No NAT gateways; private subnets have no default route.
    None,
    /// One NAT gateway shared by every private subnet (cheaper; its AZ is a single point
    /// of failure for egress). It is created in the alphabetically first AZ and stays
    /// where it is when AZs are added later; it moves only when its AZ is removed.
    Single,
    /// One NAT gateway per AZ, each private subnet routed through its own AZ's NAT
    /// (highly available; the default).
    #[default]
    OnePerAz,
}

impl NatMode {
    /// Every mode, in documentation order.
    pub const ALL: [NatMode; 3] = [NatMode::None, NatMode::Single, NatMode::OnePerAz];

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NatMode::None => "none",
            NatMode::Single => "single",
            NatMode::OnePerAz => "one_per_az",
        }
    }
}

impl fmt::Display for NatMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NatMode {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NatMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| SpecError::UnknownNatMode(s.to_owned()))
    }
}

/// The two subnets of one availability zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AzSpec {
    /// Public subnet (routed to the internet gateway; hosts the AZ's NAT gateway).
    pub public_cidr: Ipv4Net,
    /// Private subnet (routed through a NAT gateway, or nowhere in `none` mode).
    pub private_cidr: Ipv4Net,
}

/// A complete, valid description of the network to build in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// Prefix of every `Name` tag.
    pub name: String,
    /// The VPC block.
    pub cidr_block: Ipv4Net,
    /// Subnets per availability zone, keyed (and ordered) by AZ name.
    pub azs: BTreeMap<String, AzSpec>,
    /// NAT layout.
    pub nat_mode: NatMode,
    /// `enableDnsSupport` VPC attribute.
    pub enable_dns_support: bool,
    /// `enableDnsHostnames` VPC attribute.
    pub enable_dns_hostnames: bool,
    /// User tags merged over the provider's default tags (user wins).
    pub tags: BTreeMap<String, String>,
}

/// Subnet CIDRs for `az`, carved from `cidr`.
///
/// The block is split into 16 equal pieces (prefix + 4: /20s of a /16, /28s of a /24).
/// The AZ whose name ends in letter L gets index i = L − 'a' (a → 0 … h → 7): its
/// private subnet is piece i and its public subnet piece 8 + i. So the private subnets
/// take the lower half, the public ones the upper half, and an AZ's subnets depend only
/// on its own name — never on its position in a list, so adding or removing an AZ
/// leaves every other AZ's subnets where they are.
pub fn carve(cidr: Ipv4Net, az: &str) -> Result<AzSpec, SpecError> {
    if cidr.prefix_len() > MAX_CARVE_PREFIX {
        return Err(SpecError::PrefixTooLong { cidr });
    }
    let index = match az.chars().last() {
        Some(letter @ 'a'..='h') => usize::from(letter as u8 - b'a'),
        _ => return Err(SpecError::AzLetterOutOfRange { az: az.to_owned() }),
    };
    let piece = |i: usize| {
        cidr.trunc()
            .subnets(cidr.prefix_len() + 4)
            .ok()
            .and_then(|mut pieces| pieces.nth(i))
            // Unreachable: prefix ≤ 24 makes prefix + 4 valid and yields exactly 16 pieces.
            .ok_or(SpecError::PrefixTooLong { cidr })
    };
    Ok(AzSpec {
        private_cidr: piece(index)?,
        public_cidr: piece(8 + index)?,
    })
}

/// What the configuration says, before checks. `None` marks a value that is not
/// known yet (validation skips the checks that need it) or, for `nat_mode`, unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkInput {
    /// `name`.
    pub name: Option<String>,
    /// `cidr_block`, as written.
    pub cidr_block: Option<String>,
    /// `availability_zones`, in the user's order (order never matters).
    pub availability_zones: Option<Vec<String>>,
    /// `public_subnet_cidrs`: AZ → CIDR as written (only known entries).
    pub public_subnet_cidrs: BTreeMap<String, String>,
    /// `private_subnet_cidrs`: AZ → CIDR as written (only known entries).
    pub private_subnet_cidrs: BTreeMap<String, String>,
    /// `nat_mode`; unset means [`NatMode::OnePerAz`].
    pub nat_mode: Option<String>,
    /// `enable_dns_support` ([`DEFAULT_ENABLE_DNS_SUPPORT`] when unset).
    pub enable_dns_support: Option<bool>,
    /// `enable_dns_hostnames` ([`DEFAULT_ENABLE_DNS_HOSTNAMES`] when unset).
    pub enable_dns_hostnames: Option<bool>,
    /// `tags` (user tags only; default tags are merged by [`build`]).
    pub tags: BTreeMap<String, String>,
}

/// One step of an attribute path (maps to Terraform's `AttributePath` steps).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// A schema attribute.
    Attribute(&'static str),
    /// A map key (e.g. the AZ of `private_subnet_cidrs`).
    Key(String),
    /// A list index (e.g. a position in `availability_zones`).
    Index(usize),
}

/// A problem with the input, located at an attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    /// Where the problem is: `[Attribute("private_subnet_cidrs"), Key("us-west-2a")]`.
    pub path: Vec<PathStep>,
    /// What is wrong, for a person.
    pub message: String,
}

impl SpecProblem {
    fn at(attribute: &'static str, message: impl Into<String>) -> Self {
        Self {
            path: vec![PathStep::Attribute(attribute)],
            message: message.into(),
        }
    }

    fn key(attribute: &'static str, key: &str, message: impl Into<String>) -> Self {
        Self {
            path: vec![
                PathStep::Attribute(attribute),
                PathStep::Key(key.to_owned()),
            ],
            message: message.into(),
        }
    }

    fn index(attribute: &'static str, index: usize, message: impl Into<String>) -> Self {
        Self {
            path: vec![PathStep::Attribute(attribute), PathStep::Index(index)],
            message: message.into(),
        }
    }
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.path.iter().enumerate() {
            match step {
                PathStep::Attribute(a) if i == 0 => write!(f, "{a}")?,
                PathStep::Attribute(a) => write!(f, ".{a}")?,
                PathStep::Key(k) => write!(f, "[\"{k}\"]")?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// Checks `input` without AWS. `region` is the resource's region when known (AZs must
/// belong to it). Returns every problem found, each with its attribute path.
pub fn validate(input: &NetworkInput, region: Option<&str>) -> Vec<SpecProblem> {
    check(input, region).problems
}

/// Validates `input` and completes it into a [`NetworkSpec`]: carves missing subnet
/// CIDRs and merges `default_tags` under the user's tags. All values must be known.
pub fn build(
    input: &NetworkInput,
    region: &str,
    default_tags: &BTreeMap<String, String>,
) -> Result<NetworkSpec, Vec<SpecProblem>> {
    let Checked {
        mut problems,
        cidr_block,
        azs,
        nat_mode,
    } = check(input, Some(region));
    for (known, attribute) in [
        (input.name.is_some(), attr::NAME),
        (input.cidr_block.is_some(), attr::CIDR_BLOCK),
        (input.availability_zones.is_some(), attr::AVAILABILITY_ZONES),
    ] {
        if !known {
            problems.push(SpecProblem::at(attribute, "a value is required"));
        }
    }
    match (problems.is_empty(), input.name.as_ref(), cidr_block) {
        (true, Some(name), Some(cidr_block)) => {
            let mut tags = default_tags.clone();
            tags.extend(input.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            Ok(NetworkSpec {
                name: name.clone(),
                cidr_block,
                azs,
                nat_mode: nat_mode.unwrap_or_default(),
                enable_dns_support: input
                    .enable_dns_support
                    .unwrap_or(DEFAULT_ENABLE_DNS_SUPPORT),
                enable_dns_hostnames: input
                    .enable_dns_hostnames
                    .unwrap_or(DEFAULT_ENABLE_DNS_HOSTNAMES),
                tags,
            })
        }
        _ => Err(problems),
    }
}

/// Longest `name`: it prefixes `Name` tags (≤ 256 characters) such as
/// `{name}-private-ap-southeast-2a`.
const MAX_NAME_LEN: usize = 200;

struct Checked {
    problems: Vec<SpecProblem>,
    cidr_block: Option<Ipv4Net>,
    /// Complete AZ specs for every valid AZ whose subnets are known or could be carved.
    azs: BTreeMap<String, AzSpec>,
    nat_mode: Option<NatMode>,
}

fn check(input: &NetworkInput, region: Option<&str>) -> Checked {
    let mut problems = Vec::new();

    if let Some(name) = &input.name {
        if name.trim().is_empty() {
            problems.push(SpecProblem::at(attr::NAME, "must not be empty"));
        } else if name.chars().count() > MAX_NAME_LEN {
            problems.push(SpecProblem::at(
                attr::NAME,
                format!("must be at most {MAX_NAME_LEN} characters (it prefixes every Name tag)"),
            ));
        }
    }

    let cidr_block =
        input
            .cidr_block
            .as_deref()
            .and_then(|raw| match parse_cidr(raw, "the VPC CIDR block") {
                Ok(net) => Some(net),
                Err(message) => {
                    problems.push(SpecProblem::at(attr::CIDR_BLOCK, message));
                    None
                }
            });

    let nat_mode = match input.nat_mode.as_deref().map(str::parse::<NatMode>) {
        Some(Ok(mode)) => Some(mode),
        Some(Err(e)) => {
            problems.push(SpecProblem::at(attr::NAT_MODE, e.to_string()));
            None
        }
        None => None,
    };

    // AZ name → its index in the user's list, for valid, distinct names.
    let mut az_index: BTreeMap<&str, usize> = BTreeMap::new();
    if let Some(list) = &input.availability_zones {
        if list.is_empty() {
            problems.push(SpecProblem::at(
                attr::AVAILABILITY_ZONES,
                "at least one availability zone is required",
            ));
        }
        for (i, az) in list.iter().enumerate() {
            if let Some(message) = az_problem(az, region) {
                problems.push(SpecProblem::index(attr::AVAILABILITY_ZONES, i, message));
            } else if az_index.contains_key(az.as_str()) {
                problems.push(SpecProblem::index(
                    attr::AVAILABILITY_ZONES,
                    i,
                    format!("`{az}` is listed more than once"),
                ));
            } else {
                az_index.insert(az, i);
            }
        }
    }

    // Every subnet we can know: explicit ones (checked) and carved ones.
    struct Subnet {
        path: Vec<PathStep>,
        label: String,
        net: Ipv4Net,
    }
    let mut subnets: Vec<Subnet> = Vec::new();
    let mut explicit: [BTreeMap<&str, Ipv4Net>; 2] = [BTreeMap::new(), BTreeMap::new()];
    for (slot, (attribute, tier, map)) in [
        (
            attr::PUBLIC_SUBNET_CIDRS,
            "public",
            &input.public_subnet_cidrs,
        ),
        (
            attr::PRIVATE_SUBNET_CIDRS,
            "private",
            &input.private_subnet_cidrs,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        for (az, raw) in map {
            let unlisted =
                input.availability_zones.is_some() && !az_index.contains_key(az.as_str());
            if unlisted {
                problems.push(SpecProblem::key(
                    attribute,
                    az,
                    format!("`{az}` is not one of availability_zones"),
                ));
            }
            let net = match parse_cidr(raw, "a subnet CIDR block") {
                Ok(net) => net,
                Err(message) => {
                    problems.push(SpecProblem::key(attribute, az, message));
                    continue;
                }
            };
            if let Some(vpc) = cidr_block.filter(|vpc| !vpc.contains(&net)) {
                problems.push(SpecProblem::key(
                    attribute,
                    az,
                    format!("`{net}` is not inside the VPC CIDR block `{vpc}`"),
                ));
                continue;
            }
            if !unlisted {
                explicit[slot].insert(az, net);
            }
            subnets.push(Subnet {
                path: vec![PathStep::Attribute(attribute), PathStep::Key(az.clone())],
                label: format!("{tier} subnet of {az}"),
                net,
            });
        }
    }

    let mut azs = BTreeMap::new();
    let [public, private] = &explicit;
    let mut reported_prefix = false;
    for (&az, &i) in &az_index {
        let carved = match (public.get(az), private.get(az), cidr_block) {
            (Some(_), Some(_), _) => None,
            (_, _, Some(vpc)) => match carve(vpc, az) {
                Ok(carved) => Some(carved),
                Err(e @ SpecError::PrefixTooLong { .. }) => {
                    // One problem for the block, not one per AZ that needs carving.
                    if !reported_prefix {
                        problems.push(SpecProblem::at(attr::CIDR_BLOCK, e.to_string()));
                        reported_prefix = true;
                    }
                    continue;
                }
                Err(e) => {
                    problems.push(SpecProblem::index(
                        attr::AVAILABILITY_ZONES,
                        i,
                        e.to_string(),
                    ));
                    continue;
                }
            },
            // VPC block unknown or invalid: nothing to carve from (already reported).
            _ => continue,
        };
        let mut spec_for = |tier: &str, given: Option<&Ipv4Net>, carved: Option<Ipv4Net>| {
            given.copied().or_else(|| {
                let net = carved?;
                subnets.push(Subnet {
                    path: vec![
                        PathStep::Attribute(attr::AVAILABILITY_ZONES),
                        PathStep::Index(i),
                    ],
                    label: format!("{tier} subnet of {az}, carved automatically"),
                    net,
                });
                Some(net)
            })
        };
        let public_cidr = spec_for("public", public.get(az), carved.map(|c| c.public_cidr));
        let private_cidr = spec_for("private", private.get(az), carved.map(|c| c.private_cidr));
        if let (Some(public_cidr), Some(private_cidr)) = (public_cidr, private_cidr) {
            azs.insert(
                az.to_owned(),
                AzSpec {
                    public_cidr,
                    private_cidr,
                },
            );
        }
    }

    for (j, later) in subnets.iter().enumerate() {
        if let Some(earlier) = subnets[..j].iter().find(|s| overlaps(s.net, later.net)) {
            problems.push(SpecProblem {
                path: later.path.clone(),
                message: format!(
                    "`{}` ({}) overlaps `{}` ({})",
                    later.net, later.label, earlier.net, earlier.label
                ),
            });
        }
    }

    // AWS refuses DNS hostnames without DNS resolution.
    if input
        .enable_dns_hostnames
        .unwrap_or(DEFAULT_ENABLE_DNS_HOSTNAMES)
        && input.enable_dns_support == Some(false)
    {
        problems.push(SpecProblem::at(
            attr::ENABLE_DNS_HOSTNAMES,
            "DNS hostnames need DNS support: set enable_dns_support = true or enable_dns_hostnames = false",
        ));
    }

    for (key, value) in &input.tags {
        if let Err(message) = tags::check_user_tag(key, value) {
            problems.push(SpecProblem::key(attr::TAGS, key, message));
        }
    }

    Checked {
        problems,
        cidr_block,
        azs,
        nat_mode,
    }
}

/// Parses an IPv4 network in canonical form with a prefix AWS accepts.
fn parse_cidr(raw: &str, what: &str) -> Result<Ipv4Net, String> {
    let net: Ipv4Net = raw
        .trim()
        .parse()
        .map_err(|_| format!("`{raw}` is not a valid IPv4 CIDR block (like `10.0.0.0/16`)"))?;
    if net != net.trunc() {
        return Err(format!(
            "`{raw}` is not a network address: did you mean `{}`?",
            net.trunc()
        ));
    }
    if !(MIN_PREFIX..=MAX_PREFIX).contains(&net.prefix_len()) {
        return Err(format!(
            "`{raw}`: AWS accepts {what} from /{MIN_PREFIX} to /{MAX_PREFIX}, not /{}",
            net.prefix_len()
        ));
    }
    Ok(net)
}

/// An AZ of `region` is the region name followed by a zone letter (`us-west-2a`), or by a
/// local/wavelength-zone suffix that starts with `-` and ends in a letter
/// (`us-west-2-lax-1a`).
fn az_problem(az: &str, region: Option<&str>) -> Option<String> {
    if az.is_empty() {
        return Some("availability zone names must not be empty".into());
    }
    let region = region?;
    let suffix_ok = az.strip_prefix(region).is_some_and(|rest| {
        let zone_letter = rest.len() == 1 && rest.bytes().all(|b| b.is_ascii_lowercase());
        let local_zone = rest.starts_with('-')
            && rest.ends_with(|c: char| c.is_ascii_lowercase())
            && rest[1..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        zone_letter || local_zone
    });
    (!suffix_ok).then(|| {
        format!(
            "`{az}` is not an availability zone of region `{region}` (expected the region \
             name followed by a zone letter, like `{region}a`)"
        )
    })
}

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}
