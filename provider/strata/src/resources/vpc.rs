//! `strata_vpc`: the Terraform face of [`crate::vpc`] — schema, plan refinement, and
//! the mapping between Terraform values and the network engine's types.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use async_trait::async_trait;
use ipnet::Ipv4Net;
use strata_framework::diag::Diagnostics;
use strata_framework::resource::{
    ApplyRequest, ApplyResponse, ImportResponse, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse,
};
use strata_framework::schema::{Attribute, Block, NestedBlock, Schema, Validator};
use strata_framework::{AttributePath, Context, Resource, Type, Value};

use crate::provider::ProviderData;
use crate::resources::interruptible;
use crate::values::{id_map, opt_str, str_map, str_set, string_map, string_set};
use crate::vpc::{
    self, AzSpec, NatMode, NetworkInput, NetworkSpec, NetworkState, PathStep, SpecProblem,
};

pub struct VpcResource;

const DESCRIPTION: &str = "A production network in one region: the VPC, an internet gateway, a public and a private subnet in each availability zone (tagged for EKS load balancers), NAT gateways with their Elastic IPs, and the route tables that tie them together.

Subnets are keyed by availability zone, never by list position: adding a zone creates that zone's subnets (and NAT gateway) and touches nothing else; removing one deletes only that zone's objects.

What changes do:

| change | effect |
|---|---|
| `cidr_block`, `region` | replaces the whole network |
| `name`, `tags`, `enable_dns_*` | updated in place |
| `availability_zones` | creates or deletes only the added or removed zones' objects |
| a zone's subnet CIDR | recreates that subnet in place (it must hold no network interfaces) |
| `nat_gateway_mode` | creates or deletes NAT gateways and re-points the private default routes |

Tags that EKS and Kubernetes add themselves (`kubernetes.io/cluster/…`) and AWS's own `aws:` tags are ignored, so they never show up as drift.";

const CARVING: &str = "When omitted, carved from `cidr_block`: it is split into 16 equal blocks and the zone whose name ends in letter *L* takes block *i* = *L* − `a` for its private subnet and block 8 + *i* for its public subnet (for `10.0.0.0/16`: `us-west-2a` gets private `10.0.0.0/20` and public `10.0.128.0/20`). The result depends on the zone's letter only, so adding a zone never moves another zone's subnets.";

fn timeouts_block() -> NestedBlock {
    let t = |name: &str, default: &str| {
        Attribute::optional(name, Type::String)
            .describe(&format!(
                "How long to wait for the network to be {name}d; default `{default}`."
            ))
            .validate(Validator::Duration)
    };
    NestedBlock::single(
        "timeouts",
        Block {
            description: "How long to wait for AWS.".into(),
            attributes: vec![t("create", "10m"), t("update", "10m"), t("delete", "10m")],
            ..Default::default()
        },
    )
}

fn ids(name: &str, what: &str) -> Attribute {
    Attribute::computed(name, Type::map(Type::String))
        .describe(&format!("{what}, keyed by availability zone."))
}

#[async_trait]
impl Resource<ProviderData> for VpcResource {
    fn type_name(&self) -> &'static str {
        "strata_vpc"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block {
                description: DESCRIPTION.into(),
                attributes: vec![
                    Attribute::computed("id", Type::String)
                        .describe("The VPC ID.")
                        .use_state_for_unknown(),
                    Attribute::required("name", Type::String)
                        .describe("Name of the network; the `Name` tag of every object, suffixed by its role and zone.")
                        .validate(Validator::MinLength(1)),
                    Attribute::optional_computed("region", Type::String)
                        .describe("Region to build the network in. Defaults to the provider's `region`.")
                        .requires_replace(),
                    Attribute::required("cidr_block", Type::String)
                        .describe("The VPC's IPv4 range, between /16 and /28.")
                        .validate(Validator::Ipv4Cidr)
                        .requires_replace(),
                    Attribute::required("availability_zones", Type::set(Type::String))
                        .describe("Availability zones to spread the subnets over, e.g. `[\"us-west-2a\", \"us-west-2b\", \"us-west-2c\"]`. Order does not matter."),
                    Attribute::optional_computed("public_subnet_cidrs", Type::map(Type::String))
                        .describe(&format!("Public subnet CIDR per availability zone. {CARVING}"))
                        .validate(Validator::Ipv4CidrValues),
                    Attribute::optional_computed("private_subnet_cidrs", Type::map(Type::String))
                        .describe(&format!("Private subnet CIDR per availability zone. {CARVING}"))
                        .validate(Validator::Ipv4CidrValues),
                    Attribute::optional("nat_gateway_mode", Type::String)
                        .describe("How private subnets reach the internet: `one_per_az` (a NAT gateway in every zone, so losing a zone never cuts the others off — what HA needs), `single` (one NAT gateway in the alphabetically first zone; cheaper, one zone's outage cuts egress for all) or `none`.")
                        .default("one_per_az")
                        .validate(Validator::OneOf(vec!["none", "single", "one_per_az"])),
                    Attribute::optional("enable_dns_support", Type::Bool)
                        .describe("Amazon-provided DNS resolution in the VPC (EKS needs it).")
                        .default(true),
                    Attribute::optional("enable_dns_hostnames", Type::Bool)
                        .describe("DNS hostnames for instances (EKS needs it).")
                        .default(true),
                    Attribute::optional("tags", Type::map(Type::String))
                        .describe("Tags for every object of the network, over the provider's `default_tags`."),
                    Attribute::computed("tags_all", Type::map(Type::String))
                        .describe("The tags in force: `default_tags` merged with `tags`."),
                    Attribute::computed("internet_gateway_id", Type::String)
                        .describe("The internet gateway's ID.")
                        .use_state_for_unknown(),
                    Attribute::computed("public_route_table_id", Type::String)
                        .describe("The route table shared by the public subnets (default route to the internet gateway).")
                        .use_state_for_unknown(),
                    ids("public_subnet_ids", "Public subnet IDs"),
                    ids("private_subnet_ids", "Private subnet IDs"),
                    ids("private_route_table_ids", "Private route table IDs (one per zone)"),
                    ids("nat_gateway_ids", "NAT gateway IDs (only the zones that hold one)"),
                    ids("nat_public_ips", "Public IPs of the NAT gateways"),
                    ids("nat_eip_allocation_ids", "Allocation IDs of the NAT gateways' Elastic IPs"),
                ],
                blocks: vec![timeouts_block()],
                deprecated: false,
            },
        }
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let region = opt_str(config.attr("region"));
        report(vpc::validate(&input_from(config), region.as_deref()), diags);
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
        let region = opt_str(config.attr("region"))
            .unwrap_or_else(|| ctx.data.aws.default_region().to_string());
        planned.set("region", Value::String(region.clone()));

        let input = input_from(config);
        let maps_known = ["public_subnet_cidrs", "private_subnet_cidrs", "tags"]
            .iter()
            .all(|a| config.attr(a).is_null() || str_map(config.attr(a)).is_some());
        let known = maps_known && input.cidr_block.is_some() && input.availability_zones.is_some();
        if !known {
            // Check what can be checked; the rest waits for apply-time values.
            report(vpc::validate(&input, Some(&region)), &mut resp.diags);
            if str_map(config.attr("tags")).is_none() && !config.attr("tags").is_null() {
                planned.set("tags_all", Value::unknown());
            }
        } else {
            match vpc::build(&input, &region, ctx.data.aws.default_tags()) {
                Ok(spec) => {
                    let cidrs = |f: fn(&AzSpec) -> Ipv4Net| -> BTreeMap<String, String> {
                        spec.azs
                            .iter()
                            .map(|(az, s)| (az.clone(), f(s).to_string()))
                            .collect()
                    };
                    planned.set("public_subnet_cidrs", string_map(&cidrs(|s| s.public_cidr)));
                    planned.set(
                        "private_subnet_cidrs",
                        string_map(&cidrs(|s| s.private_cidr)),
                    );
                    planned.set("tags_all", string_map(&spec.tags));
                }
                Err(problems) => report(problems, &mut resp.diags),
            }
        }

        // IDs stay put unless the objects behind them are added, removed or recreated.
        let prior = &req.prior_state;
        if prior.is_null() {
            return;
        }
        let same = |name: &str| {
            strata_framework::plan::semantically_equal(prior.attr(name), planned.attr(name))
        };
        let zones_same = same("availability_zones");
        let subnets_same =
            zones_same && same("public_subnet_cidrs") && same("private_subnet_cidrs");
        let nat_same = subnets_same && same("nat_gateway_mode");
        for (attr, keep) in [
            ("public_subnet_ids", subnets_same),
            ("private_subnet_ids", subnets_same),
            ("private_route_table_ids", zones_same),
            ("nat_gateway_ids", nat_same),
            ("nat_public_ips", nat_same),
            ("nat_eip_allocation_ids", nat_same),
        ] {
            let v = if keep {
                prior.attr(attr).clone()
            } else {
                Value::unknown()
            };
            planned.set(attr, v);
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
        let region = opt_str(req.planned_state.attr("region"));
        let ec2 = ctx.data.aws.ec2(region.as_deref());
        let timeouts = timeouts(&req.planned_state);
        let mut state = NetworkState::default();
        let result = interruptible(ctx, vpc::create(&ec2, &spec, &mut state, &timeouts)).await;
        if state.vpc_id.is_none() {
            // Nothing was made, so there is nothing for Terraform to remember.
            resp.new_state = Value::Null;
        } else {
            write_ids(&mut resp.new_state, &state);
        }
        if let Err(e) = result {
            resp.diags.error(
                "Failed to create the network",
                format!("{e}\n\nEverything created so far is recorded in the state; `terraform apply` retries by replacing it, `terraform destroy` removes it."),
            );
        }
    }

    async fn read(&self, ctx: &Context<ProviderData>, req: &ReadRequest, resp: &mut ReadResponse) {
        let current = &req.current_state;
        let Some(vpc_id) = opt_str(current.attr("id")) else {
            resp.new_state = Value::Null;
            return;
        };
        let region = opt_str(current.attr("region"))
            .unwrap_or_else(|| ctx.data.aws.default_region().to_string());
        let ec2 = ctx.data.aws.ec2(Some(&region));
        let observed = match vpc::read(&ec2, &vpc_id).await {
            Ok(Some(o)) => o,
            Ok(None) => {
                resp.new_state = Value::Null;
                return;
            }
            Err(e) => {
                resp.diags
                    .error("Failed to read the network", e.to_string());
                return;
            }
        };
        let (net, state) = observed;
        let new = &mut resp.new_state;
        new.set("region", Value::String(region));
        new.set("name", Value::opt_string(net.name.clone()));
        new.set("cidr_block", Value::String(net.cidr_block.to_string()));
        new.set("availability_zones", string_set(net.azs.keys()));
        let public: BTreeMap<_, _> = net
            .azs
            .iter()
            .filter_map(|(az, s)| Some((az.clone(), s.public_cidr?.to_string())))
            .collect();
        let private: BTreeMap<_, _> = net
            .azs
            .iter()
            .filter_map(|(az, s)| Some((az.clone(), s.private_cidr?.to_string())))
            .collect();
        new.set("public_subnet_cidrs", string_map(&public));
        new.set("private_subnet_cidrs", string_map(&private));
        // No recognisable layout (say, a NAT gateway deleted out of band) is drift: null
        // makes the plan show a change, and the update repairs it.
        new.set(
            "nat_gateway_mode",
            Value::opt_string(net.nat_mode.map(|m| m.to_string())),
        );
        new.set("enable_dns_support", Value::Bool(net.enable_dns_support));
        new.set(
            "enable_dns_hostnames",
            Value::Bool(net.enable_dns_hostnames),
        );
        // `tags` holds what the practitioner set; default tags live only in `tags_all`.
        let prior_tags = str_map(current.attr("tags"));
        let defaults = ctx.data.aws.default_tags();
        let own: BTreeMap<String, String> = net
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
        new.set("tags_all", string_map(&net.tags));
        write_ids(new, &state);
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
        let ec2 = ctx
            .data
            .aws
            .ec2(opt_str(req.planned_state.attr("region")).as_deref());
        let mut state = state_from(&req.prior_state);
        let t = timeouts(&req.planned_state);
        let result = interruptible(ctx, vpc::update(&ec2, &old, &new, &mut state, &t)).await;
        write_ids(&mut resp.new_state, &state);
        if let Err(e) = result {
            resp.diags
                .error("Failed to update the network", e.to_string());
        }
    }

    async fn delete(
        &self,
        ctx: &Context<ProviderData>,
        req: &ApplyRequest,
        resp: &mut ApplyResponse,
    ) {
        let ec2 = ctx
            .data
            .aws
            .ec2(opt_str(req.prior_state.attr("region")).as_deref());
        let state = state_from(&req.prior_state);
        let t = timeouts(&req.prior_state);
        if let Err(e) = interruptible(ctx, vpc::delete(&ec2, &state, &t)).await {
            resp.diags
                .error("Failed to delete the network", e.to_string());
        }
    }

    async fn import(&self, _ctx: &Context<ProviderData>, id: &str, resp: &mut ImportResponse) {
        // `vpc-…` in the provider's region, or `REGION/vpc-…`.
        let (region, vpc_id) = match id.split_once('/') {
            Some((r, v)) => (Some(r), v),
            None => (None, id),
        };
        if !vpc_id.starts_with("vpc-") {
            resp.diags.error(
                "Invalid import ID",
                format!("{id:?} is not a VPC ID. Import with the VPC's ID (`vpc-0abc…`), or `REGION/vpc-0abc…` for a network outside the provider's region."),
            );
            return;
        }
        let schema_ty = self.schema().value_type();
        let mut state = Value::from_json(
            &serde_json::json!({ "id": vpc_id, "region": region }),
            &schema_ty,
        )
        .unwrap_or(Value::Null);
        // Imported networks use the default NAT layout unless read says otherwise.
        state.set("nat_gateway_mode", Value::from("one_per_az"));
        resp.state = state;
    }
}

/// The engine's view of a configuration; unknown values become `None` (or are left
/// out of maps) so validation skips what it cannot check yet.
fn input_from(config: &Value) -> NetworkInput {
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
    NetworkInput {
        name: opt_str(config.attr("name")),
        cidr_block: opt_str(config.attr("cidr_block")),
        availability_zones: str_set(config.attr("availability_zones"))
            .map(|s| s.into_iter().collect()),
        public_subnet_cidrs: known_entries("public_subnet_cidrs"),
        private_subnet_cidrs: known_entries("private_subnet_cidrs"),
        nat_mode: opt_str(config.attr("nat_gateway_mode")),
        enable_dns_support: config.attr("enable_dns_support").as_bool(),
        enable_dns_hostnames: config.attr("enable_dns_hostnames").as_bool(),
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
                // availability_zones is a set: its elements have no position to point at.
                PathStep::Index(_) => path,
            };
        }
        let summary = match problem.path.first() {
            Some(PathStep::Attribute(a)) => format!("Invalid {a}"),
            _ => "Invalid network".to_string(),
        };
        diags.attribute_error(path, summary, problem.to_string());
    }
}

fn timeouts(state: &Value) -> crate::wait::Timeouts {
    crate::resources::timeouts(state, crate::vpc::DEFAULT_TIMEOUTS)
}

/// The engine's spec from a wholly known planned (or prior) state.
fn spec_from(v: &Value, diags: &mut Diagnostics) -> Option<NetworkSpec> {
    let parsed = (|| -> Option<NetworkSpec> {
        let public = str_map(v.attr("public_subnet_cidrs"))?;
        let private = str_map(v.attr("private_subnet_cidrs"))?;
        let azs = str_set(v.attr("availability_zones"))?
            .into_iter()
            .map(|az| {
                let spec = AzSpec {
                    public_cidr: public.get(&az)?.parse().ok()?,
                    private_cidr: private.get(&az)?.parse().ok()?,
                };
                Some((az, spec))
            })
            .collect::<Option<_>>()?;
        Some(NetworkSpec {
            name: opt_str(v.attr("name"))?,
            cidr_block: opt_str(v.attr("cidr_block"))?.parse().ok()?,
            azs,
            nat_mode: opt_str(v.attr("nat_gateway_mode"))
                .as_deref()
                .map_or(Ok(NatMode::OnePerAz), NatMode::from_str)
                .ok()?,
            enable_dns_support: v.attr("enable_dns_support").as_bool().unwrap_or(true),
            enable_dns_hostnames: v.attr("enable_dns_hostnames").as_bool().unwrap_or(true),
            tags: str_map(v.attr("tags_all")).unwrap_or_default(),
        })
    })();
    if parsed.is_none() {
        diags.error(
            "Incomplete network plan",
            "The planned network still has unknown or invalid values; this is a bug in the provider, please report it.",
        );
    }
    parsed
}

/// The IDs recorded in a state value.
fn state_from(v: &Value) -> NetworkState {
    let map = |name: &str| str_map(v.attr(name)).unwrap_or_default();
    let (public, private, rts, nats, ips, eips) = (
        map("public_subnet_ids"),
        map("private_subnet_ids"),
        map("private_route_table_ids"),
        map("nat_gateway_ids"),
        map("nat_public_ips"),
        map("nat_eip_allocation_ids"),
    );
    let zones: BTreeSet<&String> = [&public, &private, &rts, &nats, &eips]
        .into_iter()
        .flat_map(|m| m.keys())
        .collect();
    let mut state = NetworkState {
        vpc_id: opt_str(v.attr("id")),
        internet_gateway_id: opt_str(v.attr("internet_gateway_id")),
        public_route_table_id: opt_str(v.attr("public_route_table_id")),
        ..Default::default()
    };
    for az in zones {
        let az_state = state.azs.entry(az.clone()).or_default();
        az_state.public_subnet_id = public.get(az).cloned();
        az_state.private_subnet_id = private.get(az).cloned();
        az_state.private_route_table_id = rts.get(az).cloned();
        az_state.nat_gateway_id = nats.get(az).cloned();
        az_state.nat_public_ip = ips.get(az).cloned();
        az_state.eip_allocation_id = eips.get(az).cloned();
    }
    state
}

fn write_ids(v: &mut Value, s: &NetworkState) {
    v.set("id", Value::opt_string(s.vpc_id.clone()));
    v.set(
        "internet_gateway_id",
        Value::opt_string(s.internet_gateway_id.clone()),
    );
    v.set(
        "public_route_table_id",
        Value::opt_string(s.public_route_table_id.clone()),
    );
    let azs = &s.azs;
    v.set(
        "public_subnet_ids",
        id_map(azs.iter().map(|(k, a)| (k, a.public_subnet_id.as_ref()))),
    );
    v.set(
        "private_subnet_ids",
        id_map(azs.iter().map(|(k, a)| (k, a.private_subnet_id.as_ref()))),
    );
    v.set(
        "private_route_table_ids",
        id_map(
            azs.iter()
                .map(|(k, a)| (k, a.private_route_table_id.as_ref())),
        ),
    );
    v.set(
        "nat_gateway_ids",
        id_map(azs.iter().map(|(k, a)| (k, a.nat_gateway_id.as_ref()))),
    );
    v.set(
        "nat_public_ips",
        id_map(azs.iter().map(|(k, a)| (k, a.nat_public_ip.as_ref()))),
    );
    v.set(
        "nat_eip_allocation_ids",
        id_map(azs.iter().map(|(k, a)| (k, a.eip_allocation_id.as_ref()))),
    );
}
