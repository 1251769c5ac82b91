//! `edgelog detect LOCATION...`: the format of each sampled object, with
//! its evidence, and the verdict `query` and `report` would reach.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::config::StorageOptions;
use crate::dialect::detect::decide;
use crate::engine::detect;

/// Flags of `edgelog detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Files, folders, globs, s3:// or https:// locations.
    #[arg(required = true, value_name = "LOCATION")]
    locations: Vec<String>,
    /// S3 endpoint URL.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// S3 region.
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Profile of ~/.aws/config and ~/.aws/credentials.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Allow plain-HTTP endpoints.
    #[arg(long)]
    allow_http: bool,
}

pub async fn run(args: DetectArgs) -> Result<ExitCode> {
    let storage = StorageOptions {
        endpoint: args.endpoint,
        region: args.region,
        profile: args.profile,
        allow_http: args.allow_http,
        io: Default::default(),
    };
    let verdicts = detect(&args.locations, &storage).await?;
    let mut out = crate::output::PipeAware(std::io::stdout().lock());
    for (sample, verdict) in &verdicts {
        match verdict {
            Ok(v) => writeln!(out, "{}\t{}\t{}", sample.object, v.dialect.name(), v.evidence())?,
            Err(e) => writeln!(out, "{}\t?\t{e}", sample.object)?,
        }
    }
    out.flush()?;
    // The verdict for the location as a whole, or why there is none.
    let (spec, how) = decide(verdicts).map_err(anyhow::Error::msg)?;
    let name = spec.build().map_err(anyhow::Error::msg)?.name();
    writeln!(out, "format: {name} ({how})")?;
    Ok(ExitCode::SUCCESS)
}
