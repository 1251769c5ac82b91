//! Where generic JSON lines keep the canonical columns: the one table of
//! key names and their vendor spellings (README, "JSON of any shape"), and
//! the mapping a user declares for anything else
//! (`--format 'ndjson:client_ip=src,bytes=resp.size,time=@timestamp'`).
//!
//! A key path is a top-level key, or `outer.inner` one level down
//! (`request.remote_ip`, `properties.clientIp`); a key that itself contains
//! a dot is tried whole first. For each canonical column the first path
//! with a value in a line wins, the user's before the table's.

use std::borrow::Cow;

use serde_json::Value as J;

use super::canonical::CANONICAL;
use super::generic::{Canon, Ty, Val, first_address, is_blank, strip_port};

/// The unit a duration key is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds (also Go-style texts: `12ms`, `1.5s`).
    Secs,
    /// Milliseconds.
    Millis,
    /// Microseconds.
    Micros,
    /// Nanoseconds.
    Nanos,
    /// Not known: only a text with its unit is read.
    Unknown,
}

impl Unit {
    fn from_suffix(s: &str) -> Option<Unit> {
        Some(match s {
            "s" => Unit::Secs,
            "ms" => Unit::Millis,
            "us" => Unit::Micros,
            "ns" => Unit::Nanos,
            "?" => Unit::Unknown,
            _ => return None,
        })
    }

    fn secs(self, v: f64) -> Option<f64> {
        Some(match self {
            Unit::Secs => v,
            Unit::Millis => v / 1e3,
            Unit::Micros => v / 1e6,
            Unit::Nanos => v / 1e9,
            Unit::Unknown => return None,
        })
    }
}

/// Key paths of each canonical column, most specific first. `url` stands
/// for a path with its query (and maybe scheme and host); `request` (a
/// request line) is read before all of them.
pub const SYNONYMS: &[(&str, &[&str])] = &[
    (
        "time",
        &[
            "time_iso8601",
            "time_local",
            "@timestamp",
            "timestamp",
            "time",
            "timeStamp",
            "ts",
            "date",
            "datetime",
            "msec",
            "start_time",
            "started_at",
            "StartUTC",
            "StartLocal",
            "TimeGenerated",
            "timeGenerated",
            "EdgeStartTimestamp",
            "reqTimeSec",
        ],
    ),
    (
        "host",
        &[
            "host",
            "http_host",
            "server_name",
            "vhost",
            "request_host",
            "RequestHost",
            "hostName",
            "authority",
            ":authority",
            "request.host",
            "properties.hostName",
            "properties.host",
            "request.headers.host",
            "request.headers.Host",
            "httpRequest.host",
            "hostname",
            "server",
        ],
    ),
    (
        "client_ip",
        &[
            "remote_addr",
            "client_ip",
            "clientip",
            "clientIp",
            "clientIP",
            "ClientIP",
            "ClientHost",
            "ip",
            "remote_ip",
            "remoteIp",
            "remote_address",
            "realip_remote_addr",
            "src_ip",
            "source_ip",
            "client",
            "c-ip",
            "downstream_remote_address",
            "request.client_ip",
            "request.remote_ip",
            "properties.clientIp",
            "properties.clientIP",
            "httpRequest.remoteIp",
        ],
    ),
    (
        "method",
        &[
            "request_method",
            "method",
            "RequestMethod",
            "httpMethod",
            "http_method",
            "verb",
            "request.method",
            "properties.httpMethod",
            "httpRequest.requestMethod",
        ],
    ),
    (
        "url",
        &[
            "request_uri",
            "uri",
            "url",
            "path",
            "RequestPath",
            "requestUri",
            "request_url",
            "x-envoy-origin-path",
            "request.uri",
            "properties.originalRequestUriWithArgs",
            "properties.requestUri",
            "httpRequest.requestUrl",
        ],
    ),
    ("query", &["args", "query_string", "query"]),
    (
        "protocol",
        &[
            "server_protocol",
            "protocol",
            "proto",
            "RequestProtocol",
            "httpVersion",
            "http_version",
            "request.proto",
            "properties.httpVersion",
            "httpRequest.protocol",
        ],
    ),
    (
        "status",
        &[
            "status",
            "status_code",
            "statusCode",
            "response_status",
            "http_status",
            "code",
            "DownstreamStatus",
            "response_code",
            "httpStatusCode",
            "response.status",
            "properties.httpStatusCode",
            "properties.httpStatus",
            "httpRequest.status",
        ],
    ),
    (
        "bytes",
        &[
            "bytes_sent",
            "body_bytes_sent",
            "bytes",
            "size",
            "length",
            "response_size",
            "responseBytes",
            "resp_bytes",
            "DownstreamContentSize",
            "response.size",
            "properties.responseBytes",
            "properties.sentBytes",
            "httpRequest.responseSize",
        ],
    ),
    (
        "cache_status",
        &[
            "cache_status",
            "upstream_cache_status",
            "cacheStatus",
            "x_cache",
            "cache",
            "properties.cacheStatus",
        ],
    ),
    (
        "referer",
        &[
            "http_referer",
            "referer",
            "referrer",
            "request_Referer",
            "request.headers.Referer",
            "properties.referer",
            "httpRequest.referer",
        ],
    ),
    (
        "user_agent",
        &[
            "http_user_agent",
            "user_agent",
            "userAgent",
            "useragent",
            "user-agent",
            "agent",
            "request_User-Agent",
            "request.headers.User-Agent",
            "properties.userAgent",
            "httpRequest.userAgent",
        ],
    ),
    (
        "request_time",
        &[
            "request_time",
            "response_time",
            "time_taken",
            "timeTaken",
            "properties.timeTaken",
            "httpRequest.latency",
            // Numbers under these names are in seconds for some writers and
            // milliseconds (Envoy) or nanoseconds for others: only a text
            // with its unit (`12ms`, `0.5s`) is read. Declare the unit for
            // numbers: `ndjson:request_time=duration:ms`.
            "duration:?",
            "elapsed:?",
            "latency:?",
            "request_time_ms:ms",
            "duration_ms:ms",
            "elapsed_ms:ms",
            "response_time_ms:ms",
            "request_time_us:us",
            "elapsed_usec:us",
            "duration_us:us",
            "Duration:ns",
            "duration_ns:ns",
        ],
    ),
];

/// The columns a mapping may name: the canonical ones and `url`.
fn mappable() -> impl Iterator<Item = &'static str> {
    CANONICAL.iter().map(|c| c.name).chain(["url"])
}

/// One key path, with the unit of a duration.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPath {
    whole: String,
    parts: Vec<String>,
    unit: Unit,
}

impl KeyPath {
    /// `a.b`, or `a.b:ms` for a duration in milliseconds.
    pub fn parse(text: &str) -> KeyPath {
        let (path, unit) = match text
            .rsplit_once(':')
            .and_then(|(p, u)| Some((p, Unit::from_suffix(u)?)))
        {
            Some((p, u)) => (p, u),
            None => (text, Unit::Secs),
        };
        KeyPath {
            whole: path.to_string(),
            parts: path.split('.').map(str::to_string).collect(),
            unit,
        }
    }

    /// Its value in `root`: the key whole, else down the dotted path.
    pub fn get<'v>(&self, root: &'v J) -> Option<&'v J> {
        let v = root.get(&self.whole).or_else(|| {
            if self.parts.len() < 2 {
                return None;
            }
            self.parts.iter().try_fold(root, |v, k| v.get(k))
        })?;
        match v {
            J::Null => None,
            J::String(s) if is_blank(s) => None,
            J::Array(a) if a.is_empty() => None,
            v => Some(v),
        }
    }

    /// The top-level key this path starts at.
    pub fn top(&self) -> &str {
        if self.parts.len() < 2 {
            &self.whole
        } else {
            &self.parts[0]
        }
    }
}

/// Which paths fill which canonical column: the user's, then the table's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CanonMap {
    columns: Vec<(&'static str, Vec<KeyPath>)>,
}

impl CanonMap {
    /// The table's paths after `declared` (`column=path` pairs, checked).
    pub fn new(declared: &[(String, String)]) -> Result<CanonMap, String> {
        let mut columns: Vec<(&'static str, Vec<KeyPath>)> = Vec::new();
        for (col, path) in declared {
            let Some(name) = mappable().find(|n| n == col) else {
                return Err(format!(
                    "ndjson mapping: {col:?} is not a canonical column: use one of {}",
                    mappable().collect::<Vec<_>>().join(", ")
                ));
            };
            if path.is_empty() {
                return Err(format!("ndjson mapping: no key given for {col}: write {col}=KEY"));
            }
            match columns.iter_mut().find(|(n, _)| *n == name) {
                Some((_, paths)) => paths.push(KeyPath::parse(path)),
                None => columns.push((name, vec![KeyPath::parse(path)])),
            }
        }
        for (name, keys) in SYNONYMS {
            let paths = keys.iter().map(|k| KeyPath::parse(k));
            match columns.iter_mut().find(|(n, _)| n == name) {
                Some((_, p)) => p.extend(paths),
                None => columns.push((name, paths.collect())),
            }
        }
        Ok(CanonMap { columns })
    }

    /// Whether `key` is the top of one of the paths.
    pub fn knows(&self, key: &str) -> bool {
        self.columns.iter().any(|(_, p)| p.iter().any(|k| k.top() == key))
    }

    fn first<'v>(&self, column: &str, root: &'v J) -> Option<(&'v J, Unit)> {
        let (_, paths) = self.columns.iter().find(|(n, _)| *n == column)?;
        paths.iter().find_map(|p| Some((p.get(root)?, p.unit)))
    }

    fn text(&self, column: &str, root: &J) -> Option<Cow<'static, str>> {
        let (v, _) = self.first(column, root)?;
        // A header logged as an array of its values (Caddy): the first.
        let v = match v {
            J::Array(a) => a.first()?,
            v => v,
        };
        match Val::from_json(Ty::Str, v, column).ok()? {
            Val::Str(s) => Some(Cow::Owned(s.into_owned())),
            _ => None,
        }
    }

    fn number(&self, column: &str, root: &J) -> Option<u64> {
        let (v, _) = self.first(column, root)?;
        Val::from_json(Ty::U64, v, column).ok()?.u64()
    }

    /// Fills the columns of `c` not set yet from `root`'s keys.
    pub fn fill(&self, root: &J, c: &mut Canon<'_>) {
        if c.method.is_none()
            && let Some(J::String(r)) = root.get("request")
        {
            c.request_line_owned(r);
        }
        if c.time.is_none() {
            c.time = self
                .first("time", root)
                .and_then(|(v, _)| Val::from_json(Ty::Time, v, "time").ok()?.time());
        }
        if c.client_ip.is_none() {
            c.client_ip = self
                .text("client_ip", root)
                .map(|ip| Cow::Owned(strip_port(first_address(&ip)).to_string()));
        }
        if c.method.is_none() {
            c.method = self.text("method", root);
        }
        if c.path.is_none()
            && let Some(u) = self.text("url", root)
        {
            c.url(&u);
        }
        if c.host.is_none() {
            c.host = self.text("host", root).map(|h| Cow::Owned(strip_port(&h).to_string()));
        }
        if c.query.is_none() {
            c.query = self
                .text("query", root)
                .map(|q| Cow::<str>::Owned(q.trim_start_matches('?').to_string()))
                .filter(|q| !q.is_empty());
        }
        if c.protocol.is_none() {
            c.protocol = self.text("protocol", root);
        }
        if c.status.is_none() {
            c.status = self.number("status", root).and_then(|s| u16::try_from(s).ok());
        }
        if c.bytes.is_none() {
            c.bytes = self.number("bytes", root);
        }
        if c.cache_status.is_none() {
            c.cache_status = self.text("cache_status", root);
        }
        if c.referer.is_none() {
            c.referer = self.text("referer", root);
        }
        if c.user_agent.is_none() {
            c.user_agent = self.text("user_agent", root);
        }
        if c.request_time.is_none() {
            c.request_time = self.first("request_time", root).and_then(|(v, unit)| duration(v, unit));
        }
    }
}

/// A duration in seconds from a number in `unit`, or a text: a number, or
/// Go-style `1.5s` / `12ms` / `3us` / `40ns`.
pub fn duration(v: &J, unit: Unit) -> Option<f64> {
    let secs = match v {
        J::Number(n) => unit.secs(n.as_f64()?)?,
        J::String(s) => {
            let s = s.trim();
            let split = s.find(|c: char| c.is_ascii_alphabetic() || c == 'µ').unwrap_or(s.len());
            let (num, suffix) = s.split_at(split);
            let v: f64 = num.trim().parse().ok()?;
            match suffix {
                "" => unit.secs(v)?,
                "s" => v,
                "ms" => v / 1e3,
                "us" | "µs" => v / 1e6,
                "ns" => v / 1e9,
                "m" => v * 60.0,
                _ => return None,
            }
        }
        _ => return None,
    };
    (secs.is_finite() && secs >= 0.0).then_some(secs)
}

#[cfg(test)]
mod tests {
    use super::super::spec::parse_mapping;
    use super::*;

    fn fill(map: &CanonMap, line: &str) -> Canon<'static> {
        let root: J = serde_json::from_str(line).unwrap();
        let mut c = Canon::default();
        map.fill(&root, &mut c);
        c
    }

    #[test]
    fn vendor_spellings_and_one_level_of_nesting_fill_the_canonical_columns() {
        let m = CanonMap::new(&[]).unwrap();
        let c = fill(
            &m,
            r#"{"ip":"10.0.0.2, 10.0.0.1","length":"512","date":"2024-11-27T01:02:03Z","url":"/a?b=1","code":404}"#,
        );
        assert_eq!(c.client_ip.as_deref(), Some("10.0.0.2"));
        assert_eq!(c.bytes, Some(512));
        assert_eq!(c.time, Some(1_732_669_323_000));
        assert_eq!((c.path.as_deref(), c.query.as_deref()), (Some("/a"), Some("b=1")));
        assert_eq!(c.status, Some(404));
        let c = fill(
            &m,
            r#"{"ClientHost":"192.0.2.1","DownstreamContentSize":17,"StartUTC":"2024-11-27T01:02:03.5Z","Duration":1500000,"RequestHost":"ex.org:8080"}"#,
        );
        assert_eq!(c.client_ip.as_deref(), Some("192.0.2.1"));
        assert_eq!(c.bytes, Some(17));
        assert_eq!(c.time, Some(1_732_669_323_500));
        assert_eq!(c.request_time, Some(0.0015));
        assert_eq!(c.host.as_deref(), Some("ex.org"));
        let c = fill(
            &m,
            r#"{"time":"2024-11-27T01:02:03Z","properties":{"clientIp":"2001:db8::1","httpStatusCode":"200","responseBytes":"99","timeTaken":"0.25","userAgent":"UA"}}"#,
        );
        assert_eq!(c.client_ip.as_deref(), Some("2001:db8::1"));
        assert_eq!((c.status, c.bytes, c.request_time), (Some(200), Some(99), Some(0.25)));
        assert_eq!(c.user_agent.as_deref(), Some("UA"));
        let c = fill(
            &m,
            r#"{"ts":1646861401.524,"request":{"remote_ip":"127.0.0.1","method":"GET","uri":"/x","headers":{"User-Agent":["curl/8"]}},"status":200,"size":10,"duration":"0.5s"}"#,
        );
        assert_eq!(c.time, Some(1_646_861_401_524));
        assert_eq!(c.client_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(c.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(c.request_time, Some(0.5));
    }

    #[test]
    fn a_declared_mapping_comes_first_and_bad_ones_say_what_is_wrong() {
        let m = CanonMap::new(&parse_mapping(
            "client_ip=src, bytes=resp.size,time=@t,request_time=dur:ms",
        ))
        .unwrap();
        let c = fill(
            &m,
            r#"{"src":"198.51.100.7","ip":"10.0.0.1","resp":{"size":"42"},"@t":1732669323000,"dur":250}"#,
        );
        assert_eq!(c.client_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(c.bytes, Some(42));
        assert_eq!(c.time, Some(1_732_669_323_000));
        assert_eq!(c.request_time, Some(0.25));
        let e = CanonMap::new(&parse_mapping("clientip=src")).unwrap_err();
        assert!(
            e.contains("\"clientip\" is not a canonical column") && e.contains("client_ip"),
            "{e}"
        );
        assert!(
            CanonMap::new(&parse_mapping("bytes"))
                .unwrap_err()
                .contains("bytes=KEY")
        );
    }

    #[test]
    fn durations_read_numbers_in_their_unit_and_go_style_texts() {
        assert_eq!(duration(&J::from(1500), Unit::Millis), Some(1.5));
        assert_eq!(duration(&J::from("12ms"), Unit::Secs), Some(0.012));
        assert_eq!(duration(&J::from("0.5s"), Unit::Nanos), Some(0.5));
        assert_eq!(duration(&J::from("x"), Unit::Secs), None);
        assert_eq!(duration(&J::from(-1), Unit::Secs), None);
        // A bare number under an ambiguous name is not guessed.
        assert_eq!(duration(&J::from(11), Unit::Unknown), None);
        assert_eq!(duration(&J::from("11ms"), Unit::Unknown), Some(0.011));
    }
}
