//! Log dialects as DataFusion tables: schemas, key templates, line decoders
//! that append to Arrow builders, and the scan that runs them.
//!
//! The scan path, object -> bytes -> lines -> Arrow, is [`scan`] (one
//! object) driven by [`exec`] (objects per partition). Parsing itself lives
//! in `edgelog-parse`; this module only appends what it returns. It must not
//! open locations or resolve credentials: `source/` hands it objects.

pub mod clf;
pub mod detect;
pub mod exec;
pub mod fields;
pub mod generic;
pub mod jsonl;
pub mod perobject;
pub mod pushdown;
pub mod sakura;
pub mod scan;
pub mod stats;
pub mod table;
pub mod w3c;

#[cfg(test)]
mod fuzz_tests;

use std::fmt::Debug;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use edgelog_parse::ParseError;

use crate::config::TimeRange;
use crate::source::KeyTemplate;

/// A log dialect: how its objects are named and how its lines become rows.
pub trait Dialect: Debug + Send + Sync {
    /// Its name on the command line (`--format sakura`).
    fn name(&self) -> &'static str;
    /// One line saying what writes it.
    fn description(&self) -> String;
    /// The zone its times are shown in unless `--tz` says otherwise.
    fn default_tz(&self) -> String;
    /// How its objects are named, for listing and time pruning.
    fn template(&self) -> KeyTemplate;
    /// Every column, with times in `tz`.
    fn schema(&self, tz: &str) -> SchemaRef;
    /// Each column's name and meaning, for `edgelog formats`.
    fn column_docs(&self) -> Vec<(String, String)>;
    /// How specific it is: among dialects that read a sample equally well,
    /// the higher rank wins; equal ranks are an ambiguity.
    fn rank(&self) -> u32;
    /// This dialect set up from sample lines (fields a header declares,
    /// types inferred from values); most dialects need nothing.
    fn configure(&self, sample: &[String]) -> Arc<dyn Dialect>;
    /// Whether [`Dialect::configure`] uses the sample (an explicit
    /// `--format` then still reads the first lines).
    fn needs_sample(&self) -> bool {
        false
    }
    /// For dialects of keyed JSON lines: whether a top-level key is one of
    /// theirs, so detection can rule out a dialect that knows few of a
    /// sample's keys. `None` for other dialects and for those that take any key.
    fn knows_key(&self, _key: &str) -> Option<bool> {
        None
    }
    /// A decoder that appends the `projection` columns of `schema` for rows
    /// whose time lies in `rows`.
    fn decoder(&self, schema: &SchemaRef, projection: &[usize], rows: TimeRange) -> Box<dyn LineDecoder>;
}

/// Turns lines into rows of one record batch at a time.
pub trait LineDecoder: Send {
    /// Parses one line and appends its row, unless its time is outside the
    /// decoder's range. Unknown field names go to `unknown`. On error nothing
    /// is appended.
    fn push_line(&mut self, line: &str, line_no: u64, unknown: &mut dyn FnMut(&str)) -> Result<(), ParseError>;
    /// The object has ended: decide on lines still held back (unknown field
    /// names go to `unknown`, as in [`LineDecoder::push_line`]).
    fn flush(&mut self, _unknown: &mut dyn FnMut(&str)) {}
    /// Errors of lines held back and parsed later (line number, why).
    fn take_errors(&mut self) -> Vec<(u64, ParseError)> {
        Vec::new()
    }
    /// Rows appended since the last batch.
    fn len(&self) -> usize;
    /// Whether no rows are waiting.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Takes the rows appended so far as a batch; `file` fills `_file`.
    fn finish_batch(&mut self, file: &str) -> datafusion::error::Result<RecordBatch>;
}

/// Every dialect edgelog knows, as `edgelog formats` lists them.
pub fn dialects() -> Vec<Arc<dyn Dialect>> {
    let mut out: Vec<Arc<dyn Dialect>> = vec![Arc::new(sakura::Sakura)];
    let text: Vec<Arc<dyn generic::TextFormat>> = clf::presets()
        .into_iter()
        .chain([
            Arc::new(jsonl::JsonFormat::new(jsonl::Kind::Nginx)) as Arc<dyn generic::TextFormat>,
            Arc::new(w3c::W3cFormat::new(w3c::Flavor::CloudFront)),
            Arc::new(w3c::W3cFormat::new(w3c::Flavor::Realtime)),
            Arc::new(fields::FieldsFormat::new(fields::Kind::Alb)),
            Arc::new(fields::FieldsFormat::new(fields::Kind::Elb)),
            Arc::new(fields::FieldsFormat::new(fields::Kind::S3)),
            Arc::new(jsonl::JsonFormat::new(jsonl::Kind::Cloudflare)),
            Arc::new(jsonl::JsonFormat::new(jsonl::Kind::Fastly)),
            Arc::new(jsonl::JsonFormat::new(jsonl::Kind::Gcp)),
            Arc::new(fields::FieldsFormat::new(fields::Kind::Akamai)),
            Arc::new(jsonl::JsonFormat::new(jsonl::Kind::Akamai)),
            Arc::new(w3c::W3cFormat::new(w3c::Flavor::W3c)),
            Arc::new(jsonl::JsonFormat::new(jsonl::Kind::Ndjson)),
        ])
        .collect();
    out.extend(
        text.into_iter()
            .map(|f| Arc::new(generic::TextDialect(f)) as Arc<dyn Dialect>),
    );
    out
}

/// What `--format` names: a dialect, `nginx:LOG_FORMAT`, `apache:LOGFORMAT`,
/// `regex:REGEX`, `cloudfront-realtime:FIELD,FIELD,...`, or `@FILE` holding one of those (or an nginx.conf
/// `log_format` directive). `auto` and `auto-per-object` are handled by
/// [`detect`]. The error says what is wrong with the spec.
pub fn dialect(spec: &str) -> Result<Arc<dyn Dialect>, String> {
    if let Some(path) = spec.strip_prefix('@') {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read format file {path}: {e}"))?;
        let text = text.trim();
        if text.starts_with("log_format") {
            return user(clf::PatternFormat::from_nginx(text));
        }
        return dialect(text);
    }
    if let Some(f) = spec.strip_prefix("nginx:") {
        return user(clf::PatternFormat::from_nginx(f));
    }
    if let Some(f) = spec.strip_prefix("apache:") {
        return user(clf::PatternFormat::from_apache(f));
    }
    if let Some(re) = spec.strip_prefix("regex:") {
        return user(clf::RegexFormat::new(re));
    }
    if let Some(list) = spec.strip_prefix("cloudfront-realtime:") {
        return user(w3c::W3cFormat::realtime_with(list));
    }
    dialects().into_iter().find(|d| d.name() == spec).ok_or_else(|| {
        let known: Vec<_> = dialects().iter().map(|d| d.name()).collect();
        format!(
            "unknown format {spec:?}: use auto, auto-per-object, one of {}, or nginx:'LOG_FORMAT', apache:'LOGFORMAT', regex:'(?P<name>...)', @FILE",
            known.join(", ")
        )
    })
}

fn user(f: Result<impl generic::TextFormat + 'static, String>) -> Result<Arc<dyn Dialect>, String> {
    Ok(Arc::new(generic::TextDialect(Arc::new(f?))))
}
