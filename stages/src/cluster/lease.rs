//! Partition leases as pure logic: what a lease says, when one is stale, which partitions a
//! matcher claims or gives up. No IO and no clock of its own: callers pass `now`.
//!
//! A lease is one key-value entry per partition. Its revision is the fencing token: every
//! write is a compare-and-swap on the revision the writer last wrote, so an owner whose
//! revision was superseded learns it at its next write and stops.
//!
//! Staleness is judged by each observer on its own clock: an entry whose revision has not
//! changed for the lease timeout is stale. The timestamp in the value is for operators only,
//! so skewed clocks between machines cannot shorten a lease.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Partition;

/// The value of a partition's lease entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LeaseValue {
    /// The matcher holding the partition; `None` once released.
    pub(crate) owner: Option<String>,
    /// Log sequence up to which every response has been published.
    pub(crate) committed: u64,
    /// Wall-clock milliseconds of the write (informational).
    pub(crate) at_ms: u64,
}

/// What is known of a partition's lease entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LeaseView {
    /// No entry (never claimed, or deleted).
    Absent,
    /// The entry's current revision and value.
    Present { revision: u64, value: LeaseValue },
}

/// How a matcher may take a partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// Create the entry (fails if another creates it first).
    Create,
    /// Replace revision `revision` (released or stale), resuming after `committed`.
    TakeOver { revision: u64, committed: u64 },
}

/// Whether `view` can be claimed by matcher `me`, which does not run the partition, given
/// whether its revision has gone `stale`. A lease `me` still holds is its own to take again at
/// once: its task stopped (a request to NATS failed), and nobody else may take it before it
/// goes stale.
pub(crate) fn claim(view: &LeaseView, stale: bool, me: &str) -> Option<Claim> {
    match view {
        LeaseView::Absent => Some(Claim::Create),
        LeaseView::Present { revision, value }
            if value.owner.is_none() || stale || value.owner.as_deref() == Some(me) =>
        {
            Some(Claim::TakeOver {
                revision: *revision,
                committed: value.committed,
            })
        }
        LeaseView::Present { .. } => None,
    }
}

/// Tracks, per key, since when its revision has not changed.
#[derive(Debug)]
pub(crate) struct Staleness<K> {
    timeout: Duration,
    seen: HashMap<K, (u64, Instant)>,
}

impl<K: Eq + Hash + Clone> Staleness<K> {
    pub(crate) fn new(timeout: Duration) -> Self {
        Staleness {
            timeout,
            seen: HashMap::new(),
        }
    }

    /// Records that `key` has `revision` at `now`; true when that revision is older than the
    /// timeout (a first sighting starts the clock, so a fresh observer waits a full timeout).
    pub(crate) fn observe(&mut self, key: &K, revision: u64, now: Instant) -> bool {
        let entry = self.seen.entry(key.clone()).or_insert((revision, now));
        if entry.0 != revision {
            *entry = (revision, now);
        }
        now.duration_since(entry.1) >= self.timeout
    }

    /// Forgets keys not in `keep` (members that left the bucket).
    pub(crate) fn retain(&mut self, keep: impl Fn(&K) -> bool) {
        self.seen.retain(|k, _| keep(k));
    }
}

/// The partitions a matcher should claim and release this round.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) claim: Vec<Partition>,
    pub(crate) release: Vec<Partition>,
}

/// Each of `members` live matchers (itself included) aims at `ceil(partitions / members)`
/// partitions: below that it claims from `claimable` (in order), above it releases its
/// highest-numbered ones so a joining matcher can take them.
pub(crate) fn plan(
    owned: &[Partition],
    claimable: &[Partition],
    members: usize,
    partitions: u32,
) -> Plan {
    let members = u32::try_from(members.max(1)).unwrap_or(u32::MAX);
    let share = partitions.div_ceil(members) as usize;
    if owned.len() > share {
        let mut mine = owned.to_vec();
        mine.sort_unstable();
        return Plan {
            claim: Vec::new(),
            release: mine.split_off(share),
        };
    }
    Plan {
        claim: claimable
            .iter()
            .copied()
            .filter(|p| !owned.contains(p))
            .take(share - owned.len())
            .collect(),
        release: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(revision: u64, owner: Option<&str>, committed: u64) -> LeaseView {
        LeaseView::Present {
            revision,
            value: LeaseValue {
                owner: owner.map(str::to_owned),
                committed,
                at_ms: 0,
            },
        }
    }

    #[test]
    fn claims_absent_released_stale_or_its_own_leases_only() {
        assert_eq!(claim(&LeaseView::Absent, false, "m2"), Some(Claim::Create));
        assert_eq!(claim(&held(4, Some("m1"), 9), false, "m2"), None);
        assert_eq!(
            claim(&held(4, Some("m1"), 9), false, "m1"),
            Some(Claim::TakeOver {
                revision: 4,
                committed: 9
            }),
            "a lease of its own whose task stopped"
        );
        assert_eq!(
            claim(&held(4, Some("m1"), 9), true, "m2"),
            Some(Claim::TakeOver {
                revision: 4,
                committed: 9
            })
        );
        assert_eq!(
            claim(&held(5, None, 12), false, "m2"),
            Some(Claim::TakeOver {
                revision: 5,
                committed: 12
            })
        );
    }

    #[test]
    fn a_revision_goes_stale_after_the_timeout_unchanged() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut st = Staleness::new(3 * s);
        assert!(!st.observe(&"p0", 1, t0));
        assert!(!st.observe(&"p0", 1, t0 + 2 * s));
        // A heartbeat (new revision) restarts the clock.
        assert!(!st.observe(&"p0", 2, t0 + 2 * s));
        assert!(!st.observe(&"p0", 2, t0 + 4 * s));
        assert!(st.observe(&"p0", 2, t0 + 5 * s));
        st.retain(|k| *k != "p0");
        // Forgotten: a first sighting again.
        assert!(!st.observe(&"p0", 2, t0 + 9 * s));
    }

    #[test]
    fn plans_toward_a_fair_share() {
        // Alone: take everything claimable.
        assert_eq!(
            plan(&[], &[0, 1, 2, 3], 1, 4),
            Plan {
                claim: vec![0, 1, 2, 3],
                release: vec![]
            }
        );
        // A second matcher joined: give up the highest half.
        assert_eq!(
            plan(&[3, 0, 2, 1], &[], 2, 4),
            Plan {
                claim: vec![],
                release: vec![2, 3]
            }
        );
        // The newcomer takes what was released, up to its share.
        assert_eq!(
            plan(&[], &[2, 3], 2, 4),
            Plan {
                claim: vec![2, 3],
                release: vec![]
            }
        );
        // Odd counts: shares round up, so every partition has room.
        assert_eq!(plan(&[0, 1], &[4], 2, 5).claim, vec![4]);
        assert_eq!(plan(&[0, 1, 2], &[4], 2, 5), Plan::default());
    }
}
