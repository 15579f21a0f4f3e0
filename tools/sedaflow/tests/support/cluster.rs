//! The scale-out deployment under test: a `nats-server -js` of its own on a port it picks, with a
//! scratch store, ingresses (`sedaflow serve --role ingress`) and matchers (`--role
//! matcher`), all child processes stopped when dropped.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::http::get;
use super::server::{log_tail, spawn_serve, Server};

/// Partitions of the test deployments.
pub const PARTITIONS: u32 = 8;

/// The lease timeout and heartbeat of the test deployments: short, for fail-over tests.
const LEASE: (&str, &str) = ("2s", "250ms");

/// Hang guard for waits on the deployment (NATS start-up, partition ownership).
pub const SETTLE_GUARD: Duration = Duration::from_secs(30);

static SCRATCH: AtomicUsize = AtomicUsize::new(0);

/// A `nats-server -js` on 127.0.0.1 with a store in a scratch directory.
pub struct Nats {
    child: Child,
    dir: PathBuf,
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
    /// Its monitoring endpoint (`/jsz`).
    monitor: Option<SocketAddr>,
}

impl Nats {
    /// Starts it and waits until it accepts connections.
    ///
    /// # Panics
    /// If `nats-server` is not installed (with how to install it), or it does not come up.
    pub fn start() -> Nats {
        let dir = scratch("nats");
        fs::create_dir_all(&dir).expect("the NATS scratch directory");
        // It picks its own ports (`-1`) and names them in a ports file once it listens: a port
        // probed free here could be taken by another test's server before this one binds it.
        let mut nats = Nats {
            child: spawn_nats(&dir, "-1", "-1"),
            dir,
            url: String::new(),
            monitor: None,
        };
        nats.wait_named();
        nats
    }

    /// Kills it (`kill -9`) and starts it again on the same ports and store, as a crashed
    /// server brought back would be.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let port = |url: &str| url.rsplit(':').next().unwrap_or_default().to_owned();
        let monitor = self
            .monitor
            .map_or("-1".to_owned(), |m| m.port().to_string());
        self.child = spawn_nats(&self.dir, &port(&self.url), &monitor);
        self.wait_named();
    }

    /// Waits until the running server names its ports.
    fn wait_named(&mut self) {
        let ports = self
            .dir
            .join(format!("nats-server_{}.ports", self.child.id()));
        wait_until("nats-server names its port", || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nats-server exited at start: {status}");
            }
            // `{"nats":["nats://127.0.0.1:<port>"],"monitoring":[…]}`, maybe not yet whole.
            let Some(named) = fs::read(&ports)
                .ok()
                .and_then(|text| serde_json::from_slice::<serde_json::Value>(&text).ok())
            else {
                return false;
            };
            let named = |key: &str| named[key][0].as_str().map(str::to_owned);
            self.monitor =
                named("monitoring").and_then(|u| u.strip_prefix("http://")?.parse().ok());
            named("nats").map(|url| self.url = url).is_some()
        });
    }
}

/// `nats-server -js` on 127.0.0.1 at `port` and monitoring `monitor` (`-1`: any free one),
/// its store and ports file in `dir`.
fn spawn_nats(dir: &Path, port: &str, monitor: &str) -> Child {
    Command::new("nats-server")
        .args(["-js", "-a", "127.0.0.1", "-p", port, "-m", monitor, "-sd"])
        .arg(dir.join("store"))
        .arg("--ports_file_dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run nats-server ({e}): the cluster tests need Debian's nats-server; \
                 `bash tests/run.sh` installs it (as root), or `apt-get install -y nats-server`"
            )
        })
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A `sedaflow serve --role matcher`.
pub struct Matcher {
    child: Child,
    log: PathBuf,
    /// Its metrics endpoint, the only address it binds.
    pub metrics: SocketAddr,
}

impl Matcher {
    /// The sum of the samples of metric `name` (over all label sets) it reports now.
    pub fn metric(&self, name: &str) -> f64 {
        metric(self.metrics, name)
    }

    /// Sends `signal` (SIGSTOP, SIGCONT, SIGTERM...).
    pub fn signal(&self, signal: libc::c_int) {
        super::server::signal(self.child.id(), signal);
    }

    /// Waits for the process to exit; true when it exited with status 0.
    ///
    /// # Panics
    /// If it still runs after [`SETTLE_GUARD`] (a hang guard).
    pub fn wait_exit(&mut self) -> bool {
        let deadline = Instant::now() + SETTLE_GUARD;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            assert!(
                Instant::now() < deadline,
                "matcher did not exit (hang guard)\n{}",
                log_tail(&self.log)
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Matcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("{}", log_tail(&self.log));
        } else {
            let _ = fs::remove_file(&self.log);
        }
    }
}

/// A NATS server, ingresses and matchers sharing [`PARTITIONS`] partitions, with leases short
/// enough for a fail-over test.
pub struct Cluster {
    /// Declared first: dropped (stopped) before NATS goes away.
    pub ingress: Server,
    /// Further ingresses.
    pub others: Vec<Server>,
    pub matchers: Vec<Matcher>,
    config: PathBuf,
    nats: Nats,
}

impl Cluster {
    /// One ingress and `matchers` matchers: starts everything and waits until the matchers
    /// own every partition between them, each at least one.
    pub fn start(matchers: usize) -> Cluster {
        Cluster::start_with(matchers, 1, "")
    }

    /// [`start`](Self::start) with `ingresses` ingresses (at least one) and `top`, top-level
    /// keys such as `cancel_on_disconnect = true`, at the head of the configuration file.
    pub fn start_with(matchers: usize, ingresses: usize, top: &str) -> Cluster {
        Cluster::launch(matchers, ingresses, top, LEASE)
    }

    /// [`start`](Self::start) with leases of `lease_timeout`, renewed every `heartbeat`
    /// (`"10s"`, `"1s"`).
    pub fn start_leased(matchers: usize, (lease_timeout, heartbeat): (&str, &str)) -> Cluster {
        Cluster::launch(matchers, 1, "", (lease_timeout, heartbeat))
    }

    fn launch(
        matchers: usize,
        ingresses: usize,
        top: &str,
        (lease_timeout, heartbeat): (&str, &str),
    ) -> Cluster {
        let nats = Nats::start();
        let config = config_file(&format!(
            "{top}\n[admission]\nenabled = false\n[cluster]\nlease_timeout = \"{lease_timeout}\"\n\
             heartbeat = \"{heartbeat}\"\n"
        ));
        let args = role_args("matcher", &config, &nats);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let matchers = (0..matchers)
            .map(|_| {
                let (child, addrs, log) = spawn_serve(&args, &["metrics"], |_| {});
                Matcher {
                    child,
                    log,
                    metrics: addrs[0],
                }
            })
            .collect();
        let start_ingress = || start_ingress(&config, &nats);
        let ingress = start_ingress();
        let others = (1..ingresses).map(|_| start_ingress()).collect();
        let cluster = Cluster {
            ingress,
            others,
            matchers,
            config,
            nats,
        };
        cluster.wait_owned_by(&(0..cluster.matchers.len()).collect::<Vec<_>>());
        cluster
    }

    /// Starts one more ingress, now (it joins `others`).
    pub fn add_ingress(&mut self) -> &Server {
        let ingress = start_ingress(&self.config, &self.nats);
        self.others.push(ingress);
        &self.others[self.others.len() - 1]
    }

    /// Kills the NATS server and starts it again on the same port and store.
    pub fn restart_nats(&mut self) {
        self.nats.restart();
    }

    /// Stops the NATS server (SIGSTOP) for `pause`, then lets it go on.
    pub fn pause_nats(&self, pause: Duration) {
        let pid = self.nats.child.id();
        super::server::signal(pid, libc::SIGSTOP);
        thread::sleep(pause);
        super::server::signal(pid, libc::SIGCONT);
    }

    /// Waits until the matchers at `live` own all partitions between them, each at least one.
    pub fn wait_owned_by(&self, live: &[usize]) {
        wait_until("the matchers own every partition between them", || {
            let owned: Vec<f64> = live
                .iter()
                .map(|&i| self.matchers[i].metric("sedaflow_cluster_partitions_owned"))
                .collect();
            owned.iter().all(|&n| n >= 1.0) && owned.iter().sum::<f64>() == f64::from(PARTITIONS)
        });
    }

    /// Where the log's traffic stands: each process's cluster counters and NATS's streams, for
    /// a failed test to show where requests stopped. Read on a thread of its own, so a process
    /// that no longer answers cannot turn a failure into an abort.
    fn state(&self) -> String {
        let ingresses: Vec<_> = std::iter::once(&self.ingress)
            .chain(&self.others)
            .map(|s| s.metrics)
            .collect();
        let matchers: Vec<_> = self.matchers.iter().map(|m| m.metrics).collect();
        let monitor = self.nats.monitor;
        let read = thread::spawn(move || {
            let mut out = Vec::new();
            for (i, addr) in ingresses.into_iter().enumerate() {
                out.push(format!("ingress {i}:\n  {}", counters(addr)));
            }
            for (i, addr) in matchers.into_iter().enumerate() {
                out.push(format!("matcher {i}:\n  {}", counters(addr)));
            }
            out.push(monitor.map_or("NATS: no monitoring endpoint".into(), streams));
            out.join("\n")
        });
        let state = read.join().unwrap_or_else(|_| "not readable".into());
        format!("--- the deployment's state ---\n{state}")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("{}", self.state());
        }
        let _ = fs::remove_file(&self.config);
    }
}

/// The cluster's counters and the stages' queues (a stalled stage keeps its depth) of the
/// process whose metrics are at `addr`: one line per metric, with its value or each
/// partition's or stage's.
fn counters(addr: SocketAddr) -> String {
    const SHOWN: [&str; 4] = [
        "sedaflow_cluster_",
        "sedaflow_stage_queue_depth{",
        "sedaflow_stage_events_enqueued_total{",
        "sedaflow_stage_events_processed_total{",
    ];
    let page = get(addr, "/metrics").body;
    let mut families = std::collections::BTreeMap::<&str, Vec<_>>::new();
    for line in page
        .lines()
        .filter(|l| SHOWN.iter().any(|p| l.starts_with(p)))
    {
        let (series, value) = line.rsplit_once(' ').unwrap_or((line, ""));
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        let label = |key: &str| {
            let at = labels.find(&format!("{key}=\""))? + key.len() + 2;
            labels[at..].split('"').next().map(str::to_owned)
        };
        let key = match (label("partition"), label("stage")) {
            (Some(p), _) => format!("p{p}="),
            (None, Some(stage)) => format!("{stage}="),
            (None, None) => String::new(),
        };
        families
            .entry(name)
            .or_default()
            .push(format!("{key}{value}"));
    }
    let lines = families.into_iter().map(|(name, mut values)| {
        values.sort();
        format!("{name} {}", values.join(" "))
    });
    lines.collect::<Vec<_>>().join("\n  ")
}

/// Each JetStream stream's message count and each consumer's progress, from NATS's monitoring
/// endpoint at `monitor`, one line each.
fn streams(monitor: SocketAddr) -> String {
    let jsz = get(
        monitor,
        "/jsz?accounts=true&streams=true&consumers=true&config=true",
    )
    .json();
    let mut lines = Vec::new();
    let accounts = jsz["account_details"].as_array().into_iter().flatten();
    for stream in accounts.flat_map(|a| a["stream_detail"].as_array().into_iter().flatten()) {
        let (name, state) = (&stream["name"], &stream["state"]);
        lines.push(format!(
            "stream {name}: {} messages, the first at {}, the last at {}",
            state["messages"], state["first_ts"], state["last_ts"]
        ));
        for c in stream["consumer_detail"].as_array().into_iter().flatten() {
            lines.push(format!(
                "  consumer {} on {}: delivered {}, ack floor {}, pending {}, ack pending {}, \
                 waiting pulls {}",
                c["name"],
                c["config"]["filter_subject"],
                c["delivered"]["stream_seq"],
                c["ack_floor"]["stream_seq"],
                c["num_pending"],
                c["num_ack_pending"],
                c["num_waiting"],
            ));
        }
    }
    lines.join("\n")
}

fn start_ingress(config: &Path, nats: &Nats) -> Server {
    let args = role_args("ingress", config, nats);
    Server::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// `serve`'s arguments for `role` in the deployment of `config` and `nats`.
fn role_args(role: &str, config: &Path, nats: &Nats) -> Vec<String> {
    let config = config.to_str().expect("utf-8 path");
    let partitions = PARTITIONS.to_string();
    let args = [
        "--role",
        role,
        "--config",
        config,
        "--nats",
        &nats.url,
        "--partitions",
        &partitions,
    ];
    args.map(str::to_owned).to_vec()
}

/// A configuration file (under the test target's scratch directory) for servers whose answers
/// are compared exactly: admission control off, as its `overloaded` answers depend on timing;
/// `extra` is appended.
pub fn exact_config(extra: &str) -> PathBuf {
    config_file(&format!("[admission]\nenabled = false\n{extra}"))
}

/// A configuration file holding `text`, under the test target's scratch directory.
fn config_file(text: &str) -> PathBuf {
    let path = scratch("config").with_extension("toml");
    fs::write(&path, text).expect("write the config file");
    path
}

/// The sum of the samples of metric `name` at `addr`'s `/metrics`.
pub fn metric(addr: SocketAddr, name: &str) -> f64 {
    get(addr, "/metrics")
        .body
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Polls `done` until it holds.
///
/// # Panics
/// If it does not within [`SETTLE_GUARD`] (a hang guard, not a timing assertion).
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + SETTLE_GUARD;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "waited {SETTLE_GUARD:?} for: {what} (hang guard)"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// A fresh path under the test target's scratch directory.
fn scratch(what: &str) -> PathBuf {
    let n = SCRATCH.fetch_add(1, Ordering::Relaxed);
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{what}-{}-{n}", std::process::id()))
}
