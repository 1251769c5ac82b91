//! The one place that writes results: table, csv, tsv, json, ndjson,
//! markdown, parquet. Streaming formats write batch by batch; the table and
//! markdown renderers need every row to size their columns.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
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
        self.0.write(buf).inspect_err(note_broken_pipe)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().inspect_err(note_broken_pipe)
    }
}

fn note_broken_pipe(e: &io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        BROKEN_PIPE.store(true, Ordering::Relaxed);
    }
}

/// Writes every batch of `stream` to `out` in `format`; returns the row count.
pub async fn write_stream(
    mut stream: SendableRecordBatchStream,
    format: OutputFormat,
    out: Box<dyn Write + Send>,
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
                w.write(&batch).context("cannot write CSV")?;
                wrote = true;
            }
            if !wrote {
                w.write(&RecordBatch::new_empty(schema)).context("cannot write CSV")?;
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
            let mut out = w.into_inner();
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
                batches.push(batch);
            }
            let mut out = out;
            if format == OutputFormat::Table {
                let table = arrow::util::pretty::pretty_format_batches_with_schema(schema, &batches)?;
                writeln!(out, "{table}")?;
            } else {
                write_markdown(&mut out, &schema, &batches)?;
            }
            out.flush()?;
        }
    }
    Ok(rows)
}

fn write_markdown(out: &mut dyn Write, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
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
