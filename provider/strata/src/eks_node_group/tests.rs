//! Unit tests of the pure rules: validation paths, scaling, label/taint diffs, what an
//! update sends, the planned desired size, role names and import IDs.

use std::collections::{BTreeMap, BTreeSet};

use super::spec::*;
use super::{HealthIssue, NodeGroupError};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn taint(key: &str, value: Option<&str>, effect: TaintEffect) -> Taint {
    Taint {
        key: key.into(),
        value: value.map(str::to_owned),
        effect,
    }
}

fn spec() -> NodeGroupSpec {
    NodeGroupSpec {
        cluster_name: "west".into(),
        name: "workers".into(),
        subnet_ids: BTreeSet::from(["subnet-1".to_string()]),
        instance_types: Some(vec!["t3.xlarge".into()]),
        capacity_type: CapacityType::OnDemand,
        ami_type: None,
        disk_size: None,
        scaling: Scaling {
            min: 2,
            max: 10,
            desired: 3,
        },
        ignore_desired_size_changes: false,
        labels: map(&[("tier", "data")]),
        taints: vec![taint("dedicated", Some("redis"), TaintEffect::NoSchedule)],
        max_unavailable: 1,
        kubernetes_version: Some("1.29".into()),
        release_version: Some("1.29.0-20240129".into()),
        node_role_arn: None,
        tags: BTreeMap::new(),
    }
}

fn paths(problems: &[SpecProblem]) -> Vec<Vec<PathStep>> {
    problems.iter().map(|p| p.path.clone()).collect()
}

fn at(name: &'static str) -> Vec<PathStep> {
    vec![PathStep::Attribute(name)]
}

// -- scaling -----------------------------------------------------------------------

#[test]
fn scaling_within_bounds_is_fine() {
    assert!(check_scaling(Some(2), Some(10), Some(3)).is_empty());
    assert!(check_scaling(Some(0), Some(1), Some(0)).is_empty());
    assert!(check_scaling(Some(3), Some(3), Some(3)).is_empty());
}

#[test]
fn min_above_max_is_reported_on_min_size() {
    let problems = check_scaling(Some(5), Some(2), Some(3));
    assert_eq!(paths(&problems), [at("min_size")]);
    assert!(problems[0].message.contains("min_size (5)"));
    assert!(problems[0].message.contains("max_size (2)"));
}

#[test]
fn desired_outside_the_bounds_is_reported_on_desired_size() {
    let below = check_scaling(Some(2), Some(10), Some(1));
    assert_eq!(paths(&below), [at("desired_size")]);
    assert!(below[0].message.contains("below min_size (2)"));
    let above = check_scaling(Some(2), Some(10), Some(11));
    assert_eq!(paths(&above), [at("desired_size")]);
    assert!(above[0].message.contains("above max_size (10)"));
}

#[test]
fn unknown_scaling_values_are_not_judged() {
    assert!(check_scaling(None, Some(5), Some(3)).is_empty());
    assert!(check_scaling(Some(2), None, Some(9)).is_empty());
    // What is known is still judged: desired below a known min.
    assert_eq!(check_scaling(Some(2), None, Some(1)).len(), 1);
    assert!(check_scaling(None, None, None).is_empty());
}

#[test]
fn negative_and_oversized_counts_are_refused() {
    let problems = check_scaling(Some(-1), Some(0), Some(1 << 40));
    assert_eq!(
        paths(&problems),
        [at("min_size"), at("max_size"), at("desired_size")]
    );
}

// -- whole-input validation ----------------------------------------------------------

#[test]
fn empty_subnet_list_is_reported_on_subnet_ids() {
    let input = NodeGroupInput {
        subnet_ids: Some(vec![]),
        ..Default::default()
    };
    let problems = validate(&input);
    assert_eq!(paths(&problems), [at("subnet_ids")]);
    // Unknown subnets (another resource's output) are not empty.
    assert!(validate(&NodeGroupInput::default()).is_empty());
}

#[test]
fn names_follow_eks_rules() {
    let input = NodeGroupInput {
        cluster_name: Some("west".into()),
        name: Some("-bad name".into()),
        ..Default::default()
    };
    assert_eq!(paths(&validate(&input)), [at("name")]);
    let input = NodeGroupInput {
        name: Some("x".repeat(64)),
        ..Default::default()
    };
    assert_eq!(paths(&validate(&input)), [at("name")]);
}

#[test]
fn repeated_taints_point_at_the_second_block() {
    let t = |key: &str, effect: &str| TaintInput {
        key: Some(key.into()),
        effect: Some(effect.into()),
        value: None,
    };
    let input = NodeGroupInput {
        taints: Some(vec![
            t("a", "NO_SCHEDULE"),
            t("a", "NO_EXECUTE"),
            t("a", "NO_SCHEDULE"),
            t("", "NO_SCHEDULE"),
        ]),
        ..Default::default()
    };
    let problems = validate(&input);
    assert_eq!(
        paths(&problems),
        [
            vec![PathStep::Attribute("taint"), PathStep::Index(2)],
            vec![
                PathStep::Attribute("taint"),
                PathStep::Index(3),
                PathStep::Attribute("key")
            ],
        ]
    );
    assert!(problems[0].message.contains("repeats taint[0]"));
}

#[test]
fn aws_tags_are_refused() {
    let input = NodeGroupInput {
        tags: map(&[("aws:cloudformation:stack-name", "x"), ("team", "data")]),
        ..Default::default()
    };
    assert_eq!(
        paths(&validate(&input)),
        [vec![
            PathStep::Attribute("tags"),
            PathStep::Key("aws:cloudformation:stack-name".into())
        ]]
    );
}

#[test]
fn taint_effects_parse_from_their_eks_spelling() {
    for effect in TaintEffect::ALL {
        assert_eq!(effect.as_str().parse::<TaintEffect>().unwrap(), effect);
    }
    assert!("NoSchedule".parse::<TaintEffect>().is_err());
}

// -- diffs ---------------------------------------------------------------------------

#[test]
fn label_changes_add_update_and_remove() {
    let old = map(&[("keep", "1"), ("change", "a"), ("drop", "x")]);
    let new = map(&[("keep", "1"), ("change", "b"), ("add", "y")]);
    let c = label_changes(&old, &new);
    assert_eq!(c.add_or_update, map(&[("change", "b"), ("add", "y")]));
    assert_eq!(c.remove, ["drop"]);
    assert!(label_changes(&old, &old).is_empty());
}

#[test]
fn taints_are_identified_by_key_and_effect() {
    use TaintEffect::*;
    let old = vec![
        taint("a", Some("1"), NoSchedule),
        taint("b", None, NoExecute),
        taint("c", None, NoSchedule),
    ];
    let new = vec![
        taint("a", Some("2"), NoSchedule),  // value changed: update
        taint("b", None, PreferNoSchedule), // effect changed: remove + add
        taint("c", None, NoSchedule),       // unchanged
        taint("d", Some("x"), NoExecute),   // new
    ];
    let c = taint_changes(&old, &new);
    assert_eq!(
        c.add_or_update,
        [
            taint("a", Some("2"), NoSchedule),
            taint("b", None, PreferNoSchedule),
            taint("d", Some("x"), NoExecute)
        ]
    );
    assert_eq!(c.remove, [taint("b", None, NoExecute)]);
    assert!(taint_changes(&new, &new).is_empty());
}

#[test]
fn live_taints_keep_the_configured_order() {
    use TaintEffect::*;
    let prior = vec![taint("z", None, NoSchedule), taint("a", None, NoExecute)];
    let live = vec![
        taint("new", None, NoSchedule),
        taint("a", None, NoExecute),
        taint("z", Some("changed"), NoSchedule),
    ];
    assert_eq!(
        order_taints_like(&prior, live),
        [
            taint("z", Some("changed"), NoSchedule),
            taint("a", None, NoExecute),
            taint("new", None, NoSchedule)
        ]
    );
}

#[test]
fn an_empty_taint_value_is_no_drift() {
    let prior = vec![taint("a", Some(""), TaintEffect::NoSchedule)];
    let live = vec![taint("a", None, TaintEffect::NoSchedule)];
    assert_eq!(order_taints_like(&prior, live), prior);
}

// -- updates -------------------------------------------------------------------------

#[test]
fn an_unchanged_group_needs_no_update() {
    assert_eq!(config_update(&spec(), &spec()), None);
    assert_eq!(version_update(&spec(), &spec()), None);
}

#[test]
fn scaling_and_labels_go_in_one_config_update() {
    let mut new = spec();
    new.scaling = Scaling {
        min: 3,
        max: 12,
        desired: 4,
    };
    new.labels.insert("zone".into(), "a".into());
    let u = config_update(&spec(), &new).unwrap();
    assert_eq!(
        u.scaling,
        Some(ScalingUpdate {
            min: 3,
            max: 12,
            desired: Some(4)
        })
    );
    assert_eq!(u.labels.unwrap().add_or_update, map(&[("zone", "a")]));
    assert_eq!(u.taints, None);
    assert_eq!(u.max_unavailable, None);
}

#[test]
fn an_autoscaler_owned_desired_size_is_not_sent_with_new_bounds() {
    let mut old = spec();
    old.ignore_desired_size_changes = true;
    let mut new = old.clone();
    new.scaling.max = 20;
    let u = config_update(&old, &new).unwrap();
    assert_eq!(
        u.scaling,
        Some(ScalingUpdate {
            min: 2,
            max: 20,
            desired: None
        })
    );
    // …unless the plan moved it because the bounds no longer hold it.
    new.scaling.min = 5;
    new.scaling.desired = 5;
    assert_eq!(
        config_update(&old, &new).unwrap().scaling.unwrap().desired,
        Some(5)
    );
}

#[test]
fn version_updates_send_only_what_changed() {
    let mut new = spec();
    new.kubernetes_version = Some("1.30".into());
    new.release_version = None; // left to EKS: the latest AMI for 1.30
    assert_eq!(
        version_update(&spec(), &new),
        Some(VersionUpdate {
            kubernetes_version: Some("1.30".into()),
            release_version: None
        })
    );
    let mut new = spec();
    new.release_version = Some("1.29.3-20240531".into());
    assert_eq!(
        version_update(&spec(), &new),
        Some(VersionUpdate {
            kubernetes_version: None,
            release_version: Some("1.29.3-20240531".into())
        })
    );
}

// -- planning ------------------------------------------------------------------------

#[test]
fn planned_desired_size_follows_the_cluster_when_asked() {
    // Terraform owns it: the configured value, whatever the live one.
    assert_eq!(planned_desired_size(false, Some(7), 3, 2, 10), 3);
    // The cluster owns it: the live value stays…
    assert_eq!(planned_desired_size(true, Some(7), 3, 2, 10), 7);
    // …unless the new bounds exclude it, and always the configured one at create.
    assert_eq!(planned_desired_size(true, Some(7), 3, 2, 5), 3);
    assert_eq!(planned_desired_size(true, None, 3, 2, 10), 3);
}

// -- names and IDs -------------------------------------------------------------------

#[test]
fn node_role_names_fit_iam() {
    assert_eq!(
        node_role_name("knowledgebeast-west", "standard-workers"),
        "knowledgebeast-west-standard-workers-node"
    );
    let long = node_role_name(&"c".repeat(100), &"n".repeat(63));
    assert_eq!(long.len(), 64);
    assert_eq!(long, node_role_name(&"c".repeat(100), &"n".repeat(63)));
    assert_ne!(long, node_role_name(&"c".repeat(100), &"m".repeat(63)));
}

#[test]
fn import_ids() {
    assert_eq!(
        parse_import_id("west:workers"),
        Some((None, "west", "workers"))
    );
    assert_eq!(
        parse_import_id("us-east-1/east:workers"),
        Some((Some("us-east-1"), "east", "workers"))
    );
    assert_eq!(parse_import_id("workers"), None);
    assert_eq!(parse_import_id("west:"), None);
    assert_eq!(parse_import_id("/west:workers"), None);
    assert_eq!(parse_import_id("a:b:c"), None);
}

// -- errors --------------------------------------------------------------------------

#[test]
fn a_failed_create_names_the_health_issues() {
    let e = NodeGroupError::Failed {
        object: "node group west:workers".into(),
        status: "CREATE_FAILED".into(),
        issues: vec![HealthIssue {
            code: "AsgInstanceLaunchFailures".into(),
            message: "Could not launch On-Demand Instances. InsufficientInstanceCapacity".into(),
            resource_ids: vec!["eks-workers-1234".into()],
        }],
    };
    assert_eq!(
        e.to_string(),
        "node group west:workers is CREATE_FAILED: AsgInstanceLaunchFailures: Could not launch On-Demand Instances. InsufficientInstanceCapacity (eks-workers-1234)"
    );
}
