//! `strata_storage_class`: the Terraform face of [`crate::storage_class`] — schema, the
//! cluster connection block, plan-time EBS checks, and the mapping between Terraform
//! values and the engine's types.

use std::collections::BTreeMap;

use async_trait::async_trait;
use strata_framework::diag::Diagnostics;
use strata_framework::plan::semantically_equal;
use strata_framework::resource::{
    ApplyRequest, ApplyResponse, ImportResponse, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse,
};
use strata_framework::schema::{Attribute, Block, Schema, Validator};
use strata_framework::{AttributePath, Context, Resource, Type, Value};

use crate::provider::ProviderData;
use crate::resources::kube_cluster::{
    self, CLUSTER, EKS_CLUSTER_NAME, check_connection, cluster_block, connection_from,
};
use crate::storage_class::rules::{self, Arg, EbsArgs, EbsParameters};
use crate::storage_class::{self, StorageClassError, StorageClassSpec};
use crate::values::{opt_str, str_map, string_map};

pub struct StorageClassResource;

const DESCRIPTION: &str = "A Kubernetes StorageClass on a cluster, by default for EBS volumes through the EBS CSI driver (`ebs.csi.aws.com`).

The resource connects to its cluster by itself, so it works in the same apply that creates the cluster — the well-known trouble of configuring a Kubernetes provider from attributes of a cluster that does not exist yet does not arise. The `cluster` block names either an EKS cluster (the provider looks up its endpoint and CA with `DescribeCluster` and mints a short-lived EKS token from its own AWS credentials — a presigned STS `GetCallerIdentity` request, as `aws eks get-token` makes; no AWS CLI needed), or gives an API server `endpoint`, its `cluster_ca_certificate` and a bearer `token`.

What changes do:

| change | effect |
|---|---|
| `labels`, `allow_volume_expansion`, `default_class` | updated in place |
| `name`, `provisioner`, `type`, `iops`, `throughput`, `encrypted`, `kms_key_id`, `fs_type`, `reclaim_policy`, `volume_binding_mode` | replace the StorageClass: Kubernetes does not allow changing them (unlike the kubernetes provider, a changed `reclaim_policy` is not silently ignored) |
| `cluster.eks_cluster_name`, `cluster.region`, `cluster.endpoint` | replace it (a class on another cluster) |
| `cluster.token`, `cluster.cluster_ca_certificate` | recorded; nothing changes in the cluster |

Replacing a class does not touch the volumes provisioned through it: PersistentVolumes keep the reclaim policy they were created with.

gp3 limits are checked at plan time: 3,000–16,000 IOPS, 125–1,000 MiB/s throughput, and at most 0.25 MiB/s per provisioned IOPS. EBS also caps IOPS per GiB of volume (gp3: 500); the class cannot know the sizes its claims will ask for, so the plan notes the smallest volume size that gets the configured IOPS.

Drift: labels, the default-class annotation, volume expansion and parameters changed outside Terraform show up in the next plan; a changed parameter (any key, also ones these arguments do not cover, see `parameters`) or other immutable field plans a replacement. A class deleted outside Terraform — or one whose EKS cluster is gone — is re-created by the next apply.

Writes carry the field manager `terraform-provider-strata`. Create refuses a class of the same name that already exists (import it instead); updates replace the labels as a whole, removing labels added outside Terraform, and keep annotations other than the default-class one.";

fn ebs(name: &str, ty: Type, what: &str) -> Attribute {
    Attribute::optional(name, ty)
        .describe(what)
        .requires_replace()
}

#[async_trait]
impl Resource<ProviderData> for StorageClassResource {
    fn type_name(&self) -> &'static str {
        "strata_storage_class"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block {
                description: DESCRIPTION.into(),
                attributes: vec![
                    Attribute::computed("id", Type::String)
                        .describe("The StorageClass's name (StorageClasses are cluster-wide).")
                        .use_state_for_unknown(),
                    Attribute::required("name", Type::String)
                        .describe("The StorageClass's name, a DNS subdomain such as `weaviate-gp3`.")
                        .requires_replace(),
                    Attribute::optional("provisioner", Type::String)
                        .describe("The volume plugin that provisions volumes. The EBS arguments (`type`, `iops`, `throughput`, `encrypted`, `kms_key_id`) apply to the EBS CSI driver only.")
                        .default(rules::EBS_PROVISIONER)
                        .requires_replace(),
                    Attribute::optional_computed("type", Type::String)
                        .describe(&format!("EBS volume type (parameter `type`). Defaults to `{}` with the EBS provisioner; null with any other.", rules::DEFAULT_VOLUME_TYPE))
                        .validate(Validator::OneOf(rules::VOLUME_TYPES.to_vec()))
                        .requires_replace(),
                    ebs("iops", Type::Number, &format!(
                        "Provisioned IOPS per volume (parameter `iops`). gp3: {}–{} (gp3 includes {} without it); io1: {}–{}; io2: {}–{} (required for both); not for other types. **Note:** EBS allows at most {} IOPS per GiB on gp3 ({} on io1, {} on io2), so smaller volumes of this class cannot be provisioned with these IOPS; the plan says the smallest size.",
                        rules::GP3_IOPS.0, rules::GP3_IOPS.1, rules::GP3_IOPS.0,
                        rules::IO1_IOPS.0, rules::IO1_IOPS.1, rules::IO2_IOPS.0, rules::IO2_IOPS.1,
                        rules::GP3_IOPS_PER_GIB, rules::IO1_IOPS_PER_GIB, rules::IO2_IOPS_PER_GIB,
                    )),
                    ebs("throughput", Type::Number, &format!(
                        "Provisioned throughput per volume in MiB/s (parameter `throughput`), gp3 only: {}–{}, and at most 0.25 MiB/s per provisioned IOPS ({} MiB/s at the baseline {} IOPS).",
                        rules::GP3_THROUGHPUT.0, rules::GP3_THROUGHPUT.1, rules::GP3_IOPS.0 / rules::GP3_IOPS_PER_MIBPS, rules::GP3_IOPS.0,
                    )),
                    ebs("encrypted", Type::Bool, "Encrypt volumes (parameter `encrypted`). Left out, EBS applies the account's default encryption setting."),
                    ebs("kms_key_id", Type::String, "KMS key (ID, alias or ARN) for encrypted volumes (parameter `kmsKeyId`); requires `encrypted = true`. Left out, the AWS managed key `aws/ebs` is used."),
                    ebs("fs_type", Type::String, &format!("Filesystem volumes are formatted with (parameter `{}`). Left out, the driver's default (`ext4`).", rules::FS_TYPE_PARAMETER))
                        .validate(Validator::OneOf(rules::FS_TYPES.to_vec())),
                    Attribute::computed("parameters", Type::map(Type::String))
                        .describe("The StorageClass's parameters as the cluster has them: the ones the EBS arguments above make, plus any a class found in the cluster (imported, or changed outside Terraform) carries besides. A difference plans a replacement."),
                    Attribute::optional("reclaim_policy", Type::String)
                        .describe("What happens to a volume when its claim is deleted: `Retain` keeps it (and its data) for an administrator to reclaim, `Delete` deletes it.")
                        .default("Retain")
                        .validate(Validator::OneOf(vec!["Retain", "Delete"]))
                        .requires_replace(),
                    Attribute::optional("volume_binding_mode", Type::String)
                        .describe("`WaitForFirstConsumer` provisions a volume once a pod using the claim is scheduled, in that pod's availability zone (what EBS volumes, which live in one zone, need); `Immediate` provisions at once.")
                        .default("WaitForFirstConsumer")
                        .validate(Validator::OneOf(vec!["WaitForFirstConsumer", "Immediate"]))
                        .requires_replace(),
                    Attribute::optional("allow_volume_expansion", Type::Bool)
                        .describe("Whether claims of this class can be resized by raising their storage request.")
                        .default(true),
                    Attribute::optional("default_class", Type::Bool)
                        .describe(&format!("Make this the cluster's default StorageClass, used by claims that name none (annotation `{}`, written as `\"true\"` or `\"false\"`). Keep at most one default per cluster.", rules::DEFAULT_CLASS_ANNOTATION))
                        .default(false),
                    Attribute::optional("labels", Type::map(Type::String))
                        .describe("Labels of the StorageClass. These are all its labels: ones added outside Terraform show up as drift and are removed by the next apply."),
                ],
                blocks: vec![cluster_block()],
                deprecated: false,
            },
        }
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        check_connection(config.attr(CLUSTER), diags);
        if let Some(name) = config.attr("name").as_str()
            && let Some(problem) = rules::name_problem(name)
        {
            diags.attribute_error(
                AttributePath::root("name"),
                "Invalid StorageClass name",
                format!("name is {name:?}; {problem}."),
            );
        }
        report_problems(&ebs_args(config, true), diags);
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
        let (config, prior) = (&req.config, &req.prior_state);
        planned.set("id", planned.attr("name").clone());
        if config.attr("type").is_null() {
            let volume_type = match planned.attr("provisioner") {
                Value::String(p) if p == rules::EBS_PROVISIONER => {
                    Value::from(rules::DEFAULT_VOLUME_TYPE)
                }
                Value::String(_) => Value::Null,
                _ => Value::unknown(),
            };
            planned.set("type", volume_type);
        }
        let parameters = ebs_parameters(planned)
            .map(|p| string_map(&p.to_parameters()))
            .unwrap_or_else(Value::unknown);
        planned.set("parameters", parameters);

        let planned = &resp.planned_state;
        report_problems(&ebs_args(planned, false), &mut resp.diags);
        // The size note, when the IOPS are new (not on every plan of an unchanged class).
        if let (Some(volume_type), Value::Number(n)) =
            (planned.attr("type").as_str(), planned.attr("iops"))
            && let Some(iops) = n.as_i64()
            && (prior.is_null()
                || !semantically_equal(prior.attr("iops"), planned.attr("iops"))
                || !semantically_equal(prior.attr("type"), planned.attr("type")))
            && let Some(note) = rules::iops_size_note(volume_type, iops)
        {
            resp.diags.attribute_warning(
                AttributePath::root("iops"),
                "Minimum volume size for the provisioned IOPS",
                note,
            );
        }
        if prior.is_null() {
            return;
        }
        // Immutable parameters changed outside Terraform (keys no argument covers).
        if planned.attr("parameters").is_wholly_known()
            && !semantically_equal(prior.attr("parameters"), planned.attr("parameters"))
        {
            resp.requires_replace
                .push(AttributePath::root("parameters"));
        }
        // A class on another cluster is another class.
        kube_cluster::replace_on_other_cluster(ctx, prior, planned, &mut resp.requires_replace);
    }

    async fn create(
        &self,
        ctx: &Context<ProviderData>,
        req: &ApplyRequest,
        resp: &mut ApplyResponse,
    ) {
        let planned = &req.planned_state;
        let (Some(connection), Some(spec)) = (
            connection_from(planned.attr(CLUSTER), &mut resp.diags),
            spec_from(planned, &mut resp.diags),
        ) else {
            resp.new_state = Value::Null;
            return;
        };
        match interruptible(
            ctx,
            storage_class::create(&ctx.data.aws, &connection, &spec),
        )
        .await
        {
            Ok(created) => write_state(&mut resp.new_state, planned, &created),
            Err(e) => {
                // Nothing was made: the POST either stored the class or failed.
                resp.new_state = Value::Null;
                report(&e, "Failed to create the StorageClass", &mut resp.diags);
            }
        }
    }

    async fn read(&self, ctx: &Context<ProviderData>, req: &ReadRequest, resp: &mut ReadResponse) {
        let current = &req.current_state;
        let Some(name) = opt_str(current.attr("name")) else {
            resp.new_state = Value::Null;
            return;
        };
        let Some(connection) = connection_from(current.attr(CLUSTER), &mut resp.diags) else {
            return;
        };
        match interruptible(ctx, storage_class::read(&ctx.data.aws, &connection, &name)).await {
            Ok(Some(observed)) => write_state(&mut resp.new_state, current, &observed),
            Ok(None) => resp.new_state = Value::Null,
            Err(e) => report(&e, "Failed to read the StorageClass", &mut resp.diags),
        }
    }

    async fn update(
        &self,
        ctx: &Context<ProviderData>,
        req: &ApplyRequest,
        resp: &mut ApplyResponse,
    ) {
        let planned = &req.planned_state;
        let (Some(connection), Some(spec)) = (
            connection_from(planned.attr(CLUSTER), &mut resp.diags),
            spec_from(planned, &mut resp.diags),
        ) else {
            resp.new_state = req.prior_state.clone();
            return;
        };
        match interruptible(
            ctx,
            storage_class::update(&ctx.data.aws, &connection, &spec),
        )
        .await
        {
            Ok(updated) => write_state(&mut resp.new_state, planned, &updated),
            Err(e) => {
                // Nothing changed: the PUT either applied as a whole or not at all.
                resp.new_state = req.prior_state.clone();
                report(&e, "Failed to update the StorageClass", &mut resp.diags);
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
        let (Some(connection), Some(name)) = (
            connection_from(prior.attr(CLUSTER), &mut resp.diags),
            opt_str(prior.attr("name")),
        ) else {
            return;
        };
        if let Err(e) = interruptible(
            ctx,
            storage_class::delete(&ctx.data.aws, &connection, &name),
        )
        .await
        {
            report(&e, "Failed to delete the StorageClass", &mut resp.diags);
        }
    }

    async fn import(&self, _ctx: &Context<ProviderData>, id: &str, resp: &mut ImportResponse) {
        let (cluster, name) = match rules::parse_import_id(id) {
            Ok(parts) => parts,
            Err(problem) => {
                resp.diags.error(
                    "Invalid import ID",
                    format!("{problem}. The cluster must be in the provider's region."),
                );
                return;
            }
        };
        let ty = self.schema().value_type();
        match Value::from_json(
            &serde_json::json!({
                "id": name,
                "name": name,
                "cluster": { EKS_CLUSTER_NAME: cluster },
            }),
            &ty,
        ) {
            Ok(state) => resp.state = state,
            Err(e) => resp.diags.error("Invalid import ID", e.to_string()),
        }
    }
}

fn arg_str(v: &Value) -> Arg<&str> {
    match v {
        Value::Null => Arg::Unset,
        Value::String(s) => Arg::Set(s.as_str()),
        _ => Arg::Unknown,
    }
}

fn arg_int(v: &Value) -> Arg<i64> {
    match v {
        Value::Null => Arg::Unset,
        Value::Number(n) => n.as_i64().map_or(Arg::Unknown, Arg::Set),
        _ => Arg::Unknown,
    }
}

fn arg_bool(v: &Value) -> Arg<bool> {
    match v {
        Value::Null => Arg::Unset,
        Value::Bool(b) => Arg::Set(*b),
        _ => Arg::Unknown,
    }
}

/// The EBS arguments of a configuration (`defaults_unapplied`: `provisioner` and `type`
/// left out mean their defaults) or of a plan.
fn ebs_args(v: &Value, defaults_unapplied: bool) -> EbsArgs<'_> {
    let is_ebs = match arg_str(v.attr("provisioner")) {
        Arg::Unset if defaults_unapplied => Arg::Set(true),
        Arg::Set(p) => Arg::Set(p == rules::EBS_PROVISIONER),
        Arg::Unset => Arg::Set(false),
        Arg::Unknown => Arg::Unknown,
    };
    let volume_type = match (arg_str(v.attr("type")), is_ebs) {
        (Arg::Unset, Arg::Set(true)) if defaults_unapplied => Arg::Set(rules::DEFAULT_VOLUME_TYPE),
        (t, _) => t,
    };
    // A plan's defaulted `type` is not the practitioner's: do not call it an argument
    // given for another provisioner.
    EbsArgs {
        is_ebs,
        volume_type,
        iops: arg_int(v.attr("iops")),
        throughput: arg_int(v.attr("throughput")),
        encrypted: arg_bool(v.attr("encrypted")),
        kms_key_id: arg_str(v.attr("kms_key_id")),
    }
}

fn report_problems(args: &EbsArgs, diags: &mut Diagnostics) {
    for p in rules::check_ebs(args) {
        diags.attribute_error(AttributePath::root(p.attribute), p.summary, p.detail);
    }
}

/// The EBS arguments of a planned state, `None` while any is unknown.
fn ebs_parameters(v: &Value) -> Option<EbsParameters> {
    let known = |name: &str| !v.attr(name).is_unknown();
    if ![
        "type",
        "iops",
        "throughput",
        "encrypted",
        "kms_key_id",
        "fs_type",
    ]
    .into_iter()
    .all(known)
    {
        return None;
    }
    let int = |name: &str| match v.attr(name) {
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    Some(EbsParameters {
        volume_type: opt_str(v.attr("type")),
        iops: int("iops"),
        throughput: int("throughput"),
        encrypted: v.attr("encrypted").as_bool(),
        kms_key_id: opt_str(v.attr("kms_key_id")),
        fs_type: opt_str(v.attr("fs_type")),
    })
}

/// The engine's spec from a planned state.
fn spec_from(v: &Value, diags: &mut Diagnostics) -> Option<StorageClassSpec> {
    let spec = (|| {
        Some(StorageClassSpec {
            name: opt_str(v.attr("name"))?,
            provisioner: opt_str(v.attr("provisioner"))?,
            parameters: ebs_parameters(v)?.to_parameters(),
            reclaim_policy: opt_str(v.attr("reclaim_policy"))?,
            volume_binding_mode: opt_str(v.attr("volume_binding_mode"))?,
            allow_volume_expansion: v.attr("allow_volume_expansion").as_bool()?,
            default_class: v.attr("default_class").as_bool()?,
            labels: match v.attr("labels") {
                Value::Null => BTreeMap::new(),
                labels => str_map(labels)?,
            },
        })
    })();
    if spec.is_none() {
        diags.error(
            "Incomplete StorageClass plan",
            "The planned StorageClass still has unknown values; this is a bug in the provider, please report it.",
        );
    }
    spec
}

/// Writes what the cluster holds into `new`; `before` (the plan or the prior state)
/// decides whether no labels read as null (left out) or as an empty map.
fn write_state(new: &mut Value, before: &Value, o: &StorageClassSpec) {
    new.set("id", Value::String(o.name.clone()));
    new.set("name", Value::String(o.name.clone()));
    new.set("provisioner", Value::String(o.provisioner.clone()));
    new.set("reclaim_policy", Value::String(o.reclaim_policy.clone()));
    new.set(
        "volume_binding_mode",
        Value::String(o.volume_binding_mode.clone()),
    );
    new.set(
        "allow_volume_expansion",
        Value::Bool(o.allow_volume_expansion),
    );
    new.set("default_class", Value::Bool(o.default_class));
    let labels = if o.labels.is_empty() && before.attr("labels").is_null() {
        Value::Null
    } else {
        string_map(&o.labels)
    };
    new.set("labels", labels);
    new.set("parameters", string_map(&o.parameters));
    let ebs = EbsParameters::from_parameters(&o.parameters);
    new.set("type", Value::opt_string(ebs.volume_type));
    new.set("iops", ebs.iops.map_or(Value::Null, Value::from));
    new.set(
        "throughput",
        ebs.throughput.map_or(Value::Null, Value::from),
    );
    new.set("encrypted", ebs.encrypted.map_or(Value::Null, Value::Bool));
    new.set("kms_key_id", Value::opt_string(ebs.kms_key_id));
    new.set("fs_type", Value::opt_string(ebs.fs_type));
}

fn report(e: &StorageClassError, summary: &str, diags: &mut Diagnostics) {
    kube_cluster::report_at(e.attribute(), summary, e.to_string(), diags);
}

/// Runs `work` until it ends or Terraform asks the provider to stop.
async fn interruptible<T>(
    ctx: &Context<ProviderData>,
    work: impl std::future::Future<Output = Result<T, StorageClassError>>,
) -> Result<T, StorageClassError> {
    kube_cluster::until_stopped(ctx, work, || StorageClassError::Interrupted).await
}
