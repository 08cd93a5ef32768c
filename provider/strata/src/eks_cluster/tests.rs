//! Tests of the pure parts: validation, version arithmetic, update steps.

use std::collections::{BTreeMap, BTreeSet};

use super::spec::{tag_changes, validate};
use super::*;

fn v(s: &str) -> KubeVersion {
    s.parse().unwrap()
}

fn spec() -> ClusterSpec {
    ClusterSpec {
        name: "prod".into(),
        kubernetes_version: Some("1.30".into()),
        role_arn: None,
        subnet_ids: ["subnet-1".to_string(), "subnet-2".to_string()].into(),
        security_group_ids: BTreeSet::new(),
        endpoint_public_access: true,
        endpoint_private_access: true,
        public_access_cidrs: Some(["0.0.0.0/0".to_string()].into()),
        service_ipv4_cidr: None,
        enabled_log_types: BTreeSet::new(),
        encryption_kms_key_arn: None,
        tags: BTreeMap::new(),
    }
}

fn input() -> ClusterInput {
    ClusterInput {
        name: Some("prod".into()),
        kubernetes_version: Some("1.31".into()),
        role_arn: Some(None),
        subnet_ids: Some(vec![Some("subnet-1".into()), Some("subnet-2".into())]),
        endpoint_public_access: Some(true),
        endpoint_private_access: Some(true),
        ..Default::default()
    }
}

fn attributes(problems: &[SpecProblem]) -> Vec<&'static str> {
    problems.iter().map(|p| p.attribute).collect()
}

#[test]
fn versions_parse_and_order_numerically() {
    assert_eq!(
        v("1.31"),
        KubeVersion {
            major: 1,
            minor: 31
        }
    );
    assert!(v("1.9") < v("1.10"), "1.10 is newer than 1.9, not older");
    assert_eq!(v("1.31").to_string(), "1.31");
    for bad in ["1", "1.", ".31", "1.31.2", "v1.31", "1.x", ""] {
        assert!(bad.parse::<KubeVersion>().is_err(), "{bad:?} parsed");
    }
}

#[test]
fn upgrades_go_one_minor_version_up() {
    assert_eq!(check_upgrade(v("1.30"), v("1.31")), Ok(()));
    assert_eq!(check_upgrade(v("1.30"), v("1.30")), Ok(()));
    let skip = check_upgrade(v("1.29"), v("1.31")).unwrap_err();
    assert!(matches!(skip, VersionChangeError::Skip { next, .. } if next == v("1.30")));
    assert!(skip.to_string().contains("upgrade from 1.29 to 1.30 first"));
    let down = check_upgrade(v("1.31"), v("1.30")).unwrap_err();
    assert!(matches!(down, VersionChangeError::Downgrade { .. }));
    assert!(matches!(
        check_upgrade(v("1.31"), v("2.0")),
        Err(VersionChangeError::Skip { .. })
    ));
}

#[test]
fn no_change_means_no_steps() {
    assert_eq!(update_steps(&spec(), &spec()), vec![]);
}

#[test]
fn steps_come_one_at_a_time_version_first() {
    let old = spec();
    let mut new = spec();
    new.kubernetes_version = Some("1.31".into());
    new.enabled_log_types = ["api".to_string(), "audit".to_string()].into();
    new.endpoint_public_access = false;
    new.tags.insert("team".into(), "data".into());
    let steps = update_steps(&old, &new);
    assert_eq!(
        steps,
        vec![
            UpdateStep::Version { to: "1.31".into() },
            UpdateStep::Logging {
                enabled: ["api".to_string(), "audit".to_string()].into()
            },
            UpdateStep::EndpointAccess {
                public: false,
                private: true,
                public_access_cidrs: None,
            },
        ]
    );
}

#[test]
fn logging_off_is_a_step_too() {
    let mut old = spec();
    old.enabled_log_types = ["api".to_string()].into();
    let steps = update_steps(&old, &spec());
    assert_eq!(
        steps,
        vec![UpdateStep::Logging {
            enabled: BTreeSet::new()
        }]
    );
    assert!(steps[0].describe().contains("all off"));
}

#[test]
fn public_cidrs_are_sent_only_when_they_change() {
    let mut new = spec();
    new.public_access_cidrs = Some(["10.0.0.0/8".to_string()].into());
    assert_eq!(
        update_steps(&spec(), &new),
        vec![UpdateStep::EndpointAccess {
            public: true,
            private: true,
            public_access_cidrs: Some(["10.0.0.0/8".to_string()].into()),
        }]
    );
    // Unknown wanted CIDRs (EKS's default) are no reason for an update.
    let mut new = spec();
    new.public_access_cidrs = None;
    assert_eq!(update_steps(&spec(), &new), vec![]);
}

#[test]
fn replacement_attributes_make_no_steps() {
    let mut new = spec();
    new.subnet_ids = ["subnet-9".to_string()].into();
    new.service_ipv4_cidr = Some("10.100.0.0/16".into());
    assert_eq!(update_steps(&spec(), &new), vec![]);
}

#[test]
fn tag_changes_set_new_and_changed_and_remove_dropped() {
    let old: BTreeMap<String, String> = [("a", "1"), ("b", "2")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
    let new: BTreeMap<String, String> = [("b", "3"), ("c", "4")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
    let (set, remove) = tag_changes(&old, &new);
    assert_eq!(set, new);
    assert_eq!(remove, vec!["a".to_string()]);
}

#[test]
fn a_good_configuration_has_no_problems() {
    assert_eq!(validate(&input()), vec![]);
}

#[test]
fn unknown_log_types_are_named() {
    let mut i = input();
    i.enabled_log_types = vec!["api".into(), "kubelet".into()];
    let problems = validate(&i);
    assert_eq!(attributes(&problems), ["enabled_log_types"]);
    assert!(problems[0].message.contains("\"kubelet\""));
    assert!(problems[0].message.contains("\"controllerManager\""));
}

#[test]
fn subnets_must_be_given_and_not_blank() {
    let mut i = input();
    i.subnet_ids = Some(vec![]);
    assert_eq!(attributes(&validate(&i)), ["subnet_ids"]);
    i.subnet_ids = Some(vec![Some(" ".into())]);
    assert_eq!(attributes(&validate(&i)), ["subnet_ids"]);
    // Subnets of a VPC not created yet are unknown at plan time: they count.
    i.subnet_ids = Some(vec![None, None]);
    assert_eq!(validate(&i), vec![]);
    i.subnet_ids = None;
    assert_eq!(validate(&i), vec![]);
}

#[test]
fn names_follow_eks_rules_and_leave_room_for_the_role() {
    let mut i = input();
    i.name = Some("-prod".into());
    assert_eq!(attributes(&validate(&i)), ["name"]);
    i.name = Some("a".repeat(53));
    let problems = validate(&i);
    assert_eq!(attributes(&problems), ["name"]);
    assert!(problems[0].message.contains("role_arn"));
    // With a role of their own, long names are fine.
    i.role_arn = Some(Some("arn:aws:iam::123456789012:role/eks".into()));
    assert_eq!(validate(&i), vec![]);
    // An unknown role ARN will be given: no role is created.
    i.role_arn = None;
    assert_eq!(validate(&i), vec![]);
    i.name = Some("a".repeat(101));
    assert_eq!(attributes(&validate(&i)), ["name"]);
}

#[test]
fn other_inputs_are_checked_on_their_attribute() {
    let mut i = input();
    i.kubernetes_version = Some("latest".into());
    i.role_arn = Some(Some("arn:aws:iam::123:user/x".into()));
    i.endpoint_public_access = Some(false);
    i.endpoint_private_access = Some(false);
    i.public_access_cidrs = vec!["10.0.0.1/8".into()];
    i.service_ipv4_cidr = Some("8.8.0.0/16".into());
    i.encryption_kms_key_arn = Some("alias/eks".into());
    assert_eq!(
        attributes(&validate(&i)),
        [
            "kubernetes_version",
            "role_arn",
            "endpoint_private_access",
            "public_access_cidrs",
            "service_ipv4_cidr",
            "encryption_kms_key_arn",
        ]
    );
}

#[test]
fn service_cidr_must_fit_eks_rules() {
    let mut i = input();
    for ok in [
        "10.100.0.0/16",
        "172.20.0.0/16",
        "192.168.0.0/24",
        "172.16.0.0/12",
    ] {
        i.service_ipv4_cidr = Some(ok.into());
        assert_eq!(validate(&i), vec![], "{ok}");
    }
    for bad in ["10.0.0.0/8", "10.0.0.0/25", "172.32.0.0/16"] {
        i.service_ipv4_cidr = Some(bad.into());
        assert_eq!(attributes(&validate(&i)), ["service_ipv4_cidr"], "{bad}");
    }
}

#[test]
fn role_names_add_the_suffix() {
    assert_eq!(role_name_for("prod"), "prod-eks-cluster");
}
