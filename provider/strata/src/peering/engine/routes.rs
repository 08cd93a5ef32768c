//! Routes to the peer's CIDR through the connection, one side at a time, through that
//! side's region's client.
//!
//! A route is ours when it sends the peer's CIDR through this connection. Adding finds
//! an existing route to the same destination: ours is fine (a retried create), a
//! route through a connection that no longer carries traffic (a `blackhole` left by a
//! connection deleted out of band, which the next plan re-creates) is re-pointed, and
//! anything else is a conflict the user must resolve. Removing only ever deletes our
//! route.

use std::collections::BTreeSet;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Route, RouteState};
use ipnet::Ipv4Net;
use tracing::{info, warn};

use super::connection;
use super::ec2::{aws_error, filter};
use super::wait::{CONSISTENCY_WINDOW, Deadline, not_found, retry};
use crate::peering::rules;
use crate::peering::{PeeringError, Side};

fn object(table: &str, destination: impl std::fmt::Display) -> String {
    format!("route to {destination} in route table {table}")
}

/// Adds the route `destination` → connection `id` to `table`.
pub(super) async fn add(
    ec2: &Client,
    side: Side,
    table: &str,
    destination: Ipv4Net,
    id: &str,
    region: &str,
    deadline: &Deadline,
) -> Result<(), PeeringError> {
    let what = object(table, destination);
    // A route table created by a strata_vpc in the same apply may not be visible yet.
    let created = retry(deadline.within(CONSISTENCY_WINDOW), not_found, || {
        let what = &what;
        async move {
            ec2.create_route()
                .route_table_id(table)
                .destination_cidr_block(destination.to_string())
                .vpc_peering_connection_id(id)
                .send()
                .await
                .map_err(aws_error("create", what))
        }
    })
    .await;
    match created {
        Ok(_) => {
            info!(table, %destination, id, "added route through the peering");
            return Ok(());
        }
        Err(e) if e.code() == Some("RouteAlreadyExists") => {}
        Err(e) => return Err(e),
    }

    let Some(existing) = route_to(ec2, table, destination).await? else {
        // Gone again in between: one more plain attempt says what is wrong, if anything.
        return create(ec2, table, destination, id).await;
    };
    if existing.vpc_peering_connection_id() == Some(id) {
        return Ok(());
    }
    if dead_peering_route(ec2, &existing, region).await? {
        ec2.replace_route()
            .route_table_id(table)
            .destination_cidr_block(destination.to_string())
            .vpc_peering_connection_id(id)
            .send()
            .await
            .map_err(aws_error("replace", &what))?;
        info!(table, %destination, id, "re-pointed a dead peering route");
        return Ok(());
    }
    Err(PeeringError::RouteConflict {
        side,
        route_table: table.to_owned(),
        destination,
        target: target_of(&existing),
    })
}

async fn create(
    ec2: &Client,
    table: &str,
    destination: Ipv4Net,
    id: &str,
) -> Result<(), PeeringError> {
    ec2.create_route()
        .route_table_id(table)
        .destination_cidr_block(destination.to_string())
        .vpc_peering_connection_id(id)
        .send()
        .await
        .map_err(aws_error("create", object(table, destination)))?;
    Ok(())
}

/// Whether `route` goes through a peering connection that can no longer carry traffic:
/// AWS marks such routes `blackhole`; moto keeps them `active`, so the connection's
/// state is checked as well.
async fn dead_peering_route(
    ec2: &Client,
    route: &Route,
    region: &str,
) -> Result<bool, PeeringError> {
    let Some(other) = route.vpc_peering_connection_id() else {
        return Ok(false);
    };
    if route.state() == Some(&RouteState::Blackhole) {
        return Ok(true);
    }
    Ok(match connection::describe(ec2, other, region).await? {
        None => true,
        Some(c) => rules::is_gone(&c.status),
    })
}

fn target_of(route: &Route) -> String {
    let targets = [
        ("vpc peering connection", route.vpc_peering_connection_id()),
        ("gateway", route.gateway_id()),
        ("nat gateway", route.nat_gateway_id()),
        ("transit gateway", route.transit_gateway_id()),
        ("network interface", route.network_interface_id()),
        ("instance", route.instance_id()),
    ];
    targets
        .into_iter()
        .find_map(|(kind, id)| Some(format!("{kind} {}", id?)))
        .unwrap_or_else(|| "another target".into())
}

/// The route to `destination` in `table`, if any; `None` also when the table is gone.
async fn route_to(
    ec2: &Client,
    table: &str,
    destination: Ipv4Net,
) -> Result<Option<Route>, PeeringError> {
    let out = match ec2
        .describe_route_tables()
        .route_table_ids(table)
        .send()
        .await
        .map_err(aws_error("describe", format!("route table {table}")))
    {
        Ok(out) => out,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let wanted = destination.to_string();
    Ok(out
        .route_tables()
        .iter()
        .flat_map(|t| t.routes())
        .find(|r| r.destination_cidr_block() == Some(wanted.as_str()))
        .cloned())
}

/// Removes our route (to `destination` through connection `id`) from `table`. A table
/// or route already gone is fine; a route someone re-pointed elsewhere is left alone.
/// Without a known destination, every route of `table` through `id` goes.
pub(super) async fn remove(
    ec2: &Client,
    table: &str,
    destination: Option<Ipv4Net>,
    id: &str,
    deadline: &Deadline,
) -> Result<(), PeeringError> {
    let out = match ec2
        .describe_route_tables()
        .route_table_ids(table)
        .send()
        .await
        .map_err(aws_error("describe", format!("route table {table}")))
    {
        Ok(out) => out,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e),
    };
    let wanted = destination.map(|d| d.to_string());
    let ours: Vec<String> = out
        .route_tables()
        .iter()
        .flat_map(|t| t.routes())
        .filter(|r| r.vpc_peering_connection_id() == Some(id))
        .filter_map(|r| r.destination_cidr_block())
        .filter(|d| wanted.as_deref().is_none_or(|w| w == *d))
        .map(str::to_owned)
        .collect();
    if ours.is_empty() {
        if let Some(d) = &wanted {
            warn!(
                table,
                destination = d,
                id,
                "no route through the peering to remove"
            );
        }
        return Ok(());
    }
    for d in ours {
        let what = object(table, &d);
        let deleted = retry(
            deadline.end(),
            |e: &PeeringError| e.code() == Some("DependencyViolation"),
            || {
                let (what, d) = (&what, &d);
                async move {
                    ec2.delete_route()
                        .route_table_id(table)
                        .destination_cidr_block(d)
                        .send()
                        .await
                        .map_err(aws_error("delete", what))
                }
            },
        )
        .await;
        match deleted {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => info!(
                table,
                destination = d,
                id,
                "removed route through the peering"
            ),
        }
    }
    Ok(())
}

/// Every route table in the region `ec2` serves with a route through connection `id`
/// (to `destination`, when known).
pub(super) async fn tables_routed_via(
    ec2: &Client,
    id: &str,
    destination: Option<Ipv4Net>,
    region: &str,
) -> Result<BTreeSet<String>, PeeringError> {
    let mut pages = ec2
        .describe_route_tables()
        .filters(filter("route.vpc-peering-connection-id", &[id]))
        .into_paginator()
        .send();
    let wanted = destination.map(|d| d.to_string());
    let mut found = BTreeSet::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws_error(
            "describe",
            format!("route tables routed through {id} in {region}"),
        ))?;
        for table in page.route_tables() {
            let routed = table.routes().iter().any(|r| {
                r.vpc_peering_connection_id() == Some(id)
                    && wanted
                        .as_deref()
                        .is_none_or(|w| r.destination_cidr_block() == Some(w))
            });
            if routed && let Some(t) = table.route_table_id() {
                found.insert(t.to_owned());
            }
        }
    }
    Ok(found)
}
