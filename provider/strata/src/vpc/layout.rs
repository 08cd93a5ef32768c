//! Pure decisions about the NAT layout: where NAT gateways go, where each private
//! default route points, and which mode a live network is in.

use std::collections::BTreeSet;

use super::{AzState, NatMode, NetworkSpec, NetworkState};

/// The AZs that should host a NAT gateway under `spec`, given what exists in `state`.
///
/// `one_per_az`: every AZ. `single`: the AZ that already hosts one of our NAT gateways
/// (the alphabetically first such AZ), else the alphabetically first AZ — so adding an AZ
/// never moves the NAT gateway and reroutes every other AZ. `none`: no AZ.
pub(crate) fn nat_placement(spec: &NetworkSpec, state: &NetworkState) -> BTreeSet<String> {
    match spec.nat_mode {
        NatMode::None => BTreeSet::new(),
        NatMode::OnePerAz => spec.azs.keys().cloned().collect(),
        NatMode::Single => {
            let has_nat = |az: &&String| {
                state
                    .azs
                    .get(*az)
                    .is_some_and(|a| a.nat_gateway_id.is_some())
            };
            let keep = spec.azs.keys().find(has_nat);
            keep.or_else(|| spec.azs.keys().next())
                .cloned()
                .into_iter()
                .collect()
        }
    }
}

/// The NAT gateway `az`'s private default route should point at under `spec`, given the
/// NAT gateways that exist in `state` (`None`: no default route).
pub(crate) fn desired_route_target<'s>(
    spec: &NetworkSpec,
    state: &'s NetworkState,
    az: &str,
) -> Option<&'s str> {
    let nat_az = match spec.nat_mode {
        NatMode::None => return None,
        NatMode::OnePerAz => az.to_owned(),
        NatMode::Single => nat_placement(spec, state).into_iter().next()?,
    };
    state.azs.get(&nat_az)?.nat_gateway_id.as_deref()
}

/// Which NAT mode the objects in `state` implement, if any.
///
/// Looks at the AZs that have a subnet: `none` when there is no NAT gateway and no
/// private default route; `one_per_az` when every AZ has a NAT gateway and routes
/// through it; `single` when there is one NAT gateway and every AZ routes through it.
/// With one AZ the last two look the same, so `marker` (the mode recorded on the VPC)
/// decides. Anything else is `None`: a broken layout for `update` to repair.
pub fn infer_nat_mode(state: &NetworkState, marker: Option<NatMode>) -> Option<NatMode> {
    let azs: Vec<&AzState> = state
        .azs
        .values()
        .filter(|a| a.public_subnet_id.is_some() || a.private_subnet_id.is_some())
        .collect();
    if azs.is_empty() {
        return marker;
    }
    let nats: Vec<&str> = azs
        .iter()
        .filter_map(|a| a.nat_gateway_id.as_deref())
        .collect();
    let routes = |target: &dyn Fn(&AzState) -> Option<String>| {
        azs.iter()
            .all(|a| a.private_route_target.as_deref() == target(a).as_deref())
    };
    let sole_nat = nats.first().map(|n| n.to_string());

    let none = nats.is_empty() && routes(&|_| None);
    let per_az = nats.len() == azs.len() && routes(&|a| a.nat_gateway_id.clone());
    let single = nats.len() == 1 && routes(&|_| sole_nat.clone());

    match (none, single, per_az) {
        (true, _, _) => Some(NatMode::None),
        (_, true, true) if marker == Some(NatMode::Single) => Some(NatMode::Single),
        (_, _, true) => Some(NatMode::OnePerAz),
        (_, true, _) => Some(NatMode::Single),
        _ => None,
    }
}
