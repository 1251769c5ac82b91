//! Log dialects: how each service's lines become typed rows.
//!
//! A dialect names its objects ([`crate::source::KeyTemplate`]), declares
//! its schema (native columns, then the [`canonical`] columns every dialect
//! shares, then `_file` and `_line`) and turns lines into Arrow rows with a
//! [`LineDecoder`]. Parsing itself is `edgelog-parse`'s; this module only
//! appends what it returns. Outside this module a dialect is named by a
//! [`DialectSpec`] (plain data that a server can take and a cluster can
//! ship) and its object comes from [`DialectSpec::build`], or ready-built
//! in a detection [`detect::Verdict`]. [`detect`] holds the pure detection rules (which
//! dialect reads a sample best); fetching the sample is the engine's.
//!
//! It does no I/O and never prints. "Dialect" is the word in code; users
//! see it as `--format`.

pub mod canonical;
pub mod clf;
pub mod derived;
pub mod detect;
pub mod fields;
pub mod generic;
pub mod jsonl;
pub mod perobject;
pub mod proxies;
pub mod sakura;
pub mod spec;
pub mod synonyms;
pub mod w3c;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod round2_tests;

use std::fmt::Debug;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use edgelog_parse::ParseError;

pub use spec::{DialectKind, DialectSpec, Sampled, SampledKey};

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
    /// What sample lines settle about this dialect (fields a header
    /// declares, types inferred from values, the zone times are written
    /// in); most dialects need nothing.
    fn sampled(&self, _sample: &[String]) -> Sampled {
        Sampled::default()
    }
    /// This dialect set up as `sampled` says.
    fn with_sampled(&self, sampled: &Sampled) -> Arc<dyn Dialect>;
    /// Whether [`Dialect::sampled`] looks at the sample (an explicit
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
    /// Lines read so far in a shorter form of the dialect (see
    /// [`generic::RowParser::partial_rows`]); detection prefers a dialect
    /// that reads a sample whole.
    fn partial_rows(&self) -> usize {
        0
    }
    /// Whether no rows are waiting.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Takes the rows appended so far as a batch; `file` fills `_file`.
    fn finish_batch(&mut self, file: &str) -> datafusion::error::Result<RecordBatch>;
}

/// The dialect `kind` names, before any sample; the error says what is
/// wrong with it. [`DialectSpec::build`] is the way in.
fn dialect_of(kind: &DialectKind) -> Result<Arc<dyn Dialect>, String> {
    fn user(f: Result<impl generic::TextRules + 'static, String>) -> Result<Arc<dyn Dialect>, String> {
        Ok(Arc::new(generic::TextDialect(Arc::new(f?))))
    }
    match kind {
        DialectKind::Auto => Err("the format is not known yet: detect it first (auto)".into()),
        DialectKind::AutoPerObject => Ok(Arc::new(perobject::PerObject)),
        DialectKind::Nginx(f) => user(clf::PatternRules::from_nginx(f)),
        DialectKind::Apache(f) => user(clf::PatternRules::from_apache(f)),
        DialectKind::Regex(re) => user(clf::RegexRules::new(re)),
        DialectKind::CloudfrontRealtime(fields) => user(w3c::W3cRules::realtime_with(&fields.join(","))),
        DialectKind::Envoy(f) => user(clf::PatternRules::from_envoy(f)),
        DialectKind::Varnish(f) => user(clf::PatternRules::from_varnish(f)),
        DialectKind::Ndjson(mapping) => user(jsonl::JsonRules::ndjson(mapping)),
        DialectKind::Named(name) => registry().into_iter().find(|d| d.name() == name).ok_or_else(|| {
            format!(
                "unknown format {name:?}: use auto, auto-per-object, one of {}, or nginx:'LOG_FORMAT', apache:'LOGFORMAT', regex:'(?P<name>...)', envoy:'FORMAT', varnish:'FORMAT', ndjson:'COLUMN=KEY,...', @FILE",
                names().join(", ")
            )
        }),
    }
}

/// `dialect` without its derived columns, as a lake made before them stores
/// its rows ([`DialectSpec::build`] of a spec with `legacy_columns`).
fn without_derived(dialect: Arc<dyn Dialect>) -> Arc<dyn Dialect> {
    Arc::new(derived::WithoutDerived(dialect))
}

/// The name of every dialect of `edgelog formats`, in listing order.
pub fn names() -> Vec<&'static str> {
    registry().iter().map(|d| d.name()).collect()
}

/// Every dialect edgelog knows, as `edgelog formats` lists them. Private:
/// outside this module a dialect comes from [`DialectSpec::build`].
fn registry() -> Vec<Arc<dyn Dialect>> {
    let mut out: Vec<Arc<dyn Dialect>> = vec![Arc::new(sakura::Sakura)];
    let text: Vec<Arc<dyn generic::TextRules>> = clf::presets()
        .into_iter()
        .chain([
            Arc::new(jsonl::JsonRules::new(jsonl::Kind::Nginx)) as Arc<dyn generic::TextRules>,
            Arc::new(proxies::ProxyRules::new(proxies::Kind::Haproxy)),
            Arc::new(proxies::ProxyRules::new(proxies::Kind::Squid)),
            Arc::new(w3c::W3cRules::new(w3c::Flavor::CloudFront)),
            Arc::new(w3c::W3cRules::new(w3c::Flavor::Realtime)),
            Arc::new(fields::FieldsRules::new(fields::Kind::Alb)),
            Arc::new(fields::FieldsRules::new(fields::Kind::Elb)),
            Arc::new(fields::FieldsRules::new(fields::Kind::S3)),
            Arc::new(jsonl::JsonRules::new(jsonl::Kind::Cloudflare)),
            Arc::new(jsonl::JsonRules::new(jsonl::Kind::Fastly)),
            Arc::new(jsonl::JsonRules::new(jsonl::Kind::Gcp)),
            Arc::new(fields::FieldsRules::new(fields::Kind::Akamai)),
            Arc::new(jsonl::JsonRules::new(jsonl::Kind::Akamai)),
            Arc::new(jsonl::JsonRules::new(jsonl::Kind::Caddy)),
            Arc::new(jsonl::JsonRules::new(jsonl::Kind::Traefik)),
            Arc::new(jsonl::JsonRules::new(jsonl::Kind::AzureFrontDoor)),
            Arc::new(jsonl::JsonRules::new(jsonl::Kind::EnvoyJson)),
            Arc::new(w3c::W3cRules::new(w3c::Flavor::W3c)),
            Arc::new(jsonl::JsonRules::new(jsonl::Kind::Ndjson)),
        ])
        .collect();
    out.extend(
        text.into_iter()
            .map(|f| Arc::new(generic::TextDialect(f)) as Arc<dyn Dialect>),
    );
    out
}
