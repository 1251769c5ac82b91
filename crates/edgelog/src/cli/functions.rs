//! `edgelog functions`: the SQL functions edgelog adds, with signatures and
//! examples.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::functions::FUNCTIONS;

/// Flags of `edgelog functions`.
#[derive(Debug, Args)]
pub struct FunctionsArgs {
    /// Show only this family (url, ip, useragent, http) or function.
    name: Option<String>,
}

pub fn run(args: FunctionsArgs) -> Result<ExitCode> {
    let chosen: Vec<_> = FUNCTIONS
        .iter()
        .filter(|f| args.name.as_deref().is_none_or(|n| n == f.family || n == f.name))
        .collect();
    if chosen.is_empty() {
        anyhow::bail!(
            "no function or family {:?}; families: url, ip, useragent, http",
            args.name.unwrap_or_default()
        );
    }
    let mut out = crate::output::PipeAware(std::io::stdout().lock());
    let mut family = "";
    for f in chosen {
        if f.family != family {
            family = f.family;
            writeln!(out, "{family}:")?;
        }
        writeln!(out, "  {}\n      {}\n      e.g. {}", f.signature, f.doc, f.example)?;
    }
    Ok(ExitCode::SUCCESS)
}
