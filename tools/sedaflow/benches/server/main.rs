//! The order server against the plain tokio server that decodes, matches and encodes inline
//! per connection, side by side in one run, with the same load generator.
//!
//! `cargo bench -p sedaflow-cli --bench server [-- --quick] [NAME ...]`
//!
//! `NAME`s pick the servers whose names contain one of them (the inline baseline always
//! runs): `-- "stage per queue" journal` compares journaling off and on. For each server:
//! closed loop (8 connections × 16 requests in flight by default) for the maximum orders/s,
//! then open loop for latency twice: at half of that server's own maximum, and at one rate
//! for every server, a third of the inline baseline's maximum (issue 16's measure: each
//! server's P99 at the same offered load). Servers run as separate processes
//! (the real `sedaflow` binary; for the baseline, [`inline`], this executable re-run by
//! [`baseline`]); the load generator runs in this process.
//!
//! "market data (100 subscribers)" is the default server while [`market_data::SUBSCRIBERS`]
//! WebSocket subscribers follow `depth` and `trades` of the load's 8 symbols (the load
//! generator's `--md-subscribers`), and "market data (niced subscribers)" the same with them
//! at the lowest priority; picking either picks "sedaflow (stage per queue)" too, the same
//! server without them, and a second table compares them (see [`market_data`]).
//!
//! `SEDAFLOW_BENCH_BEFORE=PATH` adds an older `sedaflow` binary's default and fused servers
//! ("before (…)"), so a change is measured against its predecessor in the same run.
//! `SEDAFLOW_BENCH_PIPELINE=N` keeps N requests in flight per connection instead of 16.
//! `SEDAFLOW_BENCH_PIN=1` runs the servers on CPU 0 and the load (this process) on CPU 1, so
//! each server is measured on one core of its own.
//!
//! This 2-core machine's speed drifts by ±15% within minutes, so the servers take turns:
//! each round measures every server once, closed loop first for all, then open loop, and the
//! table shows the median of three rounds (one with `--quick`) with the closed-loop range
//! and the server process's CPU time per answered request in the closed-loop runs (the load
//! generator shares the cores, so what a server costs shows beside what it achieves), with
//! the share of the machine's CPU time nobody used in them, and for a staged server how its
//! network pool moved in them (loops started and sessions moved, from its `/metrics`).

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use sedaflow_loadgen::{self as loadgen, LoadgenConfig, LoadgenSummary};

use market_data::Subscribers;
use pool::Moves;
use table::{median, print_same_rate, print_table};

mod baseline;
mod cpu;
mod inline;
mod inline_http;
mod market_data;
mod pool;
mod table;

struct Target {
    name: &'static str,
    bin: PathBuf,
    args: Vec<String>,
    /// Each load connection logs in to an account of its own first (protocol v2); 0: the v1
    /// path, anonymous connections.
    accounts: usize,
    /// Market-data subscribers beside the measured load.
    market: Subscribers,
}

struct Running {
    child: Child,
    addr: SocketAddr,
    /// The HTTP address, read when the target has market-data subscribers.
    http: Option<SocketAddr>,
    /// The metrics address of a staged server (for its pool's moves).
    metrics: Option<SocketAddr>,
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
    let mut command = match pinned() {
        true => {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(&t.bin);
            c
        }
        false => Command::new(&t.bin),
    };
    let mut child = command
        .args(&t.args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", t.bin.display()));
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let addr = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("listening tcp ").map(str::to_owned))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{} printed no `listening tcp` line", t.name));
    let http = (t.market.count > 0).then(|| {
        lines
            .by_ref()
            .find_map(|l| l.strip_prefix("listening http ").map(str::to_owned))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{} printed no `listening http` line", t.name))
    });
    let metrics = t.args.iter().any(|a| a == "--metrics").then(|| {
        lines
            .by_ref()
            .find_map(|l| l.strip_prefix("listening metrics ").map(str::to_owned))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{} printed no `listening metrics` line", t.name))
    });
    // Keep reading: a server whose stdout pipe closes may fail its later writes.
    std::thread::spawn(move || lines.for_each(drop));
    Running {
        child,
        addr,
        http,
        metrics,
    }
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

fn main() -> ExitCode {
    if let Some((tcp, http)) = baseline::requested() {
        return baseline::serve(&tcp, http.as_deref());
    }
    compare();
    ExitCode::SUCCESS
}

/// `SEDAFLOW_BENCH_PIN` set: servers run on CPU 0, this process (the load) on CPU 1, so
/// neither takes the other's core (see `benches/overload.sh` for why that matters here).
fn pinned() -> bool {
    std::env::var_os("SEDAFLOW_BENCH_PIN").is_some()
}

/// Pins this process to CPU 1 when [`pinned`].
fn pin_self() {
    if !pinned() {
        return;
    }
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and sched_setaffinity read and
    // write only the set passed by reference.
    let pinned = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(1, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    };
    assert!(pinned, "SEDAFLOW_BENCH_PIN: cannot pin to CPU 1");
}

/// Runs the rounds and prints the table.
fn compare() {
    pin_self();
    let quick = std::env::args().any(|a| a == "--quick");
    // Cargo passes `--bench` itself; other words pick servers.
    let picks: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let scratch = Scratch::create();
    let targets = targets(&scratch);
    let chosen = |t: &Target| picks.is_empty() || picks.iter().any(|p| t.name.contains(p));
    // The market-data row is measured against the same server without subscribers.
    let with_subscribers = targets.iter().any(|t| t.market.count > 0 && chosen(t));
    let picked: Vec<&Target> = targets
        .iter()
        .filter(|t| {
            t.name == "inline tokio"
                || chosen(t)
                || (with_subscribers && t.name == market_data::WITHOUT)
        })
        .collect();
    let bench = Bench {
        base: LoadgenConfig {
            connections: NonZeroUsize::new(8).expect("non-zero"),
            pipeline: pipeline(),
            ..LoadgenConfig::default()
        },
        secs: if quick { 2 } else { 5 },
        rounds: if quick { 1 } else { 3 },
        journal: &scratch.journal,
    };
    let (closed_runs, cpu) = bench.closed_rounds(&picked);
    let mut closed: Vec<Vec<f64>> = closed_runs
        .iter()
        .map(|runs| runs.iter().map(|s| s.throughput).collect())
        .collect();
    let max: Vec<f64> = closed.iter_mut().map(|runs| median(runs)).collect();
    let half: Vec<f64> = max.iter().map(|m| m / 2.0).collect();
    let open = bench.open_rounds(&picked, &half);
    let third = vec![max[0] / 3.0; picked.len()];
    let same = bench.open_rounds(&picked, &third);
    scratch.remove();
    let cpu: Vec<Cost> = cpu.iter().map(|runs| Cost::median(runs)).collect();
    print_table(&picked, &closed, &max, &cpu, &open);
    print_same_rate(&picked, &third, &same);
    market_data::print_table(&picked, &closed_runs, &max);
}

/// Requests in flight per connection: 16, or `SEDAFLOW_BENCH_PIPELINE` (issue 16 measured its
/// baseline at 64).
fn pipeline() -> NonZeroUsize {
    let default = NonZeroUsize::new(16).expect("non-zero");
    match std::env::var("SEDAFLOW_BENCH_PIPELINE") {
        Ok(n) => n
            .parse()
            .unwrap_or_else(|_| panic!("SEDAFLOW_BENCH_PIPELINE: {n:?} is not a positive count")),
        Err(_) => default,
    }
}

/// The files the servers' command lines name, in this process's own names.
struct Scratch {
    /// A config fusing decode, match and encode into one domain.
    fused: PathBuf,
    /// A config turning every stage's hand-off off.
    no_handoff: PathBuf,
    /// The journal directory.
    journal: PathBuf,
}

impl Scratch {
    /// Writes the configs.
    fn create() -> Scratch {
        let fused =
            std::env::temp_dir().join(format!("sedaflow-fused-{}.toml", std::process::id()));
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
        Scratch {
            fused,
            no_handoff,
            journal,
        }
    }

    fn remove(&self) {
        let _ = std::fs::remove_file(&self.fused);
        let _ = std::fs::remove_file(&self.no_handoff);
        let _ = std::fs::remove_dir_all(&self.journal);
    }
}

/// Every server the benchmark knows, the inline baseline first; with
/// `SEDAFLOW_BENCH_BEFORE`, the older binary's last.
fn targets(scratch: &Scratch) -> Vec<Target> {
    let sedaflow = PathBuf::from(env!("CARGO_BIN_EXE_sedaflow"));
    let this = std::env::current_exe().expect("the benchmark's own executable");
    let fused = scratch.fused.to_str().expect("utf-8 temp path");
    let mut targets = vec![
        Target {
            name: "inline tokio",
            bin: this,
            args: vec![baseline::FLAG.into(), "127.0.0.1:0".into()],
            accounts: 0,
            market: Subscribers::NONE,
        },
        Target {
            name: "sedaflow (stage per queue)",
            bin: sedaflow.clone(),
            args: serve(&[]),
            accounts: 0,
            market: Subscribers::NONE,
        },
        Target {
            name: "sedaflow (journal)",
            bin: sedaflow.clone(),
            args: serve(&[
                "--journal",
                scratch.journal.to_str().expect("utf-8 target path"),
            ]),
            accounts: 0,
            market: Subscribers::NONE,
        },
        Target {
            name: "sedaflow (no hand-off)",
            bin: sedaflow.clone(),
            args: serve(&[
                "--config",
                scratch.no_handoff.to_str().expect("utf-8 temp path"),
            ]),
            accounts: 0,
            market: Subscribers::NONE,
        },
        Target {
            name: "sedaflow (logged in)",
            bin: sedaflow.clone(),
            args: serve(&[]),
            accounts: 8,
            market: Subscribers::NONE,
        },
        Target {
            name: "sedaflow (fused domain)",
            bin: sedaflow.clone(),
            args: serve(&["--config", fused]),
            accounts: 0,
            market: Subscribers::NONE,
        },
    ];
    targets.extend(market_data::targets(&sedaflow));
    if let Some(before) = std::env::var_os("SEDAFLOW_BENCH_BEFORE").map(PathBuf::from) {
        targets.push(Target {
            name: "before (stage per queue)",
            bin: before.clone(),
            args: serve(&[]),
            accounts: 0,
            market: Subscribers::NONE,
        });
        targets.push(Target {
            name: "before (fused domain)",
            bin: before,
            args: serve(&["--config", fused]),
            accounts: 0,
            market: Subscribers::NONE,
        });
    }
    targets
}

/// `sedaflow serve` on free ports, then `extra`.
fn serve(extra: &[&str]) -> Vec<String> {
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
}

/// How each server is measured.
struct Bench<'a> {
    base: LoadgenConfig,
    /// Length of a measured run.
    secs: u64,
    rounds: usize,
    journal: &'a Path,
}

impl Bench<'_> {
    /// A fresh server per run (and an empty journal: no run recovers another's), warmed up
    /// until books and connections reach their working size; with what the measured run cost.
    fn run(&self, t: &Target, rate: Option<NonZeroU64>, seed: u64) -> (LoadgenSummary, Cost) {
        let _ = std::fs::remove_dir_all(self.journal);
        let server = start(t);
        drive(LoadgenConfig {
            addr: server.addr,
            duration: Duration::from_secs(1),
            seed: 7,
            accounts: t.accounts,
            ..self.base.clone()
        });
        let pid = server.child.id();
        let pool = server.metrics.and_then(Moves::read);
        let (before, machine) = (cpu::used(pid), cpu::Ticks::now());
        let summary = drive(LoadgenConfig {
            addr: server.addr,
            duration: Duration::from_secs(self.secs),
            rate,
            seed,
            accounts: t.accounts,
            http: server.http.unwrap_or(self.base.http),
            md_subscribers: t.market.count,
            md_nice: t.market.nice,
            ..self.base.clone()
        });
        let used = cpu::used(pid)
            .zip(before)
            .map(|(after, before)| after - before);
        let per_order = used.map_or(f64::NAN, |cpu| {
            cpu.as_secs_f64() * 1e6 / summary.answered.max(1) as f64
        });
        let idle = cpu::Ticks::now()
            .zip(machine)
            .map_or(f64::NAN, |(now, then)| now.idle_since(then));
        let moves = server
            .metrics
            .and_then(Moves::read)
            .zip(pool)
            .map(|(after, before)| after.since(before));
        let cost = Cost {
            per_order,
            idle,
            moves,
        };
        (summary, cost)
    }

    /// The closed-loop runs of each server, a run per round, each with what it cost.
    fn closed_rounds(&self, picked: &[&Target]) -> (Vec<Vec<LoadgenSummary>>, Vec<Vec<Cost>>) {
        let mut closed: Vec<Vec<LoadgenSummary>> = picked.iter().map(|_| Vec::new()).collect();
        let mut cpu: Vec<Vec<Cost>> = picked.iter().map(|_| Vec::new()).collect();
        for round in 1..=self.rounds {
            for (i, t) in picked.iter().enumerate() {
                let (summary, cost) = self.run(t, None, 8);
                let moves = cost.moves.map_or(String::new(), |m| {
                    format!(
                        ", loops started {:.0}, sessions moved {:.0}",
                        m.started, m.moved
                    )
                });
                eprintln!(
                    "  round {round} {:<30} closed {:>9.0}/s, server cpu {:.2} µs/order, machine idle {:.0}%{moves}",
                    t.name,
                    summary.throughput,
                    cost.per_order,
                    cost.idle * 100.0
                );
                if let Some(market) = &summary.market {
                    eprintln!(
                        "  round {round} {:<30} {:>9.0} msg/s, trade p99 {:?}, gaps {}, mismatches {}",
                        t.name,
                        market.messages_per_sec,
                        market.latency.p99,
                        market.gaps,
                        market.mismatches
                    );
                }
                closed[i].push(summary);
                cpu[i].push(cost);
            }
        }
        (closed, cpu)
    }

    /// Each server's open-loop runs at its `rate`, a run per round.
    fn open_rounds(&self, picked: &[&Target], rate: &[f64]) -> Vec<Vec<LoadgenSummary>> {
        let mut open: Vec<Vec<LoadgenSummary>> = picked.iter().map(|_| Vec::new()).collect();
        for round in 1..=self.rounds {
            for (i, t) in picked.iter().enumerate() {
                let at = NonZeroU64::new(rate[i] as u64).expect("some throughput");
                let (summary, _) = self.run(t, Some(at), 9);
                eprintln!(
                    "  round {round} {:<30} open @{at}/s p50 {:?} p99 {:?}",
                    t.name, summary.latency.p50, summary.latency.p99
                );
                open[i].push(summary);
            }
        }
        open
    }
}

/// What a closed-loop run cost: the server's CPU time per answered request (µs), and the
/// share of the machine's CPU time nobody used (the server and the load generator share it:
/// a server that leaves it idle loses to one that does not); for a staged server, how its
/// network pool moved.
#[derive(Clone, Copy)]
struct Cost {
    per_order: f64,
    idle: f64,
    moves: Option<Moves>,
}

impl Cost {
    /// Each measure's median over `runs`.
    fn median(runs: &[Cost]) -> Cost {
        let mut per_order: Vec<f64> = runs.iter().map(|c| c.per_order).collect();
        let mut idle: Vec<f64> = runs.iter().map(|c| c.idle).collect();
        let moves: Vec<Moves> = runs.iter().filter_map(|c| c.moves).collect();
        let mut started: Vec<f64> = moves.iter().map(|m| m.started).collect();
        let mut moved: Vec<f64> = moves.iter().map(|m| m.moved).collect();
        Cost {
            per_order: median(&mut per_order),
            idle: median(&mut idle),
            moves: (!moves.is_empty()).then(|| Moves {
                started: median(&mut started),
                moved: median(&mut moved),
            }),
        }
    }
}
