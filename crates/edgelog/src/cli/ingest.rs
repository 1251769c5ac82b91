//! `edgelog ingest`: flags -> a [`ScanRequest`] and a lake -> the ingest
//! -> one summary line on stderr.

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;

use super::scope::{ScopeArgs, now_ms, open_logs};
use crate::ingest::ingest_in;
use crate::lake::Lake;
use crate::report::render::clean;

/// Flags of `edgelog ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    scope: ScopeArgs,
    /// Most KiB of raw (stored) objects read into one commit; one larger object is one commit.
    #[arg(long, default_value_t = crate::ingest::BATCH_BYTES / 1024, value_name = "KIB")]
    commit_kib: u64,
    #[command(flatten)]
    notify: super::watch::NotifyArgs,
}

pub async fn run(args: IngestArgs) -> Result<ExitCode> {
    if args.commit_kib == 0 {
        bail!("bad --commit-kib 0: give the KiB of raw objects per commit, e.g. 8192");
    }
    let batch_bytes = args.commit_kib.saturating_mul(1024);
    let (mut request, shown) = args.scope.into_request(now_ms())?;
    let Some(location) = request.lake.take() else {
        bail!("no lake: give --lake FOLDER or s3://BUCKET/PREFIX to ingest into");
    };
    if request.locations.is_empty() {
        bail!("nothing to ingest: give --from PATH or s3://BUCKET/PREFIX");
    }
    let ops = args.notify.open("ingest", &location)?;
    ops.say(
        "STARTED",
        &format!("ingest into {location} from {} started", request.locations.join(", ")),
    )
    .await;
    let outcome = ingest(&location, request, shown, batch_bytes).await;
    match &outcome {
        Ok(line) => ops.say("DONE", line).await,
        Err(e) => {
            ops.say(
                "FAILED",
                &format!("ingest into {location} failed: {}", super::error_message(e)),
            )
            .await
        }
    }
    outcome.map(|_| ExitCode::SUCCESS)
}

/// The ingest itself; its summary line (printed unless `-q`).
async fn ingest(
    location: &str,
    mut request: crate::engine::ScanRequest,
    shown: super::scope::Verbosity,
    batch_bytes: u64,
) -> Result<String> {
    let mut lake = Lake::open(location, &request.storage).await?;
    if lake.exists() && request.format.is_auto() {
        // The lake says what it holds: no detection, and the same dialect.
        request.format = lake.format()?;
    }
    let logs = open_logs(&request, shown).await?;
    let started = std::time::Instant::now();
    let mut on_commit = |s: &crate::ingest::IngestSummary| {
        if shown.verbose {
            eprintln!(
                "edgelog: commit {}: {} objects so far",
                s.version.unwrap_or_default(),
                s.ingested.len()
            );
        }
    };
    let summary = ingest_in(&mut lake, &logs, request.memory_limit, batch_bytes, &mut on_commit).await?;
    let rows: u64 = summary.ingested.iter().map(|e| e.rows).sum();
    let malformed: u64 = summary.ingested.iter().map(|e| e.malformed).sum();
    let mut line = format!(
        "ingested {} objects ({rows} rows, {malformed} malformed lines) in {} commits, {:.1} s; {} of {} listed were already in the lake",
        summary.ingested.len(),
        summary.commits,
        started.elapsed().as_secs_f64(),
        summary.held,
        summary.listed
    );
    if summary.replaced > 0 {
        line.push_str(&format!("; {} re-uploaded objects replaced", summary.replaced));
    }
    if !summary.unreadable.is_empty() {
        line.push_str(&format!(
            "; {} unreadable objects skipped (tried again next time), first: {}",
            summary.unreadable.len(),
            summary.unreadable[0]
        ));
    }
    if let Some(v) = summary.version {
        line.push_str(&format!("; lake version {v}"));
    }
    let line = clean(&line);
    if !shown.quiet {
        eprintln!("{line}");
        if shown.verbose {
            for s in &summary.samples {
                eprintln!("edgelog: malformed {}", clean(s));
            }
        }
    }
    Ok(line)
}
