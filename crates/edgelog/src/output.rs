//! The one place that writes results: table, csv, tsv, json, ndjson,
//! markdown, parquet. Streaming formats write batch by batch; the table and
//! markdown renderers need every row to size their columns.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;

use crate::config::OutputFormat;

static BROKEN_PIPE: AtomicBool = AtomicBool::new(false);

/// Whether a write to the output found the reader gone (`| head`). That is
/// how a pipeline ends, not an error.
pub fn broken_pipe() -> bool {
    BROKEN_PIPE.load(Ordering::Relaxed)
}

/// A writer that notes a broken pipe before passing the error on.
pub struct PipeAware<W>(pub W);

impl<W: Write> Write for PipeAware<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        self.0.write(buf).inspect_err(note_broken_pipe)
    }

    fn flush(&mut self) -> io::Result<()> {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        self.0.flush().inspect_err(note_broken_pipe)
    }
}

fn note_broken_pipe(e: &io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        BROKEN_PIPE.store(true, Ordering::Relaxed);
    }
}

/// Whether `e` (or anything it wraps) is a write to a reader that went away.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    broken_pipe()
        || e.chain().any(|c| {
            c.downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
        })
}

/// Set when the run is being interrupted: writes to stdout stop at once, so
/// that nothing (not even a buffered half record) follows the interruption.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Marks the run interrupted (Ctrl-C): stdout takes no more bytes, and
/// every uncommitted [`AtomicFile`] is removed.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let pending = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|p| p.into_inner()));
    for tmp in pending {
        let _ = std::fs::remove_file(tmp);
    }
}

/// Temporary files not yet committed, for [`interrupt`] to remove even when
/// the command cannot be unwound.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn forget_pending(tmp: &Path) {
    PENDING.lock().unwrap_or_else(|p| p.into_inner()).retain(|p| p != tmp);
}

/// A file written under a temporary name beside its final one and renamed
/// into place by [`AtomicFile::commit`]: a failed, interrupted or crashed run
/// never leaves a half-written file under the name the user gave (and an
/// existing file there survives a failed run). Dropped without a commit (an
/// error, Ctrl-C), the temporary file is removed. A name that is not a
/// regular file (`/dev/stdout`, a FIFO, a symlink) is written directly.
pub struct AtomicFile {
    path: PathBuf,
    /// The temporary name, or `None` when writing to `path` directly.
    tmp: Option<PathBuf>,
    file: Option<BufWriter<File>>,
    committed: bool,
}

impl AtomicFile {
    /// Creates the temporary file beside `path` (same folder, so the rename
    /// stays on one file system), with the permissions of the file it will
    /// replace.
    pub fn create(path: &Path) -> Result<Self> {
        let what = || format!("cannot create {}", path.display());
        let existing = std::fs::symlink_metadata(path).ok();
        if existing.as_ref().is_some_and(|m| m.is_dir()) {
            bail!("cannot write {}: it is a folder", path.display());
        }
        if existing.as_ref().is_some_and(|m| !m.is_file()) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)
                .with_context(what)?;
            return Ok(AtomicFile {
                path: path.to_path_buf(),
                tmp: None,
                file: Some(BufWriter::with_capacity(256 * 1024, file)),
                committed: false,
            });
        }
        let name = path
            .file_name()
            .with_context(|| format!("cannot write {}: not a file name", path.display()))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".edgelog-{}-{:08x}.tmp",
            std::process::id(),
            rand::random::<u32>()
        ));
        let tmp = path.with_file_name(tmp_name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(what)?;
        PENDING.lock().unwrap_or_else(|p| p.into_inner()).push(tmp.clone());
        if let Some(m) = existing {
            let _ = file.set_permissions(m.permissions());
        }
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp: Some(tmp),
            file: Some(BufWriter::with_capacity(256 * 1024, file)),
            committed: false,
        })
    }

    /// Writes `bytes` to `path` atomically.
    pub fn write_all_to(path: &Path, bytes: &[u8]) -> Result<()> {
        let mut f = AtomicFile::create(path)?;
        f.write_all(bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        f.commit()
    }

    /// Flushes the data to disk and gives the file its final name.
    pub fn commit(mut self) -> Result<()> {
        let what = || format!("cannot write {}", self.path.display());
        if let Some(w) = self.file.take() {
            let file = w.into_inner().map_err(|e| e.into_error()).with_context(what)?;
            if self.tmp.is_some() {
                file.sync_all().with_context(what)?;
            }
        }
        if let Some(tmp) = &self.tmp {
            std::fs::rename(tmp, &self.path).with_context(what)?;
            forget_pending(tmp);
        }
        self.committed = true;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("file already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let (false, Some(tmp)) = (self.committed, &self.tmp) {
            let _ = std::fs::remove_file(tmp);
            forget_pending(tmp);
        }
    }
}

/// Lists (`forwarded_for`) as the text a log writes them in (`a, b`): CSV
/// has no nested values.
pub fn flat_lists(batch: &RecordBatch) -> arrow::error::Result<RecordBatch> {
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::List(_)))
    {
        return Ok(batch.clone());
    }
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    let mut fields = Vec::with_capacity(batch.num_columns());
    for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
        if !matches!(col.data_type(), DataType::List(_)) {
            columns.push(col.clone());
            fields.push(field.clone());
            continue;
        }
        let list = col.as_list::<i32>();
        let text: StringArray = (0..list.len())
            .map(|i| {
                if list.is_null(i) {
                    return Ok(None);
                }
                let items = arrow::compute::cast(&list.value(i), &DataType::Utf8)?;
                let items = items.as_string::<i32>();
                Ok(Some(items.iter().flatten().collect::<Vec<_>>().join(", ")))
            })
            .collect::<arrow::error::Result<_>>()?;
        columns.push(Arc::new(text) as ArrayRef);
        fields.push(Arc::new(field.as_ref().clone().with_data_type(DataType::Utf8)));
    }
    let schema = Arc::new(arrow::datatypes::Schema::new(fields));
    RecordBatch::try_new_with_options(
        schema,
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
}

/// Text made safe for a terminal or a Markdown cell: control characters
/// (escape sequences from a log line, line breaks inside a value) are shown
/// as `?`, so a value cannot break the table or drive the terminal.
fn printable(batch: &RecordBatch) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    let mut fields = Vec::with_capacity(batch.num_columns());
    for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
        let texty = match col.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
            DataType::Dictionary(_, v) => {
                matches!(v.as_ref(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
            }
            _ => false,
        };
        if !texty {
            columns.push(col.clone());
            fields.push(field.clone());
            continue;
        }
        let text = arrow::compute::cast(col, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let cleaned: StringArray = text.iter().map(|v| v.map(crate::report::render::clean)).collect();
        columns.push(Arc::new(cleaned) as ArrayRef);
        fields.push(Arc::new(field.as_ref().clone().with_data_type(DataType::Utf8)));
    }
    let schema = Arc::new(arrow::datatypes::Schema::new(fields));
    Ok(RecordBatch::try_new_with_options(
        schema,
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )?)
}

/// Writes every batch of `stream` to `out` in `format`; returns the row count.
pub async fn write_stream(
    mut stream: SendableRecordBatchStream,
    format: OutputFormat,
    out: &mut (dyn Write + Send),
) -> Result<u64> {
    let schema = stream.schema();
    let mut rows = 0u64;
    match format {
        OutputFormat::Csv | OutputFormat::Tsv => {
            let delimiter = if format == OutputFormat::Tsv { b'\t' } else { b',' };
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .with_delimiter(delimiter)
                .build(out);
            let mut wrote = false;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                w.write(&flat_lists(&batch)?).context("cannot write CSV")?;
                wrote = true;
            }
            if !wrote {
                w.write(&flat_lists(&RecordBatch::new_empty(schema))?)
                    .context("cannot write CSV")?;
            }
            w.into_inner().flush()?;
        }
        OutputFormat::Json => {
            let mut w = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow::json::writer::JsonArray>(out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                w.write(&batch).context("cannot write JSON")?;
            }
            w.finish().context("cannot write JSON")?;
            let out = w.into_inner();
            out.write_all(b"\n")?;
            out.flush()?;
        }
        OutputFormat::Ndjson => {
            let mut w = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow::json::writer::LineDelimited>(out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                w.write(&batch).context("cannot write NDJSON")?;
            }
            w.finish().context("cannot write NDJSON")?;
            w.into_inner().flush()?;
        }
        OutputFormat::Parquet => {
            let props = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
                .build();
            let mut w = parquet::arrow::ArrowWriter::try_new(out, schema, Some(props))?;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                w.write(&batch).context("cannot write Parquet")?;
            }
            w.close().context("cannot write Parquet")?;
        }
        OutputFormat::Table | OutputFormat::Markdown => {
            let mut batches = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                batches.push(printable(&batch)?);
            }
            if format == OutputFormat::Table {
                let schema = match batches.first() {
                    Some(b) => b.schema(),
                    None => schema,
                };
                let table = arrow::util::pretty::pretty_format_batches_with_schema(schema, &batches)?;
                writeln!(out, "{table}")?;
            } else {
                write_markdown(out, &schema, &batches)?;
            }
            out.flush()?;
        }
    }
    Ok(rows)
}

fn write_markdown(out: &mut dyn Write, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let cell = |s: &str| crate::report::render::clean(s).replace('|', "\\|");
    let names: Vec<String> = schema.fields().iter().map(|f| cell(f.name())).collect();
    writeln!(out, "| {} |", names.join(" | "))?;
    writeln!(out, "|{}", names.iter().map(|_| "---|").collect::<String>())?;
    let options = FormatOptions::default().with_null("");
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = formatters.iter().map(|f| cell(&f.value(row).to_string())).collect();
            writeln!(out, "| {} |", cells.join(" | "))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int64Array, StringArray, TimestampMillisecondArray,
        UInt64Array,
    };
    use arrow::datatypes::{Field, Int32Type, Schema};
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    use proptest::prelude::*;

    use super::*;

    fn texts() -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop_oneof![
            Just(String::new()),
            "\\PC{0,20}",
            "[日本🙂\u{1b}\u{0}\n\r\t|,\"'<>\u{202e}]{0,20}",
            (1usize..3).prop_map(|k| "y".repeat(k * 5 * 1024)),
        ])
    }

    /// A batch of every column type the tables hold, with NULLs, NaN,
    /// infinities, negative and u64::MAX numbers, and hostile text.
    fn batch_strategy() -> impl Strategy<Value = RecordBatch> {
        (0usize..40)
            .prop_flat_map(|n| {
                (
                    prop::collection::vec(texts(), n),
                    prop::collection::vec(prop::option::of(any::<i64>()), n),
                    prop::collection::vec(
                        prop::option::of(prop_oneof![any::<u64>(), Just(u64::MAX), Just(0u64)]),
                        n,
                    ),
                    prop::collection::vec(
                        prop::option::of(prop_oneof![
                            any::<f64>(),
                            Just(f64::NAN),
                            Just(f64::INFINITY),
                            Just(f64::NEG_INFINITY)
                        ]),
                        n,
                    ),
                    prop::collection::vec(prop::option::of(-62_000_000_000_000i64..250_000_000_000_000), n),
                    prop::collection::vec(prop::option::of(any::<bool>()), n),
                    prop::collection::vec(
                        prop::option::of(prop_oneof![Just("HIT"), Just("MISS"), Just("\u{1b}[31m")]),
                        n,
                    ),
                )
            })
            .prop_map(|(t, i, u, f, ts, b, d)| {
                let dict: DictionaryArray<Int32Type> = d.into_iter().collect();
                let columns: Vec<ArrayRef> = vec![
                    Arc::new(StringArray::from(t)),
                    Arc::new(Int64Array::from(i)),
                    Arc::new(UInt64Array::from(u)),
                    Arc::new(Float64Array::from(f)),
                    Arc::new(TimestampMillisecondArray::from(ts).with_timezone("+09:00")),
                    Arc::new(BooleanArray::from(b)),
                    Arc::new(dict),
                ];
                let fields: Vec<Field> = ["text|col", "int", "uint", "float", "time", "flag", "cache"]
                    .iter()
                    .zip(&columns)
                    .map(|(name, c)| Field::new(*name, c.data_type().clone(), true))
                    .collect();
                RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
            })
    }

    fn write(batches: Vec<RecordBatch>, schema: SchemaRef, format: OutputFormat) -> (u64, Vec<u8>) {
        let stream = RecordBatchStreamAdapter::new(schema, futures::stream::iter(batches.into_iter().map(Ok)));
        let mut out: Vec<u8> = Vec::new();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let rows = rt.block_on(write_stream(Box::pin(stream), format, &mut out)).unwrap();
        (rows, out)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn every_format_writes_any_batch(batches in prop::collection::vec(batch_strategy(), 1..3)) {
            // Batches of no rows too: the first may be empty.
            let schema = batches[0].schema();
            let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
            for format in OutputFormat::NAMES.iter().map(|n| OutputFormat::from_name(n).unwrap()) {
                let (rows, out) = write(batches.clone(), schema.clone(), format);
                prop_assert_eq!(rows as usize, total);
                match format {
                    OutputFormat::Json => {
                        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
                        prop_assert_eq!(v.as_array().map(Vec::len), Some(total));
                    }
                    OutputFormat::Ndjson => {
                        let text = String::from_utf8(out).unwrap();
                        let lines: Vec<&str> = text.lines().collect();
                        prop_assert_eq!(lines.len(), total);
                        for l in lines {
                            serde_json::from_str::<serde_json::Value>(l).expect("valid JSON line");
                        }
                    }
                    OutputFormat::Table | OutputFormat::Markdown => {
                        let text = String::from_utf8(out).unwrap();
                        // No terminal escape or stray line from the data.
                        prop_assert!(!text.contains('\u{1b}'), "an escape from the data");
                        // One line per row plus the header (and, in
                        // Markdown, the rule under it).
                        let (lines, expected) = if format == OutputFormat::Table {
                            (text.lines().filter(|l| l.starts_with('|')).count(), total + 1)
                        } else {
                            (text.lines().count(), total + 2)
                        };
                        prop_assert_eq!(lines, expected, "{}", text);
                    }
                    OutputFormat::Parquet => {
                        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                            bytes::Bytes::from(out),
                        )
                        .unwrap()
                        .build()
                        .unwrap();
                        let back: usize = reader.map(|b| b.unwrap().num_rows()).sum();
                        prop_assert_eq!(back, total);
                    }
                    OutputFormat::Csv | OutputFormat::Tsv => {
                        let delimiter = if format == OutputFormat::Tsv { b'\t' } else { b',' };
                        let records = csv_rows(&out, delimiter);
                        prop_assert_eq!(records.len(), total + 1);
                        prop_assert!(records.iter().all(|&f| f == 7), "{:?}", records);
                    }
                }
            }
        }
    }

    /// Records of CSV text (quoted fields may hold line breaks).
    fn csv_rows(data: &[u8], delimiter: u8) -> Vec<usize> {
        let mut rows = Vec::new();
        let (mut quoted, mut fields) = (false, 1usize);
        for &c in data {
            match c {
                b'"' => quoted = !quoted,
                c if c == delimiter && !quoted => fields += 1,
                b'\n' if !quoted => {
                    rows.push(fields);
                    fields = 1;
                }
                _ => {}
            }
        }
        rows
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing_behind() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"half").unwrap();
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temporary file removed"
        );
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"whole").unwrap();
        assert!(!path.exists(), "not visible before the commit");
        f.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A failed run leaves the earlier file as it was.
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A folder is refused before anything is written; a device is written directly.
        let err = AtomicFile::create(dir.path()).err().unwrap().to_string();
        assert!(err.contains("is a folder"), "{err}");
        let mut null = AtomicFile::create(Path::new("/dev/null")).unwrap();
        null.write_all(b"gone").unwrap();
        null.commit().unwrap();
        assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    }
}
