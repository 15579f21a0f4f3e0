//! A field's value as written on the wire: the text of one JSON token, borrowed from the
//! frame, so every rule judges a field on its exact text (a wrong type is reported against
//! its field, numbers never pass through a float).

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// One JSON value's text, as written (a string with its quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    pub(super) fn get(self) -> &'a str {
        self.0
    }

    /// The field as [`scan_flat`](super::scan_flat) hands it over: `null` counts as missing,
    /// as it does through serde.
    pub(super) fn scanned(text: &'a str) -> Option<Raw<'a>> {
        (text != "null").then_some(Raw(text))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Raw<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(deserializer).map(|raw| Raw(raw.get()))
    }
}

/// The text of a JSON string token, unescaped; `None` for any other token.
pub(super) fn json_str(raw: Raw<'_>) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}
