//! `sedaflow loadgen --sweep`: for each server variant and each offered load, a fresh
//! `sedaflow serve` child (so its peak RSS is the step's own), one open-loop load run, and a
//! row; then the CSV, the plot and the verdict.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::Args;
use sedaflow_loadgen::sweep::{self, Row, Variant, Workload};
use sedaflow_loadgen::{LoadgenConfig, LoadgenSummary};

#[derive(Args)]
pub(crate) struct SweepArgs {
    /// Sweep offered load over fresh servers instead of driving `--addr` once; each step
    /// runs `--warmup` + `--duration` with `--connections` and `--symbols`.
    #[arg(long)]
    sweep: bool,
    /// Offered loads, as multiples of the measured capacity.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.25,0.5,0.75,1,1.25,1.5,2,3,4"
    )]
    steps: Vec<f64>,
    /// Server variants to sweep.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "adaptive,no-admission,unbounded"
    )]
    variants: Vec<Variant>,
    /// Matching threads of the synthetic workload.
    #[arg(long, default_value = "8")]
    threads: NonZeroUsize,
    /// Synthetic wait per order on a matching thread: capacity = threads / delay.
    #[arg(long, default_value = "400us", value_parser = humantime::parse_duration)]
    delay: Duration,
    /// The admission controller's P90 target.
    #[arg(long, default_value = "3ms", value_parser = humantime::parse_duration)]
    target: Duration,
    /// Where the CSV, the plot and the servers' configurations go.
    #[arg(long, default_value = "sweep")]
    out: PathBuf,
}

impl SweepArgs {
    pub(crate) fn requested(&self) -> bool {
        self.sweep
    }
}

pub(crate) fn run(args: SweepArgs, load: LoadgenConfig) -> Result<(), String> {
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let workload = Workload {
        threads: args.threads.get(),
        delay: args.delay,
        target: args.target,
    };
    let note = format!(
        "synthetic matching: {} threads x {:?} per order",
        workload.threads, workload.delay
    );
    println!(
        "sweep: {note}, so one load generator on this machine can offer several times the \
         capacity ({:.0} orders/s on paper)",
        workload.capacity()
    );
    let capacity = measure_capacity(&args.out, &workload, &load)?;
    println!("measured capacity: {capacity:.0} orders/s (closed loop)\n");
    let rows = sweep_steps(&args, &workload, &load, capacity)?;
    let csv = args.out.join("sweep.csv");
    std::fs::write(&csv, sweep::csv(&rows)).map_err(|e| format!("{}: {e}", csv.display()))?;
    let svg = args.out.join("sweep.svg");
    sweep::plot(&rows, capacity, &note, &svg)?;
    println!(
        "\nlatencies in ms; wrote {} and {}",
        csv.display(),
        svg.display()
    );
    if !args.variants.contains(&Variant::Adaptive) || print_verdict(&rows) {
        Ok(())
    } else {
        Err("the adaptive server missed a target (see above)".into())
    }
}

/// Goodput in orders/s, closed loop against the plain bounded server with enough in flight
/// to keep every lane busy.
fn measure_capacity(out: &Path, workload: &Workload, load: &LoadgenConfig) -> Result<f64, String> {
    let measured = step(out, workload, Variant::NoAdmission, |addr| LoadgenConfig {
        addr,
        rate: None,
        pipeline: NonZeroUsize::new(64).unwrap_or(NonZeroUsize::MIN),
        ..load.clone()
    })?;
    Ok(measured.0.goodput)
}

/// Every variant at every offered load, each step printed as a table row as it ends.
fn sweep_steps(
    args: &SweepArgs,
    workload: &Workload,
    load: &LoadgenConfig,
    capacity: f64,
) -> Result<Vec<Row>, String> {
    println!(
        "{:<13} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12} {:>5} {:>8}",
        "variant",
        "x",
        "offered/s",
        "goodput/s",
        "refused/s",
        "p50",
        "p99",
        "admitted p99",
        "lost",
        "RSS MB"
    );
    let mut rows = Vec::new();
    for &variant in &args.variants {
        for &m in &args.steps {
            let rate = NonZeroU64::new((capacity * m).round() as u64).unwrap_or(NonZeroU64::MIN);
            let (mut row, _) = step(&args.out, workload, variant, |addr| LoadgenConfig {
                addr,
                rate: Some(rate),
                ..load.clone()
            })?;
            row.multiplier = m;
            row.offered = rate.get() as f64;
            println!(
                "{:<13} {:>5} {:>9.0} {:>9.0} {:>9.0} {:>9.3} {:>9.3} {:>12.3} {:>5} {:>8.1}",
                variant.name(),
                m,
                row.offered,
                row.goodput,
                row.refused,
                row.p50.as_secs_f64() * 1e3,
                row.p99.as_secs_f64() * 1e3,
                row.admitted_p99.as_secs_f64() * 1e3,
                row.lost,
                row.peak_rss as f64 / (1 << 20) as f64
            );
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Prints whether the adaptive server met each target; true when it met them all.
fn print_verdict(rows: &[Row]) -> bool {
    println!("\nadaptive (admission control on):");
    let mut ok = true;
    for (line, holds) in sweep::verdict(rows, Variant::Adaptive) {
        println!("  {} {line}", if holds { "ok  " } else { "MISS" });
        ok &= holds;
    }
    ok
}

/// One fresh server of `variant`, one load run against it.
fn step(
    out: &Path,
    workload: &Workload,
    variant: Variant,
    load: impl FnOnce(SocketAddr) -> LoadgenConfig,
) -> Result<(Row, LoadgenSummary), String> {
    let config = out.join(format!("server-{}.toml", variant.name()));
    std::fs::write(&config, workload.server_config(variant))
        .map_err(|e| format!("{}: {e}", config.display()))?;
    let server = ServerChild::start(&config)?;
    let summary = super::loadgen::run_to_summary(load(server.tcp));
    let peak_rss = server.peak_rss();
    server.stop();
    let s = summary?;
    let seconds = s.elapsed.as_secs_f64().max(1e-9);
    let refused = s.overloaded();
    let row = Row {
        variant,
        multiplier: 0.0,
        offered: 0.0,
        goodput: (s.answered - refused) as f64 / seconds,
        refused: refused as f64 / seconds,
        p50: s.latency.p50,
        p99: s.latency.p99,
        admitted_p99: s.admitted_latency.p99,
        lost: s.lost,
        peak_rss,
    };
    Ok((row, s))
}

/// A `sedaflow serve` child process on free ports.
struct ServerChild {
    child: Child,
    tcp: SocketAddr,
}

impl ServerChild {
    fn start(config: &Path) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
        let mut child = Command::new(exe)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("start server: {e}"))?;
        let stdout = child.stdout.take().ok_or("server stdout")?;
        let mut tcp = None;
        for line in BufReader::new(stdout).lines().take(3) {
            let line = line.map_err(|e| format!("server stdout: {e}"))?;
            if let Some(addr) = line.strip_prefix("listening tcp ") {
                tcp = addr.parse().ok();
            }
        }
        match tcp {
            Some(tcp) => Ok(ServerChild { child, tcp }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err("the server did not announce its tcp address".into())
            }
        }
    }

    /// Peak resident memory so far (`VmHWM`), in bytes.
    fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// Killed rather than drained: an unbounded variant may hold minutes of work.
    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
