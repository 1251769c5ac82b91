//! `edgelog query`: flags -> a [`ScanRequest`] and SQL -> the engine's
//! [`QueryService::query`] -> rows written by `output.rs`, the summary on
//! stderr.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::progress::ProgressBarGuard;
use super::scope::{ScopeArgs, Verbosity, now_ms, open_logs, retry_summary};
use crate::config::OutputFormat;
use crate::engine::{QueryService, ScanRequest};
use crate::output::{AtomicFile, PipeAware, write_stream};
use crate::report::render::clean;

/// Flags of `edgelog query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL to run over the table `logs`; read from -f FILE or stdin when absent.
    sql: Option<String>,
    /// Read the SQL from this file.
    #[arg(short = 'f', long = "file", value_name = "FILE", conflicts_with = "sql")]
    file: Option<PathBuf>,
    #[command(flatten)]
    scope: ScopeArgs,
    #[command(flatten)]
    remote: super::cluster::RemoteArgs,
    /// Output format: table, csv, tsv, json, ndjson, markdown, parquet [default: table on a terminal, csv otherwise].
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    output: Option<String>,
    /// Write the results to this file instead of stdout.
    #[arg(long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
}

/// The longest SQL accepted: far more than any hand-written question, small
/// enough that a wrong file (a log, a dump) is refused at once.
pub const MAX_SQL_BYTES: usize = 1 << 20;

impl QueryArgs {
    /// The SQL, from the argument, `-f FILE` or stdin, checked before any
    /// I/O on the logs: not empty, not too long, one statement.
    fn read_sql(&self, stdin_sql: impl FnOnce() -> Result<String>) -> Result<String> {
        let (sql, from) = match (&self.sql, &self.file) {
            (Some(sql), _) => (sql.clone(), "the SQL argument".to_string()),
            (None, Some(f)) => (read_limited(f)?, format!("SQL file {}", f.display())),
            (None, None) => (stdin_sql()?, "the SQL on stdin".to_string()),
        };
        // Pasted from chat, SQL often carries no-break spaces.
        let sql = crate::config::plain_spaces(&sql).into_owned();
        check_sql(&sql, &from)?;
        Ok(sql)
    }

    /// The checked flags: what to read, how to show it, where to write it.
    fn into_parts(
        self,
    ) -> Result<(
        ScanRequest,
        Verbosity,
        OutputFormat,
        Option<PathBuf>,
        super::cluster::RemoteArgs,
    )> {
        let output = match &self.output {
            Some(name) => OutputFormat::from_name(name)
                .with_context(|| format!("bad --output {name:?}: use one of {}", OutputFormat::NAMES.join(", ")))?,
            None if self.out.is_none() && std::io::stdout().is_terminal() => OutputFormat::Table,
            None => OutputFormat::Csv,
        };
        if output == OutputFormat::Parquet && self.out.is_none() && std::io::stdout().is_terminal() {
            bail!("parquet is binary: write it with --out FILE or pipe it");
        }
        let (request, shown) = self.scope.into_request(now_ms())?;
        Ok((request, shown, output, self.out, self.remote))
    }
}

/// Reads a SQL file of at most [`MAX_SQL_BYTES`].
fn read_limited(path: &std::path::Path) -> Result<String> {
    let what = || format!("cannot read SQL file {}", path.display());
    let file = std::fs::File::open(path).with_context(what)?;
    let mut text = String::new();
    file.take(MAX_SQL_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .with_context(what)?;
    Ok(text)
}

/// One statement of reasonable size, or a one-line error naming `from`.
pub fn check_sql(sql: &str, from: &str) -> Result<()> {
    if sql.len() > MAX_SQL_BYTES {
        bail!("{from} is longer than {} KiB: give one query", MAX_SQL_BYTES >> 10);
    }
    if sql.trim().trim_matches(';').trim().is_empty() {
        bail!("no SQL given: {from} is empty");
    }
    // Only the statement count is judged here; DataFusion reports any other
    // syntax error with its position when it plans the query.
    if let Ok(statements) = datafusion::sql::parser::DFParser::parse_sql(sql)
        && statements.len() > 1
    {
        bail!(
            "{from} holds {} statements: edgelog runs one query at a time",
            statements.len()
        );
    }
    Ok(())
}

fn read_stdin_sql() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!("no SQL given: pass it as an argument, with -f FILE, or on stdin");
    }
    let mut sql = String::new();
    stdin
        .take(MAX_SQL_BYTES as u64 + 1)
        .read_to_string(&mut sql)
        .context("cannot read SQL from stdin")?;
    Ok(sql)
}

pub async fn run(args: QueryArgs) -> Result<ExitCode> {
    let sql = args.read_sql(read_stdin_sql)?;
    let (request, shown, output, out_file, remote) = args.into_parts()?;
    let logs = open_logs(&request, shown).await?;
    let service = remote.service(logs).await?;
    match &out_file {
        // Written under a temporary name and renamed at the end: an error or
        // Ctrl-C never leaves a half-written file.
        Some(path) => {
            let mut file = AtomicFile::create(path)?;
            answer(&service, &sql, output, shown, &mut file).await?;
            file.commit()?;
        }
        None => {
            let mut out = std::io::BufWriter::with_capacity(64 * 1024, PipeAware(std::io::stdout()));
            answer(&service, &sql, output, shown, &mut out).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `sql`, writes the rows to `out` and says on stderr what was read:
/// the summary (unless `-q`), and under `-v` the sources, the selection,
/// skipped objects, malformed samples and storage retries.
async fn answer(
    service: &QueryService,
    sql: &str,
    output: OutputFormat,
    shown: Verbosity,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let logs = service.logs();
    if shown.verbose {
        for (location, settings) in logs.sources() {
            eprintln!("edgelog: source {location}: {settings}");
        }
    }
    let prepared = service.prepare(sql).await?;
    let bar = ProgressBarGuard::start(
        prepared.stats().clone(),
        !shown.quiet && std::io::stderr().is_terminal(),
    );
    let run = prepared.run().await?;
    let rows = write_stream(run.stream, output, out).await?;
    drop(bar);
    let totals = run.scan.totals();
    if shown.verbose {
        eprintln!(
            "edgelog: selected {} objects of {} candidates; {} date folders not listed; {} result rows",
            totals.selected, totals.candidates, totals.folders_pruned, rows
        );
        for s in &totals.skipped {
            eprintln!("edgelog: skipped (not a {} object): {s}", logs.dialect_name());
        }
        for s in totals.samples.iter().skip(1) {
            eprintln!("edgelog: malformed: {s}");
        }
        for s in &totals.unreadable {
            eprintln!("edgelog: unreadable, skipped: {}", clean(s));
        }
        if let Some(line) = retry_summary() {
            eprintln!("{line}");
        }
    }
    if !shown.quiet {
        eprintln!("{}", run.scan.summary());
    }
    Ok(())
}
