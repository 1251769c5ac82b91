//! JSON-lines dialects other than Sakura: nginx `escape=json` formats,
//! Cloudflare Logpush `http_requests`, Fastly JSON, Google Cloud load
//! balancer `httpRequest` entries, Akamai DataStream 2 JSON, and generic
//! NDJSON with types inferred from sample values. Each names the keys it
//! must see (so that detection can tell them apart); keys beyond its known
//! columns seen in the sample become text columns, others are reported.

use std::borrow::Cow;
use std::sync::Arc;

use edgelog_parse::ParseError;
use edgelog_parse::time::parse_iso8601;
use serde_json::Value as J;

use super::clf::{NginxCanon, nginx_type};
use super::fields::{AKAMAI, akamai_canon};
use super::generic::{Canon, NativeCol, RowParser, TextRules, Ty, Val, is_blank, strip_port};
use super::spec::{Sampled, SampledKey};

/// Which JSON dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// nginx `log_format ... escape=json` with nginx variable names.
    Nginx,
    /// Cloudflare Logpush `http_requests`.
    Cloudflare,
    /// Fastly JSON logging (the widely copied recipe's keys).
    Fastly,
    /// Google Cloud HTTP(S) load balancer / Cloud CDN LogEntry.
    Gcp,
    /// Akamai DataStream 2, JSON encoding.
    Akamai,
    /// Any JSON lines: types inferred from the sample.
    Ndjson,
}

type Spec = (&'static str, &'static str, Ty);

const NGINX: &[&str] = &[
    "time_iso8601",
    "time_local",
    "msec",
    "remote_addr",
    "remote_port",
    "remote_user",
    "request",
    "request_method",
    "request_uri",
    "uri",
    "args",
    "server_protocol",
    "status",
    "bytes_sent",
    "body_bytes_sent",
    "request_length",
    "request_time",
    "upstream_addr",
    "upstream_response_time",
    "upstream_cache_status",
    "http_referer",
    "http_user_agent",
    "http_x_forwarded_for",
    "host",
    "http_host",
    "scheme",
    "request_id",
];

const CLOUDFLARE: &[Spec] = &[
    ("EdgeStartTimestamp", "EdgeStartTimestamp", Ty::Time),
    ("EdgeEndTimestamp", "EdgeEndTimestamp", Ty::Time),
    ("ClientIP", "ClientIP", Ty::Str),
    ("ClientRequestHost", "ClientRequestHost", Ty::Str),
    ("ClientRequestMethod", "ClientRequestMethod", Ty::Dict),
    ("ClientRequestURI", "ClientRequestURI", Ty::Str),
    ("ClientRequestPath", "ClientRequestPath", Ty::Str),
    ("ClientRequestProtocol", "ClientRequestProtocol", Ty::Dict),
    ("ClientRequestScheme", "ClientRequestScheme", Ty::Dict),
    ("ClientRequestReferer", "ClientRequestReferer", Ty::Str),
    ("ClientRequestUserAgent", "ClientRequestUserAgent", Ty::Str),
    ("ClientRequestBytes", "ClientRequestBytes", Ty::U64),
    ("ClientSrcPort", "ClientSrcPort", Ty::U16),
    ("ClientCountry", "ClientCountry", Ty::Dict),
    ("ClientASN", "ClientASN", Ty::U64),
    ("ClientDeviceType", "ClientDeviceType", Ty::Dict),
    ("ClientSSLProtocol", "ClientSSLProtocol", Ty::Dict),
    ("EdgeColoCode", "EdgeColoCode", Ty::Dict),
    ("EdgeResponseStatus", "EdgeResponseStatus", Ty::U16),
    ("EdgeResponseBytes", "EdgeResponseBytes", Ty::U64),
    ("EdgeResponseBodyBytes", "EdgeResponseBodyBytes", Ty::U64),
    ("EdgeResponseContentType", "EdgeResponseContentType", Ty::Str),
    ("EdgeTimeToFirstByteMs", "EdgeTimeToFirstByteMs", Ty::U64),
    ("EdgeServerIP", "EdgeServerIP", Ty::Str),
    ("CacheCacheStatus", "CacheCacheStatus", Ty::Dict),
    ("CacheResponseBytes", "CacheResponseBytes", Ty::U64),
    ("CacheResponseStatus", "CacheResponseStatus", Ty::U16),
    ("CacheTieredFill", "CacheTieredFill", Ty::Bool),
    ("OriginIP", "OriginIP", Ty::Str),
    ("OriginResponseStatus", "OriginResponseStatus", Ty::U16),
    ("OriginResponseDurationMs", "OriginResponseDurationMs", Ty::U64),
    ("RayID", "RayID", Ty::Str),
    ("SecurityAction", "SecurityAction", Ty::Dict),
    ("WAFAction", "WAFAction", Ty::Dict),
    ("BotScore", "BotScore", Ty::U64),
    ("ZoneName", "ZoneName", Ty::Str),
];

const FASTLY: &[Spec] = &[
    ("timestamp", "timestamp", Ty::Time),
    ("client_ip", "client_ip", Ty::Str),
    ("geo_country", "geo_country", Ty::Str),
    ("geo_city", "geo_city", Ty::Str),
    ("host", "host", Ty::Str),
    ("url", "url", Ty::Str),
    ("request_method", "request_method", Ty::Dict),
    ("request_protocol", "request_protocol", Ty::Dict),
    ("request_referer", "request_referer", Ty::Str),
    ("request_user_agent", "request_user_agent", Ty::Str),
    ("response_state", "response_state", Ty::Dict),
    ("response_status", "response_status", Ty::U16),
    ("response_body_size", "response_body_size", Ty::U64),
    ("response_reason", "response_reason", Ty::Str),
    ("fastly_server", "fastly_server", Ty::Str),
    ("fastly_is_edge", "fastly_is_edge", Ty::Bool),
    ("elapsed_usec", "elapsed_usec", Ty::U64),
];

const GCP: &[Spec] = &[
    ("timestamp", "timestamp", Ty::Time),
    ("receive_timestamp", "receiveTimestamp", Ty::Time),
    ("request_method", "httpRequest.requestMethod", Ty::Dict),
    ("request_url", "httpRequest.requestUrl", Ty::Str),
    ("request_size", "httpRequest.requestSize", Ty::U64),
    ("status", "httpRequest.status", Ty::U16),
    ("response_size", "httpRequest.responseSize", Ty::U64),
    ("user_agent", "httpRequest.userAgent", Ty::Str),
    ("remote_ip", "httpRequest.remoteIp", Ty::Str),
    ("server_ip", "httpRequest.serverIp", Ty::Str),
    ("referer", "httpRequest.referer", Ty::Str),
    ("latency", "httpRequest.latency", Ty::Str),
    ("cache_lookup", "httpRequest.cacheLookup", Ty::Bool),
    ("cache_hit", "httpRequest.cacheHit", Ty::Bool),
    (
        "cache_validated_with_origin_server",
        "httpRequest.cacheValidatedWithOriginServer",
        Ty::Bool,
    ),
    ("cache_fill_bytes", "httpRequest.cacheFillBytes", Ty::U64),
    ("protocol_version", "httpRequest.protocol", Ty::Dict),
    ("status_details", "jsonPayload.statusDetails", Ty::Dict),
    ("cache_id", "jsonPayload.cacheId", Ty::Str),
    (
        "backend_target_project_number",
        "jsonPayload.backendTargetProjectNumber",
        Ty::Str,
    ),
    ("security_policy", "jsonPayload.enforcedSecurityPolicy", Ty::Str),
    ("resource_type", "resource.type", Ty::Dict),
    ("project_id", "resource.labels.project_id", Ty::Str),
    ("url_map_name", "resource.labels.url_map_name", Ty::Str),
    ("forwarding_rule_name", "resource.labels.forwarding_rule_name", Ty::Str),
    ("target_proxy_name", "resource.labels.target_proxy_name", Ty::Str),
    ("backend_service_name", "resource.labels.backend_service_name", Ty::Str),
    ("insert_id", "insertId", Ty::Str),
    ("severity", "severity", Ty::Dict),
    ("log_name", "logName", Ty::Str),
    ("trace", "trace", Ty::Str),
    ("span_id", "spanId", Ty::Str),
];

/// One column: SQL name, key path (dot-separated), type.
#[derive(Debug, Clone)]
struct JCol {
    col: NativeCol,
    path: Vec<String>,
}

/// A JSON-lines dialect.
#[derive(Debug)]
pub struct JsonRules {
    /// Zone of the sample's first nginx time, shown by default.
    tz: Option<String>,
    kind: Kind,
    cols: Vec<NativeCol>,
    paths: Vec<Vec<String>>,
}

impl JsonRules {
    /// The dialect with its known columns.
    pub fn new(kind: Kind) -> Self {
        let jcols: Vec<JCol> = match kind {
            Kind::Nginx => NGINX
                .iter()
                .map(|n| JCol {
                    col: NativeCol::new(*n, nginx_type(n), format!("${n}")),
                    path: vec![n.to_string()],
                })
                .collect(),
            Kind::Akamai => AKAMAI
                .iter()
                .map(|(n, t, d)| JCol {
                    col: NativeCol::new(*n, *t, *d),
                    path: vec![n.to_string()],
                })
                .collect(),
            Kind::Ndjson => Vec::new(),
            _ => specs(kind)
                .iter()
                .map(|(n, p, t)| JCol {
                    col: NativeCol::new(*n, *t, *p),
                    path: p.split('.').map(str::to_string).collect(),
                })
                .collect(),
        };
        JsonRules {
            tz: None,
            kind,
            cols: jcols.iter().map(|c| c.col.clone()).collect(),
            paths: jcols.into_iter().map(|c| c.path).collect(),
        }
    }
}

fn specs(kind: Kind) -> &'static [Spec] {
    match kind {
        Kind::Cloudflare => CLOUDFLARE,
        Kind::Fastly => FASTLY,
        Kind::Gcp => GCP,
        _ => &[],
    }
}

/// The keys a line must have to be this dialect (any of each group).
fn required(kind: Kind) -> &'static [&'static [&'static str]] {
    match kind {
        Kind::Nginx => &[
            &["remote_addr"],
            &["request", "request_uri", "uri"],
            &["time_iso8601", "time_local", "msec", "@timestamp"],
        ],
        Kind::Cloudflare => &[
            &["EdgeStartTimestamp", "EdgeEndTimestamp"],
            &["ClientIP", "ClientRequestHost"],
        ],
        Kind::Fastly => &[&["response_status"], &["url"], &["fastly_server", "response_state"]],
        Kind::Gcp => &[&["httpRequest"], &["timestamp"]],
        Kind::Akamai => &[&["reqTimeSec"], &["cliIP", "reqHost"]],
        Kind::Ndjson => &[],
    }
}

/// Keys a dialect knows beyond its typed columns (detection counts them as
/// the dialect's; they become text columns when the sample has them): Cloudflare's field families, the rest of a
/// Cloud Logging LogEntry, the rest of the DataStream 2 field set.
fn family_key(kind: Kind, key: &str) -> bool {
    const CLOUDFLARE: &[&str] = &[
        "Client",
        "Edge",
        "Origin",
        "Cache",
        "WAF",
        "Firewall",
        "Security",
        "Bot",
        "Worker",
        "Zone",
        "Ray",
        "ParentRay",
        "JA3",
        "JA4",
        "Leaked",
        "Smart",
        "Upper",
        "Request",
        "Response",
        "Content",
        "Cookies",
        "Contents",
    ];
    const GCP: &[&str] = &[
        "labels",
        "operation",
        "sourceLocation",
        "traceSampled",
        "protoPayload",
        "textPayload",
        "split",
        "errorGroups",
    ];
    const AKAMAI: &[&str] = &[
        "country",
        "state",
        "city",
        "breadcrumbs",
        "lastByte",
        "securityRules",
        "serverCountry",
        "billingRegion",
        "ewUsageInfo",
        "ewExecutionInfo",
        "streamId",
        "edgeAttempts",
        "startupTime",
        "asn",
        "deliveryType",
        "originDnsTime",
        "originConnectTime",
        "originTlsTime",
        "originWaitTime",
        "contentProtectionInfo",
    ];
    match kind {
        Kind::Cloudflare => CLOUDFLARE.iter().any(|p| key.starts_with(p)),
        Kind::Gcp => GCP.contains(&key),
        Kind::Akamai => AKAMAI.contains(&key),
        _ => false,
    }
}

/// The type sample values of one key share.
fn infer(values: &[&J]) -> Ty {
    let present: Vec<&J> = values
        .iter()
        .copied()
        .filter(|v| !matches!(v, J::Null) && !matches!(v, J::String(s) if is_blank(s)))
        .collect();
    if present.is_empty() {
        return Ty::Str;
    }
    let all = |f: &dyn Fn(&J) -> bool| present.iter().all(|v| f(v));
    if all(&|v| v.is_boolean()) {
        Ty::Bool
    } else if all(&|v| {
        v.is_i64()
            || matches!(v, J::String(s) if s.len() < 19 && s.parse::<i64>().is_ok() && !(s.len() > 1 && s.starts_with('0')))
    }) {
        Ty::I64
    } else if all(&|v| v.is_number() || matches!(v, J::String(s) if s.parse::<f64>().is_ok_and(f64::is_finite))) {
        Ty::F64
    } else if all(&|v| matches!(v, J::String(s) if s.len() >= 16 && parse_iso8601(s, 0).is_some())) {
        Ty::Time
    } else {
        Ty::Str
    }
}

impl TextRules for JsonRules {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Nginx => "nginx-json",
            Kind::Cloudflare => "cloudflare",
            Kind::Fastly => "fastly",
            Kind::Gcp => "gcp-lb",
            Kind::Akamai => "akamai-json",
            Kind::Ndjson => "ndjson",
        }
    }

    fn description(&self) -> String {
        match self.kind {
            Kind::Nginx => "nginx log_format escape=json with nginx variable names as keys".into(),
            Kind::Cloudflare => "Cloudflare Logpush http_requests (NDJSON; RFC 3339, unix or unixnano times)".into(),
            Kind::Fastly => {
                "Fastly JSON logging (keys of the common recipe: url, response_status, fastly_server, ...)".into()
            }
            Kind::Gcp => {
                "Google Cloud HTTP(S) load balancer / Cloud CDN request logs (LogEntry with httpRequest)".into()
            }
            Kind::Akamai => "Akamai DataStream 2, JSON encoding".into(),
            Kind::Ndjson => format!(
                "any JSON lines; types inferred from the first lines ({} columns)",
                self.cols.len()
            ),
        }
    }

    fn columns(&self) -> &[NativeCol] {
        &self.cols
    }

    fn default_tz(&self) -> String {
        self.tz.clone().unwrap_or_else(|| "UTC".into())
    }

    fn rank(&self) -> u32 {
        match self.kind {
            Kind::Ndjson => 10,
            Kind::Nginx => 60,
            _ => 80,
        }
    }

    fn needs_sample(&self) -> bool {
        true
    }

    fn knows_key(&self, key: &str) -> Option<bool> {
        match self.kind {
            Kind::Ndjson => None,
            kind => Some(self.paths.iter().any(|p| p[0] == key) || family_key(kind, key)),
        }
    }

    fn sampled(&self, sample: &[String]) -> Sampled {
        let objects: Vec<serde_json::Map<String, J>> = sample
            .iter()
            .filter_map(|l| match serde_json::from_str::<J>(l) {
                Ok(J::Object(m)) => Some(m),
                _ => None,
            })
            .collect();
        let mut keys: Vec<SampledKey> = Vec::new();
        for m in &objects {
            for k in m.keys() {
                if self.paths.iter().any(|p| p[0] == *k) || keys.iter().any(|s| s.key == *k) {
                    continue;
                }
                let ty = match self.kind {
                    Kind::Ndjson => infer(&objects.iter().filter_map(|m| m.get(k)).collect::<Vec<_>>()),
                    Kind::Nginx => nginx_type(k),
                    _ => Ty::Str,
                };
                keys.push(SampledKey { key: k.clone(), ty });
            }
        }
        let tz = match self.kind {
            Kind::Nginx => objects.iter().find_map(nginx_offset),
            _ => None,
        };
        Sampled {
            tz,
            keys,
            ..Sampled::default()
        }
    }

    fn with_sampled(&self, sampled: &Sampled) -> Option<Arc<dyn TextRules>> {
        let mut cols = self.cols.clone();
        let mut paths = self.paths.clone();
        for SampledKey { key, ty } in &sampled.keys {
            // Keys keep their spelling (quote them in SQL: "EdgeStartTimestamp").
            if paths.iter().any(|p| p[0] == *key) || cols.iter().any(|c| c.name == *key) {
                continue;
            }
            cols.push(NativeCol::new(key.clone(), *ty, format!("key {key}")));
            paths.push(vec![key.clone()]);
        }
        Some(Arc::new(JsonRules {
            tz: sampled.tz.clone(),
            kind: self.kind,
            cols,
            paths,
        }))
    }

    fn parser(&self) -> Box<dyn RowParser> {
        let names: Vec<String> = self.cols.iter().map(|c| c.name.clone()).collect();
        Box::new(JsonParser {
            kind: self.kind,
            cols: self.cols.clone(),
            paths: self.paths.clone(),
            nginx: NginxCanon::new(&names),
            names,
        })
    }
}

/// The zone offset an nginx JSON line writes its time in (`+09:00`).
fn nginx_offset(obj: &serde_json::Map<String, J>) -> Option<String> {
    let t = ["time_iso8601", "@timestamp", "time_local"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(J::as_str))?;
    let tail = t
        .rsplit_once(' ')
        .map_or_else(|| t.get(t.len().saturating_sub(6)..).unwrap_or(""), |(_, o)| o);
    let secs = edgelog_parse::time::parse_offset(tail)?;
    Some(format!(
        "{}{:02}:{:02}",
        if secs < 0 { '-' } else { '+' },
        secs.abs() / 3600,
        secs.abs() % 3600 / 60
    ))
}

struct JsonParser {
    kind: Kind,
    cols: Vec<NativeCol>,
    paths: Vec<Vec<String>>,
    nginx: NginxCanon,
    names: Vec<String>,
}

fn lookup<'v>(root: &'v J, path: &[String]) -> Option<&'v J> {
    path.iter().try_fold(root, |v, k| v.get(k))
}

impl RowParser for JsonParser {
    fn parse<'a>(
        &mut self,
        line: &'a str,
        vals: &mut [Val<'a>],
        canon: &mut Canon<'a>,
        unknown: &mut dyn FnMut(&str),
    ) -> Result<bool, ParseError> {
        let root: J = serde_json::from_str(line).map_err(|e| ParseError::Shape(format!("not JSON: {e}")))?;
        let J::Object(obj) = &root else {
            return Err(ParseError::NotAnObject);
        };
        for group in required(self.kind) {
            if !group.iter().any(|k| obj.contains_key(*k)) {
                return Err(ParseError::Shape(format!("no {} key", group.join(" or "))));
            }
        }
        for k in obj.keys() {
            if !self.paths.iter().any(|p| p[0] == *k) {
                unknown(k);
            }
        }
        for ((col, path), slot) in self.cols.iter().zip(&self.paths).zip(vals.iter_mut()) {
            if let Some(v) = lookup(&root, path) {
                *slot = Val::from_json(col.ty, v, &col.name)?;
            }
        }
        let get = |name: &str| self.names.iter().position(|n| n == name).map(|i| &vals[i]);
        let text = |name: &str| get(name).and_then(Val::text).map(|s| Cow::Owned(s.to_string()));
        match self.kind {
            Kind::Nginx | Kind::Ndjson => {
                self.nginx.fill(vals, canon);
                if self.kind == Kind::Ndjson {
                    ndjson_extra(&self.names, vals, canon);
                }
            }
            Kind::Akamai => akamai_canon(vals, canon),
            Kind::Cloudflare => {
                canon.time = get("EdgeStartTimestamp").and_then(Val::time);
                canon.client_ip = text("ClientIP");
                canon.host = text("ClientRequestHost");
                canon.method = text("ClientRequestMethod");
                if let Some(uri) = text("ClientRequestURI") {
                    canon.url(&uri);
                } else if let Some(p) = text("ClientRequestPath") {
                    canon.path = Some(p);
                }
                canon.protocol = text("ClientRequestProtocol");
                canon.status = get("EdgeResponseStatus")
                    .and_then(Val::u64)
                    .and_then(|s| u16::try_from(s).ok());
                canon.bytes = get("EdgeResponseBytes").and_then(Val::u64);
                canon.cache_status = text("CacheCacheStatus");
                canon.referer = text("ClientRequestReferer");
                canon.user_agent = text("ClientRequestUserAgent");
                canon.request_time = match (get("EdgeStartTimestamp"), get("EdgeEndTimestamp")) {
                    (Some(Val::Time(s)), Some(Val::Time(e))) if e >= s => Some((e - s) as f64 / 1000.0),
                    _ => None,
                };
            }
            Kind::Fastly => {
                canon.time = get("timestamp").and_then(Val::time);
                canon.client_ip = text("client_ip");
                canon.host = text("host");
                if let Some(u) = text("url") {
                    canon.url(&u);
                }
                canon.method = text("request_method");
                canon.protocol = text("request_protocol");
                canon.status = get("response_status")
                    .and_then(Val::u64)
                    .and_then(|s| u16::try_from(s).ok());
                canon.bytes = get("response_body_size").and_then(Val::u64);
                canon.cache_status = text("response_state");
                canon.referer = text("request_referer");
                canon.user_agent = text("request_user_agent");
                canon.request_time = get("elapsed_usec").and_then(Val::f64).map(|us| us / 1e6);
            }
            Kind::Gcp => {
                canon.time = get("timestamp").and_then(Val::time);
                canon.client_ip = text("remote_ip");
                if let Some(u) = text("request_url") {
                    canon.url(&u);
                }
                canon.host = canon.host.take().map(|h| Cow::Owned(strip_port(&h).to_string()));
                canon.method = text("request_method");
                canon.protocol = text("protocol_version");
                canon.status = get("status").and_then(Val::u64).and_then(|s| u16::try_from(s).ok());
                canon.bytes = get("response_size").and_then(Val::u64);
                canon.cache_status = match (get("cache_lookup"), get("cache_hit")) {
                    (_, Some(Val::Bool(true))) => Some(Cow::Borrowed("HIT")),
                    (Some(Val::Bool(true)), _) => Some(Cow::Borrowed("MISS")),
                    _ => None,
                };
                canon.referer = text("referer");
                canon.user_agent = text("user_agent");
                canon.request_time = get("latency")
                    .and_then(Val::text)
                    .and_then(|l| l.trim_end_matches('s').parse::<f64>().ok());
            }
        }
        Ok(true)
    }
}

/// Canonical columns generic JSON may name differently from nginx.
fn ndjson_extra<'a>(names: &[String], vals: &[Val<'a>], c: &mut Canon<'a>) {
    let find = |cands: &[&str]| {
        cands
            .iter()
            .find_map(|k| names.iter().position(|n| n == k))
            .map(|i| &vals[i])
    };
    if c.time.is_none() {
        // The first column whose values are times.
        c.time = vals.iter().find_map(Val::time);
    }
    if c.client_ip.is_none() {
        c.client_ip = find(&["ip", "remote_ip", "clientip", "client"]).and_then(Val::cow);
    }
    if c.host.is_none() {
        c.host = find(&["hostname", "server"]).and_then(Val::cow);
    }
    if c.path.is_none()
        && let Some(u) = find(&["path", "url"]).and_then(Val::text).map(str::to_string)
    {
        c.url(&u);
    }
    if c.bytes.is_none() {
        c.bytes = find(&["bytes", "size", "response_size"]).and_then(Val::u64);
    }
    if c.status.is_none() {
        c.status = find(&["status_code", "response_status", "code"])
            .and_then(Val::u64)
            .and_then(|s| u16::try_from(s).ok());
    }
}
