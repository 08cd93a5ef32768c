//! The Redis side alone: `reconcile` against real `redis-server`s, members given
//! directly (no Kubernetes API).

mod common;

use common::{Fleet, assert_formed, assert_untouched};
use strata_agent_operate::OperateReport;
use strata_agent_operate::redis_cluster::{Shape, reconcile};

const SHAPE: Shape = Shape {
    masters: 3,
    replicas_per_master: 1,
};

async fn run(fleet: &Fleet) -> OperateReport {
    reconcile(&fleet.members(), fleet.password().as_ref(), SHAPE).await
}

#[tokio::test]
async fn forms_a_fresh_cluster_once() {
    let fleet = Fleet::start(6, None);
    let report = run(&fleet).await;
    assert_eq!(
        report,
        OperateReport {
            actions: vec!["formed cluster of 3 masters × 1 replica (16384 slots)".into()],
            ..Default::default()
        }
    );
    assert_formed(&fleet, 3, &[1, 1, 1]).await;
    // Pods 0..3 are the masters, with the slots in ordinal order.
    let view = fleet.servers[0].view().await;
    for (i, slots) in ["0-5461", "5462-10922", "10923-16383"].iter().enumerate() {
        let id: String = fleet.servers[i].cmd(&["CLUSTER", "MYID"]).await;
        let entry = view.get(&id).unwrap();
        assert!(entry.is_master(), "pod {i} is a master");
        assert_eq!(entry.slots[0].to_string(), *slots, "slots of pod {i}");
        let replica: String = fleet.servers[i + 3].cmd(&["CLUSTER", "MYID"]).await;
        assert!(
            view.replicates(&replica, &id),
            "pod {} replicates pod {i}",
            i + 3
        );
    }

    let again = run(&fleet).await;
    assert!(again.is_empty(), "second run: {again:?}");
}

#[tokio::test]
async fn waits_for_every_pod() {
    let fleet = Fleet::start(6, None);
    let mut members = fleet.members();
    members.retain(|m| m.ordinal != 2 && m.ordinal != 5);
    let report = reconcile(&members, None, SHAPE).await;
    assert_eq!(report.waiting, vec!["4 of 6 pods ready".to_owned()]);
    assert!(
        report.actions.is_empty() && report.failures.is_empty(),
        "{report:?}"
    );
    assert_untouched(&fleet, 0).await;
}

#[tokio::test]
async fn refuses_a_half_assigned_cluster() {
    let fleet = Fleet::start(6, None);
    let _: () = fleet.servers[0]
        .cmd(&["CLUSTER", "ADDSLOTSRANGE", "0", "5000"])
        .await;
    let report = run(&fleet).await;
    assert!(report.actions.is_empty(), "{report:?}");
    assert_eq!(report.failures.len(), 1, "{report:?}");
    let failure = &report.failures[0];
    assert!(failure.contains("only 5001 of 16384 slots"), "{failure}");
    assert!(failure.contains("cache-0 0-5000"), "{failure}");
    assert!(failure.contains("redis-cli --cluster check"), "{failure}");
    assert_untouched(&fleet, 5001).await;
}

#[tokio::test]
async fn adds_a_new_node_as_a_replica() {
    let mut fleet = Fleet::start(6, None);
    let formed = run(&fleet).await;
    assert_eq!(formed.actions.len(), 1, "{formed:?}");

    fleet.add();
    let report = run(&fleet).await;
    assert!(
        report.failures.is_empty() && report.waiting.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.actions.len(), 1, "{report:?}");
    let action = &report.actions[0];
    assert!(
        action.starts_with(&format!(
            "added pod cache-6 (127.0.0.8:{}) as a replica of pod cache-0",
            fleet.port
        )),
        "{action}"
    );
    assert_formed(&fleet, 3, &[1, 1, 2]).await;
    let new_id: String = fleet.servers[6].cmd(&["CLUSTER", "MYID"]).await;
    let master_id: String = fleet.servers[0].cmd(&["CLUSTER", "MYID"]).await;
    assert!(
        fleet.servers[0]
            .view()
            .await
            .replicates(&new_id, &master_id)
    );

    let again = run(&fleet).await;
    assert!(again.is_empty(), "third run: {again:?}");
}

#[tokio::test]
async fn authenticates_with_the_password() {
    let fleet = Fleet::start(6, Some("s3cret-pass"));
    let refused = reconcile(&fleet.members(), None, SHAPE).await;
    assert_eq!(refused.failures.len(), 1, "{refused:?}");
    assert!(
        refused.failures[0].contains("cache-0"),
        "{}",
        refused.failures[0]
    );
    assert!(!refused.failures[0].contains("s3cret"));

    let report = run(&fleet).await;
    assert_eq!(report.actions.len(), 1, "{report:?}");
    assert_formed(&fleet, 3, &[1, 1, 1]).await;
}

#[tokio::test]
async fn finishes_a_formation_cut_short_before_the_replicas() {
    let fleet = Fleet::start(6, None);
    // By hand, as a run stopped after ADDSLOTSRANGE would leave it.
    let first = fleet.servers[0].ip.to_string();
    let port = fleet.port.to_string();
    for server in &fleet.servers[1..] {
        let _: () = server.cmd(&["CLUSTER", "MEET", &first, &port]).await;
    }
    for (server, (start, end)) in
        fleet
            .servers
            .iter()
            .zip([("0", "5461"), ("5462", "10922"), ("10923", "16383")])
    {
        let _: () = server.cmd(&["CLUSTER", "ADDSLOTSRANGE", start, end]).await;
    }
    let report = eventually(&fleet, |r| !r.actions.is_empty()).await;
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(
        report.actions,
        [
            "made pod cache-3 (127.0.0.5:PORT), a master without slots, a replica of pod cache-0 (slots 0-5461)",
            "made pod cache-4 (127.0.0.6:PORT), a master without slots, a replica of pod cache-1 (slots 5462-10922)",
            "made pod cache-5 (127.0.0.7:PORT), a master without slots, a replica of pod cache-2 (slots 10923-16383)",
        ]
        .map(|a| a.replace("PORT", &port))
    );
    assert_formed(&fleet, 3, &[1, 1, 1]).await;
}

#[tokio::test]
async fn introduces_pods_that_all_moved_again() {
    let mut fleet = Fleet::start(6, None);
    assert_eq!(run(&fleet).await.actions.len(), 1);

    fleet.move_all(8);
    let report = run(&fleet).await;
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(report.actions.len(), 1, "{report:?}");
    assert!(
        report.actions[0]
            .starts_with("introduced moved pods at their new addresses: cache-0 (node "),
        "{}",
        report.actions[0]
    );
    // The nodes kept their ids, slots and roles; the cluster recovers by itself.
    let settled = eventually(&fleet, |r| r.is_empty()).await;
    assert!(settled.is_empty(), "{settled:?}");
    assert_formed(&fleet, 3, &[1, 1, 1]).await;
}

/// Runs `reconcile` until `done` holds for its report (gossip and failure detection
/// take moments); the last report after 20 s otherwise.
async fn eventually(fleet: &Fleet, done: impl Fn(&OperateReport) -> bool) -> OperateReport {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let report = run(fleet).await;
        if done(&report) || tokio::time::Instant::now() >= deadline {
            return report;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
