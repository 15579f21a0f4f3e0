use serde::Deserialize;

use sedaflow_stages::codec::scan_flat;
use sedaflow_stages::matching::Price;

/// A server frame as it arrives: every field any market-data message has, read in one pass
/// (no buffering of the object by its `type`). Types, symbols and prices are borrowed from
/// the frame: the protocol's characters for them never need a JSON escape.
#[derive(Default, Deserialize)]
struct Raw<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    symbol: Option<&'a str>,
    seq: Option<u64>,
    first_seq: Option<u64>,
    #[serde(rename = "match")]
    match_id: Option<u64>,
    time: Option<u64>,
    #[serde(borrow)]
    bids: Option<Vec<(&'a str, u64)>>,
    #[serde(borrow)]
    asks: Option<Vec<(&'a str, u64)>>,
    reason: Option<String>,
}

/// Price levels as a depth message lists them: price and total quantity, `0` for a level
/// that is gone (updates only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Levels {
    pub(crate) bids: Vec<(Price, u64)>,
    pub(crate) asks: Vec<(Price, u64)>,
}

/// The server messages a depth-and-trades subscriber acts on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// `depth`: the whole book at `seq`.
    Depth {
        symbol: &'a str,
        seq: u64,
        levels: Levels,
    },
    /// `depth_update`: the levels changed over `first_seq..=seq`.
    Update {
        symbol: &'a str,
        first_seq: u64,
        seq: u64,
        levels: Levels,
    },
    /// `trade`: trade `match_id` of `symbol`, made at `time_ms` (ms since the epoch).
    Trade {
        symbol: &'a str,
        match_id: u64,
        time_ms: u64,
    },
    /// `error` with its reason.
    Error(String),
    /// Anything else the protocol defines (`subscribed`, `bbo`, `kline`, …).
    Other,
}

/// Why a frame could not be read as a market-data message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unreadable {
    /// Not JSON, or a field of the wrong type.
    Json,
    /// A field the message's type requires is missing.
    Missing(&'static str),
    /// A level's price is not a protocol price.
    Price,
}

/// Reads one text frame.
pub(crate) fn parse(text: &str) -> Result<Frame<'_>, Unreadable> {
    match scan(text) {
        Some(raw) => interpret(raw),
        None => parse_fully(text),
    }
}

/// [`parse`] by the full JSON parser alone.
fn parse_fully(text: &str) -> Result<Frame<'_>, Unreadable> {
    interpret(serde_json::from_str(text).map_err(|_| Unreadable::Json)?)
}

fn interpret(raw: Raw<'_>) -> Result<Frame<'_>, Unreadable> {
    let symbol = || raw.symbol.ok_or(Unreadable::Missing("symbol"));
    let seq = raw.seq.ok_or(Unreadable::Missing("seq"));
    Ok(match raw.kind {
        "depth" => Frame::Depth {
            symbol: symbol()?,
            seq: seq?,
            levels: levels(&raw)?,
        },
        "depth_update" => Frame::Update {
            symbol: symbol()?,
            first_seq: raw.first_seq.ok_or(Unreadable::Missing("first_seq"))?,
            seq: seq?,
            levels: levels(&raw)?,
        },
        "trade" => Frame::Trade {
            symbol: symbol()?,
            match_id: raw.match_id.ok_or(Unreadable::Missing("match"))?,
            time_ms: raw.time.ok_or(Unreadable::Missing("time"))?,
        },
        "error" => Frame::Error(raw.reason.ok_or(Unreadable::Missing("reason"))?),
        _ => Frame::Other,
    })
}

/// [`Raw`] of a flat frame (a trade, an answer; every message but depth and bbo) read by
/// the codec's one-pass scanner, which is several times cheaper than the full parser: trades
/// are nearly all a subscriber reads. `None` for any other shape, and for anything the full
/// parser might read differently (a repeated field, a `null`, a value of the wrong type): the
/// full parser then reads it, so both paths always agree.
fn scan(text: &str) -> Option<Raw<'_>> {
    let mut raw = Raw::default();
    let mut kind = None;
    scan_flat(text, |key, value| {
        let string = || value.strip_prefix('"')?.strip_suffix('"');
        let number = |slot: &mut Option<u64>| match slot {
            Some(_) => None,
            None => {
                *slot = Some(value.parse().ok()?);
                Some(())
            }
        };
        match key {
            "type" if kind.is_none() => kind = Some(string()?),
            "symbol" if raw.symbol.is_none() => raw.symbol = Some(string()?),
            "reason" if raw.reason.is_none() => raw.reason = Some(string()?.to_owned()),
            "seq" => number(&mut raw.seq)?,
            "first_seq" => number(&mut raw.first_seq)?,
            "match" => number(&mut raw.match_id)?,
            "time" => number(&mut raw.time)?,
            "type" | "symbol" | "reason" | "bids" | "asks" => return None,
            _ => {}
        }
        Some(())
    })?;
    raw.kind = kind?;
    Some(raw)
}

fn levels(raw: &Raw<'_>) -> Result<Levels, Unreadable> {
    let side = |levels: &Option<Vec<(&str, u64)>>, name| {
        levels
            .as_deref()
            .ok_or(Unreadable::Missing(name))?
            .iter()
            .map(|(price, qty)| Ok((Price::parse(price).map_err(|_| Unreadable::Price)?, *qty)))
            .collect::<Result<Vec<_>, Unreadable>>()
    };
    Ok(Levels {
        bids: side(&raw.bids, "bids")?,
        asks: side(&raw.asks, "asks")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(text: &str) -> Price {
        Price::parse(text).unwrap()
    }

    #[test]
    fn reads_the_contracts_messages() {
        let depth = parse(
            r#"{"type":"depth","symbol":"ACME","seq":12,"bids":[["10",300],["9.99",100]],"asks":[["10.05",60]]}"#,
        );
        assert_eq!(
            depth,
            Ok(Frame::Depth {
                symbol: "ACME",
                seq: 12,
                levels: Levels {
                    bids: vec![(price("10"), 300), (price("9.99"), 100)],
                    asks: vec![(price("10.05"), 60)],
                },
            })
        );
        let update = parse(
            r#"{"type":"depth_update","symbol":"ACME","first_seq":13,"seq":14,"bids":[["10",250]],"asks":[["10.05",0]]}"#,
        );
        assert!(matches!(
            update,
            Ok(Frame::Update { first_seq: 13, seq: 14, ref levels, .. })
                if levels.asks == [(price("10.05"), 0)]
        ));
        let trade = parse(
            r#"{"type":"trade","symbol":"ACME","match":1,"price":"10.05","qty":40,"taker":"buy","time":1700000000000}"#,
        );
        assert_eq!(
            trade,
            Ok(Frame::Trade {
                symbol: "ACME",
                match_id: 1,
                time_ms: 1_700_000_000_000
            })
        );
        assert_eq!(
            parse(r#"{"type":"error","reason":"slow consumer"}"#),
            Ok(Frame::Error("slow consumer".into()))
        );
        assert_eq!(
            parse(r#"{"type":"subscribed","channel":"depth","symbol":"ACME"}"#),
            Ok(Frame::Other)
        );
    }

    #[test]
    fn the_scanner_reads_what_the_full_parser_reads() {
        let frames = [
            r#"{"type":"trade","symbol":"ACME","match":1,"price":"10.05","qty":40,"taker":"buy","time":1700000000000}"#,
            r#" { "time" : 5 , "match":2, "symbol":"A","type":"trade" } "#,
            r#"{"type":"error","reason":"slow consumer"}"#,
            r#"{"type":"subscribed","channel":"depth","symbol":"ACME"}"#,
            r#"{"type":"depth","symbol":"ACME","seq":12,"bids":[["10",300]],"asks":[]}"#,
            r#"{"type":"depth_update","symbol":"A","first_seq":3,"seq":4,"bids":[],"asks":[]}"#,
            // Each of these the scanner leaves to the full parser.
            r#"{"type":"trade","symbol":"A","match":1,"match":2,"time":1}"#,
            r#"{"type":"trade","symbol":"A","match":null,"time":1}"#,
            r#"{"type":"trade","symbol":"A","match":1.5,"time":1}"#,
            r#"{"type":"trade","symbol":"A","match":-1,"time":1}"#,
            r#"{"type":"trade","symbol":7,"match":1,"time":1}"#,
            r#"{"type":"trade","symbol":"A\u0042","match":1,"time":1}"#,
            r#"{"type":"error","reason":"x","reason":"y"}"#,
            r#"{"type":"depth","symbol":"A","seq":1,"bids":null,"asks":[]}"#,
            r#"{"symbol":"A","match":1,"time":1}"#,
            r#"{"type":"trade","symbol":"A","match":1,"time":1"#,
        ];
        for text in frames {
            assert_eq!(parse(text), parse_fully(text), "{text}");
        }
        assert!(scan(frames[0]).is_some() && scan(frames[1]).is_some());
        for text in &frames[6..] {
            assert!(scan(text).is_none(), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_message() {
        assert_eq!(parse("not json"), Err(Unreadable::Json));
        assert_eq!(
            parse(r#"{"type":"depth","symbol":"A","bids":[],"asks":[]}"#),
            Err(Unreadable::Missing("seq"))
        );
        assert_eq!(
            parse(r#"{"type":"trade","symbol":"A","time":1}"#),
            Err(Unreadable::Missing("match"))
        );
        assert_eq!(
            parse(r#"{"type":"depth","symbol":"A","seq":1,"bids":[["-1",5]],"asks":[]}"#),
            Err(Unreadable::Price)
        );
    }
}
