//! `edgelog lake status`: what a lake holds, from its log alone;
//! `edgelog lake verify`: reads every file and holds the rows per source
//! object to what the commits noted.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use futures::TryStreamExt;

use super::scope::{ScopeArgs, now_ms};
use crate::lake::Lake;
use crate::lake::manifest::read;

/// Flags of `edgelog lake`.
#[derive(Debug, Args)]
pub struct LakeArgs {
    #[command(subcommand)]
    command: LakeCommand,
}

#[derive(Debug, Subcommand)]
enum LakeCommand {
    /// Source objects held, rows, malformed lines, files and bytes, newest data, last ingest.
    Status {
        /// The lake: a folder or s3://BUCKET/PREFIX.
        #[arg(value_name = "LAKE")]
        location: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Merge the small files of each day into larger ones (rows and notes unchanged).
    Compact {
        /// The lake: a folder or s3://BUCKET/PREFIX.
        #[arg(value_name = "LAKE")]
        location: String,
        /// Size of the files to make, in MiB.
        #[arg(long, default_value_t = 128, value_name = "MIB")]
        target_mib: u64,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Read every file of the lake: rows per source object must equal what its commits noted (exit 1 if not).
    Verify {
        /// The lake: a folder or s3://BUCKET/PREFIX.
        #[arg(value_name = "LAKE")]
        location: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
}

pub async fn run(args: LakeArgs) -> Result<ExitCode> {
    match args.command {
        LakeCommand::Compact {
            location,
            target_mib,
            mut scope,
        } => {
            if target_mib == 0 {
                anyhow::bail!("bad --target-mib 0: give the MiB of the files to make, e.g. 128");
            }
            scope.lake = Some(location.clone());
            let (request, _) = scope.into_request(now_ms())?;
            let mut lake = Lake::open(&location, &request.storage).await?;
            if !lake.exists() {
                anyhow::bail!("no lake at {location}");
            }
            let schema = lake.table().snapshot()?.snapshot().arrow_schema();
            let props = crate::ingest::writer_properties(Some(&schema));
            let (removed, added) = lake.compact(target_mib << 20, props).await?;
            println!(
                "lake {location}: {removed} files merged into {added}; version {}",
                lake.version().unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        LakeCommand::Verify { location, mut scope } => {
            scope.lake = Some(location.clone());
            scope.from.clear();
            let (request, _) = scope.into_request(now_ms())?;
            let lake = Lake::open(&location, &request.storage).await?;
            if !lake.exists() {
                anyhow::bail!("no lake at {location}");
            }
            let manifest = read(lake.table()).await?;
            let service = crate::engine::QueryService::open(&request).await?;
            let run = service
                .query("SELECT _file, count(*) n FROM logs GROUP BY _file")
                .await?;
            let batches: Vec<arrow::record_batch::RecordBatch> = run.stream.try_collect().await?;
            let mut found = std::collections::BTreeMap::new();
            for b in &batches {
                use arrow::array::AsArray;
                use arrow::datatypes::{DataType, Int64Type};
                let files = arrow::compute::cast(b.column(0), &DataType::Utf8)?;
                let counts = arrow::compute::cast(b.column(1), &DataType::Int64)?;
                let (Some(files), Some(counts)) =
                    (files.as_string_opt::<i32>(), counts.as_primitive_opt::<Int64Type>())
                else {
                    anyhow::bail!("lake verify: unexpected column types");
                };
                for i in 0..b.num_rows() {
                    found.insert(files.value(i).to_string(), u64::try_from(counts.value(i)).unwrap_or(0));
                }
            }
            let mut wrong = Vec::new();
            for (name, held) in &manifest.sources {
                let rows = found.remove(name).unwrap_or(0);
                if rows != held.entry.rows {
                    wrong.push(format!("{name}: {rows} rows in the files, {} noted", held.entry.rows));
                }
            }
            for (name, rows) in found {
                wrong.push(format!("{name}: {rows} rows in the files, no commit notes it"));
            }
            println!(
                "lake {location}: {} source objects, {} rows, {} files read",
                manifest.sources.len(),
                manifest.rows(),
                lake.table().snapshot()?.log_data().num_files()
            );
            if wrong.is_empty() {
                println!("ok: every source object's rows are in the files exactly as noted");
                return Ok(ExitCode::SUCCESS);
            }
            for w in &wrong {
                println!("MISMATCH {}", crate::report::render::clean(w));
            }
            Ok(ExitCode::from(1))
        }
        LakeCommand::Status {
            location: lake,
            mut scope,
        } => {
            scope.lake = Some(lake.clone());
            let (request, _) = scope.into_request(now_ms())?;
            let lake = Lake::open(&lake, &request.storage).await?;
            if !lake.exists() {
                anyhow::bail!(
                    "no lake at {}: make one with `edgelog ingest --from LOGS --lake {}`",
                    lake.location,
                    lake.location
                );
            }
            let manifest = read(lake.table()).await?;
            let files: Vec<_> = lake
                .table()
                .get_active_add_actions_by_predicate(None)
                .try_collect()
                .await
                .map_err(|e| anyhow::anyhow!("cannot list the lake's files: {e}"))?;
            let bytes: i64 = files.iter().map(|f| f.size()).sum();
            let records: usize = files.iter().filter_map(|f| f.num_records()).sum();
            let days: std::collections::BTreeSet<String> = files
                .iter()
                .filter_map(|f| {
                    f.partition_values_map()
                        .get(crate::lake::schema::DAY)
                        .cloned()
                        .flatten()
                })
                .collect();
            let format = lake.format()?;
            let show = |ms: Option<i64>| {
                ms.and_then(chrono::DateTime::from_timestamp_millis)
                    .map_or("-".to_string(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            };
            println!("lake\t{}", lake.location);
            println!("format\t{}", serde_json::to_string(&format.kind)?);
            println!("version\t{}", lake.version().unwrap_or_default());
            println!("source_objects\t{}", manifest.sources.len());
            println!("rows\t{}", manifest.rows());
            println!("rows_in_files\t{records}");
            println!("malformed_lines\t{}", manifest.malformed());
            println!("files\t{}", files.len());
            println!("bytes\t{bytes}");
            println!("days\t{}", days.len());
            println!("first_day\t{}", days.first().map_or("-", String::as_str));
            println!("last_day\t{}", days.last().map_or("-", String::as_str));
            println!("last_ingest\t{}", show(manifest.last_ingest_ms));
            Ok(ExitCode::SUCCESS)
        }
    }
}
