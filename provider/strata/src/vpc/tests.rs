//! Unit tests of the pure parts: carving, validation, tags, NAT layout.

use std::collections::BTreeMap;

use super::layout::{desired_route_target, nat_placement};
use super::tags::{self, Object};
use super::*;

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn input(azs: &[&str]) -> NetworkInput {
    NetworkInput {
        name: Some("west".into()),
        cidr_block: Some("10.0.0.0/16".into()),
        availability_zones: Some(azs.iter().map(|s| s.to_string()).collect()),
        ..NetworkInput::default()
    }
}

fn paths(problems: &[SpecProblem]) -> Vec<String> {
    problems
        .iter()
        .map(|p| p.to_string().split(':').next().unwrap().to_owned())
        .collect()
}

// ---- carving -------------------------------------------------------------------------

#[test]
fn carve_splits_a_16_into_20s_by_az_letter() {
    let a = carve(net("10.0.0.0/16"), "us-west-2a").unwrap();
    assert_eq!(a.private_cidr, net("10.0.0.0/20"));
    assert_eq!(a.public_cidr, net("10.0.128.0/20"));
    let c = carve(net("10.1.0.0/16"), "us-east-1c").unwrap();
    assert_eq!(c.private_cidr, net("10.1.32.0/20"));
    assert_eq!(c.public_cidr, net("10.1.160.0/20"));
    let h = carve(net("10.0.0.0/16"), "us-east-1h").unwrap();
    assert_eq!(h.private_cidr, net("10.0.112.0/20"));
    assert_eq!(h.public_cidr, net("10.0.240.0/20"));
}

#[test]
fn carve_works_down_to_a_24() {
    let b = carve(net("192.168.4.0/24"), "eu-west-1b").unwrap();
    assert_eq!(b.private_cidr, net("192.168.4.16/28"));
    assert_eq!(b.public_cidr, net("192.168.4.144/28"));
}

#[test]
fn carve_rejects_late_letters_and_small_blocks() {
    assert_eq!(
        carve(net("10.0.0.0/16"), "us-east-1i"),
        Err(SpecError::AzLetterOutOfRange {
            az: "us-east-1i".into()
        })
    );
    assert!(matches!(
        carve(net("10.0.0.0/25"), "us-east-1a"),
        Err(SpecError::PrefixTooLong { .. })
    ));
}

#[test]
fn subnets_do_not_depend_on_list_position() {
    let region = "us-west-2";
    let none = BTreeMap::new();
    let two = build(&input(&["us-west-2b", "us-west-2a"]), region, &none).unwrap();
    let three = build(
        &input(&["us-west-2c", "us-west-2a", "us-west-2b"]),
        region,
        &none,
    )
    .unwrap();
    for az in ["us-west-2a", "us-west-2b"] {
        assert_eq!(
            two.azs[az], three.azs[az],
            "{az} moved when another AZ was added"
        );
    }
}

// ---- validation ----------------------------------------------------------------------

#[test]
fn valid_input_builds_with_defaults_and_merged_tags() {
    let mut i = input(&["us-west-2a", "us-west-2b", "us-west-2c"]);
    i.tags = BTreeMap::from([("team".into(), "data".into())]);
    i.private_subnet_cidrs = BTreeMap::from([("us-west-2a".into(), "10.0.64.0/19".into())]);
    let defaults = BTreeMap::from([
        ("team".into(), "platform".into()),
        ("env".into(), "prod".into()),
    ]);
    let spec = build(&i, "us-west-2", &defaults).unwrap();
    assert_eq!(spec.nat_mode, NatMode::OnePerAz);
    assert!(spec.enable_dns_support && spec.enable_dns_hostnames);
    assert_eq!(
        spec.tags["team"], "data",
        "resource tags win over default tags"
    );
    assert_eq!(spec.tags["env"], "prod");
    assert_eq!(spec.azs["us-west-2a"].private_cidr, net("10.0.64.0/19"));
    assert_eq!(
        spec.azs["us-west-2a"].public_cidr,
        net("10.0.128.0/20"),
        "carved"
    );
    assert_eq!(spec.azs.len(), 3);
}

#[test]
fn malformed_and_out_of_range_cidr_blocks_name_cidr_block() {
    for (raw, fragment) in [
        ("10.0.0.0/33", "not a valid IPv4 CIDR"),
        ("banana", "not a valid IPv4 CIDR"),
        ("10.0.0.1/16", "did you mean `10.0.0.0/16`"),
        ("10.0.0.0/8", "from /16 to /28"),
        ("10.0.0.0/29", "from /16 to /28"),
    ] {
        let mut i = input(&["us-west-2a"]);
        i.cidr_block = Some(raw.into());
        let problems = validate(&i, Some("us-west-2"));
        assert_eq!(paths(&problems), ["cidr_block"], "{raw}: {problems:?}");
        assert!(
            problems[0].message.contains(fragment),
            "{raw}: {}",
            problems[0].message
        );
    }
}

#[test]
fn subnet_outside_the_vpc_names_the_map_key() {
    let mut i = input(&["us-west-2a"]);
    i.public_subnet_cidrs = BTreeMap::from([("us-west-2a".into(), "10.1.0.0/20".into())]);
    let problems = validate(&i, Some("us-west-2"));
    assert_eq!(paths(&problems), [r#"public_subnet_cidrs["us-west-2a"]"#]);
    assert!(
        problems[0]
            .message
            .contains("not inside the VPC CIDR block `10.0.0.0/16`")
    );
}

#[test]
fn overlapping_subnets_are_reported_once_with_both_sides() {
    let mut i = input(&["us-west-2a", "us-west-2b"]);
    i.private_subnet_cidrs = BTreeMap::from([
        ("us-west-2a".into(), "10.0.0.0/19".into()),
        ("us-west-2b".into(), "10.0.16.0/20".into()),
    ]);
    let problems = validate(&i, Some("us-west-2"));
    assert_eq!(
        paths(&problems),
        [r#"private_subnet_cidrs["us-west-2b"]"#],
        "{problems:?}"
    );
    assert!(problems[0].message.contains("overlaps `10.0.0.0/19`"));
}

#[test]
fn explicit_subnet_overlapping_a_carved_one_is_reported() {
    let mut i = input(&["us-west-2a", "us-west-2b"]);
    // us-west-2b's carved public subnet is 10.0.144.0/20.
    i.public_subnet_cidrs = BTreeMap::from([("us-west-2a".into(), "10.0.144.0/24".into())]);
    let problems = validate(&i, Some("us-west-2"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].message.contains("carved automatically"),
        "{}",
        problems[0]
    );
}

#[test]
fn az_outside_the_region_names_its_index() {
    let problems = validate(&input(&["us-west-2a", "us-east-1b"]), Some("us-west-2"));
    assert_eq!(paths(&problems), ["availability_zones[1]"]);
    assert!(
        problems[0]
            .message
            .contains("not an availability zone of region `us-west-2`")
    );
    // Local zones are accepted; bare region names and other shapes are not.
    assert!(az_ok("us-west-2-lax-1a"));
    assert!(!az_ok("us-west-2"));
    assert!(!az_ok("us-west-2ab"));
    assert!(!az_ok("us-west-21a"));
    // Without a known region only emptiness is checked.
    assert!(validate(&input(&["eu-west-1a"]), None).is_empty());
}

fn az_ok(az: &str) -> bool {
    let mut i = input(&[az]);
    // Explicit CIDRs so carving (which local zones may not support) is not involved.
    i.public_subnet_cidrs = BTreeMap::from([(az.into(), "10.0.0.0/24".into())]);
    i.private_subnet_cidrs = BTreeMap::from([(az.into(), "10.0.1.0/24".into())]);
    validate(&i, Some("us-west-2")).is_empty()
}

#[test]
fn duplicate_and_empty_az_lists_are_rejected() {
    let problems = validate(&input(&["us-west-2a", "us-west-2a"]), Some("us-west-2"));
    assert_eq!(paths(&problems), ["availability_zones[1]"]);
    assert!(problems[0].message.contains("more than once"));
    let problems = validate(&input(&[]), Some("us-west-2"));
    assert_eq!(paths(&problems), ["availability_zones"]);
}

#[test]
fn subnet_for_an_unlisted_az_is_rejected() {
    let mut i = input(&["us-west-2a"]);
    i.private_subnet_cidrs = BTreeMap::from([("us-west-2b".into(), "10.0.16.0/20".into())]);
    let problems = validate(&i, Some("us-west-2"));
    assert_eq!(paths(&problems), [r#"private_subnet_cidrs["us-west-2b"]"#]);
}

#[test]
fn az_letters_beyond_h_need_explicit_subnets() {
    let problems = validate(&input(&["us-east-1i"]), Some("us-east-1"));
    assert_eq!(paths(&problems), ["availability_zones[0]"]);
    let mut i = input(&["us-east-1i"]);
    i.public_subnet_cidrs = BTreeMap::from([("us-east-1i".into(), "10.0.0.0/24".into())]);
    i.private_subnet_cidrs = BTreeMap::from([("us-east-1i".into(), "10.0.1.0/24".into())]);
    assert!(validate(&i, Some("us-east-1")).is_empty());
}

#[test]
fn small_vpc_blocks_cannot_be_carved() {
    let mut i = input(&["us-west-2a", "us-west-2b"]);
    i.cidr_block = Some("10.0.0.0/26".into());
    let problems = validate(&i, Some("us-west-2"));
    assert_eq!(
        paths(&problems),
        ["cidr_block"],
        "one problem, not one per AZ"
    );
}

#[test]
fn unknown_nat_mode_lists_the_valid_ones() {
    let mut i = input(&["us-west-2a"]);
    i.nat_mode = Some("per_az".into());
    let problems = validate(&i, Some("us-west-2"));
    assert_eq!(paths(&problems), ["nat_mode"]);
    assert_eq!(
        problems[0].message,
        "unknown nat mode `per_az`: expected one of `none`, `single`, `one_per_az`"
    );
    for mode in NatMode::ALL {
        assert_eq!(mode.as_str().parse::<NatMode>(), Ok(mode));
    }
}

#[test]
fn unknown_values_skip_the_checks_that_need_them() {
    let i = NetworkInput {
        public_subnet_cidrs: BTreeMap::from([("us-west-2a".into(), "10.9.0.0/20".into())]),
        ..NetworkInput::default()
    };
    assert!(validate(&i, Some("us-west-2")).is_empty());
    // ...but build needs them.
    let problems = build(&i, "us-west-2", &BTreeMap::new()).unwrap_err();
    assert_eq!(
        paths(&problems),
        ["name", "cidr_block", "availability_zones"]
    );
}

#[test]
fn dns_hostnames_need_dns_support() {
    let mut i = input(&["us-west-2a"]);
    i.enable_dns_support = Some(false);
    let problems = validate(&i, Some("us-west-2"));
    assert_eq!(paths(&problems), ["enable_dns_hostnames"]);
    i.enable_dns_hostnames = Some(false);
    assert!(validate(&i, Some("us-west-2")).is_empty());
}

#[test]
fn reserved_tag_keys_are_rejected() {
    let mut i = input(&["us-west-2a"]);
    i.tags = BTreeMap::from([
        ("Name".into(), "x".into()),
        ("kubernetes.io/cluster/west".into(), "shared".into()),
        ("strata.dev/tier".into(), "public".into()),
        ("aws:cloudformation:stack-name".into(), "x".into()),
        ("owner".into(), "me".into()),
    ]);
    let problems = validate(&i, Some("us-west-2"));
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(
        problems
            .iter()
            .all(|p| p.path[0] == PathStep::Attribute("tags"))
    );
}

#[test]
fn problem_paths_render_like_terraform() {
    let p = SpecProblem {
        path: vec![
            PathStep::Attribute("private_subnet_cidrs"),
            PathStep::Key("us-west-2a".into()),
        ],
        message: "m".into(),
    };
    assert_eq!(p.to_string(), r#"private_subnet_cidrs["us-west-2a"]: m"#);
}

// ---- tags ----------------------------------------------------------------------------

fn spec(azs: &[&str], mode: NatMode) -> NetworkSpec {
    let mut i = input(azs);
    i.nat_mode = Some(mode.as_str().into());
    i.tags = BTreeMap::from([("team".into(), "data".into())]);
    build(&i, "us-west-2", &BTreeMap::new()).unwrap()
}

#[test]
fn objects_get_names_markers_and_user_tags() {
    let s = spec(&["us-west-2a"], NatMode::OnePerAz);
    let public = tags::desired(&s, Object::PublicSubnet("us-west-2a"));
    assert_eq!(public["Name"], "west-public-us-west-2a");
    assert_eq!(public["strata.dev/tier"], "public");
    assert_eq!(public["kubernetes.io/role/elb"], "1");
    assert_eq!(public["team"], "data");
    let private = tags::desired(&s, Object::PrivateSubnet("us-west-2a"));
    assert_eq!(private["kubernetes.io/role/internal-elb"], "1");
    assert!(!private.contains_key("kubernetes.io/role/elb"));

    let names: Vec<String> = [
        Object::Vpc,
        Object::InternetGateway,
        Object::PublicRouteTable,
        Object::PrivateRouteTable("us-west-2a"),
        Object::NatGateway("us-west-2a"),
        Object::NatEip {
            az: "us-west-2a",
            vpc_id: "vpc-1",
        },
    ]
    .iter()
    .map(|o| tags::desired(&s, *o)["Name"].clone())
    .collect();
    assert_eq!(
        names,
        [
            "west",
            "west-igw",
            "west-public",
            "west-private-us-west-2a",
            "west-nat-us-west-2a",
            "west-nat-us-west-2a"
        ]
    );
    let vpc = tags::desired(&s, Object::Vpc);
    assert_eq!(vpc["strata.dev/nat-mode"], "one_per_az");
    let eip = tags::desired(
        &s,
        Object::NatEip {
            az: "us-west-2a",
            vpc_id: "vpc-1",
        },
    );
    assert_eq!(eip["strata.dev/vpc-id"], "vpc-1");
}

#[test]
fn user_view_hides_structural_and_foreign_tags() {
    let read_back = [
        ("Name", "west"),
        ("strata.dev/role", "vpc"),
        ("kubernetes.io/role/elb", "1"),
        ("kubernetes.io/cluster/west-eks", "shared"),
        ("aws:cloudformation:stack-id", "x"),
        ("team", "data"),
    ];
    assert_eq!(
        tags::user_view(read_back),
        BTreeMap::from([("team".to_owned(), "data".to_owned())])
    );
}

// ---- NAT layout ----------------------------------------------------------------------

fn az_state(nat: Option<&str>, route: Option<&str>) -> AzState {
    AzState {
        public_subnet_id: Some("subnet-p".into()),
        private_subnet_id: Some("subnet-q".into()),
        nat_gateway_id: nat.map(Into::into),
        private_route_target: route.map(Into::into),
        ..AzState::default()
    }
}

fn state(azs: &[(&str, Option<&str>, Option<&str>)]) -> NetworkState {
    NetworkState {
        azs: azs
            .iter()
            .map(|(az, nat, route)| (az.to_string(), az_state(*nat, *route)))
            .collect(),
        ..NetworkState::default()
    }
}

#[test]
fn infers_each_mode() {
    let per_az = state(&[
        ("a", Some("nat-a"), Some("nat-a")),
        ("b", Some("nat-b"), Some("nat-b")),
    ]);
    assert_eq!(infer_nat_mode(&per_az, None), Some(NatMode::OnePerAz));
    let single = state(&[
        ("a", None, Some("nat-b")),
        ("b", Some("nat-b"), Some("nat-b")),
    ]);
    assert_eq!(infer_nat_mode(&single, None), Some(NatMode::Single));
    let none = state(&[("a", None, None), ("b", None, None)]);
    assert_eq!(
        infer_nat_mode(&none, Some(NatMode::OnePerAz)),
        Some(NatMode::None)
    );
}

#[test]
fn one_az_uses_the_marker_to_tell_single_from_per_az() {
    let one = state(&[("a", Some("nat-a"), Some("nat-a"))]);
    assert_eq!(
        infer_nat_mode(&one, Some(NatMode::Single)),
        Some(NatMode::Single)
    );
    assert_eq!(infer_nat_mode(&one, None), Some(NatMode::OnePerAz));
}

#[test]
fn broken_layouts_infer_no_mode() {
    // One of two per-AZ NAT gateways deleted out of band.
    let lost_nat = state(&[
        ("a", Some("nat-a"), Some("nat-a")),
        ("b", None, Some("nat-b")),
    ]);
    assert_eq!(infer_nat_mode(&lost_nat, Some(NatMode::OnePerAz)), None);
    // A default route removed by hand.
    let lost_route = state(&[
        ("a", Some("nat-a"), Some("nat-a")),
        ("b", Some("nat-b"), None),
    ]);
    assert_eq!(infer_nat_mode(&lost_route, Some(NatMode::OnePerAz)), None);
}

#[test]
fn single_nat_stays_put_when_an_earlier_az_is_added() {
    let s = spec(&["us-west-2a", "us-west-2b", "us-west-2c"], NatMode::Single);
    let mut live = NetworkState::default();
    assert_eq!(
        nat_placement(&s, &live).into_iter().collect::<Vec<_>>(),
        ["us-west-2a"],
        "new networks put it in the first AZ"
    );
    live.azs
        .insert("us-west-2b".into(), az_state(Some("nat-b"), Some("nat-b")));
    live.azs
        .insert("us-west-2c".into(), az_state(None, Some("nat-b")));
    assert_eq!(
        nat_placement(&s, &live).into_iter().collect::<Vec<_>>(),
        ["us-west-2b"],
        "an existing one is kept"
    );
    assert_eq!(desired_route_target(&s, &live, "us-west-2a"), Some("nat-b"));
    assert_eq!(desired_route_target(&s, &live, "us-west-2c"), Some("nat-b"));
    let none = spec(&["us-west-2a"], NatMode::None);
    assert!(nat_placement(&none, &live).is_empty());
    assert_eq!(desired_route_target(&none, &live, "us-west-2b"), None);
}
