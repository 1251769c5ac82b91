//! `edgelog query`: flags -> [`QueryConfig`] -> [`run_query`].

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use edgelog_parse::time::parse_offset;

use crate::config::{
    OutputFormat, QueryConfig, ScanOptions, StorageOptions, TimeRange, parse_duration_ms, parse_time_arg,
};
use crate::format::dialect;
use crate::output::PipeAware;
use crate::query::run_query;

/// Flags of `edgelog query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL to run over the table `logs`; read from -f FILE or stdin when absent.
    sql: Option<String>,
    /// Read the SQL from this file.
    #[arg(short = 'f', long = "file", value_name = "FILE", conflicts_with = "sql")]
    file: Option<PathBuf>,
    /// Where the logs are: a file, folder, glob, s3://BUCKET/PREFIX or https:// URL. Repeatable.
    #[arg(long = "from", value_name = "LOCATION")]
    from: Vec<String>,
    /// The log format (see `edgelog formats`).
    #[arg(long, default_value = "sakura", value_name = "NAME")]
    format: String,
    /// Only rows at or after this time (ISO 8601; without a zone, in the format's zone).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only rows before this time.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Only rows of the last DURATION (e.g. 1h, 24h, 7d).
    #[arg(long, value_name = "DURATION", conflicts_with = "since")]
    last: Option<String>,
    /// Objects up to this far outside the time range are read too, for late records.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    prune_margin: String,
    /// Output format: table, csv, tsv, json, ndjson, markdown, parquet [default: table on a terminal, csv otherwise].
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    output: Option<String>,
    /// Write the results to this file instead of stdout.
    #[arg(long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
    /// Show times in this zone: UTC or an offset like +09:00 [default: the format's own].
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// Any malformed line is an error (exit 2).
    #[arg(long)]
    strict: bool,
    /// No summary on stderr (errors are still shown).
    #[arg(short, long)]
    quiet: bool,
    /// Listing, pruning and credential sources on stderr (never secrets).
    #[arg(short, long)]
    verbose: bool,
    /// S3 endpoint URL (e.g. https://s3.isk01.sakurastorage.jp).
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// S3 region (e.g. jp-north-1).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Profile of ~/.aws/config and ~/.aws/credentials.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Allow plain-HTTP endpoints.
    #[arg(long)]
    allow_http: bool,
    /// Memory the query may use, in MiB.
    #[arg(long, value_name = "MIB")]
    memory_limit: Option<usize>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl QueryArgs {
    fn into_config(self, stdin_sql: impl FnOnce() -> Result<String>) -> Result<QueryConfig> {
        let Some(d) = dialect(&self.format) else {
            bail!("unknown format {:?}; `edgelog formats` lists them", self.format);
        };
        let tz_text = self.tz.clone().unwrap_or_else(|| d.default_tz().to_string());
        let Some(offset) = parse_offset(&tz_text) else {
            bail!("bad --tz {tz_text:?}: use UTC or an offset such as +09:00");
        };
        let now = now_ms();
        let time = |flag: &str, v: &Option<String>| -> Result<Option<i64>> {
            v.as_ref()
                .map(|t| {
                    parse_time_arg(t, offset, now).with_context(|| {
                        format!("bad --{flag} {t:?}: use ISO 8601 such as 2024-11-27T13:00+09:00 or 2024-11-27")
                    })
                })
                .transpose()
        };
        let mut range = TimeRange {
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
        };
        if let Some(last) = &self.last {
            let d = parse_duration_ms(last).with_context(|| format!("bad --last {last:?}: use e.g. 90m, 24h, 7d"))?;
            range.since = Some(range.until.unwrap_or(now) - d);
        }
        if let (Some(s), Some(u)) = (range.since, range.until)
            && s >= u
        {
            bail!("--since must be before --until");
        }
        let margin = parse_duration_ms(&self.prune_margin)
            .with_context(|| format!("bad --prune-margin {:?}: use e.g. 1h, 30m", self.prune_margin))?;
        let output = match &self.output {
            Some(name) => OutputFormat::from_name(name)
                .with_context(|| format!("bad --output {name:?}: use one of {}", OutputFormat::NAMES.join(", ")))?,
            None if self.out.is_none() && std::io::stdout().is_terminal() => OutputFormat::Table,
            None => OutputFormat::Csv,
        };
        if output == OutputFormat::Parquet && self.out.is_none() && std::io::stdout().is_terminal() {
            bail!("parquet is binary: write it with --out FILE or pipe it");
        }
        let sql = match (&self.sql, &self.file) {
            (Some(sql), _) => sql.clone(),
            (None, Some(f)) => {
                std::fs::read_to_string(f).with_context(|| format!("cannot read SQL file {}", f.display()))?
            }
            (None, None) => stdin_sql()?,
        };
        if self.from.is_empty() {
            bail!("no location: give --from PATH, s3://BUCKET/PREFIX or https://...");
        }
        Ok(QueryConfig {
            locations: self.from,
            scan: ScanOptions {
                format: self.format,
                range,
                prune_margin_ms: margin,
                strict: self.strict,
                tz: self.tz,
            },
            storage: StorageOptions {
                endpoint: self.endpoint,
                region: self.region,
                profile: self.profile,
                allow_http: self.allow_http,
            },
            sql,
            output,
            out_file: self.out,
            quiet: self.quiet,
            verbose: self.verbose,
            memory_limit: self.memory_limit.map(|m| m * 1024 * 1024),
        })
    }
}

fn read_stdin_sql() -> Result<String> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!("no SQL given: pass it as an argument, with -f FILE, or on stdin");
    }
    let mut sql = String::new();
    stdin.read_to_string(&mut sql).context("cannot read SQL from stdin")?;
    Ok(sql)
}

pub async fn run(args: QueryArgs) -> Result<ExitCode> {
    let cfg = args.into_config(read_stdin_sql)?;
    let out: Box<dyn Write + Send> = match &cfg.out_file {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(
            64 * 1024,
            PipeAware(std::io::stdout()),
        )),
    };
    run_query(&cfg, out).await?;
    Ok(ExitCode::SUCCESS)
}
