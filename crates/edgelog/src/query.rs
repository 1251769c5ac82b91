//! Runs one question end to end: session, plan, stream, output, summary.
//! The CLI, the demo and the tests all come through [`run_query`].

use std::io::{IsTerminal, Write};

use anyhow::{Result, bail};

use crate::config::QueryConfig;
use crate::format::stats::ScanTotals;
use crate::output::write_stream;
use crate::progress::ProgressBarGuard;
use crate::session::build_session;

/// Runs `cfg.sql` over `cfg.locations`, writes the result to `out` and the
/// summary (unless quiet) to stderr. Returns what the scan saw.
pub async fn run_query(cfg: &QueryConfig, out: &mut (dyn Write + Send)) -> Result<ScanTotals> {
    if cfg.sql.trim().is_empty() {
        bail!("no SQL given");
    }
    let session = build_session(&cfg.locations, &cfg.scan, &cfg.storage, cfg.memory_limit).await?;
    if cfg.verbose {
        for s in &session.sources {
            eprintln!("edgelog: source {}: {}", s.location, s.settings);
        }
    }
    let df = session.ctx.sql(&cfg.sql).await?;
    let bar = ProgressBarGuard::start(session.stats.clone(), !cfg.quiet && std::io::stderr().is_terminal());
    let stream = df.execute_stream().await?;
    let rows = write_stream(stream, cfg.output, out).await?;
    drop(bar);
    let totals = session.stats.snapshot();
    if cfg.verbose {
        eprintln!(
            "edgelog: selected {} objects of {} candidates; {} date folders not listed; {} result rows",
            totals.selected, totals.candidates, totals.folders_pruned, rows
        );
        for s in &totals.skipped {
            let name = cfg.scan.dialect.as_ref().map_or(cfg.scan.format.as_str(), |d| d.name());
            eprintln!("edgelog: skipped (not a {name} object): {s}");
        }
        for s in totals.samples.iter().skip(1) {
            eprintln!("edgelog: malformed: {s}");
        }
        for s in &totals.unreadable {
            eprintln!("edgelog: unreadable, skipped: {}", crate::report::render::clean(s));
        }
        if let Some(line) = retry_summary() {
            eprintln!("{}", crate::report::render::clean(&line));
        }
    }
    if !cfg.quiet {
        eprintln!("{}", session.stats.summary());
    }
    Ok(totals)
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
    Some(format!(
        "edgelog: {} storage retries, {:.1} s lost ({}{more})",
        log.retries,
        log.lost.as_secs_f64(),
        causes.join("; ")
    ))
}
