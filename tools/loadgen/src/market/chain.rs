/// How a sequence broke: the first message that does not continue it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Break {
    /// A `depth_update` before the subscription's snapshot.
    NoSnapshot,
    /// A second `depth` snapshot: the protocol sends one per subscribe and none after a
    /// gap (there must be no gap).
    Resnapshot { seq: u64 },
    /// A `depth_update` whose `first_seq`, or a trade whose `match`, is not the one after
    /// the previous message's.
    Gap { expected: u64, got: u64 },
    /// A `depth_update` whose `seq` is below its `first_seq`.
    Backwards { first_seq: u64, seq: u64 },
}

/// One symbol's depth sequence as a subscriber sees it: the snapshot's `seq`, then each
/// update's `first_seq` must be the previous `seq` + 1.
///
/// After a break the chain goes on from the breaking message, so one lost message counts
/// once, not once per later message.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DepthChain {
    seq: Option<u64>,
}

impl DepthChain {
    /// The `seq` of the state the chain has reached, once it has a snapshot.
    pub(crate) fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// A `depth` snapshot at `seq`.
    pub(crate) fn snapshot(&mut self, seq: u64) -> Result<(), Break> {
        let first = self.seq.is_none();
        self.seq = Some(seq);
        if first {
            Ok(())
        } else {
            Err(Break::Resnapshot { seq })
        }
    }

    /// A `depth_update` over `first_seq..=seq`.
    pub(crate) fn update(&mut self, first_seq: u64, seq: u64) -> Result<(), Break> {
        let previous = self.seq.replace(seq);
        if seq < first_seq {
            return Err(Break::Backwards { first_seq, seq });
        }
        let expected = previous.ok_or(Break::NoSnapshot)? + 1;
        if first_seq == expected {
            Ok(())
        } else {
            Err(Break::Gap {
                expected,
                got: first_seq,
            })
        }
    }
}

/// One symbol's trades as a subscriber sees them: the first may have any `match` (trades
/// start with the next trade after subscribing), each later one the previous `match` + 1.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TradeChain {
    last: Option<u64>,
}

impl TradeChain {
    /// The `match` of the last trade seen.
    pub(crate) fn last(&self) -> Option<u64> {
        self.last
    }

    /// Trade `match_id`.
    pub(crate) fn trade(&mut self, match_id: u64) -> Result<(), Break> {
        match self.last.replace(match_id) {
            Some(last) if match_id != last + 1 => Err(Break::Gap {
                expected: last + 1,
                got: match_id,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unbroken_depth_chain_passes_merged_updates_included() {
        let mut chain = DepthChain::default();
        assert_eq!(chain.seq(), None);
        assert_eq!(chain.snapshot(12), Ok(()));
        assert_eq!(chain.update(13, 13), Ok(()));
        // A slow subscriber's merged update spans several steps.
        assert_eq!(chain.update(14, 20), Ok(()));
        assert_eq!(chain.update(21, 21), Ok(()));
        assert_eq!(chain.seq(), Some(21));
    }

    #[test]
    fn a_gapped_depth_chain_breaks_once_per_gap() {
        let mut chain = DepthChain::default();
        chain.snapshot(0).unwrap();
        chain.update(1, 1).unwrap();
        assert_eq!(
            chain.update(3, 3),
            Err(Break::Gap {
                expected: 2,
                got: 3
            })
        );
        // It goes on from the breaking update.
        assert_eq!(chain.update(4, 5), Ok(()));
        // An update that repeats a step already seen is a break too.
        assert_eq!(
            chain.update(5, 6),
            Err(Break::Gap {
                expected: 6,
                got: 5
            })
        );
    }

    #[test]
    fn updates_before_a_snapshot_second_snapshots_and_backwards_ranges_break() {
        let mut chain = DepthChain::default();
        assert_eq!(chain.update(1, 1), Err(Break::NoSnapshot));
        let mut chain = DepthChain::default();
        chain.snapshot(4).unwrap();
        assert_eq!(chain.snapshot(9), Err(Break::Resnapshot { seq: 9 }));
        assert_eq!(
            chain.update(10, 8),
            Err(Break::Backwards {
                first_seq: 10,
                seq: 8
            })
        );
    }

    #[test]
    fn trades_start_anywhere_then_go_up_by_one() {
        let mut trades = TradeChain::default();
        assert_eq!(trades.trade(41), Ok(()));
        assert_eq!(trades.trade(42), Ok(()));
        assert_eq!(
            trades.trade(44),
            Err(Break::Gap {
                expected: 43,
                got: 44
            })
        );
        assert_eq!(
            trades.trade(44),
            Err(Break::Gap {
                expected: 45,
                got: 44
            })
        );
        assert_eq!(trades.last(), Some(44));
    }
}
