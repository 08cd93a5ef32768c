//! Pods that came back with new IPs. A node keeps its id and the others' addresses in
//! `nodes.conf` (on its volume), and announces its own new IP; when one pod moves,
//! gossip tells the others. When most move at once (a whole cluster restarted), no node
//! reaches any other at the addresses it remembers. Introducing each node again at its
//! pod's address (`CLUSTER MEET`) lets the handshake correct the old entry: the node
//! ids, slots and roles stay as they were.

use super::assess::short;
use super::conn::Node;
use super::wait::{self, GOSSIP};
use crate::error::Error;

/// Repeats the introductions `(viewer, moved)` (indexes into `nodes`) and waits until
/// every viewer has the moved node's address.
pub async fn readdress(nodes: &mut [Node], stale: &[(usize, usize)]) -> Result<String, Error> {
    for &(viewer, moved) in stale {
        let target = nodes[moved].member.clone();
        nodes[viewer].meet(&target).await?;
    }
    wait::until(
        "every pod to know the others' new addresses",
        GOSSIP,
        async || {
            for &(viewer, moved) in stale {
                let (id, ip, port) = {
                    let m = &nodes[moved];
                    (m.id.clone(), m.member.ip, m.member.port)
                };
                let view = nodes[viewer].view().await?;
                if view.get(&id).and_then(|e| e.endpoint()) != Some((ip, port)) {
                    return Ok(false);
                }
            }
            Ok(true)
        },
    )
    .await?;
    let mut moved: Vec<usize> = stale.iter().map(|&(_, moved)| moved).collect();
    moved.sort_unstable();
    moved.dedup();
    let names: Vec<String> = moved
        .iter()
        .map(|&i| {
            let node = &nodes[i];
            format!(
                "{} (node {}) at {}",
                node.member.pod,
                short(&node.id),
                node.member.addr()
            )
        })
        .collect();
    Ok(format!(
        "introduced moved pods at their new addresses: {}",
        names.join(", ")
    ))
}
