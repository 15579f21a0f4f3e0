use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Channel, ErrorReason, Interval, Subscription};
use crate::matching::Symbol;

/// A WebSocket client message, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientMessage {
    /// Start a subscription (again: a fresh start).
    Subscribe(Subscription),
    /// End a subscription.
    Unsubscribe(Subscription),
}

/// The message as it arrives: fields kept as raw JSON, so a wrong type is reported against
/// its field rather than as unreadable JSON.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    op: Option<&'a RawValue>,
    #[serde(borrow)]
    channel: Option<&'a RawValue>,
    #[serde(borrow)]
    symbol: Option<&'a RawValue>,
    #[serde(borrow)]
    interval: Option<&'a RawValue>,
}

/// Reads one WebSocket text frame as a [`ClientMessage`].
///
/// Checked in this order, the first failure deciding: JSON object, `op`, `channel`,
/// `symbol`, `interval` (only for `kline`; other channels ignore it). Unknown fields are
/// ignored; a `null` field counts as missing.
///
/// # Errors
///
/// [`ErrorReason::InvalidJson`] for anything but a JSON object (a repeated field included),
/// [`ErrorReason::UnknownOp`], [`ErrorReason::UnknownChannel`],
/// [`ErrorReason::InvalidSymbol`] and [`ErrorReason::InvalidInterval`] for a missing or
/// wrong field.
///
/// # Examples
///
/// ```
/// use sedaflow_stages::market::{parse_client_message, Channel, ClientMessage, ErrorReason, Interval};
///
/// let frame = br#"{"op":"subscribe","channel":"kline","symbol":"ACME","interval":"1m"}"#;
/// let Ok(ClientMessage::Subscribe(subscription)) = parse_client_message(frame) else {
///     panic!("not a subscribe");
/// };
/// assert_eq!(subscription.channel, Channel::Kline(Interval::Minute));
///
/// let frame = br#"{"op":"subscribe","channel":"kline","symbol":"ACME"}"#;
/// assert_eq!(parse_client_message(frame), Err(ErrorReason::InvalidInterval));
/// ```
pub fn parse_client_message(frame: &[u8]) -> Result<ClientMessage, ErrorReason> {
    let text = std::str::from_utf8(frame).map_err(|_| ErrorReason::InvalidJson)?;
    // serde would also read a struct from an array.
    if !text.trim_start().starts_with('{') {
        return Err(ErrorReason::InvalidJson);
    }
    let wire: Wire<'_> = serde_json::from_str(text).map_err(|_| ErrorReason::InvalidJson)?;
    let subscribe = match text_of(wire.op).as_deref() {
        Some("subscribe") => true,
        Some("unsubscribe") => false,
        _ => return Err(ErrorReason::UnknownOp),
    };
    // `None`: `kline`, whose interval is checked after the symbol.
    let channel = match text_of(wire.channel).as_deref() {
        Some("trades") => Some(Channel::Trades),
        Some("bbo") => Some(Channel::Bbo),
        Some("depth") => Some(Channel::Depth),
        Some("kline") => None,
        _ => return Err(ErrorReason::UnknownChannel),
    };
    let symbol = text_of(wire.symbol)
        .and_then(|text| Symbol::new(&text).ok())
        .ok_or(ErrorReason::InvalidSymbol)?;
    let channel = match channel {
        Some(channel) => channel,
        None => text_of(wire.interval)
            .and_then(|text| Interval::parse(&text))
            .map(Channel::Kline)
            .ok_or(ErrorReason::InvalidInterval)?,
    };
    let subscription = Subscription { channel, symbol };
    Ok(if subscribe {
        ClientMessage::Subscribe(subscription)
    } else {
        ClientMessage::Unsubscribe(subscription)
    })
}

/// The text of a JSON string field, unescaped; `None` when missing, `null` or not a string.
fn text_of(raw: Option<&RawValue>) -> Option<Cow<'_, str>> {
    serde_json::from_str(raw?.get()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(frame: &str) -> Result<ClientMessage, ErrorReason> {
        parse_client_message(frame.as_bytes())
    }

    fn acme(channel: Channel) -> Subscription {
        Subscription {
            channel,
            symbol: Symbol::new("ACME").unwrap(),
        }
    }

    #[test]
    fn reads_every_channel() {
        let cases = [
            (
                r#"{"op":"subscribe","channel":"trades","symbol":"ACME"}"#,
                ClientMessage::Subscribe(acme(Channel::Trades)),
            ),
            (
                r#"{"op":"subscribe","channel":"bbo","symbol":"ACME","interval":"zz"}"#,
                ClientMessage::Subscribe(acme(Channel::Bbo)),
            ),
            (
                r#"{"op":"unsubscribe","channel":"depth","symbol":"ACME","x":[1]}"#,
                ClientMessage::Unsubscribe(acme(Channel::Depth)),
            ),
            (
                r#" {"symbol":"ACME","interval":"1h","channel":"kline","op":"unsubscribe"} "#,
                ClientMessage::Unsubscribe(acme(Channel::Kline(Interval::Hour))),
            ),
            (
                r#"{"op":"subscribe","channel":"kline","symbol":"ACME","interval":"5m"}"#,
                ClientMessage::Subscribe(acme(Channel::Kline(Interval::FiveMinutes))),
            ),
            (
                r#"{"op":"sub\u0073cribe","channel":"trades","symbol":"ACME"}"#,
                ClientMessage::Subscribe(acme(Channel::Trades)),
            ),
        ];
        for (frame, message) in cases {
            assert_eq!(parse(frame), Ok(message), "{frame}");
        }
    }

    #[test]
    fn names_the_first_wrong_field() {
        let cases = [
            ("", ErrorReason::InvalidJson),
            ("{", ErrorReason::InvalidJson),
            ("[1]", ErrorReason::InvalidJson),
            ("[null,null,null,null]", ErrorReason::InvalidJson),
            ("\"subscribe\"", ErrorReason::InvalidJson),
            (
                r#"{"op":"subscribe","op":"subscribe"}"#,
                ErrorReason::InvalidJson,
            ),
            ("{}", ErrorReason::UnknownOp),
            (r#"{"op":"ping","channel":"nope"}"#, ErrorReason::UnknownOp),
            (r#"{"op":1}"#, ErrorReason::UnknownOp),
            (
                r#"{"op":"subscribe","symbol":"acme"}"#,
                ErrorReason::UnknownChannel,
            ),
            (
                r#"{"op":"subscribe","channel":"book","symbol":"ACME"}"#,
                ErrorReason::UnknownChannel,
            ),
            (
                r#"{"op":"subscribe","channel":"depth"}"#,
                ErrorReason::InvalidSymbol,
            ),
            (
                r#"{"op":"subscribe","channel":"depth","symbol":"acme"}"#,
                ErrorReason::InvalidSymbol,
            ),
            (
                r#"{"op":"subscribe","channel":"depth","symbol":null}"#,
                ErrorReason::InvalidSymbol,
            ),
            (
                r#"{"op":"subscribe","channel":"kline","symbol":"ACME","interval":"1d"}"#,
                ErrorReason::InvalidInterval,
            ),
            (
                r#"{"op":"subscribe","channel":"kline","symbol":"ACME","interval":60}"#,
                ErrorReason::InvalidInterval,
            ),
        ];
        for (frame, reason) in cases {
            assert_eq!(parse(frame), Err(reason), "{frame}");
        }
        assert_eq!(parse_client_message(b"\xff"), Err(ErrorReason::InvalidJson));
    }
}
