//! The Sakura web-accelerator dialect as a table: native columns with real
//! types, the canonical columns every dialect shares, `_file` and `_line`.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use edgelog_parse::ParseError;
use edgelog_parse::request::split_request;
use edgelog_parse::sakura::{SAKURA_OFFSET_SECS, SakuraField as F, SakuraParser, Scratch, key_hour};
use edgelog_parse::time::HOUR_MS;

use super::generic::{Builder, Ty, finish_batch};
use super::spec::Sampled;
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

/// The column type of `col`, as the shared builders name it.
fn ty(col: Col) -> Ty {
    match data_type(col, "UTC") {
        DataType::Timestamp(..) => Ty::Time,
        DataType::UInt16 => Ty::U16,
        DataType::UInt64 => Ty::U64,
        DataType::Float64 => Ty::F64,
        DataType::Dictionary(..) => Ty::Dict,
        _ => Ty::Str,
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

    fn with_sampled(&self, _sampled: &Sampled) -> Arc<dyn Dialect> {
        Arc::new(Sakura)
    }

    fn knows_key(&self, key: &str) -> Option<bool> {
        Some(F::from_key(key).is_some())
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
        let builders = cols
            .iter()
            .map(|&c| Builder::of_type(ty(c), tz.clone(), c == Col::File))
            .collect();
        let projected = Arc::new(schema.project(projection).unwrap_or_else(|_| Schema::empty()));
        Box::new(SakuraDecoder {
            need_request: cols
                .iter()
                .any(|c| matches!(c, Col::Method | Col::Path | Col::Query | Col::Protocol)),
            cols,
            builders,
            schema: projected,
            rows,
            parser: SakuraParser::default(),
            scratch: Scratch::default(),
            len: 0,
        })
    }
}

struct SakuraDecoder {
    cols: Vec<Col>,
    builders: Vec<Builder>,
    schema: SchemaRef,
    rows: TimeRange,
    need_request: bool,
    parser: SakuraParser,
    scratch: Scratch,
    len: usize,
}

impl LineDecoder for SakuraDecoder {
    fn push_line(&mut self, line: &str, line_no: u64, unknown: &mut dyn FnMut(&str)) -> Result<(), ParseError> {
        let parsed = self.parser.parse(line, unknown)?;
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
                (Builder::File | Builder::I64(_) | Builder::Bool(_) | Builder::List(_), _) => {}
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
        finish_batch(&mut self.builders, &self.schema, len, file)
    }
}
