//! Proxies with a log line of their own: HAProxy (HTTP and TCP log
//! formats, with or without the syslog prefix; HAProxy 2.8 configuration
//! manual, section 8.2) and Squid (the native `squid` logformat, Squid 6).
//! The lines are split by `edgelog-parse` (`haproxy`, `squid`); this file
//! names and types the fields and fills the canonical columns.

use std::borrow::Cow;

use edgelog_parse::ParseError;
use edgelog_parse::haproxy::{self, HaproxyKind};
use edgelog_parse::squid;

use super::generic::{Canon, NativeCol, RowParser, TextRules, Ty, Val, strip_port};

/// Which proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// HAProxy `option httplog` / `option tcplog` lines.
    Haproxy,
    /// Squid's native access.log.
    Squid,
}

/// The rules of one proxy dialect.
#[derive(Debug)]
pub struct ProxyRules {
    kind: Kind,
    cols: Vec<NativeCol>,
}

const HAPROXY: &[(&str, Ty, &str)] = &[
    ("kind", Ty::Dict, "http, tcp or error: which log format the line is"),
    ("syslog_time", Ty::Str, "the syslog prefix's time, as written"),
    ("syslog_host", Ty::Str, "the syslog prefix's host"),
    ("process", Ty::Dict, "the syslog prefix's process name"),
    ("pid", Ty::U64, "the syslog prefix's process id"),
    ("client_ip", Ty::Str, "client address"),
    ("client_port", Ty::U16, "client port"),
    (
        "accept_date",
        Ty::Time,
        "when the connection was accepted (local time, read as UTC)",
    ),
    ("frontend", Ty::Dict, "frontend name (without the ~ of SSL)"),
    (
        "ssl",
        Ty::Bool,
        "the frontend name ended in ~: the connection was SSL/TLS",
    ),
    ("backend", Ty::Dict, "backend name"),
    ("server", Ty::Dict, "server name (<NOSRV> when none was chosen)"),
    (
        "time_request",
        Ty::I64,
        "TR (Tq before 1.5), ms: receiving the full request headers; NULL for -1",
    ),
    ("time_queue", Ty::I64, "Tw, ms: waiting in the queues; NULL for -1"),
    ("time_connect", Ty::I64, "Tc, ms: connecting to the server; NULL for -1"),
    (
        "time_response",
        Ty::I64,
        "Tr, ms: the server sending the full response headers; NULL for -1",
    ),
    (
        "time_total",
        Ty::I64,
        "Ta (HTTP, Tt before 1.5), ms: the request's total active time; Tt (TCP): the session's",
    ),
    ("status", Ty::U16, "HTTP status (NULL for TCP lines and -1)"),
    ("bytes_read", Ty::U64, "bytes sent to the client, headers included"),
    ("request_cookie", Ty::Str, "captured request cookie"),
    ("response_cookie", Ty::Str, "captured response cookie"),
    (
        "termination_state",
        Ty::Dict,
        "session state at disconnection (----, CD--, sH--, ...)",
    ),
    ("actconn", Ty::U64, "concurrent connections on the process"),
    ("feconn", Ty::U64, "concurrent connections on the frontend"),
    ("beconn", Ty::U64, "concurrent connections on the backend"),
    ("srv_conn", Ty::U64, "concurrent connections on the server"),
    ("retries", Ty::U64, "connection retries"),
    (
        "redispatched",
        Ty::Bool,
        "the request was redispatched to another server (+ on retries)",
    ),
    ("srv_queue", Ty::U64, "requests ahead in the server's queue"),
    ("backend_queue", Ty::U64, "requests ahead in the backend's queue"),
    (
        "request_headers",
        Ty::Str,
        "captured request headers, |-separated, as written",
    ),
    ("response_headers", Ty::Str, "captured response headers, |-separated"),
    ("request", Ty::Str, "request line"),
    (
        "tail",
        Ty::Str,
        "text after the request (option httpslog: TLS errors, SNI, version, cipher)",
    ),
    (
        "message",
        Ty::Str,
        "error lines: why the connection failed (the frontend/bind: is in frontend and server)",
    ),
];

const SQUID: &[(&str, Ty, &str)] = &[
    ("time", Ty::Time, "when the transaction ended"),
    ("elapsed_ms", Ty::U64, "how long the transaction took, ms"),
    ("client_ip", Ty::Str, "client address"),
    (
        "result_code",
        Ty::Dict,
        "Squid result code: TCP_MISS, TCP_HIT, TCP_DENIED, ...",
    ),
    ("status", Ty::U16, "HTTP status sent to the client (NULL for 000)"),
    ("bytes", Ty::U64, "bytes sent to the client, headers included"),
    ("method", Ty::Dict, "request method"),
    ("url", Ty::Str, "requested URL (host:port for CONNECT)"),
    ("user", Ty::Str, "user name (ident or authenticated)"),
    ("hierarchy", Ty::Dict, "hierarchy code: HIER_DIRECT, HIER_NONE, ..."),
    ("peer", Ty::Str, "the server or peer the request went to"),
    ("content_type", Ty::Dict, "MIME type of the reply"),
    ("rest", Ty::Str, "fields after the standard ten, as written"),
];

impl ProxyRules {
    /// The dialect with its columns.
    pub fn new(kind: Kind) -> Self {
        let table = match kind {
            Kind::Haproxy => HAPROXY,
            Kind::Squid => SQUID,
        };
        ProxyRules {
            kind,
            cols: table.iter().map(|(n, t, d)| NativeCol::new(*n, *t, *d)).collect(),
        }
    }
}

impl TextRules for ProxyRules {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Haproxy => "haproxy",
            Kind::Squid => "squid",
        }
    }

    fn description(&self) -> String {
        match self.kind {
            Kind::Haproxy => "HAProxy HTTP and TCP log formats (option httplog / tcplog), with or without the syslog \
                              prefix"
                .into(),
            Kind::Squid => "Squid native access.log (logformat squid: time elapsed client code/status bytes method \
                            URL user hierarchy/peer type)"
                .into(),
        }
    }

    fn columns(&self) -> &[NativeCol] {
        &self.cols
    }

    fn rank(&self) -> u32 {
        70
    }

    fn parser(&self) -> Box<dyn RowParser> {
        Box::new(ProxyParser { kind: self.kind })
    }
}

struct ProxyParser {
    kind: Kind,
}

/// The first captured request header when it looks like a host name (the
/// manual's examples capture `Host` first): `{www.example.org|...}`. This
/// and [`captured_agent`] are guesses from the values, as the log does not
/// name the captured headers.
fn captured_host(headers: &str) -> Option<&str> {
    let first = headers.split('|').next()?.trim();
    let host = strip_port(first);
    let plausible = !host.is_empty()
        && (host.contains('.') || host == "localhost")
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    plausible.then_some(host)
}

/// The first captured request header that looks like a User-Agent
/// (`product/version ...`, not a URL): configurations often capture it.
fn captured_agent(headers: &str) -> Option<&str> {
    headers.split('|').map(str::trim).find(|h| {
        let Some((product, version)) = h.split_once('/') else {
            return false;
        };
        !product.is_empty()
            && !h.contains("://")
            && product
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && version.bytes().next().is_some_and(|b| b.is_ascii_digit())
    })
}

impl RowParser for ProxyParser {
    fn parse<'a>(
        &mut self,
        line: &'a str,
        vals: &mut [Val<'a>],
        canon: &mut Canon<'a>,
        _unknown: &mut dyn FnMut(&str),
    ) -> Result<bool, ParseError> {
        let s = |v: Option<&'a str>| {
            v.filter(|t| !t.is_empty() && *t != "-")
                .map_or(Val::Null, |t| Val::Str(Cow::Borrowed(t)))
        };
        let u = |v: u64| Val::U64(v);
        match self.kind {
            Kind::Haproxy => {
                let l = haproxy::parse_line(line)?;
                let t = |i: usize| l.timers[i].map_or(Val::Null, Val::I64);
                let http = l.kind == HaproxyKind::Http;
                let error = l.kind == HaproxyKind::Error;
                let row = [
                    Val::Str(Cow::Borrowed(match l.kind {
                        HaproxyKind::Http => "http",
                        HaproxyKind::Tcp => "tcp",
                        HaproxyKind::Error => "error",
                    })),
                    s(l.syslog_time),
                    s(l.syslog_host),
                    s(l.process),
                    l.pid.map_or(Val::Null, |p| u(u64::from(p))),
                    s(Some(l.client_ip)),
                    l.client_port.map_or(Val::Null, |p| u(u64::from(p))),
                    Val::Time(l.accept_ms),
                    s(Some(l.frontend)),
                    Val::Bool(l.ssl),
                    s(Some(l.backend)),
                    s(Some(l.server)),
                    if http { t(0) } else { Val::Null },
                    if http { t(1) } else { t(0) },
                    if http { t(2) } else { t(1) },
                    if http { t(3) } else { Val::Null },
                    if http { t(4) } else { t(2) },
                    l.status.map_or(Val::Null, |v| u(u64::from(v))),
                    if error { Val::Null } else { u(l.bytes_read) },
                    s(l.request_cookie),
                    s(l.response_cookie),
                    s(Some(l.termination_state)),
                    if error { Val::Null } else { u(l.actconn) },
                    if error { Val::Null } else { u(l.feconn) },
                    if error { Val::Null } else { u(l.beconn) },
                    if error { Val::Null } else { u(l.srv_conn) },
                    if error { Val::Null } else { u(l.retries) },
                    if error { Val::Null } else { Val::Bool(l.redispatched) },
                    if error { Val::Null } else { u(l.srv_queue) },
                    if error { Val::Null } else { u(l.backend_queue) },
                    s(l.request_headers),
                    s(l.response_headers),
                    s(l.request),
                    s(l.tail),
                    s(l.message),
                ];
                for (slot, v) in vals.iter_mut().zip(row) {
                    *slot = v;
                }
                canon.time = Some(l.accept_ms);
                canon.client_ip = Some(Cow::Borrowed(l.client_ip)).filter(|c| !c.is_empty());
                if let Some(r) = l.request.filter(|r| !r.starts_with('<')) {
                    canon.request_line(r);
                }
                if canon.host.is_none() {
                    canon.host = l.request_headers.and_then(captured_host).map(Cow::Borrowed);
                }
                canon.user_agent = l.request_headers.and_then(captured_agent).map(Cow::Borrowed);
                canon.status = l.status;
                canon.bytes = (!error).then_some(l.bytes_read);
                canon.request_time = l.timers[if http { 4 } else { 2 }].map(|ms| ms as f64 / 1e3);
            }
            Kind::Squid => {
                let l = squid::parse_line(line)?;
                let status = (l.status != 0).then_some(l.status);
                let row = [
                    Val::Time(l.time_ms),
                    u(l.elapsed_ms),
                    s(Some(l.client)),
                    s(Some(l.result_code)),
                    status.map_or(Val::Null, |v| u(u64::from(v))),
                    u(l.bytes),
                    s(Some(l.method)),
                    s(Some(l.url)),
                    s(Some(l.user)),
                    s(Some(l.hierarchy)),
                    s(Some(l.peer)),
                    s(Some(l.content_type)),
                    s(l.rest),
                ];
                for (slot, v) in vals.iter_mut().zip(row) {
                    *slot = v;
                }
                canon.time = Some(l.time_ms);
                canon.client_ip = Some(Cow::Borrowed(l.client));
                canon.method = Some(Cow::Borrowed(l.method));
                if l.url.contains("://") || l.url.starts_with('/') {
                    canon.url(l.url);
                } else if l.method == "CONNECT" {
                    // `CONNECT host:443`: a host, no path.
                    canon.host = Some(Cow::Owned(strip_port(l.url).to_string()));
                }
                // Else no request reached Squid (`NONE error:transaction-end-before-headers`).
                canon.status = status;
                canon.bytes = Some(l.bytes);
                canon.cache_status = Some(Cow::Borrowed(l.result_code));
                canon.request_time = Some(l.elapsed_ms as f64 / 1e3);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(kind: Kind, line: &str) -> (Vec<Val<'_>>, Canon<'_>) {
        let rules = ProxyRules::new(kind);
        let mut vals = vec![Val::Null; rules.columns().len()];
        let mut canon = Canon::default();
        rules.parser().parse(line, &mut vals, &mut canon, &mut |_| {}).unwrap();
        (vals, canon)
    }

    #[test]
    fn haproxy_http_lines_fill_the_canonical_columns() {
        let (vals, c) = parse(
            Kind::Haproxy,
            r#"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html?a=1 HTTP/1.1""#,
        );
        assert_eq!(c.time, Some(1_233_922_454_655));
        assert_eq!(c.client_ip.as_deref(), Some("10.0.1.2"));
        assert_eq!(c.host.as_deref(), Some("1wt.eu"));
        assert_eq!(
            (c.method.as_deref(), c.path.as_deref(), c.query.as_deref()),
            (Some("GET"), Some("/index.html"), Some("a=1"))
        );
        assert_eq!(
            (c.status, c.bytes, c.request_time),
            (Some(200), Some(2750), Some(0.109))
        );
        assert_eq!(vals[12], Val::I64(10));
        assert_eq!(vals[16], Val::I64(109));
        let (vals, c) = parse(
            Kind::Haproxy,
            "Feb  6 12:12:56 localhost haproxy[14387]: 10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0",
        );
        assert_eq!(vals[0], Val::Str(Cow::Borrowed("tcp")));
        assert_eq!((c.status, c.bytes, c.request_time), (None, Some(212), Some(5.007)));
        assert_eq!(vals[12], Val::Null);
        assert_eq!(vals[16], Val::I64(5007));
        let (_, c) = parse(
            Kind::Haproxy,
            r#"2001:db8::1:38037 [09/Dec/2013:12:00:03.205] fe~ be/s1 0/0/0/1/2 200 10 - - ---- 1/1/1/1/0 0/0 "GET https://ex.org:8443/p HTTP/2.0""#,
        );
        assert_eq!(c.client_ip.as_deref(), Some("2001:db8::1"));
        assert_eq!((c.host.as_deref(), c.path.as_deref()), (Some("ex.org"), Some("/p")));
    }

    #[test]
    fn squid_lines_fill_the_canonical_columns() {
        let (vals, c) = parse(
            Kind::Squid,
            "1286536309.450    211 192.168.0.68 TCP_MISS/200 1645 GET http://www.example.com/a?b - HIER_DIRECT/93.184.216.34 text/html",
        );
        assert_eq!(c.time, Some(1_286_536_309_450));
        assert_eq!(
            (c.host.as_deref(), c.path.as_deref(), c.query.as_deref()),
            (Some("www.example.com"), Some("/a"), Some("b"))
        );
        assert_eq!(
            (c.status, c.bytes, c.request_time),
            (Some(200), Some(1645), Some(0.211))
        );
        assert_eq!(c.cache_status.as_deref(), Some("TCP_MISS"));
        assert_eq!(vals[9], Val::Str(Cow::Borrowed("HIER_DIRECT")));
        let (_, c) = parse(
            Kind::Squid,
            "1286536310.000      0 10.0.0.9 TCP_DENIED/000 0 CONNECT example.org:443 - HIER_NONE/- -",
        );
        assert_eq!(
            (c.host.as_deref(), c.path.as_deref(), c.status),
            (Some("example.org"), None, None)
        );
    }
}
