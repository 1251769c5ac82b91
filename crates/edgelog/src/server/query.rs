//! `POST /api/query`'s answer: the status waits for the first rows (so a
//! query that fails early gets its proper status), then the rows stream in
//! the asked format, each batch encoded as it comes. The query stops when
//! its time is up, when it passes the row limit (the transfer then ends
//! incomplete, so a cut answer is never taken for a whole one), and when
//! the client goes away (the stream is dropped, and with it the scan).

use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::output::flat_lists;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::AppState;
use super::error::ApiError;
use crate::engine::{PreparedQuery, ScanHandle};
use crate::trace::{Span, SpanContext, SpanKind};

/// How the rows are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON array of objects (as `edgelog query -o json`).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// CSV with a header.
    Csv,
    /// The Arrow IPC stream format, for programs.
    Arrow,
    /// For the dashboard: columns, types and rows as arrays, with the scan
    /// and whether the row limit cut the answer (bounded by that limit).
    Table,
}

impl Format {
    /// The name in `?format=`.
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "json" => Format::Json,
            "ndjson" => Format::Ndjson,
            "csv" => Format::Csv,
            "arrow" => Format::Arrow,
            "table" => Format::Table,
            _ => return None,
        })
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Json | Format::Table => "application/json",
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Arrow => "application/vnd.apache.arrow.stream",
        }
    }
}

/// A `Write` whose bytes are taken after each batch.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn take(&self) -> Bytes {
        Bytes::from(std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner())))
    }
}

// One writer per answer: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Writer {
    Csv(arrow::csv::Writer<Buffer>, bool),
    Json(arrow::json::Writer<Buffer, arrow::json::writer::JsonArray>),
    Ndjson(arrow::json::Writer<Buffer, arrow::json::writer::LineDelimited>),
    Arrow(arrow::ipc::writer::StreamWriter<Buffer>),
}

/// Batches in, bytes out, in one format.
struct Encoder {
    buffer: Buffer,
    writer: Writer,
    schema: SchemaRef,
}

type Encoded = Result<Bytes, arrow::error::ArrowError>;

impl Encoder {
    fn new(format: Format, schema: SchemaRef) -> Result<Encoder, arrow::error::ArrowError> {
        let buffer = Buffer::default();
        let writer = match format {
            Format::Csv => Writer::Csv(
                arrow::csv::WriterBuilder::new().with_header(true).build(buffer.clone()),
                false,
            ),
            Format::Json | Format::Table => Writer::Json(
                arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, arrow::json::writer::JsonArray>(buffer.clone()),
            ),
            Format::Ndjson => Writer::Ndjson(
                arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, arrow::json::writer::LineDelimited>(buffer.clone()),
            ),
            Format::Arrow => Writer::Arrow(arrow::ipc::writer::StreamWriter::try_new(buffer.clone(), &schema)?),
        };
        Ok(Encoder { buffer, writer, schema })
    }

    fn encode(&mut self, batch: &RecordBatch) -> Encoded {
        match &mut self.writer {
            Writer::Csv(w, wrote) => {
                w.write(&flat_lists(batch)?)?;
                *wrote = true;
            }
            Writer::Json(w) => w.write(batch)?,
            Writer::Ndjson(w) => w.write(batch)?,
            Writer::Arrow(w) => w.write(batch)?,
        }
        Ok(self.buffer.take())
    }

    fn finish(&mut self) -> Encoded {
        match &mut self.writer {
            // An empty answer still has its header.
            Writer::Csv(w, wrote) if !*wrote => w.write(&flat_lists(&RecordBatch::new_empty(self.schema.clone()))?)?,
            Writer::Csv(..) => {}
            Writer::Json(w) => {
                w.finish()?;
                self.buffer.write_all(b"\n").ok();
            }
            Writer::Ndjson(w) => w.finish()?,
            Writer::Arrow(w) => w.finish()?,
        }
        Ok(self.buffer.take())
    }
}

/// What a running query holds until it ends, however it ends: its turn,
/// the running count, the trace span; at the end the scan's figures go to
/// the counters, and an end before the last row counts as cancelled.
struct Run {
    state: Arc<AppState>,
    _turn: OwnedSemaphorePermit,
    span: Option<Span>,
    scan: Option<ScanHandle>,
    finished: bool,
}

impl Drop for Run {
    fn drop(&mut self) {
        let m = &self.state.metrics;
        let mut span = self.span.take();
        if !self.finished {
            // Counted before `running` falls, so a watcher of both never sees it stopped but not cancelled.
            m.cancelled.fetch_add(1, Ordering::SeqCst);
            if let Some(s) = &mut span {
                s.fail("stopped before its end (timeout, row limit or the client went away)");
            }
        }
        if let Some(scan) = &self.scan {
            let bytes = scan.stats().progress().bytes_done;
            let totals = scan.totals();
            m.bytes_scanned.fetch_add(bytes, Ordering::Relaxed);
            m.objects_scanned.fetch_add(totals.objects, Ordering::Relaxed);
            m.rows_scanned.fetch_add(totals.rows, Ordering::Relaxed);
            m.malformed_lines.fetch_add(totals.malformed, Ordering::Relaxed);
            if let Some(s) = &mut span {
                s.set("edgelog.bytes", bytes);
                s.set("edgelog.objects", totals.objects);
                s.set("edgelog.rows", totals.rows);
                s.set("edgelog.malformed_lines", totals.malformed);
            }
        }
        m.running.fetch_sub(1, Ordering::SeqCst);
        if let Some(s) = span {
            s.end();
        }
    }
}

fn timeout(state: &AppState) -> ApiError {
    state.metrics.error("timeout");
    ApiError::timeout(format!(
        "the query took longer than {} s and was stopped",
        state.config.limits.query_time.as_secs()
    ))
}

/// Runs `prepared` and answers it in `format`, at most `max_rows` rows,
/// before `deadline`.
pub async fn answer(
    state: Arc<AppState>,
    prepared: PreparedQuery,
    format: Format,
    max_rows: usize,
    deadline: Instant,
    turn: OwnedSemaphorePermit,
    trace: SpanContext,
) -> Result<Response, ApiError> {
    let prepared = prepared.limit(max_rows + 1).map_err(|e| ApiError::engine(&e))?;
    let started = std::time::Instant::now();
    state.metrics.running.fetch_add(1, Ordering::SeqCst);
    let mut run = Run {
        state: state.clone(),
        _turn: turn,
        span: Some(Span::start("scan", SpanKind::Internal, Some(trace))),
        scan: None,
        finished: false,
    };
    let started_run = match tokio::time::timeout_at(deadline, prepared.run()).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            run.finished = true;
            return Err(ApiError::engine(&e));
        }
        Err(_) => return Err(timeout(&state)),
    };
    state.metrics.scan("query");
    run.scan = Some(started_run.scan.clone());
    let mut stream = started_run.stream;
    let schema = stream.schema();
    let df_error = |e: datafusion::error::DataFusionError| ApiError::engine(&e.into());
    let first = match tokio::time::timeout_at(deadline, stream.next()).await {
        Ok(Some(Ok(b))) => Some(b),
        Ok(None) => None,
        Ok(Some(Err(e))) => {
            run.finished = true;
            return Err(df_error(e));
        }
        Err(_) => return Err(timeout(&state)),
    };
    let mut response = if format == Format::Table {
        let mut batches: Vec<RecordBatch> = first.into_iter().collect();
        loop {
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(Ok(b))) => batches.push(b),
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    run.finished = true;
                    return Err(df_error(e));
                }
                Err(_) => return Err(timeout(&state)),
            }
        }
        run.finished = true;
        let body = table(&schema, &batches, max_rows, &run, started.elapsed()).map_err(|e| df_error(e.into()))?;
        body.into_response()
    } else {
        let encoder = Encoder::new(format, schema).map_err(|e| df_error(e.into()))?;
        let chunks = futures::stream::unfold(
            (stream, encoder, first, run, 0usize, false),
            move |(mut stream, mut encoder, mut first, mut run, mut rows, done)| async move {
                if done {
                    return None;
                }
                if rows > max_rows {
                    // The rows that fit went out; the transfer now ends incomplete.
                    let e = std::io::Error::other("more rows than the server's row limit");
                    return Some((Err(e), (stream, encoder, None, run, rows, true)));
                }
                let next = match first.take() {
                    Some(b) => Some(Ok(b)),
                    None => match tokio::time::timeout_at(deadline, stream.next()).await {
                        Ok(n) => n,
                        Err(_) => {
                            let e = std::io::Error::other("the query's time is up: the answer is cut off");
                            return Some((Err(e), (stream, encoder, None, run, rows, true)));
                        }
                    },
                };
                match next {
                    None => {
                        run.finished = true;
                        let out = encoder.finish().map_err(std::io::Error::other);
                        Some((out, (stream, encoder, None, run, rows, true)))
                    }
                    Some(Err(e)) => {
                        let e = std::io::Error::other(crate::engine::datafusion_message(&e));
                        Some((Err(e), (stream, encoder, None, run, rows, true)))
                    }
                    Some(Ok(batch)) => {
                        let left = max_rows - rows;
                        if batch.num_rows() > left {
                            // More rows than the limit: what fits, then the cut.
                            let part = encoder.encode(&batch.slice(0, left)).map_err(std::io::Error::other);
                            return Some(match part {
                                Ok(bytes) if !bytes.is_empty() => {
                                    (Ok(bytes), (stream, encoder, None, run, max_rows + 1, false))
                                }
                                _ => (
                                    Err(std::io::Error::other("more rows than the server's row limit")),
                                    (stream, encoder, None, run, rows, true),
                                ),
                            });
                        }
                        rows += batch.num_rows();
                        let out = encoder.encode(&batch).map_err(std::io::Error::other);
                        let failed = out.is_err();
                        Some((out, (stream, encoder, None, run, rows, failed)))
                    }
                }
            },
        );
        Response::new(Body::from_stream(chunks))
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&max_rows.to_string()) {
        h.insert("x-edgelog-row-limit", v);
    }
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

/// The dashboard's answer: column names and types, rows as arrays.
fn table(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    max_rows: usize,
    run: &Run,
    took: std::time::Duration,
) -> Result<Response, arrow::error::ArrowError> {
    let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let types: Vec<String> = schema.fields().iter().map(|f| f.data_type().to_string()).collect();
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut rows: Vec<serde_json::Value> = Vec::with_capacity(total.min(max_rows));
    let mut encoder = Encoder::new(Format::Ndjson, schema.clone())?;
    'batches: for batch in batches {
        let text = encoder.encode(batch)?;
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            if rows.len() == max_rows {
                break 'batches;
            }
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(line).map_err(|e| arrow::error::ArrowError::JsonError(e.to_string()))?;
            rows.push(serde_json::Value::Array(
                columns
                    .iter()
                    .map(|c| object.get(c).cloned().unwrap_or(serde_json::Value::Null))
                    .collect(),
            ));
        }
    }
    let scan = run.scan.as_ref().map(|s| (s.totals(), s.stats().progress().bytes_done));
    let body = serde_json::json!({
        "columns": columns,
        "types": types,
        "rows": rows,
        "truncated": total > max_rows,
        "row_limit": max_rows,
        "scan": scan.map(|(t, bytes)| serde_json::json!({
            "rows": t.rows, "objects": t.objects, "bytes": bytes, "malformed_lines": t.malformed,
        })),
        "elapsed_ms": took.as_millis() as u64,
    });
    Ok(body.to_string().into_response())
}

/// A body stream that counts the bytes it passes and says how many when it
/// is dropped (ended, or abandoned by a client that went away).
pub struct Counted<S, F: FnOnce(u64)> {
    inner: S,
    bytes: u64,
    done: Option<F>,
}

impl<S, F: FnOnce(u64)> Counted<S, F> {
    /// Counts `inner`; `done` gets the total.
    pub fn new(inner: S, done: F) -> Self {
        Counted {
            inner,
            bytes: 0,
            done: Some(done),
        }
    }
}

impl<S, E, F> Stream for Counted<S, F>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    F: FnOnce(u64) + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(b))) = &polled {
            self.bytes += b.len() as u64;
        }
        polled
    }
}

impl<S, F: FnOnce(u64)> Drop for Counted<S, F> {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            done(self.bytes);
        }
    }
}
