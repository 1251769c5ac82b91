//! `edgelog query`: flags -> [`QueryConfig`] -> [`run_query`].

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::scope::{ScopeArgs, now_ms};
use crate::config::{OutputFormat, QueryConfig};
use crate::output::PipeAware;
use crate::query::run_query;

/// Flags of `edgelog query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL to run over the table `logs`; read from -f FILE or stdin when absent.
    sql: Option<String>,
    /// Read the SQL from this file.
    #[arg(short = 'f', long = "file", value_name = "FILE", conflicts_with = "sql")]
    file: Option<PathBuf>,
    #[command(flatten)]
    scope: ScopeArgs,
    /// Output format: table, csv, tsv, json, ndjson, markdown, parquet [default: table on a terminal, csv otherwise].
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    output: Option<String>,
    /// Write the results to this file instead of stdout.
    #[arg(long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
}

impl QueryArgs {
    async fn into_config(self, stdin_sql: impl FnOnce() -> Result<String>) -> Result<QueryConfig> {
        let scope = self.scope.into_scope(now_ms()).await?;
        let output = match &self.output {
            Some(name) => OutputFormat::from_name(name)
                .with_context(|| format!("bad --output {name:?}: use one of {}", OutputFormat::NAMES.join(", ")))?,
            None if self.out.is_none() && std::io::stdout().is_terminal() => OutputFormat::Table,
            None => OutputFormat::Csv,
        };
        if output == OutputFormat::Parquet && self.out.is_none() && std::io::stdout().is_terminal() {
            bail!("parquet is binary: write it with --out FILE or pipe it");
        }
        let sql = match (&self.sql, &self.file) {
            (Some(sql), _) => sql.clone(),
            (None, Some(f)) => {
                std::fs::read_to_string(f).with_context(|| format!("cannot read SQL file {}", f.display()))?
            }
            (None, None) => stdin_sql()?,
        };
        Ok(QueryConfig {
            locations: scope.locations,
            scan: scope.scan,
            storage: scope.storage,
            sql,
            output,
            out_file: self.out,
            quiet: scope.quiet,
            verbose: scope.verbose,
            memory_limit: scope.memory_limit,
        })
    }
}

fn read_stdin_sql() -> Result<String> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!("no SQL given: pass it as an argument, with -f FILE, or on stdin");
    }
    let mut sql = String::new();
    stdin.read_to_string(&mut sql).context("cannot read SQL from stdin")?;
    Ok(sql)
}

pub async fn run(args: QueryArgs) -> Result<ExitCode> {
    let cfg = args.into_config(read_stdin_sql).await?;
    let out: Box<dyn Write + Send> = match &cfg.out_file {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(
            64 * 1024,
            PipeAware(std::io::stdout()),
        )),
    };
    run_query(&cfg, out).await?;
    Ok(ExitCode::SUCCESS)
}
