//! `edgelog ingest`: the raw objects of a log set that the lake does not
//! hold yet, read in batches; each batch is written and committed with the
//! note naming its objects ([`crate::lake::manifest`]), so its rows and the
//! record that they were ingested appear together or not at all.
//!
//! Exactly once: an object is held when a commit noted it with the same
//! size and etag; a re-run skips it. A re-uploaded object (new etag or
//! size) is read again and its commit replaces its old rows
//! (`replaceWhere _file IN ...`). Two ingests racing on one lake both carry
//! the application transaction [`APP_ID`], so delta-rs refuses the second
//! commit made from the same snapshot; the loser reloads, drops what the
//! winner holds, and tries again.
//!
//! Speed: the next batch is read (parsed, typed, sorted) while this one is
//! written, and a batch's rows are encoded by one writer per core, each a
//! contiguous run of the time order into files of its own, all in one
//! commit.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use datafusion::common::Column;
use datafusion::logical_expr::{Expr, cast, col, lit};
use deltalake::kernel::Action;
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::parquet::basic::{Compression, Encoding, ZstdLevel};
use deltalake::parquet::file::properties::{EnabledStatistics, WriterProperties};
use deltalake::protocol::DeltaOperation;
use deltalake::protocol::SaveMode;

use crate::config::TimeRange;
use crate::engine::{Error, LogSet};
use crate::lake::manifest::{CommitNote, NOTE_KEY, SourceEntry};
use crate::lake::schema::{DAY, stored_type};
use crate::lake::{Lake, LakeError};
use crate::scan::exec::ScanObject;
use crate::scan::table::Objects;

/// Most stored bytes of raw objects read into one commit (an object larger
/// than this is one commit alone): bounds the rows held in memory, two
/// batches at a time (one written, the next read). On the benchmark data an
/// ingest peaks at ~380 MB with 8 MiB.
pub const BATCH_BYTES: u64 = 8 << 20;

pub use crate::lake::APP_ID;

/// How many times a batch is tried again after losing a race.
const RACE_RETRIES: usize = 5;

/// Columns users look single values up in: a Parquet bloom filter each.
const BLOOM_COLUMNS: &[&str] = &["client_ip", "path", "remote_addr", "request_id"];

/// Text columns whose values are all different: no dictionary.
const NO_DICTIONARY: &[&str] = &["request_id"];

/// Rows per Parquet row group: about an hour of a busy site's host, so a
/// one-hour question skips most groups by their `time` statistics.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// What an ingest did.
#[derive(Debug, Default)]
pub struct IngestSummary {
    /// Objects the time range selected.
    pub listed: usize,
    /// Of those, already in the lake.
    pub held: usize,
    /// Objects ingested now, with their rows and malformed lines.
    pub ingested: Vec<SourceEntry>,
    /// Of those, re-uploads whose old rows were replaced.
    pub replaced: usize,
    /// Commits made.
    pub commits: usize,
    /// The lake's version afterwards.
    pub version: Option<u64>,
    /// Objects skipped as unreadable (`--skip-unreadable`), as `object: why`;
    /// not noted, so the next ingest tries them again.
    pub unreadable: Vec<String>,
    /// The first malformed lines, as `object:line: reason`.
    pub samples: Vec<String>,
}

/// Ingests every object of `logs` (over its time range) that `lake` does
/// not hold, creating the lake on first use. `on_commit` hears of each
/// commit (for a progress line).
pub async fn ingest(
    lake: &mut Lake,
    logs: &LogSet,
    memory_limit: Option<usize>,
    on_commit: &mut dyn FnMut(&IngestSummary),
) -> Result<IngestSummary, Error> {
    ingest_in(lake, logs, memory_limit, BATCH_BYTES, on_commit).await
}

/// [`ingest`] with at most `batch_bytes` stored bytes of raw objects per commit.
pub async fn ingest_in(
    lake: &mut Lake,
    logs: &LogSet,
    memory_limit: Option<usize>,
    batch_bytes: u64,
    on_commit: &mut dyn FnMut(&IngestSummary),
) -> Result<IngestSummary, Error> {
    let raw = logs.schema("UTC");
    let stored = crate::lake::schema::stored_schema(&raw);
    if !lake.exists() {
        lake.create(logs.spec(), &raw).await?;
    } else if lake.format()? != *logs.spec() {
        return Err(Error::Request(format!(
            "the lake {} holds another format than these logs ({}): one lake holds one format",
            lake.location,
            logs.dialect_name()
        )));
    }
    let mut manifest = crate::lake::manifest::read(lake.table()).await?;
    // A move that stopped between its two commits is finished first: a
    // re-upload below rewrites hot files, and a rewritten file would no
    // longer be known as the copy of its cold twin.
    crate::lake::tier::settle(lake, &logs.request().storage).await?;
    // Without a range, a re-run lists only what can hold new rows: from the
    // lake's watermark (every listed object with older rows is held, as the
    // last complete unbounded ingest noted), less the margin for late records.
    let unbounded = logs.range().is_unbounded();
    let mut locations = logs.request().locations.clone();
    locations.sort();
    let listing = match (unbounded, manifest.watermarks.get(&locations).copied()) {
        (true, Some(mark)) => logs.with_range(TimeRange {
            since: Some(mark.saturating_sub(logs.request().prune_margin_ms)),
            until: None,
        }),
        _ => logs.clone(),
    };
    let objects = listing.list().await?;
    let mut summary = IngestSummary {
        listed: objects.len(),
        ..IngestSummary::default()
    };
    let mut pending = Vec::new();
    for o in objects {
        if manifest.holds(&o.object.name, o.object.size, o.object.etag.as_deref()) {
            summary.held += 1;
        } else {
            pending.push(o);
        }
    }
    // Every row of an object goes in, whatever the range that chose it.
    let whole = logs.with_range(TimeRange::ALL);
    let batches = batches(pending, batch_bytes.max(1));
    let count = batches.len();
    // The next batch is read while this one is written and committed (two
    // cores: parsing on one, Parquet encoding on the other). A read ahead
    // is made against the manifest as it was; when a race reloads the
    // manifest, it is read again.
    let mut generation = 0u64;
    let mut ahead: Option<(usize, u64, Reading)> = None;
    for i in 0..count {
        let mut batch = batches[i].clone();
        let mut tries = 0;
        loop {
            let read_now = |batch: &[ScanObject]| spawn_read(&whole, &raw, batch, &manifest, memory_limit);
            let handle = match ahead.take() {
                Some((j, g, handle)) if j == i && g == generation => handle,
                Some((_, _, stale)) => {
                    stale.abort();
                    read_now(&batch)
                }
                None => read_now(&batch),
            };
            let read = handle
                .await
                .map_err(|e| Error::Request(format!("ingest: a read stopped: {e}")))?;
            if i + 1 < count {
                ahead = Some((i + 1, generation, read_now(&batches[i + 1])));
            }
            let (rows, note, read) = read?;
            summary.unreadable.extend(read.unreadable);
            for s in read.samples {
                if summary.samples.len() < 10 {
                    summary.samples.push(s);
                }
            }
            if note.added.is_empty() {
                break;
            }
            let mut note = note;
            // The last commit of an unbounded run that skipped nothing moves
            // the watermark: everything listed up to its newest row is held.
            // A row time from the future (a skewed clock) must not move it
            // past now, or later objects would never be listed.
            if unbounded && i + 1 == count && summary.unreadable.is_empty() {
                let newest = note.added.iter().filter_map(|e| e.newest_ms).max();
                let mark = newest
                    .max(manifest.newest_ms())
                    .max(summary.ingested.iter().filter_map(|e| e.newest_ms).max());
                note.complete_through_ms = mark.map(|m| m.min(logs.request().range.now()));
                note.complete_locations = locations.clone();
            }
            // A re-upload's old rows that moved to the cold tier go first.
            // Readers see the cold tier as the hot table acknowledges it, so
            // the deletion shows with the hot commit that replaces the rows;
            // a crash between leaves the object to be read again.
            if !note.removed.is_empty()
                && let Some(mut c) = lake.cold(&logs.request().storage).await?
                && c.exists()
            {
                delete_objects(&mut c, &note.removed).await?;
                note.cold_version = c.version();
            }
            match commit(lake, rows, &note, &stored).await {
                Ok(()) => {
                    summary.replaced += note.removed.len();
                    summary.ingested.extend(note.added);
                    summary.commits += 1;
                    summary.version = lake.version();
                    on_commit(&summary);
                    break;
                }
                Err(e) if e.is_race() && tries < RACE_RETRIES => {
                    // Another ingest committed first: take what it holds out.
                    tries += 1;
                    generation += 1;
                    lake.reload().await?;
                    manifest = crate::lake::manifest::read(lake.table()).await?;
                    batch.retain(|o| !manifest.holds(&o.object.name, o.object.size, o.object.etag.as_deref()));
                    if batch.is_empty() {
                        break;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    summary.version = lake.version();
    Ok(summary)
}

/// A batch's rows in the stored types, its note, and what reading saw.
type BatchRead = (Vec<RecordBatch>, CommitNote, Read);

/// A batch being read on its own task.
type Reading = tokio::task::JoinHandle<Result<BatchRead, Error>>;

/// Starts reading `batch` on its own task: objects the manifest holds in
/// another version are re-uploads whose rows the commit replaces; rows of
/// days retention deleted are left out.
fn spawn_read(
    logs: &LogSet,
    raw: &SchemaRef,
    batch: &[ScanObject],
    manifest: &crate::lake::manifest::Manifest,
    memory_limit: Option<usize>,
) -> Reading {
    let replacing: Vec<String> = batch
        .iter()
        .filter(|o| manifest.sources.contains_key(&o.object.name))
        .map(|o| o.object.name.clone())
        .collect();
    let expired = manifest.expired_through_day.clone();
    let (logs, raw, batch) = (logs.clone(), raw.clone(), batch.to_vec());
    tokio::spawn(async move { read_batch(&logs, &raw, &batch, replacing, expired.as_deref(), memory_limit).await })
}

/// Objects in listing order, cut into batches of at most `max` stored bytes.
fn batches(objects: Vec<ScanObject>, max: u64) -> Vec<Vec<ScanObject>> {
    let mut out: Vec<Vec<ScanObject>> = Vec::new();
    let mut bytes = 0;
    for o in objects {
        match out.last_mut() {
            Some(last) if bytes + o.object.size <= max => {
                bytes += o.object.size;
                last.push(o);
            }
            _ => {
                bytes = o.object.size;
                out.push(vec![o]);
            }
        }
    }
    out
}

/// What reading a batch saw besides its rows.
struct Read {
    unreadable: Vec<String>,
    samples: Vec<String>,
}

/// Reads the objects of `batch`: their rows in the stored types, sorted by
/// time, and the note that names them.
async fn read_batch(
    logs: &LogSet,
    raw: &Schema,
    batch: &[ScanObject],
    replacing: Vec<String>,
    expired_through_day: Option<&str>,
    memory_limit: Option<usize>,
) -> Result<(Vec<RecordBatch>, CommitNote, Read), Error> {
    let ctx = crate::session::new_context(memory_limit)?;
    let stats = logs.register_as(&ctx, "logs", Objects::Fixed(Arc::new(batch.to_vec())))?;
    let mut exprs: Vec<Expr> = raw
        .fields()
        .iter()
        .map(|f| {
            cast(
                Expr::Column(Column::new_unqualified(f.name())),
                stored_type(f.data_type()),
            )
            .alias(f.name())
        })
        .collect();
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    // The session's `to_char` formats once per run of equal times' days.
    let to_char = datafusion::execution::FunctionRegistry::udf(&ctx, "to_char")?;
    exprs.push(to_char.call(vec![cast(col("time"), utc), lit("%Y-%m-%d")]).alias(DAY));
    let rows = ctx
        .table("logs")
        .await?
        .select(exprs)?
        .sort(vec![col("time").sort(true, true)])?
        .collect()
        .await?;
    let totals = stats.snapshot();
    // An object that turned out damaged (--skip-unreadable) may have given
    // its first rows: they are not committed, since it is not noted and the
    // next ingest reads it again.
    let unreadable: Vec<&str> = batch
        .iter()
        .map(|o| o.object.name.as_str())
        .filter(|name| totals.unreadable.iter().any(|u| u.starts_with(&format!("{name}: "))))
        .collect();
    let rows = if unreadable.is_empty() {
        rows
    } else {
        without_objects(rows, &unreadable)?
    };
    // Rows of days retention deleted are not written (the days would hide
    // them anyway); they are counted as expired.
    let (rows, expired) = match expired_through_day {
        Some(day) => without_days_through(rows, day)?,
        None => (rows, BTreeMap::new()),
    };
    let per_object = rows_per_object(&rows)?;
    let mut note = CommitNote::default();
    for o in batch {
        let name = &o.object.name;
        if unreadable.contains(&name.as_str()) {
            continue;
        }
        note.added.push(SourceEntry {
            name: name.clone(),
            size: o.object.size,
            etag: o.object.etag.clone(),
            rows: per_object.get(name.as_str()).map_or(0, |e| e.0),
            malformed: totals.malformed_by_object.get(name).copied().unwrap_or(0),
            newest_ms: per_object.get(name.as_str()).and_then(|e| e.1),
            expired: expired.get(name.as_str()).copied().unwrap_or(0),
        });
    }
    // Only an object read again is replaced: a re-upload that turned out
    // damaged keeps its old rows, and stays held as it was.
    note.removed = replacing
        .into_iter()
        .filter(|name| note.added.iter().any(|e| &e.name == name))
        .collect();
    let read = Read {
        unreadable: totals.unreadable,
        samples: totals.samples,
    };
    Ok((rows, note, read))
}

/// The `_file` column of `batch` as text.
fn object_names(batch: &RecordBatch) -> Result<arrow::array::ArrayRef, Error> {
    let Some(files) = batch.column_by_name("_file") else {
        return Err(Error::Request("the format has no _file column".into()));
    };
    Ok(arrow::compute::cast(files, &DataType::Utf8).map_err(datafusion::error::DataFusionError::from)?)
}

/// `rows` without those of the objects named.
fn without_objects(rows: Vec<RecordBatch>, names: &[&str]) -> Result<Vec<RecordBatch>, Error> {
    let mut out = Vec::with_capacity(rows.len());
    for batch in rows {
        let files = object_names(&batch)?;
        let keep: arrow::array::BooleanArray = files
            .as_string::<i32>()
            .iter()
            .map(|f| Some(!f.is_some_and(|f| names.contains(&f))))
            .collect();
        out.push(arrow::compute::filter_record_batch(&batch, &keep).map_err(datafusion::error::DataFusionError::from)?);
    }
    Ok(out)
}

/// `rows` without those of the days up to `day`, and how many each object lost.
fn without_days_through(rows: Vec<RecordBatch>, day: &str) -> Result<(Vec<RecordBatch>, BTreeMap<String, u64>), Error> {
    let mut lost: BTreeMap<String, u64> = BTreeMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for batch in rows {
        let files = object_names(&batch)?;
        let Some(days) = batch.column_by_name(DAY) else {
            return Err(Error::Request(format!("the rows have no {DAY} column")));
        };
        let days = arrow::compute::cast(days, &DataType::Utf8).map_err(datafusion::error::DataFusionError::from)?;
        let keep: arrow::array::BooleanArray = days
            .as_string::<i32>()
            .iter()
            .zip(files.as_string::<i32>().iter())
            .map(|(d, f)| {
                let gone = d.is_some_and(|d| d <= day);
                if gone {
                    *lost.entry(f.unwrap_or_default().to_string()).or_default() += 1;
                }
                Some(!gone)
            })
            .collect();
        out.push(arrow::compute::filter_record_batch(&batch, &keep).map_err(datafusion::error::DataFusionError::from)?);
    }
    Ok((out, lost))
}

/// Deletes the rows of the objects `names` from `lake` (the cold tier,
/// when a re-upload replaces rows that moved there).
async fn delete_objects(lake: &mut Lake, names: &[String]) -> Result<(), LakeError> {
    let list = names.iter().map(|n| lit(n.clone())).collect();
    let (table, _) = lake
        .table()
        .clone()
        .delete()
        .with_predicate(col("_file").in_list(list, false))
        .with_writer_properties(writer_properties(Some(
            &lake.table().snapshot()?.snapshot().arrow_schema(),
        )))
        .await?;
    lake.set_table(table);
    Ok(())
}

/// Rows and the newest row time (epoch ms) per `_file`.
fn rows_per_object(rows: &[RecordBatch]) -> Result<BTreeMap<String, (u64, Option<i64>)>, Error> {
    use arrow::datatypes::TimestampMicrosecondType;
    let mut out: BTreeMap<String, (u64, Option<i64>)> = BTreeMap::new();
    for batch in rows {
        let files = object_names(batch)?;
        let Some(times) = batch.column_by_name("time") else {
            return Err(Error::Request("the format has no time column".into()));
        };
        let times = times.as_primitive_opt::<TimestampMicrosecondType>();
        for (i, name) in files.as_string::<i32>().iter().enumerate() {
            let Some(name) = name else { continue };
            let entry = out.entry(name.to_string()).or_insert((0, None));
            entry.0 += 1;
            let t = times.filter(|t| t.is_valid(i)).map(|t| t.value(i).div_euclid(1000));
            entry.1 = entry.1.max(t);
        }
    }
    Ok(out)
}

/// Writes `rows` and commits them with `note` (replacing the old rows of
/// the objects it removes).
async fn commit(
    lake: &mut Lake,
    rows: Vec<RecordBatch>,
    note: &CommitNote,
    stored: &SchemaRef,
) -> Result<(), LakeError> {
    // Objects with no rows (empty, all malformed) are noted all the same:
    // delta-rs wants data to write, so it gets an empty batch.
    let rows = if rows.iter().all(|b| b.num_rows() == 0) {
        vec![RecordBatch::new_empty(stored.clone())]
    } else {
        rows
    };
    let value = serde_json::to_value(note).map_err(|e| LakeError::Delta(e.to_string()))?;
    let next = lake.version().map_or(0, |v| v + 1);
    let props = CommitProperties::default()
        .with_application_transaction(Transaction::new(APP_ID, i64::try_from(next).unwrap_or(i64::MAX)))
        .with_metadata([(NOTE_KEY.to_string(), value)]);
    let schema = rows.first().map(|b| b.schema());
    if note.removed.is_empty() {
        return append(lake, rows, writer_properties(schema.as_ref()), props).await;
    }
    let mut write = lake
        .table()
        .clone()
        .write(rows)
        .with_partition_columns([DAY])
        .with_writer_properties(writer_properties(schema.as_ref()))
        .with_commit_properties(props);
    if !note.removed.is_empty() {
        let names = note.added.iter().map(|e| lit(e.name.clone())).collect();
        write = write
            .with_save_mode(SaveMode::Overwrite)
            .with_replace_where(col("_file").in_list(names, false));
    }
    let table = write.await?;
    lake.set_table(table);
    Ok(())
}

/// Rows below which one writer takes a whole batch (more would only make
/// small files).
const SPLIT_ROWS: usize = 4 * ROW_GROUP_ROWS;

/// Appends `rows` (sorted by time) and commits them with `props`: the rows
/// are cut into contiguous runs, one per core, each encoded into its own
/// files at once (Parquet encoding is most of an ingest's time); the files
/// of every run go in one commit.
async fn append(
    lake: &mut Lake,
    rows: Vec<RecordBatch>,
    files: WriterProperties,
    props: CommitProperties,
) -> Result<(), LakeError> {
    use deltalake::writer::{DeltaWriter, RecordBatchWriter};
    let total: usize = rows.iter().map(RecordBatch::num_rows).sum();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let runs = (total / SPLIT_ROWS).clamp(1, cores);
    let per_run = total.div_ceil(runs).max(1);
    let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); runs];
    let mut seen = 0;
    for batch in rows.into_iter().filter(|b| b.num_rows() > 0) {
        let n = batch.num_rows();
        parts[(seen / per_run).min(runs - 1)].push(batch);
        seen += n;
    }
    let mut tasks = Vec::with_capacity(runs);
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        let mut writer = RecordBatchWriter::for_table(lake.table())?.with_writer_properties(files.clone());
        tasks.push(tokio::spawn(async move {
            for batch in part {
                writer.write(batch).await?;
            }
            writer.flush().await
        }));
    }
    let mut actions = Vec::new();
    for task in tasks {
        let adds = task
            .await
            .map_err(|e| LakeError::Delta(format!("a writer stopped: {e}")))??;
        actions.extend(adds.into_iter().map(Action::Add));
    }
    let op = DeltaOperation::Write {
        mode: SaveMode::Append,
        partition_by: Some(vec![DAY.to_string()]),
        predicate: None,
    };
    let snapshot = lake.table().snapshot()?;
    CommitBuilder::from(props)
        .with_actions(actions)
        .build(Some(snapshot), lake.table().log_store(), op)
        .await?;
    lake.reload().await
}

/// zstd, page statistics, row groups of `ROW_GROUP_ROWS` rows, and bloom
/// filters on the lookup columns the table has.
pub fn writer_properties(schema: Option<&SchemaRef>) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
    if let Some(schema) = schema {
        // A dictionary pays for text that repeats (hosts, paths, agents);
        // on numbers and times, and on ids, it is time spent finding out
        // that the values do not repeat enough.
        for field in schema.fields() {
            let name = field.name().as_str();
            let text = matches!(
                field.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            );
            if !text || NO_DICTIONARY.contains(&name) {
                b = b.set_column_dictionary_enabled(name.into(), false);
            }
            // Times (sorted within a file) and line numbers (rising within an
            // object) differ little from row to row: stored as deltas, they
            // take half and a hundredth of the bytes. Sizes, ports and
            // statuses do not (deltas made the benchmark's lake 173.7 MB
            // against 171.3 MB, at the same ingest time).
            if matches!(field.data_type(), DataType::Timestamp(_, _)) || name == "_line" {
                b = b.set_column_encoding(name.into(), Encoding::DELTA_BINARY_PACKED);
            }
        }
        for name in BLOOM_COLUMNS {
            if schema.column_with_name(name).is_some() {
                // Sized for one row group: the default (a million distinct
                // values) made each filter ~1 MB, most of the lake's bytes.
                b = b
                    .set_column_bloom_filter_enabled((*name).into(), true)
                    .set_column_bloom_filter_max_ndv((*name).into(), ROW_GROUP_ROWS as u64)
                    .set_column_bloom_filter_fpp((*name).into(), 0.01);
            }
        }
    }
    b.build()
}
