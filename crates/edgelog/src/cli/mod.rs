//! The command line: clap derive types, one file per subcommand, each
//! turning its flags into a plain config from `config.rs` before any I/O.
//! No clap type leaves this module.

mod demo;
mod detect;
mod formats;
mod functions;
mod query;
mod report;
mod scope;

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

/// Query, report on, keep and alert on web/CDN access logs where they live.
#[derive(Debug, Parser)]
#[command(name = "edgelog", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run SQL over access logs (the table is `logs`).
    Query(Box<query::QueryArgs>),
    /// The everyday questions as panels: terminal, Markdown or JSON.
    Report(Box<report::ReportArgs>),
    /// List the log formats edgelog reads, with their columns.
    Formats(formats::FormatsArgs),
    /// Tell the format of logs from their first lines, with the evidence.
    Detect(detect::DetectArgs),
    /// List the SQL functions edgelog adds, with signatures and examples.
    Functions(functions::FunctionsArgs),
    /// Write realistic sample logs and answer example questions on them.
    Demo(demo::DemoArgs),
}

/// Parses the arguments and runs the command. `--help` and `--version` are
/// printed by clap (exit 0); a usage error comes back as a one-line error.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Result<ExitCode> {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => e.exit(),
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        // A usage error is one line, like every other error.
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            bail!("{} (see --help)", first.trim_start_matches("error: "));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::Query(args) => runtime.block_on(query::run(*args)),
        Command::Report(args) => runtime.block_on(report::run(*args)),
        Command::Formats(args) => formats::run(args),
        Command::Detect(args) => runtime.block_on(detect::run(args)),
        Command::Functions(args) => functions::run(args),
        Command::Demo(args) => runtime.block_on(demo::run(args)),
    }
}

/// The message for an error, on one line, without DataFusion's wrapping
/// ("External error: ...") or backtraces.
pub fn error_message(e: &anyhow::Error) -> String {
    use datafusion::error::DataFusionError;
    let mut parts = Vec::new();
    for cause in e.chain() {
        if let Some(df) = cause.downcast_ref::<DataFusionError>() {
            parts.push(datafusion_message(df));
            break;
        }
        parts.push(cause.to_string());
    }
    parts.dedup();
    parts.join(": ").replace('\n', " ")
}

fn datafusion_message(e: &datafusion::error::DataFusionError) -> String {
    use datafusion::error::DataFusionError as E;
    match e {
        E::External(inner) => match inner.downcast_ref::<E>() {
            Some(df) => datafusion_message(df),
            None => inner.to_string(),
        },
        E::Context(ctx, inner) => format!("{ctx}: {}", datafusion_message(inner)),
        E::Shared(inner) => datafusion_message(inner),
        E::Execution(msg) => msg.clone(),
        E::ArrowError(inner, _) => match inner.as_ref() {
            arrow::error::ArrowError::ExternalError(x) => match x.downcast_ref::<E>() {
                Some(df) => datafusion_message(df),
                None => x.to_string(),
            },
            other => other.to_string(),
        },
        E::Collection(errs) => errs.first().map(datafusion_message).unwrap_or_default(),
        other => other.strip_backtrace(),
    }
}
