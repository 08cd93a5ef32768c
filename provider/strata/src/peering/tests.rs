//! Unit tests of the peering engine's pure rules.

use std::collections::BTreeSet;

use super::rules::*;
use super::{PeeringError, Side};

fn net(s: &str) -> ipnet::Ipv4Net {
    s.parse().unwrap()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn disjoint_blocks_do_not_overlap() {
    assert!(!overlaps(net("10.0.0.0/16"), net("10.1.0.0/16")));
    assert!(!overlaps(net("10.0.0.0/24"), net("10.0.1.0/24")));
    assert!(!overlaps(net("192.168.0.0/16"), net("10.0.0.0/8")));
}

#[test]
fn equal_and_nested_blocks_overlap_either_way_round() {
    assert!(overlaps(net("10.0.0.0/16"), net("10.0.0.0/16")));
    assert!(overlaps(net("10.0.0.0/8"), net("10.1.0.0/16")));
    assert!(overlaps(net("10.1.0.0/16"), net("10.0.0.0/8")));
    // The last address of the larger block.
    assert!(overlaps(net("10.0.0.0/16"), net("10.0.255.0/24")));
}

#[test]
fn overlap_blames_the_configured_cidr_or_else_the_vpc() {
    assert_eq!(overlap_attribute(true), "accepter_cidr_block");
    assert_eq!(overlap_attribute(false), "accepter_vpc_id");
    let e = PeeringError::Overlap {
        requester: net("10.0.0.0/16"),
        accepter: net("10.0.0.0/16"),
    };
    assert_eq!(e.attribute(false), Some("accepter_vpc_id"));
    let text = e.to_string();
    assert!(
        text.contains("10.0.0.0/16") && text.contains("overlap"),
        "{text}"
    );
}

#[test]
fn route_changes_touch_only_added_and_removed_tables() {
    let changes = route_changes(&set(&["rtb-a", "rtb-b"]), &set(&["rtb-b", "rtb-c"]));
    assert_eq!(changes.add, set(&["rtb-c"]));
    assert_eq!(changes.remove, set(&["rtb-a"]));
    assert!(route_changes(&set(&["rtb-a"]), &set(&["rtb-a"])).is_empty());
    let from_nothing = route_changes(&set(&[]), &set(&["rtb-a", "rtb-b"]));
    assert_eq!(from_nothing.add, set(&["rtb-a", "rtb-b"]));
    assert!(from_nothing.remove.is_empty());
}

#[test]
fn a_route_removed_out_of_band_drops_its_table_from_state() {
    let kept = refreshed_route_tables(Some(&set(&["rtb-a", "rtb-b"])), &set(&["rtb-b", "rtb-x"]));
    // rtb-a lost its route (the plan adds it back); rtb-x is not ours to manage.
    assert_eq!(kept, set(&["rtb-b"]));
    // Then the plan's change adds exactly the lost route.
    assert_eq!(
        route_changes(&kept, &set(&["rtb-a", "rtb-b"])).add,
        set(&["rtb-a"])
    );
}

#[test]
fn import_recovers_every_routed_table() {
    assert_eq!(
        refreshed_route_tables(None, &set(&["rtb-1", "rtb-2"])),
        set(&["rtb-1", "rtb-2"])
    );
}

#[test]
fn gone_states_null_the_state_and_others_do_not() {
    for s in ["deleted", "rejected", "expired", "failed", "deleting"] {
        assert!(is_gone(s), "{s}");
    }
    for s in [
        "initiating-request",
        "pending-acceptance",
        "provisioning",
        "active",
    ] {
        assert!(!is_gone(s), "{s}");
    }
}

#[test]
fn dns_option_of_both_sides_reads_as_one_value() {
    assert!(dns_resolution(Some(true), Some(true), false));
    assert!(!dns_resolution(Some(false), Some(false), true));
    // Sides that disagree always show a change against the prior value.
    assert!(!dns_resolution(Some(true), Some(false), true));
    assert!(dns_resolution(Some(false), Some(true), false));
    // The other account's side, which cannot be seen, does not count.
    assert!(dns_resolution(Some(true), None, false));
}

#[test]
fn import_ids() {
    assert_eq!(
        parse_import_id("pcx-0123abcd").unwrap(),
        ImportId {
            region: None,
            connection_id: "pcx-0123abcd".into()
        }
    );
    assert_eq!(
        parse_import_id("us-east-1/pcx-0123abcd").unwrap(),
        ImportId {
            region: Some("us-east-1".into()),
            connection_id: "pcx-0123abcd".into()
        }
    );
    assert!(parse_import_id("vpc-0123").unwrap_err().contains("pcx-"));
    assert!(parse_import_id("pcx-").is_err());
    assert!(
        parse_import_id("US East/pcx-1")
            .unwrap_err()
            .contains("region")
    );
}

#[test]
fn errors_name_the_attribute_at_fault() {
    let mismatch = PeeringError::CidrMismatch {
        side: Side::Requester,
        vpc_id: "vpc-1".into(),
        configured: net("10.0.0.0/16"),
        actual: net("10.9.0.0/16"),
    };
    assert_eq!(mismatch.attribute(true), Some("requester_cidr_block"));
    let missing = PeeringError::VpcNotFound {
        side: Side::Accepter,
        vpc_id: "vpc-2".into(),
        region: "us-east-1".into(),
    };
    assert_eq!(missing.attribute(false), Some("accepter_vpc_id"));
    assert_eq!(
        missing.to_string(),
        "accepter vpc vpc-2 does not exist in us-east-1"
    );
}
