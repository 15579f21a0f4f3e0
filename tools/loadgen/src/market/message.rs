use serde::Deserialize;

use sedaflow_stages::matching::Price;

/// A server frame as it arrives: every field any market-data message has, read in one pass
/// (no buffering of the object by its `type`). Types, symbols and prices are borrowed from
/// the frame: the protocol's characters for them never need a JSON escape.
#[derive(Deserialize)]
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
    let raw: Raw<'_> = serde_json::from_str(text).map_err(|_| Unreadable::Json)?;
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
