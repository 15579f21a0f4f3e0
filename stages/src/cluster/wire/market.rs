//! The market-data payload: the book changes one partition's matching made, in the order it
//! made them, on `<prefix>.market.<partition>`.
//!
//! A message is the version byte, the partition (`u32`), the number of deltas (`u32`), then
//! each [`BookDelta`]: symbol, `seq`, the level count (`u32`) and each level (side, price,
//! total), the trade count (`u32`: a market order may sweep any number) and each trade (match id, price, quantity, taker side,
//! time in milliseconds). Deltas carry their book's `seq`, so a reader tells a re-published
//! one (after a fail-over) from a new one without positions.

use super::{Reader, WireError, VERSION};
use crate::codec::binary::Writer;
use crate::matching::{BookDelta, LevelChange, Trade};

/// One partition's book changes of one round of matching.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MarketBatch {
    pub(crate) partition: u32,
    pub(crate) deltas: Vec<BookDelta>,
}

impl MarketBatch {
    /// Writes `deltas` of `partition` as one message (see [`MarketBatch::split`]).
    pub(crate) fn encode(
        partition: u32,
        deltas: &[BookDelta],
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        out.push(VERSION);
        out.extend_from_slice(&partition.to_le_bytes());
        put_count(out, deltas.len())?;
        for d in deltas {
            let mut w = Writer(out);
            w.symbol(d.symbol);
            w.u64(d.seq);
            put_count(out, d.levels.len())?;
            for l in &d.levels {
                let mut w = Writer(out);
                w.side(l.side);
                w.u64(l.price.ticks());
                w.u64(l.total);
            }
            put_count(out, d.trades.len())?;
            for t in &d.trades {
                let mut w = Writer(out);
                w.u64(t.match_id);
                w.u64(t.price.ticks());
                w.u64(t.qty);
                w.side(t.taker);
                w.u64(t.time_ms);
            }
        }
        Ok(())
    }

    /// Cuts `deltas` into runs whose messages stay near `max` bytes (one delta over it gets
    /// a message of its own).
    pub(crate) fn split(deltas: &[BookDelta], max: usize) -> impl Iterator<Item = &[BookDelta]> {
        let mut rest = deltas;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let mut size = 0;
            let end = rest
                .iter()
                .position(|d| {
                    size += encoded_len(d);
                    size > max
                })
                .map_or(rest.len(), |at| at.max(1));
            let (run, tail) = rest.split_at(end);
            rest = tail;
            Some(run)
        })
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<MarketBatch, WireError> {
        let mut r = Reader::new(bytes, &[VERSION])?;
        let partition = u32::from_le_bytes(r.array()?);
        let n = count(&mut r)?;
        // Each delta takes at least 14 bytes: a count beyond that is a corrupt header, not
        // a reason to reserve gigabytes.
        let mut deltas = Vec::with_capacity(n.min(r.left() / 14));
        for _ in 0..n {
            let symbol = r.symbol()?;
            let seq = r.u64()?;
            let levels = (0..count(&mut r)?)
                .map(|_| {
                    Ok(LevelChange {
                        side: r.side()?,
                        price: r.price()?,
                        total: r.u64()?,
                    })
                })
                .collect::<Result<_, WireError>>()?;
            let trades = (0..count(&mut r)?)
                .map(|_| {
                    Ok(Trade {
                        match_id: r.u64()?,
                        price: r.price()?,
                        qty: r.u64()?,
                        taker: r.side()?,
                        time_ms: r.u64()?,
                    })
                })
                .collect::<Result<_, WireError>>()?;
            deltas.push(BookDelta {
                symbol,
                seq,
                levels,
                trades,
            });
        }
        r.end()?;
        Ok(MarketBatch { partition, deltas })
    }
}

/// What [`MarketBatch::encode`] writes for `d`, give or take the symbol's length.
fn encoded_len(d: &BookDelta) -> usize {
    const SYMBOL: usize = 17;
    SYMBOL + 8 + 4 + d.levels.len() * 17 + 4 + d.trades.len() * 41
}

fn put_count(out: &mut Vec<u8>, n: usize) -> Result<(), WireError> {
    let n = u32::try_from(n).map_err(|_| WireError::Unencodable("more than 2^32 items"))?;
    out.extend_from_slice(&n.to_le_bytes());
    Ok(())
}

fn count(r: &mut Reader<'_>) -> Result<usize, WireError> {
    Ok(u32::from_le_bytes(r.array()?) as usize)
}

#[cfg(test)]
mod tests {
    use smallvec::smallvec;

    use super::*;
    use crate::matching::{Price, Side, Symbol};

    fn sample() -> MarketBatch {
        let sym = |s| Symbol::new(s).expect("symbol");
        let price = |t| Price::from_ticks(t).expect("price");
        MarketBatch {
            partition: 3,
            deltas: vec![
                BookDelta {
                    symbol: sym("ACME"),
                    seq: 7,
                    levels: smallvec![
                        LevelChange {
                            side: Side::Sell,
                            price: price(1005),
                            total: 60,
                        },
                        LevelChange {
                            side: Side::Buy,
                            price: price(1000),
                            total: 0,
                        },
                    ],
                    trades: smallvec![Trade {
                        match_id: 4,
                        price: price(1005),
                        qty: 40,
                        taker: Side::Buy,
                        time_ms: 1_700_000_000_123,
                    }],
                },
                BookDelta {
                    symbol: sym("B"),
                    seq: 1,
                    levels: smallvec![],
                    trades: smallvec![],
                },
            ],
        }
    }

    #[test]
    fn a_batch_reads_back_as_written() {
        let batch = sample();
        let mut bytes = Vec::new();
        MarketBatch::encode(batch.partition, &batch.deltas, &mut bytes).expect("encodable");
        assert_eq!(MarketBatch::decode(&bytes), Ok(batch));
    }

    #[test]
    fn split_runs_cover_every_delta_in_order_within_the_size() {
        let deltas: Vec<BookDelta> = (0..10).flat_map(|_| sample().deltas).collect();
        let one = encoded_len(&deltas[0]) + encoded_len(&deltas[1]);
        let runs: Vec<&[BookDelta]> = MarketBatch::split(&deltas, one).collect();
        assert_eq!(runs.len(), 10);
        assert_eq!(runs.concat(), deltas);
        // A delta larger than the limit still goes, alone.
        let alone: Vec<&[BookDelta]> = MarketBatch::split(&deltas[..3], 1).collect();
        assert_eq!(alone.len(), 3);
        assert_eq!(MarketBatch::split(&[], 1).count(), 0);
    }

    #[test]
    fn damaged_payloads_are_errors_not_panics() {
        let mut bytes = Vec::new();
        let batch = sample();
        MarketBatch::encode(batch.partition, &batch.deltas, &mut bytes).expect("encodable");
        for cut in 0..bytes.len() {
            assert!(MarketBatch::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(MarketBatch::decode(&trailing), Err(WireError::Trailing(1)));
        let mut future = bytes.clone();
        future[0] = 99;
        assert_eq!(MarketBatch::decode(&future), Err(WireError::Version(99)));
        // A count far beyond the bytes does not reserve memory for it.
        let mut huge = bytes[..5].to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(MarketBatch::decode(&huge), Err(WireError::Truncated));
    }
}
