//! The Sakura web-accelerator dialect as a table: native columns with real
//! types, the canonical columns every dialect shares, `_file` and `_line`.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, RecordBatch, RecordBatchOptions, StringArray, StringBuilder, StringDictionaryBuilder,
    TimestampMillisecondBuilder, UInt16Builder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef, TimeUnit};
use edgelog_parse::ParseError;
use edgelog_parse::request::split_request;
use edgelog_parse::sakura::{SAKURA_OFFSET_SECS, SakuraField as F, SakuraLine, Scratch, key_hour};
use edgelog_parse::time::HOUR_MS;

use super::{Dialect, LineDecoder};
use crate::config::TimeRange;
use crate::source::KeyTemplate;

/// The Sakura Cloud web-accelerator access-log upload.
#[derive(Debug, Clone, Copy)]
pub struct Sakura;

/// What a column is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Native(F),
    Host,
    ClientIp,
    Method,
    Path,
    Query,
    Protocol,
    Bytes,
    CacheStatus,
    RequestTime,
    File,
    Line,
}

/// Every column in schema order, with its meaning for `edgelog formats`.
const COLUMNS: &[(&str, Col, &str)] = &[
    (
        "time",
        Col::Native(F::Time),
        "request time (from `time`, `msec` if absent), timestamp shown in +09:00 or --tz",
    ),
    ("http_host", Col::Native(F::HttpHost), "Host header"),
    ("scheme", Col::Native(F::Scheme), "http or https"),
    ("remote_addr", Col::Native(F::RemoteAddr), "client IP address"),
    ("remote_port", Col::Native(F::RemotePort), "client port (UInt16)"),
    ("remote_user", Col::Native(F::RemoteUser), "basic-auth user"),
    ("request", Col::Native(F::Request), "request line, e.g. GET / HTTP/1.1"),
    ("status", Col::Native(F::Status), "response status (UInt16)"),
    (
        "bytes_sent",
        Col::Native(F::BytesSent),
        "bytes sent including headers (UInt64)",
    ),
    (
        "body_bytes_sent",
        Col::Native(F::BodyBytesSent),
        "body bytes sent (UInt64)",
    ),
    ("referer", Col::Native(F::Referer), "Referer header"),
    (
        "x_cache",
        Col::Native(F::XCache),
        "cache result: HIT, MISS, EXPIRED, ...",
    ),
    (
        "msec",
        Col::Native(F::Msec),
        "epoch seconds with milliseconds (Float64)",
    ),
    ("request_id", Col::Native(F::RequestId), "request id"),
    ("user_agent", Col::Native(F::UserAgent), "User-Agent header"),
    ("host", Col::Host, "canonical: http_host"),
    ("client_ip", Col::ClientIp, "canonical: remote_addr"),
    ("method", Col::Method, "canonical: method from request"),
    ("path", Col::Path, "canonical: path from request, before ?"),
    ("query", Col::Query, "canonical: query string from request, after ?"),
    (
        "protocol",
        Col::Protocol,
        "canonical: protocol from request, e.g. HTTP/1.1",
    ),
    ("bytes", Col::Bytes, "canonical: bytes_sent (UInt64)"),
    ("cache_status", Col::CacheStatus, "canonical: x_cache (dictionary)"),
    (
        "request_time",
        Col::RequestTime,
        "canonical: request duration in seconds; NULL (not logged by this service)",
    ),
    ("_file", Col::File, "object the row came from"),
    ("_line", Col::Line, "line number in that object (UInt64)"),
];

const fn docs() -> [(&'static str, &'static str); COLUMNS.len()] {
    let mut out = [("", ""); COLUMNS.len()];
    let mut i = 0;
    while i < COLUMNS.len() {
        out[i] = (COLUMNS[i].0, COLUMNS[i].2);
        i += 1;
    }
    out
}

static DOCS: [(&str, &str); COLUMNS.len()] = docs();

fn data_type(col: Col, tz: &str) -> DataType {
    match col {
        Col::Native(F::Time) => DataType::Timestamp(TimeUnit::Millisecond, Some(tz.into())),
        Col::Native(F::RemotePort | F::Status) => DataType::UInt16,
        Col::Native(F::BytesSent | F::BodyBytesSent) | Col::Bytes | Col::Line => DataType::UInt64,
        Col::Native(F::Msec) | Col::RequestTime => DataType::Float64,
        Col::CacheStatus => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        _ => DataType::Utf8,
    }
}

fn period_of(key: &str) -> Option<i64> {
    key_hour(key)
}

impl Dialect for Sakura {
    fn name(&self) -> &'static str {
        "sakura"
    }

    fn description(&self) -> String {
        "Sakura Cloud web accelerator: hourly gzipped JSON Lines, every value a string".into()
    }

    fn rank(&self) -> u32 {
        90
    }

    fn configure(&self, _sample: &[String]) -> Arc<dyn Dialect> {
        Arc::new(Sakura)
    }

    fn default_tz(&self) -> String {
        "+09:00".into()
    }

    fn template(&self) -> KeyTemplate {
        KeyTemplate {
            period_of,
            period_ms: HOUR_MS,
            folder_offset_secs: SAKURA_OFFSET_SECS,
            describe: "{prefix}/{host}/{YYYY}/{MM}/{DD}/access-{YYYYMMDD}T{HH}.log.gz",
            strict: true,
            date_folders: true,
        }
    }

    fn schema(&self, tz: &str) -> SchemaRef {
        let fields: Vec<Field> = COLUMNS
            .iter()
            .map(|(name, col, _)| Field::new(*name, data_type(*col, tz), !matches!(col, Col::File | Col::Line)))
            .collect();
        Arc::new(Schema::new(fields))
    }

    fn column_docs(&self) -> Vec<(String, String)> {
        DOCS.iter().map(|(n, d)| (n.to_string(), d.to_string())).collect()
    }

    fn decoder(&self, schema: &SchemaRef, projection: &[usize], rows: TimeRange) -> Box<dyn LineDecoder> {
        let tz: Option<Arc<str>> = match schema.field(0).data_type() {
            DataType::Timestamp(_, tz) => tz.clone(),
            _ => None,
        };
        let cols: Vec<Col> = projection.iter().map(|&i| COLUMNS[i].1).collect();
        let builders = cols.iter().map(|&c| Builder::new(c, tz.clone())).collect();
        let projected = Arc::new(schema.project(projection).unwrap_or_else(|_| Schema::empty()));
        Box::new(SakuraDecoder {
            need_request: cols
                .iter()
                .any(|c| matches!(c, Col::Method | Col::Path | Col::Query | Col::Protocol)),
            cols,
            builders,
            schema: projected,
            rows,
            scratch: Scratch::default(),
            len: 0,
        })
    }
}

enum Builder {
    Str(StringBuilder),
    U16(UInt16Builder),
    U64(UInt64Builder),
    F64(Float64Builder),
    Time(TimestampMillisecondBuilder),
    Dict(StringDictionaryBuilder<Int32Type>),
    /// `_file`: one value per batch, built at the end.
    File,
}

impl Builder {
    fn new(col: Col, tz: Option<Arc<str>>) -> Self {
        match data_type(col, "UTC") {
            // `finish` keeps the builder's zone, so one builder serves every batch.
            DataType::Timestamp(..) => Builder::Time(TimestampMillisecondBuilder::new().with_timezone_opt(tz)),
            DataType::UInt16 => Builder::U16(UInt16Builder::new()),
            DataType::UInt64 => Builder::U64(UInt64Builder::new()),
            DataType::Float64 => Builder::F64(Float64Builder::new()),
            DataType::Dictionary(..) => Builder::Dict(StringDictionaryBuilder::new()),
            _ if col == Col::File => Builder::File,
            _ => Builder::Str(StringBuilder::new()),
        }
    }

    fn finish(&mut self, len: usize, file: &str) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::U16(b) => Arc::new(b.finish()),
            Builder::U64(b) => Arc::new(b.finish()),
            Builder::F64(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::Dict(b) => Arc::new(b.finish()),
            Builder::File => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(file, len))),
        }
    }
}

struct SakuraDecoder {
    cols: Vec<Col>,
    builders: Vec<Builder>,
    schema: SchemaRef,
    rows: TimeRange,
    need_request: bool,
    scratch: Scratch,
    len: usize,
}

impl LineDecoder for SakuraDecoder {
    fn push_line(&mut self, line: &str, line_no: u64, unknown: &mut dyn FnMut(&str)) -> Result<(), ParseError> {
        let parsed = SakuraLine::parse(line, unknown)?;
        if parsed.has_no_known_key() {
            return Err(ParseError::Shape(
                "none of the Sakura keys (time, remote_addr, request, status, ...)".into(),
            ));
        }
        let rec = parsed.record(&mut self.scratch)?;
        if !self.rows.is_unbounded() && !rec.time_ms.is_some_and(|t| self.rows.contains(t)) {
            return Ok(());
        }
        let req = if self.need_request {
            rec.get(F::Request).map(split_request).unwrap_or_default()
        } else {
            Default::default()
        };
        for (col, b) in self.cols.iter().zip(self.builders.iter_mut()) {
            match (b, col) {
                (Builder::Time(b), _) => b.append_option(rec.time_ms),
                (Builder::U16(b), Col::Native(F::RemotePort)) => b.append_option(rec.remote_port),
                (Builder::U16(b), _) => b.append_option(rec.status),
                (Builder::U64(b), Col::Native(F::BodyBytesSent)) => b.append_option(rec.body_bytes_sent),
                (Builder::U64(b), Col::Line) => b.append_value(line_no),
                (Builder::U64(b), _) => b.append_option(rec.bytes_sent),
                (Builder::F64(b), Col::Native(F::Msec)) => b.append_option(rec.msec),
                (Builder::F64(b), _) => b.append_null(),
                (Builder::Dict(b), _) => b.append_option(rec.get(F::XCache)),
                (Builder::File, _) => {}
                (Builder::Str(b), col) => b.append_option(match col {
                    Col::Native(f) => rec.get(*f),
                    Col::Host => rec.get(F::HttpHost),
                    Col::ClientIp => rec.get(F::RemoteAddr),
                    Col::Method => req.method,
                    Col::Path => req.path,
                    Col::Query => req.query,
                    Col::Protocol => req.protocol,
                    _ => None,
                }),
            }
        }
        self.len += 1;
        Ok(())
    }

    fn len(&self) -> usize {
        self.len
    }

    fn finish_batch(&mut self, file: &str) -> datafusion::error::Result<RecordBatch> {
        let len = std::mem::take(&mut self.len);
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(|b| b.finish(len, file)).collect();
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(len)),
        )?)
    }
}
