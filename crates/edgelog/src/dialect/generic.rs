//! The shared half of every dialect but Sakura: a [`TextRules`] says what
//! its native columns are and parses a line into typed values plus the
//! canonical columns; [`TextDialect`] turns that into a table (schema,
//! projection, Arrow builders, time filter). A new dialect is one
//! [`TextRules`] and one entry in the registry (`registry()` in `dialect/mod.rs`).

use std::borrow::Cow;
use std::fmt::Debug;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, RecordBatch, RecordBatchOptions, StringArray,
    StringBuilder, StringDictionaryBuilder, TimestampMillisecondBuilder, UInt16Builder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use edgelog_parse::ParseError;
use edgelog_parse::request::split_request;
use edgelog_parse::text::{epoch_int_ms, parse_clf_time, parse_epoch_auto};
use edgelog_parse::time::parse_iso8601;

use super::canonical::{CANONICAL, CanonicalColumn, is_canonical};
use super::spec::Sampled;
use super::{Dialect, LineDecoder};
use crate::config::TimeRange;
use crate::source::KeyTemplate;

pub use super::canonical::Ty;

/// One native column.
#[derive(Debug, Clone)]
pub struct NativeCol {
    /// Its SQL name.
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// What it holds, for `edgelog formats`.
    pub doc: String,
}

impl NativeCol {
    /// A column.
    pub fn new(name: impl Into<String>, ty: Ty, doc: impl Into<String>) -> Self {
        NativeCol {
            name: name.into(),
            ty,
            doc: doc.into(),
        }
    }
}

/// One parsed value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Val<'a> {
    /// Absent, `-` or empty.
    #[default]
    Null,
    /// Text.
    Str(Cow<'a, str>),
    /// A non-negative integer.
    U64(u64),
    /// An integer.
    I64(i64),
    /// A number.
    F64(f64),
    /// Epoch milliseconds.
    Time(i64),
    /// A flag.
    Bool(bool),
}

/// Whether a text value means "nothing": empty or `-`.
pub fn is_blank(text: &str) -> bool {
    text.is_empty() || text == "-"
}

/// Parses a timestamp written any of the ways logs write them: ISO 8601 /
/// RFC 3339 (zone-less read as UTC), CLF `17/May/2015:08:05:32 +0000`, or
/// epoch seconds to nanoseconds.
pub fn parse_any_time(text: &str) -> Option<i64> {
    parse_iso8601(text, 0)
        .or_else(|| parse_clf_time(text))
        .or_else(|| parse_epoch_auto(text))
}

impl<'a> Val<'a> {
    /// Types `text` as `ty`; blank text is NULL, anything else that does
    /// not fit is an error naming `col`.
    pub fn parse(ty: Ty, text: Cow<'a, str>, col: &str) -> Result<Self, ParseError> {
        if is_blank(&text) {
            return Ok(Val::Null);
        }
        let t = text.as_ref();
        let bad = || ParseError::bad_column(col, t, ty.expected());
        Ok(match ty {
            Ty::Str | Ty::Dict | Ty::List => Val::Str(text),
            Ty::U16 => Val::U64(u64::from(t.parse::<u16>().map_err(|_| bad())?)),
            Ty::U64 => Val::U64(t.parse::<u64>().map_err(|_| bad())?),
            Ty::I64 => Val::I64(t.parse::<i64>().map_err(|_| bad())?),
            Ty::F64 => {
                let v: f64 = t.parse().map_err(|_| bad())?;
                if !v.is_finite() {
                    return Err(bad());
                }
                Val::F64(v)
            }
            Ty::Time => Val::Time(parse_any_time(t).ok_or_else(bad)?),
            Ty::Bool => match t {
                "true" | "TRUE" | "True" | "1" | "yes" | "Yes" => Val::Bool(true),
                "false" | "FALSE" | "False" | "0" | "no" | "No" => Val::Bool(false),
                _ => return Err(bad()),
            },
        })
    }

    /// Types a JSON value as `ty`: numbers may be written as strings and
    /// strings as numbers; nested values become their JSON text.
    pub fn from_json(ty: Ty, v: &serde_json::Value, col: &str) -> Result<Val<'static>, ParseError> {
        use serde_json::Value as J;
        match v {
            J::Null => Ok(Val::Null),
            J::String(s) => Val::parse(ty, Cow::Owned(s.clone()), col),
            J::Bool(b) => match ty {
                Ty::Bool => Ok(Val::Bool(*b)),
                Ty::Str | Ty::Dict | Ty::List => Ok(Val::Str(Cow::Owned(b.to_string()))),
                _ => Err(ParseError::bad_column(col, &b.to_string(), ty.expected())),
            },
            J::Number(n) => {
                let bad = || ParseError::bad_column(col, &n.to_string(), ty.expected());
                Ok(match ty {
                    Ty::Str | Ty::Dict | Ty::List => Val::Str(Cow::Owned(n.to_string())),
                    Ty::U16 => Val::U64(u64::from(
                        n.as_u64().and_then(|v| u16::try_from(v).ok()).ok_or_else(bad)?,
                    )),
                    Ty::U64 => Val::U64(n.as_u64().ok_or_else(bad)?),
                    Ty::I64 => Val::I64(n.as_i64().ok_or_else(bad)?),
                    Ty::F64 => Val::F64(n.as_f64().ok_or_else(bad)?),
                    Ty::Time => match (n.as_i64(), n.as_f64()) {
                        (Some(i), _) => Val::Time(epoch_int_ms(i)),
                        // A fraction: seconds (`1646861401.524`, Caddy's `ts`)
                        // or a larger unit written with `.0`, told by magnitude.
                        (None, Some(f)) if f.is_finite() => {
                            let ms = match f.abs() {
                                a if a < 1e11 => f * 1e3,
                                a if a < 1e14 => f,
                                a if a < 1e17 => f / 1e3,
                                _ => f / 1e6,
                            };
                            // Years 0 to 9999, as the text forms allow: a
                            // wild number is a bad value, not a time.
                            if !(0.0..253_402_300_800_000.0).contains(&ms) {
                                return Err(bad());
                            }
                            Val::Time(ms.round() as i64)
                        }
                        _ => Val::Time(parse_epoch_auto(&n.to_string()).ok_or_else(bad)?),
                    },
                    Ty::Bool => match n.as_u64() {
                        Some(0) => Val::Bool(false),
                        Some(1) => Val::Bool(true),
                        _ => return Err(bad()),
                    },
                })
            }
            J::Array(a) if a.is_empty() => Ok(Val::Null),
            // A list of texts (headers logged as arrays): joined as the line would write it.
            J::Array(a) if ty == Ty::List && a.iter().all(J::is_string) => Ok(Val::Str(Cow::Owned(
                a.iter().filter_map(J::as_str).collect::<Vec<_>>().join(", "),
            ))),
            J::Array(_) | J::Object(_) => match ty {
                Ty::Str | Ty::Dict => Ok(Val::Str(Cow::Owned(v.to_string()))),
                _ => Err(ParseError::bad_column(col, &v.to_string(), ty.expected())),
            },
        }
    }

    /// The text, if it is text.
    pub fn text(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text as an owned-or-borrowed value.
    pub fn cow(&self) -> Option<Cow<'a, str>> {
        match self {
            Val::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// The value as an unsigned integer.
    pub fn u64(&self) -> Option<u64> {
        match *self {
            Val::U64(v) => Some(v),
            Val::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a number.
    pub fn f64(&self) -> Option<f64> {
        match *self {
            Val::U64(v) => Some(v as f64),
            Val::I64(v) => Some(v as f64),
            Val::F64(v) => Some(v),
            _ => None,
        }
    }

    /// The value as epoch milliseconds.
    pub fn time(&self) -> Option<i64> {
        match *self {
            Val::Time(v) => Some(v),
            _ => None,
        }
    }
}

/// The canonical columns every dialect fills (DESIGN.md, "Schema").
#[derive(Debug, Default, Clone)]
pub struct Canon<'a> {
    /// Request time, epoch ms.
    pub time: Option<i64>,
    /// Host the request was for.
    pub host: Option<Cow<'a, str>>,
    /// Client address.
    pub client_ip: Option<Cow<'a, str>>,
    /// `GET`, ...
    pub method: Option<Cow<'a, str>>,
    /// Path before `?`.
    pub path: Option<Cow<'a, str>>,
    /// Query after `?`.
    pub query: Option<Cow<'a, str>>,
    /// `HTTP/1.1`, ...
    pub protocol: Option<Cow<'a, str>>,
    /// Response status.
    pub status: Option<u16>,
    /// Bytes sent to the client.
    pub bytes: Option<u64>,
    /// Cache result as the service writes it.
    pub cache_status: Option<Cow<'a, str>>,
    /// Referer, NULL when empty.
    pub referer: Option<Cow<'a, str>>,
    /// User agent, NULL when empty.
    pub user_agent: Option<Cow<'a, str>>,
    /// Duration in seconds.
    pub request_time: Option<f64>,
}

impl<'a> Canon<'a> {
    /// Fills method, path, query and protocol from a request line.
    pub fn request_line(&mut self, line: &'a str) {
        let r = split_request(line);
        self.method = r.method.map(Cow::Borrowed);
        self.path = r.path.map(Cow::Borrowed);
        self.query = r.query.map(Cow::Borrowed);
        self.protocol = r.protocol.map(Cow::Borrowed);
        self.absolute_form();
    }

    /// Like [`Canon::request_line`] for an owned line (after unescaping).
    pub fn request_line_owned(&mut self, line: &str) {
        let r = split_request(line);
        let own = |s: Option<&str>| s.map(|s| Cow::Owned(s.to_string()));
        self.method = own(r.method);
        self.path = own(r.path);
        self.query = own(r.query);
        self.protocol = own(r.protocol);
        self.absolute_form();
    }

    /// A request target in absolute form (`GET http://host/path`: proxies,
    /// varnishncsa, HTTP/2 through HAProxy) gives the host (unless one is
    /// set) and the path.
    fn absolute_form(&mut self) {
        let Some(p) = self.path.take() else { return };
        if p.starts_with("http://") || p.starts_with("https://") {
            let url = match self.query.take() {
                Some(q) => format!("{p}?{q}"),
                None => p.to_string(),
            };
            self.url(&url);
        } else {
            self.path = Some(p);
        }
    }

    /// Fills host, path and query from a URL or a path with a query; a host
    /// already set is kept.
    pub fn url(&mut self, url: &str) {
        let rest = match url.split_once("://") {
            Some((_, rest)) => {
                let (authority, tail) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
                if self.host.is_none() && !authority.is_empty() {
                    self.host = Some(Cow::Owned(strip_port(authority).to_string()));
                }
                tail
            }
            None => url,
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        self.path = Some(Cow::Owned(path.to_string()));
        self.query = query.filter(|q| !q.is_empty()).map(|q| Cow::Owned(q.to_string()));
    }
}

/// The items of a comma-separated list as logs write them
/// (`10.0.0.2, 10.0.0.1`): trimmed, blanks and `-` left out.
pub fn list_items(text: &str) -> impl Iterator<Item = &str> {
    // A quoted list (`"10.5.102.222, 199.96.1.1"` in an address field)
    // leaves its quotes on the first and last items.
    text.split(',')
        .map(|s| s.trim().trim_matches('"').trim())
        .filter(|s| !is_blank(s))
}

/// The first address of an address field that holds an `X-Forwarded-For`
/// list (`10.0.0.2, 10.0.0.1, 127.0.0.1`): the original client, as proxies
/// append. A field with one address is itself.
pub fn first_address(text: &str) -> &str {
    // Nearly every address field is one address: one byte scan.
    if !text.bytes().any(|b| matches!(b, b',' | b' ' | b'\t')) {
        return text;
    }
    let first = if text.contains(',') {
        list_items(text).next().unwrap_or(text)
    } else {
        text
    };
    // `example.com 10.0.0.2`: a virtual host written before the address
    // (a `$host $remote_addr ...` format read as combined).
    first.rsplit([' ', '\t']).next().unwrap_or(first)
}

/// The word before the address in an address field (`example.com
/// 10.0.0.2, ...`) when it looks like a host name: the virtual host.
pub fn leading_host(text: &str) -> Option<&str> {
    let (word, rest) = text.trim_start().split_once([' ', '\t'])?;
    let host = strip_port(word.trim_matches('"'));
    let plausible = !rest.trim().is_empty()
        && !host.contains(',')
        && (host.contains('.') || host == "localhost")
        && host.bytes().any(|b| b.is_ascii_alphabetic())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    plausible.then_some(host)
}

/// `host:port` or `[v6]:port` without the port.
pub fn strip_port(authority: &str) -> &str {
    let a = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match a.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|c| c.is_ascii_digit()) => h,
        _ => a,
    }
}

/// Parses the lines of one object.
pub trait RowParser: Send {
    /// Parses one line into `vals` (one slot per native column, all NULL on
    /// entry) and `canon`. `Ok(false)`: the line is not a row (a header or
    /// directive). Names of fields the dialect does not know go to `unknown`.
    fn parse<'a>(
        &mut self,
        line: &'a str,
        vals: &mut [Val<'a>],
        canon: &mut Canon<'a>,
        unknown: &mut dyn FnMut(&str),
    ) -> Result<bool, ParseError>;

    /// Lines read so far in a shorter form of the dialect (a common line in
    /// a combined file), their missing columns NULL.
    fn partial_rows(&self) -> usize {
        0
    }
}

/// The rules of a text dialect: its native columns and a line parser
/// ([`TextDialect`] makes a table dialect of them).
pub trait TextRules: Debug + Send + Sync {
    /// Name on the command line.
    fn name(&self) -> &'static str;
    /// One line saying what writes it (and how this instance was set up).
    fn description(&self) -> String;
    /// Zone times are shown in by default.
    fn default_tz(&self) -> String {
        "UTC".into()
    }
    /// How its objects are named.
    fn template(&self) -> KeyTemplate {
        KeyTemplate::any("any name")
    }
    /// Native columns. Those named like a canonical column are not shown
    /// separately: the canonical one is the same value.
    fn columns(&self) -> &[NativeCol];
    /// A parser for one object (state such as W3C `#Fields` lives in it).
    fn parser(&self) -> Box<dyn RowParser>;
    /// How specific it is: among dialects that read a sample equally well,
    /// the higher rank wins; equal ranks are an ambiguity.
    fn rank(&self) -> u32;
    /// What a sample says about this dialect's set-up (W3C `#Fields`,
    /// JSON keys and their types, the zone times are written in).
    fn sampled(&self, _sample: &[String]) -> Sampled {
        Sampled::default()
    }
    /// This dialect set up as `sampled` says; `None` when nothing changes.
    fn with_sampled(&self, _sampled: &Sampled) -> Option<Arc<dyn TextRules>> {
        None
    }
    /// Whether `sampled` looks at the sample.
    fn needs_sample(&self) -> bool {
        false
    }
    /// See [`Dialect::knows_key`].
    fn knows_key(&self, _key: &str) -> Option<bool> {
        None
    }
}

/// A [`TextRules`] as a table dialect.
#[derive(Debug, Clone)]
pub struct TextDialect(pub Arc<dyn TextRules>);

#[derive(Debug, Clone, Copy)]
enum Src {
    Native(usize),
    /// `forwarded_for`: the list in this native `X-Forwarded-For` column.
    Forwarded(usize),
    Canon(usize),
    File,
    Line,
}

/// The column that lists the addresses of a dialect's `X-Forwarded-For` field.
pub const FORWARDED_FOR: &str = "forwarded_for";

/// Native columns that hold an `X-Forwarded-For` header as written.
const XFF_COLUMNS: &[&str] = &[
    "http_x_forwarded_for",
    "x_forwarded_for",
    "x-forwarded-for",
    "req_x_forwarded_for",
    "request_X-Forwarded-For",
];

impl TextDialect {
    fn layout(&self) -> Vec<(String, Ty, String, Src)> {
        let mut out: Vec<_> = self
            .0
            .columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| !is_canonical(&c.name) && !c.name.starts_with('_'))
            .map(|(i, c)| (c.name.clone(), c.ty, c.doc.clone(), Src::Native(i)))
            .collect();
        let cols = self.0.columns();
        if !cols.iter().any(|c| c.name == FORWARDED_FOR)
            && let Some((i, c)) = cols
                .iter()
                .enumerate()
                .find(|(_, c)| XFF_COLUMNS.contains(&c.name.as_str()))
        {
            out.push((
                FORWARDED_FOR.to_string(),
                Ty::List,
                format!("the addresses of X-Forwarded-For ({}), original client first", c.name),
                Src::Forwarded(i),
            ));
        }
        for (k, &CanonicalColumn { name, ty, doc, .. }) in CANONICAL.iter().enumerate() {
            let from = self.0.columns().iter().find(|c| c.name == *name);
            let doc = match from {
                Some(c) => format!("{doc} ({})", c.doc),
                None => doc.to_string(),
            };
            out.push((name.to_string(), ty, doc, Src::Canon(k)));
        }
        out.push(("_file".into(), Ty::Str, "object the row came from".into(), Src::File));
        out.push(("_line".into(), Ty::U64, "line number in that object".into(), Src::Line));
        out
    }
}

impl Dialect for TextDialect {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn description(&self) -> String {
        self.0.description()
    }

    fn default_tz(&self) -> String {
        self.0.default_tz()
    }

    fn template(&self) -> KeyTemplate {
        self.0.template()
    }

    fn schema(&self, tz: &str) -> SchemaRef {
        let fields: Vec<Field> = self
            .layout()
            .into_iter()
            .map(|(name, ty, _, src)| Field::new(name, ty.data_type(tz), !matches!(src, Src::File | Src::Line)))
            .collect();
        Arc::new(Schema::new(fields))
    }

    fn column_docs(&self) -> Vec<(String, String)> {
        self.layout().into_iter().map(|(n, _, d, _)| (n, d)).collect()
    }

    fn rank(&self) -> u32 {
        self.0.rank()
    }

    fn needs_sample(&self) -> bool {
        self.0.needs_sample()
    }

    fn knows_key(&self, key: &str) -> Option<bool> {
        self.0.knows_key(key)
    }

    fn sampled(&self, sample: &[String]) -> Sampled {
        self.0.sampled(sample)
    }

    fn with_sampled(&self, sampled: &Sampled) -> Arc<dyn Dialect> {
        match self.0.with_sampled(sampled) {
            Some(f) => Arc::new(TextDialect(f)),
            None => Arc::new(self.clone()),
        }
    }

    fn decoder(&self, schema: &SchemaRef, projection: &[usize], rows: TimeRange) -> Box<dyn LineDecoder> {
        let tz: Option<Arc<str>> = schema.fields().iter().find_map(|f| match f.data_type() {
            DataType::Timestamp(_, tz) => tz.clone(),
            _ => None,
        });
        let layout = self.layout();
        let cols: Vec<(Src, Ty)> = projection.iter().map(|&i| (layout[i].3, layout[i].1)).collect();
        let builders = cols
            .iter()
            .map(|&(src, ty)| Builder::new(src, ty, tz.clone()))
            .collect();
        Box::new(TextDecoder {
            parser: self.0.parser(),
            natives: self.0.columns().len(),
            cols,
            builders,
            schema: Arc::new(schema.project(projection).unwrap_or_else(|_| Schema::empty())),
            rows,
            len: 0,
        })
    }
}

/// One column's Arrow builder (shared with the Sakura decoder).
pub(super) enum Builder {
    Str(StringBuilder),
    Dict(StringDictionaryBuilder<Int32Type>),
    U16(UInt16Builder),
    U64(UInt64Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    Time(TimestampMillisecondBuilder),
    Bool(BooleanBuilder),
    List(ListBuilder<StringBuilder>),
    File,
}

impl Builder {
    fn new(src: Src, ty: Ty, tz: Option<Arc<str>>) -> Self {
        Self::of_type(ty, tz, matches!(src, Src::File))
    }

    /// A builder for a column of `ty` (times in `tz`); `_file` is built at
    /// the end of each batch instead.
    pub(super) fn of_type(ty: Ty, tz: Option<Arc<str>>, file: bool) -> Self {
        if file {
            return Builder::File;
        }
        match ty {
            Ty::Str => Builder::Str(StringBuilder::new()),
            Ty::Dict => Builder::Dict(StringDictionaryBuilder::new()),
            Ty::U16 => Builder::U16(UInt16Builder::new()),
            Ty::U64 => Builder::U64(UInt64Builder::new()),
            Ty::I64 => Builder::I64(Int64Builder::new()),
            Ty::F64 => Builder::F64(Float64Builder::new()),
            Ty::Time => Builder::Time(TimestampMillisecondBuilder::new().with_timezone_opt(tz)),
            Ty::Bool => Builder::Bool(BooleanBuilder::new()),
            Ty::List => Builder::List(ListBuilder::new(StringBuilder::new())),
        }
    }

    fn append(&mut self, v: &Val<'_>) {
        match self {
            Builder::Str(b) => match v {
                Val::Null => b.append_null(),
                Val::Str(s) => b.append_value(s),
                Val::U64(x) => b.append_value(x.to_string()),
                Val::I64(x) => b.append_value(x.to_string()),
                Val::F64(x) => b.append_value(x.to_string()),
                Val::Bool(x) => b.append_value(x.to_string()),
                Val::Time(x) => b.append_value(x.to_string()),
            },
            Builder::Dict(b) => match v.text() {
                Some(s) => b.append_value(s),
                None => b.append_null(),
            },
            Builder::U16(b) => b.append_option(v.u64().and_then(|x| u16::try_from(x).ok())),
            Builder::U64(b) => b.append_option(v.u64()),
            Builder::I64(b) => b.append_option(match *v {
                Val::I64(x) => Some(x),
                Val::U64(x) => i64::try_from(x).ok(),
                _ => None,
            }),
            Builder::F64(b) => b.append_option(v.f64()),
            Builder::Time(b) => b.append_option(v.time()),
            Builder::Bool(b) => b.append_option(match *v {
                Val::Bool(x) => Some(x),
                _ => None,
            }),
            Builder::List(b) => match v.text() {
                Some(s) => {
                    for item in list_items(s) {
                        b.values().append_value(item);
                    }
                    b.append(true);
                }
                None => b.append_null(),
            },
            Builder::File => {}
        }
    }

    pub(super) fn finish(&mut self, len: usize, file: &str) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Dict(b) => Arc::new(b.finish()),
            Builder::U16(b) => Arc::new(b.finish()),
            Builder::U64(b) => Arc::new(b.finish()),
            Builder::I64(b) => Arc::new(b.finish()),
            Builder::F64(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::List(b) => Arc::new(b.finish()),
            Builder::File => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(file, len))),
        }
    }
}

fn canon_val<'a>(c: &Canon<'a>, k: usize) -> Val<'a> {
    let s = |v: &Option<Cow<'a, str>>| match v {
        Some(x) if !x.is_empty() && x != "-" => Val::Str(x.clone()),
        _ => Val::Null,
    };
    match k {
        0 => c.time.map_or(Val::Null, Val::Time),
        1 => s(&c.host),
        2 => s(&c.client_ip),
        3 => s(&c.method),
        4 => s(&c.path),
        5 => s(&c.query),
        6 => s(&c.protocol),
        7 => c.status.map_or(Val::Null, |v| Val::U64(u64::from(v))),
        8 => c.bytes.map_or(Val::Null, Val::U64),
        9 => s(&c.cache_status),
        10 => s(&c.referer),
        11 => s(&c.user_agent),
        _ => c.request_time.map_or(Val::Null, Val::F64),
    }
}

struct TextDecoder {
    parser: Box<dyn RowParser>,
    natives: usize,
    cols: Vec<(Src, Ty)>,
    builders: Vec<Builder>,
    schema: SchemaRef,
    rows: TimeRange,
    len: usize,
}

impl LineDecoder for TextDecoder {
    fn push_line(&mut self, line: &str, line_no: u64, unknown: &mut dyn FnMut(&str)) -> Result<(), ParseError> {
        let mut vals = vec![Val::Null; self.natives];
        let mut canon = Canon::default();
        if !self.parser.parse(line, &mut vals, &mut canon, unknown)? {
            return Ok(());
        }
        if !self.rows.is_unbounded() && !canon.time.is_some_and(|t| self.rows.contains(t)) {
            return Ok(());
        }
        for (&(src, _), b) in self.cols.iter().zip(self.builders.iter_mut()) {
            match src {
                Src::Native(i) | Src::Forwarded(i) => b.append(&vals[i]),
                Src::Canon(k) => b.append(&canon_val(&canon, k)),
                Src::Line => b.append(&Val::U64(line_no)),
                Src::File => {}
            }
        }
        self.len += 1;
        Ok(())
    }

    fn len(&self) -> usize {
        self.len
    }

    fn partial_rows(&self) -> usize {
        self.parser.partial_rows()
    }

    fn finish_batch(&mut self, file: &str) -> datafusion::error::Result<RecordBatch> {
        let len = std::mem::take(&mut self.len);
        finish_batch(&mut self.builders, &self.schema, len, file)
    }
}

/// The `len` rows appended to `builders` as a batch of `schema`.
pub(super) fn finish_batch(
    builders: &mut [Builder],
    schema: &SchemaRef,
    len: usize,
    file: &str,
) -> datafusion::error::Result<RecordBatch> {
    let arrays: Vec<ArrayRef> = builders.iter_mut().map(|b| b.finish(len, file)).collect();
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        arrays,
        &RecordBatchOptions::new().with_row_count(Some(len)),
    )?)
}
