//! The server's final report accounts for the network stages like any other: every request
//! read is handed on or refused, every byte taken in for a socket is written or dropped, and
//! the counts are still there after the event loops have stopped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sedaflow_stages::{Server, ServerConfig};

#[test]
fn the_final_report_balances_the_network_stages() {
    const ORDERS: u64 = 200;
    let mut config = ServerConfig::default();
    let any_port = "127.0.0.1:0".parse().unwrap();
    (config.tcp, config.http, config.metrics) = (any_port, any_port, any_port);
    let server = Server::start(config).unwrap();

    let stream = TcpStream::connect(server.tcp_addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut lines = String::new();
    for id in 1..=ORDERS {
        lines.push_str(&format!(
            r#"{{"op":"limit","id":{id},"symbol":"R","side":"buy","price":"1.00","qty":1}}"#
        ));
        lines.push('\n');
    }
    writer.write_all(lines.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut received = 0u64;
    for _ in 0..ORDERS {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.contains(r#""type":"ack""#), "{line}");
        received += line.len() as u64;
    }
    writer.shutdown(std::net::Shutdown::Write).unwrap();
    // The server answers the half-close by closing: EOF after the last answer.
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "nothing after the answers: {rest:?}");

    let report = server.shutdown(Duration::from_secs(5));
    assert!(report.is_balanced(), "{report}");
    let read = report.stage("net_read").expect("net_read in the report");
    assert_eq!(
        (read.enqueued, read.processed, read.rejected),
        (ORDERS, ORDERS, 0)
    );
    let write = report.stage("net_write").expect("net_write in the report");
    assert_eq!((write.processed, write.dropped_oldest), (received, 0));
    assert_eq!(write.enqueued, received);
    let first = &report.stages[0].name;
    let last = &report.stages[report.stages.len() - 1].name;
    assert_eq!((first.as_str(), last.as_str()), ("net_read", "net_write"));
}
