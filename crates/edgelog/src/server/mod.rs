//! `edgelog serve`: the dashboard and the HTTP API over one source of logs
//! (raw objects, a lake, or both), as thin handlers over the front door
//! ([`crate::engine::QueryService`]).
//!
//! What it owns: the routes ([`routes`]), who may ask ([`auth`]: a bearer
//! token or the cookie the login form sets, compared in constant time),
//! which SQL may run ([`sql`]: one read-only query), limits (body size,
//! query time, rows, concurrent queries with a queue, slow clients),
//! identical reports answered from one computation ([`cache`]), its
//! counters ([`metrics`], Prometheus text), its own access log in the
//! `combined_request_time` format ([`access`]), and the dashboard's
//! embedded assets. It prints nothing: the CLI says what it listens on.

pub mod access;
pub mod auth;
pub mod cache;
pub mod error;
pub mod metrics;
mod query;
pub mod routes;
pub mod sql;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::engine::ScanRequest;

/// Limits that keep one caller from taking the server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body (the SQL), in bytes: 413 beyond.
    pub body_bytes: usize,
    /// Longest a query or report may run: 504 beyond, and it is cancelled.
    pub query_time: Duration,
    /// Most rows a query answer carries; more are cut (said in the answer).
    pub result_rows: usize,
    /// Queries and report computations running at once.
    pub concurrent: usize,
    /// Requests that may wait for a turn; more get 429.
    pub queue: usize,
    /// Longest wait for a request's headers (slow clients are dropped).
    pub header_time: Duration,
    /// How long in-flight requests may finish after a stop signal.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes: 64 * 1024,
            query_time: Duration::from_secs(60),
            result_rows: 10_000,
            concurrent: 2,
            queue: 16,
            header_time: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Where the alert states come from, when rules are given.
#[derive(Debug, Clone)]
pub struct AlertSource {
    /// The rules file (its rules are listed even before a first round).
    pub rules: PathBuf,
    /// The state folder a watcher keeps (this server's or another process's).
    pub state: PathBuf,
}

/// Everything `serve` needs, as plain data.
#[derive(Clone)]
pub struct ServeConfig {
    /// The logs every question is over (locations, lake, format, storage);
    /// each request adds its range.
    pub request: ScanRequest,
    /// The bearer token; `None` only on a loopback address.
    pub token: Option<String>,
    /// Limits.
    pub limits: Limits,
    /// Identical reports within this long share one computation.
    pub cache_ttl: Duration,
    /// How often the dashboard refreshes.
    pub refresh: Duration,
    /// The alert states shown, if any.
    pub alerts: Option<AlertSource>,
    /// Where the server's own access log goes, if anywhere.
    pub access_log: Option<PathBuf>,
}

impl std::fmt::Debug for ServeConfig {
    // The token is never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("request", &self.request)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("limits", &self.limits)
            .field("cache_ttl", &self.cache_ttl)
            .field("alerts", &self.alerts)
            .finish()
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is unsafe or wrong (a public address without a token).
    #[error("{0}")]
    Config(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The access log could not be opened.
    #[error("cannot open the access log {path}: {source}")]
    AccessLog {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Refuses a configuration that would expose logs to anyone who can reach
/// the address: a non-loopback address needs a token.
pub fn check_exposure(addr: &SocketAddr, token: Option<&str>) -> Result<(), ServeError> {
    if token.is_none() && !addr.ip().is_loopback() {
        return Err(ServeError::Config(format!(
            "refusing to listen on {addr} without a token: give --token-file FILE (or EDGELOG_TOKEN), or listen on 127.0.0.1"
        )));
    }
    Ok(())
}

/// What every handler shares.
pub struct AppState {
    /// The configuration.
    pub config: ServeConfig,
    /// Turns for queries and report computations.
    pub turns: Arc<Semaphore>,
    /// Requests waiting for a turn.
    pub waiting: std::sync::atomic::AtomicUsize,
    /// Counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// Reports computed lately.
    pub reports: cache::ReportCache,
    /// The dialect decided at start: later opens neither sample nor detect.
    pub request: ScanRequest,
    /// Who may ask.
    pub auth: auth::Auth,
    /// The access log, if kept.
    pub access: Option<access::AccessLog>,
}

/// A listener bound, ready to [`Server::run`].
pub struct Server {
    listener: TcpListener,
    state: Arc<AppState>,
}

impl Server {
    /// Binds `addr` after checking the configuration; `request` is the
    /// logs as opened once (their format decided).
    pub async fn bind(addr: SocketAddr, config: ServeConfig, request: ScanRequest) -> Result<Server, ServeError> {
        check_exposure(&addr, config.token.as_deref())?;
        let access = match &config.access_log {
            Some(path) => Some(access::AccessLog::open(path).map_err(|source| ServeError::AccessLog {
                path: path.clone(),
                source,
            })?),
            None => None,
        };
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Listen { addr, source })?;
        let state = Arc::new(AppState {
            turns: Arc::new(Semaphore::new(config.limits.concurrent.max(1))),
            waiting: Default::default(),
            metrics: metrics::Metrics::default(),
            reports: cache::ReportCache::new(config.cache_ttl),
            auth: auth::Auth::new(config.token.as_deref()),
            access,
            request,
            config,
        });
        Ok(Server { listener, state })
    }

    /// The address bound (the port chosen when 0 was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop` resolves; then refuses new connections, lets
    /// requests in flight finish for up to the grace time, and returns.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        let router = routes::router(self.state.clone());
        let (closing_tx, closing_rx) = watch::channel(false);
        let mut connections = tokio::task::JoinSet::new();
        let flusher = tokio::spawn(async {
            if !crate::trace::enabled() {
                return;
            }
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let _ = crate::trace::flush(Duration::from_secs(5)).await;
            }
        });
        let mut stop = std::pin::pin!(stop);
        loop {
            let accepted = tokio::select! {
                a = self.listener.accept() => a,
                _ = &mut stop => break,
            };
            let Ok((stream, peer)) = accepted else {
                // Out of file descriptors and the like: wait, then go on.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let router = router.clone();
            let mut closing = closing_rx.clone();
            let header_time = self.state.config.limits.header_time;
            connections.spawn(async move {
                let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(routes::Peer(peer));
                    let router = router.clone();
                    async move {
                        use tower_service::Service;
                        let mut router = router;
                        router.call(req.map(axum::body::Body::new)).await
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_time)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                let mut conn = std::pin::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => return,
                    _ = closing.wait_for(|c| *c) => {}
                }
                // Stopping: the request in flight finishes, then the connection closes.
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            });
            // Reap finished connections so the set does not grow.
            while connections.try_join_next().is_some() {}
        }
        drop(self.listener);
        let _ = closing_tx.send(true);
        let grace = self.state.config.limits.shutdown_grace;
        let _ = tokio::time::timeout(grace, async { while connections.join_next().await.is_some() {} }).await;
        connections.abort_all();
        flusher.abort();
        let _ = crate::trace::flush(Duration::from_secs(5)).await;
    }
}
