//! Leader election between two replicas over one Lease.

mod common;

use std::time::Duration;

use common::Env;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use strata_agent_cluster::lease::{Elector, LeaseConfig};

const DURATION: Duration = Duration::from_secs(1);

async fn electors(env: &Env) -> (Elector, Elector) {
    let api: Api<Namespace> = Api::all(env.cluster.client.clone());
    let namespace = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some("strata-system".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    api.create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    let config = |identity: &str| LeaseConfig {
        namespace: "strata-system".into(),
        name: "strata-agent".into(),
        identity: identity.into(),
        duration: DURATION,
        renew_every: Duration::from_millis(300),
    };
    (Elector::new(config("a")), Elector::new(config("b")))
}

fn transitions(env: &Env) -> i64 {
    let lease = env
        .stored(
            "coordination.k8s.io/v1",
            "leases",
            Some("strata-system"),
            "strata-agent",
        )
        .unwrap();
    lease["spec"]["leaseTransitions"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn one_leader_takeover_after_expiry_and_release() {
    let env = Env::start().await;
    let other = env.another_cluster().await;
    let (mut a, mut b) = electors(&env).await;

    assert_eq!(
        a.try_acquire_or_renew(&env.cluster).await.unwrap(),
        (true, Some("a".into()))
    );
    assert!(a.is_leader());
    assert_eq!(
        b.try_acquire_or_renew(&other).await.unwrap(),
        (false, Some("a".into()))
    );
    assert!(!b.is_leader());
    // Renewing keeps the lease.
    assert_eq!(
        a.try_acquire_or_renew(&env.cluster).await.unwrap(),
        (true, Some("a".into()))
    );
    assert_eq!(transitions(&env), 0);

    // `a` stops renewing: once the lease runs out, `b` takes over.
    tokio::time::sleep(DURATION + Duration::from_millis(300)).await;
    assert!(!a.is_leader(), "a leader that did not renew steps down");
    assert_eq!(
        b.try_acquire_or_renew(&other).await.unwrap(),
        (true, Some("b".into()))
    );
    assert_eq!(transitions(&env), 1);
    assert_eq!(
        a.try_acquire_or_renew(&env.cluster).await.unwrap(),
        (false, Some("b".into()))
    );

    // Releasing hands over at once.
    b.release(&other).await.unwrap();
    assert!(!b.is_leader());
    assert_eq!(
        a.try_acquire_or_renew(&env.cluster).await.unwrap(),
        (true, Some("a".into()))
    );
    assert_eq!(transitions(&env), 2);
    // Releasing a lease one does not hold changes nothing.
    b.release(&other).await.unwrap();
    assert_eq!(
        b.try_acquire_or_renew(&other).await.unwrap(),
        (false, Some("a".into()))
    );
}

#[tokio::test]
async fn racing_replicas_elect_exactly_one() {
    let env = Env::start().await;
    let other = env.another_cluster().await;
    let (mut a, mut b) = electors(&env).await;
    let (ra, rb) = tokio::join!(
        a.try_acquire_or_renew(&env.cluster),
        b.try_acquire_or_renew(&other)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(ra.0 ^ rb.0, "exactly one leads: {ra:?} {rb:?}");
    let leader = if ra.0 { "a" } else { "b" };
    assert_eq!(ra.1.as_deref(), Some(leader));
    assert_eq!(rb.1.as_deref(), Some(leader));

    // And again when both find it expired at the same time.
    tokio::time::sleep(DURATION + Duration::from_millis(300)).await;
    let (ra, rb) = tokio::join!(
        a.try_acquire_or_renew(&env.cluster),
        b.try_acquire_or_renew(&other)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(ra.0 ^ rb.0, "exactly one leads: {ra:?} {rb:?}");
}
