//! W3C extended logs: IIS and friends (space separated, `#Fields` that may
//! change mid-file), CloudFront standard logs (tab separated, URL-encoded)
//! and CloudFront real-time logs (tab separated, a fixed field order of which
//! a prefix is present, or a `#Fields` header when one was added).

use std::borrow::Cow;
use std::sync::Arc;

use edgelog_parse::ParseError;
use edgelog_parse::text::{Token, percent_decode, plus_to_space, quoted_tokens, unescape};
use edgelog_parse::time::{HOUR_MS, days_from_civil, parse_iso8601};
use edgelog_parse::w3c::{Directive, parse_directive};

use super::generic::{Canon, NativeCol, RowParser, TextRules, Ty, Val, strip_port};
use super::spec::Sampled;
use crate::source::KeyTemplate;

/// Which W3C writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// IIS, HTTP Server API, Oracle, Incapsula...: spaces, `+` for space, ms.
    W3c,
    /// CloudFront standard logs: tabs, URL-encoded, seconds.
    CloudFront,
    /// CloudFront real-time logs: tabs, epoch `timestamp`, seconds.
    Realtime,
}

const IIS_FIELDS: &[&str] = &[
    "date",
    "time",
    "s-sitename",
    "s-computername",
    "s-ip",
    "cs-method",
    "cs-uri-stem",
    "cs-uri-query",
    "s-port",
    "cs-username",
    "c-ip",
    "cs-version",
    "cs(User-Agent)",
    "cs(Cookie)",
    "cs(Referer)",
    "cs-host",
    "sc-status",
    "sc-substatus",
    "sc-win32-status",
    "sc-bytes",
    "cs-bytes",
    "time-taken",
];

/// CloudFront standard log fields, in the order of the current 33-field files.
const CF_FIELDS: &[&str] = &[
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
];

/// CloudFront real-time log fields, in their fixed order.
const RT_FIELDS: &[&str] = &[
    "timestamp",
    "c-ip",
    "time-to-first-byte",
    "sc-status",
    "sc-bytes",
    "cs-method",
    "cs-protocol",
    "cs-host",
    "cs-uri-stem",
    "cs-bytes",
    "x-edge-location",
    "x-edge-request-id",
    "x-host-header",
    "time-taken",
    "cs-protocol-version",
    "c-ip-version",
    "cs-user-agent",
    "cs-referer",
    "cs-cookie",
    "cs-uri-query",
    "x-edge-response-result-type",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-result-type",
    "fle-encrypted-fields",
    "fle-status",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
    "c-port",
    "x-edge-detailed-result-type",
    "c-country",
    "cs-accept-encoding",
    "cs-accept",
    "cache-behavior-path-pattern",
    "cs-headers",
    "cs-header-names",
    "cs-headers-count",
    "origin-fbl",
    "origin-lbl",
    "asn",
];

/// A W3C field id as an SQL name: `cs(User-Agent)` -> `cs_user_agent`.
pub fn column_name(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    for c in field.chars() {
        match c {
            '(' | '-' | '.' | ' ' => out.push('_'),
            ')' => {}
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

fn field_type(name: &str, flavor: Flavor) -> Ty {
    match name {
        "sc_status" | "s_port" | "c_port" => Ty::U16,
        "sc_bytes" | "cs_bytes" | "bytes" | "sc_content_len" | "cs_headers_count" | "asn" => Ty::U64,
        "time_taken" | "time_to_first_byte" | "timetakenms" => Ty::F64,
        "timestamp" if flavor == Flavor::Realtime => Ty::Time,
        "cs_method"
        | "cs_protocol"
        | "cs_protocol_version"
        | "cs_version"
        | "ssl_protocol"
        | "c_ip_version"
        | "x_edge_location"
        | "x_edge_result_type"
        | "x_edge_response_result_type"
        | "x_edge_detailed_result_type"
        | "sc_content_type"
        | "c_country" => Ty::Dict,
        _ => Ty::Str,
    }
}

fn field_doc(field: &str, flavor: Flavor) -> String {
    match (column_name(field).as_str(), flavor) {
        ("time_taken", Flavor::W3c) => format!("{field}: milliseconds (IIS)"),
        ("time_taken", _) => format!("{field}: seconds"),
        ("timestamp", _) => format!("{field}: epoch seconds with milliseconds"),
        _ => field.to_string(),
    }
}

/// A W3C-family dialect; `extra` are fields seen in sample headers beyond
/// the flavor's known ones.
#[derive(Debug)]
pub struct W3cRules {
    flavor: Flavor,
    cols: Vec<NativeCol>,
    /// Real-time logs: the fields the distribution was set up to log, in
    /// order, for records without a `#Fields` header.
    declared: Option<Vec<String>>,
}

impl W3cRules {
    /// The flavor with its known fields.
    pub fn new(flavor: Flavor) -> Self {
        Self::with_fields(flavor, &[])
    }

    /// CloudFront real-time logs with the declared field list
    /// (`--format cloudfront-realtime:timestamp,c-ip,sc-status,...`).
    pub fn realtime_with(list: &str) -> Result<Self, String> {
        let fields: Vec<String> = list
            .split([',', ' ', '\t'])
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(bad) = fields.iter().find(|f| !RT_FIELDS.contains(&f.as_str())) {
            return Err(format!(
                "unknown CloudFront real-time field {bad:?}; fields are {}",
                RT_FIELDS.join(",")
            ));
        }
        if !fields.iter().any(|f| f == "timestamp") {
            return Err("the CloudFront real-time field list needs timestamp".into());
        }
        let mut f = Self::with_fields(Flavor::Realtime, &[]);
        f.declared = Some(fields);
        Ok(f)
    }

    fn with_fields(flavor: Flavor, extra: &[String]) -> Self {
        let known: &[&str] = match flavor {
            Flavor::W3c => IIS_FIELDS,
            Flavor::CloudFront => CF_FIELDS,
            Flavor::Realtime => RT_FIELDS,
        };
        let mut cols: Vec<NativeCol> = Vec::new();
        let fields = known.iter().map(|s| s.to_string()).chain(extra.iter().cloned());
        for f in fields {
            let name = column_name(&f);
            if name.is_empty() || cols.iter().any(|c| c.name == name) {
                continue;
            }
            cols.push(NativeCol::new(
                name.clone(),
                field_type(&name, flavor),
                field_doc(&f, flavor),
            ));
        }
        cols.push(NativeCol::new(
            super::fields::EXTRA,
            Ty::Str,
            "values beyond the current #Fields, as written",
        ));
        W3cRules {
            flavor,
            cols,
            declared: None,
        }
    }
}

/// The field ids of a `#Fields:` directive, if `line` is one.
fn fields_directive(line: &str) -> Option<Vec<String>> {
    match parse_directive(line)? {
        Directive::Fields(ids) => Some(ids.into_iter().map(str::to_string).collect()),
        _ => None,
    }
}

impl TextRules for W3cRules {
    fn name(&self) -> &'static str {
        match self.flavor {
            Flavor::W3c => "w3c",
            Flavor::CloudFront => "cloudfront",
            Flavor::Realtime => "cloudfront-realtime",
        }
    }

    fn description(&self) -> String {
        match self.flavor {
            Flavor::W3c => "W3C extended log file format (IIS and others): #Fields directives, space separated".into(),
            Flavor::CloudFront => "AWS CloudFront standard logs: W3C, tab separated, URL-encoded, UTC".into(),
            Flavor::Realtime => {
                "AWS CloudFront real-time logs: tab separated, fixed field order (a prefix when fields were left out)"
                    .into()
            }
        }
    }

    fn template(&self) -> KeyTemplate {
        match self.flavor {
            Flavor::CloudFront => KeyTemplate {
                period_of: cloudfront_hour,
                period_ms: HOUR_MS,
                folder_offset_secs: 0,
                describe: "{prefix}{distribution}.{YYYY}-{MM}-{DD}-{HH}.{id}.gz",
                strict: false,
                date_folders: true,
            },
            _ => KeyTemplate::any("any name"),
        }
    }

    fn columns(&self) -> &[NativeCol] {
        &self.cols
    }

    fn rank(&self) -> u32 {
        match self.flavor {
            Flavor::W3c => 30,
            _ => 70,
        }
    }

    fn needs_sample(&self) -> bool {
        true
    }
    fn sampled(&self, sample: &[String]) -> Sampled {
        let mut fields: Vec<String> = Vec::new();
        for line in sample {
            for f in fields_directive(line).unwrap_or_default() {
                if !fields.contains(&f) {
                    fields.push(f);
                }
            }
        }
        Sampled {
            fields,
            ..Sampled::default()
        }
    }

    fn with_sampled(&self, sampled: &Sampled) -> Option<Arc<dyn TextRules>> {
        let mut f = W3cRules::with_fields(self.flavor, &sampled.fields);
        f.declared = self.declared.clone();
        Some(Arc::new(f))
    }

    fn parser(&self) -> Box<dyn RowParser> {
        let names: Vec<String> = self.cols.iter().map(|c| c.name.clone()).collect();
        let find =
            |cands: &[&str]| -> Vec<usize> { cands.iter().filter_map(|c| names.iter().position(|n| n == c)).collect() };
        let default_fields: Option<Vec<String>> = match (self.flavor, &self.declared) {
            (Flavor::W3c, _) => None,
            (_, Some(declared)) => Some(declared.clone()),
            (Flavor::CloudFront, None) => Some(CF_FIELDS.iter().map(|s| s.to_string()).collect()),
            (Flavor::Realtime, None) => Some(RT_FIELDS.iter().map(|s| s.to_string()).collect()),
        };
        Box::new(W3cParser {
            flavor: self.flavor,
            cols: self.cols.clone(),
            current: None,
            default_fields,
            date: None,
            offset_secs: 0,
            idx: Idx {
                date: find(&["date", "date_local"]),
                time: find(&["time", "time_local"]),
                timestamp: find(&["timestamp"]),
                host: find(&["x_host_header", "cs_host", "cs_host_"]),
                client_ip: find(&["c_ip"]),
                method: find(&["cs_method"]),
                stem: find(&["cs_uri_stem"]),
                uri: find(&["cs_uri"]),
                query: find(&["cs_uri_query"]),
                protocol: find(&["cs_protocol_version", "cs_version"]),
                status: find(&["sc_status"]),
                bytes: find(&["sc_bytes", "bytes"]),
                cache: find(&["x_edge_result_type"]),
                referer: find(&["cs_referer", "cs_referrer"]),
                agent: find(&["cs_user_agent"]),
                taken: find(&["time_taken"]),
                taken_ms: find(&["timetakenms"]),
            },
        })
    }
}

/// The hour a CloudFront standard log key covers: `...{dist}.YYYY-MM-DD-HH.{id}.gz`.
fn cloudfront_hour(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?;
    let mut parts = name.split('.');
    parts.next()?;
    let stamp = parts.next()?;
    let b = stamp.as_bytes();
    if b.len() != 13 || b[4] != b'-' || b[7] != b'-' || b[10] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| stamp.get(r)?.parse::<u32>().ok();
    let (y, m, d, h) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 {
        return None;
    }
    Some(days_from_civil(i64::from(y), m, d) * 24 * HOUR_MS + i64::from(h) * HOUR_MS)
}

#[derive(Debug, Clone)]
struct Idx {
    date: Vec<usize>,
    time: Vec<usize>,
    timestamp: Vec<usize>,
    host: Vec<usize>,
    client_ip: Vec<usize>,
    method: Vec<usize>,
    stem: Vec<usize>,
    uri: Vec<usize>,
    query: Vec<usize>,
    protocol: Vec<usize>,
    status: Vec<usize>,
    bytes: Vec<usize>,
    cache: Vec<usize>,
    referer: Vec<usize>,
    agent: Vec<usize>,
    taken: Vec<usize>,
    taken_ms: Vec<usize>,
}

struct W3cParser {
    flavor: Flavor,
    cols: Vec<NativeCol>,
    /// Column of each field of the current `#Fields` (None: not in the schema).
    current: Option<Vec<(String, Option<usize>)>>,
    /// Fields of records before any `#Fields` (a prefix of these is taken).
    default_fields: Option<Vec<String>>,
    /// `#Date:` of the current block, for entries that log only a time.
    date: Option<String>,
    /// `#GMT-Offset:` of the current block.
    offset_secs: i32,
    idx: Idx,
}

impl W3cParser {
    fn set_fields(&mut self, fields: &[String]) -> Result<(), ParseError> {
        let missing = match self.flavor {
            Flavor::CloudFront if !fields.iter().any(|f| f == "x-edge-location") => Some("x-edge-location"),
            Flavor::CloudFront if !fields.iter().any(|f| f == "date") => Some("date"),
            Flavor::Realtime if !fields.iter().any(|f| f == "timestamp") => Some("timestamp"),
            _ => None,
        };
        if let Some(m) = missing {
            return Err(ParseError::Shape(format!(
                "#Fields has no {m}: not a {} log",
                self.flavor_name()
            )));
        }
        self.current = Some(
            fields
                .iter()
                .map(|f| {
                    let n = column_name(f);
                    (f.clone(), self.cols.iter().position(|c| c.name == n))
                })
                .collect(),
        );
        Ok(())
    }

    fn flavor_name(&self) -> &'static str {
        match self.flavor {
            Flavor::W3c => "W3C",
            Flavor::CloudFront => "CloudFront standard",
            Flavor::Realtime => "CloudFront real-time",
        }
    }

    fn directive(&mut self, line: &str) -> Result<(), ParseError> {
        match parse_directive(line) {
            Some(Directive::Fields(ids)) => {
                let fields: Vec<String> = ids.into_iter().map(str::to_string).collect();
                return self.set_fields(&fields);
            }
            Some(Directive::Date(day)) => self.date = day.map(str::to_string),
            Some(Directive::GmtOffset(secs)) => self.offset_secs = secs,
            Some(Directive::Other) | None => {}
        }
        Ok(())
    }
}

fn decode(flavor: Flavor, t: &Token<'_>) -> String {
    let text = if t.quoted {
        unescape(t.text)
    } else {
        Cow::Borrowed(t.text)
    };
    match flavor {
        Flavor::W3c => plus_to_space(&text).into_owned(),
        _ => percent_decode(&text).into_owned(),
    }
}

impl RowParser for W3cParser {
    fn parse<'a>(
        &mut self,
        line: &'a str,
        vals: &mut [Val<'a>],
        canon: &mut Canon<'a>,
        unknown: &mut dyn FnMut(&str),
    ) -> Result<bool, ParseError> {
        if line.starts_with('#') {
            self.directive(line)?;
            return Ok(false);
        }
        let mut toks: Vec<Token<'a>> = Vec::new();
        match self.flavor {
            Flavor::W3c => quoted_tokens(line, &mut toks)?,
            _ => toks.extend(line.split('\t').map(|text| Token { text, quoted: false })),
        }
        if self.current.is_none() {
            let Some(defaults) = &self.default_fields else {
                return Err(ParseError::Shape("an entry before any #Fields directive".into()));
            };
            let fields: Vec<String> = defaults.iter().take(toks.len()).cloned().collect();
            self.set_fields(&fields)?;
        }
        let current = self.current.as_ref().map_or(&[][..], |c| &c[..]);
        if toks.len() < current.len() {
            return Err(ParseError::Shape(format!(
                "{} values for {} #Fields (cut line?)",
                toks.len(),
                current.len()
            )));
        }
        if toks[current.len()..].iter().any(|t| !t.text.is_empty()) {
            unknown("values beyond #Fields (kept in extra_fields)");
            let extra = self.cols.len() - 1;
            vals[extra] = Val::Str(Cow::Owned(super::fields::rejoin(&toks[current.len()..])));
        }
        let mut raw: Vec<Option<Token<'a>>> = vec![None; self.cols.len()];
        for ((field, col), tok) in current.iter().zip(&toks) {
            match col {
                Some(c) => {
                    let text = if tok.quoted {
                        unescape(tok.text)
                    } else {
                        Cow::Borrowed(tok.text)
                    };
                    vals[*c] = Val::parse(self.cols[*c].ty, text, &self.cols[*c].name)?;
                    raw[*c] = Some(*tok);
                }
                None => unknown(field),
            }
        }
        let idx = &self.idx;
        let pick = |c: &Vec<usize>| c.iter().copied().find(|&i| vals[i] != Val::Null);
        let text = |i: Option<usize>| i.and_then(|i| vals[i].text().map(str::to_string));
        let decoded = |i: Option<usize>| {
            i.and_then(|i| raw[i])
                .filter(|t| !super::generic::is_blank(t.text))
                .map(|t| Cow::Owned(decode(self.flavor, &t)))
        };
        canon.time = match pick(&idx.timestamp).and_then(|i| vals[i].time()) {
            Some(t) => Some(t),
            None => {
                let date = text(pick(&idx.date)).or_else(|| self.date.clone());
                match (date, text(pick(&idx.time))) {
                    (Some(d), Some(t)) => {
                        parse_iso8601(&format!("{d}T{t}"), 0).map(|ms| ms - i64::from(self.offset_secs) * 1000)
                    }
                    _ => None,
                }
            }
        };
        canon.host = pick(&idx.host)
            .and_then(|i| vals[i].text())
            .map(|h| Cow::Owned(strip_port(h).to_string()));
        canon.client_ip = pick(&idx.client_ip).and_then(|i| vals[i].cow());
        canon.method = pick(&idx.method).and_then(|i| vals[i].cow());
        if let Some(uri) = decoded(pick(&idx.uri)) {
            canon.url(&uri);
        }
        if let Some(stem) = decoded(pick(&idx.stem)) {
            // Real-time logs may carry the query in the stem too.
            match stem.split_once('?') {
                Some((p, q)) => {
                    canon.query = (!q.is_empty()).then(|| Cow::Owned(q.to_string()));
                    canon.path = Some(Cow::Owned(p.to_string()));
                }
                None => canon.path = Some(stem),
            }
        }
        if let Some(q) = pick(&idx.query)
            .and_then(|i| raw[i])
            .filter(|t| !super::generic::is_blank(t.text))
        {
            canon.query = Some(if q.quoted {
                unescape(q.text)
            } else {
                Cow::Borrowed(q.text)
            });
        }
        canon.protocol = pick(&idx.protocol).and_then(|i| vals[i].cow());
        canon.status = pick(&idx.status)
            .and_then(|i| vals[i].u64())
            .and_then(|s| u16::try_from(s).ok())
            .filter(|&s| s != 0);
        canon.bytes = pick(&idx.bytes).and_then(|i| vals[i].u64());
        canon.cache_status = pick(&idx.cache).and_then(|i| vals[i].cow());
        canon.referer = decoded(pick(&idx.referer));
        canon.user_agent = decoded(pick(&idx.agent));
        canon.request_time = match self.flavor {
            Flavor::W3c => pick(&idx.taken)
                .or(pick(&idx.taken_ms))
                .and_then(|i| vals[i].f64())
                .map(|ms| ms / 1000.0),
            _ => pick(&idx.taken).and_then(|i| vals[i].f64()),
        };
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_key_hours() {
        assert_eq!(column_name("cs(User-Agent)"), "cs_user_agent");
        assert_eq!(column_name("x-edge-result-type"), "x_edge_result_type");
        assert_eq!(
            cloudfront_hour("logs/E2ABC.2019-12-04-21.a1b2c3d4.gz"),
            parse_iso8601("2019-12-04T21:00Z", 0)
        );
        assert_eq!(cloudfront_hour("logs/readme.txt"), None);
    }
}
