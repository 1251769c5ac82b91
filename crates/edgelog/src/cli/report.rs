//! `edgelog report`: flags -> a [`crate::engine::ScanRequest`] and panels
//! -> the engine's [`QueryService::report`] -> a renderer.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::scope::{ScopeArgs, now_ms, open_logs, retry_summary};
use crate::engine::Compare;
use crate::output::{AtomicFile, PipeAware};
use crate::report::choose_panels;
use crate::report::html::render_html;
use crate::report::render::{MIN_WIDTH, WIDTH, render_json, render_markdown, render_table};

/// Flags of `edgelog report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Panels to show (overview, traffic, status, cache, paths, clients, referrers, agents, hosts, errors, slow); all when none.
    panels: Vec<String>,
    #[command(flatten)]
    scope: ScopeArgs,
    #[command(flatten)]
    remote: super::cluster::RemoteArgs,
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
    let output = args.output.as_str();
    if !matches!(output, "table" | "markdown" | "json" | "html") {
        bail!("bad --output {output:?}: use one of table, markdown, json, html");
    }
    let width = table_width(args.width)?;
    let panels = choose_panels(&args.panels).map_err(anyhow::Error::msg)?;
    let (request, shown) = args.scope.into_request(now_ms())?;
    let logs = open_logs(&request, shown).await?;
    let compare = match args.compare.as_deref() {
        Some(how) => {
            // Without a time range no window compares; that is said first.
            Compare::check_range(logs.range()).map_err(anyhow::Error::msg)?;
            Some(Compare::parse(how).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let report = args.remote.service(logs).await?.report(&panels, compare).await?;
    // The page first, on its own: it never depends on the other renderers,
    // and it appears under its name whole or not at all.
    if let Some(path) = &args.html {
        AtomicFile::write_all_to(path, render_html(&report).as_bytes())?;
        if !shown.quiet {
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
    if !shown.quiet
        && let Some(n) = report.malformed.filter(|&n| n > 0)
    {
        eprintln!("edgelog: {n} malformed lines (see `edgelog query -v` for samples)");
    }
    if !shown.quiet && !report.unreadable.is_empty() {
        eprintln!(
            "edgelog: {} unreadable objects skipped, first: {}",
            report.unreadable.len(),
            report.unreadable[0]
        );
    }
    if shown.verbose
        && let Some(line) = retry_summary()
    {
        eprintln!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
