//! Reading the replies of `CLUSTER NODES` and `CLUSTER INFO`: one node's view of the
//! cluster. Pure parsing, so the rules that decide what to do can be tested without a
//! server.

use std::fmt;
use std::net::IpAddr;

/// The number of hash slots of every Redis Cluster.
pub const SLOTS: u16 = 16384;

/// Hash slots `start..=end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SlotRange {
    pub start: u16,
    pub end: u16,
}

impl SlotRange {
    /// How many slots the range holds.
    pub fn count(self) -> u32 {
        u32::from(self.end) - u32::from(self.start) + 1
    }
}

impl fmt::Display for SlotRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// Slot ranges as `0-5460,5461` for messages.
pub fn describe_slots(ranges: &[SlotRange]) -> String {
    let parts: Vec<String> = ranges.iter().map(ToString::to_string).collect();
    parts.join(",")
}

/// How many distinct slots `ranges` cover (ranges from several nodes may overlap while a
/// cluster is in an odd state).
pub fn covered(ranges: impl IntoIterator<Item = SlotRange>) -> u32 {
    let mut ranges: Vec<SlotRange> = ranges.into_iter().collect();
    ranges.sort();
    let mut total = 0;
    let mut next = 0u32; // first slot not yet counted
    for range in ranges {
        let start = u32::from(range.start).max(next);
        let end = u32::from(range.end);
        if end >= start {
            total += end - start + 1;
            next = end + 1;
        }
    }
    total
}

/// One line of `CLUSTER NODES`: a node as the answering node sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeEntry {
    pub id: String,
    /// `ip:port` (empty ip while a lone node has not learnt its own address).
    pub addr: String,
    pub flags: Vec<String>,
    /// The master's id, for a replica.
    pub master: Option<String>,
    pub connected: bool,
    /// Slots it serves; slots being migrated or imported (`[…]`) are left out.
    pub slots: Vec<SlotRange>,
}

impl NodeEntry {
    fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    pub fn is_myself(&self) -> bool {
        self.has_flag("myself")
    }

    pub fn is_master(&self) -> bool {
        self.has_flag("master")
    }

    pub fn is_replica(&self) -> bool {
        self.has_flag("slave")
    }

    /// Failing for this node (`fail?`) or by the cluster's agreement (`fail`).
    pub fn is_failing(&self) -> bool {
        self.has_flag("fail") || self.has_flag("fail?")
    }

    /// Where it listens, if known (`ip:port`; IPv6 without brackets).
    pub fn endpoint(&self) -> Option<(IpAddr, u16)> {
        let (ip, port) = self.addr.rsplit_once(':')?;
        Some((ip.parse().ok()?, port.parse().ok()?))
    }

    /// A node being introduced: its id is a placeholder that the handshake replaces.
    pub fn in_handshake(&self) -> bool {
        self.has_flag("handshake")
    }
}

/// The reply of `CLUSTER NODES`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct View {
    pub entries: Vec<NodeEntry>,
}

impl View {
    pub fn parse(text: &str) -> Result<View, String> {
        let entries = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(parse_line)
            .collect::<Result<_, _>>()?;
        Ok(View { entries })
    }

    /// The answering node's own entry.
    pub fn myself(&self) -> Option<&NodeEntry> {
        self.entries.iter().find(|e| e.is_myself())
    }

    /// The slots the answering node serves itself.
    pub fn own_slots(&self) -> &[SlotRange] {
        self.myself()
            .map(|e| e.slots.as_slice())
            .unwrap_or_default()
    }

    pub fn get(&self, id: &str) -> Option<&NodeEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Whether the node knows `id` for real (not as a handshake placeholder).
    pub fn knows(&self, id: &str) -> bool {
        self.get(id).is_some_and(|e| !e.in_handshake())
    }

    /// The ids of the nodes it knows, itself included, handshakes left out.
    pub fn known_ids(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(|e| !e.in_handshake())
            .map(|e| e.id.as_str())
    }

    /// Whether any node it knows serves slots.
    pub fn any_slots(&self) -> bool {
        self.entries.iter().any(|e| !e.slots.is_empty())
    }

    /// Whether it sees `replica` as a replica of `master`.
    pub fn replicates(&self, replica: &str, master: &str) -> bool {
        self.get(replica)
            .is_some_and(|e| e.is_replica() && e.master.as_deref() == Some(master))
    }

    /// The masters serving slots, with how many healthy replicas each has, in slot order.
    pub fn masters_with_replicas(&self) -> Vec<(&NodeEntry, usize)> {
        let mut masters: Vec<(&NodeEntry, usize)> = self
            .entries
            .iter()
            .filter(|e| e.is_master() && !e.slots.is_empty())
            .map(|master| {
                let replicas = self
                    .entries
                    .iter()
                    .filter(|e| {
                        e.is_replica()
                            && !e.is_failing()
                            && e.master.as_deref() == Some(master.id.as_str())
                    })
                    .count();
                (master, replicas)
            })
            .collect();
        masters.sort_by_key(|(master, _)| master.slots.first().copied());
        masters
    }
}

/// `<id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>…`
fn parse_line(line: &str) -> Result<NodeEntry, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 8 {
        return Err(format!("short CLUSTER NODES line `{line}`"));
    }
    let addr = fields[1]
        .split([',', '@'])
        .next()
        .unwrap_or_default()
        .to_owned();
    let master = match fields[3] {
        "-" => None,
        id => Some(id.to_owned()),
    };
    let slots = fields[8..]
        .iter()
        // `[slot->-id]` / `[slot-<-id]`: a migration in progress, not ownership.
        .filter(|slot| !slot.starts_with('['))
        .map(|slot| parse_slots(slot).ok_or_else(|| format!("bad slot `{slot}` in `{line}`")))
        .collect::<Result<_, _>>()?;
    Ok(NodeEntry {
        id: fields[0].to_owned(),
        addr,
        flags: fields[2].split(',').map(str::to_owned).collect(),
        master,
        connected: fields[7] == "connected",
        slots,
    })
}

fn parse_slots(text: &str) -> Option<SlotRange> {
    let (start, end) = text.split_once('-').unwrap_or((text, text));
    let range = SlotRange {
        start: start.parse().ok()?,
        end: end.parse().ok()?,
    };
    (range.start <= range.end && range.end < SLOTS).then_some(range)
}

/// The fields of `CLUSTER INFO` the operate step reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Info {
    /// `ok` or `fail`.
    pub state: String,
    pub slots_assigned: u32,
    pub slots_ok: u32,
    pub slots_pfail: u32,
    pub slots_fail: u32,
    pub known_nodes: u32,
}

impl Info {
    pub fn parse(text: &str) -> Result<Info, String> {
        let mut info = Info::default();
        for line in text.lines() {
            let Some((key, value)) = line.trim().split_once(':') else {
                continue;
            };
            let number = || {
                value
                    .parse::<u32>()
                    .map_err(|_| format!("bad CLUSTER INFO line `{}`", line.trim()))
            };
            match key {
                "cluster_state" => info.state = value.to_owned(),
                "cluster_slots_assigned" => info.slots_assigned = number()?,
                "cluster_slots_ok" => info.slots_ok = number()?,
                "cluster_slots_pfail" => info.slots_pfail = number()?,
                "cluster_slots_fail" => info.slots_fail = number()?,
                "cluster_known_nodes" => info.known_nodes = number()?,
                _ => {}
            }
        }
        if info.state.is_empty() {
            return Err("CLUSTER INFO has no cluster_state".to_owned());
        }
        Ok(info)
    }

    pub fn is_ok(&self) -> bool {
        self.state == "ok"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMED: &str = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.3:6379@16379,redis-1.redis-headless.data.svc.cluster.local master - 0 1426238317239 2 connected 5462-10922
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.2:6379@16379 myself,master - 0 0 1 connected 0-5461
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.5:6379@16379 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238316232 1 connected
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.4:6379@16379 master - 0 1426238318243 3 connected 10923-16383 [16383->-e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca]
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.6:6379@16379 slave,fail 292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 0 1426238316232 3 disconnected
824fe116063bc5fcf9f4ffd895bc17aee7731ac3 :6379@16379 handshake - 0 0 0 connected
";

    #[test]
    fn reads_every_line_of_a_formed_cluster() {
        let view = View::parse(FORMED).unwrap();
        assert_eq!(view.entries.len(), 6);
        let me = view.myself().unwrap();
        assert_eq!(me.id, "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca");
        assert_eq!(me.addr, "127.0.0.2:6379");
        assert_eq!(me.endpoint(), Some(("127.0.0.2".parse().unwrap(), 6379)));
        assert_eq!(
            view.own_slots(),
            &[SlotRange {
                start: 0,
                end: 5461
            }]
        );
        let hostname = view
            .get("07c37dfeb235213a872192d90877d0cd55635b91")
            .unwrap();
        assert_eq!(hostname.addr, "127.0.0.3:6379");
        // The migrating slot is not counted as owned.
        let third = view
            .get("292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f")
            .unwrap();
        assert_eq!(
            third.slots,
            vec![SlotRange {
                start: 10923,
                end: 16383
            }]
        );
        assert!(view.replicates(
            "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1",
            "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca"
        ));
        assert!(!view.knows("824fe116063bc5fcf9f4ffd895bc17aee7731ac3"));
        assert_eq!(view.known_ids().count(), 5);
    }

    #[test]
    fn counts_only_healthy_replicas() {
        let view = View::parse(FORMED).unwrap();
        let counts: Vec<(&str, usize)> = view
            .masters_with_replicas()
            .into_iter()
            .map(|(m, n)| (&m.id[..4], n))
            .collect();
        assert_eq!(counts, vec![("e7d1", 1), ("07c3", 0), ("292f", 0)]);
    }

    #[test]
    fn counts_covered_slots_once() {
        let r = |start, end| SlotRange { start, end };
        assert_eq!(
            covered([r(0, 5461), r(5462, 10922), r(10923, 16383)]),
            16384
        );
        assert_eq!(covered([r(0, 100), r(50, 150), r(200, 200)]), 152);
        assert_eq!(covered([]), 0);
        assert_eq!(describe_slots(&[r(0, 100), r(200, 200)]), "0-100,200");
    }

    #[test]
    fn reads_ipv6_addresses() {
        let view = View::parse("abc fd00::1:6379@16379 myself,master - 0 0 0 connected").unwrap();
        let me = view.myself().unwrap();
        assert_eq!(me.endpoint(), Some(("fd00::1".parse().unwrap(), 6379)));
        let lone = View::parse("abc :6379@16379 myself,master - 0 0 0 connected").unwrap();
        assert_eq!(lone.myself().unwrap().endpoint(), None);
    }

    #[test]
    fn rejects_garbage() {
        assert!(View::parse("abc 1.2.3.4:1@2 master").is_err());
        assert!(View::parse("abc 1.2.3.4:1@2 master - 0 0 0 connected 9-x").is_err());
        assert!(View::parse("abc 1.2.3.4:1@2 master - 0 0 0 connected 16384").is_err());
    }

    #[test]
    fn reads_cluster_info() {
        let info = Info::parse(
            "cluster_enabled:1\r\ncluster_state:fail\r\ncluster_slots_assigned:5001\r\ncluster_slots_ok:5001\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\ncluster_size:1\r\n",
        )
        .unwrap();
        assert!(!info.is_ok());
        assert_eq!(info.slots_assigned, 5001);
        assert_eq!(info.known_nodes, 1);
        assert!(Info::parse("cluster_enabled:1\r\n").is_err());
    }
}
