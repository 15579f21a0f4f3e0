//! The order server against the plain tokio server that decodes, matches and encodes inline
//! per connection, side by side in one run, with the same load generator.
//!
//! `cargo bench -p sedaflow-stages --bench server [-- --quick] [NAME ...]`
//!
//! `NAME`s pick the servers whose names contain one of them (the inline baseline always
//! runs): `-- "stage per queue" journal` compares journaling off and on. For each server: closed loop (8 connections × 16 requests in flight) for the maximum
//! orders/s, then open loop at half of that server's own maximum for latency. Servers run as
//! separate processes (the real binaries); the load generator runs in this process.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sedaflow_stages::loadgen::{self, LoadgenConfig, LoadgenSummary};

struct Target {
    name: &'static str,
    bin: &'static str,
    args: Vec<String>,
}

struct Running {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

fn start(t: &Target) -> Running {
    // Kept for a post-mortem when a run fails (named by server).
    let log = std::env::temp_dir().join(format!(
        "sedaflow-bench-{}.log",
        t.name.replace([' ', '(', ')'], "_")
    ));
    let stderr = std::fs::File::create(&log).map_or_else(|_| Stdio::null(), Stdio::from);
    let mut child = Command::new(t.bin)
        .args(&t.args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", t.bin));
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let addr = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("listening tcp ").map(str::to_owned))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{} printed no `listening tcp` line", t.name));
    // Keep reading: a server whose stdout pipe closes may fail its later writes.
    std::thread::spawn(move || lines.for_each(drop));
    Running { child, addr }
}

fn drive(config: LoadgenConfig) -> LoadgenSummary {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let summary = rt.block_on(loadgen::run(config)).expect("load run");
    assert_eq!(summary.lost, 0, "lost requests");
    summary
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // Cargo passes `--bench` itself; other words pick servers.
    let picks: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let secs = if quick { 2 } else { 5 };
    let fused = std::env::temp_dir().join(format!("sedaflow-fused-{}.toml", std::process::id()));
    std::fs::File::create(&fused)
        .and_then(|mut f| {
            f.write_all(
                b"[stages.decode]\nlanes = 1\n[placement]\nfuse = [[\"decode\", \"match\", \"encode\"]]\n",
            )
        })
        .expect("fused config");
    let no_handoff =
        std::env::temp_dir().join(format!("sedaflow-nohandoff-{}.toml", std::process::id()));
    std::fs::File::create(&no_handoff)
        .and_then(|mut f| {
            f.write_all(b"[stages.decode]\nhandoff = false\n[stages.match]\nhandoff = false\n[stages.encode]\nhandoff = false\n")
        })
        .expect("no hand-off config");
    // On the target's disk, not a tmpfs: every batch pays a real fdatasync.
    let journal = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sedaflow-bench-journal-{}", std::process::id()));
    let sedaflow = env!("CARGO_BIN_EXE_sedaflow");
    let serve = |extra: &[&str]| {
        let mut args: Vec<String> = [
            "serve",
            "--tcp",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let targets = [
        Target {
            name: "inline tokio",
            bin: env!("CARGO_BIN_EXE_inline-server"),
            args: vec!["--tcp".into(), "127.0.0.1:0".into()],
        },
        Target {
            name: "sedaflow (stage per queue)",
            bin: sedaflow,
            args: serve(&[]),
        },
        Target {
            name: "sedaflow (journal)",
            bin: sedaflow,
            args: serve(&["--journal", journal.to_str().expect("utf-8 target path")]),
        },
        Target {
            name: "sedaflow (no hand-off)",
            bin: sedaflow,
            args: serve(&["--config", no_handoff.to_str().expect("utf-8 temp path")]),
        },
        Target {
            name: "sedaflow (fused domain)",
            bin: sedaflow,
            args: serve(&["--config", fused.to_str().expect("utf-8 temp path")]),
        },
    ];
    let base = LoadgenConfig {
        connections: NonZeroUsize::new(8).expect("non-zero"),
        pipeline: NonZeroUsize::new(16).expect("non-zero"),
        ..LoadgenConfig::default()
    };
    let mut rows = Vec::new();
    let picked = |t: &&Target| {
        t.name == "inline tokio" || picks.is_empty() || picks.iter().any(|p| t.name.contains(p))
    };
    for t in targets.iter().filter(picked) {
        let server = start(t);
        // Warm-up: books and connections reach their working size.
        drive(LoadgenConfig {
            addr: server.addr,
            duration: Duration::from_secs(1),
            seed: 7,
            ..base.clone()
        });
        let closed = drive(LoadgenConfig {
            addr: server.addr,
            duration: Duration::from_secs(secs),
            seed: 8,
            ..base.clone()
        });
        let half = NonZeroU64::new((closed.throughput / 2.0) as u64).expect("some throughput");
        let open = drive(LoadgenConfig {
            addr: server.addr,
            duration: Duration::from_secs(secs),
            rate: Some(half),
            seed: 9,
            ..base.clone()
        });
        eprintln!(
            "  {:<28} closed {:>9.0}/s   open @{}/s p50 {:?} p99 {:?}",
            t.name, closed.throughput, half, open.latency.p50, open.latency.p99
        );
        rows.push((t.name, closed.throughput, half, open));
    }
    let _ = std::fs::remove_file(&fused);
    let _ = std::fs::remove_file(&no_handoff);
    let _ = std::fs::remove_dir_all(&journal);
    let (_, inline_max, _, inline_open) = &rows[0];
    println!();
    println!(
        "{:<28} {:>12} {:>9} {:>12} {:>10} {:>10} {:>10} {:>9}",
        "server", "max orders/s", "vs inline", "open rate/s", "p50", "p99", "p99.9", "p99 vs"
    );
    for (name, max, half, open) in &rows {
        println!(
            "{:<28} {:>12.0} {:>8.2}x {:>12} {:>10.1?} {:>10.1?} {:>10.1?} {:>8.2}x",
            name,
            max,
            max / inline_max,
            half,
            open.latency.p50,
            open.latency.p99,
            open.latency.p999,
            open.latency.p99.as_secs_f64() / inline_open.latency.p99.as_secs_f64()
        );
    }
}
