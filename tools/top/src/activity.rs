//! The server-wide lines under the header: accounts (logins, sessions, cancel-on-disconnect)
//! and market data (WebSocket subscribers, what they were sent, conflation, slow consumers,
//! fan-out per channel). Each is shown only when the server exports its metrics (a matcher
//! has no sessions, a server without market data no subscribers). Pure.

use crate::model::Delta;

/// The market-data channels, in the order shown.
pub const CHANNELS: [&str; 4] = ["trades", "bbo", "depth", "kline"];

/// Logins and sessions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounts {
    /// Successful logins per second.
    pub logins_ok_per_s: f64,
    /// Failed logins (unknown account, wrong key, invalid name) per second.
    pub logins_failed_per_s: f64,
    /// Live logged-in sessions.
    pub named_sessions: f64,
    /// Live anonymous sessions (`open` mode).
    pub anonymous_sessions: f64,
    /// Named accounts with at least one live session.
    pub accounts: f64,
    /// `cancel_all`s made for accounts whose last session closed, per second.
    pub disconnect_cancels_per_s: f64,
    /// The same, since the server started.
    pub disconnect_cancels: f64,
}

impl Accounts {
    /// `None` when the server exports no account metrics.
    pub(crate) fn from(d: &Delta<'_>) -> Option<Accounts> {
        let now = |name: &str, filter: &[(&str, &str)]| d.current.sum(name, filter);
        now("sedaflow_sessions", &[]).or(now("sedaflow_logins_total", &[]))?;
        let sessions = |kind| now("sedaflow_sessions", &[("kind", kind)]).unwrap_or(0.0);
        Some(Accounts {
            logins_ok_per_s: d.rate("sedaflow_logins_total", &[("result", "ok")]),
            logins_failed_per_s: d.rate("sedaflow_logins_total", &[("result", "failed")]),
            named_sessions: sessions("named"),
            anonymous_sessions: sessions("anonymous"),
            accounts: now("sedaflow_accounts_with_sessions", &[]).unwrap_or(0.0),
            disconnect_cancels_per_s: d.rate("sedaflow_disconnect_cancels_total", &[]),
            disconnect_cancels: now("sedaflow_disconnect_cancels_total", &[]).unwrap_or(0.0),
        })
    }
}

/// WebSocket market data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MarketData {
    /// Open subscriber connections.
    pub subscribers: f64,
    /// Messages written to subscribers per second.
    pub messages_per_s: f64,
    /// Bytes written to subscribers per second.
    pub bytes_per_s: f64,
    /// Updates merged into (or replacing) a subscriber's unsent one, per second.
    pub conflated_per_s: f64,
    /// Subscribers closed as slow consumers per second.
    pub slow_closed_per_s: f64,
    /// The same, since the server started.
    pub slow_closed: f64,
    /// Updates handed to subscribers per second, by channel in [`CHANNELS`] order.
    pub fanout_per_s: [f64; 4],
}

impl MarketData {
    /// `None` when the server exports no market-data metrics.
    pub(crate) fn from(d: &Delta<'_>) -> Option<MarketData> {
        let subscribers = d.current.sum("sedaflow_market_subscribers", &[])?;
        Some(MarketData {
            subscribers,
            messages_per_s: d.rate("sedaflow_market_messages_sent_total", &[]),
            bytes_per_s: d.rate("sedaflow_market_bytes_sent_total", &[]),
            conflated_per_s: d.rate("sedaflow_market_conflated_total", &[]),
            slow_closed_per_s: d.rate("sedaflow_market_slow_consumers_total", &[]),
            slow_closed: d
                .current
                .sum("sedaflow_market_slow_consumers_total", &[])
                .unwrap_or(0.0),
            fanout_per_s: CHANNELS
                .map(|channel| d.rate("sedaflow_market_fanout_total", &[("channel", channel)])),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::model::View;
    use crate::parse::Scrape;

    fn scrape(text: &str) -> Scrape {
        Scrape::parse(text).expect("valid exposition")
    }

    #[test]
    fn absent_metrics_show_no_line() {
        let s = scrape("sedaflow_server_connections 1\n");
        let v = View::between(&s, &s, Duration::from_secs(1));
        assert_eq!((v.accounts, v.market), (None, None));
    }

    #[test]
    fn rates_by_label_and_gauges_as_they_are() {
        let before = scrape(
            "sedaflow_logins_total{result=\"ok\"} 10\n\
             sedaflow_logins_total{result=\"failed\"} 2\n\
             sedaflow_sessions{kind=\"named\"} 3\n\
             sedaflow_market_subscribers 5\n\
             sedaflow_market_fanout_total{channel=\"depth\"} 100\n\
             sedaflow_market_fanout_total{channel=\"trades\"} 10\n",
        );
        let after = scrape(
            "sedaflow_logins_total{result=\"ok\"} 30\n\
             sedaflow_logins_total{result=\"failed\"} 8\n\
             sedaflow_sessions{kind=\"named\"} 4\n\
             sedaflow_sessions{kind=\"anonymous\"} 1\n\
             sedaflow_market_subscribers 6\n\
             sedaflow_market_fanout_total{channel=\"depth\"} 300\n\
             sedaflow_market_fanout_total{channel=\"trades\"} 10\n",
        );
        let v = View::between(&before, &after, Duration::from_secs(2));
        let a = v.accounts.expect("account metrics present");
        assert_eq!((a.logins_ok_per_s, a.logins_failed_per_s), (10.0, 3.0));
        assert_eq!((a.named_sessions, a.anonymous_sessions), (4.0, 1.0));
        let m = v.market.expect("market metrics present");
        assert_eq!(m.subscribers, 6.0);
        // trades, bbo (absent), depth, kline (absent)
        assert_eq!(m.fanout_per_s, [0.0, 0.0, 100.0, 0.0]);
    }
}
