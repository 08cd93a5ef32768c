//! Steps that remove objects, each tolerating an object that is already gone
//! (`…NotFound`) and retrying `DependencyViolation` while AWS catches up with a
//! dependency deleted just before (NAT gateway network interfaces linger after the
//! gateway reports `deleted`).

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::NatGatewayState;
use tracing::info;

use super::ec2::{aws_error, filter};
use super::wait::{Backoff, CONSISTENCY_WINDOW, Deadline, dependency_violation, retry};
use crate::vpc::VpcError;

/// What a delete call achieved: `deleted` or `already gone`; other errors pass through.
fn gone<T>(result: Result<T, VpcError>) -> Result<&'static str, VpcError> {
    match result {
        Ok(_) => Ok("deleted"),
        Err(e) if e.is_not_found() => Ok("already gone"),
        Err(e) => Err(e),
    }
}

/// Deletes the NAT gateways in `ids` and waits until all are `deleted` (or unknown).
pub(super) async fn delete_nat_gateways(
    ec2: &Client,
    deadline: &Deadline,
    ids: &[String],
) -> Result<(), VpcError> {
    if ids.is_empty() {
        return Ok(());
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let object = format!("nat gateways {}", ids.join(", "));
    let mut backoff = Backoff::new(
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs(15),
    );
    let mut requested = false;
    loop {
        // Describe before deleting: only live gateways get a delete call (moto answers a
        // delete of an unknown gateway with HTTP 500, which the SDK would retry), and a
        // filter (not NatGatewayIds) so gateways AWS already forgot do not fail the call.
        let out = ec2
            .describe_nat_gateways()
            .filter(filter("nat-gateway-id", &refs))
            .send()
            .await
            .map_err(aws_error("describe", &object))?;
        let mut remaining = Vec::new();
        for nat in out.nat_gateways() {
            let Some(id) = nat.nat_gateway_id() else {
                continue;
            };
            match nat.state() {
                Some(NatGatewayState::Deleted) => {}
                Some(NatGatewayState::Deleting) => remaining.push(id),
                _ => {
                    if !requested {
                        let deleted = ec2
                            .delete_nat_gateway()
                            .nat_gateway_id(id)
                            .send()
                            .await
                            .map_err(aws_error("delete", format!("nat gateway {id}")));
                        gone(deleted)?;
                        info!(nat_gateway_id = id, "deleting nat gateway");
                    }
                    remaining.push(id);
                }
            }
        }
        requested = true;
        if remaining.is_empty() {
            info!(nat_gateway_ids = ?refs, "nat gateways deleted");
            return Ok(());
        }
        let pause = backoff.step();
        if tokio::time::Instant::now() + pause > deadline.end() {
            return Err(deadline.timeout(format!(
                "nat gateways {} to be deleted",
                remaining.join(", ")
            )));
        }
        info!(nat_gateway_ids = ?remaining, "waiting for nat gateways to be deleted");
        tokio::time::sleep(pause).await;
    }
}

/// Releases an Elastic IP. Right after its NAT gateway is deleted AWS may still see it
/// associated (`InvalidIPAddress.InUse`, or `AuthFailure` for an association it is
/// tearing down): retried for a while.
pub(super) async fn release_eip(
    ec2: &Client,
    deadline: &Deadline,
    allocation_id: &str,
) -> Result<(), VpcError> {
    let still_associated =
        |e: &VpcError| matches!(e.code(), Some("InvalidIPAddress.InUse" | "AuthFailure"));
    let released = retry(
        deadline.within(CONSISTENCY_WINDOW),
        still_associated,
        || async {
            ec2.release_address()
                .allocation_id(allocation_id)
                .send()
                .await
                .map_err(aws_error("release", format!("elastic ip {allocation_id}")))
        },
    )
    .await;
    let outcome = gone(released)?;
    info!(allocation_id, outcome, "released elastic ip");
    Ok(())
}

/// Disassociates every subnet from a route table, then deletes it.
pub(super) async fn delete_route_table(
    ec2: &Client,
    deadline: &Deadline,
    route_table: &str,
) -> Result<(), VpcError> {
    let object = format!("route table {route_table}");
    let described = ec2
        .describe_route_tables()
        .route_table_ids(route_table)
        .send()
        .await
        .map_err(aws_error("describe", &object));
    let out = match described {
        Ok(out) => out,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e),
    };
    // Associations are looked up, not taken from state: one made behind our back would
    // block the delete just the same.
    for table in out.route_tables() {
        for assoc in table.associations() {
            if assoc.main() == Some(true) {
                continue;
            }
            let Some(id) = assoc.route_table_association_id() else {
                continue;
            };
            let result = ec2
                .disassociate_route_table()
                .association_id(id)
                .send()
                .await
                .map_err(aws_error(
                    "disassociate",
                    format!("route table association {id}"),
                ));
            gone(result)?;
        }
    }
    let deleted = retry(deadline.end(), dependency_violation, || async {
        ec2.delete_route_table()
            .route_table_id(route_table)
            .send()
            .await
            .map_err(aws_error("delete", &object))
    })
    .await;
    let outcome = gone(deleted)?;
    info!(route_table_id = route_table, outcome, "deleted route table");
    Ok(())
}

/// Deletes a subnet.
pub(super) async fn delete_subnet(
    ec2: &Client,
    deadline: &Deadline,
    subnet: &str,
) -> Result<(), VpcError> {
    let deleted = retry(deadline.end(), dependency_violation, || async {
        ec2.delete_subnet()
            .subnet_id(subnet)
            .send()
            .await
            .map_err(aws_error("delete", format!("subnet {subnet}")))
    })
    .await;
    let outcome = gone(deleted)?;
    info!(subnet_id = subnet, outcome, "deleted subnet");
    Ok(())
}

/// Detaches the internet gateway from the VPC and deletes it. Detaching fails with
/// `DependencyViolation` while the VPC still has mapped public addresses (NAT gateways
/// being torn down): retried.
pub(super) async fn delete_internet_gateway(
    ec2: &Client,
    deadline: &Deadline,
    igw: &str,
    vpc_id: Option<&str>,
) -> Result<(), VpcError> {
    if let Some(vpc_id) = vpc_id {
        let detached = retry(deadline.end(), dependency_violation, || async {
            ec2.detach_internet_gateway()
                .internet_gateway_id(igw)
                .vpc_id(vpc_id)
                .send()
                .await
                .map_err(aws_error(
                    "detach",
                    format!("internet gateway {igw} from {vpc_id}"),
                ))
        })
        .await;
        match detached {
            Err(e) if e.code() == Some("Gateway.NotAttached") => {}
            other => {
                gone(other)?;
            }
        }
    }
    let deleted = retry(deadline.end(), dependency_violation, || async {
        ec2.delete_internet_gateway()
            .internet_gateway_id(igw)
            .send()
            .await
            .map_err(aws_error("delete", format!("internet gateway {igw}")))
    })
    .await;
    let outcome = gone(deleted)?;
    info!(
        internet_gateway_id = igw,
        outcome, "deleted internet gateway"
    );
    Ok(())
}

/// Deletes the VPC.
pub(super) async fn delete_vpc(
    ec2: &Client,
    deadline: &Deadline,
    vpc_id: &str,
) -> Result<(), VpcError> {
    let deleted = retry(deadline.end(), dependency_violation, || async {
        ec2.delete_vpc()
            .vpc_id(vpc_id)
            .send()
            .await
            .map_err(aws_error("delete", format!("vpc {vpc_id}")))
    })
    .await;
    let outcome = gone(deleted)?;
    info!(vpc_id, outcome, "deleted vpc");
    Ok(())
}
