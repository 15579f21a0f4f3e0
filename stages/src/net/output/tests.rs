//! Scopes and consolidation end to end: connections on sockets, written by scopes, held by
//! network threads, and handed over to the flusher. (Only these tests name `Conn` here.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::held::{HOLD_READS, QUIET};
use super::socket::tests::connected;
use super::{deferring, Consolidation, Outgoing};
use crate::codec::encode_line;
use crate::codec::Response;
use crate::internal_events::ServerMetrics;
use crate::matching::ReportKind;
use crate::net::conn::{Conn, Sink};
use crate::pipeline::{Client, ConnId, Reply};

/// A connection on a connected socket, with its client.
async fn conn(id: ConnId) -> (TcpStream, Arc<TcpStream>, Arc<Conn>) {
    let (client, rd, out) = connected().await;
    let metrics = ServerMetrics::register();
    let conn = Conn::new(id, Sink::Socket(out), usize::MAX, metrics);
    (client, rd, Arc::new(conn))
}

fn fill(maker: &Arc<Conn>) {
    maker.send(Outgoing::Notify {
        lines: b"fill\n".to_vec(),
    });
}

/// This thread as a network thread, and the flusher on this runtime.
fn network_thread() -> Arc<Consolidation> {
    let threads = Arc::new(Consolidation::default());
    threads.resumed();
    tokio::spawn(threads.clone().flusher());
    threads
}

/// Waits (up to 5 s) until `conn` has no output left to write.
async fn written(conn: &Conn) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while conn.pending() > 0 {
        assert!(Instant::now() < deadline, "output never written");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn a_network_thread_writes_answers_per_batch_and_holds_reports_for_the_flusher() {
    let (mut maker_client, _m, maker) = conn(1).await;
    let (mut taker_client, _t, taker) = conn(2).await;
    taker.note_read(1);
    let threads = network_thread();
    deferring(|| {
        // An encode batch inside the read: the taker awaits its answer, nobody the fill.
        deferring(|| {
            fill(&maker);
            taker.clone().reply(0, Instant::now(), &[Response::Pong]);
        });
        assert_eq!(taker.pending(), 0, "the answer waited for the read's end");
        assert_eq!(maker.pending(), 5);
    });
    assert_eq!(maker.pending(), 5, "the fill was written on its own");
    // The thread goes idle: it hands the fill over, and the flusher writes it.
    threads.idle();
    assert_eq!(
        maker.pending(),
        5,
        "the fill was written as the thread went idle"
    );
    written(&maker).await;
    let mut got = vec![0u8; 5];
    maker_client.read_exact(&mut got).await.unwrap();
    assert_eq!(got, b"fill\n");
    let mut got = vec![0u8; 16];
    taker_client.read_exact(&mut got).await.unwrap();
    assert_eq!(got, b"{\"type\":\"pong\"}\n");
}

#[tokio::test]
async fn a_thread_that_slept_through_its_last_idle_spell_writes_held_reports_at_once() {
    let (_client, _rd, maker) = conn(1).await;
    let threads = Arc::new(Consolidation::default());
    threads.resumed();
    threads.idle();
    std::thread::sleep(QUIET);
    threads.resumed();
    deferring(|| fill(&maker));
    threads.idle();
    assert_eq!(
        maker.pending(),
        0,
        "a quiet server's reports waited for the flusher"
    );
}

#[tokio::test]
async fn held_reports_go_out_within_a_bounded_number_of_reads() {
    let (_client, _rd, maker) = conn(1).await;
    let _threads = network_thread();
    deferring(|| fill(&maker));
    for _ in 2..HOLD_READS {
        deferring(|| ());
        assert_eq!(maker.pending(), 5);
    }
    deferring(|| ());
    assert_eq!(maker.pending(), 0);
}

#[tokio::test]
async fn reports_an_idle_thread_handed_over_go_out_with_a_running_threads_reads() {
    let (_client, _rd, maker) = conn(1).await;
    let threads = Arc::new(Consolidation::default());
    threads.resumed();
    deferring(|| fill(&maker));
    threads.idle();
    assert_eq!(maker.pending(), 5);
    // Another network thread (no flusher here) writes it within a bounded number of reads.
    let running = threads.clone();
    std::thread::spawn(move || {
        running.resumed();
        for _ in 0..HOLD_READS {
            deferring(|| ());
        }
    })
    .join()
    .unwrap();
    assert_eq!(maker.pending(), 0);
}

#[tokio::test]
async fn without_consolidation_reports_go_out_when_the_scope_ends() {
    let (_client, _rd, maker) = conn(1).await;
    deferring(|| {
        fill(&maker);
        assert_eq!(maker.pending(), 5);
    });
    assert_eq!(maker.pending(), 0);
}

#[tokio::test]
async fn a_run_of_answers_is_filed_at_once_and_leaves_in_request_order_with_its_read() {
    let (mut client, _rd, conn) = conn(1).await;
    conn.note_read(3);
    let ack = |id: u64| Reply {
        seq: id,
        read_at: Instant::now(),
        responses: vec![Response::Report(ReportKind::Ack { id })],
    };
    // Out of order, and the read's third answer still to come: nothing leaves yet.
    conn.clone().reply_run(&[ack(1), ack(0)]);
    assert!(conn.pending() > 0);
    conn.clone().reply_run(&[ack(2)]);
    written(&conn).await;
    let mut expected = Vec::new();
    for id in 0..3 {
        encode_line(&Response::Report(ReportKind::Ack { id }), &mut expected);
    }
    let mut got = vec![0; expected.len()];
    client.read_exact(&mut got).await.unwrap();
    assert_eq!(got, expected);
}
