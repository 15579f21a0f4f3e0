//! The lingering close (nginx's `lingering_close`): a session the server ends while its
//! client may still be sending (the server stops, a login failed) discards that input
//! before it closes. Closing a socket with unread input sends a reset instead of an end of
//! stream, and a reset makes the client's kernel drop the answers it has not read yet.

use std::io::ErrorKind::WouldBlock;
use std::time::Duration;

use tokio::net::TcpStream;

/// How long a closing session discards what its client still sends, at most (nginx's
/// `lingering_time`).
const LINGER: Duration = Duration::from_secs(1);

/// The silence that ends a lingering close early (nginx's `lingering_timeout`): a client
/// that sends nothing more leaves nothing unread to turn the close into a reset.
const QUIET: Duration = Duration::from_millis(50);

/// Discards what the client sends on `rd` until its end of stream or [`QUIET`] of silence,
/// at most [`LINGER`]. Called once the answers are written and the write side is shut.
pub(crate) async fn linger(rd: &TcpStream) {
    let mut buf = [0u8; 4096];
    let drain = async {
        loop {
            match rd.try_read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == WouldBlock => {
                    let more = tokio::time::timeout(QUIET, rd.readable()).await;
                    if !matches!(more, Ok(Ok(()))) {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}
