//! The shape a fresh cluster is given: which pods are masters, which slots each serves,
//! and whom each other pod replicates. It follows the render (`initial_masters`): pods
//! `0..masters` are the masters, in order.

use super::nodes::{SLOTS, SlotRange};

/// The shape the document asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub masters: u32,
    pub replicas_per_master: u32,
}

impl Shape {
    /// The pods the cluster needs: masters × (1 + replicas per master).
    pub fn pods(self) -> u32 {
        self.masters * (1 + self.replicas_per_master)
    }

    /// The slots master `ordinal` serves: 16384 split into contiguous ranges, the
    /// remainder spread over the first masters one slot each. `None` for a replica.
    pub fn slots_of(self, ordinal: u32) -> Option<SlotRange> {
        if ordinal >= self.masters || self.masters == 0 {
            return None;
        }
        let total = u32::from(SLOTS);
        let base = total / self.masters;
        let extra = total % self.masters;
        // The first `extra` masters get one slot more.
        let start = ordinal * base + ordinal.min(extra);
        let len = base + u32::from(ordinal < extra);
        Some(SlotRange {
            start: to_slot(start),
            end: to_slot(start + len - 1),
        })
    }

    /// The master pod `ordinal` replicates: pod k ≥ masters replicates pod
    /// (k − masters) mod masters, so replicas go round the masters in turn.
    pub fn master_of(self, ordinal: u32) -> Option<u32> {
        (ordinal >= self.masters && self.masters > 0)
            .then(|| (ordinal - self.masters) % self.masters)
    }
}

fn to_slot(n: u32) -> u16 {
    u16::try_from(n).expect("slot numbers are below 16384")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis_cluster::nodes::covered;

    fn shape(masters: u32, replicas_per_master: u32) -> Shape {
        Shape {
            masters,
            replicas_per_master,
        }
    }

    #[test]
    fn splits_slots_evenly_with_the_remainder_first() {
        let three = shape(3, 1);
        let ranges: Vec<_> = (0..3).map(|i| three.slots_of(i).unwrap()).collect();
        assert_eq!(
            ranges,
            vec![
                SlotRange {
                    start: 0,
                    end: 5461
                },
                SlotRange {
                    start: 5462,
                    end: 10922
                },
                SlotRange {
                    start: 10923,
                    end: 16383
                },
            ]
        );
        assert_eq!(three.slots_of(3), None);
        for masters in 1..=20 {
            let s = shape(masters, 0);
            let ranges: Vec<_> = (0..masters).map(|i| s.slots_of(i).unwrap()).collect();
            assert_eq!(covered(ranges.iter().copied()), 16384, "{masters} masters");
            let lens: Vec<u32> = ranges.iter().map(|r| r.count()).collect();
            assert!(lens.windows(2).all(|w| w[0] >= w[1] && w[0] - w[1] <= 1));
            assert!(ranges.windows(2).all(|w| w[0].end + 1 == w[1].start));
        }
    }

    #[test]
    fn replicas_go_round_the_masters() {
        let s = shape(3, 2);
        assert_eq!(s.pods(), 9);
        let masters: Vec<_> = (0..9).map(|k| s.master_of(k)).collect();
        assert_eq!(
            masters,
            vec![
                None,
                None,
                None,
                Some(0),
                Some(1),
                Some(2),
                Some(0),
                Some(1),
                Some(2)
            ]
        );
    }
}
