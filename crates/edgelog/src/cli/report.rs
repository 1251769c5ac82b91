//! `edgelog report`: flags -> [`ReportConfig`] -> [`run_report`] -> a renderer.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::scope::{ScopeArgs, now_ms};
use crate::config::{TimeRange, parse_duration_ms};
use crate::output::{AtomicFile, PipeAware};
use crate::report::html::render_html;
use crate::report::render::{MIN_WIDTH, WIDTH, render_json, render_markdown, render_table};
use crate::report::{ReportConfig, choose_panels, run_report};

/// Flags of `edgelog report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Panels to show (overview, traffic, status, cache, paths, clients, referrers, agents, hosts, errors, slow); all when none.
    panels: Vec<String>,
    #[command(flatten)]
    scope: ScopeArgs,
    /// Put every figure beside the previous window of equal length (`previous`) or the window DURATION earlier (e.g. 7d).
    #[arg(long, value_name = "previous|DURATION")]
    compare: Option<String>,
    /// Also write the report as one self-contained HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Output format: table, markdown, json, html [default: table].
    #[arg(short = 'o', long = "output", value_name = "FORMAT", default_value = "table")]
    output: String,
    /// Write the report to this file instead of stdout.
    #[arg(long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
    /// Lay the table out for this many columns [default: $COLUMNS, else 80].
    #[arg(long, value_name = "COLUMNS")]
    width: Option<usize>,
}

/// The window to compare `range` with.
pub fn compare_range(range: TimeRange, how: &str, now: i64) -> Result<TimeRange> {
    let Some(since) = range.since else {
        bail!("--compare needs a time range: give --last, or --since (and --until)");
    };
    let until = range.until.unwrap_or(now);
    let shift = if how == "previous" {
        until - since
    } else {
        parse_duration_ms(how)
            .with_context(|| format!("bad --compare {how:?}: use previous or a duration such as 7d"))?
    };
    Ok(TimeRange {
        since: Some(since - shift),
        until: Some(until - shift),
    })
}

/// The width the table is laid out for: `--width`, else `$COLUMNS`, else 80.
fn table_width(flag: Option<usize>) -> Result<usize> {
    match flag {
        Some(w) if w < MIN_WIDTH => bail!("bad --width {w}: give at least {MIN_WIDTH} columns"),
        Some(w) => Ok(w),
        None => Ok(std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&w| w >= MIN_WIDTH)
            .unwrap_or(WIDTH)),
    }
}

pub async fn run(args: ReportArgs) -> Result<ExitCode> {
    let now = now_ms();
    let output = args.output.as_str();
    if !matches!(output, "table" | "markdown" | "json" | "html") {
        bail!("bad --output {output:?}: use one of table, markdown, json, html");
    }
    let width = table_width(args.width)?;
    choose_panels(&args.panels)?;
    let scope = args.scope.into_scope(now).await?;
    let mut range = scope.scan.range;
    let compare = match &args.compare {
        Some(how) => {
            // Both windows must be closed for the comparison to be fair.
            range.until = Some(range.until.unwrap_or(now));
            Some(compare_range(range, how, now)?)
        }
        None => None,
    };
    let mut scan = scope.scan.clone();
    scan.range = range;
    let cfg = ReportConfig {
        locations: scope.locations.clone(),
        scan,
        storage: scope.storage.clone(),
        panels: args.panels,
        compare,
        memory_limit: scope.memory_limit,
        offset_secs: scope.offset_secs,
    };
    let report = run_report(&cfg).await?;
    // The page first, on its own: it never depends on the other renderers,
    // and it appears under its name whole or not at all.
    if let Some(path) = &args.html {
        AtomicFile::write_all_to(path, render_html(&report).as_bytes())?;
        if !scope.quiet {
            eprintln!("edgelog: wrote {}", path.display());
        }
    }
    let text = match output {
        "markdown" => render_markdown(&report),
        "json" => render_json(&report),
        "html" => render_html(&report),
        _ => render_table(&report, args.out.is_none() && std::io::stdout().is_terminal(), width),
    };
    match &args.out {
        Some(path) => AtomicFile::write_all_to(path, text.as_bytes())?,
        None => {
            let mut stdout = PipeAware(std::io::stdout().lock());
            stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush())
                .context("cannot write the report")?;
        }
    }
    if !scope.quiet && report.malformed > 0 {
        eprintln!(
            "edgelog: {} malformed lines (see `edgelog query -v` for samples)",
            report.malformed
        );
    }
    if !scope.quiet && !report.unreadable.is_empty() {
        eprintln!(
            "edgelog: {} unreadable objects skipped, first: {}",
            report.unreadable.len(),
            report.unreadable[0]
        );
    }
    if scope.verbose
        && let Some(line) = crate::query::retry_summary()
    {
        eprintln!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
