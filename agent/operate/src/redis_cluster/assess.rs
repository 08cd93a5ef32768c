//! What state the servers are in, from their own views — and so what the operate step
//! may do. Pure, so every rule is tested without servers.
//!
//! The agent only ever adds: it introduces nodes (also at a pod's new address), gives
//! slots to a cluster that has none, and makes empty nodes replicas. Anything else
//! (slots partly assigned, nodes in another cluster, a failing cluster) is reported for
//! a human with `redis-cli`.

use std::collections::BTreeSet;

use super::member::Member;
use super::nodes::{Info, SLOTS, View, covered, describe_slots};

/// One server as it sees itself and the cluster.
#[derive(Clone, Debug)]
pub struct Observed {
    pub member: Member,
    pub id: String,
    pub view: View,
    pub info: Info,
}

/// What the servers' views add up to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assessment {
    /// No node serves a slot: form the cluster from scratch.
    Fresh,
    /// A cluster serving every slot, with some pods at addresses other nodes do not know
    /// (pods rescheduled with new IPs, all at once so gossip could not tell): each
    /// `(viewer, moved)` pair of observation indexes is an introduction to repeat.
    Moved { stale: Vec<(usize, usize)> },
    /// A healthy cluster serving every slot. `newcomers` (indexes into the observations)
    /// are empty nodes outside it, to be introduced and made replicas; `idle` are nodes
    /// in it that are masters without slots (say, a formation cut short before
    /// `CLUSTER REPLICATE`).
    Formed {
        newcomers: Vec<usize>,
        idle: Vec<usize>,
    },
    /// Gossip has not reached every node yet; look again later.
    Settling(String),
    /// A state the agent must not touch; the message says what is wrong.
    Broken(String),
}

/// The advice every refusal ends with: the agent never reshards or forgets nodes.
const FIX_BY_HAND: &str = "the agent does not reshard or remove nodes; inspect it with `redis-cli --cluster check <pod-ip>:<port>` and repair it with `redis-cli --cluster fix`";

pub fn assess(observed: &[Observed]) -> Assessment {
    if !observed.iter().any(|o| o.view.any_slots()) {
        return Assessment::Fresh;
    }
    // The cluster is what the best-connected node serving slots knows.
    let Some(anchor) = observed
        .iter()
        .filter(|o| !o.view.own_slots().is_empty())
        .max_by_key(|o| o.view.known_ids().count())
    else {
        return Assessment::Broken(format!(
            "nodes list slots but no pod serves any: the pods know a cluster whose masters are gone; {FIX_BY_HAND}"
        ));
    };
    let cluster: BTreeSet<&str> = anchor.view.known_ids().collect();
    let (inside, outside): (Vec<usize>, Vec<usize>) =
        (0..observed.len()).partition(|&i| cluster.contains(observed[i].id.as_str()));

    for &i in &outside {
        let o = &observed[i];
        if !o.view.own_slots().is_empty() {
            return Assessment::Broken(format!(
                "pod {} serves slots {} but is not in the cluster of pod {}; {FIX_BY_HAND}",
                o.member.pod,
                describe_slots(o.view.own_slots()),
                anchor.member.pod
            ));
        }
        let foreign: Vec<&str> = o
            .view
            .known_ids()
            .filter(|id| *id != o.id && !cluster.contains(id))
            .collect();
        if !foreign.is_empty() {
            return Assessment::Broken(format!(
                "pod {} knows {} node(s) outside the cluster of pod {} (it belongs to another cluster); {FIX_BY_HAND}",
                o.member.pod,
                foreign.len(),
                anchor.member.pod
            ));
        }
    }

    let assigned = covered(
        anchor
            .view
            .entries
            .iter()
            .flat_map(|e| e.slots.iter().copied()),
    );
    if assigned < u32::from(SLOTS) {
        let owners: Vec<String> = anchor
            .view
            .entries
            .iter()
            .filter(|e| !e.slots.is_empty())
            .map(|e| {
                let name = observed.iter().find(|o| o.id == e.id).map_or_else(
                    || format!("node {}", short(&e.id)),
                    |o| o.member.pod.clone(),
                );
                format!("{name} {}", describe_slots(&e.slots))
            })
            .collect();
        return Assessment::Broken(format!(
            "only {assigned} of {SLOTS} slots are assigned ({}); {FIX_BY_HAND}",
            owners.join(", ")
        ));
    }

    let stale: Vec<(usize, usize)> = inside
        .iter()
        .flat_map(|&viewer| inside.iter().map(move |&moved| (viewer, moved)))
        .filter(|&(viewer, moved)| {
            let target = &observed[moved];
            viewer != moved
                && observed[viewer]
                    .view
                    .get(&target.id)
                    .is_some_and(|e| e.endpoint() != Some((target.member.ip, target.member.port)))
        })
        .collect();
    if !stale.is_empty() {
        return Assessment::Moved { stale };
    }

    // Gossip spreads membership and slots within seconds; a gap is worth a look later,
    // not a change.
    let unaware: Vec<&str> = inside
        .iter()
        .map(|&i| &observed[i])
        .filter(|o| {
            inside.iter().any(|&j| !o.view.knows(&observed[j].id))
                || o.info.slots_assigned < u32::from(SLOTS)
        })
        .map(|o| o.member.pod.as_str())
        .collect();
    if !unaware.is_empty() {
        return Assessment::Settling(format!(
            "pods {} do not yet know the whole cluster (gossip in progress)",
            unaware.join(", ")
        ));
    }
    let failing: Vec<String> = inside
        .iter()
        .map(|&i| &observed[i])
        .filter(|o| !o.info.is_ok())
        .map(|o| {
            format!(
                "{} (cluster_state:{}, {} slots failing)",
                o.member.pod,
                o.info.state,
                o.info.slots_pfail + o.info.slots_fail
            )
        })
        .collect();

    if !failing.is_empty() {
        // Nothing to add would help: Redis fails over by itself, or a human must.
        return Assessment::Broken(format!(
            "the cluster is not ok on {}; a failover takes up to cluster-node-timeout, if it lasts longer inspect it with `redis-cli --cluster check <pod-ip>:<port>`",
            failing.join(", ")
        ));
    }
    let idle = inside
        .iter()
        .copied()
        .filter(|&i| {
            let o = &observed[i];
            o.view
                .myself()
                .is_some_and(|me| me.is_master() && me.slots.is_empty())
        })
        .collect();
    Assessment::Formed {
        newcomers: outside,
        idle,
    }
}

/// The first 8 characters of a node id, as `redis-cli` shows them.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An observation from a `CLUSTER NODES` text where `me` marks the answering node.
    fn observed(pod: &str, me: &str, nodes: &str, state: &str) -> Observed {
        let text = nodes
            .lines()
            .map(|line| {
                let id = line.split_whitespace().next().unwrap_or_default();
                if id == me {
                    line.replacen(" master ", " myself,master ", 1).replacen(
                        " slave ",
                        " myself,slave ",
                        1,
                    )
                } else {
                    line.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let view = View::parse(&text).unwrap();
        // The pod is where the node itself says it is.
        let (ip, port) = view
            .myself()
            .and_then(|e| e.endpoint())
            .unwrap_or(("10.0.0.99".parse().unwrap(), 6379));
        let member = Member {
            ordinal: pod.trim_start_matches("redis-").parse().unwrap(),
            pod: pod.to_owned(),
            ip,
            port,
        };
        let assigned = covered(view.entries.iter().flat_map(|e| e.slots.iter().copied()));
        Observed {
            member,
            id: me.to_owned(),
            info: Info {
                state: state.to_owned(),
                slots_assigned: assigned,
                known_nodes: view.entries.len() as u32,
                ..Info::default()
            },
            view,
        }
    }

    fn lone(pod: &str, id: &str) -> Observed {
        observed(
            pod,
            id,
            &format!("{id} :6379@16379 master - 0 0 0 connected"),
            "fail",
        )
    }

    const CLUSTER: &str = "\
aaaa0000 10.0.0.1:6379@16379 master - 0 0 1 connected 0-5461
bbbb0000 10.0.0.2:6379@16379 master - 0 0 2 connected 5462-10922
cccc0000 10.0.0.3:6379@16379 master - 0 0 3 connected 10923-16383
dddd0000 10.0.0.4:6379@16379 slave aaaa0000 0 0 1 connected
";

    fn formed() -> Vec<Observed> {
        ["aaaa0000", "bbbb0000", "cccc0000", "dddd0000"]
            .iter()
            .enumerate()
            .map(|(i, id)| observed(&format!("redis-{i}"), id, CLUSTER, "ok"))
            .collect()
    }

    #[test]
    fn no_slots_anywhere_is_fresh_even_when_nodes_have_met() {
        let nodes = vec![lone("redis-0", "aaaa0000"), lone("redis-1", "bbbb0000")];
        assert_eq!(assess(&nodes), Assessment::Fresh);
        let met = "aaaa0000 10.0.0.1:6379@16379 master - 0 0 1 connected\nbbbb0000 10.0.0.2:6379@16379 master - 0 0 2 connected";
        let nodes = vec![
            observed("redis-0", "aaaa0000", met, "fail"),
            observed("redis-1", "bbbb0000", met, "fail"),
        ];
        assert_eq!(assess(&nodes), Assessment::Fresh);
    }

    #[test]
    fn a_whole_cluster_needs_nothing() {
        assert_eq!(
            assess(&formed()),
            Assessment::Formed {
                newcomers: vec![],
                idle: vec![]
            }
        );
    }

    #[test]
    fn an_empty_lone_node_is_a_newcomer() {
        let mut nodes = formed();
        nodes.push(lone("redis-4", "eeee0000"));
        assert_eq!(
            assess(&nodes),
            Assessment::Formed {
                newcomers: vec![4],
                idle: vec![]
            }
        );
    }

    #[test]
    fn partly_assigned_slots_are_refused() {
        let mut nodes = vec![observed(
            "redis-0",
            "aaaa0000",
            "aaaa0000 10.0.0.1:6379@16379 master - 0 0 1 connected 0-5000",
            "fail",
        )];
        nodes.push(lone("redis-1", "bbbb0000"));
        let Assessment::Broken(message) = assess(&nodes) else {
            panic!("{:?}", assess(&nodes));
        };
        assert!(message.contains("only 5001 of 16384"), "{message}");
        assert!(message.contains("redis-0 0-5000"), "{message}");
        assert!(message.contains("redis-cli --cluster check"), "{message}");
    }

    #[test]
    fn slots_outside_the_cluster_are_refused() {
        let mut nodes = formed();
        nodes.push(observed(
            "redis-4",
            "eeee0000",
            "eeee0000 10.0.0.5:6379@16379 master - 0 0 1 connected 0-10",
            "fail",
        ));
        let Assessment::Broken(message) = assess(&nodes) else {
            panic!()
        };
        assert!(message.contains("redis-4 serves slots 0-10"), "{message}");
    }

    #[test]
    fn nodes_of_another_cluster_are_refused() {
        let mut nodes = formed();
        let other = "eeee0000 10.0.0.5:6379@16379 master - 0 0 1 connected\nffff0000 10.0.0.6:6379@16379 master - 0 0 1 connected";
        nodes.push(observed("redis-4", "eeee0000", other, "fail"));
        let Assessment::Broken(message) = assess(&nodes) else {
            panic!()
        };
        assert!(message.contains("another cluster"), "{message}");
    }

    #[test]
    fn a_node_that_has_not_heard_of_the_others_is_settling() {
        let mut nodes = formed();
        let partial = CLUSTER.lines().take(3).collect::<Vec<_>>().join("\n");
        nodes[1] = observed("redis-1", "bbbb0000", &partial, "ok");
        let Assessment::Settling(message) = assess(&nodes) else {
            panic!("{:?}", assess(&nodes))
        };
        assert!(message.contains("redis-1"), "{message}");
    }

    #[test]
    fn a_failing_cluster_is_reported() {
        let mut nodes = formed();
        nodes[2].info.state = "fail".to_owned();
        let Assessment::Broken(message) = assess(&nodes) else {
            panic!()
        };
        assert!(message.contains("redis-2 (cluster_state:fail"), "{message}");
    }

    #[test]
    fn an_empty_master_inside_is_idle() {
        let with_idle = format!("{CLUSTER}eeee0000 10.0.0.5:6379@16379 master - 0 0 0 connected\n");
        let nodes: Vec<Observed> = ["aaaa0000", "bbbb0000", "cccc0000", "dddd0000", "eeee0000"]
            .iter()
            .enumerate()
            .map(|(i, id)| observed(&format!("redis-{i}"), id, &with_idle, "ok"))
            .collect();
        assert_eq!(
            assess(&nodes),
            Assessment::Formed {
                newcomers: vec![],
                idle: vec![4]
            }
        );
    }

    #[test]
    fn old_addresses_are_introduced_again() {
        let mut nodes = formed();
        // Pod redis-2 came back at 10.0.0.33; only it knows so far.
        let moved = CLUSTER.replace("10.0.0.3:", "10.0.0.33:");
        nodes[2] = observed("redis-2", "cccc0000", &moved, "fail");
        assert_eq!(
            assess(&nodes),
            Assessment::Moved {
                stale: vec![(0, 2), (1, 2), (3, 2)]
            }
        );
    }
}
