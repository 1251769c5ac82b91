//! `edgelog formats`: the dialects and their columns.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::format::{dialect, dialects};

/// Flags of `edgelog formats`.
#[derive(Debug, Args)]
pub struct FormatsArgs {
    /// Show only this format.
    name: Option<String>,
}

pub fn run(args: FormatsArgs) -> Result<ExitCode> {
    let list = match &args.name {
        None => dialects(),
        Some(n) => vec![dialect(n).map_err(anyhow::Error::msg)?],
    };
    for d in list {
        let tz = d.default_tz();
        println!("{}\t{}", d.name(), d.description());
        println!("  objects: {}", d.template().describe);
        println!("  times shown in: {tz} (override with --tz)");
        let schema = d.schema(&tz);
        for (field, (name, doc)) in schema.fields().iter().zip(d.column_docs()) {
            println!("  {name:<16} {:<28} {doc}", field.data_type().to_string());
        }
    }
    Ok(ExitCode::SUCCESS)
}
