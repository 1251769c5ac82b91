//! `edgelog serve`: flags -> a [`ServeConfig`] (the logs opened once, so
//! the format is decided at start), the alert watcher when `--rules` is
//! given, then the server until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::scope::{ScopeArgs, now_ms, open_logs};
use crate::config::parse_duration_ms;
use crate::engine::RangeSpec;
use crate::server::{AlertSource, Limits, ServeConfig, Server};

/// Flags of `edgelog serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    scope: ScopeArgs,
    /// Address to listen on; any other than loopback needs a token.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    listen: String,
    /// File holding the bearer token every request but /healthz must carry (or set EDGELOG_TOKEN).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Alert rules: their states on the dashboard and at /api/alerts; evaluated here unless a `watch` already keeps --state.
    #[arg(long, value_name = "FILE")]
    rules: Option<String>,
    /// The alert state folder [default: as `watch` chooses for the rules file].
    #[arg(long, value_name = "DIR", requires = "rules")]
    state: Option<String>,
    /// Append the server's own access log (combined + request time) to FILE.
    #[arg(long, value_name = "FILE")]
    access_log: Option<PathBuf>,
    /// Identical report requests within this long share one computation.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    cache_ttl: String,
    /// How often the dashboard refreshes.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    refresh: String,
    /// Longest a query or report may run before it is stopped (504).
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    query_timeout: String,
    /// Most rows a query answer carries.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    max_rows: usize,
    /// Largest request body (the SQL), in KiB.
    #[arg(long, default_value_t = 64, value_name = "KIB")]
    max_body: usize,
    /// Queries and reports computed at once.
    #[arg(long, default_value_t = 2, value_name = "N")]
    concurrent: usize,
    /// Requests that may wait for a turn; more are answered 429.
    #[arg(long, default_value_t = 16, value_name = "N")]
    queue: usize,
    /// Longest wait for a request's headers before the connection is dropped.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    header_timeout: String,
    /// How long requests in flight may finish after SIGTERM or Ctrl-C.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    shutdown_grace: String,
}

fn duration(flag: &str, text: &str) -> Result<Duration> {
    match parse_duration_ms(text) {
        Some(ms) if ms > 0 => Ok(Duration::from_millis(ms.unsigned_abs())),
        _ => bail!("bad --{flag} {text:?}: give a duration above zero, e.g. 10s, 2m"),
    }
}

/// The token from `--token-file` or `EDGELOG_TOKEN`; never shown.
fn token(file: Option<&PathBuf>) -> Result<Option<String>> {
    let (token, from) = match file {
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("cannot read --token-file {}", path.display()))?,
            format!("--token-file {}", path.display()),
        ),
        None => match std::env::var("EDGELOG_TOKEN") {
            Ok(t) => (t, "EDGELOG_TOKEN".to_string()),
            Err(_) => return Ok(None),
        },
    };
    let token = token.trim().to_string();
    if token.len() < 16 {
        bail!("the token in {from} is too short: give at least 16 characters (e.g. `openssl rand -hex 32`)");
    }
    Ok(Some(token))
}

/// SIGTERM or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub async fn run(args: ServeArgs) -> Result<ExitCode> {
    if args.scope.since.is_some() || args.scope.until.is_some() || args.scope.last.is_some() {
        bail!("serve takes its time range per request (last=, since=, until=), not as --since/--until/--last");
    }
    let addr: SocketAddr = args.listen.parse().with_context(|| {
        format!(
            "bad --listen {:?}: give ADDRESS:PORT such as 127.0.0.1:8080",
            args.listen
        )
    })?;
    let token = token(args.token_file.as_ref())?;
    crate::server::check_exposure(&addr, token.as_deref())?;
    let limits = Limits {
        body_bytes: args.max_body.max(1) * 1024,
        query_time: duration("query-timeout", &args.query_timeout)?,
        result_rows: args.max_rows.max(1),
        concurrent: args.concurrent.max(1),
        queue: args.queue,
        header_time: duration("header-timeout", &args.header_timeout)?,
        shutdown_grace: duration("shutdown-grace", &args.shutdown_grace)?,
    };
    let cache_ttl = duration("cache-ttl", &args.cache_ttl)?;
    let refresh = duration("refresh", &args.refresh)?;
    let quiet = args.scope.quiet;
    let (request, shown) = args.scope.into_request(now_ms())?;
    // Opened once: the format is decided (detected) now, and a wrong
    // location or credential stops the start, not the first viewer.
    let logs = open_logs(&request, shown).await?;
    let mut decided = logs.request().clone();
    decided.range = RangeSpec::default();
    let alerts = match &args.rules {
        Some(path) => {
            let rules = crate::alert::rules::Rules::load(path)?;
            let dir = match &args.state {
                Some(d) => PathBuf::from(d),
                None => crate::alert::store::StateDir::default_for(path),
            };
            match crate::alert::store::StateDir::open(&dir) {
                Ok(state_dir) => {
                    let state = state_dir.load().map_err(anyhow::Error::msg)?;
                    let client = reqwest::Client::builder()
                        .build()
                        .map_err(|e| anyhow::anyhow!("cannot set up HTTP: {}", e.without_url()))?;
                    let watcher = crate::alert::Watcher::new(rules, request.storage.clone());
                    // Its own thread and runtime: the watcher's rounds are
                    // not `Send` futures, and never hold up a request.
                    std::thread::spawn(move || {
                        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                        let outcome = match runtime {
                            Ok(rt) => rt.block_on(super::watch::watch(watcher, state_dir, state, client, quiet)),
                            Err(e) => Err(anyhow::anyhow!("cannot start the alert watcher: {e}")),
                        };
                        if let Err(e) = outcome {
                            eprintln!("edgelog: the alert watcher stopped: {}", super::error_message(&e));
                        }
                    });
                }
                Err(why) if why.contains("another") => {
                    if !quiet {
                        eprintln!(
                            "edgelog: alert states from the watcher already keeping {}",
                            dir.display()
                        );
                    }
                }
                Err(why) => bail!(why),
            }
            Some(AlertSource {
                rules: PathBuf::from(path),
                state: dir,
            })
        }
        None => None,
    };
    let config = ServeConfig {
        request: request.clone(),
        token,
        limits,
        cache_ttl,
        refresh,
        alerts,
        access_log: args.access_log.clone(),
    };
    let server = Server::bind(addr, config, decided).await?;
    let bound = server.local_addr().context("cannot read the address bound")?;
    eprintln!(
        "edgelog: serving {} logs at http://{bound}/ (API under /api, metrics at /metrics){}",
        logs.dialect_name(),
        if server_has_token(&args.token_file) {
            "; a token is required"
        } else {
            ""
        }
    );
    server.run(stop_signal()).await;
    if !quiet {
        eprintln!("edgelog: stopped");
    }
    Ok(ExitCode::SUCCESS)
}

fn server_has_token(file: &Option<PathBuf>) -> bool {
    file.is_some() || std::env::var_os("EDGELOG_TOKEN").is_some()
}
