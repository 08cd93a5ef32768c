//! The labels and annotations that mark an object as the agent's.

use std::collections::BTreeMap;

use crate::spec::Tier;

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const NAME: &str = "app.kubernetes.io/name";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const TIER: &str = "strata.dev/tier";
pub const WORKLOAD: &str = "strata.dev/workload";
/// The commit the object was rendered from (on objects, not pod templates, so a commit
/// that changes nothing in a workload does not restart its pods).
pub const REVISION: &str = "strata.dev/revision";

/// The value of `app.kubernetes.io/managed-by` on everything the agent applies.
pub const AGENT: &str = "strata-agent";
/// The value of `app.kubernetes.io/part-of`: the platform the objects make up.
pub const PLATFORM: &str = "strata";

/// Labels a user may not set: the agent relies on them for ownership and selection.
pub fn is_reserved(key: &str) -> bool {
    [
        MANAGED_BY, PART_OF, NAME, INSTANCE, COMPONENT, TIER, WORKLOAD,
    ]
    .contains(&key)
}

/// The ownership labels of a workload's objects.
pub fn ownership(tier: Tier, workload: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.to_owned(), AGENT.to_owned()),
        (PART_OF.to_owned(), PLATFORM.to_owned()),
        (TIER.to_owned(), tier.as_str().to_owned()),
        (WORKLOAD.to_owned(), workload.to_owned()),
    ])
}

/// The labels that select one component's pods: `app.kubernetes.io/{name,instance,component}`.
pub fn selector(app: &str, instance: &str, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (NAME.to_owned(), app.to_owned()),
        (INSTANCE.to_owned(), instance.to_owned()),
        (COMPONENT.to_owned(), component.to_owned()),
    ])
}

/// The labels every pod of a workload carries, whatever its component.
pub fn workload_pods(workload: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.to_owned(), AGENT.to_owned()),
        (WORKLOAD.to_owned(), workload.to_owned()),
    ])
}

/// A valid label value: at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric at both ends.
pub fn valid_value(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= 63
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && value.as_bytes()[0].is_ascii_alphanumeric()
            && value.as_bytes()[value.len() - 1].is_ascii_alphanumeric())
}
