//! `edgelog formats`: the dialects and their columns.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::scope::format_spec;
use crate::dialect::names;
use crate::dialect::{DialectKind, DialectSpec};

/// Flags of `edgelog formats`.
#[derive(Debug, Args)]
pub struct FormatsArgs {
    /// Show only this format.
    name: Option<String>,
}

pub fn run(args: FormatsArgs) -> Result<ExitCode> {
    let specs = match &args.name {
        None => names().into_iter().map(DialectSpec::named).collect(),
        // `auto` is not a format of its own: the unknown-format error lists them.
        Some(n) => match format_spec(n)? {
            s if matches!(s.kind, DialectKind::Auto | DialectKind::AutoPerObject) => vec![DialectSpec::named(n)],
            s => vec![s],
        },
    };
    let list = specs
        .iter()
        .map(DialectSpec::build)
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    // Written, not printed: `edgelog formats | head` ends quietly.
    let mut out = crate::output::PipeAware(std::io::stdout().lock());
    for d in list {
        let tz = d.default_tz();
        writeln!(out, "{}\t{}", d.name(), d.description())?;
        writeln!(out, "  objects: {}", d.template().describe)?;
        writeln!(out, "  times shown in: {tz} (override with --tz)")?;
        let schema = d.schema(&tz);
        let docs = d.column_docs();
        let width = docs.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(16);
        for (field, (name, doc)) in schema.fields().iter().zip(docs) {
            writeln!(out, "  {name:<width$} {:<28} {doc}", field.data_type().to_string())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
