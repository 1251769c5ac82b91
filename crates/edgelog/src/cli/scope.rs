//! The flags that say what to read and how, shared by `query` and `report`:
//! locations, format, time range, storage, strictness and verbosity.

use anyhow::{Context, Result, bail};
use clap::Args;
use edgelog_parse::time::parse_offset;

use crate::config::{IoPolicy, ScanOptions, StorageOptions, TimeRange, parse_duration_ms, parse_time_arg};
use crate::format::detect::resolve;
use crate::source::open_location;

/// What to read: shared by every command that scans logs.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Where the logs are: a file, folder, glob, s3://BUCKET/PREFIX or https:// URL. Repeatable.
    #[arg(long = "from", value_name = "LOCATION")]
    pub from: Vec<String>,
    /// The log format: auto (detected from the first lines), auto-per-object, a name from `edgelog formats`, nginx:'LOG_FORMAT', apache:'LOGFORMAT', regex:'(?P<status>...)' or @FILE.
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

/// The checked scope.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Locations to read.
    pub locations: Vec<String>,
    /// Format, range, margin, strictness, zone.
    pub scan: ScanOptions,
    /// Endpoint, region, profile.
    pub storage: StorageOptions,
    /// The zone times are shown in, as seconds east of UTC.
    pub offset_secs: i32,
    /// `-q`.
    pub quiet: bool,
    /// `-v`.
    pub verbose: bool,
    /// Bytes.
    pub memory_limit: Option<usize>,
}

/// Most retries `--retries` takes: beyond this a fault is not transient.
const MAX_RETRIES: u32 = 20;

/// Now, in epoch milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
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

    /// Checks every flag, with `now_ms` as the end of `--last`.
    pub async fn into_scope(self, now_ms: i64) -> Result<Scope> {
        if self.from.is_empty() {
            bail!("no location: give --from PATH, s3://BUCKET/PREFIX or https://...");
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
        crate::source::set_verbose(self.verbose);
        let sources = self
            .from
            .iter()
            .map(|l| open_location(l, &storage))
            .collect::<Result<Vec<_>, _>>()?;
        // Detection lists only date folders near the range when one is given
        // with a zone; zone-less times are read in the detected zone below.
        let hint = TimeRange {
            since: self.since.as_deref().and_then(|t| parse_time_arg(t, 0, now_ms)),
            until: self.until.as_deref().and_then(|t| parse_time_arg(t, 0, now_ms)),
        };
        let hint = if self.last.is_some() { TimeRange::ALL } else { hint };
        let (d, how) = resolve(&self.format, &sources, &hint).await?;
        if self.verbose {
            eprintln!("format: {} ({how})", d.name());
        }
        let tz_text = self.tz.clone().unwrap_or_else(|| d.default_tz().to_string());
        let Some(offset) = parse_offset(&tz_text) else {
            bail!("bad --tz {tz_text:?}: use UTC or an offset such as +09:00");
        };
        let time = |flag: &str, v: &Option<String>| -> Result<Option<i64>> {
            v.as_ref()
                .map(|t| {
                    parse_time_arg(t, offset, now_ms).with_context(|| {
                        format!("bad --{flag} {t:?}: use ISO 8601 such as 2024-11-27T13:00+09:00 or 2024-11-27")
                    })
                })
                .transpose()
        };
        let mut range = TimeRange {
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
        };
        if let Some(d) = last {
            range.since = Some(range.until.unwrap_or(now_ms).saturating_sub(d));
        }
        if let (Some(s), Some(u)) = (range.since, range.until)
            && s >= u
        {
            bail!("--since must be before --until");
        }
        Ok(Scope {
            locations: self.from,
            scan: ScanOptions {
                format: self.format,
                dialect: Some(d),
                range,
                prune_margin_ms: margin,
                strict: self.strict,
                skip_unreadable: self.skip_unreadable,
                tz: self.tz,
            },
            storage,
            offset_secs: offset,
            quiet: self.quiet,
            verbose: self.verbose,
            memory_limit: self.memory_limit.map(|m| m * 1024 * 1024),
        })
    }
}
