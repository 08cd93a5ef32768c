//! Growing a formed cluster without touching its slots: an empty node outside it (a
//! scaled-out StatefulSet, or a pod that came back without its data) is introduced and
//! becomes a replica of the master with the fewest replicas; an empty master inside it
//! becomes one too. Neither ever gets slots: resharding is a human's call.

use super::assess::short;
use super::conn::Node;
use super::nodes::describe_slots;
use super::wait::{self, GOSSIP};
use crate::error::Error;

/// Introduces `nodes[newcomer]` to the cluster of `members` (indexes of the nodes in
/// it, `members[0]` the one it meets) and makes it a replica.
pub async fn join(nodes: &mut [Node], newcomer: usize, members: &[usize]) -> Result<String, Error> {
    let new_id = nodes[newcomer].id.clone();
    let pod = nodes[newcomer].member.pod.clone();
    let contact = nodes[members[0]].member.clone();
    let member_ids: Vec<String> = members.iter().map(|&i| nodes[i].id.clone()).collect();

    if !nodes[members[0]].view().await?.knows(&new_id) {
        nodes[newcomer].meet(&contact).await?;
    }
    wait::until(
        &format!("pod {pod} to join the cluster after CLUSTER MEET"),
        GOSSIP,
        async || {
            for &i in members {
                if !nodes[i].view().await?.knows(&new_id) {
                    return Ok(false);
                }
            }
            let view = nodes[newcomer].view().await?;
            Ok(member_ids.iter().all(|id| view.knows(id)))
        },
    )
    .await?;
    let master = attach(nodes, newcomer, members).await?;
    Ok(format!(
        "added pod {pod} ({}) as a replica of {master}",
        nodes[newcomer].member.addr()
    ))
}

/// Makes `nodes[idle]`, an empty master in the cluster of `members`, a replica.
pub async fn adopt(nodes: &mut [Node], idle: usize, members: &[usize]) -> Result<String, Error> {
    let others: Vec<usize> = members.iter().copied().filter(|&i| i != idle).collect();
    let master = attach(nodes, idle, &others).await?;
    Ok(format!(
        "made pod {} ({}), a master without slots, a replica of {master}",
        nodes[idle].member.pod,
        nodes[idle].member.addr()
    ))
}

/// `CLUSTER REPLICATE` to the healthy master with the fewest healthy replicas (the
/// first by slots on a tie), then waits until every member sees it. Returns the master
/// as `pod cache-1 (slots 5462-10922)`.
async fn attach(nodes: &mut [Node], node: usize, members: &[usize]) -> Result<String, Error> {
    let id = nodes[node].id.clone();
    let pod = nodes[node].member.pod.clone();
    let view = nodes[members[0]].view().await?;
    let Some((master, _)) = view
        .masters_with_replicas()
        .into_iter()
        .filter(|(master, _)| !master.is_failing())
        .min_by_key(|(_, replicas)| *replicas)
    else {
        return Err(Error::NoHealthyMaster { pod });
    };
    let master_id = master.id.clone();
    let master_name = nodes.iter().find(|n| n.id == master_id).map_or_else(
        || format!("node {}", short(&master_id)),
        |n| format!("pod {}", n.member.pod),
    );
    let described = format!("{master_name} (slots {})", describe_slots(&master.slots));

    // It can only follow a master it knows as one.
    wait::until(
        &format!("pod {pod} to know its master {master_name}"),
        GOSSIP,
        async || {
            let view = nodes[node].view().await?;
            Ok(view.get(&master_id).is_some_and(|e| e.is_master()))
        },
    )
    .await?;
    nodes[node].replicate(&master_id).await?;
    // Done when all see it, so the next run finds nothing left to settle.
    wait::until(
        &format!("every pod to see pod {pod} as a replica of {master_name}"),
        GOSSIP,
        async || {
            for &i in members {
                if !nodes[i].view().await?.replicates(&id, &master_id) {
                    return Ok(false);
                }
            }
            Ok(nodes[node].info().await?.is_ok())
        },
    )
    .await?;
    Ok(described)
}
