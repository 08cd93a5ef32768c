//! The desired node group as plain values, and the pure rules around it: input
//! validation with attribute paths ([`validate`]), what an in-place update must send
//! ([`config_update`], [`version_update`], built on [`label_changes`] and
//! [`taint_changes`]), the desired size a plan keeps when the cluster owns it
//! ([`planned_desired_size`]), and the name of the node role the provider creates
//! ([`node_role_name`]). Nothing here talks to AWS.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// Attribute names of the `strata_eks_node_group` schema that problems point at.
pub mod attr {
    /// The cluster's name.
    pub const CLUSTER_NAME: &str = "cluster_name";
    /// The node group's name.
    pub const NAME: &str = "name";
    /// Subnets the nodes are launched in.
    pub const SUBNET_IDS: &str = "subnet_ids";
    /// EC2 instance types.
    pub const INSTANCE_TYPES: &str = "instance_types";
    /// Scaling: lower bound.
    pub const MIN_SIZE: &str = "min_size";
    /// Scaling: upper bound.
    pub const MAX_SIZE: &str = "max_size";
    /// Scaling: the node count asked for.
    pub const DESIRED_SIZE: &str = "desired_size";
    /// Kubernetes labels of the nodes.
    pub const LABELS: &str = "labels";
    /// The `taint` blocks.
    pub const TAINT: &str = "taint";
    /// A taint's key.
    pub const KEY: &str = "key";
    /// A taint's value.
    pub const VALUE: &str = "value";
    /// Tags of the node group.
    pub const TAGS: &str = "tags";
}

/// AWS limits (characters / counts) that validation checks before any call.
pub mod limits {
    /// Node group names: 1–63 characters.
    pub const NAME_LEN: usize = 63;
    /// Cluster names: 1–100 characters.
    pub const CLUSTER_NAME_LEN: usize = 100;
    /// IAM role names: at most 64 characters.
    pub const ROLE_NAME_LEN: usize = 64;
    /// Kubernetes taint keys and values: at most 63 characters (EKS's limit).
    pub const TAINT_PART_LEN: usize = 63;
    /// Taints per node group.
    pub const TAINTS: usize = 50;
    /// Tag keys.
    pub const TAG_KEY_LEN: usize = 128;
    /// Tag values.
    pub const TAG_VALUE_LEN: usize = 256;
}

/// `max_unavailable` when the configuration leaves it out (and what EKS uses when a node
/// group reports no update config).
pub const DEFAULT_MAX_UNAVAILABLE: i32 = 1;

/// The AWS managed policies the provider-created node role carries: what every managed
/// node needs to join the cluster, run the VPC CNI and pull images from ECR.
pub const NODE_ROLE_POLICIES: [&str; 3] = [
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
];

/// Who may assume the node role: the nodes' EC2 instances.
pub const NODE_ROLE_PRINCIPAL: &str = "ec2.amazonaws.com";

/// Tag prefix AWS reserves for itself; never set, never reported.
const AWS_TAG_PREFIX: &str = "aws:";

/// Errors of the pure rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A taint effect that is not one of Kubernetes' three.
    #[error(
        "unknown taint effect `{0}`: expected one of `NO_SCHEDULE`, `NO_EXECUTE`, `PREFER_NO_SCHEDULE`"
    )]
    UnknownTaintEffect(String),
    /// A capacity type this resource does not manage.
    #[error("unknown capacity type `{0}`: expected `ON_DEMAND` or `SPOT`")]
    UnknownCapacityType(String),
}

/// What a Kubernetes taint does to pods that do not tolerate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaintEffect {
    /// New pods are not scheduled on the node.
    NoSchedule,
    /// New pods are not scheduled, running ones are evicted.
    NoExecute,
    /// The scheduler tries to avoid the node.
    PreferNoSchedule,
}

impl TaintEffect {
    /// Every effect, in documentation order.
    pub const ALL: [TaintEffect; 3] = [
        TaintEffect::NoSchedule,
        TaintEffect::NoExecute,
        TaintEffect::PreferNoSchedule,
    ];

    /// The EKS (and configuration) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NO_SCHEDULE",
            TaintEffect::NoExecute => "NO_EXECUTE",
            TaintEffect::PreferNoSchedule => "PREFER_NO_SCHEDULE",
        }
    }
}

impl fmt::Display for TaintEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaintEffect {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaintEffect::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| SpecError::UnknownTaintEffect(s.to_owned()))
    }
}

/// On-demand or spot instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CapacityType {
    /// On-demand instances (the default).
    #[default]
    OnDemand,
    /// Spot instances.
    Spot,
}

impl CapacityType {
    /// The EKS (and configuration) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CapacityType::OnDemand => "ON_DEMAND",
            CapacityType::Spot => "SPOT",
        }
    }
}

impl FromStr for CapacityType {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ON_DEMAND" => Ok(CapacityType::OnDemand),
            "SPOT" => Ok(CapacityType::Spot),
            other => Err(SpecError::UnknownCapacityType(other.to_owned())),
        }
    }
}

/// A Kubernetes taint on every node of the group. EKS (like Kubernetes) identifies a
/// taint by its key and effect; the value is what an update may change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Taint {
    /// The taint's key.
    pub key: String,
    /// Its value; `None` for a taint without one.
    pub value: Option<String>,
    /// Its effect.
    pub effect: TaintEffect,
}

impl Taint {
    /// What identifies the taint on a node.
    fn identity(&self) -> (&str, TaintEffect) {
        (&self.key, self.effect)
    }
}

/// The node count bounds and the count asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaling {
    /// Fewest nodes.
    pub min: i32,
    /// Most nodes.
    pub max: i32,
    /// Nodes asked for.
    pub desired: i32,
}

/// The desired node group, wholly known (built from a plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeGroupSpec {
    /// The cluster the group belongs to.
    pub cluster_name: String,
    /// The group's name.
    pub name: String,
    /// Subnets the nodes are launched in.
    pub subnet_ids: BTreeSet<String>,
    /// Instance types; `None` lets EKS choose (`t3.medium`).
    pub instance_types: Option<Vec<String>>,
    /// On-demand or spot.
    pub capacity_type: CapacityType,
    /// The AMI type (`AL2023_x86_64_STANDARD`…); `None` lets EKS choose.
    pub ami_type: Option<String>,
    /// Root volume size in GiB; `None` lets EKS choose (20).
    pub disk_size: Option<i32>,
    /// Scaling.
    pub scaling: Scaling,
    /// When true, `scaling.desired` is only sent at create, or when the bounds move past
    /// it: afterwards the cluster autoscaler owns it.
    pub ignore_desired_size_changes: bool,
    /// Kubernetes labels.
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints.
    pub taints: Vec<Taint>,
    /// Nodes that may be unavailable during a rolling update.
    pub max_unavailable: i32,
    /// Kubernetes version; `None` lets EKS choose (the cluster's).
    pub kubernetes_version: Option<String>,
    /// AMI release version; `None` lets EKS choose (the latest for the version).
    pub release_version: Option<String>,
    /// The node role; `None` = the provider creates one ([`node_role_name`]).
    pub node_role_arn: Option<String>,
    /// All tags in force (default tags merged with the resource's).
    pub tags: BTreeMap<String, String>,
}

impl NodeGroupSpec {
    /// `cluster:nodegroup`, the resource's ID and import ID.
    pub fn id(&self) -> String {
        id(&self.cluster_name, &self.name)
    }
}

/// `cluster:nodegroup`.
pub fn id(cluster_name: &str, name: &str) -> String {
    format!("{cluster_name}:{name}")
}

/// Splits an import ID: `cluster:nodegroup` or `REGION/cluster:nodegroup` into
/// (region, cluster, node group).
pub fn parse_import_id(id: &str) -> Option<(Option<&str>, &str, &str)> {
    let (region, rest) = match id.split_once('/') {
        Some((r, rest)) => (Some(r), rest),
        None => (None, id),
    };
    let (cluster, name) = rest.split_once(':')?;
    let ok = |s: &str| !s.is_empty() && !s.contains([':', '/']);
    (ok(cluster) && ok(name) && region.is_none_or(|r| !r.is_empty()))
        .then_some((region, cluster, name))
}

/// The role the provider creates when no `node_role_arn` is given:
/// `{cluster}-{name}-node`. IAM role names stop at 64 characters, so a longer name is
/// cut to 55 and ends in `-` and 8 hex digits of a stable hash of the full name (the
/// same inputs always give the same name, so a retried create adopts its own role).
pub fn node_role_name(cluster_name: &str, name: &str) -> String {
    let full = format!("{cluster_name}-{name}-node");
    if full.len() <= limits::ROLE_NAME_LEN {
        return full;
    }
    let prefix: String = full.chars().take(limits::ROLE_NAME_LEN - 9).collect();
    format!("{prefix}-{:08x}", fnv1a(full.as_bytes()))
}

/// 32-bit FNV-1a: tiny, and unlike `DefaultHasher` stable across Rust versions.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// One step of the path from the resource's root to a value in its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// An attribute or block by name.
    Attribute(&'static str),
    /// A list element (a `taint` block) by position.
    Index(usize),
    /// A map entry by key.
    Key(String),
}

/// A problem with the configuration, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    /// Path to the offending value.
    pub path: Vec<PathStep>,
    /// What is wrong, for a person.
    pub message: String,
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn problem(path: Vec<PathStep>, message: impl Into<String>) -> SpecProblem {
    SpecProblem {
        path,
        message: message.into(),
    }
}

fn at(name: &'static str) -> Vec<PathStep> {
    vec![PathStep::Attribute(name)]
}

/// A `taint` block as configured; `None` = unknown (or null) so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaintInput {
    /// `key`.
    pub key: Option<String>,
    /// `effect`.
    pub effect: Option<String>,
    /// `value`.
    pub value: Option<String>,
}

/// What a configuration says, with `None` for what is unknown (or unset) so far:
/// validation checks what it can and leaves the rest to plan or apply time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeGroupInput {
    /// `cluster_name`.
    pub cluster_name: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `subnet_ids`: the known elements, or `None` when the set itself is unknown.
    pub subnet_ids: Option<Vec<String>>,
    /// `instance_types`, when known and set.
    pub instance_types: Option<Vec<String>>,
    /// `min_size`.
    pub min_size: Option<i64>,
    /// `max_size`.
    pub max_size: Option<i64>,
    /// `desired_size`.
    pub desired_size: Option<i64>,
    /// The known entries of `labels`.
    pub labels: BTreeMap<String, String>,
    /// The `taint` blocks, when the list is known.
    pub taints: Option<Vec<TaintInput>>,
    /// The known entries of `tags`.
    pub tags: BTreeMap<String, String>,
}

/// Every problem with `input` that can be seen without AWS, each with its path.
pub fn validate(input: &NodeGroupInput) -> Vec<SpecProblem> {
    let mut out = Vec::new();
    if let Some(name) = &input.cluster_name {
        check_eks_name(name, attr::CLUSTER_NAME, limits::CLUSTER_NAME_LEN, &mut out);
    }
    if let Some(name) = &input.name {
        check_eks_name(name, attr::NAME, limits::NAME_LEN, &mut out);
    }
    if input.subnet_ids.as_ref().is_some_and(Vec::is_empty) {
        out.push(problem(
            at(attr::SUBNET_IDS),
            "subnet_ids is empty: a node group needs at least one subnet to launch its nodes in (typically the private subnets of the cluster's VPC)",
        ));
    }
    if input.instance_types.as_ref().is_some_and(Vec::is_empty) {
        out.push(problem(
            at(attr::INSTANCE_TYPES),
            "instance_types is empty: name at least one instance type, or leave the argument out to let EKS choose (t3.medium)",
        ));
    }
    out.extend(check_scaling(
        input.min_size,
        input.max_size,
        input.desired_size,
    ));
    for key in input.labels.keys() {
        if key.is_empty() {
            out.push(problem(
                vec![
                    PathStep::Attribute(attr::LABELS),
                    PathStep::Key(key.clone()),
                ],
                "label keys must not be empty",
            ));
        }
    }
    if let Some(taints) = &input.taints {
        check_taints(taints, &mut out);
    }
    for (key, value) in &input.tags {
        if let Err(why) = check_tag(key, value) {
            out.push(problem(
                vec![PathStep::Attribute(attr::TAGS), PathStep::Key(key.clone())],
                why,
            ));
        }
    }
    out
}

/// EKS names: letters, digits, `-` and `_`, starting with a letter or digit.
fn check_eks_name(name: &str, attribute: &'static str, max: usize, out: &mut Vec<SpecProblem>) {
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if name.is_empty() || name.len() > max || !starts_well || !chars_ok {
        out.push(problem(
            at(attribute),
            format!(
                "{attribute} is {name:?}: it must be 1 to {max} characters of letters, digits, `-` and `_`, starting with a letter or digit"
            ),
        ));
    }
}

/// The scaling rules EKS enforces: `0 ≤ min ≤ desired ≤ max`, `max ≥ 1`. Unknown values
/// (`None`) are skipped. A desired size outside the bounds is reported on
/// `desired_size`; bounds that contradict each other on `min_size`.
pub fn check_scaling(min: Option<i64>, max: Option<i64>, desired: Option<i64>) -> Vec<SpecProblem> {
    let mut out = Vec::new();
    let upper = i64::from(i32::MAX);
    let mut in_range = |v: Option<i64>, name: &'static str, lowest: i64| match v {
        Some(n) if n < lowest || n > upper => {
            out.push(problem(
                at(name),
                format!("{name} is {n}; it must be a whole number from {lowest} to {upper}"),
            ));
            None
        }
        other => other,
    };
    let min = in_range(min, attr::MIN_SIZE, 0);
    let max = in_range(max, attr::MAX_SIZE, 1);
    let desired = in_range(desired, attr::DESIRED_SIZE, 0);
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        out.push(problem(
            at(attr::MIN_SIZE),
            format!("min_size ({min}) is greater than max_size ({max}); the bounds must satisfy min_size ≤ max_size"),
        ));
        // Where desired_size should go is unclear until the bounds agree.
        return out;
    }
    match (min, max, desired) {
        (Some(min), _, Some(d)) if d < min => out.push(problem(
            at(attr::DESIRED_SIZE),
            format!("desired_size ({d}) is below min_size ({min}); it must satisfy min_size ≤ desired_size ≤ max_size"),
        )),
        (_, Some(max), Some(d)) if d > max => out.push(problem(
            at(attr::DESIRED_SIZE),
            format!("desired_size ({d}) is above max_size ({max}); it must satisfy min_size ≤ desired_size ≤ max_size"),
        )),
        _ => {}
    }
    out
}

fn check_taints(taints: &[TaintInput], out: &mut Vec<SpecProblem>) {
    let path = |i: usize, name: &'static str| {
        vec![
            PathStep::Attribute(attr::TAINT),
            PathStep::Index(i),
            PathStep::Attribute(name),
        ]
    };
    if taints.len() > limits::TAINTS {
        out.push(problem(
            at(attr::TAINT),
            format!(
                "{} taint blocks: EKS allows at most {}",
                taints.len(),
                limits::TAINTS
            ),
        ));
    }
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, t) in taints.iter().enumerate() {
        if let Some(key) = &t.key
            && (key.is_empty() || key.len() > limits::TAINT_PART_LEN)
        {
            out.push(problem(
                path(i, attr::KEY),
                format!(
                    "taint keys must be 1 to {} characters",
                    limits::TAINT_PART_LEN
                ),
            ));
        }
        if let Some(value) = &t.value
            && value.len() > limits::TAINT_PART_LEN
        {
            out.push(problem(
                path(i, attr::VALUE),
                format!(
                    "taint values must be at most {} characters",
                    limits::TAINT_PART_LEN
                ),
            ));
        }
        // The effect itself is checked by the schema's validator.
        if let (Some(key), Some(effect)) = (&t.key, &t.effect) {
            let first = *seen.entry((key.clone(), effect.clone())).or_insert(i);
            if first != i {
                out.push(problem(
                    vec![PathStep::Attribute(attr::TAINT), PathStep::Index(i)],
                    format!(
                        "taint[{i}] repeats taint[{first}] (key {key:?}, effect {effect}): a node carries one taint per key and effect"
                    ),
                ));
            }
        }
    }
}

/// Why a user (or default) tag cannot be set on a node group, if it cannot.
pub fn check_tag(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("tag keys must not be empty".into());
    }
    if key.chars().count() > limits::TAG_KEY_LEN {
        return Err(format!(
            "tag keys are at most {} characters",
            limits::TAG_KEY_LEN
        ));
    }
    if value.chars().count() > limits::TAG_VALUE_LEN {
        return Err(format!(
            "tag values are at most {} characters",
            limits::TAG_VALUE_LEN
        ));
    }
    if is_aws_tag(key) {
        return Err(format!(
            "`{key}`: the `aws:` prefix is reserved for AWS's own tags"
        ));
    }
    Ok(())
}

/// Tags AWS manages itself (`aws:…`): ignored on read, never written.
pub fn is_aws_tag(key: &str) -> bool {
    key.starts_with(AWS_TAG_PREFIX)
}

/// The desired size a plan should carry.
///
/// Normally the configured one. When the cluster owns the desired size
/// (`ignore_desired_size_changes`) and a prior state exists, the prior (live) value is
/// kept — unless the configured bounds no longer contain it, in which case the
/// configured value is planned (EKS would refuse a desired size outside the bounds).
pub fn planned_desired_size(
    ignore_changes: bool,
    prior: Option<i64>,
    configured: i64,
    min: i64,
    max: i64,
) -> i64 {
    match prior {
        Some(p) if ignore_changes && (min..=max).contains(&p) => p,
        _ => configured,
    }
}

/// Label additions/changes and removals that take `old` to `new`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelChanges {
    /// Labels to add or whose value changes.
    pub add_or_update: BTreeMap<String, String>,
    /// Keys to remove.
    pub remove: Vec<String>,
}

impl LabelChanges {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.add_or_update.is_empty() && self.remove.is_empty()
    }
}

/// See [`LabelChanges`].
pub fn label_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> LabelChanges {
    LabelChanges {
        add_or_update: new
            .iter()
            .filter(|(k, v)| old.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        remove: old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .cloned()
            .collect(),
    }
}

/// Taint additions/changes and removals that take `old` to `new`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaintChanges {
    /// Taints to add, or whose value changes (same key and effect).
    pub add_or_update: Vec<Taint>,
    /// Taints to remove (no taint with their key and effect is wanted).
    pub remove: Vec<Taint>,
}

impl TaintChanges {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.add_or_update.is_empty() && self.remove.is_empty()
    }
}

/// See [`TaintChanges`]. A taint is identified by key and effect, as on the node; a
/// changed value is an update, a changed effect is a removal plus an addition.
pub fn taint_changes(old: &[Taint], new: &[Taint]) -> TaintChanges {
    TaintChanges {
        add_or_update: new.iter().filter(|t| !old.contains(t)).cloned().collect(),
        remove: old
            .iter()
            .filter(|o| !new.iter().any(|n| n.identity() == o.identity()))
            .cloned()
            .collect(),
    }
}

/// `live` taints in the order of `prior` (so a list that only differs in the order EKS
/// returns it is no drift), then those `prior` lacks, sorted. A taint written with
/// `value = ""` comes back from EKS without a value; it keeps the empty string, since
/// Kubernetes treats both alike.
pub fn order_taints_like(prior: &[Taint], mut live: Vec<Taint>) -> Vec<Taint> {
    let mut out = Vec::with_capacity(live.len());
    for p in prior {
        if let Some(i) = live.iter().position(|l| l.identity() == p.identity()) {
            let mut t = live.remove(i);
            if t.value.is_none() && p.value.as_deref() == Some("") {
                t.value = Some(String::new());
            }
            out.push(t);
        }
    }
    live.sort();
    out.extend(live);
    out
}

/// The scaling an update sends: the bounds, and the desired size unless the cluster
/// owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScalingUpdate {
    /// New lower bound.
    pub min: i32,
    /// New upper bound.
    pub max: i32,
    /// New desired size; `None` leaves the live value alone.
    pub desired: Option<i32>,
}

/// One `UpdateNodegroupConfig` call: only the parts that change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigUpdate {
    /// Label changes.
    pub labels: Option<LabelChanges>,
    /// Taint changes.
    pub taints: Option<TaintChanges>,
    /// New scaling.
    pub scaling: Option<ScalingUpdate>,
    /// New `maxUnavailable`.
    pub max_unavailable: Option<i32>,
}

/// What `UpdateNodegroupConfig` must send to take the group from `old` to `new`, or
/// `None` when nothing it covers changes.
///
/// With `ignore_desired_size_changes` the desired size is sent only when the plan moved
/// it (the bounds no longer contained the live value); otherwise the bounds go alone so
/// an autoscaler's choice made since the last refresh is not overwritten.
pub fn config_update(old: &NodeGroupSpec, new: &NodeGroupSpec) -> Option<ConfigUpdate> {
    let labels = Some(label_changes(&old.labels, &new.labels)).filter(|c| !c.is_empty());
    let taints = Some(taint_changes(&old.taints, &new.taints)).filter(|c| !c.is_empty());
    let (o, n) = (old.scaling, new.scaling);
    let desired_changed = o.desired != n.desired;
    let scaling = (o.min != n.min || o.max != n.max || desired_changed).then_some(ScalingUpdate {
        min: n.min,
        max: n.max,
        desired: (!new.ignore_desired_size_changes || desired_changed).then_some(n.desired),
    });
    let max_unavailable =
        (old.max_unavailable != new.max_unavailable).then_some(new.max_unavailable);
    let update = ConfigUpdate {
        labels,
        taints,
        scaling,
        max_unavailable,
    };
    (update != ConfigUpdate::default()).then_some(update)
}

/// One `UpdateNodegroupVersion` call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionUpdate {
    /// New Kubernetes version; `None` keeps the current one.
    pub kubernetes_version: Option<String>,
    /// New AMI release version; `None` lets EKS pick the latest for the version.
    pub release_version: Option<String>,
}

/// What `UpdateNodegroupVersion` must send to take the group from `old` to `new`, or
/// `None` when neither version changes. A `None` version in `new` means "whatever EKS
/// picks" and never causes an update by itself.
pub fn version_update(old: &NodeGroupSpec, new: &NodeGroupSpec) -> Option<VersionUpdate> {
    let changed = |o: &Option<String>, n: &Option<String>| n.is_some() && o != n;
    let version = changed(&old.kubernetes_version, &new.kubernetes_version);
    let release = changed(&old.release_version, &new.release_version);
    (version || release).then(|| VersionUpdate {
        kubernetes_version: new.kubernetes_version.clone().filter(|_| version),
        release_version: new.release_version.clone().filter(|_| release),
    })
}

/// Tags to set and keys to remove, taking `old` to `new`.
pub fn tag_changes(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> LabelChanges {
    label_changes(old, new)
}
