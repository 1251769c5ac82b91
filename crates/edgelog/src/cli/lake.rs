//! `edgelog lake status`: what a lake holds, from its log alone;
//! `edgelog lake verify`: reads every file and holds the rows per source
//! object to what the commits noted; `edgelog lake init`: the tier policy;
//! `edgelog lake retain`: applies it; `edgelog lake compact`.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use futures::TryStreamExt;

use anyhow::bail;

use super::scope::{ScopeArgs, now_ms};
use crate::lake::Lake;
use crate::lake::manifest::read;
use crate::lake::tier::{Policy, Retain, retain};

/// Flags of `edgelog lake`.
#[derive(Debug, Args)]
pub struct LakeArgs {
    #[command(subcommand)]
    command: LakeCommand,
}

#[derive(Debug, Subcommand)]
enum LakeCommand {
    /// Set the lake's tier policy (made from --from LOGS if it does not exist yet).
    Init {
        /// The lake (the hot tier): a folder or s3://BUCKET/PREFIX.
        #[arg(value_name = "LAKE")]
        location: String,
        /// Where days older than --move-after go: s3://BUCKET/PREFIX (or a folder).
        #[arg(long, value_name = "LOCATION")]
        cold: Option<String>,
        /// Move days older than this to --cold (e.g. 14d).
        #[arg(long, value_name = "DURATION")]
        move_after: Option<String>,
        /// Delete days older than this from both tiers (e.g. 21d).
        #[arg(long, value_name = "DURATION")]
        delete_after: Option<String>,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Apply the tier policy: delete days past --delete-after, move days past --move-after, vacuum.
    Retain {
        /// The lake: a folder or s3://BUCKET/PREFIX.
        #[arg(value_name = "LAKE")]
        location: String,
        /// Only list what would be deleted and moved.
        #[arg(long)]
        dry_run: bool,
        /// The time the policy counts back from (default: now), e.g. 2026-11-15T00:00:00Z.
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        /// Delete files no commit ever added (a killed ingest's) once this old.
        #[arg(long, default_value = "1h", value_name = "DURATION")]
        orphans_after: String,
        #[command(flatten)]
        notify: super::watch::NotifyArgs,
        #[command(flatten)]
        scope: ScopeArgs,
    },
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

/// The least `--orphans-after`: files younger than this may be a running
/// ingest's or retain's, written but not committed yet.
const MIN_ORPHAN_AGE_MS: i64 = 10 * 60 * 1000;

/// The storage flags of `scope` for `location`.
fn storage(mut scope: ScopeArgs, location: &str) -> Result<crate::config::StorageOptions> {
    scope.lake = Some(location.to_string());
    scope.from.clear();
    let (request, _) = scope.into_request(now_ms())?;
    Ok(request.storage)
}

fn show_ms(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map_or("-".to_string(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

pub async fn run(args: LakeArgs) -> Result<ExitCode> {
    match args.command {
        LakeCommand::Init {
            location,
            cold,
            move_after,
            delete_after,
            mut scope,
        } => {
            let policy = Policy {
                cold,
                move_after,
                delete_after,
            };
            policy.check(&location)?;
            let from = !scope.from.is_empty();
            scope.lake = Some(location.clone());
            let (mut request, shown) = scope.into_request(now_ms())?;
            request.lake = None;
            let mut lake = Lake::open(&location, &request.storage).await?;
            if !lake.exists() {
                if !from {
                    bail!(
                        "no lake at {location}: give --from LOGS (and --format) so that init knows what it holds, or ingest first"
                    );
                }
                let logs = super::scope::open_logs(&request, shown).await?;
                lake.create(logs.spec(), &logs.schema("UTC")).await?;
            }
            if let Some(cold) = &policy.cold {
                // Reach the cold location now, not at the first move.
                lake.open_cold(cold, &request.storage).await?.files().await?;
            }
            lake.set_policy(&policy).await?;
            println!(
                "lake {location}: hot here{}{}{}",
                policy
                    .cold
                    .as_deref()
                    .map_or(String::new(), |c| format!(", cold at {c}")),
                policy
                    .move_after
                    .as_deref()
                    .map_or(String::new(), |m| format!(", days move after {m}")),
                policy
                    .delete_after
                    .as_deref()
                    .map_or(String::new(), |d| format!(", deleted after {d}")),
            );
            Ok(ExitCode::SUCCESS)
        }
        LakeCommand::Retain {
            location,
            dry_run,
            now,
            orphans_after,
            notify,
            scope,
        } => {
            let ops = notify.open("retain", &location)?;
            if !dry_run {
                ops.say("STARTED", &format!("retain of {location} started")).await;
            }
            let outcome = retain_cmd(&location, dry_run, now, orphans_after, scope).await;
            if !dry_run {
                match &outcome {
                    Ok(line) => ops.say("DONE", line).await,
                    Err(e) => {
                        let why = super::error_message(e);
                        ops.say("FAILED", &format!("retain of {location} failed: {why}")).await
                    }
                }
            }
            outcome.map(|_| ExitCode::SUCCESS)
        }
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
            crate::lake::tier::settle(&mut lake, &request.storage).await?;
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
            let mut files = lake.files().await?.len();
            if let Some(cold) = crate::lake::tier::acknowledged_cold(&lake, &manifest, &request.storage).await? {
                files += cold.files().await?.len();
            }
            println!(
                "lake {location}: {} source objects, {} rows, {files} files read",
                manifest.sources.len(),
                manifest.rows(),
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
            let scope_from = std::mem::take(&mut scope.from);
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
            let st = crate::lake::status::status(&lake, &request.storage).await?;
            let pending = if scope_from.is_empty() {
                "-".to_string()
            } else {
                let manifest = read(lake.table()).await?;
                let mut raw = request.clone();
                raw.lake = None;
                raw.locations = scope_from;
                raw.format = lake.format()?;
                let logs = crate::engine::LogSet::open(&raw).await?;
                let listed = logs.list().await?;
                listed
                    .iter()
                    .filter(|o| !manifest.holds(&o.object.name, o.object.size, o.object.etag.as_deref()))
                    .count()
                    .to_string()
            };
            let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            println!("lake\t{}", st.lake);
            println!("format\t{}", st.format);
            println!("version\t{}", st.version);
            println!("source_objects\t{}", st.source_objects);
            println!("objects_pending\t{pending}");
            println!("rows\t{}", st.rows);
            println!("rows_in_files\t{}", st.rows_in_files);
            println!("malformed_lines\t{}", st.malformed_lines);
            println!("files\t{}", st.files);
            println!("bytes\t{}", st.bytes);
            println!("hot_files\t{}", st.hot_files);
            println!("hot_bytes\t{}", st.hot_bytes);
            println!("cold\t{}", or_dash(&st.cold));
            println!("cold_files\t{}", st.cold_files);
            println!("cold_bytes\t{}", st.cold_bytes);
            println!("move_after\t{}", or_dash(&st.move_after));
            println!("delete_after\t{}", or_dash(&st.delete_after));
            println!("deleted_through\t{}", or_dash(&st.deleted_through));
            println!("days\t{}", st.days);
            println!("first_day\t{}", or_dash(&st.first_day));
            println!("last_day\t{}", or_dash(&st.last_day));
            println!("newest_data\t{}", show_ms(st.newest_data_ms));
            println!("last_ingest\t{}", show_ms(st.last_ingest_ms));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `lake retain`: applies the policy, prints what it did; the summary line.
async fn retain_cmd(
    location: &str,
    dry_run: bool,
    now: Option<String>,
    orphans_after: String,
    scope: ScopeArgs,
) -> Result<String> {
    // Younger files may be a running ingest's or retain's, not committed yet.
    let Some(orphans_after_ms) = crate::config::parse_duration_ms(&orphans_after).filter(|ms| *ms >= MIN_ORPHAN_AGE_MS)
    else {
        bail!("bad --orphans-after {orphans_after:?}: give a duration of 10m or more, such as 1h");
    };
    let now_ms = match &now {
        None => now_ms(),
        Some(t) => crate::config::parse_time_arg(t, 0, now_ms())
            .ok_or_else(|| anyhow::anyhow!("bad --now {t:?}: give a time such as 2026-11-15T00:00:00Z"))?,
    };
    let quiet = scope.quiet;
    let storage = storage(scope, location)?;
    let mut lake = Lake::open(location, &storage).await?;
    if !lake.exists() {
        bail!("no lake at {location}");
    }
    let how = Retain {
        now_ms,
        dry_run,
        orphans_after_ms,
    };
    let mut say = |s: &str| {
        if !quiet {
            eprintln!("edgelog: {s}");
        }
    };
    let report = retain(&mut lake, &storage, &how, &mut say).await?;
    println!("action\ttier\tday\tfiles\tbytes\trows");
    for (action, days) in [("delete", &report.deleted), ("move", &report.moved)] {
        for d in days {
            println!("{action}\t{}\t{}\t{}\t{}\t{}", d.tier, d.day, d.files, d.bytes, d.rows);
        }
    }
    let at = show_ms(Some(now_ms));
    let summary = if dry_run {
        format!(
            "dry run at {at}: nothing changed; {} days would be deleted, {} moved{}",
            report.deleted.len(),
            report.moved.len(),
            if report.finished > 0 {
                format!(", {} files left by an interrupted run put right", report.finished)
            } else {
                String::new()
            }
        )
    } else {
        format!(
            "retained {location} at {at}: {} days deleted, {} moved, {} files vacuumed; deleted through {}",
            report.deleted.len(),
            report.moved.len(),
            report.vacuumed,
            report.expired_through_day.as_deref().unwrap_or("-")
        )
    };
    if !quiet {
        eprintln!("edgelog: {summary}");
    }
    Ok(summary)
}
