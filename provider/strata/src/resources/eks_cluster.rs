//! `strata_eks_cluster`: the Terraform face of [`crate::eks_cluster`] — schema, plan
//! refinement (upgrade rules, stable computed values), and the mapping between
//! Terraform values and the cluster engine's types.

use std::collections::BTreeMap;

use async_trait::async_trait;
use strata_framework::diag::Diagnostics;
use strata_framework::plan::semantically_equal;
use strata_framework::resource::{
    ApplyRequest, ApplyResponse, ImportResponse, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse,
};
use strata_framework::schema::{Attribute, Block, NestedBlock, Schema, Validator};
use strata_framework::{AttributePath, Context, Resource, Type, Value};

use crate::eks_cluster::{
    self, ClusterInput, ClusterSpec, ClusterState, KubeVersion, LOG_TYPES, ObservedCluster,
    SpecProblem, check_upgrade, role_name_for,
};
use crate::iam_role;
use crate::provider::{ProviderData, merged_tags};
use crate::resources::interruptible;
use crate::values::{opt_str, str_map, str_set, string_map, string_set};

pub struct EksClusterResource;

const DESCRIPTION: &str = "An EKS cluster (the Kubernetes control plane) in one region, typically on the private subnets of a `strata_vpc`.

Creating a cluster waits until EKS reports it `ACTIVE` (10–15 minutes on AWS). When `role_arn` is omitted, the provider creates the cluster's IAM role `<name>-eks-cluster` (trusting `eks.amazonaws.com`, with the managed policies `AmazonEKSClusterPolicy` and `AmazonEKSVPCResourceController`), names it in `created_role_name`, and deletes it when the cluster is destroyed. A role just created takes a moment to reach EKS; the provider retries the errors that causes for up to two minutes.

What changes do:

| change | effect |
|---|---|
| `kubernetes_version` | upgraded in place, one minor version at a time (as EKS requires: `1.30` → `1.31`); a downgrade or a skipped version is refused at plan time |
| `enabled_log_types` | updated in place |
| `endpoint_public_access`, `endpoint_private_access`, `public_access_cidrs` | updated in place |
| `tags` | updated in place |
| `name`, `region`, `role_arn`, `subnet_ids`, `security_group_ids`, `service_ipv4_cidr`, `encryption_kms_key_arn` | replace the cluster (a new control plane: a new endpoint, certificate and OIDC issuer) |

EKS allows one update in flight per cluster, so the in-place changes of one apply are made one after the other, each waited for: the version upgrade first, then logging, then endpoint access.

A cluster deleted outside Terraform is re-created by the next apply. If the provider created its role and the role is still there, the plan shows a replacement (`-/+`) rather than a plain create, so the role is accounted for and never orphaned.";

const SUBNETS: &str = "Subnets for the control plane's network interfaces, usually `values(strata_vpc.<name>.private_subnet_ids)`. At least one; on AWS, at least two in different availability zones. Order does not matter. **Changing the subnets replaces the cluster**: EKS can only move a cluster's interfaces within its original VPC and zones, so the provider always plans a new control plane instead (new endpoint, certificate and OIDC issuer).";

fn timeouts_block() -> NestedBlock {
    let t = |name: &str, verb: &str, default: &str| {
        Attribute::optional(name, Type::String)
            .describe(&format!(
                "How long to wait for the cluster to be {verb}; default `{default}`."
            ))
            .validate(Validator::Duration)
    };
    NestedBlock::single(
        "timeouts",
        Block {
            description: "How long to wait for EKS.".into(),
            attributes: vec![
                t("create", "created and `ACTIVE`", "30m"),
                t(
                    "update",
                    "updated (all in-place changes of one apply)",
                    "60m",
                ),
                t("delete", "deleted", "15m"),
            ],
            ..Default::default()
        },
    )
}

/// Computed attributes that only change when the cluster is replaced: plans keep them.
const STABLE: [&str; 7] = [
    "id",
    "arn",
    "endpoint",
    "certificate_authority_data",
    "oidc_issuer_url",
    "cluster_security_group_id",
    "created_role_name",
];

/// Attributes that describe the live control plane (cleared when it is gone).
const CLUSTER_COMPUTED: [&str; 7] = [
    "arn",
    "endpoint",
    "certificate_authority_data",
    "oidc_issuer_url",
    "platform_version",
    "status",
    "cluster_security_group_id",
];

#[async_trait]
impl Resource<ProviderData> for EksClusterResource {
    fn type_name(&self) -> &'static str {
        "strata_eks_cluster"
    }

    fn schema(&self) -> Schema {
        let log_types = LOG_TYPES.map(|t| format!("`{t}`")).join(", ");
        Schema {
            version: 0,
            block: Block {
                description: DESCRIPTION.into(),
                attributes: vec![
                    Attribute::computed("id", Type::String)
                        .describe("The cluster's name.")
                        .use_state_for_unknown(),
                    Attribute::required("name", Type::String)
                        .describe("Name of the cluster: 1–100 letters, digits, `-` and `_`, starting with a letter or digit. Without `role_arn`, at most 52 characters (the created role's name adds `-eks-cluster`).")
                        .validate(Validator::MinLength(1))
                        .requires_replace(),
                    Attribute::optional_computed("region", Type::String)
                        .describe("Region of the cluster. Defaults to the provider's `region`.")
                        .requires_replace(),
                    Attribute::optional_computed("kubernetes_version", Type::String)
                        .describe("Kubernetes version as `major.minor`, e.g. `\"1.31\"`. Defaults to EKS's default version. Raising it by one minor version upgrades the control plane in place (20–40 minutes on AWS); EKS cannot skip a version or downgrade, and such a change is refused at plan time. Upgrade node groups separately.")
                        .use_state_for_unknown(),
                    Attribute::optional_computed("role_arn", Type::String)
                        .describe("ARN of the IAM role the control plane runs as. When omitted, the provider creates one (see `created_role_name`). Removing it from the configuration keeps the current role.")
                        .requires_replace()
                        .use_state_for_unknown(),
                    Attribute::computed("created_role_name", Type::String)
                        .describe("Name of the IAM role the provider created for the cluster (deleted with it); null when `role_arn` was given or the cluster was imported.")
                        .use_state_for_unknown(),
                    Attribute::required("subnet_ids", Type::set(Type::String))
                        .describe(SUBNETS)
                        .requires_replace(),
                    Attribute::optional("security_group_ids", Type::set(Type::String))
                        .describe("Extra security groups for the control plane's network interfaces, besides the cluster security group EKS creates (`cluster_security_group_id`).")
                        .requires_replace(),
                    Attribute::optional("endpoint_public_access", Type::Bool)
                        .describe("Whether the Kubernetes API server has a public endpoint.")
                        .default(true),
                    Attribute::optional("endpoint_private_access", Type::Bool)
                        .describe("Whether the Kubernetes API server is reachable from inside the VPC (nodes then talk to it without leaving the VPC). At least one of the two endpoints must be enabled.")
                        .default(true),
                    Attribute::optional_computed("public_access_cidrs", Type::set(Type::String))
                        .describe("IPv4 CIDR blocks allowed to reach the public endpoint. Defaults to EKS's `0.0.0.0/0`.")
                        .use_state_for_unknown(),
                    Attribute::optional_computed("service_ipv4_cidr", Type::String)
                        .describe("IPv4 range Kubernetes assigns service IPs from: between /12 and /24 inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, not overlapping the VPC. Defaults to EKS's choice (`10.100.0.0/16` or `172.20.0.0/16`).")
                        .validate(Validator::Ipv4Cidr)
                        .requires_replace()
                        .use_state_for_unknown(),
                    Attribute::optional("enabled_log_types", Type::set(Type::String))
                        .describe(&format!("Control-plane log types sent to CloudWatch Logs, any of {log_types}. Omitted or empty: none.")),
                    Attribute::optional("encryption_kms_key_arn", Type::String)
                        .describe("ARN of a KMS key for envelope encryption of Kubernetes secrets.")
                        .requires_replace(),
                    Attribute::optional("tags", Type::map(Type::String))
                        .describe("Tags for the cluster, over the provider's `default_tags`. A role the provider creates gets the tags in force at its creation. Tags starting with `aws:` are AWS's own and ignored."),
                    Attribute::computed("tags_all", Type::map(Type::String))
                        .describe("The tags in force: `default_tags` merged with `tags`."),
                    Attribute::computed("arn", Type::String).describe("The cluster's ARN."),
                    Attribute::computed("endpoint", Type::String)
                        .describe("URL of the Kubernetes API server."),
                    Attribute::computed("certificate_authority_data", Type::String)
                        .describe("Base64-encoded certificate of the cluster's certificate authority (for a kubeconfig)."),
                    Attribute::computed("oidc_issuer_url", Type::String)
                        .describe("URL of the cluster's OpenID Connect issuer (for IAM roles for service accounts)."),
                    Attribute::computed("platform_version", Type::String)
                        .describe("EKS platform version of the control plane (e.g. `eks.5`); changes with upgrades."),
                    Attribute::computed("status", Type::String)
                        .describe("The cluster's status (`ACTIVE` once created or updated)."),
                    Attribute::computed("cluster_security_group_id", Type::String)
                        .describe("The security group EKS created for the control plane and managed nodes."),
                ],
                blocks: vec![timeouts_block()],
                deprecated: false,
            },
        }
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        report(eks_cluster::validate(&input_from(config)), diags);
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
        let region = opt_str(config.attr("region"))
            .or_else(|| opt_str(prior.attr("region")))
            .unwrap_or_else(|| ctx.data.aws.default_region().to_string());
        planned.set("region", Value::String(region));
        if let Some(name) = opt_str(config.attr("name")) {
            planned.set("id", Value::String(name));
        }
        let tags = config.attr("tags");
        let tags_all = if tags.is_null() {
            string_map(ctx.data.aws.default_tags())
        } else {
            match str_map(tags) {
                Some(own) => string_map(&merged_tags(ctx.data.aws.default_tags(), &own)),
                None => Value::unknown(),
            }
        };
        planned.set("tags_all", tags_all);

        if prior.is_null() {
            // Create: whether the provider makes the role is known now.
            let created = match (config.attr("role_arn"), opt_str(config.attr("name"))) {
                (Value::Null, Some(name)) => Value::String(role_name_for(&name)),
                (Value::Null, None) => Value::unknown(),
                _ => Value::Null,
            };
            planned.set("created_role_name", created);
            return;
        }

        if let (Some(from), Some(to)) = (
            opt_str(prior.attr("kubernetes_version")),
            opt_str(config.attr("kubernetes_version")),
        ) && let (Ok(from), Ok(to)) = (from.parse::<KubeVersion>(), to.parse::<KubeVersion>())
            && let Err(e) = check_upgrade(from, to)
        {
            resp.diags.attribute_error(
                AttributePath::root("kubernetes_version"),
                "Unsupported Kubernetes version change",
                e.to_string(),
            );
        }

        if prior.attr("arn").is_null() {
            // The control plane is gone (read kept the state for the role the provider
            // created): plan a new one; deleting the old state removes or reuses the role.
            for attr in CLUSTER_COMPUTED {
                planned.set(attr, Value::unknown());
            }
            resp.requires_replace.push(AttributePath::root("arn"));
            return;
        }

        for attr in STABLE {
            planned.set(attr, prior.attr(attr).clone());
        }
        let version_same = semantically_equal(
            prior.attr("kubernetes_version"),
            planned.attr("kubernetes_version"),
        );
        planned.set(
            "platform_version",
            if version_same {
                prior.attr("platform_version").clone()
            } else {
                Value::unknown()
            },
        );
        // Status stays as read unless this plan changes something; an apply waits for
        // ACTIVE, so that is what a change ends with.
        let mut rest = planned.clone();
        rest.set("status", prior.attr("status").clone());
        let status = if semantically_equal(&rest, prior) {
            prior.attr("status").clone()
        } else {
            Value::from("ACTIVE")
        };
        planned.set("status", status);
    }

    async fn create(
        &self,
        ctx: &Context<ProviderData>,
        req: &ApplyRequest,
        resp: &mut ApplyResponse,
    ) {
        let planned = &req.planned_state;
        let Some(spec) = spec_from(planned, &mut resp.diags) else {
            return;
        };
        let region = opt_str(planned.attr("region"))
            .unwrap_or_else(|| ctx.data.aws.default_region().to_string());
        let eks = ctx.data.aws.eks(Some(&region));
        let iam = ctx.data.aws.iam();
        let t = timeouts(planned);
        let mut state = ClusterState::default();
        let result = interruptible(
            ctx,
            eks_cluster::create(&eks, &iam, &spec, &region, &mut state, &t),
        )
        .await;
        let new = &mut resp.new_state;
        match result {
            Ok(observed) => {
                new.set("id", Value::String(spec.name.clone()));
                new.set(
                    "created_role_name",
                    Value::opt_string(state.created_role_name.clone()),
                );
                fill_unknowns(new, &observed, ctx.data.aws.default_tags());
            }
            Err(e) => {
                if state.created_role_name.is_none() && !state.cluster_requested {
                    // Nothing was made, so there is nothing for Terraform to remember.
                    *new = Value::Null;
                } else {
                    // `id` only when EKS accepted the cluster: a cluster of that name that
                    // refused our create (say, one that already existed) is not ours to
                    // read, update or delete.
                    let id = state.cluster_requested.then(|| spec.name.clone());
                    new.set("id", Value::opt_string(id));
                    new.set(
                        "created_role_name",
                        Value::opt_string(state.created_role_name.clone()),
                    );
                    new.set("role_arn", Value::opt_string(state.role_arn.clone()));
                    if let Some(seen) = &state.last_seen {
                        fill_unknowns(new, seen, ctx.data.aws.default_tags());
                    }
                }
                resp.diags.error(
                    "Failed to create the EKS cluster",
                    format!("{e}\n\nWhat was created so far (the cluster, and the IAM role the provider made for it) is recorded in the state; `terraform apply` retries by replacing it, `terraform destroy` removes it."),
                );
            }
        }
    }

    async fn read(&self, ctx: &Context<ProviderData>, req: &ReadRequest, resp: &mut ReadResponse) {
        let current = &req.current_state;
        let region = opt_str(current.attr("region"))
            .unwrap_or_else(|| ctx.data.aws.default_region().to_string());
        // No `id`: a create failed before EKS accepted the cluster; only the role the
        // provider created (if any) is ours.
        let observed = match opt_str(current.attr("id")) {
            None => None,
            Some(name) => {
                let eks = ctx.data.aws.eks(Some(&region));
                match eks_cluster::read(&eks, &name).await {
                    Ok(o) => o,
                    Err(e) => {
                        resp.diags
                            .error("Failed to read the EKS cluster", e.to_string());
                        return;
                    }
                }
            }
        };
        let new = &mut resp.new_state;
        new.set("region", Value::String(region));
        match observed {
            Some(o) => write_observed(new, &o, current, ctx.data.aws.default_tags()),
            None => {
                // Gone. Unless the provider created its role and the role is still
                // there: then keep the state (without the control plane's values) so
                // the role is removed by destroy or reused by a re-create, never lost.
                let keep = match opt_str(current.attr("created_role_name")) {
                    Some(role) => {
                        match iam_role::service_role_exists(&ctx.data.aws.iam(), &role).await {
                            Ok(exists) => exists,
                            Err(e) => {
                                resp.diags.error(
                                    "Failed to read the EKS cluster's IAM role",
                                    e.to_string(),
                                );
                                return;
                            }
                        }
                    }
                    None => false,
                };
                if keep {
                    for attr in CLUSTER_COMPUTED {
                        new.set(attr, Value::Null);
                    }
                } else {
                    *new = Value::Null;
                }
            }
        }
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
        let region = opt_str(req.planned_state.attr("region"));
        let eks = ctx.data.aws.eks(region.as_deref());
        let t = timeouts(&req.planned_state);
        let result = interruptible(ctx, eks_cluster::update(&eks, &old, &new, &t)).await;
        match result {
            Ok(observed) => {
                fill_unknowns(&mut resp.new_state, &observed, ctx.data.aws.default_tags())
            }
            Err(e) => {
                // Record what really is (some steps may have been made), so the next plan
                // shows exactly what is left to do.
                let mut state = req.prior_state.clone();
                if let Ok(Some(o)) = eks_cluster::read(&eks, &new.name).await {
                    write_observed(
                        &mut state,
                        &o,
                        &req.prior_state,
                        ctx.data.aws.default_tags(),
                    );
                }
                resp.new_state = state;
                resp.diags
                    .error("Failed to update the EKS cluster", e.to_string());
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
        let eks = ctx.data.aws.eks(opt_str(prior.attr("region")).as_deref());
        let iam = ctx.data.aws.iam();
        let role = opt_str(prior.attr("created_role_name"));
        let t = timeouts(prior);
        let result = match opt_str(prior.attr("id")) {
            Some(name) => {
                interruptible(
                    ctx,
                    eks_cluster::delete(&eks, &iam, &name, role.as_deref(), &t),
                )
                .await
            }
            // A create that failed before EKS accepted the cluster: only the role is ours.
            None => match role {
                Some(role) => iam_role::delete_service_role(&iam, &role)
                    .await
                    .map_err(|e| e.to_string()),
                None => Ok(()),
            },
        };
        if let Err(e) = result {
            resp.diags
                .error("Failed to delete the EKS cluster", e.to_string());
        }
    }

    async fn import(&self, _ctx: &Context<ProviderData>, id: &str, resp: &mut ImportResponse) {
        // `name` in the provider's region, or `REGION/name`.
        let (region, name) = match id.split_once('/') {
            Some((r, n)) => (Some(r), n),
            None => (None, id),
        };
        let problems = eks_cluster::validate(&ClusterInput {
            name: Some(name.to_owned()),
            ..Default::default()
        });
        if !problems.is_empty() || region.is_some_and(str::is_empty) {
            resp.diags.error(
                "Invalid import ID",
                format!("{id:?} is not a cluster name. Import with the cluster's name (`prod`), or `REGION/name` (`us-east-1/prod`) for a cluster outside the provider's region."),
            );
            return;
        }
        let schema_ty = self.schema().value_type();
        resp.state = Value::from_json(
            &serde_json::json!({ "id": name, "name": name, "region": region }),
            &schema_ty,
        )
        .unwrap_or(Value::Null);
    }
}

/// The engine's view of a configuration, for validation: unknown values are `None`.
fn input_from(config: &Value) -> ClusterInput {
    let known = |attr: &str| -> Vec<String> {
        config
            .attr(attr)
            .elements()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let role_arn = match config.attr("role_arn") {
        Value::Null => Some(None),
        v => v.as_str().map(|s| Some(s.to_owned())),
    };
    ClusterInput {
        name: opt_str(config.attr("name")),
        kubernetes_version: opt_str(config.attr("kubernetes_version")),
        role_arn,
        subnet_ids: config.attr("subnet_ids").elements().map(|items| {
            items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect()
        }),
        security_group_ids: known("security_group_ids"),
        endpoint_public_access: config.attr("endpoint_public_access").as_bool(),
        endpoint_private_access: config.attr("endpoint_private_access").as_bool(),
        public_access_cidrs: known("public_access_cidrs"),
        service_ipv4_cidr: opt_str(config.attr("service_ipv4_cidr")),
        enabled_log_types: known("enabled_log_types"),
        encryption_kms_key_arn: opt_str(config.attr("encryption_kms_key_arn")),
    }
}

/// Engine problems as diagnostics on the attribute they concern.
fn report(problems: Vec<SpecProblem>, diags: &mut Diagnostics) {
    for problem in problems {
        diags.attribute_error(
            AttributePath::root(problem.attribute),
            format!("Invalid {}", problem.attribute),
            format!("{}: {problem}", problem.attribute),
        );
    }
}

fn timeouts(state: &Value) -> crate::wait::Timeouts {
    crate::resources::timeouts(state, crate::eks_cluster::DEFAULT_TIMEOUTS)
}

/// The engine's spec from a planned (or prior) state. Optional+computed values that are
/// still unknown (on create) are `None`: EKS picks them.
fn spec_from(v: &Value, diags: &mut Diagnostics) -> Option<ClusterSpec> {
    let parsed = (|| -> Option<ClusterSpec> {
        Some(ClusterSpec {
            name: opt_str(v.attr("name"))?,
            kubernetes_version: opt_str(v.attr("kubernetes_version")),
            role_arn: opt_str(v.attr("role_arn")),
            subnet_ids: str_set(v.attr("subnet_ids"))?,
            security_group_ids: str_set(v.attr("security_group_ids")).unwrap_or_default(),
            endpoint_public_access: v.attr("endpoint_public_access").as_bool().unwrap_or(true),
            endpoint_private_access: v.attr("endpoint_private_access").as_bool().unwrap_or(true),
            public_access_cidrs: str_set(v.attr("public_access_cidrs")),
            service_ipv4_cidr: opt_str(v.attr("service_ipv4_cidr")),
            enabled_log_types: str_set(v.attr("enabled_log_types")).unwrap_or_default(),
            encryption_kms_key_arn: opt_str(v.attr("encryption_kms_key_arn")),
            tags: str_map(v.attr("tags_all")).unwrap_or_default(),
        })
    })();
    if parsed.is_none() {
        diags.error(
            "Incomplete cluster plan",
            "The planned cluster still has unknown values where the provider needs known ones; this is a bug in the provider, please report it.",
        );
    }
    parsed
}

/// A set attribute that the configuration may leave null: empty in AWS stays null when
/// `reference` (the prior or planned value) is null, so "unset" and "empty" do not
/// differ in plans.
fn set_or_null<'a>(items: impl IntoIterator<Item = &'a String>, reference: &Value) -> Value {
    let v = string_set(items);
    match (&v, reference) {
        (Value::Set(s), Value::Null) if s.is_empty() => Value::Null,
        _ => v,
    }
}

/// Everything EKS says about the cluster, written over `v` (the current state on read).
fn write_observed(
    v: &mut Value,
    o: &ObservedCluster,
    reference: &Value,
    defaults: &BTreeMap<String, String>,
) {
    v.set("name", Value::String(o.name.clone()));
    v.set(
        "kubernetes_version",
        Value::opt_string(o.kubernetes_version.clone()),
    );
    v.set("role_arn", Value::opt_string(o.role_arn.clone()));
    v.set("subnet_ids", string_set(&o.subnet_ids));
    v.set(
        "security_group_ids",
        set_or_null(&o.security_group_ids, reference.attr("security_group_ids")),
    );
    v.set(
        "endpoint_public_access",
        Value::Bool(o.endpoint_public_access),
    );
    v.set(
        "endpoint_private_access",
        Value::Bool(o.endpoint_private_access),
    );
    v.set("public_access_cidrs", string_set(&o.public_access_cidrs));
    v.set(
        "service_ipv4_cidr",
        Value::opt_string(o.service_ipv4_cidr.clone()),
    );
    v.set(
        "enabled_log_types",
        set_or_null(&o.enabled_log_types, reference.attr("enabled_log_types")),
    );
    v.set(
        "encryption_kms_key_arn",
        Value::opt_string(o.encryption_kms_key_arn.clone()),
    );
    // `tags` holds what the practitioner set; default tags live only in `tags_all`.
    let prior_tags = str_map(reference.attr("tags"));
    let own: BTreeMap<String, String> = o
        .tags
        .iter()
        .filter(|(k, v)| {
            prior_tags.as_ref().is_some_and(|p| p.contains_key(*k)) || defaults.get(*k) != Some(*v)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let tags = if own.is_empty() && prior_tags.is_none() {
        Value::Null
    } else {
        string_map(&own)
    };
    v.set("tags", tags);
    v.set("tags_all", string_map(&o.tags));
    v.set("arn", Value::opt_string(o.arn.clone()));
    v.set("endpoint", Value::opt_string(o.endpoint.clone()));
    v.set(
        "certificate_authority_data",
        Value::opt_string(o.certificate_authority_data.clone()),
    );
    v.set(
        "oidc_issuer_url",
        Value::opt_string(o.oidc_issuer_url.clone()),
    );
    v.set(
        "platform_version",
        Value::opt_string(o.platform_version.clone()),
    );
    v.set("status", Value::String(o.status.clone()));
    v.set(
        "cluster_security_group_id",
        Value::opt_string(o.cluster_security_group_id.clone()),
    );
}

/// After an apply: the values the plan left unknown, from what EKS reports. Known
/// planned values stay as planned (EKS accepted them; drift is for the next read).
fn fill_unknowns(new: &mut Value, o: &ObservedCluster, defaults: &BTreeMap<String, String>) {
    let mut observed = new.clone();
    write_observed(&mut observed, o, new, defaults);
    if let (Value::Object(new), Value::Object(observed)) = (new, &observed) {
        for (name, value) in new.iter_mut() {
            if !value.is_wholly_known()
                && let Some(seen) = observed.get(name)
            {
                *value = seen.clone();
            }
        }
    }
}
