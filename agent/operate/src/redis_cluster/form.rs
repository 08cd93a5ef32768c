//! Forming a cluster from nodes that serve no slot: every node meets pod 0, the first
//! `masters` pods get the slots, the others become their replicas.

use super::conn::Node;
use super::nodes::SLOTS;
use super::observe;
use super::plan::Shape;
use super::wait::{self, GOSSIP, SETTLE};
use crate::error::Error;

/// Forms the cluster; `nodes` are in ordinal order and hold pods `0..shape.pods()`.
/// Steps already done (by an earlier, interrupted run) are skipped.
pub async fn form(nodes: &mut [Node], shape: Shape) -> Result<String, Error> {
    let ids: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
    let first = nodes[0].member.clone();

    for node in nodes.iter_mut().skip(1) {
        if !node.view().await?.knows(&ids[0]) {
            node.meet(&first).await?;
        }
    }
    wait::until(
        "every pod to know every other after CLUSTER MEET",
        GOSSIP,
        async || {
            let observed = observe(nodes).await?;
            Ok(observed
                .iter()
                .all(|o| ids.iter().all(|id| o.view.knows(id))))
        },
    )
    .await?;

    for node in nodes.iter_mut() {
        if let Some(range) = shape.slots_of(node.member.ordinal) {
            node.add_slots(range).await?;
        }
    }

    // Pairs (replica index, master index) in `nodes`.
    let pairs: Vec<(usize, usize)> = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, node)| {
            let master = shape.master_of(node.member.ordinal)?;
            let m = nodes.iter().position(|n| n.member.ordinal == master)?;
            Some((i, m))
        })
        .collect();
    // A replica can only follow a master it knows as one.
    wait::until("the replicas to know their masters", GOSSIP, async || {
        for &(r, m) in &pairs {
            let view = nodes[r].view().await?;
            if !view.get(&ids[m]).is_some_and(|e| e.is_master()) {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await?;
    for &(r, m) in &pairs {
        if !nodes[r].view().await?.replicates(&ids[r], &ids[m]) {
            nodes[r].replicate(&ids[m]).await?;
        }
    }

    wait::until(
        "cluster_state:ok with every replica in place on every pod",
        SETTLE,
        async || {
            let observed = observe(nodes).await?;
            Ok(observed.iter().all(|o| {
                o.info.is_ok()
                    && o.info.slots_assigned == u32::from(SLOTS)
                    && pairs
                        .iter()
                        .all(|&(r, m)| o.view.replicates(&ids[r], &ids[m]))
            }))
        },
    )
    .await?;

    let replicas = shape.replicas_per_master;
    Ok(format!(
        "formed cluster of {} masters × {replicas} replica{} ({SLOTS} slots)",
        shape.masters,
        if replicas == 1 { "" } else { "s" }
    ))
}
