//! The EC2 side of the network: create, read, update and delete.
//!
//! * `build` — steps that create what `state` lacks (shared by create and update);
//! * `teardown` — steps that remove objects, tolerant of objects already gone;
//! * `read` — observing a live network from its VPC ID;
//! * `wait` — deadlines and bounded retries for eventual consistency;
//! * `ec2` — SDK adapters (error mapping, tags, filters).

use std::collections::BTreeSet;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::Tag;
use tracing::info;

use super::layout::nat_placement;
use super::tags::{self, Object};
use super::{NetworkSpec, NetworkState, ObservedNetwork, Timeouts, VpcError};

mod build;
mod ec2;
mod read;
mod teardown;
mod wait;

use build::{Builder, DnsAttribute, set_dns};
use ec2::{aws_error, to_tags};
use wait::Deadline;

/// Creates the whole network described by `spec`.
///
/// Every ID is written into `state` the moment AWS returns it, so on error the caller
/// saves `state` as it is (a partial network) and [`delete`] can remove it. Waits for
/// the NAT gateways to become `available` (a `failed` one is an error with AWS's
/// failure message), all within `t.create`.
pub async fn create(
    ec2: &Client,
    spec: &NetworkSpec,
    state: &mut NetworkState,
    t: &Timeouts,
) -> Result<(), VpcError> {
    info!(name = spec.name, cidr_block = %spec.cidr_block, azs = ?spec.azs.keys(), nat_mode = %spec.nat_mode, "creating network");
    let b = Builder {
        ec2,
        spec,
        deadline: Deadline::after(t.create),
    };
    let vpc_id = b.vpc(state).await?;
    b.internet_gateway(state, &vpc_id).await?;
    b.public_route_table(state, &vpc_id).await?;
    for az in spec.azs.keys() {
        b.az(state, &vpc_id, az).await?;
    }
    b.nat_gateways(state, &vpc_id).await?;
    b.private_routes(state).await?;
    info!(vpc_id, "network created");
    Ok(())
}

/// Observes the live network of `vpc_id`: `None` when the VPC is gone.
///
/// Returns what is really there in spec terms (for drift detection and import) and the
/// IDs of every owned object found. Objects are recognised by their tags and their
/// place in the VPC (see the `read` step's docs), never by remembered IDs, so importing
/// by VPC ID recovers the whole network.
pub async fn read(
    ec2: &Client,
    vpc_id: &str,
) -> Result<Option<(ObservedNetwork, NetworkState)>, VpcError> {
    read::read(ec2, vpc_id).await
}

/// Changes the network from `old` to `new` in place, starting from the live `state`.
///
/// * tags and `name`: every owned object's tags are updated (keys only the old tags had
///   are removed; tags others added are left alone);
/// * DNS attributes: modified;
/// * an AZ added: only that AZ's subnets, route table and (per the NAT mode) NAT gateway
///   are created — nothing else is touched;
/// * an AZ removed: only that AZ's objects are deleted (in `single` mode, if the NAT
///   gateway lived there, a new one is created in the first remaining AZ and every
///   route repointed before the old one goes);
/// * a subnet CIDR of an existing AZ changed: that subnet is deleted and re-created and
///   re-associated (a public subnet's NAT gateway is re-created, keeping its Elastic IP
///   where AWS allows);
/// * NAT mode changed: NAT gateways are created first, default routes repointed, then
///   the NAT gateways no longer needed are deleted and their Elastic IPs released.
///
/// `cidr_block` cannot change in place ([`VpcError::RequiresReplacement`]). Same
/// partial-state rule as [`create`].
pub async fn update(
    ec2: &Client,
    old: &NetworkSpec,
    new: &NetworkSpec,
    state: &mut NetworkState,
    t: &Timeouts,
) -> Result<(), VpcError> {
    if old.cidr_block != new.cidr_block {
        return Err(VpcError::RequiresReplacement {
            attribute: "cidr_block",
        });
    }
    let vpc_id = state.vpc_id.clone().ok_or(VpcError::NoVpcId)?;
    info!(vpc_id, "updating network");
    let b = Builder {
        ec2,
        spec: new,
        deadline: Deadline::after(t.update),
    };
    let deadline = &b.deadline;

    // Hostnames need support: enable support first, disable hostnames first.
    let mut dns = [
        (
            DnsAttribute::Support,
            old.enable_dns_support,
            new.enable_dns_support,
        ),
        (
            DnsAttribute::Hostnames,
            old.enable_dns_hostnames,
            new.enable_dns_hostnames,
        ),
    ];
    if !new.enable_dns_support {
        dns.reverse();
    }
    for (attribute, before, after) in dns {
        if before != after {
            set_dns(ec2, deadline, &vpc_id, attribute, after).await?;
        }
    }
    retag(ec2, old, new, state, &vpc_id).await?;

    // Subnets whose CIDR changes go first, so a new CIDR may overlap its old one. A NAT
    // gateway in a public subnet must go before the subnet; its Elastic IP stays in
    // state for the NAT gateway the build steps re-create.
    for (az, wanted) in &new.azs {
        let Some(before) = old.azs.get(az) else {
            continue;
        };
        let Some(a) = state.azs.get_mut(az) else {
            continue;
        };
        if before.public_cidr != wanted.public_cidr {
            if let Some(nat) = a.nat_gateway_id.clone() {
                teardown::delete_nat_gateways(ec2, deadline, &[nat]).await?;
                a.nat_gateway_id = None;
            }
            if let Some(subnet) = a.public_subnet_id.clone() {
                teardown::delete_subnet(ec2, deadline, &subnet).await?;
                a.public_subnet_id = None;
                a.public_route_table_association_id = None;
            }
        }
        if before.private_cidr != wanted.private_cidr
            && let Some(subnet) = a.private_subnet_id.clone()
        {
            teardown::delete_subnet(ec2, deadline, &subnet).await?;
            a.private_subnet_id = None;
            a.private_route_table_association_id = None;
        }
    }

    // Build what is missing: new AZs, replaced subnets, NAT gateways the mode now
    // places, and default routes that point elsewhere than they should.
    b.internet_gateway(state, &vpc_id).await?;
    b.public_route_table(state, &vpc_id).await?;
    for az in new.azs.keys() {
        b.az(state, &vpc_id, az).await?;
    }
    b.nat_gateways(state, &vpc_id).await?;
    b.private_routes(state).await?;

    // NAT gateways the mode no longer places (routes no longer point at them), and the
    // Elastic IPs of AZs that no longer host one.
    let placed = nat_placement(new, state);
    let retired: Vec<String> = state
        .azs
        .iter()
        .filter(|(az, _)| !placed.contains(*az))
        .filter_map(|(_, a)| a.nat_gateway_id.clone())
        .collect();
    teardown::delete_nat_gateways(ec2, deadline, &retired).await?;
    for (az, a) in state.azs.iter_mut() {
        if placed.contains(az) {
            continue;
        }
        a.nat_gateway_id = None;
        if let Some(eip) = a.eip_allocation_id.clone() {
            teardown::release_eip(ec2, deadline, &eip).await?;
            a.eip_allocation_id = None;
            a.nat_public_ip = None;
        }
    }

    // AZs no longer wanted: their NAT gateway is gone already; route table, then subnets.
    let removed: Vec<String> = state
        .azs
        .keys()
        .filter(|az| !new.azs.contains_key(*az))
        .cloned()
        .collect();
    for az in removed {
        let Some(a) = state.azs.get_mut(&az) else {
            continue;
        };
        if let Some(rt) = a.private_route_table_id.clone() {
            teardown::delete_route_table(ec2, deadline, &rt).await?;
            a.private_route_table_id = None;
            a.private_route_table_association_id = None;
            a.private_route_target = None;
        }
        for slot in [&mut a.public_subnet_id, &mut a.private_subnet_id] {
            if let Some(subnet) = slot.clone() {
                teardown::delete_subnet(ec2, deadline, &subnet).await?;
                *slot = None;
            }
        }
        state.azs.remove(&az);
        info!(vpc_id, az, "removed availability zone");
    }
    info!(vpc_id, "network updated");
    Ok(())
}

/// Tears the network down in the order AWS requires: NAT gateways (waited until
/// `deleted`), Elastic IPs, route tables (after disassociating their subnets), the
/// internet gateway (detached first), subnets, the VPC.
///
/// Before that, the VPC is read, so objects missing from `state` (e.g. one whose create
/// response was lost) are found and removed too. Objects already gone are fine;
/// `DependencyViolation` is retried within `t.delete` while AWS catches up.
pub async fn delete(ec2: &Client, state: &NetworkState, t: &Timeouts) -> Result<(), VpcError> {
    let deadline = Deadline::after(t.delete);
    let mut all = Inventory::of(state);
    if let Some(vpc_id) = &state.vpc_id {
        info!(vpc_id, "deleting network");
        if let Some((_, live)) = read::read(ec2, vpc_id).await? {
            all.add(&live);
        }
    }

    let nats: Vec<String> = all.nat_gateways.into_iter().collect();
    teardown::delete_nat_gateways(ec2, &deadline, &nats).await?;
    for eip in &all.eips {
        teardown::release_eip(ec2, &deadline, eip).await?;
    }
    for rt in &all.route_tables {
        teardown::delete_route_table(ec2, &deadline, rt).await?;
    }
    for igw in &all.internet_gateways {
        teardown::delete_internet_gateway(ec2, &deadline, igw, state.vpc_id.as_deref()).await?;
    }
    for subnet in &all.subnets {
        teardown::delete_subnet(ec2, &deadline, subnet).await?;
    }
    if let Some(vpc_id) = &state.vpc_id {
        teardown::delete_vpc(ec2, &deadline, vpc_id).await?;
        info!(vpc_id, "network deleted");
    }
    Ok(())
}

/// Every owned ID, by kind, from one or more states.
#[derive(Debug, Default)]
struct Inventory {
    nat_gateways: BTreeSet<String>,
    eips: BTreeSet<String>,
    route_tables: BTreeSet<String>,
    internet_gateways: BTreeSet<String>,
    subnets: BTreeSet<String>,
}

impl Inventory {
    fn of(state: &NetworkState) -> Self {
        let mut inventory = Self::default();
        inventory.add(state);
        inventory
    }

    fn add(&mut self, state: &NetworkState) {
        self.internet_gateways
            .extend(state.internet_gateway_id.clone());
        self.route_tables
            .extend(state.public_route_table_id.clone());
        for a in state.azs.values() {
            self.nat_gateways.extend(a.nat_gateway_id.clone());
            self.eips.extend(a.eip_allocation_id.clone());
            self.route_tables.extend(a.private_route_table_id.clone());
            self.subnets.extend(a.public_subnet_id.clone());
            self.subnets.extend(a.private_subnet_id.clone());
        }
    }
}

/// Brings every owned object's tags from `old`'s to `new`'s. Only keys the old tags had
/// are removed, so tags added by others (EKS's `kubernetes.io/cluster/…`) survive.
async fn retag(
    ec2: &Client,
    old: &NetworkSpec,
    new: &NetworkSpec,
    state: &NetworkState,
    vpc_id: &str,
) -> Result<(), VpcError> {
    let mut objects: Vec<(Object<'_>, &str)> = vec![(Object::Vpc, vpc_id)];
    objects.extend(
        state
            .internet_gateway_id
            .as_deref()
            .map(|id| (Object::InternetGateway, id)),
    );
    objects.extend(
        state
            .public_route_table_id
            .as_deref()
            .map(|id| (Object::PublicRouteTable, id)),
    );
    for (az, a) in &state.azs {
        if !new.azs.contains_key(az) {
            continue; // about to be deleted
        }
        let az = az.as_str();
        let ids = [
            (Object::PublicSubnet(az), &a.public_subnet_id),
            (Object::PrivateSubnet(az), &a.private_subnet_id),
            (Object::PrivateRouteTable(az), &a.private_route_table_id),
            (Object::NatGateway(az), &a.nat_gateway_id),
            (Object::NatEip { az, vpc_id }, &a.eip_allocation_id),
        ];
        objects.extend(
            ids.into_iter()
                .filter_map(|(o, id)| Some((o, id.as_deref()?))),
        );
    }

    for (object, id) in objects {
        let before = tags::desired(old, object);
        let after = tags::desired(new, object);
        if before == after {
            continue;
        }
        let set: std::collections::BTreeMap<String, String> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let unset: Vec<Tag> = before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .map(|k| Tag::builder().key(k).build())
            .collect();
        let what = format!("{object} {id}");
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
        info!(resource_id = id, "updated tags");
    }
    Ok(())
}
