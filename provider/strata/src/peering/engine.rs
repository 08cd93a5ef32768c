//! The EC2 side of a peering: create, read, update and delete.
//!
//! * `connection` — requesting, accepting, waiting for states, options, tags;
//! * `routes` — routes to the peer's CIDR, added, found and removed per side;
//! * `wait` — deadlines and bounded retries for eventual consistency;
//! * `ec2` — SDK adapters (error mapping, tags, filters).
//!
//! Every side's calls go through that side's region's client.

use std::collections::BTreeMap;

use aws_sdk_ec2::Client;
use tracing::info;

use super::rules::{self, ACTIVE, PENDING_ACCEPTANCE};
use super::{
    ObservedPeering, ObservedSide, PeeringError, PeeringSpec, PeeringState, Side, Timeouts,
};
use crate::aws::AwsClients;

mod connection;
mod ec2;
mod routes;
mod wait;

use connection::{Connection, VpcFacts};
use wait::{CONSISTENCY_WINDOW, Deadline, not_found, retry};

/// The CIDR block (and owner) of `vpc_id` in the region `ec2` serves, for plans:
/// one describe, no retries. A VPC that does not exist is [`PeeringError::VpcNotFound`].
pub async fn lookup_vpc_cidr(
    ec2: &Client,
    side: Side,
    vpc_id: &str,
    region: &str,
) -> Result<ipnet::Ipv4Net, PeeringError> {
    Ok(connection::vpc_facts(ec2, side, vpc_id, region).await?.cidr)
}

/// The two clients of a peering, each for its side's region.
struct Clients {
    requester: Client,
    accepter: Client,
}

impl Clients {
    fn new(aws: &AwsClients, spec: &PeeringSpec) -> Self {
        Clients {
            requester: aws.ec2(Some(&spec.requester.region)),
            accepter: aws.ec2(Some(&spec.accepter.region)),
        }
    }
    fn of(&self, side: Side) -> &Client {
        match side {
            Side::Requester => &self.requester,
            Side::Accepter => &self.accepter,
        }
    }
}

/// Creates the connection `spec` describes.
///
/// Steps, each recorded in `state` as it completes: the VPCs are described (their
/// CIDRs checked against configured ones and against each other, before anything is
/// created); the connection is requested in the requester region (its ID saved at
/// once); once it is visible in the accepter region it is accepted there (same account
/// only: another account must accept it itself); the engine waits for `active`, sets
/// DNS resolution on each side through its own region, then adds the routes.
pub async fn create(
    aws: &AwsClients,
    spec: &PeeringSpec,
    state: &mut PeeringState,
    t: &Timeouts,
) -> Result<(), PeeringError> {
    let deadline = Deadline::after(t.create);
    let clients = Clients::new(aws, spec);
    let (req, acc) = (&spec.requester, &spec.accepter);
    info!(
        requester = req.vpc_id,
        requester_region = req.region,
        accepter = acc.vpc_id,
        accepter_region = acc.region,
        "creating vpc peering connection"
    );

    // The VPCs: a VPC made by a strata_vpc in this same apply may not be visible yet.
    let requester_vpc = visible_vpc(&clients, Side::Requester, spec, &deadline).await?;
    check_cidr(Side::Requester, spec, requester_vpc.cidr)?;
    state.requester_cidr = Some(requester_vpc.cidr);
    let cross_account = spec
        .accepter_account_id
        .as_ref()
        .is_some_and(|a| requester_vpc.owner_id.as_ref() != Some(a));
    if cross_account {
        if !acc.route_tables.is_empty() {
            return Err(PeeringError::CrossAccountRoutes {
                requester_account: requester_vpc.owner_id.clone().unwrap_or_default(),
                accepter_account: spec.accepter_account_id.clone().unwrap_or_default(),
            });
        }
        // The other account's VPC is not ours to describe: trust the configuration
        // until the connection reports the accepter's CIDR.
        state.accepter_cidr = acc.cidr;
    } else {
        let accepter_vpc = visible_vpc(&clients, Side::Accepter, spec, &deadline).await?;
        check_cidr(Side::Accepter, spec, accepter_vpc.cidr)?;
        state.accepter_cidr = Some(accepter_vpc.cidr);
    }
    check_overlap(state)?;

    let id = connection::request(&clients.requester, spec, &deadline).await?;
    state.connection_id = Some(id.clone());
    state.status = Some("initiating-request".into());
    info!(id, "requested vpc peering connection");

    if !cross_account {
        let seen =
            connection::wait_acceptable(&clients.accepter, &id, &acc.region, &deadline).await?;
        state.status = Some(seen.status.clone());
        if seen.status == PENDING_ACCEPTANCE {
            connection::accept(&clients.accepter, &id, &acc.region, &deadline).await?;
        }
    } else {
        info!(
            id,
            account = spec.accepter_account_id,
            "waiting for the accepter account to accept"
        );
    }
    let active =
        connection::wait_for(&clients.requester, &id, &req.region, ACTIVE, &deadline).await?;
    state.status = Some(active.status.clone());
    if state.accepter_cidr.is_none() {
        state.accepter_cidr = active.accepter.cidr;
        check_overlap(state)?;
    }

    if spec.dns_resolution {
        connection::set_dns(
            &clients.requester,
            Side::Requester,
            &id,
            &req.region,
            true,
            &deadline,
        )
        .await?;
        if !cross_account {
            connection::set_dns(
                &clients.accepter,
                Side::Accepter,
                &id,
                &acc.region,
                true,
                &deadline,
            )
            .await?;
        }
    }
    state.dns_resolution = spec.dns_resolution;

    for side in [Side::Requester, Side::Accepter] {
        add_routes(
            &clients,
            spec,
            side,
            &spec.side(side).route_tables,
            state,
            &deadline,
        )
        .await?;
    }
    info!(id, "vpc peering connection active");
    Ok(())
}

/// Observes connection `id`, requested from `requester_region`: `None` when it does
/// not exist or is in a state it can never leave ([`rules::GONE_STATES`]).
///
/// Reports both VPCs, their regions and CIDRs, each side's DNS option (read in that
/// side's region, where AWS keeps it) and every route table of each side with a route
/// to the peer's CIDR through this connection. When the connection turns out to have
/// been requested from another region (an import by bare ID from the accepter's
/// region), it is read again from there.
pub async fn read(
    aws: &AwsClients,
    requester_region: &str,
    id: &str,
) -> Result<Option<ObservedPeering>, PeeringError> {
    let client = aws.ec2(Some(requester_region));
    let Some(mut seen) = connection::describe(&client, id, requester_region).await? else {
        return Ok(None);
    };
    if seen.requester.region != requester_region {
        let real = seen.requester.region.clone();
        let client = aws.ec2(Some(&real));
        match connection::describe(&client, id, &real).await? {
            Some(again) => seen = again,
            None => return Ok(None),
        }
    }
    if rules::is_gone(&seen.status) {
        info!(id, status = seen.status, "vpc peering connection is gone");
        return Ok(None);
    }
    let requester_client = aws.ec2(Some(&seen.requester.region));
    let accepter_client = aws.ec2(Some(&seen.accepter.region));
    let cross_account = seen.cross_account();

    // Each side's options as that side's region reports them (a cross-region
    // connection may not be visible in the accepter region for a moment yet), and each
    // side's routes: independent calls, made at once so a refresh costs one round trip
    // after the first describe.
    let accepter_dns = async {
        if cross_account {
            return Ok(None);
        }
        if seen.accepter.region == seen.requester.region {
            return Ok(Some(seen.accepter.dns));
        }
        let there = connection::describe(&accepter_client, id, &seen.accepter.region).await?;
        Ok::<_, PeeringError>(Some(there.map_or(seen.accepter.dns, |c| c.accepter.dns)))
    };
    let requester_tables = routes::tables_routed_via(
        &requester_client,
        id,
        seen.accepter.cidr,
        &seen.requester.region,
    );
    let accepter_tables = async {
        if cross_account {
            return Ok(Default::default());
        }
        routes::tables_routed_via(
            &accepter_client,
            id,
            seen.requester.cidr,
            &seen.accepter.region,
        )
        .await
    };
    let (accepter_dns, requester_tables, accepter_tables) =
        tokio::try_join!(accepter_dns, requester_tables, accepter_tables)?;
    let side = |c: &Connection, s: Side| {
        let info = c.side(s);
        ObservedSide {
            vpc_id: info.vpc_id.clone(),
            region: info.region.clone(),
            owner_id: info.owner_id.clone(),
            cidr: info.cidr,
            route_tables: Default::default(),
            dns_resolution: None,
        }
    };
    let mut requester = side(&seen, Side::Requester);
    requester.route_tables = requester_tables;
    requester.dns_resolution = Some(seen.requester.dns);
    let mut accepter = side(&seen, Side::Accepter);
    accepter.route_tables = accepter_tables;
    accepter.dns_resolution = accepter_dns;
    Ok(Some(ObservedPeering {
        connection_id: id.to_owned(),
        status: seen.status,
        requester,
        accepter,
        tags: seen.tags,
    }))
}

/// Brings the connection from the refreshed `state` to `spec` in place: accepts a
/// connection still pending (same account), retags, sets the DNS option on both sides,
/// and on each side removes the routes of tables no longer named, then adds the routes
/// of tables newly named (or whose route was removed out of band). Tables named before
/// and after are not touched. `old_tags` are the tags the state had, so only keys we
/// set are removed. Same partial-state rule as [`create`].
pub async fn update(
    aws: &AwsClients,
    spec: &PeeringSpec,
    old_tags: &BTreeMap<String, String>,
    state: &mut PeeringState,
    t: &Timeouts,
) -> Result<(), PeeringError> {
    let deadline = Deadline::after(t.update);
    let id = state
        .connection_id
        .clone()
        .ok_or(PeeringError::NoConnectionId)?;
    let clients = Clients::new(aws, spec);
    let (req, acc) = (&spec.requester, &spec.accepter);
    info!(id, "updating vpc peering connection");

    for side in [Side::Requester, Side::Accepter] {
        if let (Some(configured), Some(actual)) = (spec.side(side).cidr, state.cidr(side))
            && configured != actual
        {
            return Err(PeeringError::CidrMismatch {
                side,
                vpc_id: spec.side(side).vpc_id.clone(),
                configured,
                actual,
            });
        }
    }

    let seen = connection::describe(&clients.requester, &id, &req.region)
        .await?
        .ok_or_else(|| PeeringError::ConnectionEnded {
            id: id.clone(),
            status: "deleted".into(),
            message: "it no longer exists".into(),
        })?;
    let cross_account = seen.cross_account();
    if cross_account && !acc.route_tables.is_empty() {
        return Err(PeeringError::CrossAccountRoutes {
            requester_account: seen.requester.owner_id.clone().unwrap_or_default(),
            accepter_account: seen.accepter.owner_id.clone().unwrap_or_default(),
        });
    }
    state.status = Some(seen.status.clone());
    // A connection left pending (an import, an interrupted create) is accepted now. One
    // that another account must accept stays as it is: only its routes can change.
    let active = seen.status == ACTIVE || !cross_account;
    if seen.status != ACTIVE && !cross_account {
        if seen.status == PENDING_ACCEPTANCE {
            connection::accept(&clients.accepter, &id, &acc.region, &deadline).await?;
        }
        let now =
            connection::wait_for(&clients.requester, &id, &req.region, ACTIVE, &deadline).await?;
        state.status = Some(now.status);
    }

    if *old_tags != spec.tags {
        connection::retag(&clients.requester, &id, &req.region, old_tags, &spec.tags).await?;
    }

    // AWS only takes options on an active connection.
    if active
        && (state.dns_resolution != spec.dns_resolution
            || seen.requester.dns != spec.dns_resolution)
    {
        let value = spec.dns_resolution;
        connection::set_dns(
            &clients.requester,
            Side::Requester,
            &id,
            &req.region,
            value,
            &deadline,
        )
        .await?;
        if !cross_account {
            connection::set_dns(
                &clients.accepter,
                Side::Accepter,
                &id,
                &acc.region,
                value,
                &deadline,
            )
            .await?;
        }
        state.dns_resolution = value;
    }

    for side in [Side::Requester, Side::Accepter] {
        let changes = rules::route_changes(state.routes(side), &spec.side(side).route_tables);
        if changes.is_empty() {
            continue;
        }
        remove_routes(&clients, side, &changes.remove, &id, state, &deadline).await?;
        add_routes(&clients, spec, side, &changes.add, state, &deadline).await?;
    }
    info!(id, "vpc peering connection updated");
    Ok(())
}

/// Removes the routes in `state` (both sides; routes and tables already gone are
/// fine, and a route someone re-pointed elsewhere is left alone), then deletes the
/// connection and waits until AWS reports it `deleted` (or no longer reports it).
pub async fn delete(
    aws: &AwsClients,
    spec: &PeeringSpec,
    state: &mut PeeringState,
    t: &Timeouts,
) -> Result<(), PeeringError> {
    let deadline = Deadline::after(t.delete);
    let clients = Clients::new(aws, spec);
    let Some(id) = state.connection_id.clone() else {
        return Ok(());
    };
    info!(id, "deleting vpc peering connection");
    for side in [Side::Requester, Side::Accepter] {
        let tables = state.routes(side).clone();
        remove_routes(&clients, side, &tables, &id, state, &deadline).await?;
    }
    let region = &spec.requester.region;
    match connection::describe(&clients.requester, &id, region).await? {
        Some(c) if !rules::is_gone(&c.status) => {
            connection::delete(&clients.requester, &id, region).await?;
            connection::wait_deleted(&clients.requester, &id, region, &deadline).await?;
        }
        // Someone else's delete is under way: see it through.
        Some(c) if c.status == "deleting" => {
            connection::wait_deleted(&clients.requester, &id, region, &deadline).await?;
        }
        _ => info!(id, "vpc peering connection already gone"),
    }
    state.connection_id = None;
    state.status = Some("deleted".into());
    info!(id, "vpc peering connection deleted");
    Ok(())
}

async fn visible_vpc(
    clients: &Clients,
    side: Side,
    spec: &PeeringSpec,
    deadline: &Deadline,
) -> Result<VpcFacts, PeeringError> {
    let s = spec.side(side);
    let client = clients.of(side);
    let found = retry(deadline.within(CONSISTENCY_WINDOW), vpc_not_found, || {
        connection::vpc_facts(client, side, &s.vpc_id, &s.region)
    })
    .await?;
    Ok(found)
}

fn vpc_not_found(e: &PeeringError) -> bool {
    matches!(e, PeeringError::VpcNotFound { .. }) || not_found(e)
}

fn check_cidr(side: Side, spec: &PeeringSpec, actual: ipnet::Ipv4Net) -> Result<(), PeeringError> {
    match spec.side(side).cidr {
        Some(configured) if configured != actual => Err(PeeringError::CidrMismatch {
            side,
            vpc_id: spec.side(side).vpc_id.clone(),
            configured,
            actual,
        }),
        _ => Ok(()),
    }
}

fn check_overlap(state: &PeeringState) -> Result<(), PeeringError> {
    match (state.requester_cidr, state.accepter_cidr) {
        (Some(r), Some(a)) if rules::overlaps(r, a) => Err(PeeringError::Overlap {
            requester: r,
            accepter: a,
        }),
        _ => Ok(()),
    }
}

/// Adds this side's route to the peer's CIDR in each of `tables`, recording each table
/// in `state` once its route exists.
async fn add_routes(
    clients: &Clients,
    spec: &PeeringSpec,
    side: Side,
    tables: &std::collections::BTreeSet<String>,
    state: &mut PeeringState,
    deadline: &Deadline,
) -> Result<(), PeeringError> {
    if tables.is_empty() {
        return Ok(());
    }
    let id = state
        .connection_id
        .clone()
        .ok_or(PeeringError::NoConnectionId)?;
    let peer = side.peer();
    let Some(destination) = state.cidr(peer) else {
        return Err(PeeringError::UnexpectedResponse {
            operation: "describe",
            object: format!("vpc peering connection {id}"),
            detail: format!(
                "the {peer} vpc's cidr block is not known, so no route can point at it"
            ),
        });
    };
    let region = &spec.side(side).region;
    for table in tables {
        routes::add(
            clients.of(side),
            side,
            table,
            destination,
            &id,
            region,
            deadline,
        )
        .await?;
        state.routes_mut(side).insert(table.clone());
    }
    Ok(())
}

/// Removes this side's route through connection `id` from each of `tables`, dropping
/// each table from `state` once its route is gone.
async fn remove_routes(
    clients: &Clients,
    side: Side,
    tables: &std::collections::BTreeSet<String>,
    id: &str,
    state: &mut PeeringState,
    deadline: &Deadline,
) -> Result<(), PeeringError> {
    let destination = state.cidr(side.peer());
    for table in tables {
        routes::remove(clients.of(side), table, destination, id, deadline).await?;
        state.routes_mut(side).remove(table);
    }
    Ok(())
}
