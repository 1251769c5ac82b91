//! Tracing for teams on OpenTelemetry: a caller's W3C trace context (the
//! `traceparent` header of an API request, the `TRACEPARENT` variable of a
//! CLI run) is continued, and the spans of edgelog's own work (listing,
//! scanning, queries, reports, notifications) are exported over OTLP/HTTP
//! with the JSON encoding when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. Nothing is recorded or
//! sent when neither is set.
//!
//! Own code rather than the opentelemetry crates: those bring a second
//! HTTP client and protobuf stack for what is ~one JSON document per batch.
//! Spans are buffered and sent by [`flush`] (the CLI at its end, the server
//! every few seconds); a failed export is dropped after one try, never
//! retried into the work it describes.

use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a span sits: its trace, itself, and whether the caller sampled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanContext {
    /// The trace, 16 bytes, never all zero.
    pub trace_id: [u8; 16],
    /// The span, 8 bytes, never all zero.
    pub span_id: [u8; 8],
    /// The caller's sampled flag (`01`); spans of an unsampled trace are not exported.
    pub sampled: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

impl SpanContext {
    /// A `traceparent` value (`00-TRACE-SPAN-FLAGS`, W3C Trace Context);
    /// `None` for anything malformed, as the recommendation says (the
    /// caller's context is then ignored and a new trace begins).
    pub fn parse(text: &str) -> Option<SpanContext> {
        let mut parts = text.trim().split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let span = parts.next()?;
        let flags = parts.next()?;
        // Version 00 has exactly four parts; a later version may add more.
        if version == "ff" || unhex::<1>(version).is_none() || (version == "00" && parts.next().is_some()) {
            return None;
        }
        let trace_id = unhex::<16>(trace)?;
        let span_id = unhex::<8>(span)?;
        let flags = unhex::<1>(flags)?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(SpanContext {
            trace_id,
            span_id,
            sampled: flags[0] & 1 == 1,
        })
    }

    /// This context as a `traceparent` value, for a call edgelog makes.
    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{}",
            hex(&self.trace_id),
            hex(&self.span_id),
            if self.sampled { "01" } else { "00" }
        )
    }
}

fn new_span_id() -> [u8; 8] {
    loop {
        let id: [u8; 8] = rand::random();
        if id != [0; 8] {
            return id;
        }
    }
}

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// What a span is to its trace (OTLP `SpanKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// Work inside edgelog.
    Internal = 1,
    /// An HTTP request edgelog answered.
    Server = 2,
    /// A call edgelog made (a notification).
    Client = 3,
}

/// A value of a span attribute.
#[derive(Debug, Clone)]
pub enum Value {
    /// Text.
    Str(String),
    /// A whole number.
    Int(i64),
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Str(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Str(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

/// A span being timed; recorded when it ends (dropped unended, it is lost).
#[derive(Debug)]
pub struct Span {
    name: String,
    kind: SpanKind,
    context: SpanContext,
    parent: Option<[u8; 8]>,
    start_ns: u128,
    attributes: Vec<(String, Value)>,
    error: Option<String>,
}

impl Span {
    /// A span under `parent` (the caller's context), or the first of a new trace.
    pub fn start(name: &str, kind: SpanKind, parent: Option<SpanContext>) -> Span {
        let context = SpanContext {
            trace_id: parent.map_or_else(
                || loop {
                    let id: [u8; 16] = rand::random();
                    if id != [0; 16] {
                        break id;
                    }
                },
                |p| p.trace_id,
            ),
            span_id: new_span_id(),
            sampled: parent.is_none_or(|p| p.sampled),
        };
        Span {
            name: name.to_string(),
            kind,
            context,
            parent: parent.map(|p| p.span_id),
            start_ns: now_ns(),
            attributes: Vec::new(),
            error: None,
        }
    }

    /// A span of work done for this one.
    pub fn child(&self, name: &str, kind: SpanKind) -> Span {
        Span::start(name, kind, Some(self.context))
    }

    /// Where this span sits, to continue the trace elsewhere.
    pub fn context(&self) -> SpanContext {
        self.context
    }

    /// Notes an attribute (never a secret).
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.attributes.push((key.to_string(), value.into()));
    }

    /// Marks the span failed, with a one-line reason.
    pub fn fail(&mut self, message: &str) {
        self.error = Some(message.to_string());
    }

    /// Ends the span: buffered for [`flush`] when exporting is on.
    pub fn end(self) {
        let Some(exporter) = exporter() else { return };
        if !self.context.sampled {
            return;
        }
        let end = now_ns();
        let mut buffer = exporter.buffer.lock().unwrap_or_else(|e| e.into_inner());
        // A collector that is down must not make memory grow without end.
        if buffer.len() < MAX_BUFFERED {
            buffer.push(self.to_json(end));
        }
    }

    fn to_json(&self, end_ns: u128) -> serde_json::Value {
        let attributes: Vec<serde_json::Value> = self
            .attributes
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::Str(s) => serde_json::json!({ "stringValue": s }),
                    // OTLP/JSON carries 64-bit integers as strings.
                    Value::Int(i) => serde_json::json!({ "intValue": i.to_string() }),
                };
                serde_json::json!({ "key": k, "value": value })
            })
            .collect();
        let mut span = serde_json::json!({
            "traceId": hex(&self.context.trace_id),
            "spanId": hex(&self.context.span_id),
            "name": self.name,
            "kind": self.kind as i32,
            "startTimeUnixNano": self.start_ns.to_string(),
            "endTimeUnixNano": end_ns.to_string(),
            "attributes": attributes,
            "status": match &self.error {
                Some(m) => serde_json::json!({ "code": 2, "message": m }),
                None => serde_json::json!({ "code": 0 }),
            },
        });
        if let Some(parent) = self.parent {
            span["parentSpanId"] = serde_json::Value::String(hex(&parent));
        }
        span
    }
}

const MAX_BUFFERED: usize = 10_000;

struct Exporter {
    url: String,
    headers: Vec<(String, String)>,
    service: String,
    buffer: Mutex<Vec<serde_json::Value>>,
}

/// The exporter the environment asks for, read once.
fn exporter() -> Option<&'static Exporter> {
    static EXPORTER: OnceLock<Option<Exporter>> = OnceLock::new();
    EXPORTER
        .get_or_init(|| {
            let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
            let url = match var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
                Some(url) => url,
                None => format!(
                    "{}/v1/traces",
                    var("OTEL_EXPORTER_OTLP_ENDPOINT")?.trim_end_matches('/')
                ),
            };
            // `key=value,key=value`, percent-encoded values (the spec's form).
            let headers = var("OTEL_EXPORTER_OTLP_HEADERS")
                .map(|h| {
                    h.split(',')
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(k, v)| {
                            let v = url::form_urlencoded::parse(format!("v={v}").as_bytes())
                                .next()
                                .map_or_else(|| v.to_string(), |(_, v)| v.into_owned());
                            (k.trim().to_string(), v.trim().to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(Exporter {
                url,
                headers,
                service: var("OTEL_SERVICE_NAME").unwrap_or_else(|| "edgelog".into()),
                buffer: Mutex::new(Vec::new()),
            })
        })
        .as_ref()
}

/// Whether spans are exported at all.
pub fn enabled() -> bool {
    exporter().is_some()
}

/// The trace context of this process's caller: `TRACEPARENT`, read once.
pub fn process_parent() -> Option<SpanContext> {
    static PARENT: OnceLock<Option<SpanContext>> = OnceLock::new();
    *PARENT.get_or_init(|| std::env::var("TRACEPARENT").ok().and_then(|t| SpanContext::parse(&t)))
}

/// The span of this CLI run, under `TRACEPARENT`; the spans of the
/// command's work ([`work_span`]) hang under it.
static PROCESS_SPAN: OnceLock<SpanContext> = OnceLock::new();

/// Starts the span of a CLI command (call once, early).
pub fn start_process(name: &str) -> Span {
    let span = Span::start(name, SpanKind::Internal, process_parent());
    let _ = PROCESS_SPAN.set(span.context());
    span
}

/// A span of work under `parent`, or under the CLI command's span when none is given.
pub fn work_span(name: &str, parent: Option<SpanContext>) -> Span {
    Span::start(name, SpanKind::Internal, parent.or_else(|| PROCESS_SPAN.get().copied()))
}

/// Sends the spans ended so far, at most `timeout` long; what cannot be
/// sent is dropped (the reason comes back to be shown, without headers).
pub async fn flush(timeout: std::time::Duration) -> Result<usize, String> {
    let Some(exporter) = exporter() else { return Ok(0) };
    let spans = std::mem::take(&mut *exporter.buffer.lock().unwrap_or_else(|e| e.into_inner()));
    if spans.is_empty() {
        return Ok(0);
    }
    let n = spans.len();
    let body = serde_json::json!({
        "resourceSpans": [{
            "resource": { "attributes": [
                { "key": "service.name", "value": { "stringValue": exporter.service } },
                { "key": "service.version", "value": { "stringValue": env!("CARGO_PKG_VERSION") } },
            ]},
            "scopeSpans": [{
                "scope": { "name": "edgelog", "version": env!("CARGO_PKG_VERSION") },
                "spans": spans,
            }],
        }]
    });
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot set up HTTP: {}", e.without_url()))?;
    let mut request = client
        .post(&exporter.url)
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in &exporter.headers {
        request = request.header(k.as_str(), v.as_str());
    }
    // The URL may carry credentials; errors are shown without it.
    let response = request
        .send()
        .await
        .map_err(|e| format!("cannot export {n} spans: {}", e.without_url()))?;
    if !response.status().is_success() {
        return Err(format!(
            "the trace collector answered {} to {n} spans",
            response.status()
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_malformed_ones_are_ignored() {
        let t = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let c = SpanContext::parse(t).unwrap();
        assert_eq!(c.traceparent(), t);
        assert!(c.sampled);
        assert!(
            !SpanContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
                .unwrap()
                .sampled
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
        ] {
            assert!(SpanContext::parse(bad).is_none(), "{bad}");
        }
        // A later version may carry more parts.
        assert!(SpanContext::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x").is_some());
    }

    #[test]
    fn a_child_continues_the_trace_with_its_parent_named() {
        let parent = SpanContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        let root = Span::start("request", SpanKind::Server, Some(parent));
        let child = root.child("scan", SpanKind::Internal);
        assert_eq!(child.context().trace_id, parent.trace_id);
        assert_eq!(child.parent, Some(root.context().span_id));
        assert_ne!(child.context().span_id, root.context().span_id);
        let json = child.to_json(now_ns());
        assert_eq!(json["parentSpanId"], hex(&root.context().span_id));
        assert_eq!(json["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    }
}
