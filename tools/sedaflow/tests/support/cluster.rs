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

/// Hang guard for waits on the deployment (NATS start-up, partition ownership).
pub const SETTLE_GUARD: Duration = Duration::from_secs(30);

static SCRATCH: AtomicUsize = AtomicUsize::new(0);

/// A `nats-server -js` on 127.0.0.1 with a store in a scratch directory.
pub struct Nats {
    child: Child,
    dir: PathBuf,
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
}

impl Nats {
    /// Starts it and waits until it accepts connections.
    ///
    /// # Panics
    /// If `nats-server` is not installed (with how to install it), or it does not come up.
    pub fn start() -> Nats {
        let dir = scratch("nats");
        fs::create_dir_all(&dir).expect("the NATS scratch directory");
        // It picks its own port (`-p -1`) and names it in a ports file once it listens: a port
        // probed free here could be taken by another test's server before this one binds it.
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", "-1", "-sd"])
            .arg(dir.join("store"))
            .arg("--ports_file_dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run nats-server ({e}): the cluster tests need Debian's nats-server; \
                     `bash tests/run.sh` installs it (as root), or `apt-get install -y nats-server`"
                )
            });
        let ports = dir.join(format!("nats-server_{}.ports", child.id()));
        let mut nats = Nats {
            child,
            dir,
            url: String::new(),
        };
        wait_until("nats-server names its port", || {
            if let Ok(Some(status)) = nats.child.try_wait() {
                panic!("nats-server exited at start: {status}");
            }
            // `{"nats":["nats://127.0.0.1:<port>"]}`, maybe not yet whole.
            let named = fs::read(&ports)
                .ok()
                .and_then(|text| serde_json::from_slice::<serde_json::Value>(&text).ok())
                .and_then(|v| v["nats"][0].as_str().map(str::to_owned));
            named.map(|url| nats.url = url).is_some()
        });
        nats
    }
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
        let nats = Nats::start();
        let config = config_file(&format!(
            "{top}\n[admission]\nenabled = false\n[cluster]\nlease_timeout = \"2s\"\n\
             heartbeat = \"250ms\"\n"
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
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.config);
    }
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
