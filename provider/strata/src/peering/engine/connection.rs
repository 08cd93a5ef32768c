//! The connection itself: the VPCs it joins, requesting, accepting, waiting for its
//! states, its options and tags.
//!
//! Real AWS moves a new connection `initiating-request` → `pending-acceptance` (once the
//! accepter region has it) → `provisioning` → `active`; it must be accepted in the
//! accepter region, by the accepter account. A cross-region connection appears in the
//! accepter region a little after the request returns. Each side's peering options
//! are kept, and can only be modified, in that side's region.

use std::collections::BTreeMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{PeeringConnectionOptionsRequest, Tag, VpcPeeringConnectionVpcInfo};
use ipnet::Ipv4Net;
use tokio::time::Instant;
use tracing::info;

use super::ec2::{aws_error, parse_cidr, required, tag_map, tag_spec, to_tags};
use super::wait::{Backoff, CONSISTENCY_WINDOW, Deadline, not_found, retry};
use crate::peering::rules::{self, ACTIVE, PENDING_ACCEPTANCE};
use crate::peering::{PeeringError, PeeringSpec, Side};

/// What the engine needs to know about a VPC.
#[derive(Debug, Clone)]
pub(super) struct VpcFacts {
    pub cidr: Ipv4Net,
    pub owner_id: Option<String>,
}

/// One side of a described connection.
#[derive(Debug, Clone)]
pub(super) struct ConnectionSide {
    pub vpc_id: String,
    pub region: String,
    pub owner_id: Option<String>,
    pub cidr: Option<Ipv4Net>,
    /// `AllowDnsResolutionFromRemoteVpc` (AWS leaves the options out until set: false).
    pub dns: bool,
}

/// A described connection.
#[derive(Debug, Clone)]
pub(super) struct Connection {
    pub status: String,
    pub message: String,
    pub requester: ConnectionSide,
    pub accepter: ConnectionSide,
    pub tags: BTreeMap<String, String>,
}

impl Connection {
    pub fn side(&self, side: Side) -> &ConnectionSide {
        match side {
            Side::Requester => &self.requester,
            Side::Accepter => &self.accepter,
        }
    }

    pub fn cross_account(&self) -> bool {
        matches!(
            (&self.requester.owner_id, &self.accepter.owner_id),
            (Some(r), Some(a)) if r != a
        )
    }
}

fn object(id: &str, region: &str) -> String {
    format!("vpc peering connection {id} in {region}")
}

/// Describes `vpc_id`; a VPC that does not exist is [`PeeringError::VpcNotFound`].
pub(super) async fn vpc_facts(
    ec2: &Client,
    side: Side,
    vpc_id: &str,
    region: &str,
) -> Result<VpcFacts, PeeringError> {
    let what = format!("{side} vpc {vpc_id} in {region}");
    let missing = || PeeringError::VpcNotFound {
        side,
        vpc_id: vpc_id.to_owned(),
        region: region.to_owned(),
    };
    let out = match ec2
        .describe_vpcs()
        .vpc_ids(vpc_id)
        .send()
        .await
        .map_err(aws_error("describe", &what))
    {
        Ok(out) => out,
        Err(e) if e.is_not_found() => return Err(missing()),
        Err(e) => return Err(e),
    };
    let vpc = out
        .vpcs()
        .iter()
        .find(|v| v.vpc_id() == Some(vpc_id))
        .ok_or_else(missing)?;
    Ok(VpcFacts {
        cidr: parse_cidr(
            required(vpc.cidr_block(), "describe", &what, "cidr block")?,
            "describe",
            &what,
        )?,
        owner_id: vpc.owner_id().map(str::to_owned),
    })
}

/// Requests the connection from the requester region; returns its ID.
pub(super) async fn request(
    ec2: &Client,
    spec: &PeeringSpec,
    deadline: &Deadline,
) -> Result<String, PeeringError> {
    let what = format!(
        "vpc peering connection from {} ({}) to {} ({})",
        spec.requester.vpc_id, spec.requester.region, spec.accepter.vpc_id, spec.accepter.region
    );
    let out = retry(deadline.within(CONSISTENCY_WINDOW), not_found, || {
        let mut call = ec2
            .create_vpc_peering_connection()
            .vpc_id(&spec.requester.vpc_id)
            .peer_vpc_id(&spec.accepter.vpc_id)
            .peer_region(&spec.accepter.region)
            .set_peer_owner_id(spec.accepter_account_id.clone());
        if !spec.tags.is_empty() {
            call = call.tag_specifications(tag_spec(&spec.tags));
        }
        let what = &what;
        async move { call.send().await.map_err(aws_error("create", what)) }
    })
    .await?;
    let id = required(
        out.vpc_peering_connection()
            .and_then(|c| c.vpc_peering_connection_id()),
        "create",
        &what,
        "vpc peering connection id",
    )?;
    Ok(id.to_owned())
}

/// The connection as the region `ec2` serves sees it; `None` when it is not there
/// (never was, not visible yet, or long deleted).
pub(super) async fn describe(
    ec2: &Client,
    id: &str,
    region: &str,
) -> Result<Option<Connection>, PeeringError> {
    let what = object(id, region);
    let out = match ec2
        .describe_vpc_peering_connections()
        .vpc_peering_connection_ids(id)
        .send()
        .await
        .map_err(aws_error("describe", &what))
    {
        Ok(out) => out,
        // Real AWS answers an unknown ID with InvalidVpcPeeringConnectionID.NotFound;
        // moto with an empty list. Both mean "not here".
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(c) = out
        .vpc_peering_connections()
        .iter()
        .find(|c| c.vpc_peering_connection_id() == Some(id))
    else {
        return Ok(None);
    };
    let status = c.status();
    let side = |info: Option<&VpcPeeringConnectionVpcInfo>,
                which: &'static str|
     -> Result<ConnectionSide, PeeringError> {
        let info = required(info, "describe", &what, which)?;
        Ok(ConnectionSide {
            vpc_id: required(info.vpc_id(), "describe", &what, "vpc id")?.to_owned(),
            // Only cross-region connections are guaranteed to say; otherwise it is here.
            region: info.region().unwrap_or(region).to_owned(),
            owner_id: info.owner_id().map(str::to_owned),
            cidr: info
                .cidr_block()
                .map(|c| parse_cidr(c, "describe", &what))
                .transpose()?,
            dns: info
                .peering_options()
                .and_then(|o| o.allow_dns_resolution_from_remote_vpc())
                .unwrap_or(false),
        })
    };
    Ok(Some(Connection {
        status: required(
            status.and_then(|s| s.code()).map(|c| c.as_str().to_owned()),
            "describe",
            &what,
            "status",
        )?,
        message: status
            .and_then(|s| s.message())
            .unwrap_or_default()
            .to_owned(),
        requester: side(c.requester_vpc_info(), "requester vpc info")?,
        accepter: side(c.accepter_vpc_info(), "accepter vpc info")?,
        tags: tag_map(c.tags()),
    }))
}

/// Polls the connection in `region` until `done` says so. A connection that is not
/// visible is blamed on eventual consistency for [`CONSISTENCY_WINDOW`]; one in a state
/// it cannot leave is [`PeeringError::ConnectionEnded`].
async fn poll(
    ec2: &Client,
    id: &str,
    region: &str,
    what: &str,
    deadline: &Deadline,
    done: impl Fn(&Connection) -> bool,
) -> Result<Connection, PeeringError> {
    let visible_by = deadline.within(CONSISTENCY_WINDOW);
    let mut backoff = Backoff::polling();
    loop {
        match describe(ec2, id, region).await? {
            Some(c) if done(&c) => return Ok(c),
            Some(c) if rules::is_gone(&c.status) => {
                return Err(PeeringError::ConnectionEnded {
                    id: id.to_owned(),
                    status: c.status,
                    message: c.message,
                });
            }
            Some(c) => info!(id, status = c.status, "waiting for {what}"),
            None if Instant::now() >= visible_by => {
                return Err(PeeringError::Timeout {
                    what: format!("{} to appear ({what})", object(id, region)),
                    waited: CONSISTENCY_WINDOW,
                });
            }
            None => info!(id, region, "not visible yet"),
        }
        let pause = backoff.step();
        if Instant::now() + pause > deadline.end() {
            return Err(deadline.timeout(format!("{} {what}", object(id, region))));
        }
        tokio::time::sleep(pause).await;
    }
}

/// Waits until the accepter region sees the connection ready to accept (or already
/// past that point).
pub(super) async fn wait_acceptable(
    ec2: &Client,
    id: &str,
    region: &str,
    deadline: &Deadline,
) -> Result<Connection, PeeringError> {
    poll(ec2, id, region, "to be pending acceptance", deadline, |c| {
        [PENDING_ACCEPTANCE, "provisioning", ACTIVE].contains(&c.status.as_str())
    })
    .await
}

/// Waits until the connection reaches `status`.
pub(super) async fn wait_for(
    ec2: &Client,
    id: &str,
    region: &str,
    status: &str,
    deadline: &Deadline,
) -> Result<Connection, PeeringError> {
    poll(
        ec2,
        id,
        region,
        &format!("to become {status}"),
        deadline,
        |c| c.status == status,
    )
    .await
}

/// Accepts the connection; `ec2` must be the accepter region's client.
pub(super) async fn accept(
    ec2: &Client,
    id: &str,
    region: &str,
    deadline: &Deadline,
) -> Result<(), PeeringError> {
    let what = object(id, region);
    retry(deadline.within(CONSISTENCY_WINDOW), not_found, || {
        let what = &what;
        async move {
            ec2.accept_vpc_peering_connection()
                .vpc_peering_connection_id(id)
                .send()
                .await
                .map_err(aws_error("accept", what))
        }
    })
    .await?;
    info!(id, region, "accepted vpc peering connection");
    Ok(())
}

/// Sets `AllowDnsResolutionFromRemoteVpc` of `side`; `ec2` must be that side's
/// region's client (AWS refuses a side's options from the other region).
pub(super) async fn set_dns(
    ec2: &Client,
    side: Side,
    id: &str,
    region: &str,
    value: bool,
    deadline: &Deadline,
) -> Result<(), PeeringError> {
    let what = format!("{side} options of {}", object(id, region));
    let options = PeeringConnectionOptionsRequest::builder()
        .allow_dns_resolution_from_remote_vpc(value)
        .build();
    retry(deadline.within(CONSISTENCY_WINDOW), not_found, || {
        let call = ec2
            .modify_vpc_peering_connection_options()
            .vpc_peering_connection_id(id);
        let call = match side {
            Side::Requester => call.requester_peering_connection_options(options.clone()),
            Side::Accepter => call.accepter_peering_connection_options(options.clone()),
        };
        let what = &what;
        async move { call.send().await.map_err(aws_error("modify", what)) }
    })
    .await?;
    info!(id, %side, value, "set dns resolution across the peering");
    Ok(())
}

/// Moves the connection's tags from `old` to `new`; keys only `old` had are removed,
/// tags others added are left alone.
pub(super) async fn retag(
    ec2: &Client,
    id: &str,
    region: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Result<(), PeeringError> {
    let what = object(id, region);
    let set: BTreeMap<String, String> = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let unset: Vec<Tag> = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .map(|k| Tag::builder().key(k).build())
        .collect();
    if !set.is_empty() {
        ec2.create_tags()
            .resources(id)
            .set_tags(Some(to_tags(&set)))
            .send()
            .await
            .map_err(aws_error("tag", &what))?;
    }
    if !unset.is_empty() {
        ec2.delete_tags()
            .resources(id)
            .set_tags(Some(unset))
            .send()
            .await
            .map_err(aws_error("untag", &what))?;
    }
    Ok(())
}

/// Deletes the connection (from the requester region); one already gone is fine.
pub(super) async fn delete(ec2: &Client, id: &str, region: &str) -> Result<(), PeeringError> {
    match ec2
        .delete_vpc_peering_connection()
        .vpc_peering_connection_id(id)
        .send()
        .await
        .map_err(aws_error("delete", object(id, region)))
    {
        Err(e) if !e.is_not_found() => Err(e),
        _ => Ok(()),
    }
}

/// Waits until the connection is `deleted` (or in another final state, or no longer
/// reported at all).
pub(super) async fn wait_deleted(
    ec2: &Client,
    id: &str,
    region: &str,
    deadline: &Deadline,
) -> Result<(), PeeringError> {
    let mut backoff = Backoff::polling();
    loop {
        match describe(ec2, id, region).await? {
            None => return Ok(()),
            Some(c) if rules::is_gone(&c.status) && c.status != "deleting" => return Ok(()),
            Some(c) => info!(id, status = c.status, "waiting for deletion"),
        }
        let pause = backoff.step();
        if Instant::now() + pause > deadline.end() {
            return Err(deadline.timeout(format!("{} to be deleted", object(id, region))));
        }
        tokio::time::sleep(pause).await;
    }
}
