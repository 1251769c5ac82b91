//! `edgelog demo`: flags -> [`GenerateConfig`] -> generate (and answer).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use edgelog_parse::time::parse_iso8601;

use crate::demo::{GenerateConfig, generate, run_demo};

/// Flags of `edgelog demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Only write the logs (for benchmarks); no questions.
    #[arg(long)]
    generate_only: bool,
    /// Folder to write into.
    #[arg(long, default_value = "edgelog-demo", value_name = "DIR")]
    out: PathBuf,
    /// Number of sites.
    #[arg(long, default_value_t = 3)]
    hosts: usize,
    /// Hours of logs per site.
    #[arg(long, default_value_t = 24)]
    hours: usize,
    /// Lines in the busiest hour of the first site.
    #[arg(long, default_value_t = 4000)]
    lines_per_hour: usize,
    /// Seed; the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fraction of malformed (cut) lines [default: 0.0005 for the demo, 0 with --generate-only].
    #[arg(long)]
    bad: Option<f64>,
    /// Fraction of records that arrive in the next hour's object [default: 0.002 for the demo, 0 with --generate-only].
    #[arg(long)]
    late: Option<f64>,
    /// Start of the first hour (ISO 8601).
    #[arg(long, default_value = "2024-11-27T00:00:00+09:00")]
    start: String,
}

pub async fn run(args: DemoArgs) -> Result<ExitCode> {
    let start_ms = parse_iso8601(&args.start, 9 * 3600).with_context(|| format!("bad --start {:?}", args.start))?;
    let (bad, late) = if args.generate_only {
        (args.bad.unwrap_or(0.0), args.late.unwrap_or(0.0))
    } else {
        (args.bad.unwrap_or(0.0005), args.late.unwrap_or(0.002))
    };
    for (flag, v) in [("--bad", bad), ("--late", late)] {
        if !(0.0..=1.0).contains(&v) {
            bail!("bad {flag} {v}: give a fraction between 0 and 1");
        }
    }
    if args.hosts == 0 || args.hours == 0 || args.lines_per_hour == 0 {
        bail!("--hosts, --hours and --lines-per-hour must be at least 1");
    }
    let cfg = GenerateConfig {
        out: args.out,
        hosts: args.hosts,
        hours: args.hours,
        lines_per_hour: args.lines_per_hour,
        seed: args.seed,
        bad,
        late,
        start_ms,
    };
    if args.generate_only {
        let g = generate(&cfg)?;
        use std::io::Write;
        writeln!(std::io::stdout(), "files {} lines {}", g.files, g.lines)?;
    } else {
        run_demo(&cfg, &mut std::io::stdout().lock()).await?;
    }
    Ok(ExitCode::SUCCESS)
}
