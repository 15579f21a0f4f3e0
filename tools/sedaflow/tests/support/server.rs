//! The `sedaflow` server under test, as a child process on free ports.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use super::http::get;

/// Hang guard for start-up: how long the server may take to print its `listening` lines.
pub const START_GUARD: Duration = Duration::from_secs(30);

/// How many lines of the server's standard error a failing test shows.
const LOG_TAIL: usize = 40;

static STARTED: AtomicUsize = AtomicUsize::new(0);

/// A running `sedaflow serve`. Dropping it kills the process if it still runs.
pub struct Server {
    child: Child,
    /// The order stream (TCP, JSON lines).
    pub tcp: SocketAddr,
    /// Order entry over HTTP/1.1.
    pub http: SocketAddr,
    /// Prometheus metrics.
    pub metrics: SocketAddr,
    /// Where the server's standard error goes.
    log: PathBuf,
}

impl Server {
    /// Starts `sedaflow serve` on free loopback ports (plus `extra_args`) and waits for its
    /// three `listening <name> <ip:port>` lines.
    ///
    /// # Panics
    /// If the server cannot be spawned, exits, or prints no `listening` lines within
    /// [`START_GUARD`]; the message carries the tail of its standard error.
    pub fn start(extra_args: &[&str]) -> Server {
        Server::start_with(extra_args, |_| {})
    }

    /// [`Server::start`], with `configure` applied to the command before it is spawned.
    ///
    /// # Panics
    /// As [`Server::start`].
    pub fn start_with(extra_args: &[&str], configure: impl FnOnce(&mut Command)) -> Server {
        let mut args = vec!["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"];
        args.extend_from_slice(extra_args);
        let (child, addrs, log) = spawn_serve(&args, &["tcp", "http", "metrics"], configure);
        Server {
            child,
            tcp: addrs[0],
            http: addrs[1],
            metrics: addrs[2],
            log,
        }
    }

    /// Starts `sedaflow serve` as [`Server::start`] does, with `toml` as its `--config` file.
    ///
    /// # Panics
    /// As [`Server::start`], or if the file cannot be written.
    pub fn start_with_config(toml: &str) -> Server {
        let path = scratch_path("toml");
        fs::write(&path, toml)
            .unwrap_or_else(|e| panic!("cannot write the config {}: {e}", path.display()));
        let path = path.to_str().expect("the scratch path is UTF-8");
        Server::start(&["--config", path])
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's standard error so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGKILL and waits for the process to be gone.
    pub fn kill(&mut self) {
        signal(self.pid(), libc::SIGKILL);
        let _ = self.child.wait();
    }

    /// The server's resident memory (`VmRSS` of `/proc/<pid>/status`), in bytes.
    ///
    /// # Panics
    /// If the process has no such entry (it exited).
    pub fn rss_bytes(&self) -> u64 {
        let path = format!("/proc/{}/status", self.pid());
        let status = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {path} (did sedaflow exit?): {e}"));
        let kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no VmRSS line in {path}"));
        kib * 1024
    }

    /// The sum of every series of metric `name` on the server's `/metrics` (0 when absent).
    ///
    /// # Panics
    /// If the scrape fails or a value is not a number.
    pub fn metric(&self, name: &str) -> f64 {
        let body = self.scrape();
        let sum = samples(&body, name)
            .map(|line| {
                let value = line.rsplit(' ').next().unwrap_or_default();
                value
                    .parse::<f64>()
                    .unwrap_or_else(|e| panic!("bad value in {line:?}: {e}"))
            })
            .sum();
        sum
    }

    /// The value of the first series of metric `name` whose labels include every one of
    /// `labels` (each written `key="value"`); `None` when there is none.
    ///
    /// # Panics
    /// If the scrape fails.
    pub fn series(&self, name: &str, labels: &[&str]) -> Option<f64> {
        let body = self.scrape();
        let value = samples(&body, name)
            .find(|l| labels.iter().all(|label| l.contains(label)))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok());
        value
    }

    /// The server's `/metrics` page.
    fn scrape(&self) -> String {
        let page = get(self.metrics, "/metrics");
        assert_eq!(page.status, 200, "GET /metrics: {page:?}");
        page.body
    }

    /// The server must still be running.
    ///
    /// # Panics
    /// If it exited, with its exit status and the tail of its log.
    #[track_caller]
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("sedaflow exited ({status})\n{}", log_tail(&self.log));
        }
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        signal(self.pid(), libc::SIGTERM);
    }

    /// Sends SIGINT.
    pub fn sigint(&self) {
        signal(self.pid(), libc::SIGINT);
    }

    /// Waits for the process to exit.
    ///
    /// # Panics
    /// If it still runs after `guard` (a hang guard).
    pub fn wait_exit(&mut self, guard: Duration) -> ExitStatus {
        let deadline = Instant::now() + guard;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => panic!(
                    "sedaflow did not exit within {guard:?} (hang guard)\n{}",
                    log_tail(&self.log)
                ),
                Err(e) => panic!("waiting for sedaflow failed: {e}"),
            }
        }
    }
}

impl Drop for Server {
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

/// The sample lines of metric `name` in a `/metrics` page.
fn samples<'a>(page: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> {
    page.lines().filter(move |line| {
        line.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with([' ', '{']))
    })
}

/// Sends `signal` to process `pid`.
///
/// # Panics
/// If the signal cannot be sent.
pub fn signal(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {signal}) failed: {}",
        std::io::Error::last_os_error()
    );
}

/// Starts `sedaflow serve` with `args` (and `--metrics` on a free port; `configure` sees the
/// command first) and waits for one
/// `listening <name> <ip:port>` line per entry of `names`; returns their addresses in that
/// order.
///
/// # Panics
/// If the process cannot be spawned, exits, or prints the lines not within [`START_GUARD`];
/// the message carries the tail of its standard error.
pub fn spawn_serve(
    args: &[&str],
    names: &[&str],
    configure: impl FnOnce(&mut Command),
) -> (Child, Vec<SocketAddr>, PathBuf) {
    let log = scratch_path("log");
    let stderr = File::create(&log)
        .unwrap_or_else(|e| panic!("cannot create the server log {}: {e}", log.display()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_sedaflow"));
    configure(&mut command);
    let mut child = command
        .args(["serve", "--metrics", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn sedaflow: {e}"));

    // Standard output is read to its end on a thread of its own, so the server can never
    // block on a full pipe; lines after start-up are dropped.
    let stdout = child.stdout.take().expect("stdout is piped");
    let (lines_tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = lines_tx.send(line);
        }
    });

    let deadline = Instant::now() + START_GUARD;
    let mut addrs: Vec<Option<SocketAddr>> = vec![None; names.len()];
    let mut seen = Vec::new();
    while addrs.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match lines.recv_timeout(left) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "sedaflow printed no `listening {names:?}` lines within {START_GUARD:?} \
                     (hang guard); stdout so far: {seen:?}\n{}",
                    log_tail(&log)
                );
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                panic!(
                    "sedaflow exited ({status}) before printing its `listening` lines; \
                     stdout: {seen:?}\n{}",
                    log_tail(&log)
                );
            }
        };
        let mut words = line.split_whitespace();
        if let (Some("listening"), Some(name), Some(addr), None) =
            (words.next(), words.next(), words.next(), words.next())
        {
            let addr: SocketAddr = addr
                .parse()
                .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}"));
            match names.iter().position(|n| *n == name) {
                Some(i) => addrs[i] = Some(addr),
                None => panic!("unexpected listening line {line:?} (wanted {names:?})"),
            }
        }
        seen.push(line);
    }
    let addrs = addrs.into_iter().flatten().collect();
    (child, addrs, log)
}

/// A fresh file under the test target's scratch directory, named after the test.
fn scratch_path(extension: &str) -> PathBuf {
    let test = thread::current()
        .name()
        .unwrap_or("test")
        .replace("::", "-");
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "sedaflow-{}-{n}-{test}.{extension}",
        std::process::id()
    ))
}

pub fn log_tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(LOG_TAIL)..];
    format!(
        "--- sedaflow stderr ({}), last {} lines ---\n{}",
        log.display(),
        tail.len(),
        tail.join("\n")
    )
}
