//! `strata_vpc_peering`: the Terraform face of [`crate::peering`] — schema, plan-time
//! checks (CIDR lookups and overlap), and the mapping between Terraform values and the
//! peering engine's types.

use std::collections::BTreeMap;
use std::future::Future;

use async_trait::async_trait;
use ipnet::Ipv4Net;
use strata_framework::diag::Diagnostics;
use strata_framework::plan::semantically_equal;
use strata_framework::resource::{
    ApplyRequest, ApplyResponse, ImportResponse, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse,
};
use strata_framework::schema::{Attribute, Block, NestedBlock, Schema, Validator};
use strata_framework::{AttributePath, Context, Resource, Type, Value};

use crate::peering::{self, PeeringError, PeeringSpec, PeeringState, Side, SideSpec, rules};
use crate::provider::{ProviderData, merged_tags};
use crate::values::{opt_str, str_map, str_set, string_map, string_set};

pub struct VpcPeeringResource;

const DESCRIPTION: &str = "A VPC peering connection between two VPCs — in the same region or in two regions — with routes to the peer's CIDR block on both sides and DNS resolution across the peering.

One resource does what otherwise takes a request, an accepter and a route per table: the connection is requested in the requester's region, accepted in the accepter's region (no second resource), and once `active` it gets its DNS options and routes. Each side is handled through that side's region.

What changes do:

| change | effect |
|---|---|
| `requester_vpc_id`, `accepter_vpc_id`, either region, `accepter_account_id` | replaces the connection |
| `requester_route_table_ids`, `accepter_route_table_ids` | adds or removes only the routes of the tables added or removed |
| `allow_remote_vpc_dns_resolution`, `tags` | updated in place |

Overlapping CIDR blocks cannot be peered; the plan refuses them as soon as both blocks are known (from the `*_cidr_block` arguments, or from the VPCs when their IDs are known at plan time), and `validate` does when both blocks are written as literals.

Drift: a connection found `deleted`, `rejected`, `expired` or `failed` is treated as gone and re-created by the next apply (routes left behind pointing at the dead connection are re-pointed at the new one); a route removed from a named table shows up in the plan as that table being added back; DNS resolution switched off on either side shows as a change back.

Import by connection ID recovers both VPCs, their regions and CIDR blocks, the route tables that route the peer's CIDR block through the connection, and the DNS option.

**Another account.** With `accepter_account_id` set to another account, only that account can accept the request: create requests it and waits (within `timeouts.create`) until the other account has accepted it, and manages the requester side only — `accepter_route_table_ids` must then be left empty, and DNS resolution is set on the requester side.";

fn timeouts_block() -> NestedBlock {
    let t = |name: &str, what: &str| {
        Attribute::optional(name, Type::String)
            .describe(&format!("How long {what} may take; default `10m`."))
            .validate(Validator::Duration)
    };
    NestedBlock::single(
        "timeouts",
        Block {
            description: "How long to wait for AWS.".into(),
            attributes: vec![
                t(
                    "create",
                    "creating (request, acceptance, `active`, options, routes)",
                ),
                t("update", "an update"),
                t(
                    "delete",
                    "deleting (routes, then the connection until `deleted`)",
                ),
            ],
            ..Default::default()
        },
    )
}

fn cidr_attribute(side: Side) -> Attribute {
    Attribute::optional_computed(side.cidr_attribute(), Type::String)
        .describe(&format!(
            "The {side} VPC's IPv4 CIDR block. When set, it is used for the plan-time overlap check before the VPC exists, and must be the VPC's real CIDR block (checked at apply). When omitted, it is read from the VPC: at plan time when `{}` is known, else at apply.",
            side.vpc_attribute()
        ))
        .validate(Validator::Ipv4Cidr)
}

fn route_tables_attribute(side: Side) -> Attribute {
    Attribute::optional(side.route_tables_attribute(), Type::set(Type::String))
        .describe(&format!(
            "Route tables of the {side} VPC that get a route to the {} VPC's CIDR block through the connection, e.g. `values(strata_vpc.{}.private_route_table_ids)`. Adding or removing a table adds or removes only that table's route.",
            side.peer(),
            match side {
                Side::Requester => "west",
                Side::Accepter => "east",
            }
        ))
}

#[async_trait]
impl Resource<ProviderData> for VpcPeeringResource {
    fn type_name(&self) -> &'static str {
        "strata_vpc_peering"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block {
                description: DESCRIPTION.into(),
                attributes: vec![
                    Attribute::computed("id", Type::String)
                        .describe("The connection's ID (`pcx-…`).")
                        .use_state_for_unknown(),
                    Attribute::required("requester_vpc_id", Type::String)
                        .describe("The VPC that requests the connection.")
                        .requires_replace(),
                    Attribute::optional_computed("requester_region", Type::String)
                        .describe("The requester VPC's region. Defaults to the provider's `region`.")
                        .requires_replace(),
                    Attribute::required("accepter_vpc_id", Type::String)
                        .describe("The VPC that accepts the connection.")
                        .requires_replace(),
                    Attribute::optional_computed("accepter_region", Type::String)
                        .describe("The accepter VPC's region. Defaults to `requester_region`.")
                        .requires_replace(),
                    Attribute::optional("accepter_account_id", Type::String)
                        .describe("The AWS account that owns the accepter VPC, when it is not the provider's. That account must accept the connection itself (see above).")
                        .requires_replace(),
                    cidr_attribute(Side::Requester),
                    cidr_attribute(Side::Accepter),
                    route_tables_attribute(Side::Requester),
                    route_tables_attribute(Side::Accepter),
                    Attribute::optional("allow_remote_vpc_dns_resolution", Type::Bool)
                        .describe("Resolve the peer VPC's private DNS hostnames to private IP addresses across the peering, set on both sides (`AllowDnsResolutionFromRemoteVpc`). Both VPCs need DNS support and DNS hostnames enabled.")
                        .default(true),
                    Attribute::optional("tags", Type::map(Type::String))
                        .describe("Tags for the connection (in the requester's region), over the provider's `default_tags`."),
                    Attribute::computed("tags_all", Type::map(Type::String))
                        .describe("The tags in force: `default_tags` merged with `tags`."),
                    Attribute::computed("status", Type::String)
                        .describe("The connection's status, `active` once it carries traffic."),
                ],
                blocks: vec![timeouts_block()],
                deprecated: false,
            },
        }
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        for side in [Side::Requester, Side::Accepter] {
            let attr = side.vpc_attribute();
            if let Some(id) = config.attr(attr).as_str()
                && !id.starts_with("vpc-")
            {
                diags.attribute_error(
                    AttributePath::root(attr),
                    "Invalid VPC ID",
                    format!("{attr} is {id:?}; it must be a VPC ID such as \"vpc-0abc123\"."),
                );
            }
            let attr = side.route_tables_attribute();
            for table in config.attr(attr).elements().unwrap_or_default() {
                if let Some(id) = table.as_str()
                    && !id.starts_with("rtb-")
                {
                    diags.attribute_error(
                        AttributePath::root(attr),
                        "Invalid route table ID",
                        format!("{attr} holds {id:?}; route table IDs look like \"rtb-0abc123\"."),
                    );
                }
            }
        }
        if let Some(account) = config.attr("accepter_account_id").as_str()
            && !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        {
            diags.attribute_error(
                AttributePath::root("accepter_account_id"),
                "Invalid account ID",
                format!("accepter_account_id is {account:?}; an AWS account ID is 12 digits."),
            );
        }
        let (req_vpc, acc_vpc) = (
            config.attr("requester_vpc_id").as_str(),
            config.attr("accepter_vpc_id").as_str(),
        );
        let (req_region, acc_region) = (
            config.attr("requester_region"),
            config.attr("accepter_region"),
        );
        if req_vpc.is_some()
            && req_vpc == acc_vpc
            && (acc_region.is_null() || acc_region == req_region)
        {
            diags.attribute_error(
                AttributePath::root("accepter_vpc_id"),
                "A VPC cannot peer with itself",
                "requester_vpc_id and accepter_vpc_id name the same VPC.",
            );
        }
        // Both blocks written as literals: the overlap is certain already.
        let cidr = |side: Side| {
            config
                .attr(side.cidr_attribute())
                .as_str()
                .and_then(|s| s.parse::<Ipv4Net>().ok())
        };
        if let (Some(r), Some(a)) = (cidr(Side::Requester), cidr(Side::Accepter))
            && rules::overlaps(r, a)
        {
            overlap_diagnostic(r, a, true, diags);
        }
    }

    async fn modify_plan(
        &self,
        ctx: &Context<ProviderData>,
        req: &PlanRequest,
        resp: &mut PlanResponse,
    ) {
        if resp.planned_state.is_null() {
            return;
        }
        let (config, prior) = (&req.config, &req.prior_state);
        let aws = &ctx.data.aws;

        let requester_region = or_else(
            config.attr("requester_region"),
            Value::String(aws.default_region().to_owned()),
        );
        let accepter_region = or_else(config.attr("accepter_region"), requester_region.clone());
        let planned = &mut resp.planned_state;
        planned.set("requester_region", requester_region);
        planned.set("accepter_region", accepter_region);

        // Each side's CIDR: configured, else what the prior state read from the same
        // VPC, else looked up now if the VPC is known (so the overlap check and the
        // routes' destinations show in the plan), else known after apply.
        let cross_account = !config.attr("accepter_account_id").is_null();
        for side in [Side::Requester, Side::Accepter] {
            let attr = side.cidr_attribute();
            if !config.attr(attr).is_null() {
                continue;
            }
            let planned = &resp.planned_state;
            let region_attr = region_attribute(side);
            let vpc_attr = side.vpc_attribute();
            let same_vpc = !prior.is_null()
                && semantically_equal(prior.attr(vpc_attr), planned.attr(vpc_attr))
                && semantically_equal(prior.attr(region_attr), planned.attr(region_attr));
            let value = if same_vpc && prior.attr(attr).as_str().is_some() {
                prior.attr(attr).clone()
            } else if let (Some(vpc_id), Some(region), false) = (
                planned.attr(vpc_attr).as_str(),
                planned.attr(region_attr).as_str(),
                // Another account's VPC is not ours to describe.
                side == Side::Accepter && cross_account,
            ) {
                let ec2 = aws.ec2(Some(region));
                match peering::lookup_vpc_cidr(&ec2, side, vpc_id, region).await {
                    Ok(cidr) => Value::String(cidr.to_string()),
                    Err(e) => {
                        report(&e, config, &mut resp.diags);
                        Value::unknown()
                    }
                }
            } else {
                Value::unknown()
            };
            resp.planned_state.set(attr, value);
        }
        let planned = &mut resp.planned_state;
        let known_cidr = |v: &Value, side: Side| {
            v.attr(side.cidr_attribute())
                .as_str()
                .and_then(|s| s.parse::<Ipv4Net>().ok())
        };
        if let (Some(r), Some(a)) = (
            known_cidr(planned, Side::Requester),
            known_cidr(planned, Side::Accepter),
        ) && rules::overlaps(r, a)
        {
            let configured = !config.attr("accepter_cidr_block").is_null();
            overlap_diagnostic(r, a, configured, &mut resp.diags);
        }

        // tags_all: the provider's default tags under the resource's own.
        let tags = config.attr("tags");
        let tags_all = if tags.is_null() {
            string_map(aws.default_tags())
        } else {
            match str_map(tags) {
                Some(own) => string_map(&merged_tags(aws.default_tags(), &own)),
                None => Value::unknown(),
            }
        };
        planned.set("tags_all", tags_all);

        // status: a connection in place is, or will be made, active — except one that
        // another account must accept, which stays whatever that account makes it.
        if !prior.is_null() {
            let prior_status = prior.attr("status");
            let status = if prior_status.as_str() == Some(rules::ACTIVE) || !cross_account {
                Value::from(rules::ACTIVE)
            } else {
                Value::unknown()
            };
            planned.set("status", status);
        }
    }

    async fn create(
        &self,
        ctx: &Context<ProviderData>,
        req: &ApplyRequest,
        resp: &mut ApplyResponse,
    ) {
        let Some(spec) = spec_from(&req.planned_state, &mut resp.diags) else {
            return;
        };
        let t = timeouts(&req.planned_state);
        let mut state = PeeringState::default();
        let result =
            interruptible(ctx, peering::create(&ctx.data.aws, &spec, &mut state, &t)).await;
        if state.connection_id.is_none() {
            // Nothing was made, so there is nothing for Terraform to remember.
            resp.new_state = Value::Null;
        } else {
            write_state(&mut resp.new_state, &req.planned_state, &state);
        }
        if let Err(e) = result {
            let mut detail = e.to_string();
            if state.connection_id.is_some() {
                detail.push_str("\n\nThe connection and every route created so far are recorded in the state; `terraform apply` retries by replacing it, `terraform destroy` removes it.");
            }
            report_with(
                &e,
                &req.config,
                "Failed to create the VPC peering connection",
                detail,
                &mut resp.diags,
            );
        }
    }

    async fn read(&self, ctx: &Context<ProviderData>, req: &ReadRequest, resp: &mut ReadResponse) {
        let current = &req.current_state;
        let Some(id) = opt_str(current.attr("id")) else {
            resp.new_state = Value::Null;
            return;
        };
        let aws = &ctx.data.aws;
        // An import holds only the ID (and maybe the region): recover everything.
        let importing = current.attr("requester_vpc_id").is_null();
        let region = opt_str(current.attr("requester_region"))
            .unwrap_or_else(|| aws.default_region().to_owned());
        let observed = match peering::read(aws, &region, &id).await {
            Ok(Some(o)) => o,
            Ok(None) => {
                resp.new_state = Value::Null;
                return;
            }
            Err(e) => {
                resp.diags
                    .error("Failed to read the VPC peering connection", e.to_string());
                return;
            }
        };
        let new = &mut resp.new_state;
        let cross_account = observed.cross_account();
        let (r, a) = (&observed.requester, &observed.accepter);
        new.set("status", Value::String(observed.status.clone()));
        new.set("requester_vpc_id", Value::String(r.vpc_id.clone()));
        new.set("accepter_vpc_id", Value::String(a.vpc_id.clone()));
        new.set("requester_region", Value::String(r.region.clone()));
        new.set("accepter_region", Value::String(a.region.clone()));
        // Left null for the same account (its default), unless the state names it.
        if !current.attr("accepter_account_id").is_null() || cross_account {
            new.set("accepter_account_id", Value::opt_string(a.owner_id.clone()));
        }
        for (side, o) in [(Side::Requester, r), (Side::Accepter, a)] {
            if let Some(cidr) = o.cidr {
                new.set(side.cidr_attribute(), Value::String(cidr.to_string()));
            }
            let attr = side.route_tables_attribute();
            let in_state = str_set(current.attr(attr));
            let named = in_state.clone().unwrap_or_default();
            let kept =
                rules::refreshed_route_tables((!importing).then_some(&named), &o.route_tables);
            // null stays null (the configuration leaves the argument out), and an
            // import finding no routes leaves it out too.
            let value = if kept.is_empty() && (importing || in_state.is_none()) {
                Value::Null
            } else {
                string_set(&kept)
            };
            new.set(attr, value);
        }
        let prior_dns = current
            .attr("allow_remote_vpc_dns_resolution")
            .as_bool()
            .unwrap_or(true);
        new.set(
            "allow_remote_vpc_dns_resolution",
            Value::Bool(rules::dns_resolution(
                r.dns_resolution,
                a.dns_resolution,
                prior_dns,
            )),
        );
        // `tags` holds what the practitioner set; default tags live only in `tags_all`.
        let prior_tags = str_map(current.attr("tags"));
        let defaults = aws.default_tags();
        let own: BTreeMap<String, String> = observed
            .tags
            .iter()
            .filter(|(k, v)| {
                prior_tags.as_ref().is_some_and(|p| p.contains_key(*k))
                    || defaults.get(*k) != Some(*v)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let tags = if own.is_empty() && prior_tags.is_none() {
            Value::Null
        } else {
            string_map(&own)
        };
        new.set("tags", tags);
        new.set("tags_all", string_map(&observed.tags));
    }

    async fn update(
        &self,
        ctx: &Context<ProviderData>,
        req: &ApplyRequest,
        resp: &mut ApplyResponse,
    ) {
        let Some(spec) = spec_from(&req.planned_state, &mut resp.diags) else {
            return;
        };
        let old_tags = str_map(req.prior_state.attr("tags_all")).unwrap_or_default();
        let mut state = state_from(&req.prior_state);
        let t = timeouts(&req.planned_state);
        let result = interruptible(
            ctx,
            peering::update(&ctx.data.aws, &spec, &old_tags, &mut state, &t),
        )
        .await;
        write_state(&mut resp.new_state, &req.planned_state, &state);
        if let Err(e) = result {
            let detail = e.to_string();
            report_with(
                &e,
                &req.config,
                "Failed to update the VPC peering connection",
                detail,
                &mut resp.diags,
            );
        }
    }

    async fn delete(
        &self,
        ctx: &Context<ProviderData>,
        req: &ApplyRequest,
        resp: &mut ApplyResponse,
    ) {
        let Some(spec) = spec_from(&req.prior_state, &mut resp.diags) else {
            return;
        };
        let mut state = state_from(&req.prior_state);
        let t = timeouts(&req.prior_state);
        if let Err(e) =
            interruptible(ctx, peering::delete(&ctx.data.aws, &spec, &mut state, &t)).await
        {
            // Keep what is left (the routes not yet removed) for the next attempt.
            write_state(&mut resp.new_state, &req.prior_state, &state);
            resp.diags
                .error("Failed to delete the VPC peering connection", e.to_string());
        }
    }

    async fn import(&self, _ctx: &Context<ProviderData>, id: &str, resp: &mut ImportResponse) {
        let parsed = match rules::parse_import_id(id) {
            Ok(p) => p,
            Err(problem) => {
                resp.diags.error(
                    "Invalid import ID",
                    format!("{problem}. Import with the connection's ID (`pcx-0abc…`), or `REGION/pcx-0abc…` when the requester VPC is outside the provider's region."),
                );
                return;
            }
        };
        let ty = self.schema().value_type();
        resp.state = Value::from_json(
            &serde_json::json!({
                "id": parsed.connection_id,
                "requester_region": parsed.region,
            }),
            &ty,
        )
        .unwrap_or(Value::Null);
    }
}

fn region_attribute(side: Side) -> &'static str {
    match side {
        Side::Requester => "requester_region",
        Side::Accepter => "accepter_region",
    }
}

/// `v` unless it is null, else `default` (an unknown `v` stays unknown).
fn or_else(v: &Value, default: Value) -> Value {
    if v.is_null() { default } else { v.clone() }
}

fn overlap_diagnostic(
    requester: Ipv4Net,
    accepter: Ipv4Net,
    cidr_configured: bool,
    diags: &mut Diagnostics,
) {
    diags.attribute_error(
        AttributePath::root(rules::overlap_attribute(cidr_configured)),
        "Overlapping CIDR blocks",
        format!("{}.", rules::overlap_message(requester, accepter)),
    );
}

/// An engine error as a diagnostic, on the attribute it concerns when there is one.
fn report(e: &PeeringError, config: &Value, diags: &mut Diagnostics) {
    let summary = match e {
        PeeringError::VpcNotFound { .. } => "VPC not found",
        PeeringError::CidrMismatch { .. } => "CIDR block does not match the VPC",
        PeeringError::Overlap { .. } => "Overlapping CIDR blocks",
        _ => "Cannot plan the VPC peering connection",
    };
    report_with(e, config, summary, e.to_string(), diags);
}

fn report_with(
    e: &PeeringError,
    config: &Value,
    summary: &str,
    detail: String,
    diags: &mut Diagnostics,
) {
    let accepter_cidr_configured = !config.attr("accepter_cidr_block").is_null();
    match e.attribute(accepter_cidr_configured) {
        Some(attr) => diags.attribute_error(AttributePath::root(attr), summary, detail),
        None => diags.error(summary, detail),
    }
}

/// Runs `work` until it ends or Terraform asks the provider to stop (Ctrl-C). Stopping
/// drops the work between AWS calls; what was recorded so far is still saved.
async fn interruptible<T>(
    ctx: &Context<ProviderData>,
    work: impl Future<Output = Result<T, PeeringError>>,
) -> Result<T, PeeringError> {
    tokio::select! {
        result = work => result,
        () = ctx.stop.stopped() => Err(PeeringError::Interrupted),
    }
}

fn timeouts(state: &Value) -> crate::wait::Timeouts {
    crate::resources::timeouts(state, crate::peering::DEFAULT_TIMEOUTS)
}

/// The engine's spec from a planned (or prior) state. Unknown CIDRs become `None`
/// (taken from the VPC at apply).
fn spec_from(v: &Value, diags: &mut Diagnostics) -> Option<PeeringSpec> {
    let side = |s: Side| -> Option<SideSpec> {
        Some(SideSpec {
            vpc_id: opt_str(v.attr(s.vpc_attribute()))?,
            region: opt_str(v.attr(region_attribute(s)))?,
            cidr: v
                .attr(s.cidr_attribute())
                .as_str()
                .and_then(|c| c.parse().ok()),
            route_tables: str_set(v.attr(s.route_tables_attribute())).unwrap_or_default(),
        })
    };
    let parsed = (|| {
        Some(PeeringSpec {
            requester: side(Side::Requester)?,
            accepter: side(Side::Accepter)?,
            accepter_account_id: opt_str(v.attr("accepter_account_id")),
            dns_resolution: v
                .attr("allow_remote_vpc_dns_resolution")
                .as_bool()
                .unwrap_or(true),
            tags: str_map(v.attr("tags_all")).unwrap_or_default(),
        })
    })();
    if parsed.is_none() {
        diags.error(
            "Incomplete VPC peering plan",
            "The planned connection still has unknown VPC IDs or regions; this is a bug in the provider, please report it.",
        );
    }
    parsed
}

/// What a (prior) state records as existing.
fn state_from(v: &Value) -> PeeringState {
    let cidr = |s: Side| {
        v.attr(s.cidr_attribute())
            .as_str()
            .and_then(|c| c.parse().ok())
    };
    PeeringState {
        connection_id: opt_str(v.attr("id")),
        status: opt_str(v.attr("status")),
        requester_cidr: cidr(Side::Requester),
        accepter_cidr: cidr(Side::Accepter),
        requester_routes: str_set(v.attr("requester_route_table_ids")).unwrap_or_default(),
        accepter_routes: str_set(v.attr("accepter_route_table_ids")).unwrap_or_default(),
        dns_resolution: v
            .attr("allow_remote_vpc_dns_resolution")
            .as_bool()
            .unwrap_or(false),
    }
}

/// Writes what exists into `new` (which starts as the plan): the ID, status, CIDRs,
/// the route tables holding our route, and the DNS option as set. A route-table
/// argument planned as null stays null while no route was made for it.
fn write_state(new: &mut Value, planned: &Value, state: &PeeringState) {
    new.set("id", Value::opt_string(state.connection_id.clone()));
    new.set("status", Value::opt_string(state.status.clone()));
    for side in [Side::Requester, Side::Accepter] {
        if let Some(cidr) = state.cidr(side) {
            new.set(side.cidr_attribute(), Value::String(cidr.to_string()));
        }
        let attr = side.route_tables_attribute();
        let routes = state.routes(side);
        let value = if routes.is_empty() && planned.attr(attr).is_null() {
            Value::Null
        } else {
            string_set(routes)
        };
        new.set(attr, value);
    }
    new.set(
        "allow_remote_vpc_dns_resolution",
        Value::Bool(state.dns_resolution),
    );
}
