//! The Grafana dashboard (`dashboards/sedaflow.json`) against a real Prometheus: the server
//! runs with a Prometheus (Debian's `prometheus` package, which `tests/run.sh` installs)
//! scraping it every second through `dashboards/prometheus.yml`; the load generator drives a
//! burst; then every panel query, its template variables substituted, must return at least one
//! series with a number, and the `match` stage's peak queue depth must have been above zero.
//! `promtool check metrics` must find nothing to say about the server's `/metrics`.
//!
//! # Hang guards
//! Every wait is bounded (Prometheus start-up 30 s, first scrape 15 s, load 60 s) only so
//! that a hang fails with a clear message; no test asserts a timing.

mod support;

use std::fs;
use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{get, Server};

/// The job name `dashboards/prometheus.yml` gives the server.
const JOB: &str = "sedaflow";
/// The scrape target `dashboards/prometheus.yml` ships with (the server's default).
const SHIPPED_TARGET: &str = "127.0.0.1:9000";
/// `$__rate_interval` as Grafana computes it for a 1 s scrape: four samples.
const RATE_INTERVAL: &str = "10s";
/// The stage the repeated row is checked for.
const STAGE: &str = "match";
/// Hang guard for Prometheus to answer `/-/ready`.
const READY_GUARD: Duration = Duration::from_secs(30);
/// Hang guard for the first scrape of the server.
const SCRAPE_GUARD: Duration = Duration::from_secs(15);
/// Hang guard for the load generator.
const LOAD_GUARD: Duration = Duration::from_secs(60);

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs `tool args` (feeding `stdin`), failing clearly when the tool is not installed.
fn run_tool(tool: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}", missing(tool, &e)));
    let mut input = child.stdin.take().expect("stdin is piped");
    input
        .write_all(stdin.as_bytes())
        .unwrap_or_else(|e| panic!("writing to {tool}: {e}"));
    drop(input);
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {tool}: {e}"))
}

fn missing(tool: &str, e: &std::io::Error) -> String {
    if e.kind() == ErrorKind::NotFound {
        format!(
            "`{tool}` is not installed: this test needs Debian's `prometheus` package \
             (`bash tests/run.sh` installs it as root: apt-get install prometheus)"
        )
    } else {
        format!("cannot run `{tool}`: {e}")
    }
}

/// A free loopback port (bound, read, released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}

/// Percent-encodes a query-string value (everything but RFC 3986 unreserved characters).
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A `prometheus` process with its own config, storage and port. Dropping it kills it and
/// removes its directory (kept, with the log shown, when the test fails).
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Prometheus {
    /// Starts Prometheus with `config` on a free loopback port and waits until it is ready.
    ///
    /// # Panics
    /// If `prometheus` is missing, exits, or is not ready within [`READY_GUARD`].
    fn start(config: &str) -> Prometheus {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("prometheus-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("data"))
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let config_path = dir.join("prometheus.yml");
        fs::write(&config_path, config)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config_path.display()));
        let check = run_tool(
            "promtool",
            &["check", "config", &config_path.to_string_lossy()],
            "",
        );
        assert!(
            check.status.success(),
            "promtool check config refused dashboards/prometheus.yml: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );

        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = fs::File::create(dir.join("prometheus.log"))
            .unwrap_or_else(|e| panic!("cannot create the Prometheus log: {e}"));
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("{}", missing("prometheus", &e)));
        let mut prometheus = Prometheus { child, addr, dir };
        prometheus.wait_ready();
        prometheus
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_GUARD;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited ({status})\n{}", self.log_tail());
            }
            if TcpStream::connect(self.addr).is_ok() && get(self.addr, "/-/ready").status == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready within {READY_GUARD:?} (hang guard)\n{}",
                self.log_tail()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs an instant query; returns its result vector.
    ///
    /// # Panics
    /// If Prometheus refuses the query (the message carries its error).
    fn query(&self, promql: &str) -> Vec<Value> {
        let r = get(
            self.addr,
            &format!("/api/v1/query?query={}", url_encode(promql)),
        );
        let body = r.json();
        assert!(
            r.status == 200 && body["status"] == "success",
            "prometheus refused {promql:?}: {} {body}",
            r.status
        );
        body["data"]["result"]
            .as_array()
            .unwrap_or_else(|| panic!("no result vector for {promql:?}: {body}"))
            .clone()
    }

    /// Queries `promql` until it returns a series, or gives up after `guard`.
    fn wait_for(&self, promql: &str, guard: Duration) -> Vec<Value> {
        let deadline = Instant::now() + guard;
        loop {
            let result = self.query(promql);
            if !result.is_empty() || Instant::now() >= deadline {
                return result;
            }
            thread::sleep(Duration::from_millis(250));
        }
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(30)..];
        format!("--- prometheus log, last lines ---\n{}", tail.join("\n"))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("{}\n(kept {})", self.log_tail(), self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The value of an instant-query sample, if it is a number (not NaN).
fn sample_value(series: &Value) -> Option<f64> {
    series["value"][1]
        .as_str()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| !v.is_nan())
}

/// Every query target of the dashboard as (panel title, expression), after checking the
/// dashboard's shape: variables, rows, and a unit and description on every panel.
fn dashboard_targets(dashboard: &Value) -> Vec<(String, String)> {
    let vars = dashboard["templating"]["list"]
        .as_array()
        .expect("templating.list");
    let var = |name: &str| {
        vars.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no `{name}` template variable"))
    };
    assert_eq!(var("datasource")["type"], "datasource");
    assert_eq!(var("datasource")["query"], "prometheus");
    for name in ["job", "instance", "stage"] {
        assert_eq!(var(name)["type"], "query", "variable {name}");
    }

    let panels = dashboard["panels"].as_array().expect("panels");
    let rows: Vec<&str> = panels
        .iter()
        .filter(|p| p["type"] == "row")
        .map(|p| p["title"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        rows,
        [
            "Overview",
            "Stage $stage",
            "Network",
            "Bus & overload",
            "Accounts & market data"
        ]
    );
    assert!(
        panels
            .iter()
            .any(|p| p["type"] == "row" && p["repeat"] == "stage"),
        "the stage row must repeat per `stage`"
    );

    let mut targets = Vec::new();
    for panel in panels.iter().filter(|p| p["type"] != "row") {
        let title = panel["title"].as_str().unwrap_or_default().to_owned();
        let text = |v: &Value| v.as_str().is_some_and(|s| !s.trim().is_empty());
        assert!(
            text(&panel["description"]),
            "panel {title:?} has no description"
        );
        assert!(
            text(&panel["fieldConfig"]["defaults"]["unit"]),
            "panel {title:?} has no unit"
        );
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "panel {title:?}"
        );
        let list = panel["targets"].as_array().filter(|t| !t.is_empty());
        for target in list.unwrap_or_else(|| panic!("panel {title:?} has no targets")) {
            let expr = target["expr"].as_str().expect("target expr").to_owned();
            // Every range selector of a rate is `[$__rate_interval]`.
            for (at, _) in expr.match_indices('[') {
                assert!(
                    expr[at..].starts_with("[$__rate_interval]"),
                    "panel {title:?}: a range other than $__rate_interval in {expr:?}"
                );
            }
            for var in ["$job", "$instance"] {
                assert!(
                    expr.contains(var),
                    "panel {title:?}: {expr:?} ignores {var}"
                );
            }
            targets.push((title.clone(), expr));
        }
    }
    targets
}

/// The `stage` variable lists the stages in pipeline order (so the Stage rows repeat in it):
/// its query, without Grafana's own `query_result(...)` around it, returns them sorted by
/// their `sedaflow_stage_info` position, and Grafana keeps that order (sorting off).
fn assert_stage_options_in_pipeline_order(
    dashboard: &Value,
    prometheus: &Prometheus,
    instance: SocketAddr,
) {
    let var = dashboard["templating"]["list"]
        .as_array()
        .and_then(|vars| vars.iter().find(|v| v["name"] == "stage"))
        .expect("a `stage` template variable");
    assert_eq!(var["sort"], 0, "sorting would undo the query's order");
    let definition = var["definition"].as_str().unwrap_or_default();
    let query = definition
        .strip_prefix("query_result(")
        .and_then(|q| q.strip_suffix(')'))
        .unwrap_or_else(|| panic!("the stage variable is not a query_result: {definition:?}"));
    let stage = |s: &Value| s["metric"]["stage"].as_str().unwrap_or_default().to_owned();
    let options: Vec<String> = prometheus
        .query(&substitute(query, instance))
        .iter()
        .map(stage)
        .collect();
    let mut info: Vec<(u64, String)> = prometheus
        .query(&format!("sedaflow_stage_info{{job=\"{JOB}\"}}"))
        .iter()
        .map(|s| {
            let position = s["metric"]["position"]
                .as_str()
                .and_then(|p| p.parse().ok());
            (position.expect("a numeric position label"), stage(s))
        })
        .collect();
    info.sort();
    let in_order: Vec<String> = info.into_iter().map(|(_, name)| name).collect();
    assert_eq!(options, in_order, "stage options not in pipeline order");
}

/// Substitutes the template variables as Grafana would for one instance and one stage.
fn substitute(expr: &str, instance: SocketAddr) -> String {
    let promql = expr
        .replace("$__rate_interval", RATE_INTERVAL)
        .replace("$job", JOB)
        .replace("$instance", &instance.to_string())
        .replace("$stage", STAGE);
    assert!(
        !promql.contains('$'),
        "unsubstituted variable in {promql:?}"
    );
    promql
}

/// Closed-loop burst: many connections, deep pipelines, so the stages' queues fill.
fn burst(server: &Server) {
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("loadgen-{}.log", std::process::id()));
    let out = fs::File::create(&log).expect("loadgen log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sedaflow"))
        .args(["loadgen", "--addr", &server.tcp.to_string()])
        .args([
            "--connections",
            "32",
            "--pipeline",
            "64",
            "--duration",
            "5s",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone().expect("clone log")))
        .stderr(Stdio::from(out))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn sedaflow loadgen: {e}"));
    let deadline = Instant::now() + LOAD_GUARD;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("loadgen still running after {LOAD_GUARD:?} (hang guard)");
            }
            Err(e) => panic!("waiting for loadgen failed: {e}"),
        }
    };
    let report = fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "loadgen failed ({status}):\n{report}");
    let _ = fs::remove_file(&log);
}

#[test]
fn promtool_finds_nothing_in_the_servers_metrics() {
    let server = Server::start(&[]);
    let metrics = get(server.metrics, "/metrics");
    assert_eq!(metrics.status, 200, "{metrics:?}");
    let lint = run_tool("promtool", &["check", "metrics"], &metrics.body);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    assert!(
        lint.status.success() && said.trim().is_empty(),
        "promtool check metrics ({}):\n{said}",
        lint.status
    );
}

#[test]
fn every_dashboard_query_returns_series_from_a_real_prometheus() {
    let dashboard: Value = serde_json::from_str(&read(&repo_file("dashboards/sedaflow.json")))
        .unwrap_or_else(|e| panic!("dashboards/sedaflow.json is not JSON: {e}"));
    let targets = dashboard_targets(&dashboard);

    let server = Server::start(&[]);
    let shipped = read(&repo_file("dashboards/prometheus.yml"));
    assert!(
        shipped.contains(SHIPPED_TARGET) && shipped.contains("scrape_interval: 1s"),
        "dashboards/prometheus.yml should scrape {SHIPPED_TARGET} every 1s:\n{shipped}"
    );
    let prometheus =
        Prometheus::start(&shipped.replace(SHIPPED_TARGET, &server.metrics.to_string()));
    let up = format!("up{{job=\"{JOB}\"}} == 1");
    assert!(
        !prometheus.wait_for(&up, SCRAPE_GUARD).is_empty(),
        "prometheus did not scrape the server within {SCRAPE_GUARD:?}: {:?}\n{}",
        prometheus.query(&format!("up{{job=\"{JOB}\"}}")),
        prometheus.log_tail()
    );

    burst(&server);
    // Two more scrapes, so the last samples of the burst are in.
    thread::sleep(Duration::from_millis(2_500));

    let peak = format!(
        "max_over_time(sedaflow_stage_queue_depth_peak{{job=\"{JOB}\",stage=\"{STAGE}\"}}[1m]) > 0"
    );
    assert!(
        !prometheus.query(&peak).is_empty(),
        "the {STAGE} stage's peak queue depth never rose above zero under the burst: {:?}",
        prometheus.query(&format!(
            "sedaflow_stage_queue_depth_peak{{job=\"{JOB}\"}}[1m]"
        ))
    );

    assert_stage_options_in_pipeline_order(&dashboard, &prometheus, server.metrics);
    let mut failures = Vec::new();
    for (panel, expr) in &targets {
        let promql = substitute(expr, server.metrics);
        let result = prometheus.query(&promql);
        if result.is_empty() {
            failures.push(format!("{panel}: no series for {promql}"));
        } else if result.iter().all(|s| sample_value(s).is_none()) {
            failures.push(format!("{panel}: only NaN for {promql}: {result:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} dashboard queries failed:\n{}",
        failures.len(),
        targets.len(),
        failures.join("\n")
    );
}
