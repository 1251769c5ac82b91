//! The routes: thin handlers that turn a request into plain data
//! ([`ScanRequest`], panels, SQL), ask the front door, and answer JSON (or
//! the query's format). One middleware around all of them checks who asks,
//! sets the security headers, counts, traces and writes the access log.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::FutureExt;
use tokio::sync::OwnedSemaphorePermit;

use super::AppState;
use super::cache::Failure;
use super::error::ApiError;
use crate::engine::{Compare, LogSet, QueryService, RangeSpec, ReportOptions, ScanRequest, TimeArg};
use crate::trace::{Span, SpanContext, SpanKind};

/// The client's address, put on each request by the connection.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// The request's trace span's context, for the handlers' own spans.
#[derive(Debug, Clone, Copy)]
struct Traced(SpanContext);

/// The dashboard's policy: only its own script and style, fetches to
/// itself, no frames, no forms elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; font-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

fn json(value: &serde_json::Value) -> Response {
    json_text(value.to_string())
}

fn json_text(text: String) -> Response {
    let mut r = text.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Every route.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/", get(index))
        .route(
            "/assets/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/app.css",
            get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
        )
        .route("/login", get(login_form).post(login))
        .route("/api/info", get(info))
        .route("/api/report", get(report))
        .route("/api/query", post(query))
        .route("/api/alerts", get(alerts))
        .route("/api/lake", get(lake))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route") })
        .layer(from_fn_with_state(state.clone(), around))
        .with_state(state)
}

/// The route as counted (a fixed set, so a scanner's paths do not make new series).
fn route_name(path: &str) -> &'static str {
    match path {
        "/" => "/",
        "/healthz" => "/healthz",
        "/login" => "/login",
        "/metrics" => "/metrics",
        "/api/info" => "/api/info",
        "/api/report" => "/api/report",
        "/api/query" => "/api/query",
        "/api/alerts" => "/api/alerts",
        "/api/lake" => "/api/lake",
        p if p.starts_with("/assets/") => "/assets",
        _ => "other",
    }
}

/// Around every request: who asks, trace, headers, counters, access log.
async fn around(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let at_ms = chrono::Utc::now().timestamp_millis();
    let path = req.uri().path().to_string();
    let route = route_name(&path);
    let parent = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(SpanContext::parse);
    let mut span = Span::start(&format!("{} {route}", req.method()), SpanKind::Server, parent);
    span.set("http.request.method", req.method().as_str());
    span.set("url.path", path.as_str());
    req.extensions_mut().insert(Traced(span.context()));
    let line = state.access.is_some().then(|| {
        let h = req.headers();
        let text = |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let peer = req.extensions().get::<Peer>().map(|p| p.0.ip());
        (
            peer.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            req.method().to_string(),
            req.uri()
                .path_and_query()
                .map_or_else(|| path.clone(), |pq| pq.as_str().to_string()),
            format!("{:?}", req.version()),
            text(header::REFERER),
            text(header::USER_AGENT),
        )
    });
    let open = matches!(route, "/healthz" | "/login" | "/assets");
    let mut response = if open || state.auth.allows(req.headers()) {
        next.run(req).await
    } else if route == "/" {
        signed_out()
    } else {
        state.metrics.error("unauthorized");
        let mut r = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "a bearer token is needed (Authorization: Bearer TOKEN)",
        )
        .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    };
    let h = response.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let status = response.status().as_u16();
    state.metrics.request(route, status, started.elapsed());
    span.set("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.fail(&format!("HTTP {status}"));
    }
    span.end();
    match line {
        Some((client, method, target, protocol, referer, user_agent)) => {
            let log_state = state.clone();
            let (parts, body) = response.into_parts();
            let body = Body::from_stream(super::query::Counted::new(body.into_data_stream(), move |bytes| {
                if let Some(log) = &log_state.access {
                    log.write(&super::access::Entry {
                        client,
                        at_ms,
                        method: &method,
                        target: &target,
                        protocol: &protocol,
                        status,
                        bytes,
                        referer: referer.as_deref(),
                        user_agent: user_agent.as_deref(),
                        seconds: started.elapsed().as_secs_f64(),
                    });
                }
            }));
            Response::from_parts(parts, body)
        }
        None => response,
    }
}

fn asset(text: &'static str, content_type: &'static str) -> Response {
    let mut r = text.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn healthz() -> Response {
    json(&serde_json::json!({ "status": "ok" }))
}

async fn index() -> Response {
    asset(INDEX_HTML, "text/html; charset=utf-8")
}

const LOGIN_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>edgelog: sign in</title><link rel=\"icon\" href=\"data:,\">\
<link rel=\"stylesheet\" href=\"/assets/app.css\"></head><body class=\"login\"><main><h1>edgelog</h1>{MESSAGE}\
<form method=\"post\" action=\"/login\"><label>Token <input type=\"password\" name=\"token\" autocomplete=\"current-password\" required></label> \
<button type=\"submit\">Sign in</button></form></main></body></html>";

fn login_page(status: StatusCode, message: &str) -> Response {
    let page = LOGIN_PAGE.replace("{MESSAGE}", message);
    let mut r = (status, page).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn signed_out() -> Response {
    login_page(
        StatusCode::UNAUTHORIZED,
        "<p>This dashboard needs the server's token.</p>",
    )
}

async fn login_form() -> Response {
    login_page(StatusCode::OK, "")
}

/// The login form's post: the right token gets the session cookie.
async fn login(State(state): State<Arc<AppState>>, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, 4096).await else {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response();
    };
    let token = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !state.auth.required() {
        return redirect_home(None);
    }
    if !state.auth.token_matches(token.trim()) {
        state.metrics.error("unauthorized");
        // Guessing is slowed down; the comparison itself takes constant time.
        tokio::time::sleep(Duration::from_millis(300)).await;
        return login_page(
            StatusCode::UNAUTHORIZED,
            "<p class=\"error\">That is not the token.</p>",
        );
    }
    redirect_home(state.auth.session_value())
}

fn redirect_home(session: Option<&str>) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/"));
    if let Some(v) = session
        && let Ok(cookie) = HeaderValue::from_str(&format!(
            "{}={v}; HttpOnly; SameSite=Strict; Path=/",
            super::auth::COOKIE
        ))
    {
        r.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    r
}

/// The query string as pairs; a name given twice is a mistake.
fn params(query: Option<String>) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(ApiError::bad(format!("parameter {k:?} given twice")));
        }
    }
    Ok(out)
}

/// The range of `last`, `since`, `until` as plain data, checked.
fn range_of(p: &HashMap<String, String>) -> Result<RangeSpec, ApiError> {
    let last_ms = match p.get("last").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(text) => Some(
            crate::config::parse_duration_ms(text)
                .filter(|ms| *ms > 0)
                .ok_or_else(|| ApiError::bad(format!("bad last {text:?}: use a duration such as 1h, 24h, 7d")))?,
        ),
        None => None,
    };
    let time = |name: &str| {
        p.get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| TimeArg::Text(s.into()))
    };
    let (since, until) = (time("since"), time("until"));
    if last_ms.is_some() && since.is_some() {
        return Err(ApiError::bad("give last or since, not both"));
    }
    Ok(RangeSpec {
        since,
        until,
        last_ms,
        now_ms: None,
    })
}

fn only(p: &HashMap<String, String>, known: &[&str]) -> Result<(), ApiError> {
    match p.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(ApiError::bad(format!(
            "unknown parameter {k:?} (known: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

/// A turn to run a scan, waiting in the queue when all are taken; 429 when
/// the queue is full too.
async fn turn(state: &Arc<AppState>) -> Result<OwnedSemaphorePermit, ApiError> {
    if let Ok(p) = state.turns.clone().try_acquire_owned() {
        return Ok(p);
    }
    let limits = &state.config.limits;
    let before = state.waiting.fetch_add(1, Ordering::SeqCst);
    struct Leave<'a>(&'a std::sync::atomic::AtomicUsize);
    impl Drop for Leave<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let _leave = Leave(&state.waiting);
    if before >= limits.queue {
        state.metrics.error("busy");
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "busy: {} queries running and {} waiting; try again shortly",
                limits.concurrent, limits.queue
            ),
        ));
    }
    match tokio::time::timeout(limits.query_time, state.turns.clone().acquire_owned()).await {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(_)) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping")),
        Err(_) => {
            state.metrics.error("timeout");
            Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "waited too long for a turn: the server is busy",
            ))
        }
    }
}

/// The logs of the server's source over `range` (the dialect decided at start).
async fn open_logs(state: &AppState, range: RangeSpec, parent: SpanContext) -> Result<LogSet, ApiError> {
    let mut request: ScanRequest = state.request.clone();
    request.range = range;
    let mut span = Span::start("list", SpanKind::Internal, Some(parent));
    let opened = LogSet::open(&request).await;
    if let Err(e) = &opened {
        span.fail(&e.message());
    }
    span.end();
    opened.map_err(|e| ApiError::from_engine(&e))
}

async fn info(State(state): State<Arc<AppState>>) -> Response {
    let c = &state.config;
    json(&serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "sources": c.request.locations,
        "lake": c.request.lake,
        "format": serde_json::to_value(&state.request.format.kind).unwrap_or_default(),
        "rules": c.alerts.is_some(),
        "refresh_seconds": c.refresh.as_secs().max(1),
        "panels": crate::report::panels().iter().map(|p| p.name).collect::<Vec<_>>(),
        "default_last": "24h",
    }))
}

async fn report(
    State(state): State<Arc<AppState>>,
    axum::Extension(Traced(trace)): axum::Extension<Traced>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(query)?;
    only(&p, &["panels", "last", "since", "until", "host", "compare"])?;
    let names: Vec<String> = p
        .get("panels")
        .map(|s| {
            s.split(',')
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let panels = crate::report::choose_panels(&names).map_err(ApiError::bad)?;
    let range = range_of(&p)?;
    let compare = match p.get("compare").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(how) => {
            if range.since.is_none() && range.last_ms.is_none() {
                return Err(ApiError::bad("compare needs a range: give last (such as 24h) or since"));
            }
            Some(Compare::parse(how).map_err(ApiError::bad)?)
        }
        None => None,
    };
    let host = p.get("host").map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    // Relative ranges move with the clock; only absolute ones may outlive
    // the time to live on an unchanged source.
    let absolute = range.last_ms.is_none() && range.until.is_some();
    let key = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        names, range.since, range.until, range.last_ms, host, compare
    );
    let make_state = state.clone();
    let (answer, shared) = state
        .reports
        .get(&key, move |previous| {
            let state = make_state;
            async move {
                let limit = state.config.limits.query_time;
                let work = async {
                    let _turn = turn(&state).await?;
                    let logs = open_logs(&state, range, trace).await?;
                    let source = logs.state_token().await.map_err(|e| ApiError::from_engine(&e))?;
                    if absolute && let Some((was, answer)) = previous.filter(|(was, _)| *was == source) {
                        return Ok((was, answer));
                    }
                    state.metrics.running.fetch_add(1, Ordering::SeqCst);
                    let mut span = Span::start("report", SpanKind::Internal, Some(trace));
                    let options = ReportOptions {
                        compare,
                        host,
                        allow_empty: true,
                    };
                    let made = QueryService::new(logs).report_with(&panels, &options).await;
                    state.metrics.running.fetch_sub(1, Ordering::SeqCst);
                    let report = match made {
                        Ok(r) => r,
                        Err(e) => {
                            span.fail(&e.message());
                            span.end();
                            return Err(ApiError::from_engine(&e));
                        }
                    };
                    for _ in 0..(1 + usize::from(compare.is_some())) {
                        state.metrics.scan("report");
                    }
                    let m = &state.metrics;
                    m.objects_scanned.fetch_add(report.objects as u64, Ordering::Relaxed);
                    m.rows_scanned.fetch_add(report.rows, Ordering::Relaxed);
                    m.malformed_lines
                        .fetch_add(report.malformed.unwrap_or(0), Ordering::Relaxed);
                    span.set("edgelog.rows", report.rows);
                    span.set("edgelog.objects", report.objects as u64);
                    span.set("edgelog.malformed_lines", report.malformed.unwrap_or(0));
                    span.end();
                    Ok((source, Arc::new(crate::report::render::render_json(&report))))
                };
                match tokio::time::timeout(limit, work).await {
                    Ok(Ok(made)) => Ok(made),
                    Ok(Err(e)) => Err(Failure {
                        status: e.status.as_u16(),
                        message: e.message,
                    }),
                    Err(_) => {
                        state.metrics.cancelled.fetch_add(1, Ordering::Relaxed);
                        Err(Failure {
                            status: 504,
                            message: format!("the report took longer than {} s and was stopped", limit.as_secs()),
                        })
                    }
                }
            }
            .boxed()
        })
        .await;
    if shared {
        state.metrics.cache_hits.fetch_add(1, Ordering::Relaxed);
    }
    match answer {
        Ok(text) => {
            let mut r = json_text(text.as_str().to_string());
            r.headers_mut().insert(
                "x-edgelog-cache",
                HeaderValue::from_static(if shared { "hit" } else { "miss" }),
            );
            Ok(r)
        }
        Err(f) => {
            state.metrics.error(if f.status == 504 { "timeout" } else { "report" });
            Err(f.into())
        }
    }
}

async fn query(
    State(state): State<Arc<AppState>>,
    axum::Extension(Traced(trace)): axum::Extension<Traced>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let p = params(q)?;
    only(&p, &["format", "last", "since", "until"])?;
    let f = p.get("format").map(String::as_str).unwrap_or("json");
    let format = super::query::Format::parse(f)
        .ok_or_else(|| ApiError::bad(format!("bad format {f:?}: use json, ndjson, csv, arrow or table")))?;
    let range = range_of(&p)?;
    let limit = state.config.limits.body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        state.metrics.error("too_large");
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the SQL is longer than {limit} bytes"),
        )
    };
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let bytes: Bytes = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    let sql = std::str::from_utf8(&bytes).map_err(|_| ApiError::bad("the SQL is not UTF-8"))?;
    let sql = crate::config::plain_spaces(sql).into_owned();
    if let Err(why) = super::sql::check_read_only(&sql) {
        state.metrics.error("bad_request");
        return Err(ApiError::bad(why));
    }
    let deadline = tokio::time::Instant::now() + state.config.limits.query_time;
    let permit = turn(&state).await?;
    let logs = open_logs(&state, range, trace).await?;
    let service = QueryService::new(logs);
    let prepared = match service.prepare_read_only(&sql).await {
        Ok(p) => p,
        Err(e) => {
            state.metrics.error("bad_request");
            return Err(ApiError::from_engine(&e));
        }
    };
    let rows = state.config.limits.result_rows;
    super::query::answer(state.clone(), prepared, format, rows, deadline, permit, trace).await
}

async fn alerts(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let Some(source) = &state.config.alerts else {
        return Ok(json(&serde_json::json!({ "enabled": false })));
    };
    Ok(json(&alert_states(source)?))
}

/// The alert states as the dashboard shows them (from the state a
/// watcher keeps; read without its lock, as it is replaced whole).
fn alert_states(source: &super::AlertSource) -> Result<serde_json::Value, ApiError> {
    use crate::alert::rfc3339;
    let path = source.rules.to_string_lossy();
    let rules =
        crate::alert::rules::Rules::load(&path).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.0))?;
    let stored = crate::alert::store::read_state(&source.state)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let mut out = Vec::new();
    let mut evaluated: Option<i64> = None;
    for rule in &rules.rules {
        let Some(rs) = stored.rules.get(&rule.name) else {
            out.push(
                serde_json::json!({ "rule": rule.name, "group": "", "state": "NOT_EVALUATED",
                "since": null, "value": null, "message": null }),
            );
            continue;
        };
        evaluated = evaluated.max(rs.evaluated_ms);
        if let Some(err) = &rs.error {
            out.push(
                serde_json::json!({ "rule": rule.name, "group": crate::alert::ERROR_GROUP, "state": "ERROR",
                "since": rfc3339(err.since_ms), "value": null, "message": err.message }),
            );
        }
        for (key, g) in &rs.groups {
            out.push(
                serde_json::json!({ "rule": rule.name, "group": key, "state": g.phase.as_str(),
                "since": rfc3339(g.since_ms), "value": g.values_text(), "message": null }),
            );
        }
    }
    Ok(serde_json::json!({
        "enabled": true,
        "evaluated_at": evaluated.map(rfc3339),
        "alerts": out,
    }))
}

async fn lake(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let Some(location) = &state.request.lake else {
        return Ok(json(&serde_json::json!({ "lake": null })));
    };
    let storage = &state.request.storage;
    let lake = crate::lake::Lake::open(location, storage)
        .await
        .map_err(|e| ApiError::from_engine(&e.into()))?;
    if !lake.exists() {
        return Err(ApiError::new(StatusCode::BAD_GATEWAY, format!("no lake at {location}")));
    }
    let status = crate::lake::status::status(&lake, storage)
        .await
        .map_err(|e| ApiError::from_engine(&e.into()))?;
    Ok(json(&serde_json::to_value(status).unwrap_or_default()))
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut alerts = Vec::new();
    if let Some(source) = &state.config.alerts
        && let Ok(v) = alert_states(source)
    {
        let mut counts: std::collections::BTreeMap<(String, String), u64> = Default::default();
        for a in v["alerts"].as_array().into_iter().flatten() {
            let rule = a["rule"].as_str().unwrap_or_default().to_string();
            let st = a["state"].as_str().unwrap_or_default().to_string();
            *counts.entry((rule, st)).or_default() += 1;
        }
        alerts = counts.into_iter().map(|((r, s), n)| (r, s, n)).collect();
    }
    let text = state
        .metrics
        .render(&alerts, state.waiting.load(Ordering::SeqCst) as u64);
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}
