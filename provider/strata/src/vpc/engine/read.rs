//! Observing a live network from its VPC ID alone (refresh and import).
//!
//! Objects are recognised inside the VPC by what makes them part of the network, not by
//! IDs we remember: subnets by their tier tag and AZ; the public route table by its role
//! tag or, failing that, by being associated with the public subnets; each private route
//! table by its association with the AZ's private subnet (or its role + AZ tags while
//! unassociated); NAT gateways by the public subnet they sit in; Elastic IPs through their
//! NAT gateway or, when orphaned by a failed create, by their VPC tag. When two objects
//! claim one slot, the lowest ID wins, so repeated reads agree.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{RouteTable, VpcAttributeName};
use ipnet::Ipv4Net;
use tracing::warn;

use super::ec2::{aws_error, filter, required, tag_map};
use crate::vpc::tags::{self, role, tier};
use crate::vpc::{
    AzState, NatMode, NetworkState, ObservedAz, ObservedNetwork, VpcError, infer_nat_mode,
};

const DEFAULT_ROUTE: &str = "0.0.0.0/0";

/// See [`crate::vpc::read`].
pub(crate) async fn read(
    ec2: &Client,
    vpc_id: &str,
) -> Result<Option<(ObservedNetwork, NetworkState)>, VpcError> {
    let object = format!("vpc {vpc_id}");
    let described = ec2
        .describe_vpcs()
        .vpc_ids(vpc_id)
        .send()
        .await
        .map_err(aws_error("describe", &object));
    let out = match described {
        Ok(out) => out,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(vpc) = out.vpcs().iter().find(|v| v.vpc_id() == Some(vpc_id)) else {
        return Ok(None);
    };
    let cidr_block = parse_cidr(
        required(vpc.cidr_block(), "describe", &object, "cidr block")?,
        &object,
    )?;
    let vpc_tags = tag_map(vpc.tags());
    let marker: Option<NatMode> = vpc_tags.get(tags::NAT_MODE).and_then(|m| m.parse().ok());

    let enable_dns_support = dns_attribute(ec2, vpc_id, VpcAttributeName::EnableDnsSupport).await?;
    let enable_dns_hostnames =
        dns_attribute(ec2, vpc_id, VpcAttributeName::EnableDnsHostnames).await?;

    let mut state = NetworkState {
        vpc_id: Some(vpc_id.to_owned()),
        internet_gateway_id: internet_gateway(ec2, vpc_id).await?,
        ..NetworkState::default()
    };

    // Subnets, by tier tag and AZ.
    let out = ec2
        .describe_subnets()
        .filters(filter("vpc-id", &[vpc_id]))
        .send()
        .await
        .map_err(aws_error("describe", format!("subnets of {vpc_id}")))?;
    let mut subnets: Vec<_> = out.subnets().iter().collect();
    subnets.sort_by_key(|s| s.subnet_id());
    let mut observed_azs: BTreeMap<String, ObservedAz> = BTreeMap::new();
    let mut public_subnets: BTreeMap<String, String> = BTreeMap::new(); // subnet id → az
    let mut private_subnets: BTreeMap<String, String> = BTreeMap::new();
    for subnet in subnets {
        let (Some(id), Some(az), Some(cidr)) = (
            subnet.subnet_id(),
            subnet.availability_zone(),
            subnet.cidr_block(),
        ) else {
            continue;
        };
        let subnet_tags = tag_map(subnet.tags());
        let public = match subnet_tags.get(tags::TIER).map(String::as_str) {
            Some(tier::PUBLIC) => true,
            Some(tier::PRIVATE) => false,
            _ => continue, // not ours
        };
        let cidr = parse_cidr(cidr, &format!("subnet {id}"))?;
        let a = state.azs.entry(az.to_owned()).or_default();
        let seen = observed_azs.entry(az.to_owned()).or_insert(ObservedAz {
            public_cidr: None,
            private_cidr: None,
        });
        let (slot, cidr_slot, index) = if public {
            (
                &mut a.public_subnet_id,
                &mut seen.public_cidr,
                &mut public_subnets,
            )
        } else {
            (
                &mut a.private_subnet_id,
                &mut seen.private_cidr,
                &mut private_subnets,
            )
        };
        if let Some(kept) = slot {
            warn!(
                vpc_id,
                az,
                kept,
                ignored = id,
                "two subnets of the same tier in one az"
            );
            continue;
        }
        *slot = Some(id.to_owned());
        *cidr_slot = Some(cidr);
        index.insert(id.to_owned(), az.to_owned());
    }

    // Route tables.
    let out = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", &[vpc_id]))
        .send()
        .await
        .map_err(aws_error("describe", format!("route tables of {vpc_id}")))?;
    let mut tables: Vec<&RouteTable> = out
        .route_tables()
        .iter()
        .filter(|t| !t.associations().iter().any(|a| a.main() == Some(true)))
        .collect();
    tables.sort_by_key(|t| t.route_table_id());
    let role_of = |t: &RouteTable| tag_map(t.tags()).get(tags::ROLE).cloned();
    let associated_with = |t: &RouteTable, subnets: &BTreeMap<String, String>| {
        t.associations()
            .iter()
            .filter(|a| a.subnet_id().is_some_and(|s| subnets.contains_key(s)))
            .count()
    };

    let public_table = tables
        .iter()
        .find(|t| role_of(t).as_deref() == Some(role::PUBLIC_ROUTE_TABLE))
        .or_else(|| {
            tables
                .iter()
                .filter(|t| associated_with(t, &public_subnets) > 0)
                .max_by_key(|t| associated_with(t, &public_subnets))
        });
    if let Some(table) = public_table {
        state.public_route_table_id = table.route_table_id().map(str::to_owned);
        state.public_route_target = default_route_target(table);
        for assoc in table.associations() {
            if let Some(az) = assoc.subnet_id().and_then(|s| public_subnets.get(s)) {
                let a = state.azs.entry(az.clone()).or_default();
                a.public_route_table_association_id =
                    assoc.route_table_association_id().map(str::to_owned);
            }
        }
    }
    let public_table_id = state.public_route_table_id.clone();
    for table in &tables {
        if table.route_table_id().map(str::to_owned) == public_table_id {
            continue;
        }
        let associated = table.associations().iter().find_map(|assoc| {
            let az = private_subnets.get(assoc.subnet_id()?)?;
            Some((az.clone(), assoc.route_table_association_id()))
        });
        let (az, association) = match associated {
            Some((az, association)) => (az, association),
            None if role_of(table).as_deref() == Some(role::PRIVATE_ROUTE_TABLE) => {
                match tag_map(table.tags()).get(tags::AZ) {
                    Some(az) => (az.clone(), None),
                    None => continue,
                }
            }
            None => continue,
        };
        let a = state.azs.entry(az).or_default();
        if a.private_route_table_id.is_some() {
            continue;
        }
        a.private_route_table_id = table.route_table_id().map(str::to_owned);
        a.private_route_table_association_id = association.map(str::to_owned);
        a.private_route_target = default_route_target(table);
    }

    // NAT gateways, by the public subnet they sit in; their Elastic IPs.
    let out = ec2
        .describe_nat_gateways()
        .filter(filter("vpc-id", &[vpc_id]))
        // `failed` ones are out of service and AWS deletes them itself; `deleting` and
        // `deleted` ones are on their way out.
        .filter(filter("state", &["pending", "available"]))
        .send()
        .await
        .map_err(aws_error("describe", format!("nat gateways of {vpc_id}")))?;
    let mut nats: Vec<_> = out.nat_gateways().iter().collect();
    nats.sort_by_key(|n| n.nat_gateway_id());
    for nat in nats {
        let Some(az) = nat.subnet_id().and_then(|s| public_subnets.get(s)) else {
            continue;
        };
        let a = state.azs.entry(az.clone()).or_default();
        if a.nat_gateway_id.is_some() {
            continue;
        }
        a.nat_gateway_id = nat.nat_gateway_id().map(str::to_owned);
        if let Some(address) = nat.nat_gateway_addresses().first() {
            a.eip_allocation_id = address.allocation_id().map(str::to_owned);
            a.nat_public_ip = address.public_ip().map(str::to_owned);
        }
    }

    // Elastic IPs we allocated for this VPC that no NAT gateway holds (a create that
    // failed between allocation and NAT creation): kept in state so they are reused or
    // released, never leaked.
    let out = ec2
        .describe_addresses()
        .filters(filter(&format!("tag:{}", tags::VPC_ID), &[vpc_id]))
        .send()
        .await
        .map_err(aws_error("describe", format!("elastic ips of {vpc_id}")))?;
    let held: BTreeSet<String> = state
        .azs
        .values()
        .filter_map(|a| a.eip_allocation_id.clone())
        .collect();
    for address in out.addresses() {
        let Some(id) = address.allocation_id() else {
            continue;
        };
        let Some(az) = tag_map(address.tags()).remove(tags::AZ) else {
            continue;
        };
        if held.contains(id) {
            continue;
        }
        let a = state.azs.entry(az).or_default();
        if a.eip_allocation_id.is_none() {
            a.eip_allocation_id = Some(id.to_owned());
            a.nat_public_ip = address.public_ip().map(str::to_owned);
        }
    }
    // AZ entries that hold nothing are not worth reporting.
    state.azs.retain(|_, a| *a != AzState::default());

    let observed = ObservedNetwork {
        name: vpc_tags.get(tags::NAME).cloned(),
        cidr_block,
        enable_dns_support,
        enable_dns_hostnames,
        nat_mode: infer_nat_mode(&state, marker),
        tags: tags::user_view(vpc_tags),
        azs: observed_azs,
    };
    Ok(Some((observed, state)))
}

async fn dns_attribute(
    ec2: &Client,
    vpc_id: &str,
    attribute: VpcAttributeName,
) -> Result<bool, VpcError> {
    let object = format!("attribute {} of vpc {vpc_id}", attribute.as_str());
    let out = ec2
        .describe_vpc_attribute()
        .vpc_id(vpc_id)
        .attribute(attribute.clone())
        .send()
        .await
        .map_err(aws_error("describe", &object))?;
    let value = match attribute {
        VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames(),
        _ => out.enable_dns_support(),
    };
    required(value.and_then(|v| v.value()), "describe", &object, "value")
}

/// The internet gateway attached to the VPC: ours by role tag, else any attached one.
async fn internet_gateway(ec2: &Client, vpc_id: &str) -> Result<Option<String>, VpcError> {
    let out = ec2
        .describe_internet_gateways()
        .filters(filter("attachment.vpc-id", &[vpc_id]))
        .send()
        .await
        .map_err(aws_error(
            "describe",
            format!("internet gateways of {vpc_id}"),
        ))?;
    let mut gateways: Vec<_> = out.internet_gateways().iter().collect();
    gateways.sort_by_key(|g| g.internet_gateway_id());
    let ours = gateways.iter().find(|g| {
        tag_map(g.tags()).get(tags::ROLE).map(String::as_str) == Some(role::INTERNET_GATEWAY)
    });
    Ok(ours
        .or(gateways.first())
        .and_then(|g| g.internet_gateway_id())
        .map(str::to_owned))
}

/// Where a route table's `0.0.0.0/0` route points (any kind of target).
fn default_route_target(table: &RouteTable) -> Option<String> {
    let route = table
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some(DEFAULT_ROUTE))?;
    route
        .nat_gateway_id()
        .or(route.gateway_id())
        .or(route.network_interface_id())
        .or(route.instance_id())
        .or(route.transit_gateway_id())
        .or(route.vpc_peering_connection_id())
        .map(str::to_owned)
}

fn parse_cidr(raw: &str, object: &str) -> Result<Ipv4Net, VpcError> {
    raw.parse().map_err(|_| VpcError::UnexpectedResponse {
        operation: "describe",
        object: object.to_owned(),
        detail: format!("cidr block `{raw}` is not an IPv4 network"),
    })
}
