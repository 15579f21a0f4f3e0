use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sedaflow_stages::accounts::AccountName;
use sedaflow_stages::codec::encode_login;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::conn::{read_responses, write_requests, Clock, Connection, Progress};
use super::market::Fleet;
use super::mix::{MixParams, OrderMix};
use super::pacer::{self, Schedule};
use super::summary::{LoadgenSummary, Tally};
use super::tracker::Tracker;
use super::{LoadgenConfig, LoadgenError};

/// How long to wait for answers still outstanding when sending stops.
pub const DRAIN_WAIT: Duration = Duration::from_secs(5);
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a connection task hands back.
enum Half {
    Writer(Tally),
    Reader(Tally),
}

/// Runs one load run against `config.addr` and summarises it.
///
/// Opens `connections` TCP connections (`TCP_NODELAY`), then sends for
/// `warmup + duration`: open loop at `rate` orders/s on a fixed schedule when a rate is
/// given, else closed loop with `pipeline` requests outstanding per connection. Then it
/// waits up to [`DRAIN_WAIT`] for the answers still outstanding; those that do not come
/// are `lost`. Latency runs from each request's intended send time to its answer, so a
/// sender that falls behind its schedule does not hide the delay (no coordinated
/// omission).
///
/// With `md_subscribers`, the market-data subscribers connect to `config.http` and get
/// their snapshots first; once the answers are in they check their books (see the crate's
/// "Market data").
///
/// # Errors
///
/// [`LoadgenError::Config`] for a config that fails [`LoadgenConfig::validate`],
/// [`LoadgenError::Connect`] when a connection cannot be opened, [`LoadgenError::Io`] when
/// one fails, [`LoadgenError::Protocol`] when the server answers out of order, answers
/// something never asked or sends an unreadable line; [`LoadgenError::WebSocket`],
/// [`LoadgenError::NotReady`] and [`LoadgenError::Snapshot`] when the market-data
/// subscribers cannot start or end. Market-data gaps and mismatches are counted in the
/// summary, not errors.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sedaflow_loadgen::{self as loadgen, LoadgenConfig};
/// use sedaflow_stages::{Server, ServerConfig};
///
/// let mut server_config = ServerConfig::default();
/// for addr in [&mut server_config.tcp, &mut server_config.http, &mut server_config.metrics] {
///     *addr = "127.0.0.1:0".parse().unwrap();
/// }
/// let server = Server::start(server_config).unwrap();
///
/// let config = LoadgenConfig { addr: server.tcp_addr(), duration: Duration::from_millis(200), ..Default::default() };
/// let summary = tokio::runtime::Runtime::new().unwrap().block_on(loadgen::run(config)).unwrap();
/// assert!(summary.answered > 0);
/// assert_eq!(summary.lost, 0);
/// server.shutdown(Duration::from_secs(5));
/// ```
pub async fn run(config: LoadgenConfig) -> Result<LoadgenSummary, LoadgenError> {
    config.validate()?;
    // Subscribed before the first order, so they see every change of the run.
    let market = Fleet::start(&config).await?;
    let connections = config.connections.get();
    let id_base = config.effective_id_base();
    let mut sockets = Vec::with_capacity(connections);
    for c in 0..connections {
        let mut socket = connect(&config).await?;
        if config.accounts > 0 {
            login(&mut socket, c, c % config.accounts).await?;
        }
        sockets.push(socket);
    }

    let shared = Shared {
        clock: start_clock(&config),
        schedule: config.rate.map(|rate| Schedule { rate, connections }),
        progress: Arc::new(Progress::default()),
        id_base,
    };
    let clock = shared.clock;
    let stop = Arc::new(AtomicBool::new(false));

    let mut tasks = JoinSet::new();
    let permits = sockets
        .into_iter()
        .enumerate()
        .map(|(index, socket)| spawn_connection(&mut tasks, &config, &shared, index, socket))
        .collect();
    let pacer = match shared.schedule {
        Some(schedule) => Some(spawn_pacer(schedule, permits, clock, &stop)?),
        None => None,
    };
    let reporter = config
        .progress
        .then(|| tokio::spawn(report_progress(clock, Arc::clone(&shared.progress))));

    let result = collect(&mut tasks).await;
    stop.store(true, Ordering::Relaxed);
    tasks.abort_all();
    if let Some(reporter) = reporter {
        reporter.abort();
    }
    if let Some(pacer) = pacer {
        // The pacer looks at `stop` at least every few milliseconds.
        let _ = tokio::task::spawn_blocking(move || pacer.join()).await;
    }
    let tally = result?;
    let end_ns = clock.send_end_ns.max(tally.last_answer_ns);
    let elapsed = Duration::from_nanos(end_ns - clock.measure_from_ns);
    let mut summary = LoadgenSummary::new(tally, elapsed);
    if let Some(market) = market {
        summary.market = Some(market.finish().await?);
    }
    Ok(summary)
}

/// What every connection of a run shares.
struct Shared {
    clock: Clock,
    /// Open loop when given.
    schedule: Option<Schedule>,
    progress: Arc<Progress>,
    id_base: u64,
}

/// The run's clock, started now: warm-up, then the measured sending, then the drain wait.
fn start_clock(config: &LoadgenConfig) -> Clock {
    let nanos = |d: Duration| d.as_nanos().min(u128::from(u64::MAX)) as u64;
    let measure_from_ns = nanos(config.warmup);
    let send_end_ns = measure_from_ns.saturating_add(nanos(config.duration));
    Clock {
        start: Instant::now(),
        measure_from_ns,
        send_end_ns,
        give_up_ns: send_end_ns.saturating_add(nanos(DRAIN_WAIT)),
    }
}

/// Spawns connection `index`'s writer and reader; returns its permits, for the pacer.
fn spawn_connection(
    tasks: &mut JoinSet<Result<Half, LoadgenError>>,
    config: &LoadgenConfig,
    shared: &Shared,
    index: usize,
    socket: TcpStream,
) -> Arc<Semaphore> {
    let schedule = shared.schedule;
    let initial = match schedule {
        Some(_) => 0,
        None => config.pipeline.get(),
    };
    let permits = Arc::new(Semaphore::new(initial));
    let tracker = Tracker::new(config.seed.wrapping_add(index as u64));
    let conn = Arc::new(Connection::new(
        index,
        tracker,
        Arc::clone(&permits),
        shared.clock,
        Arc::clone(&shared.progress),
    ));
    let mix = OrderMix::new(MixParams {
        seed: config.seed,
        symbols: config.symbols.get(),
        connections: config.connections.get(),
        connection: index,
        cancel_pct: config.cancel_pct,
        amend_pct: config.amend_pct,
        market_pct: config.market_pct,
        id_base: shared.id_base,
    });
    let (reader, writer) = socket.into_split();
    let writer_conn = Arc::clone(&conn);
    tasks.spawn(async move {
        write_requests(writer_conn, writer, mix, schedule)
            .await
            .map(Half::Writer)
    });
    let closed_loop = schedule.is_none();
    tasks.spawn(async move {
        read_responses(conn, reader, closed_loop)
            .await
            .map(Half::Reader)
    });
    permits
}

/// Starts the open-loop pacer, which releases every connection's permits on the schedule
/// until `stop`.
fn spawn_pacer(
    schedule: Schedule,
    permits: Vec<Arc<Semaphore>>,
    clock: Clock,
    stop: &Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, LoadgenError> {
    pacer::spawn(
        schedule,
        permits,
        clock.start,
        clock.send_end_ns,
        Arc::clone(stop),
    )
    .map_err(|source| LoadgenError::Io {
        connection: 0,
        source,
    })
}

async fn connect(config: &LoadgenConfig) -> Result<TcpStream, LoadgenError> {
    let connect_error = |source| LoadgenError::Connect {
        addr: config.addr,
        source,
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(config.addr))
        .await
        .map_err(|_| connect_error(std::io::ErrorKind::TimedOut.into()))?
        .map_err(connect_error)?;
    stream.set_nodelay(true).map_err(connect_error)?;
    Ok(stream)
}

/// Logs connection `c` in as account `lg{account}` (its key is its name) and reads the
/// answer, before any order is sent.
async fn login(socket: &mut TcpStream, c: usize, account: usize) -> Result<(), LoadgenError> {
    let name = format!("lg{account}");
    let io = |source| LoadgenError::Io {
        connection: c,
        source,
    };
    let account = AccountName::new(&name).ok_or(LoadgenError::Config("invalid account name"))?;
    let mut line = Vec::new();
    encode_login(&account, &name, &mut line);
    socket.write_all(&line).await.map_err(io)?;
    // The answer is one short line; read it byte by byte so nothing after it is consumed.
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while byte[0] != b'\n' && answer.len() < 4096 {
        let n = tokio::time::timeout(CONNECT_TIMEOUT, socket.read(&mut byte))
            .await
            .map_err(|_| io(std::io::ErrorKind::TimedOut.into()))?
            .map_err(io)?;
        if n == 0 {
            return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        answer.push(byte[0]);
    }
    let expected = format!(r#"{{"type":"login","account":"{name}"}}"#);
    if answer.trim_ascii() != expected.as_bytes() {
        return Err(LoadgenError::Login {
            connection: c,
            answer: String::from_utf8_lossy(&answer).trim().to_owned(),
        });
    }
    Ok(())
}

/// Merges every connection's counts; the first failure ends the run.
async fn collect(tasks: &mut JoinSet<Result<Half, LoadgenError>>) -> Result<Tally, LoadgenError> {
    let mut total = Tally::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.map_err(LoadgenError::Task)?? {
            Half::Writer(tally) | Half::Reader(tally) => total.merge(tally),
        }
    }
    Ok(total)
}

/// Prints one line a second to standard error until aborted.
async fn report_progress(clock: Clock, progress: Arc<Progress>) {
    let mut ticks = tokio::time::interval_at(clock.at(1_000_000_000), Duration::from_secs(1));
    let (mut last_sent, mut last_answered) = (0, 0);
    for second in 1u64.. {
        ticks.tick().await;
        if clock.now_ns() > clock.give_up_ns {
            break;
        }
        let sent = progress.sent.load(Ordering::Relaxed);
        let answered = progress.answered.load(Ordering::Relaxed);
        let phase = if clock.now_ns() < clock.measure_from_ns {
            "warm-up"
        } else if clock.now_ns() < clock.send_end_ns {
            "running"
        } else {
            "draining"
        };
        eprintln!(
            "loadgen [{second:>4}s {phase}] sent {:>8}/s  answered {:>8}/s  outstanding {}",
            sent - last_sent,
            answered - last_answered,
            sent.saturating_sub(answered),
        );
        (last_sent, last_answered) = (sent, answered);
    }
}
