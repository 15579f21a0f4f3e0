//! The order server: metrics exporter, pipeline, TCP and HTTP listeners, and their shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sedaflow::{
    install_prometheus, ExporterError, Handler, MetricsExporter, Pipeline, Report, StageConfig,
};
use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::accounts::Auth;
use crate::admission::Admission;
use crate::cluster::{ingress, ClusterError, MarketFeed, Role};
use crate::config::{ConfigError, ServerConfig};
use crate::internal_events::{
    AccountMetrics, AdmissionMetrics, JournalMetrics, LoopMetrics, ServerMetrics, ShapingMetrics,
};
use crate::journal::{Journal, JournalError};
use crate::net::{self, http, tcp, Registry, SessionEnv, Shaping};
use crate::pipeline::{self, EncodeIn, Extension, MarketIn, Network, Order, PipelineError, Wiring};
use crate::signals::{Caught, Hangups, StopSignals};

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum ServerError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The metrics endpoint could not start.
    #[error("metrics: {0}")]
    Metrics(#[from] ExporterError),
    /// The pipeline could not be built.
    #[error("pipeline: {0}")]
    Pipeline(#[from] PipelineError),
    /// A listener could not be bound.
    #[error("cannot listen for {what} on {addr}: {source}")]
    Bind {
        /// `tcp` or `http`.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The journal could not be recovered or opened.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The network runtime could not start.
    #[error("network runtime: {0}")]
    Runtime(std::io::Error),
    /// The NATS side of a scale-out role could not start.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// A running server. [`Server::shutdown`] stops it gracefully.
pub struct Server {
    tcp: SocketAddr,
    http: SocketAddr,
    exporter: MetricsExporter,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    signals: Mutex<StopSignals>,
    hangups: Mutex<Hangups>,
    /// The configuration in force (what a reload compares with).
    config: Mutex<ServerConfig>,
    shaping: Arc<Shaping>,
    runtime: tokio::runtime::Runtime,
    loops: Arc<net::EventLoops>,
    pipeline: Pipeline,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("tcp", &self.tcp)
            .field("http", &self.http)
            .field("metrics", &self.exporter.local_addr())
            .finish()
    }
}

/// Configures a server before it starts, including a stage of the operator's own.
pub struct ServerBuilder {
    config: ServerConfig,
    extension: Option<Extension>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("config", &self.config)
            .field("extended", &self.extension.is_some())
            .finish()
    }
}

impl ServerBuilder {
    /// Adds a stage between decode and matching (a pre-trade risk check, say). It receives
    /// every validated [`Order`], keyed by symbol (so per-symbol state needs no locks), and
    /// passes each on with `ctx.emit(order)` or refuses it with [`Order::reject`].
    pub fn before_matching<H, F>(
        mut self,
        name: impl Into<String>,
        factory: F,
        config: StageConfig,
    ) -> Self
    where
        H: Handler<In = Order>,
        F: Fn() -> H + Send + Sync + 'static,
    {
        let name = name.into();
        self.extension = Some(Box::new(move |p, topic| {
            p.stage(name, factory)
                .config(config)
                .topic(topic)
                .keyed_by(|o: &Order| o.request().symbol());
        }));
        self
    }

    /// Starts the server.
    ///
    /// # Errors
    /// See [`ServerError`].
    pub fn start(self) -> Result<Server, ServerError> {
        Server::launch(self.config, self.extension)
    }
}

impl Server {
    /// A builder, for servers with a stage of the operator's own.
    pub fn builder(config: ServerConfig) -> ServerBuilder {
        ServerBuilder {
            config,
            extension: None,
        }
    }

    /// Binds every address, builds and starts the pipeline, and starts serving. The metrics
    /// recorder is process-wide: one server per process.
    ///
    /// # Errors
    /// See [`ServerError`].
    pub fn start(config: ServerConfig) -> Result<Server, ServerError> {
        Server::launch(config, None)
    }

    fn launch(config: ServerConfig, extension: Option<Extension>) -> Result<Server, ServerError> {
        config.validate()?;
        let exporter = install_prometheus(config.metrics)?;
        let metrics = ServerMetrics::register();
        let journal = open_journal(&config)?;
        let conn_base = journal.as_ref().map_or(0, |j| j.conn_base());
        let auth = Arc::new(Auth::new(&config.auth).map_err(ConfigError::Invalid)?);
        if !auth.requires_login() {
            tracing::warn!(
                "auth mode is open: any account name logs in without a key check (set [auth] mode = \"keys\" in production)"
            );
        }
        let floors = journal
            .as_ref()
            .map(|j| j.floors().clone())
            .unwrap_or_default();
        let registry = Arc::new(Registry::new(conn_base, floors, AccountMetrics::register()));
        let admission = Arc::new(Admission::new(
            &config.admission,
            AdmissionMetrics::register(config.admission.target),
        ));
        let (runtime, held) = network_runtime(&config)?;
        let loops = net::EventLoops::start(
            config.network.min_loops.get(),
            config.network.max_loops.get(),
            held.clone(),
            LoopMetrics::register(),
        )
        .map_err(ServerError::Runtime)?;
        // An ingress hands orders to the NATS log instead of matching them.
        let (forward, ingress) = match config.cluster.role {
            Role::Ingress => {
                let log_sessions = config.cancel_on_disconnect;
                let (link, tasks) =
                    runtime.block_on(ingress::connect(&config.cluster, log_sessions))?;
                if log_sessions {
                    let sessions = link.clone();
                    registry.log_sessions(Box::new(move |conn, owner| {
                        sessions.session_opened(conn, owner);
                    }));
                }
                (Some(link), Some(tasks))
            }
            Role::All => (None, None),
            Role::Matcher => {
                return Err(ConfigError::Invalid(
                    "cluster.role = matcher runs with cluster::Matcher, not Server".into(),
                )
                .into())
            }
        };
        let (read, write) = net::network_stages(&loops, &config.limits, metrics.output());
        let wiring = Wiring {
            network: Network {
                read: (net::NET_READ, read),
                write: (net::NET_WRITE, write),
            },
            clients: registry.clone(),
            metrics: metrics.clone(),
            admission: admission.clone(),
            extension,
            journal,
            forward,
        };
        let order = pipeline::build(&config, wiring)?;
        if let Some(tasks) = ingress {
            let encode = order
                .pipeline
                .publisher::<EncodeIn>()
                .map_err(PipelineError::from)?;
            let market = order
                .pipeline
                .publisher::<MarketIn>()
                .map_err(PipelineError::from)?;
            let market = MarketFeed::new(market, MarketIn::from_deltas);
            runtime.block_on(tasks.spawn(encode, pipeline::answered, admission.clone(), market))?;
        }
        if let Some(runner) = order.pipeline.idle_runner(pipeline::MARKET_STAGE) {
            loops.run_when_idle(runner);
        }
        let market = net::Market::new(&order.pipeline, &config.market, metrics.market().clone())
            .map_err(PipelineError::from)?;
        let listeners = Listeners::bind(&config)?;
        let (tcp, http) = (listeners.tcp.1, listeners.http.1);
        let (stop, stopped) = watch::channel(false);
        let shaping = Arc::new(Shaping::new(&config.limits, ShapingMetrics::register()));
        let env = SessionEnv {
            input: order.input,
            admission,
            limits: config.limits.clone(),
            shaping: shaping.clone(),
            metrics,
            stop: stopped,
            auth,
            registry,
            cancel_on_disconnect: config.cancel_on_disconnect,
            loops: loops.clone(),
            control: runtime.handle().clone(),
        };
        order.pipeline.start();
        let serving = serve(listeners, &config, env, held.flusher(), market);
        let tasks = runtime.block_on(serving)?;
        Ok(Server {
            tcp,
            http,
            exporter,
            stop,
            tasks,
            signals: StopSignals::install(&runtime),
            hangups: Hangups::install(&runtime),
            config: Mutex::new(config),
            shaping,
            runtime,
            loops,
            pipeline: order.pipeline,
        })
    }

    /// The order stream's address.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp
    }

    /// The HTTP order entry's address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
    }

    /// The metrics endpoint's address.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.exporter.local_addr()
    }

    /// The pipeline's counts so far.
    pub fn report(&self) -> Report {
        self.pipeline.report()
    }

    /// Blocks until SIGINT or SIGTERM. A SIGHUP is logged and ignored: there is nothing to
    /// reload from (see [`Server::wait_for_signal_reloading`]).
    pub fn wait_for_signal(&self) {
        self.wait_for_signal_reloading(|| {
            Err(ConfigError::Invalid(
                "no configuration file to re-read".into(),
            ))
        });
    }

    /// Blocks until SIGINT or SIGTERM. On each SIGHUP, asks `reload` for the configuration
    /// now wanted and applies it as [`Server::reconfigure`] does, logging what takes a
    /// restart; a configuration `reload` cannot give (an unreadable or invalid file) is logged
    /// and the running one stays.
    pub fn wait_for_signal_reloading(
        &self,
        mut reload: impl FnMut() -> Result<ServerConfig, ConfigError>,
    ) {
        while let Caught::Hangup =
            StopSignals::wait_or_hangup(&self.signals, &self.hangups, &self.runtime)
        {
            let applied = reload().and_then(|c| self.reconfigure(&c));
            match applied {
                Ok(restart) if restart.is_empty() => {
                    tracing::info!("SIGHUP: configuration reloaded")
                }
                Ok(restart) => tracing::warn!(
                    needs_restart = %restart.join(", "),
                    "SIGHUP: traffic shaping limits reloaded; other changed settings take a restart"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "SIGHUP: configuration not reloaded, the running one stays")
                }
            }
        }
    }

    /// Applies what of `config` can change while the server runs: the traffic shaping rates of
    /// `[limits]` (`read_bytes_per_sec`, `read_requests_per_sec`, `conn_read_bytes_per_sec`,
    /// `conn_read_requests_per_sec`), from each reader's next read on. Returns the other
    /// settings that differ from the running ones: they take a restart.
    ///
    /// # Errors
    /// When `config` is invalid; nothing is applied then.
    ///
    /// # Examples
    /// ```
    /// use std::num::NonZeroU64;
    /// use std::time::Duration;
    /// use sedaflow_stages::{Server, ServerConfig};
    ///
    /// let mut config = ServerConfig::default();
    /// let any_port = "127.0.0.1:0".parse()?;
    /// (config.tcp, config.http, config.metrics) = (any_port, any_port, any_port);
    /// let server = Server::start(config.clone())?;
    /// config.limits.read_requests_per_sec = NonZeroU64::new(50_000);
    /// config.limits.idle_timeout = Duration::from_secs(60);
    /// // The rate applies at once; the timeout waits for a restart.
    /// assert_eq!(server.reconfigure(&config)?, ["limits.idle_timeout"]);
    /// server.shutdown(Duration::from_secs(5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reconfigure(&self, config: &ServerConfig) -> Result<Vec<String>, ConfigError> {
        config.validate()?;
        let mut running = self.config.lock();
        let restart = running.needs_restart(config);
        running.limits.reload_from(&config.limits);
        self.shaping.set(&running.limits, Instant::now());
        Ok(restart)
    }

    /// Stops accepting and reading, answers every request already read, then drains and stops
    /// the pipeline. Returns the pipeline's report.
    pub fn shutdown(self, deadline: Duration) -> Report {
        let until = Instant::now() + deadline;
        let _ = self.stop.send(true);
        let tasks = self.tasks;
        self.runtime.block_on(async {
            for t in tasks {
                let left = until.saturating_duration_since(Instant::now());
                let _ = tokio::time::timeout(left, t).await;
            }
        });
        // Every session ended with the TCP task: the loops have nothing left to run.
        self.loops.shutdown();
        let report = self
            .pipeline
            .shutdown(until.saturating_duration_since(Instant::now()));
        self.runtime.shutdown_timeout(Duration::from_secs(1));
        report
    }
}

/// The journal, recovered, when the server keeps one.
fn open_journal(config: &ServerConfig) -> Result<Option<Arc<Journal>>, ServerError> {
    let Some(dir) = &config.journal else {
        return Ok(None);
    };
    let journal = Journal::open(
        dir,
        config.journal_segment_bytes,
        JournalMetrics::register(),
    )?;
    Ok(Some(Arc::new(journal)))
}

/// The control runtime (accepting, HTTP, WebSocket, timers), and what the network threads
/// (its workers and the event loops) hold together: workers hold reports nobody awaits yet
/// across reads, and hand them over when they go idle (`net::output`'s "when is a reply
/// written").
fn network_runtime(
    config: &ServerConfig,
) -> Result<(tokio::runtime::Runtime, Arc<net::Consolidation>), ServerError> {
    let held = Arc::new(net::Consolidation::default());
    let (resumed, idle) = (held.clone(), held.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.network_threads.get())
        .thread_name("sf-io")
        .on_thread_unpark(move || resumed.resumed())
        .on_thread_park(move || idle.idle())
        .enable_all()
        .build()
        .map_err(ServerError::Runtime)?;
    Ok((runtime, held))
}

/// The bound TCP and HTTP listeners, with the addresses they got (a port 0 is chosen here).
struct Listeners {
    tcp: (std::net::TcpListener, SocketAddr),
    http: (std::net::TcpListener, SocketAddr),
}

impl Listeners {
    fn bind(config: &ServerConfig) -> Result<Listeners, ServerError> {
        let bind = |what, addr| -> Result<_, ServerError> {
            let r = match what {
                "tcp" => tcp::bind(addr, &config.socket),
                _ => std::net::TcpListener::bind(addr)
                    .and_then(|l| l.set_nonblocking(true).map(|()| l)),
            };
            let l = r.map_err(|source| ServerError::Bind { what, addr, source })?;
            let bound =
                l.local_addr()
                    .map_err(|source| ServerError::Bind { what, addr, source })?;
            Ok((l, bound))
        };
        Ok(Listeners {
            tcp: bind("tcp", config.tcp)?,
            http: bind("http", config.http)?,
        })
    }
}

/// Starts the server's tasks on the network runtime: the listeners, the admission ticker and
/// the flusher (which runs until the runtime stops, so it is not among the returned tasks).
async fn serve(
    listeners: Listeners,
    config: &ServerConfig,
    env: SessionEnv,
    flusher: impl Future<Output = ()> + Send + 'static,
    market: Arc<net::Market>,
) -> Result<Vec<JoinHandle<()>>, ServerError> {
    let tokio_listener = |what, (l, addr): (std::net::TcpListener, SocketAddr)| {
        tokio::net::TcpListener::from_std(l).map_err(|source| ServerError::Bind {
            what,
            addr,
            source,
        })
    };
    let tcp_l = tokio_listener("tcp", listeners.tcp)?;
    let http_l = tokio_listener("http", listeners.http)?;
    tokio::spawn(flusher);
    let every = config.admission.interval;
    Ok(vec![
        tokio::spawn(steer(env.admission.clone(), every, env.stop.clone())),
        tokio::spawn(net::steer_loops(
            env.loops.clone(),
            config.network.idle_timeout,
            env.stop.clone(),
        )),
        tokio::spawn(tcp::serve(tcp_l, config.socket.clone(), env.clone())),
        tokio::spawn(market.clone().tick(env.stop.clone())),
        tokio::spawn(http::serve(http_l, env, market)),
    ])
}

/// Ticks the admission controller until the server stops.
async fn steer(admission: Arc<Admission>, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => admission.tick(),
        }
    }
}
