//! Runs the `.slt` files in `tests/slt/`, each against a fresh session over
//! the fixture logs in `tests/data/sakura/`. SQL behaviour is pinned there:
//! column types, NULL handling, canonical columns, `_file`/`_line`, pruning.
//!
//! A file may start with `# options: --since=TIME --until=TIME --tz=ZONE
//! --prune-margin=DURATION --format=NAME --from=PATH` to bind `logs` with
//! those scan options. `--from` is relative to `tests/`; `shared:PATH` is
//! under `shared/` beside the repository (or `$EDGELOG_SHARED`), where the
//! real corpus lives.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use arrow::util::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use edgelog::config::parse_duration_ms;
use edgelog::dialect::DialectSpec;
use edgelog::engine::{LogSet, ScanRequest, TimeArg};
use edgelog::session::new_context;
use edgelog_parse::time::parse_iso8601;
use sqllogictest::{DBOutput, DefaultColumnType};

struct Db {
    ctx: SessionContext,
}

#[async_trait]
impl sqllogictest::AsyncDB for Db {
    type Error = DataFusionError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DataFusionError> {
        let df = self.ctx.sql(sql).await?;
        let schema = df.schema().as_arrow().clone();
        let batches = df.collect().await?;
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for batch in &batches {
            let formatters: Vec<_> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<_, _>>()?;
            for r in 0..batch.num_rows() {
                rows.push(
                    formatters
                        .iter()
                        .map(|f| {
                            let v = f.value(r).to_string();
                            if v.is_empty() { "(empty)".to_string() } else { v }
                        })
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; schema.fields().len()],
            rows,
        })
    }

    async fn shutdown(&mut self) {}
}

fn shared_dir() -> PathBuf {
    match std::env::var_os("EDGELOG_SHARED") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// The request a file asks for; the Sakura fixtures by default.
fn options_of(file: &Path, data: &mut String) -> ScanRequest {
    let text = std::fs::read_to_string(file).unwrap();
    let mut scan = ScanRequest::new(Vec::new(), DialectSpec::named("sakura"));
    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests");
    if let Some(line) = text.lines().find_map(|l| l.strip_prefix("# options:")) {
        for opt in line.split_whitespace() {
            let (k, v) = opt.split_once('=').expect("options are --key=value");
            match k {
                "--since" => scan.range.since = parse_iso8601(v, 9 * 3600).map(TimeArg::Ms),
                "--until" => scan.range.until = parse_iso8601(v, 9 * 3600).map(TimeArg::Ms),
                "--tz" => scan.tz = Some(v.to_string()),
                "--prune-margin" => scan.prune_margin_ms = parse_duration_ms(v).unwrap(),
                "--format" => scan.format = DialectSpec::parse(v),
                "--from" => {
                    let path = match v.strip_prefix("shared:") {
                        Some(rest) => shared_dir().join(rest),
                        None => tests.join(v),
                    };
                    *data = path.to_string_lossy().into_owned();
                }
                other => panic!("unknown option {other} in {}", file.display()),
            }
        }
    }
    scan
}

async fn run_file(file: PathBuf, mut data: String) -> Result<(), String> {
    let mut request = options_of(&file, &mut data);
    request.locations = vec![data];
    let mut runner = sqllogictest::Runner::new(move || {
        let request = request.clone();
        async move {
            let logs = LogSet::open(&request)
                .await
                .map_err(|e| DataFusionError::External(e.into()))?;
            let ctx = new_context(None)?;
            logs.register(&ctx).map_err(|e| DataFusionError::External(e.into()))?;
            Ok(Db { ctx })
        }
    });
    runner.with_column_validator(|_, _| true);
    // EDGELOG_UPDATE_SLT=1 rewrites each file's expected results with what
    // edgelog answers now: review the diff before committing it.
    if std::env::var_os("EDGELOG_UPDATE_SLT").is_some() {
        return runner
            .update_test_file(
                &file,
                " ",
                sqllogictest::default_validator,
                sqllogictest::default_normalizer,
                sqllogictest::default_column_validator,
            )
            .await
            .map_err(|e| format!("{}: {e}", file.display()));
    }
    runner
        .run_file_async(&file)
        .await
        .map_err(|e| format!("{}: {e}", file.display()))
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests");
    let data = root.join("data/sakura/").to_string_lossy().into_owned();
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("slt"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .filter(|p| filter.as_ref().is_none_or(|f| p.to_string_lossy().contains(f.as_str())))
        .collect();
    files.sort();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut failed = 0;
    for f in &files {
        match rt.block_on(run_file(f.clone(), data.clone())) {
            Ok(()) => println!("slt {} ... ok", f.file_name().unwrap().to_string_lossy()),
            Err(e) => {
                failed += 1;
                println!("slt {} ... FAILED\n{e}", f.file_name().unwrap().to_string_lossy());
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out",
        if failed == 0 { "ok" } else { "FAILED" },
        files.len() - failed
    );
    if failed > 0 || files.is_empty() {
        std::process::exit(1);
    }
}
