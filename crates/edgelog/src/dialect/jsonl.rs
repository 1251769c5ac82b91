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
use super::generic::{Canon, NativeCol, RowParser, TextRules, Ty, Val, first_address, is_blank, strip_port};
use super::spec::{Sampled, SampledKey};
use super::synonyms::CanonMap;

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
    /// Caddy v2 access logs (`http.log.access`).
    Caddy,
    /// Traefik access logs, JSON format.
    Traefik,
    /// Azure Front Door / Azure CDN access logs as diagnostic settings export them.
    AzureFrontDoor,
    /// Envoy JSON access logs with the keys of Istio's and Envoy Gateway's defaults.
    EnvoyJson,
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

const CADDY: &[Spec] = &[
    ("ts", "ts", Ty::Time),
    ("level", "level", Ty::Dict),
    ("logger", "logger", Ty::Dict),
    ("msg", "msg", Ty::Str),
    ("request_remote_ip", "request.remote_ip", Ty::Str),
    ("request_remote_port", "request.remote_port", Ty::U16),
    ("request_client_ip", "request.client_ip", Ty::Str),
    ("request_proto", "request.proto", Ty::Dict),
    ("request_method", "request.method", Ty::Dict),
    ("request_host", "request.host", Ty::Str),
    ("request_uri", "request.uri", Ty::Str),
    ("request_headers", "request.headers", Ty::Str),
    ("forwarded_for", "request.headers.X-Forwarded-For", Ty::List),
    ("tls_version", "request.tls.version", Ty::U64),
    ("tls_cipher_suite", "request.tls.cipher_suite", Ty::U64),
    ("tls_proto", "request.tls.proto", Ty::Dict),
    ("tls_server_name", "request.tls.server_name", Ty::Str),
    ("user_id", "user_id", Ty::Str),
    ("duration", "duration", Ty::F64),
    ("size", "size", Ty::U64),
    ("status", "status", Ty::U16),
    ("bytes_read", "bytes_read", Ty::U64),
    ("resp_headers", "resp_headers", Ty::Str),
];

const TRAEFIK: &[Spec] = &[
    ("StartUTC", "StartUTC", Ty::Time),
    ("StartLocal", "StartLocal", Ty::Time),
    ("ClientAddr", "ClientAddr", Ty::Str),
    ("ClientHost", "ClientHost", Ty::Str),
    ("ClientPort", "ClientPort", Ty::U16),
    ("ClientUsername", "ClientUsername", Ty::Str),
    ("RequestAddr", "RequestAddr", Ty::Str),
    ("RequestHost", "RequestHost", Ty::Str),
    ("RequestPort", "RequestPort", Ty::U16),
    ("RequestMethod", "RequestMethod", Ty::Dict),
    ("RequestPath", "RequestPath", Ty::Str),
    ("RequestProtocol", "RequestProtocol", Ty::Dict),
    ("RequestScheme", "RequestScheme", Ty::Dict),
    ("RequestLine", "RequestLine", Ty::Str),
    ("RequestContentSize", "RequestContentSize", Ty::U64),
    ("RequestCount", "RequestCount", Ty::U64),
    ("DownstreamStatus", "DownstreamStatus", Ty::U16),
    ("DownstreamContentSize", "DownstreamContentSize", Ty::U64),
    ("OriginStatus", "OriginStatus", Ty::U16),
    ("OriginContentSize", "OriginContentSize", Ty::U64),
    ("Duration", "Duration", Ty::I64),
    ("OriginDuration", "OriginDuration", Ty::I64),
    ("Overhead", "Overhead", Ty::I64),
    ("RetryAttempts", "RetryAttempts", Ty::U64),
    ("RouterName", "RouterName", Ty::Str),
    ("ServiceName", "ServiceName", Ty::Str),
    ("ServiceAddr", "ServiceAddr", Ty::Str),
    ("ServiceURL", "ServiceURL", Ty::Str),
    ("FrontendName", "FrontendName", Ty::Str),
    ("BackendName", "BackendName", Ty::Str),
    ("BackendAddr", "BackendAddr", Ty::Str),
    ("BackendURL", "BackendURL", Ty::Str),
    ("entryPointName", "entryPointName", Ty::Dict),
    ("TLSVersion", "TLSVersion", Ty::Dict),
    ("TLSCipher", "TLSCipher", Ty::Str),
    ("TraceId", "TraceId", Ty::Str),
    ("SpanId", "SpanId", Ty::Str),
    ("level", "level", Ty::Dict),
    ("msg", "msg", Ty::Str),
    ("time", "time", Ty::Time),
];

const AZURE: &[Spec] = &[
    ("time", "time", Ty::Time),
    ("resourceId", "resourceId", Ty::Str),
    ("category", "category", Ty::Dict),
    ("operationName", "operationName", Ty::Dict),
    ("trackingReference", "properties.trackingReference", Ty::Str),
    ("httpMethod", "properties.httpMethod", Ty::Dict),
    ("httpVersion", "properties.httpVersion", Ty::Dict),
    ("requestUri", "properties.requestUri", Ty::Str),
    ("hostName", "properties.hostName", Ty::Str),
    ("sni", "properties.sni", Ty::Str),
    ("requestBytes", "properties.requestBytes", Ty::U64),
    ("responseBytes", "properties.responseBytes", Ty::U64),
    ("userAgent", "properties.userAgent", Ty::Str),
    ("referer", "properties.referer", Ty::Str),
    ("clientIp", "properties.clientIp", Ty::Str),
    ("clientPort", "properties.clientPort", Ty::U16),
    ("socketIp", "properties.socketIp", Ty::Str),
    ("timeToFirstByte", "properties.timeToFirstByte", Ty::F64),
    ("timeTaken", "properties.timeTaken", Ty::F64),
    ("requestProtocol", "properties.requestProtocol", Ty::Dict),
    ("securityProtocol", "properties.securityProtocol", Ty::Dict),
    ("securityCipher", "properties.securityCipher", Ty::Str),
    ("httpStatusCode", "properties.httpStatusCode", Ty::U16),
    ("httpStatusDetails", "properties.httpStatusDetails", Ty::Str),
    ("pop", "properties.pop", Ty::Dict),
    ("cacheStatus", "properties.cacheStatus", Ty::Dict),
    ("errorInfo", "properties.errorInfo", Ty::Dict),
    ("result", "properties.result", Ty::Dict),
    ("endpoint", "properties.endpoint", Ty::Str),
    ("routingRuleName", "properties.routingRuleName", Ty::Str),
    ("rulesEngineMatchNames", "properties.rulesEngineMatchNames", Ty::Str),
    ("originName", "properties.originName", Ty::Str),
    ("originUrl", "properties.originUrl", Ty::Str),
    ("originIp", "properties.originIp", Ty::Str),
    ("backendHostname", "properties.backendHostname", Ty::Str),
    ("isReceivedFromClient", "properties.isReceivedFromClient", Ty::Bool),
];

/// Istio's default JSON keys; Envoy Gateway spells some of them as the
/// header or operator (see [`envoy_alias`]).
const ENVOY_JSON: &[Spec] = &[
    ("start_time", "start_time", Ty::Time),
    ("method", "method", Ty::Dict),
    ("path", "path", Ty::Str),
    ("protocol", "protocol", Ty::Dict),
    ("response_code", "response_code", Ty::U16),
    ("response_flags", "response_flags", Ty::Dict),
    ("response_code_details", "response_code_details", Ty::Dict),
    (
        "connection_termination_details",
        "connection_termination_details",
        Ty::Str,
    ),
    (
        "upstream_transport_failure_reason",
        "upstream_transport_failure_reason",
        Ty::Str,
    ),
    ("bytes_received", "bytes_received", Ty::U64),
    ("bytes_sent", "bytes_sent", Ty::U64),
    ("duration", "duration", Ty::U64),
    ("upstream_service_time", "upstream_service_time", Ty::U64),
    ("x_forwarded_for", "x_forwarded_for", Ty::Str),
    ("user_agent", "user_agent", Ty::Str),
    ("request_id", "request_id", Ty::Str),
    ("authority", "authority", Ty::Str),
    ("upstream_host", "upstream_host", Ty::Str),
    ("upstream_cluster", "upstream_cluster", Ty::Dict),
    ("upstream_local_address", "upstream_local_address", Ty::Str),
    ("downstream_local_address", "downstream_local_address", Ty::Str),
    ("downstream_remote_address", "downstream_remote_address", Ty::Str),
    ("requested_server_name", "requested_server_name", Ty::Str),
    ("route_name", "route_name", Ty::Str),
];

/// Envoy Gateway's key for an Istio-named column.
fn envoy_alias(key: &str) -> Option<&'static str> {
    Some(match key {
        "path" => "x-envoy-origin-path",
        "authority" => ":authority",
        "user_agent" => "user-agent",
        "x_forwarded_for" => "x-forwarded-for",
        "request_id" => "x-request-id",
        "upstream_service_time" => "x-envoy-upstream-service-time",
        _ => return None,
    })
}

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
    /// Generic NDJSON: the user's `column=key` pairs.
    declared: Vec<(String, String)>,
    /// Generic NDJSON: where the canonical columns come from.
    map: CanonMap,
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
            declared: Vec::new(),
            map: CanonMap::default(),
        }
        .with_map()
    }

    /// Generic NDJSON with the user's mapping of canonical columns to keys
    /// (`client_ip=src,bytes=resp.size`); the error names a bad pair.
    pub fn ndjson(declared: &[(String, String)]) -> Result<Self, String> {
        let mut rules = JsonRules::new(Kind::Ndjson);
        rules.declared = declared.to_vec();
        rules.map = CanonMap::new(declared)?;
        Ok(rules)
    }

    fn with_map(mut self) -> Self {
        if self.kind == Kind::Ndjson {
            self.map = CanonMap::new(&self.declared).unwrap_or_default();
        }
        self
    }
}

fn specs(kind: Kind) -> &'static [Spec] {
    match kind {
        Kind::Cloudflare => CLOUDFLARE,
        Kind::Fastly => FASTLY,
        Kind::Gcp => GCP,
        Kind::Caddy => CADDY,
        Kind::Traefik => TRAEFIK,
        Kind::AzureFrontDoor => AZURE,
        Kind::EnvoyJson => ENVOY_JSON,
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
        Kind::Caddy => &[&["request"], &["ts"], &["status"], &["duration"]],
        Kind::Traefik => &[
            &["StartUTC", "StartLocal"],
            &["DownstreamStatus", "OriginStatus"],
            &["RequestMethod", "RequestLine"],
        ],
        Kind::AzureFrontDoor => &[&["properties"], &["time"], &["category", "operationName"]],
        Kind::EnvoyJson => &[
            &["response_code"],
            &["start_time"],
            &[
                "upstream_host",
                "upstream_cluster",
                "response_flags",
                "route_name",
                "downstream_remote_address",
                "x-envoy-origin-path",
            ],
        ],
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
    const AZURE: &[&str] = &[
        "Level",
        "location",
        "tenantId",
        "callerIpAddress",
        "correlationId",
        "identity",
        "resultType",
        "resultSignature",
        "durationMs",
        "ResourceId",
        "SourceSystem",
        "Type",
        "TimeGenerated",
    ];
    match kind {
        Kind::Cloudflare => CLOUDFLARE.iter().any(|p| key.starts_with(p)),
        // Headers Traefik was told to keep: `request_User-Agent`, ...
        Kind::Traefik => [
            "request_",
            "downstream_",
            "origin_",
            "Origin",
            "Downstream",
            "Request",
            "GzipRatio",
        ]
        .iter()
        .any(|p| key.starts_with(p)),
        Kind::AzureFrontDoor => AZURE.contains(&key),
        Kind::EnvoyJson => {
            ENVOY_JSON.iter().any(|(n, ..)| envoy_alias(n) == Some(key))
                || [
                    "referer",
                    "x-envoy-external-address",
                    "downstream_direct_remote_address",
                ]
                .contains(&key)
        }
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
            Kind::Caddy => "caddy",
            Kind::Traefik => "traefik-json",
            Kind::AzureFrontDoor => "azure-frontdoor",
            Kind::EnvoyJson => "envoy-json",
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
            Kind::Caddy => "Caddy v2 access logs (JSON, logger http.log.access; ts as epoch seconds)".into(),
            Kind::Traefik => "Traefik access logs, JSON format (v1 to v3 field names; Duration in ns)".into(),
            Kind::AzureFrontDoor => {
                "Azure Front Door / Azure CDN access logs as diagnostic settings export them (JSON with properties)"
                    .into()
            }
            Kind::EnvoyJson => "Envoy JSON access logs (Istio's default keys, or Envoy Gateway's: :authority, \
                                x-envoy-origin-path, user-agent, ...; duration in ms)"
                .into(),
            Kind::Ndjson => format!(
                "any JSON lines; types inferred from the first lines ({} columns), canonical columns from common key \
                 names (ndjson:COLUMN=KEY,... to declare others)",
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
            .filter_map(|l| match serde_json::from_str::<J>(json_start(l)) {
                Ok(J::Object(m)) => Some(m),
                _ => None,
            })
            .collect();
        let mut keys: Vec<SampledKey> = Vec::new();
        for m in &objects {
            for k in m.keys() {
                // Envoy Gateway's spellings of Envoy JSON's columns are read as them.
                let aliased = self.kind == Kind::EnvoyJson && family_key(self.kind, k);
                if aliased || self.paths.iter().any(|p| p[0] == *k) || keys.iter().any(|s| s.key == *k) {
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
            declared: self.declared.clone(),
            map: self.map.clone(),
        }))
    }

    fn parser(&self) -> Box<dyn RowParser> {
        let names: Vec<String> = self.cols.iter().map(|c| c.name.clone()).collect();
        Box::new(JsonParser {
            kind: self.kind,
            cols: self.cols.clone(),
            paths: self.paths.clone(),
            nginx: NginxCanon::new(&names),
            map: self.map.clone(),
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
    map: CanonMap,
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
        let root: J =
            serde_json::from_str(json_start(line)).map_err(|e| ParseError::Shape(format!("not JSON: {e}")))?;
        let J::Object(obj) = &root else {
            return Err(ParseError::NotAnObject);
        };
        for group in required(self.kind) {
            if !group.iter().any(|k| obj.contains_key(*k)) {
                return Err(ParseError::Shape(format!("no {} key", group.join(" or "))));
            }
        }
        for k in obj.keys() {
            let aliased = self.kind == Kind::EnvoyJson && family_key(self.kind, k);
            if !aliased && !self.paths.iter().any(|p| p[0] == *k) {
                unknown(k);
            }
        }
        for ((col, path), slot) in self.cols.iter().zip(&self.paths).zip(vals.iter_mut()) {
            let v = lookup(&root, path).or_else(|| match self.kind {
                Kind::EnvoyJson => root.get(envoy_alias(&path[0])?),
                _ => None,
            });
            if let Some(v) = v {
                *slot = Val::from_json(col.ty, v, &col.name)?;
            }
        }
        let get = |name: &str| self.names.iter().position(|n| n == name).map(|i| &vals[i]);
        let text = |name: &str| get(name).and_then(Val::text).map(|s| Cow::Owned(s.to_string()));
        match self.kind {
            Kind::Nginx => self.nginx.fill(vals, canon),
            Kind::Ndjson => {
                self.map.fill(&root, canon);
                if canon.time.is_none() {
                    // The first column whose values are times.
                    canon.time = vals.iter().find_map(Val::time);
                }
            }
            Kind::Caddy => {
                canon.time = get("ts").and_then(Val::time);
                canon.client_ip = text("request_client_ip").or_else(|| text("request_remote_ip"));
                canon.host = text("request_host").map(|h| Cow::Owned(strip_port(&h).to_string()));
                canon.method = text("request_method");
                if let Some(u) = text("request_uri") {
                    canon.url(&u);
                }
                canon.protocol = text("request_proto");
                canon.status = get("status").and_then(Val::u64).and_then(|s| u16::try_from(s).ok());
                canon.bytes = get("size").and_then(Val::u64);
                canon.cache_status = header(&root, &["resp_headers", "Cache-Status"])
                    .or_else(|| header(&root, &["resp_headers", "X-Cache"]));
                canon.referer = header(&root, &["request", "headers", "Referer"]);
                canon.user_agent = header(&root, &["request", "headers", "User-Agent"]);
                canon.request_time = get("duration").and_then(Val::f64);
            }
            Kind::Traefik => {
                canon.time = get("StartUTC")
                    .and_then(Val::time)
                    .or_else(|| get("StartLocal").and_then(Val::time));
                canon.client_ip = text("ClientHost")
                    .map(|h| Cow::Owned(first_address(&h).to_string()))
                    .or_else(|| text("ClientAddr").map(|a| Cow::Owned(strip_port(&a).to_string())));
                canon.host = text("RequestHost");
                if let Some(line) = text("RequestLine") {
                    canon.request_line_owned(&line);
                }
                if let Some(m) = text("RequestMethod") {
                    canon.method = Some(m);
                }
                if let Some(p) = text("RequestPath") {
                    canon.url(&p);
                }
                if let Some(p) = text("RequestProtocol") {
                    canon.protocol = Some(p);
                }
                canon.status = get("DownstreamStatus")
                    .or_else(|| get("OriginStatus"))
                    .and_then(Val::u64)
                    .and_then(|s| u16::try_from(s).ok());
                canon.bytes = get("DownstreamContentSize").and_then(Val::u64);
                canon.referer = header(&root, &["request_Referer"]);
                canon.user_agent = header(&root, &["request_User-Agent"]);
                canon.request_time = get("Duration").and_then(Val::f64).map(|ns| ns / 1e9);
            }
            Kind::EnvoyJson => {
                canon.time = get("start_time").and_then(Val::time);
                canon.host = text("authority").map(|h| Cow::Owned(strip_port(&h).to_string()));
                canon.client_ip = text("x_forwarded_for")
                    .map(|x| Cow::Owned(first_address(&x).to_string()))
                    .or_else(|| text("downstream_remote_address").map(|a| Cow::Owned(strip_port(&a).to_string())));
                canon.method = text("method");
                if let Some(p) = text("path") {
                    canon.url(&p);
                }
                canon.protocol = text("protocol");
                canon.status = get("response_code")
                    .and_then(Val::u64)
                    .and_then(|s| u16::try_from(s).ok())
                    .filter(|&s| s != 0);
                canon.bytes = get("bytes_sent").and_then(Val::u64);
                canon.referer = header(&root, &["referer"]);
                canon.user_agent = text("user_agent");
                canon.request_time = get("duration").and_then(Val::f64).map(|ms| ms / 1e3);
            }
            Kind::AzureFrontDoor => {
                canon.time = get("time").and_then(Val::time);
                canon.client_ip = text("clientIp");
                canon.host = text("hostName").map(|h| Cow::Owned(strip_port(&h).to_string()));
                canon.method = text("httpMethod");
                if let Some(u) = text("requestUri") {
                    canon.url(&u);
                }
                // `1.1.0`, `2.0.0`: as the request line writes it.
                canon.protocol = text("httpVersion").map(|v| {
                    let mut parts = v.split('.');
                    match (parts.next(), parts.next()) {
                        (Some(major), Some(minor)) => Cow::Owned(format!("HTTP/{major}.{minor}")),
                        _ => Cow::Owned(format!("HTTP/{v}")),
                    }
                });
                canon.status = get("httpStatusCode")
                    .and_then(Val::u64)
                    .and_then(|s| u16::try_from(s).ok());
                canon.bytes = get("responseBytes").and_then(Val::u64);
                canon.cache_status = text("cacheStatus");
                canon.referer = text("referer");
                canon.user_agent = text("userAgent");
                canon.request_time = get("timeTaken").and_then(Val::f64);
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

/// The JSON object of a line, after the prefix a container runtime writes
/// before it: Kubernetes' CRI (`2025-12-31T17:37:40.49+01:00 stdout F {...}`)
/// or `docker compose logs` (`caddy  | {...}`). Other lines are themselves.
pub fn json_start(line: &str) -> &str {
    if line.trim_start().starts_with('{') {
        return line;
    }
    let mut parts = line.splitn(4, ' ');
    if let (Some(ts), Some(stream), Some(tag), Some(rest)) = (parts.next(), parts.next(), parts.next(), parts.next())
        && ts.contains('T')
        && matches!(stream, "stdout" | "stderr")
        && matches!(tag, "F" | "P")
        && rest.starts_with('{')
    {
        return rest;
    }
    if let Some(i) = line.find("| {")
        && let Some(name) = line[..i].strip_suffix(' ')
        && !name.trim().is_empty()
        && !name.trim().contains(char::is_whitespace)
    {
        return &line[i + 2..];
    }
    line
}

/// A header as a text: Caddy logs each as an array of values (the first is
/// taken), Traefik as a string.
fn header(root: &J, path: &[&str]) -> Option<Cow<'static, str>> {
    let v = path.iter().try_fold(root, |v, k| v.get(*k))?;
    let s = match v {
        J::Array(a) => a.first()?.as_str()?,
        J::String(s) => s.as_str(),
        _ => return None,
    };
    (!is_blank(s)).then(|| Cow::Owned(s.to_string()))
}
