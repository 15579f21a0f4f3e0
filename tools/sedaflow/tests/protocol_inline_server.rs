//! The inline baseline server speaks PROTOCOL.md: the protocol's example, the id rules,
//! errors, blank lines and half-close, over real sockets.

// The baseline is a module of the server benchmark, not a library.
#[path = "../benches/server/inline.rs"]
mod inline;

use std::time::Duration;

use inline::run_inline;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

async fn next_line(reader: &mut BufReader<OwnedReadHalf>) -> String {
    let mut line = String::new();
    let read = tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line));
    read.await
        .expect("a line within 5 s")
        .expect("readable socket");
    line.trim_end().to_owned()
}

async fn send(writer: &mut OwnedWriteHalf, text: &str) {
    writer.write_all(text.as_bytes()).await.unwrap();
}

#[tokio::test]
async fn protocol_example_and_rules() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run_inline(listener, Default::default(), stopped));
    let connect = || async {
        let (read, write) = TcpStream::connect(addr).await.unwrap().into_split();
        (BufReader::new(read), write)
    };
    let (mut a_in, mut a) = connect().await;
    let (mut b_in, mut b) = connect().await;

    send(
        &mut a,
        "{\"op\":\"limit\",\"id\":1,\"symbol\":\"ACME\",\"side\":\"sell\",\"price\":\"10.05\",\"qty\":100}\n",
    )
    .await;
    assert_eq!(next_line(&mut a_in).await, r#"{"type":"ack","id":1}"#);
    send(
        &mut b,
        "{\"op\":\"limit\",\"id\":2,\"symbol\":\"ACME\",\"side\":\"buy\",\"price\":\"10.10\",\"qty\":40}\n",
    )
    .await;
    assert_eq!(next_line(&mut b_in).await, r#"{"type":"ack","id":2}"#);
    assert_eq!(
        next_line(&mut b_in).await,
        r#"{"type":"fill","id":2,"symbol":"ACME","side":"buy","price":"10.05","qty":40,"leaves":0,"match":1}"#
    );
    assert_eq!(
        next_line(&mut a_in).await,
        r#"{"type":"fill","id":1,"symbol":"ACME","side":"sell","price":"10.05","qty":40,"leaves":60,"match":1}"#
    );
    assert_eq!(
        next_line(&mut b_in).await,
        r#"{"type":"done","id":2,"reason":"filled","leaves":0}"#
    );

    // Both id rules fail: `duplicate id` wins. A blank line gets nothing; junk gets `error`.
    send(
        &mut a,
        "{\"op\":\"market\",\"id\":1,\"symbol\":\"ACME\",\"side\":\"buy\",\"qty\":1}\n\n\
         {\"op\":\"cancel\",\"id\":1,\"symbol\":\"ACME\"}\nnope\n",
    )
    .await;
    assert_eq!(
        next_line(&mut a_in).await,
        r#"{"type":"reject","id":1,"reason":"duplicate id"}"#
    );
    assert_eq!(
        next_line(&mut a_in).await,
        r#"{"type":"done","id":1,"reason":"cancelled","leaves":60}"#
    );
    assert_eq!(
        next_line(&mut a_in).await,
        r#"{"type":"error","reason":"invalid json"}"#
    );
    send(
        &mut a,
        "{\"op\":\"limit\",\"id\":1,\"symbol\":\"ACME\",\"side\":\"buy\",\"price\":\"1\",\"qty\":1}\n",
    )
    .await;
    assert_eq!(
        next_line(&mut a_in).await,
        r#"{"type":"reject","id":1,"reason":"id not increasing"}"#
    );

    // Half-close: the answers still come, then the server closes.
    send(&mut b, "{\"op\":\"ping\"}\n").await;
    b.shutdown().await.unwrap();
    assert_eq!(next_line(&mut b_in).await, r#"{"type":"pong"}"#);
    assert_eq!(next_line(&mut b_in).await, "");

    // Shutdown closes the connections still open.
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert_eq!(next_line(&mut a_in).await, "");
}

#[tokio::test]
async fn cancel_by_another_connection_is_an_unknown_order() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(run_inline(
        listener,
        Default::default(),
        std::future::pending::<()>(),
    ));
    let (a_read, mut a) = TcpStream::connect(addr).await.unwrap().into_split();
    let (b_read, mut b) = TcpStream::connect(addr).await.unwrap().into_split();
    let (mut a_in, mut b_in) = (BufReader::new(a_read), BufReader::new(b_read));
    send(
        &mut a,
        "{\"op\":\"limit\",\"id\":5,\"symbol\":\"X\",\"side\":\"buy\",\"price\":2,\"qty\":3}\n",
    )
    .await;
    assert_eq!(next_line(&mut a_in).await, r#"{"type":"ack","id":5}"#);
    // Each connection is an account of its own (protocol v2): only the owner cancels.
    send(&mut b, "{\"op\":\"cancel\",\"id\":5,\"symbol\":\"X\"}\n").await;
    let unknown = r#"{"type":"reject","id":5,"reason":"unknown order"}"#;
    assert_eq!(next_line(&mut b_in).await, unknown);
    send(&mut a, "{\"op\":\"cancel\",\"id\":5,\"symbol\":\"X\"}\n").await;
    let done = r#"{"type":"done","id":5,"reason":"cancelled","leaves":3}"#;
    assert_eq!(next_line(&mut a_in).await, done);
    server.abort();
}
