//! `strata_eks_node_group`: the Terraform face of [`crate::eks_node_group`] — schema,
//! plan refinement (region, tags, an autoscaler-owned desired size, versions), and the
//! mapping between Terraform values and the engine's types.

use std::collections::BTreeMap;

use async_trait::async_trait;
use strata_framework::diag::Diagnostics;
use strata_framework::plan::semantically_equal;
use strata_framework::resource::{
    ApplyRequest, ApplyResponse, ImportResponse, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse,
};
use strata_framework::schema::{Attribute, Block, NestedBlock, Nesting, Schema, Validator};
use strata_framework::{AttributePath, Context, Resource, Type, Value};

use crate::eks_node_group::{
    self, CapacityType, NodeGroupInput, NodeGroupSpec, NodeGroupState, ObservedNodeGroup, PathStep,
    Scaling, SpecProblem, Taint, TaintEffect, TaintInput,
};
use crate::provider::ProviderData;
use crate::resources::interruptible;
use crate::values::{opt_str, str_map, str_set, string_map, string_set};

pub struct EksNodeGroupResource;

/// `status` of a node group that no longer exists while the node role the provider made
/// for it does: kept in state (so the role is not orphaned) and replaced by the next plan.
const STATUS_NOT_FOUND: &str = "NOT_FOUND";

const DESCRIPTION: &str = "An EKS managed node group: EC2 instances that join an EKS cluster as Kubernetes nodes, in the subnets given, scaled between `min_size` and `max_size`.

When `node_role_arn` is omitted the provider creates the nodes' IAM role, `{cluster_name}-{name}-node`, with the `AmazonEKSWorkerNodePolicy`, `AmazonEKS_CNI_Policy` and `AmazonEC2ContainerRegistryReadOnly` managed policies, and deletes it with the node group.

What changes do:

| change | effect |
|---|---|
| `min_size`, `max_size`, `desired_size`, `labels`, `taint`, `max_unavailable` | updated in place (one `UpdateNodegroupConfig`, waited for) |
| `kubernetes_version`, `release_version` | updated in place (`UpdateNodegroupVersion`: nodes are replaced, `max_unavailable` at a time) |
| `tags` | updated in place |
| `cluster_name`, `name`, `region`, `subnet_ids`, `instance_types`, `capacity_type`, `ami_type`, `disk_size`, `node_role_arn` | replaces the node group |

EKS runs one update at a time per node group, so the provider sends the config update, waits for it, then the version update.

**Letting the cluster own the desired size.** A cluster autoscaler (or Karpenter, or a person with `eksctl scale`) changes the node group's desired size as load changes. By default Terraform then sees drift and plans the size back to `desired_size` on every run. Set `ignore_desired_size_changes = true` to hand the desired size to the cluster: `desired_size` is used when the node group is created, and afterwards the live value is kept in state and plans, so they stay empty. The bounds stay Terraform's: when a new `min_size`/`max_size` no longer contain the live desired size, the configured `desired_size` is applied with them. (This replaces the AWS provider's `lifecycle { ignore_changes = [scaling_config[0].desired_size] }` recipe.)

A node group deleted outside Terraform is re-created by the next plan (replaced, if the provider made its node role). AWS's own `aws:` tags are ignored.";

fn timeouts_block() -> NestedBlock {
    let t = |name: &str, what: &str| {
        Attribute::optional(name, Type::String)
            .describe(&format!(
                "How long to wait for the node group to be {what}; default `60m`."
            ))
            .validate(Validator::Duration)
    };
    NestedBlock::single(
        "timeouts",
        Block {
            description: "How long to wait for EKS.".into(),
            attributes: vec![
                t("create", "created and `ACTIVE`"),
                t("update", "updated and `ACTIVE` again"),
                t("delete", "deleted"),
            ],
            ..Default::default()
        },
    )
}

fn taint_block() -> NestedBlock {
    NestedBlock {
        name: "taint".into(),
        nesting: Nesting::List,
        block: Block {
            description: "A Kubernetes taint on every node (at most 50). A node carries one taint per key and effect.".into(),
            attributes: vec![
                Attribute::required("key", Type::String)
                    .describe("The taint's key (1–63 characters)."),
                Attribute::optional("value", Type::String)
                    .describe("The taint's value (at most 63 characters)."),
                Attribute::required("effect", Type::String)
                    .describe("What the taint does to pods that do not tolerate it.")
                    .validate(Validator::OneOf(
                        TaintEffect::ALL.iter().map(|e| e.as_str()).collect(),
                    )),
            ],
            ..Default::default()
        },
        min_items: 0,
        max_items: 0,
    }
}

fn count(name: &str, what: &str) -> Attribute {
    Attribute::required(name, Type::Number).describe(what)
}

#[async_trait]
impl Resource<ProviderData> for EksNodeGroupResource {
    fn type_name(&self) -> &'static str {
        "strata_eks_node_group"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block {
                description: DESCRIPTION.into(),
                attributes: vec![
                    Attribute::computed("id", Type::String)
                        .describe("`cluster_name:name`, also the import ID.")
                        .use_state_for_unknown(),
                    Attribute::required("cluster_name", Type::String)
                        .describe("Name of the EKS cluster the nodes join (it must be `ACTIVE`).")
                        .requires_replace(),
                    Attribute::required("name", Type::String)
                        .describe("Name of the node group: 1–63 letters, digits, `-` and `_`, unique in the cluster.")
                        .requires_replace(),
                    Attribute::optional_computed("region", Type::String)
                        .describe("Region of the cluster. Defaults to the provider's `region`.")
                        .requires_replace(),
                    Attribute::required("subnet_ids", Type::set(Type::String))
                        .describe("Subnets to launch the nodes in, typically the cluster VPC's private subnets (`values(strata_vpc.x.private_subnet_ids)`). At least one.")
                        .requires_replace(),
                    Attribute::optional_computed("instance_types", Type::list(Type::String))
                        .describe("EC2 instance types of the nodes, e.g. `[\"t3.xlarge\"]`; for `SPOT`, name several. When omitted EKS chooses (`t3.medium`) and the state records its choice.")
                        .requires_replace()
                        .use_state_for_unknown(),
                    Attribute::optional("capacity_type", Type::String)
                        .describe("`ON_DEMAND` or `SPOT` instances.")
                        .default("ON_DEMAND")
                        .validate(Validator::OneOf(vec!["ON_DEMAND", "SPOT"]))
                        .requires_replace(),
                    Attribute::optional_computed("ami_type", Type::String)
                        .describe("The AMI type, e.g. `AL2023_x86_64_STANDARD` or `BOTTLEROCKET_ARM_64`. When omitted EKS chooses from the instance types and Kubernetes version.")
                        .requires_replace()
                        .use_state_for_unknown(),
                    Attribute::optional_computed("disk_size", Type::Number)
                        .describe("Root volume size of each node in GiB. When omitted EKS chooses (20 GiB for Linux).")
                        .validate(Validator::IntBetween(1, 16384))
                        .requires_replace()
                        .use_state_for_unknown(),
                    count("min_size", "Fewest nodes (0 or more). Must not exceed `max_size`."),
                    count("max_size", "Most nodes (1 or more)."),
                    count("desired_size", "Nodes to run; between `min_size` and `max_size`. See `ignore_desired_size_changes` to let an autoscaler own it."),
                    Attribute::optional("ignore_desired_size_changes", Type::Bool)
                        .describe("Let the cluster own the desired size: `desired_size` is applied at create (and when new bounds exclude the live size), otherwise the live desired size set by a cluster autoscaler is kept in state and plans, so it never shows as drift.")
                        .default(false),
                    Attribute::optional("labels", Type::map(Type::String))
                        .describe("Kubernetes labels on every node."),
                    Attribute::optional("max_unavailable", Type::Number)
                        .describe("How many nodes may be unavailable at once while EKS rolls the nodes in an update.")
                        .default(1)
                        .validate(Validator::IntBetween(1, 100)),
                    Attribute::optional_computed("kubernetes_version", Type::String)
                        .describe("Kubernetes version of the nodes, e.g. `1.30`. When omitted the nodes start at the cluster's version; changing it upgrades the nodes in place.")
                        .use_state_for_unknown(),
                    Attribute::optional_computed("release_version", Type::String)
                        .describe("AMI release version, e.g. `1.30.0-20240703`. When omitted EKS uses the latest for `kubernetes_version`; changing it rolls the nodes in place.")
                        .use_state_for_unknown(),
                    Attribute::optional_computed("node_role_arn", Type::String)
                        .describe("ARN of the IAM role the nodes use. When omitted the provider creates one (see `created_role_name`).")
                        .requires_replace()
                        .use_state_for_unknown(),
                    Attribute::computed("created_role_name", Type::String)
                        .describe("Name of the node role the provider created (`{cluster_name}-{name}-node`, shortened with a hash past IAM's 64 characters) and deletes with the node group; null when `node_role_arn` was given.")
                        .use_state_for_unknown(),
                    Attribute::optional("tags", Type::map(Type::String))
                        .describe("Tags of the node group (and of the node role the provider creates), over the provider's `default_tags`."),
                    Attribute::computed("tags_all", Type::map(Type::String))
                        .describe("The tags in force: `default_tags` merged with `tags`."),
                    Attribute::computed("arn", Type::String)
                        .describe("The node group's ARN.")
                        .use_state_for_unknown(),
                    Attribute::computed("status", Type::String)
                        .describe("The node group's status (`ACTIVE`, `DEGRADED`…); `NOT_FOUND` when it was deleted outside Terraform while the role the provider created for it remains (the next plan replaces it)."),
                ],
                blocks: vec![taint_block(), timeouts_block()],
                deprecated: false,
            },
        }
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        report(eks_node_group::validate(&input_from(config)), diags);
    }

    async fn modify_plan(
        &self,
        ctx: &Context<ProviderData>,
        req: &PlanRequest,
        resp: &mut PlanResponse,
    ) {
        let planned = &mut resp.planned_state;
        if planned.is_null() {
            return;
        }
        let config = &req.config;
        let prior = &req.prior_state;
        // Values only known now (e.g. another resource's output) get their check here.
        report(
            eks_node_group::validate(&input_from(config)),
            &mut resp.diags,
        );

        let region = opt_str(config.attr("region"))
            .unwrap_or_else(|| ctx.data.aws.default_region().to_string());
        planned.set("region", Value::String(region));
        if let (Some(cluster), Some(name)) = (
            opt_str(config.attr("cluster_name")),
            opt_str(config.attr("name")),
        ) {
            planned.set(
                "id",
                Value::String(eks_node_group::spec::id(&cluster, &name)),
            );
        }
        let tags_all = match (config.attr("tags"), str_map(config.attr("tags"))) {
            (v, _) if v.is_null() => string_map(ctx.data.aws.default_tags()),
            (_, Some(tags)) => {
                let mut all = ctx.data.aws.default_tags().clone();
                all.extend(tags);
                string_map(&all)
            }
            (_, None) => Value::unknown(),
        };
        planned.set("tags_all", tags_all);

        if prior.is_null() {
            return;
        }

        // The cluster may own the desired size: keep the live value while the bounds hold it.
        let ignore = planned
            .attr("ignore_desired_size_changes")
            .as_bool()
            .unwrap_or(false);
        if let (Some(prior_desired), Some(configured), Some(min), Some(max)) = (
            int(prior.attr("desired_size")),
            int(config.attr("desired_size")),
            int(config.attr("min_size")),
            int(config.attr("max_size")),
        ) {
            let desired = eks_node_group::planned_desired_size(
                ignore,
                Some(prior_desired),
                configured,
                min,
                max,
            );
            planned.set("desired_size", Value::from(desired));
        }

        // A new Kubernetes version brings a new AMI release unless one is named, and a
        // release named alone may move the version.
        let changed = |name: &str, planned: &Value| {
            !config.attr(name).is_null()
                && !semantically_equal(prior.attr(name), planned.attr(name))
        };
        let version_changed = changed("kubernetes_version", planned);
        let release_changed = changed("release_version", planned);
        if version_changed && config.attr("release_version").is_null() {
            planned.set("release_version", Value::unknown());
        }
        if release_changed && config.attr("kubernetes_version").is_null() {
            planned.set("kubernetes_version", Value::unknown());
        }

        // Fixed for the life of the node group (a new role means a new group).
        planned.set("created_role_name", prior.attr("created_role_name").clone());

        // The framework marked computed values unknown because the proposal differed from
        // the prior state; if what differed was only the desired size kept above, nothing
        // changes after all and the plan must be empty.
        if config.is_wholly_known() && only_unknowns_differ(planned, prior) {
            *planned = prior.clone();
        }

        // A node group gone while its role remains: replace (delete the role, create both).
        if prior.attr("status").as_str() == Some(STATUS_NOT_FOUND) {
            planned.set("status", Value::unknown());
            resp.requires_replace.push(AttributePath::root("status"));
        }
    }

    async fn create(
        &self,
        ctx: &Context<ProviderData>,
        req: &ApplyRequest,
        resp: &mut ApplyResponse,
    ) {
        let Some(mut spec) = spec_from(&req.planned_state, &mut resp.diags) else {
            return;
        };
        // The configuration, not the plan, says whether the user brought a role: the
        // planned value of an omitted one is unknown until the provider creates it.
        spec.node_role_arn = opt_str(req.config.attr("node_role_arn"));
        let region = region_of(ctx, &req.planned_state);
        let eks = ctx.data.aws.eks(Some(&region));
        let iam = ctx.data.aws.iam();
        let t = timeouts(&req.planned_state);
        let mut state = NodeGroupState::default();
        let result = interruptible(
            ctx,
            eks_node_group::create(&eks, &iam, &spec, &region, &mut state, &t),
        )
        .await;
        let new = &mut resp.new_state;
        new.set("node_role_arn", Value::opt_string(state.node_role_arn));
        new.set(
            "created_role_name",
            Value::opt_string(state.created_role_name),
        );
        new.set("arn", Value::opt_string(state.arn));
        match result {
            Ok(observed) => fill_unknowns(new, &observed_value(&observed, new)),
            Err(e) => resp.diags.error(
                "Failed to create the node group",
                format!("{e}\n\nWhat was created is recorded in the state: `terraform apply` replaces it, `terraform destroy` removes it (and the node role the provider made)."),
            ),
        }
    }

    async fn read(&self, ctx: &Context<ProviderData>, req: &ReadRequest, resp: &mut ReadResponse) {
        let current = &req.current_state;
        let (Some(cluster), Some(name)) = (
            opt_str(current.attr("cluster_name")),
            opt_str(current.attr("name")),
        ) else {
            resp.new_state = Value::Null;
            return;
        };
        let region = region_of(ctx, current);
        let eks = ctx.data.aws.eks(Some(&region));
        let observed = match eks_node_group::read(&eks, &cluster, &name).await {
            Ok(Some(o)) => o,
            Ok(None) if opt_str(current.attr("created_role_name")).is_some() => {
                // Keep the state: it is what remembers the role to delete.
                resp.new_state.set("status", Value::from(STATUS_NOT_FOUND));
                return;
            }
            Ok(None) => {
                resp.new_state = Value::Null;
                return;
            }
            Err(e) => {
                resp.diags
                    .error("Failed to read the node group", e.to_string());
                return;
            }
        };
        let mut live = observed_value(&observed, current);
        // `tags` holds what the practitioner set; default tags live only in `tags_all`.
        let prior_tags = str_map(current.attr("tags"));
        let defaults = ctx.data.aws.default_tags();
        let own: BTreeMap<String, String> = observed
            .tags
            .iter()
            .filter(|(k, v)| {
                prior_tags.as_ref().is_some_and(|p| p.contains_key(*k))
                    || defaults.get(*k) != Some(*v)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        live.set(
            "tags",
            if own.is_empty() && prior_tags.is_none() {
                Value::Null
            } else {
                string_map(&own)
            },
        );
        live.set("region", Value::String(region));
        resp.new_state = live;
    }

    async fn update(
        &self,
        ctx: &Context<ProviderData>,
        req: &ApplyRequest,
        resp: &mut ApplyResponse,
    ) {
        let (Some(old), Some(new)) = (
            spec_from(&req.prior_state, &mut resp.diags),
            spec_from(&req.planned_state, &mut resp.diags),
        ) else {
            return;
        };
        let region = region_of(ctx, &req.planned_state);
        let eks = ctx.data.aws.eks(Some(&region));
        let arn = opt_str(req.prior_state.attr("arn")).unwrap_or_default();
        let t = timeouts(&req.planned_state);
        match interruptible(ctx, eks_node_group::update(&eks, &old, &new, &arn, &t)).await {
            Ok(observed) => {
                let live = observed_value(&observed, &resp.new_state);
                fill_unknowns(&mut resp.new_state, &live);
            }
            Err(e) => {
                // Nothing is known to have changed: the next refresh reads what did.
                resp.new_state = req.prior_state.clone();
                resp.diags
                    .error("Failed to update the node group", e.to_string());
            }
        }
    }

    async fn delete(
        &self,
        ctx: &Context<ProviderData>,
        req: &ApplyRequest,
        resp: &mut ApplyResponse,
    ) {
        let prior = &req.prior_state;
        let (Some(cluster), Some(name)) = (
            opt_str(prior.attr("cluster_name")),
            opt_str(prior.attr("name")),
        ) else {
            return;
        };
        let region = region_of(ctx, prior);
        let eks = ctx.data.aws.eks(Some(&region));
        let iam = ctx.data.aws.iam();
        let role = opt_str(prior.attr("created_role_name"));
        let t = timeouts(prior);
        if let Err(e) = interruptible(
            ctx,
            eks_node_group::delete(&eks, &iam, &cluster, &name, role.as_deref(), &t),
        )
        .await
        {
            resp.diags
                .error("Failed to delete the node group", e.to_string());
        }
    }

    async fn import(&self, _ctx: &Context<ProviderData>, id: &str, resp: &mut ImportResponse) {
        let Some((region, cluster, name)) = eks_node_group::parse_import_id(id) else {
            resp.diags.error(
                "Invalid import ID",
                format!("{id:?} is not a node group ID. Import with `CLUSTER:NODEGROUP` (e.g. `knowledgebeast-west:standard-workers`), or `REGION/CLUSTER:NODEGROUP` for a cluster outside the provider's region."),
            );
            return;
        };
        resp.state = Value::from_json(
            &serde_json::json!({
                "id": eks_node_group::spec::id(cluster, name),
                "cluster_name": cluster,
                "name": name,
                "region": region,
            }),
            &self.schema().value_type(),
        )
        .unwrap_or(Value::Null);
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn int32(v: &Value) -> Option<i32> {
    int(v).and_then(|n| i32::try_from(n).ok())
}

fn region_of(ctx: &Context<ProviderData>, state: &Value) -> String {
    opt_str(state.attr("region")).unwrap_or_else(|| ctx.data.aws.default_region().to_string())
}

/// The engine's view of a configuration, with what is not known yet left out.
fn input_from(config: &Value) -> NodeGroupInput {
    let known_entries = |attr: &str| -> BTreeMap<String, String> {
        config
            .attr(attr)
            .entries()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let strings = |attr: &str| -> Option<Vec<String>> {
        config
            .attr(attr)
            .elements()
            .map(|items| items.iter().filter_map(opt_str).collect())
    };
    NodeGroupInput {
        cluster_name: opt_str(config.attr("cluster_name")),
        name: opt_str(config.attr("name")),
        subnet_ids: strings("subnet_ids"),
        instance_types: strings("instance_types"),
        min_size: int(config.attr("min_size")),
        max_size: int(config.attr("max_size")),
        desired_size: int(config.attr("desired_size")),
        labels: known_entries("labels"),
        taints: config.attr("taint").elements().map(|items| {
            items
                .iter()
                .map(|t| TaintInput {
                    key: opt_str(t.attr("key")),
                    effect: opt_str(t.attr("effect")),
                    value: opt_str(t.attr("value")),
                })
                .collect()
        }),
        tags: known_entries("tags"),
    }
}

/// Engine problems as diagnostics on the attribute they concern.
fn report(problems: Vec<SpecProblem>, diags: &mut Diagnostics) {
    for problem in problems {
        let mut path = AttributePath::default();
        for step in &problem.path {
            path = match step {
                PathStep::Attribute(a) => path.attr(a),
                PathStep::Key(k) => path.key(k),
                PathStep::Index(i) => path.index(*i as i64),
            };
        }
        let summary = match problem.path.first() {
            Some(PathStep::Attribute(a)) => format!("Invalid {a}"),
            _ => "Invalid node group".to_string(),
        };
        diags.attribute_error(path, summary, problem.to_string());
    }
}

fn timeouts(state: &Value) -> crate::wait::Timeouts {
    crate::resources::timeouts(state, crate::eks_node_group::DEFAULT_TIMEOUTS)
}

fn taints_from(v: &Value) -> Option<Vec<Taint>> {
    v.elements()
        .unwrap_or_default()
        .iter()
        .map(|t| {
            Some(Taint {
                key: opt_str(t.attr("key"))?,
                value: opt_str(t.attr("value")),
                effect: opt_str(t.attr("effect"))?.parse().ok()?,
            })
        })
        .collect()
}

/// The engine's spec from a planned (or prior) state. Attributes left to EKS that are
/// still unknown become `None` ("let EKS choose").
fn spec_from(v: &Value, diags: &mut Diagnostics) -> Option<NodeGroupSpec> {
    let strings = |attr: &str| -> Option<Vec<String>> {
        v.attr(attr)
            .elements()?
            .iter()
            .map(opt_str)
            .collect::<Option<Vec<_>>>()
    };
    let parsed = (|| -> Option<NodeGroupSpec> {
        Some(NodeGroupSpec {
            cluster_name: opt_str(v.attr("cluster_name"))?,
            name: opt_str(v.attr("name"))?,
            subnet_ids: str_set(v.attr("subnet_ids"))?,
            instance_types: strings("instance_types"),
            capacity_type: match opt_str(v.attr("capacity_type")) {
                Some(c) => c.parse().ok()?,
                None => CapacityType::default(),
            },
            ami_type: opt_str(v.attr("ami_type")),
            disk_size: int32(v.attr("disk_size")),
            scaling: Scaling {
                min: int32(v.attr("min_size"))?,
                max: int32(v.attr("max_size"))?,
                desired: int32(v.attr("desired_size"))?,
            },
            ignore_desired_size_changes: v
                .attr("ignore_desired_size_changes")
                .as_bool()
                .unwrap_or(false),
            labels: str_map(v.attr("labels")).unwrap_or_default(),
            taints: taints_from(v.attr("taint"))?,
            max_unavailable: int32(v.attr("max_unavailable"))
                .unwrap_or(eks_node_group::spec::DEFAULT_MAX_UNAVAILABLE),
            kubernetes_version: opt_str(v.attr("kubernetes_version")),
            release_version: opt_str(v.attr("release_version")),
            node_role_arn: opt_str(v.attr("node_role_arn")),
            tags: str_map(v.attr("tags_all")).unwrap_or_default(),
        })
    })();
    if parsed.is_none() {
        diags.error(
            "Incomplete node group plan",
            "The planned node group still has unknown or invalid values; this is a bug in the provider, please report it.",
        );
    }
    parsed
}

/// The state EKS reports, over `base` (which supplies what EKS does not know: the
/// created role, timeouts, whether the desired size is ignored, the taint order and
/// whether empty maps were written as `{}` or left out).
fn observed_value(o: &ObservedNodeGroup, base: &Value) -> Value {
    let mut v = base.clone();
    let empty_as_null = |m: &BTreeMap<String, String>, prior: &Value| {
        if m.is_empty() && prior.is_null() {
            Value::Null
        } else {
            string_map(m)
        }
    };
    let prior_taints = taints_from(base.attr("taint")).unwrap_or_default();
    let taints = eks_node_group::order_taints_like(&prior_taints, o.taints.clone());
    let fields = [
        (
            "id",
            Value::String(eks_node_group::spec::id(&o.cluster_name, &o.name)),
        ),
        ("cluster_name", Value::String(o.cluster_name.clone())),
        ("name", Value::String(o.name.clone())),
        ("arn", Value::String(o.arn.clone())),
        ("status", Value::String(o.status.clone())),
        ("subnet_ids", string_set(o.subnet_ids.iter())),
        (
            "instance_types",
            Value::List(
                o.instance_types
                    .iter()
                    .cloned()
                    .map(Value::String)
                    .collect(),
            ),
        ),
        ("capacity_type", Value::opt_string(o.capacity_type.clone())),
        ("ami_type", Value::opt_string(o.ami_type.clone())),
        (
            "disk_size",
            o.disk_size
                .map_or(Value::Null, |d| Value::from(i64::from(d))),
        ),
        ("labels", empty_as_null(&o.labels, base.attr("labels"))),
        (
            "taint",
            Value::List(taints.iter().map(taint_value).collect()),
        ),
        (
            "max_unavailable",
            o.max_unavailable
                .map_or(Value::Null, |m| Value::from(i64::from(m))),
        ),
        (
            "kubernetes_version",
            Value::opt_string(o.kubernetes_version.clone()),
        ),
        (
            "release_version",
            Value::opt_string(o.release_version.clone()),
        ),
        ("node_role_arn", Value::opt_string(o.node_role_arn.clone())),
        ("tags_all", string_map(&o.tags)),
    ];
    for (name, value) in fields {
        v.set(name, value);
    }
    if let Some(s) = o.scaling {
        v.set("min_size", Value::from(i64::from(s.min)));
        v.set("max_size", Value::from(i64::from(s.max)));
        v.set("desired_size", Value::from(i64::from(s.desired)));
    }
    // Imported groups (and states from before the attribute) take the default.
    if base.attr("ignore_desired_size_changes").is_null() {
        v.set("ignore_desired_size_changes", Value::Bool(false));
    }
    v
}

fn taint_value(t: &Taint) -> Value {
    Value::Object(
        [
            ("key".to_string(), Value::String(t.key.clone())),
            ("value".to_string(), Value::opt_string(t.value.clone())),
            (
                "effect".to_string(),
                Value::String(t.effect.as_str().to_string()),
            ),
        ]
        .into(),
    )
}

/// Whether `planned` equals `prior` once its unknown attributes take the prior values:
/// the plan changes nothing that is known.
fn only_unknowns_differ(planned: &Value, prior: &Value) -> bool {
    let mut candidate = planned.clone();
    fill_unknowns(&mut candidate, prior);
    semantically_equal(&candidate, prior)
}

/// After create or update: every value the plan left unknown takes what EKS reports;
/// known planned values stay as planned (they are what was sent), so the result is
/// consistent with the plan and the next refresh shows any difference as drift.
fn fill_unknowns(planned: &mut Value, live: &Value) {
    if let (Value::Object(p), Value::Object(l)) = (planned, live) {
        for (name, slot) in p.iter_mut() {
            if slot.is_unknown() {
                *slot = l.get(name).cloned().unwrap_or(Value::Null);
            }
        }
    }
}
