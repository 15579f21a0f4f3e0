//! The Prometheus exporter: histogram buckets (not summaries) and a `/metrics` endpoint that
//! refreshes every pipeline's gauges right before rendering, so peaks are "since last scrape".

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use thiserror::Error;
use tokio::sync::oneshot;

use super::histogram::SECONDS;
use super::render_all;

/// Why the exporter could not start.
///
/// # Examples
/// ```
/// use std::net::TcpListener;
/// use sedaflow::{install_prometheus, ExporterError};
///
/// let taken = TcpListener::bind("127.0.0.1:0")?;
/// let error = install_prometheus(taken.local_addr()?).unwrap_err();
/// assert!(matches!(error, ExporterError::Bind { .. }));
/// assert!(error.to_string().starts_with("cannot listen on 127.0.0.1:"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Error)]
pub enum ExporterError {
    /// Another `metrics` recorder is already installed in this process.
    #[error("a metrics recorder is already installed")]
    RecorderInstalled,
    /// The bucket configuration was refused.
    #[error("invalid histogram buckets: {0}")]
    Buckets(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server thread could not start.
    #[error("cannot start the metrics server: {0}")]
    Runtime(std::io::Error),
}

/// A running `/metrics` endpoint. Dropping it stops the server (the recorder stays installed).
///
/// # Examples
/// ```
/// use std::io::{Read, Write};
/// use std::net::TcpStream;
/// use sedaflow::install_prometheus;
///
/// let exporter = install_prometheus("127.0.0.1:0".parse()?)?;
/// let mut conn = TcpStream::connect(exporter.local_addr())?;
/// conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
/// let mut answer = String::new();
/// conn.read_to_string(&mut answer)?;
/// assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MetricsExporter {
    addr: SocketAddr,
    handle: PrometheusHandle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MetricsExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsExporter")
            .field("addr", &self.addr)
            .finish()
    }
}

impl MetricsExporter {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The current exposition text, as a scrape would see it.
    pub fn render(&self) -> String {
        render(&self.handle)
    }
}

impl Drop for MetricsExporter {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Installs the Prometheus recorder process-wide and serves `GET /metrics` on `addr`
/// (port 0 picks a free port). Pipelines built before or after it are exported alike: their
/// series are rendered from the live pipelines at each scrape, labelled `pipeline` (the
/// builder's [`name`](crate::PipelineBuilder::name)) and `stage`, and leave with them.
///
/// # Errors
/// See [`ExporterError`].
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, install_prometheus, Batch, ExporterError, Pipeline};
///
/// let mut p = Pipeline::builder();
/// p.name("jobs");
/// p.stage("sink", || handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop)));
/// let pipeline = p.build()?;
/// let exporter = install_prometheus("127.0.0.1:0".parse()?)?;
/// assert_ne!(exporter.local_addr().port(), 0);
/// let input = pipeline.publisher::<u32>()?;
/// pipeline.start();
/// input.blocking_publish(1).unwrap();
/// assert!(pipeline.wait_idle(Duration::from_secs(5)));
/// let processed = r#"sedaflow_stage_events_processed_total{pipeline="jobs",stage="sink"}"#;
/// assert!(exporter.render().contains(&format!("{processed} 1\n")));
/// // A pipeline's series leave with it.
/// pipeline.shutdown(Duration::from_secs(5));
/// assert!(!exporter.render().contains(processed));
/// // One recorder per process.
/// let again = install_prometheus("127.0.0.1:0".parse()?);
/// assert!(matches!(again, Err(ExporterError::RecorderInstalled)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn install_prometheus(addr: SocketAddr) -> Result<MetricsExporter, ExporterError> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
        .map_err(|e| ExporterError::Buckets(e.to_string()))?
        .build_recorder();
    let handle = recorder.handle();
    let listener =
        TcpListener::bind(addr).map_err(|source| ExporterError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ExporterError::Bind { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ExporterError::Bind { addr, source })?;
    metrics::set_global_recorder(recorder).map_err(|_| ExporterError::RecorderInstalled)?;
    let (stop, stopped) = oneshot::channel();
    let served = handle.clone();
    let thread = std::thread::Builder::new()
        .name("sf-metrics".into())
        .spawn(move || serve(listener, served, stopped))
        .map_err(ExporterError::Runtime)?;
    Ok(MetricsExporter {
        addr,
        handle,
        stop: Some(stop),
        thread: Some(thread),
    })
}

fn serve(listener: TcpListener, handle: PrometheusHandle, mut stopped: oneshot::Receiver<()>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "metrics server runtime failed to start");
            return;
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "metrics listener failed");
                return;
            }
        };
        let upkeep = handle.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                upkeep.run_upkeep();
            }
        });
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => {
                    let stream = match accepted {
                        Ok((s, _)) => s,
                        Err(e) => {
                            tracing::warn!(error = %e, "metrics accept failed");
                            continue;
                        }
                    };
                    let handle = handle.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                            let response = respond(&req, &handle);
                            async move { Ok::<_, Infallible>(response) }
                        });
                        let io = hyper_util::rt::TokioIo::new(stream);
                        if let Err(e) = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await
                        {
                            tracing::debug!(error = %e, "metrics connection ended with an error");
                        }
                    });
                }
            }
        }
    });
}

/// The recorder's metrics, then the pipelines' series and the hot-path histograms.
fn render(handle: &PrometheusHandle) -> String {
    let mut text = handle.render();
    render_all(&mut text);
    text
}

fn respond(req: &Request<Incoming>, handle: &PrometheusHandle) -> Response<Full<Bytes>> {
    let (status, body) = if req.uri().path() == "/metrics" {
        (StatusCode::OK, render(handle))
    } else {
        (StatusCode::NOT_FOUND, "not found\n".to_owned())
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}
