//! nginx and Apache text logs: the combined family (common, combined,
//! vhost_combined, `"$http_x_forwarded_for"` and timing tails) and formats
//! the user defines with an nginx `log_format`, an Apache `LogFormat` or a
//! regex with named groups. All speak nginx's variable names, so one table
//! types them ([`nginx_type`]) and one function fills the canonical columns
//! ([`NginxCanon`]); the nginx JSON dialect uses both too.

use std::borrow::Cow;
use std::sync::Arc;

use edgelog_parse::ParseError;
use edgelog_parse::pattern::{ENVOY_DEFAULT, Matched, Pattern, VARNISH_DEFAULT};
use edgelog_parse::text::unescape;
use regex::Regex;

use super::generic::{Canon, NativeCol, RowParser, TextRules, Ty, Val, first_address, leading_host, strip_port};
use super::spec::Sampled;

/// The type of an nginx variable (or the Apache directive named after it).
pub fn nginx_type(name: &str) -> Ty {
    match name {
        "status" | "remote_port" | "server_port" => Ty::U16,
        "body_bytes_sent"
        | "bytes_sent"
        | "request_length"
        | "bytes_transferred"
        | "request_time_us"
        | "request_time_ms"
        | "request_count"
        | "connection_requests" => Ty::U64,
        // varnishncsa's `%{Varnish:...}x`.
        "varnish_vxid" => Ty::U64,
        "request_time" | "msec" | "msec_epoch" | "time_firstbyte" => Ty::F64,
        "time_local" | "time_iso8601" | "@timestamp" => Ty::Time,
        "upstream_cache_status"
        | "scheme"
        | "request_method"
        | "server_protocol"
        | "varnish_hitmiss"
        | "varnish_handling"
        | "varnish_side" => Ty::Dict,
        _ => Ty::Str,
    }
}

/// Whose names a pattern's fields have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vocab {
    /// nginx variables (Apache and varnishncsa directives map to them).
    Nginx,
    /// Envoy command operators, lower case (`%RESPONSE_CODE%` -> `response_code`).
    Envoy,
}

/// The type of an Envoy command operator's field.
fn envoy_type(name: &str) -> Ty {
    match name {
        "response_code" => Ty::U16,
        "bytes_received"
        | "bytes_sent"
        | "duration"
        | "request_duration"
        | "request_tx_duration"
        | "response_duration"
        | "response_tx_duration"
        | "upstream_request_attempt_count"
        | "resp_x_envoy_upstream_service_time" => Ty::U64,
        "start_time" => Ty::Time,
        "response_flags" | "protocol" | "upstream_cluster" | "req_method" | "response_code_details" => Ty::Dict,
        _ => Ty::Str,
    }
}

/// Native columns for these field names.
pub fn columns_of(names: &[String], vocab: Vocab) -> Vec<NativeCol> {
    match vocab {
        Vocab::Nginx => nginx_columns(names),
        Vocab::Envoy => names
            .iter()
            .map(|n| {
                let doc = match n.as_str() {
                    "duration" => "%DURATION%: request duration in ms".to_string(),
                    n => format!("%{}%", n.to_ascii_uppercase()),
                };
                NativeCol::new(n.clone(), envoy_type(n), doc)
            })
            .collect(),
    }
}

/// What an nginx variable holds, for `edgelog formats`.
fn nginx_doc(name: &str) -> String {
    match name {
        "remote_addr" => "client address ($remote_addr, %h)".into(),
        "remote_user" => "basic-auth user".into(),
        "remote_ident" => "identd user (%l), almost always -".into(),
        "time_local" => "request time ($time_local, %t)".into(),
        "request" => "request line".into(),
        "status" => "response status".into(),
        "body_bytes_sent" => "body bytes sent".into(),
        "bytes_sent" => "bytes sent including headers".into(),
        "http_referer" => "Referer header".into(),
        "http_user_agent" => "User-Agent header".into(),
        "http_x_forwarded_for" => "X-Forwarded-For header".into(),
        "request_time" => "request duration in seconds".into(),
        "request_time_us" => "request duration in microseconds (%D)".into(),
        "request_time_ms" => "request duration in milliseconds".into(),
        "server_name" => "virtual host".into(),
        "server_port" => "server port".into(),
        "upstream_cache_status" => "cache result".into(),
        "request_count" => "requests Traefik received since it started".into(),
        "router_name" => "Traefik router that took the request".into(),
        "server_url" => "Traefik backend (service) URL the request went to".into(),
        n if n.starts_with("http_") => format!("request header {}", &n[5..]),
        n => format!("${n}"),
    }
}

/// Native columns for these variable names.
pub fn nginx_columns(names: &[String]) -> Vec<NativeCol> {
    names
        .iter()
        .map(|n| NativeCol::new(n.clone(), nginx_type(n), nginx_doc(n)))
        .collect()
}

/// Where the canonical columns come from among nginx-named columns.
#[derive(Debug, Clone, Default)]
pub struct NginxCanon {
    time: Vec<usize>,
    host: Vec<usize>,
    client_ip: Vec<usize>,
    request: Vec<usize>,
    method: Vec<usize>,
    uri: Vec<usize>,
    args: Vec<usize>,
    protocol: Vec<usize>,
    status: Vec<usize>,
    bytes: Vec<usize>,
    cache: Vec<usize>,
    referer: Vec<usize>,
    user_agent: Vec<usize>,
    secs: Vec<usize>,
    millis: Vec<usize>,
    micros: Vec<usize>,
}

impl NginxCanon {
    /// Finds the columns among `names` (nginx variables).
    pub fn new(names: &[String]) -> Self {
        Self::of(names, Vocab::Nginx)
    }

    /// Finds the columns among `names` of `vocab`.
    pub fn of(names: &[String], vocab: Vocab) -> Self {
        let find =
            |cands: &[&str]| -> Vec<usize> { cands.iter().filter_map(|c| names.iter().position(|n| n == c)).collect() };
        match vocab {
            Vocab::Nginx => NginxCanon {
                time: find(&[
                    "time_local",
                    "time_iso8601",
                    "@timestamp",
                    "msec",
                    "msec_epoch",
                    "timestamp",
                    "time",
                ]),
                host: find(&["host", "http_host", "server_name"]),
                client_ip: find(&["remote_addr", "client_ip", "realip_remote_addr"]),
                request: find(&["request"]),
                method: find(&["request_method", "method"]),
                uri: find(&["request_uri", "uri"]),
                args: find(&["args", "query_string"]),
                protocol: find(&["server_protocol", "protocol"]),
                status: find(&["status"]),
                bytes: find(&["bytes_sent", "body_bytes_sent"]),
                cache: find(&["upstream_cache_status", "cache_status", "x_cache", "varnish_hitmiss"]),
                referer: find(&["http_referer", "http_referrer", "referer"]),
                user_agent: find(&["http_user_agent", "user_agent"]),
                secs: find(&["request_time"]),
                millis: find(&["request_time_ms"]),
                micros: find(&["request_time_us"]),
            },
            Vocab::Envoy => NginxCanon {
                time: find(&["start_time"]),
                host: find(&["req_authority", "req_host"]),
                client_ip: find(&[
                    "downstream_remote_address",
                    "downstream_remote_address_without_port",
                    "downstream_direct_remote_address",
                    "downstream_direct_remote_address_without_port",
                    // Envoy's default format logs no client address but this.
                    "req_x_forwarded_for",
                ]),
                request: Vec::new(),
                method: find(&["req_method"]),
                uri: find(&["req_path"]),
                args: Vec::new(),
                protocol: find(&["protocol"]),
                status: find(&["response_code"]),
                bytes: find(&["bytes_sent"]),
                cache: Vec::new(),
                referer: find(&["req_referer"]),
                user_agent: find(&["req_user_agent"]),
                secs: Vec::new(),
                millis: find(&["duration"]),
                micros: Vec::new(),
            },
        }
    }

    /// Fills `c` from `vals`.
    pub fn fill<'a>(&self, vals: &[Val<'a>], c: &mut Canon<'a>) {
        // The first candidate column with a value: `host` may be logged
        // empty where `http_host` is not.
        let get = |c: &Vec<usize>| c.iter().map(|&i| &vals[i]).find(|v| **v != Val::Null);
        c.time = self.time.iter().find_map(|&i| match &vals[i] {
            Val::Time(t) => Some(*t),
            Val::F64(s) => Some((s * 1000.0).round() as i64),
            Val::Str(s) => super::generic::parse_any_time(s),
            _ => None,
        });
        // `$http_host` and Envoy's `:authority` may carry a port.
        c.host = get(&self.host).and_then(Val::cow).map(|h| match h {
            Cow::Borrowed(s) if s.contains(':') => Cow::Borrowed(strip_port(s)),
            Cow::Owned(s) if s.contains(':') => Cow::Owned(strip_port(&s).to_string()),
            h => h,
        });
        // The first of an X-Forwarded-For list, without a port (Envoy's
        // `%DOWNSTREAM_REMOTE_ADDRESS%` is `10.0.0.1:5678`), and a virtual
        // host written before it. Nearly every line has one plain address:
        // one byte scan decides (this runs for every row).
        let ip = get(&self.client_ip).and_then(Val::cow);
        let plain = |s: &str| !s.bytes().any(|b| matches!(b, b',' | b' ' | b'\t' | b':' | b'@' | b'['));
        c.client_ip = match ip {
            Some(ip) if plain(&ip) => Some(ip),
            Some(ip) => {
                if c.host.is_none()
                    && let Some(vhost) = leading_host(&ip)
                {
                    c.host = Some(Cow::Owned(vhost.to_string()));
                }
                Some(match ip {
                    Cow::Borrowed(s) => Cow::Borrowed(strip_port(first_address(s))),
                    Cow::Owned(s) => Cow::Owned(strip_port(first_address(&s)).to_string()),
                })
            }
            None => None,
        };
        if let Some(Val::Str(r)) = get(&self.request) {
            match r {
                Cow::Borrowed(s) => c.request_line(s),
                Cow::Owned(s) => c.request_line_owned(s),
            }
        }
        if let Some(m) = get(&self.method).and_then(Val::cow) {
            c.method = Some(m);
        }
        if let Some(u) = get(&self.uri).and_then(Val::text) {
            let had_query = c.query.take();
            c.url(u);
            if c.query.is_none() {
                c.query = had_query;
            }
        }
        if let Some(a) = get(&self.args).and_then(Val::text) {
            c.query = Some(Cow::<'a, str>::Owned(a.trim_start_matches('?').to_string())).filter(|q| !q.is_empty());
        }
        if let Some(p) = get(&self.protocol).and_then(Val::cow) {
            c.protocol = Some(p);
        }
        // 0 is no HTTP status (Envoy's TCP lines, a request without a response).
        c.status = get(&self.status)
            .and_then(Val::u64)
            .and_then(|s| u16::try_from(s).ok())
            .filter(|&s| s != 0);
        c.bytes = get(&self.bytes).and_then(Val::u64);
        c.cache_status = get(&self.cache).and_then(Val::cow);
        c.referer = get(&self.referer).and_then(Val::cow);
        c.user_agent = get(&self.user_agent).and_then(Val::cow);
        // The finest one logged: Apache's `%D %T` and varnishncsa's write
        // whole seconds beside microseconds.
        c.request_time = get(&self.micros)
            .and_then(Val::f64)
            .map(|v| v / 1e6)
            .or_else(|| get(&self.millis).and_then(Val::f64).map(|v| v / 1e3))
            .or_else(|| get(&self.secs).and_then(Val::f64));
    }
}

/// A preset of the combined family.
struct Preset {
    name: &'static str,
    description: &'static str,
    format: &'static str,
    /// Shorter formats of the same family (prefixes of `format`, longest
    /// first) whose lines are read too, the missing columns NULL: servers
    /// write common lines among combined ones (a request that timed out
    /// before its headers, a changed `LogFormat`).
    fallbacks: &'static [&'static str],
    rank: u32,
}

/// The combined format cut after the body bytes: a common line as the
/// combined family writes it.
const COMBINED_COMMON: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent"#;

const COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;

const PRESETS: &[Preset] = &[
    Preset {
        name: "combined",
        description: "nginx/Apache combined: host - user [time] \"request\" status bytes \"referer\" \"agent\"",
        format: COMBINED,
        fallbacks: &[COMBINED_COMMON],
        rank: 50,
    },
    Preset {
        name: "combined_xff",
        description: "combined + \"$http_x_forwarded_for\" (Debian/Ubuntu nginx `main`)",
        format: concat!(
            r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
            r#" "$http_x_forwarded_for""#
        ),
        fallbacks: &[COMBINED, COMBINED_COMMON],
        rank: 52,
    },
    Preset {
        name: "combined_request_time",
        description: "combined + request time in seconds (nginx $request_time, Apache %T)",
        format: concat!(
            r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
            r#" $request_time"#
        ),
        fallbacks: &[COMBINED, COMBINED_COMMON],
        rank: 51,
    },
    Preset {
        name: "combined_usec",
        description: "combined + request time in microseconds (Apache %D)",
        format: concat!(
            r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
            r#" $request_time_us"#
        ),
        fallbacks: &[COMBINED, COMBINED_COMMON],
        rank: 51,
    },
    Preset {
        name: "vhost_combined",
        description: "Apache vhost_combined: vhost:port + combined (%O bytes)",
        format: r#"$server_name:$server_port $remote_addr - $remote_user [$time_local] "$request" $status $bytes_sent "$http_referer" "$http_user_agent""#,
        fallbacks: &[
            r#"$server_name:$server_port $remote_addr - $remote_user [$time_local] "$request" $status $bytes_sent"#,
        ],
        rank: 55,
    },
    Preset {
        name: "traefik",
        description: "Traefik CLF: combined + request count, \"router\", \"backend URL\" and duration in ms (`2ms`)",
        format: concat!(
            r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
            r#" $request_count "$router_name" "$server_url" ${request_time_ms}ms"#
        ),
        // Traefik 1.x wrote an absent referer as a bare `-`; plain combined
        // and common lines turn up in its files too.
        fallbacks: &[
            concat!(
                r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent $http_referer "$http_user_agent""#,
                r#" $request_count "$router_name" "$server_url" ${request_time_ms}ms"#
            ),
            COMBINED,
            COMBINED_COMMON,
        ],
        rank: 56,
    },
    Preset {
        name: "envoy",
        description: "Envoy's default access log format (also TCP lines \"- - -\"); envoy:'FORMAT' for others",
        format: ENVOY_DEFAULT,
        // Ambassador writes Envoy's lines after `ACCESS `.
        fallbacks: &[concat!(
            "ACCESS ",
            r#"[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%""#
        )],
        rank: 60,
    },
    Preset {
        name: "varnish",
        description: "varnishncsa's default format (the combined format: such files detect as combined); \
                      varnish:'-F FORMAT' for others",
        format: VARNISH_DEFAULT,
        fallbacks: &[],
        rank: 45,
    },
    Preset {
        name: "common",
        description: "NCSA/Apache common log format: host ident user [time] \"request\" status bytes",
        format: r#"$remote_addr $remote_ident $remote_user [$time_local] "$request" $status $body_bytes_sent"#,
        fallbacks: &[],
        rank: 40,
    },
];

/// The built-in presets.
pub fn presets() -> Vec<Arc<dyn TextRules>> {
    PRESETS
        .iter()
        .filter_map(|p| {
            let compile = match p.name {
                "envoy" => Pattern::envoy,
                "varnish" => Pattern::varnish,
                _ => Pattern::nginx,
            };
            let vocab = if p.name == "envoy" { Vocab::Envoy } else { Vocab::Nginx };
            let mut rules = PatternRules::of(
                p.name,
                p.description.to_string(),
                compile(p.format).ok()?,
                p.rank,
                vocab,
            );
            rules.fallbacks = p.fallbacks.iter().filter_map(|f| compile(f).ok()).collect();
            Some(Arc::new(rules) as Arc<dyn TextRules>)
        })
        .collect()
}

/// A dialect from a compiled pattern.
#[derive(Debug)]
pub struct PatternRules {
    /// The offset of the sample's first time, shown by default.
    tz: Option<String>,
    name: &'static str,
    description: String,
    pattern: Pattern,
    /// Shorter patterns whose names are a prefix of `pattern`'s, tried in
    /// order when it does not match (see `Preset::fallbacks`).
    fallbacks: Vec<Pattern>,
    vocab: Vocab,
    cols: Vec<NativeCol>,
    rank: u32,
}

impl PatternRules {
    /// A dialect named `name` reading lines of `pattern` (nginx names).
    pub fn new(name: &'static str, description: String, pattern: Pattern, rank: u32) -> Self {
        Self::of(name, description, pattern, rank, Vocab::Nginx)
    }

    /// A dialect named `name` reading lines of `pattern`, whose fields have
    /// the names of `vocab`.
    pub fn of(name: &'static str, description: String, pattern: Pattern, rank: u32, vocab: Vocab) -> Self {
        PatternRules {
            tz: None,
            cols: columns_of(pattern.names(), vocab),
            name,
            description,
            pattern,
            fallbacks: Vec::new(),
            vocab,
            rank,
        }
    }

    /// A user's nginx `log_format` (or a whole `log_format NAME '...' '...';`
    /// directive as in nginx.conf).
    pub fn from_nginx(text: &str) -> Result<Self, String> {
        let format = nginx_directive_body(text);
        let pattern = Pattern::nginx(&format).map_err(|e| format!("bad nginx log_format: {e}"))?;
        Ok(PatternRules::new(
            "nginx",
            format!("nginx log_format {format}"),
            pattern,
            100,
        ))
    }

    /// A user's Envoy access-log format (`%COMMAND%` operators).
    pub fn from_envoy(text: &str) -> Result<Self, String> {
        let pattern = Pattern::envoy(text).map_err(|e| format!("bad Envoy format: {e}"))?;
        Ok(PatternRules::of(
            "envoy",
            format!("Envoy format {text}"),
            pattern,
            100,
            Vocab::Envoy,
        ))
    }

    /// A user's varnishncsa `-F` format.
    pub fn from_varnish(text: &str) -> Result<Self, String> {
        let format = text.trim().strip_prefix("-F").unwrap_or(text).trim();
        let pattern = Pattern::varnish(format).map_err(|e| format!("bad varnishncsa format: {e}"))?;
        Ok(PatternRules::new(
            "varnish",
            format!("varnishncsa -F {format}"),
            pattern,
            100,
        ))
    }

    /// A user's Apache `LogFormat`.
    pub fn from_apache(text: &str) -> Result<Self, String> {
        let pattern = Pattern::apache(text).map_err(|e| format!("bad Apache LogFormat: {e}"))?;
        Ok(PatternRules::new(
            "apache",
            format!("Apache LogFormat {text}"),
            pattern,
            100,
        ))
    }
}

/// The format string of an nginx.conf `log_format NAME [escape=..] '...' '...';`
/// directive; text that is not such a directive is the format itself.
fn nginx_directive_body(text: &str) -> String {
    let t = text.trim();
    if !t.starts_with("log_format") {
        return t.to_string();
    }
    let mut out = String::new();
    let mut chars = t.chars();
    while let Some(c) = chars.next() {
        if c == '\'' || c == '"' {
            for d in chars.by_ref() {
                if d == c {
                    break;
                }
                out.push(d);
            }
        }
    }
    out
}

impl TextRules for PatternRules {
    fn name(&self) -> &'static str {
        self.name
    }
    fn description(&self) -> String {
        self.description.clone()
    }
    fn columns(&self) -> &[NativeCol] {
        &self.cols
    }
    fn rank(&self) -> u32 {
        self.rank
    }
    fn default_tz(&self) -> String {
        self.tz.clone().unwrap_or_else(|| "UTC".into())
    }
    fn needs_sample(&self) -> bool {
        true
    }
    fn sampled(&self, sample: &[String]) -> Sampled {
        let Some(at) = self.pattern.names().iter().position(|n| n == "time_local") else {
            return Sampled::default();
        };
        let mut matched = Vec::new();
        let tz = sample.iter().find_map(|l| {
            self.pattern.matches(l, &mut matched).ok()?;
            let (_, offset) = matched.get(at)?.text.rsplit_once(' ')?;
            let secs = edgelog_parse::time::parse_offset(offset)?;
            Some(format!(
                "{}{:02}:{:02}",
                if secs < 0 { '-' } else { '+' },
                secs.abs() / 3600,
                secs.abs() % 3600 / 60
            ))
        });
        Sampled {
            tz,
            ..Sampled::default()
        }
    }
    fn with_sampled(&self, sampled: &Sampled) -> Option<Arc<dyn TextRules>> {
        // Only a pattern with $time_local has a zone to learn.
        if !self.pattern.names().iter().any(|n| n == "time_local") {
            return None;
        }
        Some(Arc::new(PatternRules {
            tz: sampled.tz.clone(),
            name: self.name,
            description: self.description.clone(),
            pattern: self.pattern.clone(),
            fallbacks: self.fallbacks.clone(),
            vocab: self.vocab,
            cols: self.cols.clone(),
            rank: self.rank,
        }))
    }
    fn parser(&self) -> Box<dyn RowParser> {
        Box::new(PatternParser {
            pattern: self.pattern.clone(),
            fallbacks: self.fallbacks.clone(),
            cols: self.cols.clone(),
            canon: NginxCanon::of(self.pattern.names(), self.vocab),
            partial: 0,
        })
    }
}

struct PatternParser {
    pattern: Pattern,
    fallbacks: Vec<Pattern>,
    cols: Vec<NativeCol>,
    canon: NginxCanon,
    /// Rows read by a fallback pattern.
    partial: usize,
}

impl RowParser for PatternParser {
    fn parse<'a>(
        &mut self,
        line: &'a str,
        vals: &mut [Val<'a>],
        canon: &mut Canon<'a>,
        _unknown: &mut dyn FnMut(&str),
    ) -> Result<bool, ParseError> {
        let mut matched: Vec<Matched<'a>> = Vec::with_capacity(self.cols.len());
        let mut partial = false;
        // When a shorter form of the family matched, an error is still the
        // full format's: that is the line's shape the user knows.
        let mut full_error = None;
        if let Err(e) = self.pattern.matches(line, &mut matched) {
            let Some(f) = self.fallbacks.iter().find(|f| f.matches(line, &mut matched).is_ok()) else {
                return Err(e);
            };
            if f.names().len() < self.cols.len() {
                // Counted once its values are read too (below).
                partial = true;
            }
            full_error = Some(e);
        }
        for ((m, col), slot) in matched.iter().zip(&self.cols).zip(vals.iter_mut()) {
            let text = if m.quoted {
                unescape(m.text)
            } else {
                Cow::Borrowed(m.text)
            };
            *slot = match Val::parse(col.ty, text, &col.name) {
                Ok(v) => v,
                Err(e) => return Err(full_error.unwrap_or(e)),
            };
        }
        self.partial += usize::from(partial);
        self.canon.fill(vals, canon);
        Ok(true)
    }

    fn partial_rows(&self) -> usize {
        self.partial
    }
}

/// A dialect from a regex with named groups (named like nginx variables to
/// get their types and canonical meaning).
#[derive(Debug)]
pub struct RegexRules {
    regex: Regex,
    cols: Vec<NativeCol>,
}

impl RegexRules {
    /// Compiles `re`; it must have at least one named group.
    pub fn new(re: &str) -> Result<Self, String> {
        let regex = Regex::new(re).map_err(|e| format!("bad regex: {}", e.to_string().replace('\n', " ")))?;
        let names: Vec<String> = regex.capture_names().flatten().map(str::to_string).collect();
        if names.is_empty() {
            return Err("the regex has no named groups: write (?P<remote_addr>\\S+) and so on".into());
        }
        Ok(RegexRules {
            cols: nginx_columns(&names),
            regex,
        })
    }
}

impl TextRules for RegexRules {
    fn name(&self) -> &'static str {
        "regex"
    }
    fn description(&self) -> String {
        format!("regex {}", self.regex.as_str())
    }
    fn columns(&self) -> &[NativeCol] {
        &self.cols
    }
    fn rank(&self) -> u32 {
        100
    }
    fn parser(&self) -> Box<dyn RowParser> {
        let names: Vec<String> = self.cols.iter().map(|c| c.name.clone()).collect();
        Box::new(RegexParser {
            regex: self.regex.clone(),
            cols: self.cols.clone(),
            canon: NginxCanon::new(&names),
        })
    }
}

struct RegexParser {
    regex: Regex,
    cols: Vec<NativeCol>,
    canon: NginxCanon,
}

impl RowParser for RegexParser {
    fn parse<'a>(
        &mut self,
        line: &'a str,
        vals: &mut [Val<'a>],
        canon: &mut Canon<'a>,
        _unknown: &mut dyn FnMut(&str),
    ) -> Result<bool, ParseError> {
        let Some(caps) = self.regex.captures(line) else {
            return Err(ParseError::Shape("the line does not match the regex".into()));
        };
        for (col, slot) in self.cols.iter().zip(vals.iter_mut()) {
            if let Some(m) = caps.name(&col.name) {
                *slot = Val::parse(col.ty, Cow::Borrowed(m.as_str()), &col.name)?;
            }
        }
        self.canon.fill(vals, canon);
        Ok(true)
    }
}
