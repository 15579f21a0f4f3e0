//! The market page at `GET /`: one self-contained HTML file (`page/market.html`, script and
//! style inline, nothing loaded from elsewhere) that draws one symbol's depth and candles,
//! live from `GET /ws` and the HTTP snapshots.
//!
//! The page takes its symbol from `?symbol=` and its interval from `?interval=`. Without a
//! symbol it shows the most recently traded one, which the server writes into the page's
//! `sedaflow-default-symbol` meta tag when serving it: the contract has no request for it.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use hyper::Response;

use super::market::Market;
use crate::matching::Symbol;

const PAGE: &str = include_str!("page/market.html");

/// The tag the default symbol is written into, as the file has it.
const DEFAULT_SYMBOL: &str = r#"<meta name="sedaflow-default-symbol" content="">"#;

/// The page may run its own inline script and style and talk to this server only: a gateway's
/// page must not pull in code from elsewhere, whatever a market message contains.
const POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
    style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; \
    form-action 'self'";

/// Answers `GET /` with the page, its default symbol filled in.
pub(super) async fn serve(market: &Market) -> Response<Full<Bytes>> {
    let body = render(market.last_traded().await);
    let mut r = Response::new(Full::new(Bytes::from(body)));
    let headers = r.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The default symbol changes as trading goes on.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    r
}

/// The page with `default` as its default symbol (none: the page asks for one).
fn render(default: Option<Symbol>) -> String {
    match default {
        // A symbol is `A–Z 0–9 . _ -` only: nothing in it needs escaping in an attribute.
        Some(symbol) => PAGE.replacen(
            DEFAULT_SYMBOL,
            &format!(r#"<meta name="sedaflow-default-symbol" content="{symbol}">"#),
            1,
        ),
        None => PAGE.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_symbol_is_written_into_its_tag() {
        let symbol = Symbol::new("ACME.X").unwrap();
        let page = render(Some(symbol));
        assert!(page.contains(r#"<meta name="sedaflow-default-symbol" content="ACME.X">"#));
        assert!(!page.contains(DEFAULT_SYMBOL));
        assert_eq!(render(None), PAGE);
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        assert_eq!(PAGE.matches(DEFAULT_SYMBOL).count(), 1);
        for outside in ["http://", "https://", "src=", "@import", "url("] {
            assert!(!PAGE.contains(outside), "the page refers to {outside}");
        }
    }
}
