//! `edgelog report`: flags -> [`ReportConfig`] -> [`run_report`] -> a renderer.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::scope::{ScopeArgs, now_ms};
use crate::config::{TimeRange, parse_duration_ms};
use crate::report::html::render_html;
use crate::report::render::{render_json, render_markdown, render_table};
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

pub async fn run(args: ReportArgs) -> Result<ExitCode> {
    let now = now_ms();
    let output = args.output.as_str();
    if !matches!(output, "table" | "markdown" | "json" | "html") {
        bail!("bad --output {output:?}: use one of table, markdown, json, html");
    }
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
    let text = match output {
        "markdown" => render_markdown(&report),
        "json" => render_json(&report),
        "html" => render_html(&report),
        _ => render_table(&report, args.out.is_none() && std::io::stdout().is_terminal()),
    };
    match &args.out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush())
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(e).context("cannot write the report");
            }
        }
    }
    if let Some(path) = &args.html {
        std::fs::write(path, render_html(&report)).with_context(|| format!("cannot write {}", path.display()))?;
        if !scope.quiet {
            eprintln!("edgelog: wrote {}", path.display());
        }
    }
    if !scope.quiet && report.malformed > 0 {
        eprintln!(
            "edgelog: {} malformed lines (see `edgelog query -v` for samples)",
            report.malformed
        );
    }
    Ok(ExitCode::SUCCESS)
}
