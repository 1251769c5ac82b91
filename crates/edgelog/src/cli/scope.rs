//! The flags that say what to read and how, shared by `query` and `report`:
//! locations, format, time range, storage, strictness and verbosity. They
//! become a [`ScanRequest`] without any I/O on the logs; opening it is the
//! engine's.

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::config::{IoPolicy, StorageOptions, parse_duration_ms};
use crate::dialect::{DialectKind, DialectSpec};
use crate::engine::{LogSet, RangeSpec, ScanRequest, TimeArg};
use crate::report::render::clean;
use crate::source::RetryEvent;

/// What to read: shared by every command that scans logs.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Where the logs are: a file, folder, glob, s3://BUCKET/PREFIX or https:// URL. Repeatable.
    #[arg(long = "from", value_name = "LOCATION")]
    pub from: Vec<String>,
    /// A lake made by `edgelog ingest` (folder or s3://BUCKET/PREFIX): its rows are read, and with --from also the raw objects it does not hold yet.
    #[arg(long, value_name = "LAKE")]
    pub lake: Option<String>,
    /// The log format: auto (detected from the first lines), auto-per-object, a name from `edgelog formats`, nginx:'LOG_FORMAT', apache:'LOGFORMAT', regex:'(?P<status>...)', envoy:'%COMMAND% ...', varnish:'-F ...', ndjson:'COLUMN=KEY,...', cloudfront-realtime:'FIELD,...' or @FILE.
    #[arg(long, env = "EDGELOG_FORMAT", default_value = "auto", value_name = "FORMAT")]
    pub format: String,
    /// Only rows at or after this time (ISO 8601; without a zone, in the format's zone).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only rows before this time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only rows of the last DURATION (e.g. 1h, 24h, 7d).
    #[arg(long, value_name = "DURATION", conflicts_with = "since")]
    pub last: Option<String>,
    /// Objects up to this far outside the time range are read too, for late records.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub prune_margin: String,
    /// Show times in this zone: UTC or an offset like +09:00 [default: the format's own].
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Any malformed line is an error (exit 2).
    #[arg(long)]
    pub strict: bool,
    /// An object that cannot be read (storage fault after the retries, damaged gzip) is skipped and listed in the summary instead of ending the command.
    #[arg(long)]
    pub skip_unreadable: bool,
    /// Retries of a storage request after a transient fault (5xx, SlowDown, a reset or stalled connection).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub retries: u32,
    /// Longest wait for storage to answer, or for the next piece of a download, before it counts as a fault.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub io_timeout: String,
    /// No summary on stderr (errors are still shown).
    #[arg(short, long)]
    pub quiet: bool,
    /// Listing, pruning and credential sources on stderr (never secrets).
    #[arg(short, long)]
    pub verbose: bool,
    /// S3 endpoint URL (e.g. https://s3.isk01.sakurastorage.jp).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// S3 region (e.g. jp-north-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Profile of ~/.aws/config and ~/.aws/credentials.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Allow plain-HTTP endpoints.
    #[arg(long)]
    pub allow_http: bool,
    /// Memory the query may use, in MiB.
    #[arg(long, value_name = "MIB")]
    pub memory_limit: Option<usize>,
}

/// The flags of a scope that are about showing, not reading.
#[derive(Debug, Clone, Copy)]
pub struct Verbosity {
    /// `-q`: no summary.
    pub quiet: bool,
    /// `-v`: sources, listing, samples, retries.
    pub verbose: bool,
}

/// Most retries `--retries` takes: beyond this a fault is not transient.
const MAX_RETRIES: u32 = 20;

/// Now, in epoch milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// What `--format` (or `edgelog formats NAME`) names: the text as given,
/// or the contents of `@FILE` (an nginx.conf `log_format` directive, or
/// the text of a format, not `auto`).
pub fn format_spec(arg: &str) -> Result<DialectSpec> {
    let Some(path) = arg.strip_prefix('@') else {
        return Ok(DialectSpec::parse(arg));
    };
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read format file {path}: {e}"))?;
    let text = text.trim();
    let spec = match DialectSpec::parse(text) {
        _ if text.starts_with("log_format") => DialectSpec::new(DialectKind::Nginx(text.to_string())),
        // A file names a format; detection is for the command line.
        s if matches!(s.kind, DialectKind::Auto | DialectKind::AutoPerObject) => DialectSpec::named(text),
        s => s,
    };
    Ok(spec)
}

/// Prints one storage retry as it happens (`-v`).
fn print_retry(e: &RetryEvent) {
    eprintln!(
        "edgelog: retrying {} of {}: {} ({:.1} s lost)",
        e.action,
        clean(&e.object),
        clean(&e.cause),
        e.lost.as_secs_f64()
    );
}

impl ScopeArgs {
    /// `--retries` and `--io-timeout`, checked.
    fn io_policy(&self) -> Result<IoPolicy> {
        if self.retries > MAX_RETRIES {
            bail!("bad --retries {}: give at most {MAX_RETRIES}", self.retries);
        }
        let timeout = match parse_duration_ms(&self.io_timeout) {
            Some(ms) if ms > 0 => ms,
            _ => bail!(
                "bad --io-timeout {:?}: give a duration above zero, e.g. 30s, 2m",
                self.io_timeout
            ),
        };
        Ok(IoPolicy {
            retries: self.retries,
            io_timeout: std::time::Duration::from_millis(timeout.unsigned_abs()),
        })
    }

    /// Checks every flag, with `now_ms` as the end of `--last`, and turns
    /// them into the request; nothing is read yet.
    pub fn into_request(self, now_ms: i64) -> Result<(ScanRequest, Verbosity)> {
        if self.from.is_empty() && self.lake.is_none() {
            bail!("no location: give --from PATH, s3://BUCKET/PREFIX or https://... (or --lake LAKE)");
        }
        let storage = StorageOptions {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            allow_http: self.allow_http,
            io: self.io_policy()?,
        };
        let margin = parse_duration_ms(&self.prune_margin)
            .with_context(|| format!("bad --prune-margin {:?}: use e.g. 1h, 30m", self.prune_margin))?;
        let last = match &self.last {
            Some(last) => match parse_duration_ms(last) {
                Some(d) if d > 0 => Some(d),
                _ => bail!("bad --last {last:?}: give a duration above zero, e.g. 90m, 24h, 7d"),
            },
            None => None,
        };
        if self.memory_limit == Some(0) {
            bail!("bad --memory-limit 0: give the MiB the query may use, e.g. 2048");
        }
        let format = format_spec(&self.format)?;
        let request = ScanRequest {
            locations: self.from,
            lake: self.lake,
            format,
            range: RangeSpec {
                since: self.since.map(TimeArg::Text),
                until: self.until.map(TimeArg::Text),
                last_ms: last,
                now_ms: Some(now_ms),
            },
            prune_margin_ms: margin,
            tz: self.tz,
            strict: self.strict,
            skip_unreadable: self.skip_unreadable,
            storage,
            memory_limit: self.memory_limit.map(|m| m * 1024 * 1024),
        };
        let shown = Verbosity {
            quiet: self.quiet,
            verbose: self.verbose,
        };
        Ok((request, shown))
    }
}

/// Opens `request`, saying under `-v` how the format was chosen and which
/// settings each location uses; each storage retry is shown as it happens.
pub async fn open_logs(request: &ScanRequest, shown: Verbosity) -> Result<LogSet> {
    crate::source::on_retry(shown.verbose.then_some(print_retry as fn(&RetryEvent)));
    // Listing, detection and the lake's log, as one span of the trace.
    let mut span = crate::trace::work_span("list", None);
    let opened = LogSet::open(request).await;
    if let Err(e) = &opened {
        span.fail(&e.message());
    }
    span.end();
    let logs = opened?;
    if shown.verbose {
        eprintln!("format: {} ({})", logs.dialect_name(), logs.how());
    }
    Ok(logs)
}

/// What the storage retries of this run cost, for `-v`: `edgelog: 3
/// storage retries, 1.2 s lost (object: cause, ...)`; `None` without any.
pub fn retry_summary() -> Option<String> {
    let log = crate::source::retry_log();
    if log.retries == 0 {
        return None;
    }
    let mut causes: Vec<String> = Vec::new();
    for e in &log.events {
        let c = format!("{} {}: {}", e.action, e.object, e.cause);
        if !causes.contains(&c) {
            causes.push(c);
        }
    }
    let more = if log.events.len() < log.retries as usize {
        ", ..."
    } else {
        ""
    };
    Some(clean(&format!(
        "edgelog: {} storage retries, {:.1} s lost ({}{more})",
        log.retries,
        log.lost.as_secs_f64(),
        causes.join("; ")
    )))
}
