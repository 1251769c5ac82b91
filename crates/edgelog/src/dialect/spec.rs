//! [`DialectSpec`]: a dialect as plain data; [`DialectSpec::build`] makes
//! the dialect object from it.
//!
//! A spec is what the user asked for (`--format sakura`, `nginx:'...'`,
//! `auto`) or what detection decided, plus what a sample of the logs
//! settled ([`Sampled`]: W3C `#Fields`, JSON keys and their types, the zone
//! times are written in). It (de)serialises with serde, so a server can
//! take it in a request and a cluster can ship it to an executor, which
//! builds the same dialect from it without seeing the sample again.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::canonical::Ty;
use super::{Dialect, dialect_of};

/// Which dialect, before any sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DialectKind {
    /// Not decided yet: detect it from the first lines of the first objects.
    Auto,
    /// Each object in the dialect its own first lines show.
    AutoPerObject,
    /// A dialect of `edgelog formats` by name.
    Named(String),
    /// An nginx `log_format` string, or a whole `log_format NAME '...'` directive.
    Nginx(String),
    /// An Apache `LogFormat` string.
    Apache(String),
    /// A regular expression with named groups.
    Regex(String),
    /// CloudFront real-time logs with the fields the distribution logs, in order.
    CloudfrontRealtime(Vec<String>),
    /// An Envoy access-log format of `%COMMAND%` operators.
    Envoy(String),
    /// A varnishncsa `-F` format.
    Varnish(String),
    /// Generic JSON lines with the user's `column=key` mapping of canonical columns.
    Ndjson(Vec<(String, String)>),
}

/// What a sample of the logs settled about a dialect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sampled {
    /// The zone the sample's times are written in (`+09:00`), for dialects
    /// whose lines carry one (nginx `$time_local`, `$time_iso8601`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// W3C family: the field ids of the sample's `#Fields` directives, in
    /// order of appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// JSON lines: keys beyond the dialect's own, in order of appearance,
    /// with the type their values showed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<SampledKey>,
}

/// A JSON key a sample showed, and its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampledKey {
    /// The key, as spelled in the logs (also the column name).
    pub key: String,
    /// The type read from its values.
    pub ty: Ty,
}

/// A dialect as plain data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialectSpec {
    /// Which dialect.
    pub kind: DialectKind,
    /// What a sample settled; `None` until one was looked at (or for
    /// dialects that need none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled: Option<Sampled>,
    /// The columns of a lake made before derived columns (`forwarded_for`)
    /// existed: the dialect without them, as such a lake stores its rows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legacy_columns: bool,
}

impl DialectSpec {
    /// A spec of this kind, with no sample yet.
    pub fn new(kind: DialectKind) -> Self {
        DialectSpec {
            kind,
            sampled: None,
            legacy_columns: false,
        }
    }

    /// Detect the dialect.
    pub fn auto() -> Self {
        Self::new(DialectKind::Auto)
    }

    /// A dialect of `edgelog formats` by name.
    pub fn named(name: &str) -> Self {
        Self::new(DialectKind::Named(name.to_string()))
    }

    /// Reads what `--format` says: `auto`, `auto-per-object`, a name,
    /// `nginx:LOG_FORMAT`, `apache:LOGFORMAT`, `regex:REGEX`, `envoy:FORMAT`, `varnish:FORMAT`, `ndjson:COLUMN=KEY,...` or
    /// `cloudfront-realtime:FIELD,FIELD,...`, exactly as given. Nothing is
    /// checked here: [`DialectSpec::build`] says what is wrong.
    pub fn parse(text: &str) -> Self {
        let kind = if text == "auto" {
            DialectKind::Auto
        } else if text == "auto-per-object" {
            DialectKind::AutoPerObject
        } else if let Some(f) = text.strip_prefix("nginx:") {
            DialectKind::Nginx(f.to_string())
        } else if let Some(f) = text.strip_prefix("apache:") {
            DialectKind::Apache(f.to_string())
        } else if let Some(re) = text.strip_prefix("regex:") {
            DialectKind::Regex(re.to_string())
        } else if let Some(f) = text.strip_prefix("envoy:") {
            DialectKind::Envoy(f.to_string())
        } else if let Some(f) = text.strip_prefix("varnish:") {
            DialectKind::Varnish(f.to_string())
        } else if let Some(map) = text.strip_prefix("ndjson:") {
            DialectKind::Ndjson(parse_mapping(map))
        } else if let Some(list) = text.strip_prefix("cloudfront-realtime:") {
            DialectKind::CloudfrontRealtime(
                list.split([',', ' ', '\t'])
                    .filter(|f| !f.is_empty())
                    .map(str::to_string)
                    .collect(),
            )
        } else {
            DialectKind::Named(text.to_string())
        };
        Self::new(kind)
    }

    /// Whether the dialect is still to be detected.
    pub fn is_auto(&self) -> bool {
        self.kind == DialectKind::Auto
    }

    /// This spec with what a sample settled.
    pub fn with_sampled(mut self, sampled: Sampled) -> Self {
        self.sampled = Some(sampled);
        self
    }

    /// The dialect object. The error says what is wrong with the spec (an
    /// unknown name, a bad `log_format`); `auto` must be resolved first.
    pub fn build(&self) -> Result<Arc<dyn Dialect>, String> {
        let base = dialect_of(&self.kind)?;
        let built = match &self.sampled {
            Some(s) => base.with_sampled(s),
            None => base,
        };
        Ok(if self.legacy_columns {
            super::without_derived(built)
        } else {
            built
        })
    }
}

/// Reads a declared mapping: `col=path,col=path` (a `:ms`/`:us`/`:ns`
/// suffix gives a duration's unit).
pub fn parse_mapping(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((c, k)) => (c.trim().to_string(), k.trim().to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}
