//! Steps that make what the spec wants exist: each creates only what `state` lacks and
//! records every new ID in `state` as soon as AWS returns it.
//!
//! `create` runs all of them on an empty state; `update` runs them on the live state, so
//! an added AZ gets exactly its own objects and nothing that exists is touched.

use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, ConnectivityType, DomainType, NatGatewayState, ResourceType, VpcState,
};
use tracing::{info, warn};

use super::ec2::{aws_error, filter, required, tag_spec};
use super::teardown;
use super::wait::{Backoff, CONSISTENCY_WINDOW, Deadline, not_found, retry};
use crate::vpc::layout::{desired_route_target, nat_placement};
use crate::vpc::tags::{self, Object};
use crate::vpc::{AzState, NetworkSpec, NetworkState, VpcError};

/// What a default route (`0.0.0.0/0`) points at.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target<'a> {
    InternetGateway(&'a str),
    NatGateway(&'a str),
}

/// Shared inputs of the build steps.
pub(super) struct Builder<'a> {
    pub(super) ec2: &'a Client,
    pub(super) spec: &'a NetworkSpec,
    pub(super) deadline: Deadline,
}

impl Builder<'_> {
    /// The VPC, with the spec's DNS attributes.
    pub(super) async fn vpc(&self, state: &mut NetworkState) -> Result<String, VpcError> {
        if let Some(id) = &state.vpc_id {
            return Ok(id.clone());
        }
        let spec = self.spec;
        let object = format!("vpc {} ({})", spec.name, spec.cidr_block);
        let out = self
            .ec2
            .create_vpc()
            .cidr_block(spec.cidr_block.to_string())
            .tag_specifications(tag_spec(
                ResourceType::Vpc,
                &tags::desired(spec, Object::Vpc),
            ))
            .send()
            .await
            .map_err(aws_error("create", &object))?;
        let id = required(
            out.vpc().and_then(|v| v.vpc_id()),
            "create",
            &object,
            "vpc id",
        )?;
        state.vpc_id = Some(id.to_owned());
        info!(vpc_id = id, cidr_block = %spec.cidr_block, "created vpc");

        wait_vpc_available(self.ec2, &self.deadline, id).await?;

        // New VPCs have DNS support on and DNS hostnames off: change only what differs.
        if !spec.enable_dns_support {
            set_dns(self.ec2, &self.deadline, id, DnsAttribute::Support, false).await?;
        }
        if spec.enable_dns_hostnames {
            set_dns(self.ec2, &self.deadline, id, DnsAttribute::Hostnames, true).await?;
        }
        Ok(id.to_owned())
    }

    /// The internet gateway, attached to the VPC.
    pub(super) async fn internet_gateway(
        &self,
        state: &mut NetworkState,
        vpc_id: &str,
    ) -> Result<(), VpcError> {
        if state.internet_gateway_id.is_some() {
            return Ok(());
        }
        let tags = tags::desired(self.spec, Object::InternetGateway);
        let out = self
            .ec2
            .create_internet_gateway()
            .tag_specifications(tag_spec(ResourceType::InternetGateway, &tags))
            .send()
            .await
            .map_err(aws_error(
                "create",
                format!("internet gateway for {vpc_id}"),
            ))?;
        let id = required(
            out.internet_gateway().and_then(|g| g.internet_gateway_id()),
            "create",
            "internet gateway",
            "internet gateway id",
        )?;
        state.internet_gateway_id = Some(id.to_owned());
        info!(vpc_id, internet_gateway_id = id, "created internet gateway");

        let until = self.deadline.within(CONSISTENCY_WINDOW);
        retry(until, not_found, || async {
            self.ec2
                .attach_internet_gateway()
                .internet_gateway_id(id)
                .vpc_id(vpc_id)
                .send()
                .await
                .map_err(aws_error(
                    "attach",
                    format!("internet gateway {id} to {vpc_id}"),
                ))
        })
        .await?;
        info!(
            vpc_id,
            internet_gateway_id = id,
            "attached internet gateway"
        );
        Ok(())
    }

    /// The public route table and its default route to the internet gateway.
    pub(super) async fn public_route_table(
        &self,
        state: &mut NetworkState,
        vpc_id: &str,
    ) -> Result<(), VpcError> {
        let rt = match &state.public_route_table_id {
            Some(rt) => rt.clone(),
            None => {
                let tags = tags::desired(self.spec, Object::PublicRouteTable);
                let rt = self.route_table(vpc_id, "public route table", tags).await?;
                state.public_route_table_id = Some(rt.clone());
                rt
            }
        };
        let Some(igw) = state.internet_gateway_id.clone() else {
            return Ok(());
        };
        if state.public_route_target.as_deref() != Some(igw.as_str()) {
            set_default_route(
                self.ec2,
                &self.deadline,
                &rt,
                state.public_route_target.as_deref(),
                Some(Target::InternetGateway(&igw)),
            )
            .await?;
            state.public_route_target = Some(igw);
        }
        Ok(())
    }

    /// One AZ's subnets, its private route table and both associations.
    pub(super) async fn az(
        &self,
        state: &mut NetworkState,
        vpc_id: &str,
        az: &str,
    ) -> Result<(), VpcError> {
        let Some(az_spec) = self.spec.azs.get(az) else {
            return Ok(());
        };
        let public_rt = state.public_route_table_id.clone();
        let a = state.azs.entry(az.to_owned()).or_default();

        if a.public_subnet_id.is_none() {
            let tags = tags::desired(self.spec, Object::PublicSubnet(az));
            let id = self
                .subnet(vpc_id, az, "public", az_spec.public_cidr, tags)
                .await?;
            a.public_subnet_id = Some(id);
        }
        if let (None, Some(rt), Some(subnet)) = (
            &a.public_route_table_association_id,
            &public_rt,
            &a.public_subnet_id,
        ) {
            let id = self.associate(rt, subnet).await?;
            a.public_route_table_association_id = Some(id);
        }

        if a.private_subnet_id.is_none() {
            let tags = tags::desired(self.spec, Object::PrivateSubnet(az));
            let id = self
                .subnet(vpc_id, az, "private", az_spec.private_cidr, tags)
                .await?;
            a.private_subnet_id = Some(id);
        }
        if a.private_route_table_id.is_none() {
            let tags = tags::desired(self.spec, Object::PrivateRouteTable(az));
            let what = format!("private route table of {az}");
            let id = self.route_table(vpc_id, &what, tags).await?;
            a.private_route_table_id = Some(id);
        }
        if let (None, Some(rt), Some(subnet)) = (
            &a.private_route_table_association_id,
            &a.private_route_table_id,
            &a.private_subnet_id,
        ) {
            let id = self.associate(rt, subnet).await?;
            a.private_route_table_association_id = Some(id);
        }
        Ok(())
    }

    /// NAT gateways (and their Elastic IPs) where the NAT mode places them, waited for
    /// until `available`. An Elastic IP already in `state` is reused, so a NAT gateway
    /// that is re-created keeps its public address (unless the address is still held,
    /// then it is replaced).
    pub(super) async fn nat_gateways(
        &self,
        state: &mut NetworkState,
        vpc_id: &str,
    ) -> Result<(), VpcError> {
        let placement = nat_placement(self.spec, state);
        for az in &placement {
            let Some(a) = state.azs.get_mut(az) else {
                continue;
            };
            if a.nat_gateway_id.is_some() {
                continue;
            }
            let Some(subnet) = a.public_subnet_id.clone() else {
                continue;
            };
            let reused = a.eip_allocation_id.is_some();
            if !reused {
                self.allocate_eip(a, az, vpc_id).await?;
            }
            let id = match self.create_nat(a, az, &subnet).await {
                Err(e) if reused && e.code() == Some("Resource.AlreadyAssociated") => {
                    // The address is still held by the NAT gateway it served before (AWS
                    // lets go once that one is deleted; moto never does): release it and
                    // use a fresh one rather than fail.
                    let old = a.eip_allocation_id.clone().unwrap_or_default();
                    warn!(
                        az = az.as_str(),
                        allocation_id = old,
                        "elastic ip still associated; replacing it"
                    );
                    teardown::release_eip(self.ec2, &self.deadline, &old).await?;
                    a.eip_allocation_id = None;
                    a.nat_public_ip = None;
                    self.allocate_eip(a, az, vpc_id).await?;
                    self.create_nat(a, az, &subnet).await?
                }
                created => created?,
            };
            a.nat_gateway_id = Some(id.clone());
            info!(az = az.as_str(), nat_gateway_id = id, "created nat gateway");
        }

        let ids: Vec<String> = placement
            .iter()
            .filter_map(|az| state.azs.get(az)?.nat_gateway_id.clone())
            .collect();
        wait_nat_gateways_available(self.ec2, &self.deadline, &ids).await
    }

    /// Points every private route table's default route where the NAT mode says,
    /// touching only the ones that point elsewhere now.
    pub(super) async fn private_routes(&self, state: &mut NetworkState) -> Result<(), VpcError> {
        for az in self.spec.azs.keys() {
            let desired = desired_route_target(self.spec, state, az).map(str::to_owned);
            let Some(a) = state.azs.get_mut(az) else {
                continue;
            };
            let Some(rt) = a.private_route_table_id.clone() else {
                continue;
            };
            if a.private_route_target == desired {
                continue;
            }
            set_default_route(
                self.ec2,
                &self.deadline,
                &rt,
                a.private_route_target.as_deref(),
                desired.as_deref().map(Target::NatGateway),
            )
            .await?;
            info!(az = az.as_str(), route_table_id = rt, target = ?desired, "set private default route");
            a.private_route_target = desired;
        }
        Ok(())
    }

    /// Allocates the Elastic IP for `az`'s NAT gateway into `a`.
    async fn allocate_eip(&self, a: &mut AzState, az: &str, vpc_id: &str) -> Result<(), VpcError> {
        let tags = tags::desired(self.spec, Object::NatEip { az, vpc_id });
        let object = format!("elastic ip for the nat gateway of {az}");
        let out = self
            .ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tag_spec(ResourceType::ElasticIp, &tags))
            .send()
            .await
            .map_err(aws_error("allocate", &object))?;
        let id = required(out.allocation_id(), "allocate", &object, "allocation id")?;
        a.eip_allocation_id = Some(id.to_owned());
        a.nat_public_ip = out.public_ip().map(str::to_owned);
        info!(az, allocation_id = id, public_ip = ?a.nat_public_ip, "allocated elastic ip");
        Ok(())
    }

    /// Creates `az`'s NAT gateway in `subnet` with the Elastic IP recorded in `a`.
    async fn create_nat(&self, a: &AzState, az: &str, subnet: &str) -> Result<String, VpcError> {
        let allocation = a.eip_allocation_id.as_deref().unwrap_or_default();
        let tags = tags::desired(self.spec, Object::NatGateway(az));
        let object = format!("nat gateway of {az} in {subnet}");
        let until = self.deadline.within(CONSISTENCY_WINDOW);
        let out = retry(until, not_found, || async {
            self.ec2
                .create_nat_gateway()
                .subnet_id(subnet)
                .allocation_id(allocation)
                .connectivity_type(ConnectivityType::Public)
                .tag_specifications(tag_spec(ResourceType::Natgateway, &tags))
                .send()
                .await
                .map_err(aws_error("create", &object))
        })
        .await?;
        let id = required(
            out.nat_gateway().and_then(|n| n.nat_gateway_id()),
            "create",
            &object,
            "nat gateway id",
        )?;
        Ok(id.to_owned())
    }

    async fn subnet(
        &self,
        vpc_id: &str,
        az: &str,
        tier: &str,
        cidr: ipnet::Ipv4Net,
        tags: std::collections::BTreeMap<String, String>,
    ) -> Result<String, VpcError> {
        let object = format!("{tier} subnet {cidr} in {az}");
        let until = self.deadline.within(CONSISTENCY_WINDOW);
        let out = retry(until, not_found, || async {
            self.ec2
                .create_subnet()
                .vpc_id(vpc_id)
                .cidr_block(cidr.to_string())
                .availability_zone(az)
                .tag_specifications(tag_spec(ResourceType::Subnet, &tags))
                .send()
                .await
                .map_err(aws_error("create", &object))
        })
        .await?;
        let id = required(
            out.subnet().and_then(|s| s.subnet_id()),
            "create",
            &object,
            "subnet id",
        )?;
        info!(az, subnet_id = id, %cidr, tier, "created subnet");
        Ok(id.to_owned())
    }

    async fn route_table(
        &self,
        vpc_id: &str,
        what: &str,
        tags: std::collections::BTreeMap<String, String>,
    ) -> Result<String, VpcError> {
        let object = format!("{what} in {vpc_id}");
        let until = self.deadline.within(CONSISTENCY_WINDOW);
        let out = retry(until, not_found, || async {
            self.ec2
                .create_route_table()
                .vpc_id(vpc_id)
                .tag_specifications(tag_spec(ResourceType::RouteTable, &tags))
                .send()
                .await
                .map_err(aws_error("create", &object))
        })
        .await?;
        let id = required(
            out.route_table().and_then(|r| r.route_table_id()),
            "create",
            &object,
            "route table id",
        )?;
        info!(route_table_id = id, "created {what}");
        Ok(id.to_owned())
    }

    async fn associate(&self, route_table: &str, subnet: &str) -> Result<String, VpcError> {
        let object = format!("route table {route_table} with subnet {subnet}");
        let until = self.deadline.within(CONSISTENCY_WINDOW);
        let out = retry(until, not_found, || async {
            self.ec2
                .associate_route_table()
                .route_table_id(route_table)
                .subnet_id(subnet)
                .send()
                .await
                .map_err(aws_error("associate", &object))
        })
        .await?;
        let id = required(out.association_id(), "associate", &object, "association id")?;
        info!(
            route_table_id = route_table,
            subnet_id = subnet,
            association_id = id,
            "associated route table"
        );
        Ok(id.to_owned())
    }
}

/// Polls until a new VPC is `available` (creating subnets in a `pending` one fails).
async fn wait_vpc_available(
    ec2: &Client,
    deadline: &Deadline,
    vpc_id: &str,
) -> Result<(), VpcError> {
    let object = format!("vpc {vpc_id}");
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(5));
    loop {
        let until = deadline.within(CONSISTENCY_WINDOW);
        let out = retry(until, not_found, || async {
            ec2.describe_vpcs()
                .vpc_ids(vpc_id)
                .send()
                .await
                .map_err(aws_error("describe", &object))
        })
        .await?;
        let state = out.vpcs().first().and_then(|v| v.state());
        if state == Some(&VpcState::Available) {
            return Ok(());
        }
        let pause = backoff.step();
        if tokio::time::Instant::now() + pause > deadline.end() {
            return Err(deadline.timeout(format!("{object} to become available")));
        }
        tokio::time::sleep(pause).await;
    }
}

/// A VPC DNS attribute (`ModifyVpcAttribute` takes one per call).
#[derive(Debug, Clone, Copy)]
pub(super) enum DnsAttribute {
    Support,
    Hostnames,
}

pub(super) async fn set_dns(
    ec2: &Client,
    deadline: &Deadline,
    vpc_id: &str,
    attribute: DnsAttribute,
    value: bool,
) -> Result<(), VpcError> {
    let flag = AttributeBooleanValue::builder().value(value).build();
    let object = format!("dns attribute {attribute:?} of {vpc_id}");
    retry(deadline.within(CONSISTENCY_WINDOW), not_found, || async {
        let call = ec2.modify_vpc_attribute().vpc_id(vpc_id);
        let call = match attribute {
            DnsAttribute::Support => call.enable_dns_support(flag.clone()),
            DnsAttribute::Hostnames => call.enable_dns_hostnames(flag.clone()),
        };
        call.send().await.map_err(aws_error("modify", &object))
    })
    .await?;
    info!(vpc_id, ?attribute, value, "set vpc dns attribute");
    Ok(())
}

/// Makes `route_table`'s `0.0.0.0/0` route point at `target` (or removes it), given
/// where it points now (`current`, as last observed).
pub(super) async fn set_default_route(
    ec2: &Client,
    deadline: &Deadline,
    route_table: &str,
    current: Option<&str>,
    target: Option<Target<'_>>,
) -> Result<(), VpcError> {
    const DEFAULT: &str = "0.0.0.0/0";
    let object = format!("default route of {route_table}");
    // Retry while the table or the target are not visible yet, but not when it is the
    // route itself that is missing: that is an answer, handled below.
    let until = deadline.within(CONSISTENCY_WINDOW);
    let invisible = |e: &VpcError| not_found(e) && e.code() != Some("InvalidRoute.NotFound");

    let Some(target) = target else {
        let deleted = retry(until, invisible, || async {
            ec2.delete_route()
                .route_table_id(route_table)
                .destination_cidr_block(DEFAULT)
                .send()
                .await
                .map_err(aws_error("delete", &object))
        })
        .await;
        return match deleted {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(()),
        };
    };

    let create = || async {
        let call = ec2
            .create_route()
            .route_table_id(route_table)
            .destination_cidr_block(DEFAULT);
        let call = match target {
            Target::InternetGateway(id) => call.gateway_id(id),
            Target::NatGateway(id) => call.nat_gateway_id(id),
        };
        call.send()
            .await
            .map(|_| ())
            .map_err(aws_error("create", &object))
    };
    let replace = || async {
        let call = ec2
            .replace_route()
            .route_table_id(route_table)
            .destination_cidr_block(DEFAULT);
        let call = match target {
            Target::InternetGateway(id) => call.gateway_id(id),
            Target::NatGateway(id) => call.nat_gateway_id(id),
        };
        call.send()
            .await
            .map(|_| ())
            .map_err(aws_error("replace", &object))
    };

    // What we last saw decides which call to try first; the other is the fallback for
    // a route created or deleted behind our back since.
    if current.is_none() {
        match retry(until, invisible, create).await {
            Err(e) if e.code() == Some("RouteAlreadyExists") => {
                retry(until, invisible, replace).await
            }
            done => done,
        }
    } else {
        match retry(until, invisible, replace).await {
            // AWS says InvalidRoute.NotFound; moto says InvalidParameterValue.
            Err(e)
                if matches!(
                    e.code(),
                    Some("InvalidRoute.NotFound" | "InvalidParameterValue")
                ) =>
            {
                retry(until, invisible, create).await
            }
            done => done,
        }
    }
}

/// Polls until every NAT gateway in `ids` is `available`; a `failed` one is an error
/// carrying AWS's failure code and message.
pub(super) async fn wait_nat_gateways_available(
    ec2: &Client,
    deadline: &Deadline,
    ids: &[String],
) -> Result<(), VpcError> {
    if ids.is_empty() {
        return Ok(());
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(15));
    loop {
        // A filter (not NatGatewayIds) so one not-yet-visible ID does not fail the call.
        let out = ec2
            .describe_nat_gateways()
            .filter(filter("nat-gateway-id", &refs))
            .send()
            .await
            .map_err(aws_error(
                "describe",
                format!("nat gateways {}", ids.join(", ")),
            ))?;
        let mut pending: Vec<&str> = Vec::new();
        for id in &refs {
            let Some(nat) = out
                .nat_gateways()
                .iter()
                .find(|n| n.nat_gateway_id() == Some(id))
            else {
                // Not visible yet (eventual consistency): keep polling.
                pending.push(id);
                continue;
            };
            match nat.state() {
                Some(NatGatewayState::Available) => {}
                Some(NatGatewayState::Failed) => {
                    return Err(VpcError::NatGatewayFailed {
                        id: (*id).to_owned(),
                        code: nat.failure_code().map(str::to_owned),
                        message: nat
                            .failure_message()
                            .unwrap_or("no failure message")
                            .to_owned(),
                    });
                }
                Some(NatGatewayState::Deleting | NatGatewayState::Deleted) => {
                    return Err(VpcError::NatGatewayFailed {
                        id: (*id).to_owned(),
                        code: None,
                        message: "it was deleted while waiting for it to become available".into(),
                    });
                }
                _ => pending.push(id),
            }
        }
        if pending.is_empty() {
            info!(nat_gateway_ids = ?refs, "nat gateways available");
            return Ok(());
        }
        let pause = backoff.step();
        if tokio::time::Instant::now() + pause > deadline.end() {
            return Err(deadline.timeout(format!(
                "nat gateways {} to become available",
                pending.join(", ")
            )));
        }
        info!(nat_gateway_ids = ?pending, "waiting for nat gateways to become available");
        tokio::time::sleep(pause).await;
    }
}
