//! HAProxy's two standard log formats: the HTTP format (`option httplog`)
//! and the TCP format (`option tcplog`), HAProxy 1.3 to 3.x.
//!
//! A line is an optional syslog prefix (`<134>`, an RFC 3164 or RFC 3339
//! time, a host, `haproxy[pid]:`; or an RFC 5424 header) and then HAProxy's
//! message:
//!
//! ```text
//! HTTP: client:port [accept_date] frontend backend/server TR/Tw/Tc/Tr/Ta status bytes_read
//!       req_cookie resp_cookie termination actconn/feconn/beconn/srv_conn/retries
//!       srv_queue/backend_queue [{request headers}] [{response headers}] "request"
//! TCP:  client:port [accept_date] frontend backend/server Tw/Tc/Tt bytes_read termination
//!       actconn/feconn/beconn/srv_conn/retries srv_queue/backend_queue
//! ```
//!
//! The message is found by its accept date: the first bracketed text after a
//! blank that reads as `dd/Mon/yyyy:HH:MM:SS.mmm`. The word before it is the
//! client address and everything before that is the syslog prefix, so a
//! bracketed IPv6 client (`[::1]:80`) or an RFC 5424 structured-data block
//! is not mistaken for it. The two formats are told apart by their number of
//! timers: five for HTTP, three for TCP.
//!
//! The error format (`client:port [accept_date] frontend/bind: message`,
//! SSL handshake failures) is read too, and text after an HTTP line's
//! request (`option httpslog`'s TLS fields) is kept as its tail. HAProxy's
//! other messages (`Proxy x started.`, `Connect from ...`) and lines of a
//! custom `log-format` (an extra word before the timers) are errors that
//! say which field did not fit.

use crate::ParseError;
use crate::text::{MONTHS, Words, parse_clf_time};
use crate::time::parse_iso8601;

/// Which of HAProxy's standard formats a line is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HaproxyKind {
    /// `option httplog`: five timers, the status, cookies, captured headers
    /// and the request line.
    #[default]
    Http,
    /// `option tcplog`: three timers and no HTTP fields.
    Tcp,
    /// The error log format (section 8.2.6): a connection that failed
    /// before a request, `frontend/bind: message` (SSL handshake failures).
    Error,
}

/// One HAProxy log line, its fields borrowed from the line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HaproxyLine<'a> {
    /// HTTP or TCP format, told by the number of timers.
    pub kind: HaproxyKind,
    /// The syslog time as written (`Feb  6 12:14:14`, `2023-01-01T00:00:00+00:00`).
    pub syslog_time: Option<&'a str>,
    /// The syslog host name.
    pub syslog_host: Option<&'a str>,
    /// The process name of the syslog tag (`haproxy` in `haproxy[14389]:`).
    pub process: Option<&'a str>,
    /// The process id of the syslog tag.
    pub pid: Option<u32>,
    /// The client address without port and brackets (`10.0.1.2`, `2001:db8::1`).
    /// A unix-socket client (`unix:1`, the listener id after the colon) is `unix`.
    pub client_ip: &'a str,
    /// The client port; `None` for unix sockets and when written as `-` or not at all.
    pub client_port: Option<u16>,
    /// The accept date as written, e.g. `06/Feb/2009:12:14:14.655`.
    pub accept_date: &'a str,
    /// That date as epoch milliseconds, read as UTC (HAProxy writes local
    /// time without a zone).
    pub accept_ms: i64,
    /// The frontend name, without a trailing `~`.
    pub frontend: &'a str,
    /// The frontend name ended with `~`: the connection was TLS.
    pub ssl: bool,
    /// The backend name.
    pub backend: &'a str,
    /// The server name (`<NOSRV>` when none was picked).
    pub server: &'a str,
    /// HTTP: TR (Tq before 1.9), Tw, Tc, Tr, Ta (Tt). TCP: Tw, Tc, Tt, then
    /// `None`, `None`. In milliseconds; `-1` (the step was not reached) is
    /// `None`; a `+` (`option logasap`) is dropped.
    pub timers: [Option<i64>; 5],
    /// The HTTP status (HTTP only); `-1` is `None`.
    pub status: Option<u16>,
    /// Bytes sent to the client; a `+` (`option logasap`) is dropped.
    pub bytes_read: u64,
    /// The captured request cookie (HTTP only); `-` is `None`.
    pub request_cookie: Option<&'a str>,
    /// The captured response cookie (HTTP only); `-` is `None`.
    pub response_cookie: Option<&'a str>,
    /// The session state at close: two characters (TCP) or four (HTTP), e.g. `----`, `SC--`, `cD`.
    pub termination_state: &'a str,
    /// Connections on the process.
    pub actconn: u64,
    /// Connections on the frontend.
    pub feconn: u64,
    /// Connections on the backend.
    pub beconn: u64,
    /// Connections on the server.
    pub srv_conn: u64,
    /// Connection retries.
    pub retries: u64,
    /// The retries were written with a `+`: the request was redispatched.
    pub redispatched: bool,
    /// Requests queued on the server before this one.
    pub srv_queue: u64,
    /// Requests queued on the backend before this one.
    pub backend_queue: u64,
    /// The captured request headers, inside the braces, as written
    /// (`value|value`). A line with only one brace block has it here: the
    /// line does not say whether it holds request or response headers.
    pub request_headers: Option<&'a str>,
    /// The captured response headers, inside the second brace block, as written.
    pub response_headers: Option<&'a str>,
    /// The request line inside the quotes, as written (HTTP only), e.g.
    /// `GET /index.html HTTP/1.1` or `<BADREQ>`.
    pub request: Option<&'a str>,
    /// HTTP: text after the request, as written (`option httpslog` adds the
    /// TLS errors, the SNI, version and cipher there).
    pub tail: Option<&'a str>,
    /// Error format: the message after `frontend/bind:`.
    pub message: Option<&'a str>,
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

const BLANKS: [char; 2] = [' ', '\t'];

/// Parses one HAProxy line in the HTTP or TCP log format. Trailing blanks
/// (and a line end) are allowed; anything else that does not fit is an
/// error naming the field.
pub fn parse_line(line: &str) -> Result<HaproxyLine<'_>, ParseError> {
    let line = line.trim_end_matches([' ', '\t', '\r', '\n']);
    let (open, close, accept_ms) = find_accept_date(line)?;
    let head = line[..open].trim_end_matches(BLANKS);
    let (prefix, client) = match head.rfind(BLANKS) {
        Some(i) => (&head[..i], &head[i + 1..]),
        None => ("", head),
    };
    let (client_ip, client_port) = client_address(client)?;
    let syslog = syslog_prefix(prefix)?;

    let mut c = Words::new("haproxy", line, close + 1);
    if c.peek().is_some_and(|b| !is_blank(b)) {
        return Err(ParseError::Shape(format!(
            "haproxy: expected a blank after the accept date at byte {}",
            c.at
        )));
    }
    let ft = c.next("frontend")?;
    if let Some(fb) = ft.strip_suffix(':').filter(|fb| fb.contains('/')) {
        // The error format: `frontend/bind: message`.
        let (ft, bind) = fb.split_once('/').unwrap_or((fb, ""));
        let (frontend, ssl) = match ft.strip_suffix('~') {
            Some(f) => (f, true),
            None => (ft, false),
        };
        let message = line[c.at..].trim_matches(BLANKS);
        if frontend.is_empty() || message.is_empty() {
            return Err(ParseError::bad_column(
                "haproxy: error line",
                fb,
                "frontend/bind: message",
            ));
        }
        // No request, no timers, no counters: the rest stays empty.
        return Ok(HaproxyLine {
            kind: HaproxyKind::Error,
            syslog_time: syslog.time,
            syslog_host: syslog.host,
            process: syslog.process,
            pid: syslog.pid,
            client_ip,
            client_port,
            accept_date: &line[open + 1..close],
            accept_ms,
            frontend,
            ssl,
            server: bind,
            message: Some(message),
            ..HaproxyLine::default()
        });
    }
    let (frontend, ssl) = match ft.strip_suffix('~') {
        Some(f) => (f, true),
        None => (ft, false),
    };
    if frontend.is_empty() {
        return Err(ParseError::bad_column("haproxy: frontend", ft, "a frontend name"));
    }
    let bs = c.next("backend/server")?;
    let (backend, server) = bs
        .split_once('/')
        .filter(|(b, s)| !b.is_empty() && !s.is_empty())
        .ok_or_else(|| ParseError::bad_column("haproxy: backend/server", bs, "backend/server"))?;
    let (timers, kind) = parse_timers(c.next("timers")?)?;
    let http = kind == HaproxyKind::Http;

    let status = if http {
        let s = c.next("status")?;
        match s {
            "-1" => None,
            _ => Some(
                uint(s)
                    .and_then(|v| u16::try_from(v).ok())
                    .ok_or_else(|| ParseError::bad_column("haproxy: status", s, "an HTTP status or -1"))?,
            ),
        }
    } else {
        None
    };
    let b = c.next("bytes_read")?;
    let bytes_read = uint(b.strip_prefix('+').unwrap_or(b))
        .ok_or_else(|| ParseError::bad_column("haproxy: bytes_read", b, "a byte count"))?;
    let (request_cookie, response_cookie) = if http {
        let req = c.next("captured request cookie")?;
        let resp = c.next("captured response cookie")?;
        ((req != "-").then_some(req), (resp != "-").then_some(resp))
    } else {
        (None, None)
    };
    let termination_state = c.next("termination_state")?;
    if !(2..=4).contains(&termination_state.len())
        || !termination_state.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
    {
        return Err(ParseError::bad_column(
            "haproxy: termination_state",
            termination_state,
            "2 or 4 letters or -",
        ));
    }
    let conns = c.next("connection counts")?;
    let bad_conns = || {
        ParseError::bad_column(
            "haproxy: connection counts",
            conns,
            "actconn/feconn/beconn/srv_conn/retries",
        )
    };
    let [a, f, bk, s, r] = split_slash::<5>(conns).ok_or_else(bad_conns)?;
    let (retries, redispatched) = match r.strip_prefix('+') {
        Some(r) => (r, true),
        None => (r, false),
    };
    let [actconn, feconn, beconn, srv_conn, retries] = [a, f, bk, s, retries].map(uint);
    let (Some(actconn), Some(feconn), Some(beconn), Some(srv_conn), Some(retries)) =
        (actconn, feconn, beconn, srv_conn, retries)
    else {
        return Err(bad_conns());
    };
    let q = c.next("queues")?;
    let bad_queues = || ParseError::bad_column("haproxy: queues", q, "srv_queue/backend_queue");
    let [sq, bq] = split_slash::<2>(q).ok_or_else(bad_queues)?;
    let (Some(srv_queue), Some(backend_queue)) = (uint(sq), uint(bq)) else {
        return Err(bad_queues());
    };

    let mut headers = [None, None];
    let mut request = None;
    c.skip_blanks();
    if http {
        let mut n = 0;
        while n < 2 && c.peek() == Some(b'{') {
            let body = &line[c.at + 1..];
            let end = body.find('}').ok_or_else(|| {
                ParseError::Shape(format!(
                    "haproxy: captured headers: unclosed {{ at byte {} (cut line?)",
                    c.at
                ))
            })?;
            headers[n] = Some(&body[..end]);
            c.at += end + 2;
            n += 1;
            c.skip_blanks();
        }
        match c.peek() {
            None => return Err(ParseError::Shape("haproxy: line ends before the request".into())),
            Some(b'"') => {
                let body = &line[c.at + 1..];
                // HAProxy writes a quote inside the request as `#22`.
                let end = body.find('"').ok_or_else(|| {
                    ParseError::Shape(format!("haproxy: request: unclosed quote at byte {} (cut line?)", c.at))
                })?;
                request = Some(&body[..end]);
                c.at += end + 2;
                c.skip_blanks();
            }
            Some(_) => {
                return Err(ParseError::bad_column(
                    &format!("haproxy: request at byte {}", c.at),
                    &line[c.at..],
                    "a quoted request line",
                ));
            }
        }
    }
    let mut tail = None;
    if http && c.at < line.len() {
        tail = Some(&line[c.at..]);
        c.at = line.len();
    }
    if c.at < line.len() {
        let after = "the queues";
        return Err(ParseError::bad_column(
            &format!("haproxy: byte {}, after {after}", c.at),
            &line[c.at..],
            "the end of the line",
        ));
    }

    Ok(HaproxyLine {
        kind,
        syslog_time: syslog.time,
        syslog_host: syslog.host,
        process: syslog.process,
        pid: syslog.pid,
        client_ip,
        client_port,
        accept_date: &line[open + 1..close],
        accept_ms,
        frontend,
        ssl,
        backend,
        server,
        timers,
        status,
        bytes_read,
        request_cookie,
        response_cookie,
        termination_state,
        actconn,
        feconn,
        beconn,
        srv_conn,
        retries,
        redispatched,
        srv_queue,
        backend_queue,
        request_headers: headers[0],
        response_headers: headers[1],
        request,
        tail,
        message: None,
    })
}

/// Where the accept date is: the byte offsets of its `[` and `]`, and its
/// epoch milliseconds. It is the first `[` after a blank whose text up to the
/// next `]` reads as a date.
fn find_accept_date(line: &str) -> Result<(usize, usize, i64), ParseError> {
    // A date with a zone is 30 bytes; longer bracketed text is never one.
    const MAX: usize = 40;
    let b = line.as_bytes();
    let mut from = 0;
    let mut first = None;
    while let Some(i) = memchr::memchr(b'[', &b[from..]).map(|i| from + i) {
        from = i + 1;
        if i == 0 || !is_blank(b[i - 1]) {
            continue;
        }
        let window = &b[i + 1..b.len().min(i + 1 + MAX)];
        let Some(len) = memchr::memchr(b']', window) else {
            continue;
        };
        let close = i + 1 + len;
        let text = &line[i + 1..close];
        if let Some(ms) = parse_clf_time(text) {
            return Ok((i, close, ms));
        }
        first.get_or_insert(text);
    }
    Err(ParseError::bad_column(
        "haproxy: accept date",
        first.unwrap_or(line),
        "[dd/Mon/yyyy:HH:MM:SS.mmm] after the client address",
    ))
}

/// Splits `ip:port`, `[ip]:port` and IPv6 `a:b::c:port` (the port after the
/// last colon).
fn client_address(s: &str) -> Result<(&str, Option<u16>), ParseError> {
    let bad = || ParseError::bad_column("haproxy: client address", s, "ip:port");
    if s == "unix" || s.starts_with("unix:") {
        return Ok(("unix", None));
    }
    let (ip, port) = match s.strip_prefix('[') {
        Some(rest) => {
            let (ip, after) = rest.split_once(']').ok_or_else(bad)?;
            match after {
                "" => (ip, None),
                _ => (ip, Some(after.strip_prefix(':').ok_or_else(bad)?)),
            }
        }
        None => match s.rsplit_once(':') {
            Some((ip, port)) => (ip, Some(port)),
            None => (s, None),
        },
    };
    if ip.is_empty() {
        return Err(bad());
    }
    let port = match port {
        None | Some("-") => None,
        Some(p) => Some(
            uint(p)
                .and_then(|v| u16::try_from(v).ok())
                .ok_or_else(|| ParseError::bad_column("haproxy: client port", p, "a port number"))?,
        ),
    };
    Ok((ip, port))
}

#[derive(Default)]
struct Syslog<'a> {
    time: Option<&'a str>,
    host: Option<&'a str>,
    process: Option<&'a str>,
    pid: Option<u32>,
}

/// Reads what precedes the client address: `[<PRI>][time] [host] [tag]`,
/// or `[<PRI>]1 time host app procid msgid [sd]` (RFC 5424).
fn syslog_prefix(prefix: &str) -> Result<Syslog<'_>, ParseError> {
    let bad = || {
        ParseError::bad_column(
            "haproxy: syslog prefix",
            prefix,
            "[<PRI>][time] [host] [process[pid]:] before the client address",
        )
    };
    let mut s = Syslog::default();
    let mut rest = prefix.trim_matches(BLANKS);
    if let Some(r) = rest.strip_prefix('<') {
        let end = r.find('>').ok_or_else(bad)?;
        if !(1..=3).contains(&end) || uint(&r[..end]).is_none() {
            return Err(bad());
        }
        rest = r[end + 1..].trim_start_matches(BLANKS);
    }
    if let Some(r) = rest.strip_prefix("1 ") {
        // RFC 5424: VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD...]
        let mut words = r.split(BLANKS).filter(|w| !w.is_empty());
        let (Some(time), Some(host), Some(app), Some(procid), Some(_msgid)) =
            (words.next(), words.next(), words.next(), words.next(), words.next())
        else {
            return Err(bad());
        };
        let nil = |v: &&str| *v != "-";
        s.time = Some(time).filter(nil);
        s.host = Some(host).filter(nil);
        s.process = Some(app).filter(nil);
        s.pid = uint(procid).and_then(|p| u32::try_from(p).ok());
        return Ok(s);
    }
    let body = if let Some(end) = bsd_time(rest) {
        s.time = Some(&rest[..end]);
        &rest[end..]
    } else if let Some(first) = rest.split(BLANKS).next()
        && first.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && parse_iso8601(first, 0).is_some()
    {
        s.time = Some(first);
        &rest[first.len()..]
    } else {
        rest
    };
    let mut words = body.split(BLANKS).filter(|w| !w.is_empty());
    let (a, b, c) = (words.next(), words.next(), words.next());
    let tag = match (a, b, c) {
        (_, _, Some(_)) => return Err(bad()),
        (None, _, _) => None,
        (Some(a), None, _) if a.ends_with([':', ']']) => Some(a),
        (Some(host), tag, _) => {
            s.host = Some(host);
            tag
        }
    };
    if let Some(tag) = tag {
        let body = tag.strip_suffix(':').unwrap_or(tag);
        let (name, pid) = match body.strip_suffix(']') {
            Some(inner) => {
                let (name, pid) = inner.rsplit_once('[').ok_or_else(bad)?;
                (
                    name,
                    Some(uint(pid).and_then(|p| u32::try_from(p).ok()).ok_or_else(bad)?),
                )
            }
            None if body.len() < tag.len() => (body, None),
            None => return Err(bad()),
        };
        s.process = Some(name).filter(|n| !n.is_empty());
        s.pid = pid;
    }
    Ok(s)
}

/// The length of an RFC 3164 time at the start of `s` (`Feb  6 12:14:14`,
/// optionally with a fraction), if there is one.
fn bsd_time(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mon = b.get(..3)?;
    if !MONTHS.iter().any(|m| m.eq_ignore_ascii_case(mon)) || b.get(3) != Some(&b' ') {
        return None;
    }
    let mut i = 4;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let day = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    if !(1..=2).contains(&(i - day)) || b.get(i) != Some(&b' ') {
        return None;
    }
    let t = b.get(i + 1..i + 9)?;
    let digits_at = [0, 1, 3, 4, 6, 7];
    if t[2] != b':' || t[5] != b':' || !digits_at.iter().all(|&k| t[k].is_ascii_digit()) {
        return None;
    }
    i += 9;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    (i == b.len() || is_blank(b[i])).then_some(i)
}

/// Five timers (HTTP) or three (TCP), padded with `None`.
fn parse_timers(t: &str) -> Result<([Option<i64>; 5], HaproxyKind), ParseError> {
    let bad = || ParseError::bad_column("haproxy: timers", t, "5 numbers separated by / (HTTP) or 3 (TCP)");
    let mut timers = [None; 5];
    let mut n = 0;
    for part in t.split('/') {
        if n == 5 {
            return Err(bad());
        }
        timers[n] = match part {
            "-1" => None,
            _ => Some(
                uint(part.strip_prefix('+').unwrap_or(part))
                    .and_then(|v| i64::try_from(v).ok())
                    .ok_or_else(bad)?,
            ),
        };
        n += 1;
    }
    match n {
        5 => Ok((timers, HaproxyKind::Http)),
        3 => Ok((timers, HaproxyKind::Tcp)),
        _ => Err(bad()),
    }
}

/// Exactly `N` parts separated by `/`.
fn split_slash<const N: usize>(s: &str) -> Option<[&str; N]> {
    let mut out = [""; N];
    let mut parts = s.split('/');
    for slot in &mut out {
        *slot = parts.next()?;
    }
    parts.next().is_none().then_some(out)
}

/// A whole number written with digits only (no sign).
fn uint(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> HaproxyLine<'_> {
        parse_line(line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    fn err(line: &str) -> String {
        match parse_line(line) {
            Ok(l) => panic!("parsed: {l:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn http_line_from_the_manual() {
        let l = ok(
            r#"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1""#,
        );
        assert_eq!(
            l,
            HaproxyLine {
                kind: HaproxyKind::Http,
                syslog_time: Some("Feb  6 12:14:14"),
                syslog_host: Some("localhost"),
                process: Some("haproxy"),
                pid: Some(14389),
                client_ip: "10.0.1.2",
                client_port: Some(33317),
                accept_date: "06/Feb/2009:12:14:14.655",
                accept_ms: 1_233_922_454_655,
                frontend: "http-in",
                ssl: false,
                backend: "static",
                server: "srv1",
                timers: [Some(10), Some(0), Some(30), Some(69), Some(109)],
                status: Some(200),
                bytes_read: 2750,
                request_cookie: None,
                response_cookie: None,
                termination_state: "----",
                actconn: 1,
                feconn: 1,
                beconn: 1,
                srv_conn: 1,
                retries: 0,
                redispatched: false,
                srv_queue: 0,
                backend_queue: 0,
                request_headers: Some("1wt.eu"),
                response_headers: Some(""),
                request: Some("GET /index.html HTTP/1.1"),
                tail: None,
                message: None,
            }
        );
    }

    #[test]
    fn tcp_line_from_the_manual() {
        let l = ok(
            "Feb  6 12:12:56 localhost haproxy[14387]: 10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0",
        );
        assert_eq!(l.kind, HaproxyKind::Tcp);
        assert_eq!(l.timers, [Some(0), Some(0), Some(5007), None, None]);
        assert_eq!(l.status, None);
        assert_eq!(l.bytes_read, 212);
        assert_eq!(l.termination_state, "--");
        assert_eq!((l.actconn, l.retries, l.redispatched), (0, 3, false));
        assert_eq!((l.request, l.request_headers, l.request_cookie), (None, None, None));
        assert_eq!(l.accept_ms, 1_233_922_371_443);
    }

    /// Lines copied from tests/data/real/haproxy (Elastic, CrowdSec,
    /// fail2ban and lnav test files).
    #[test]
    fn real_lines() {
        let l = ok(
            r#"Jul 30 09:03:52 localhost haproxy[32450]: 67.43.156.13:38862 [30/Jul/2018:09:03:52.726] incoming~ docs_microservice/docs 0/0/1/0/2 304 168 - - ---- 6/6/0/0/0 0/0 {docs.example.internal||} {|||} "GET /component---src-pages-index-js-4b15624544f97cf0bb8f.js HTTP/1.1""#,
        );
        assert_eq!((l.frontend, l.ssl), ("incoming", true));
        assert_eq!(l.request_headers, Some("docs.example.internal||"));
        assert_eq!(l.response_headers, Some("|||"));

        let l = ok(
            r#"117.136.40.129:14853 [14/Jan/2015:12:48:57.127] https-in~ xx_server_https/xxx_node_8002 170/0/0/3/173 200 739 - - --NN 0/0/0/0/0 0/0 "GET /xxx/xxx HTTP/1.1""#,
        );
        assert_eq!(
            (l.syslog_time, l.syslog_host, l.process, l.pid),
            (None, None, None, None)
        );
        assert_eq!(l.termination_state, "--NN");

        let l = ok(
            r#"Nov 14 22:45:11 test haproxy[760]: 2001:db8::1234:58430 [14/Nov/2015:22:45:11.608] main main/<NOSRV> -1/-1/-1/-1/0 401 248 - - PR-- 0/0/0/0/0 0/0 "GET / HTTP/1.1""#,
        );
        assert_eq!((l.client_ip, l.client_port), ("2001:db8::1234", Some(58430)));
        assert_eq!(l.server, "<NOSRV>");
        assert_eq!(l.timers, [None, None, None, None, Some(0)]);

        let l = ok(
            r#"Nov 14 22:45:11 test haproxy[760]: ::ffff:192.168.33.1:58430 [14/Nov/2015:22:45:11.608] main main/<NOSRV> -1/-1/-1/-1/0 401 248 - - PR-- 0/0/0/0/0 0/0 "GET / HTTP/1.1""#,
        );
        assert_eq!(l.client_ip, "::ffff:192.168.33.1");

        let l = ok(
            r#"Sep 29 08:33:00 localhost haproxy[14389]: 127.0.0.1:33317 [29/Sep/2025:08:33:00.277] f_foobar~ f_foobar/<NOSRV> -1/-1/-1/-1/0 400 0 - - CR-- 8/1/0/0/0 0/0 "<BADREQ>""#,
        );
        assert_eq!(l.request, Some("<BADREQ>"));

        let l = ok(
            r#"Dec 10 15:46:49 voyager haproxy[29785]: 127.0.0.1:43738 [10/Dec/2018:15:46:49.497] http-webservices http-webservices/<NOSRV> 0/-1/-1/-1/0 503 213 - - SC-- 1/1/0/0/0 0/0 {localhost:8888||} "GET /foo HTTP/1.1""#,
        );
        assert_eq!(
            (l.request_headers, l.response_headers),
            (Some("localhost:8888||"), None)
        );

        let l = ok(
            r#"Feb 25 16:19:49 192.168.4.2 haproxy[7]: 141.35.244.171:53332 [25/Feb/2019:16:19:48.143] prod_http_in~ bk_admin/nginx_sonst 0/0/7/1457/1487 200 11394 - - ---- 2/1/0/0/0 0/0 {Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:65.0) Gecko/20100101 Firefox/65.0} {} "GET /admin/colt/administration?survey=130&input_stats=1&ajax=1&&ajax=1&refresh=1&ihandle=1 HTTP/1.1""#,
        );
        assert_eq!(
            l.request_headers,
            Some("Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:65.0) Gecko/20100101 Firefox/65.0")
        );
        assert_eq!(l.syslog_host, Some("192.168.4.2"));

        let l = ok(
            "10.0.1.1:63569 [14/Jun/2023:13:33:29.574] public_ssl be_tcp:eck:elasticsearch-ingest/pod:elasticsearch-es-hot-data-nodes-2:elasticsearch-es-ingest-nodes:https:10.142.10.10:9200 199/1/205 2635 -- 29/29/5/3/0 0/0",
        );
        assert_eq!(l.backend, "be_tcp:eck:elasticsearch-ingest");
        assert_eq!(
            l.server,
            "pod:elasticsearch-es-hot-data-nodes-2:elasticsearch-es-ingest-nodes:https:10.142.10.10:9200"
        );

        let l = ok(
            "Sep 20 15:44:23 127.0.0.1 haproxy[25457]: 127.0.0.1:40962 [20/Sep/2018:15:44:23.285] main app/<NOSRV> -1/-1/1 212 SC 1/1/0/0/0 0/0",
        );
        assert_eq!(l.timers, [None, None, Some(1), None, None]);
        let l =
            ok("haproxy[14387]: 10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0");
        assert_eq!((l.syslog_host, l.process, l.pid), (None, Some("haproxy"), Some(14387)));
        ok("172.21.0.1:52214 [12/Oct/2023:21:11:56.796] myfrontend webservers/s2 1/0/18391 11462 cD 1/1/0/0/0 0/0");

        let l = ok(
            r#"May 22 02:22:22 server1 haproxy[5089]: -:22222 [22/May/2021:02:22:22.222] www-https~ myapp/node2 0/0/0/18/18 200 200 - - ---- 222/222/2/0/0 0/0 "OPTIONS /api/v2/app/ HTTP/1.1""#,
        );
        assert_eq!((l.client_ip, l.client_port), ("-", Some(22222)));
    }

    #[test]
    fn real_lines_of_other_shapes_are_errors_that_say_where() {
        // A custom log-format with the host before the timers.
        let e = err(
            r#"May 22 02:22:22 server1 haproxy[5089]: -:22222 [22/May/2021:02:22:22.222] www-https~ myapp/node2 site.domain.com 0/0/0/18/18 200 200 - - ---- 222/222/2/0/0 0/0 "OPTIONS /api/v2/app/ HTTP/1.1""#,
        );
        assert_eq!(
            e,
            r#"haproxy: timers: expected 5 numbers separated by / (HTTP) or 3 (TCP), got "site.domain.com""#
        );
        // option httpslog: TLS fields after the request are its tail.
        let l = ok(
            r#"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] https-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1" 0/0/0/0/1 1wt.eu/TLSv1.3/TLS_AES_256_GCM_SHA384"#,
        );
        assert_eq!(l.tail, Some("0/0/0/0/1 1wt.eu/TLSv1.3/TLS_AES_256_GCM_SHA384"));
        // The error format (section 8.2.6).
        let l = ok(
            "Dec  3 18:27:14 localhost haproxy[6103]: 127.0.0.1:56059 [03/Dec/2012:17:35:10.380] frt/f1: Connection error during SSL handshake",
        );
        assert_eq!(l.kind, HaproxyKind::Error);
        assert_eq!((l.frontend, l.server), ("frt", "f1"));
        assert_eq!(l.message, Some("Connection error during SSL handshake"));
        // HAProxy's other messages.
        let e = err("Feb 25 16:19:38 192.168.4.2 haproxy[1]: Proxy prod_http_in started.");
        assert!(e.starts_with("haproxy: accept date: expected [dd/Mon/yyyy"), "{e}");
        let e =
            err("Sep 20 15:42:59 1.128.3.4 haproxy[24551]: Connect from 1.128.3.4:40780 to 1.128.3.4:5000 (main/HTTP)");
        assert!(e.starts_with("haproxy: accept date"), "{e}");
        let l = ok(
            "192.168.1.4:50033 [28/Feb/2025:02:43:10.123] frontend/backend: SSL handshake failure (error:0A0000C1:SSL routines::no shared cipher)",
        );
        assert_eq!(
            l.message,
            Some("SSL handshake failure (error:0A0000C1:SSL routines::no shared cipher)")
        );
        assert!(err("# failJSON: { \"match\": false }").starts_with("haproxy: accept date"));
    }

    #[test]
    fn syslog_prefixes() {
        let msg = "10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0";
        let p = |prefix: &str| {
            let line = format!("{prefix}{msg}");
            let l = parse_line(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            (
                l.syslog_time.map(str::to_string),
                l.syslog_host.map(str::to_string),
                l.process.map(str::to_string),
                l.pid,
            )
        };
        let s = |v: &str| Some(v.to_string());
        assert_eq!(p(""), (None, None, None, None));
        assert_eq!(
            p("<134>Feb  6 12:12:56 localhost haproxy[14387]: "),
            (s("Feb  6 12:12:56"), s("localhost"), s("haproxy"), Some(14387))
        );
        // HAProxy's own RFC 3164 output has no host.
        assert_eq!(
            p("<134>Feb  6 12:12:56 haproxy[14387]: "),
            (s("Feb  6 12:12:56"), None, s("haproxy"), Some(14387))
        );
        assert_eq!(
            p("2023-01-01T00:00:00+00:00 host haproxy[1]: "),
            (s("2023-01-01T00:00:00+00:00"), s("host"), s("haproxy"), Some(1))
        );
        assert_eq!(
            p("2021-12-15T16:55:18.123456+01:00 host.example.com haproxy[20560]: "),
            (
                s("2021-12-15T16:55:18.123456+01:00"),
                s("host.example.com"),
                s("haproxy"),
                Some(20560)
            )
        );
        assert_eq!(
            p("<134>1 2023-01-01T00:00:00.000000+00:00 lb1 haproxy 4242 - - "),
            (
                s("2023-01-01T00:00:00.000000+00:00"),
                s("lb1"),
                s("haproxy"),
                Some(4242)
            )
        );
        assert_eq!(
            p("<134>1 2023-01-01T00:00:00Z - haproxy - - [meta sequenceId=\"1\"] "),
            (s("2023-01-01T00:00:00Z"), None, s("haproxy"), None)
        );
        assert_eq!(
            p("Dec 12 06:32:56 lb haproxy: "),
            (s("Dec 12 06:32:56"), s("lb"), s("haproxy"), None)
        );
        assert_eq!(
            p("Dec 12 06:32:56.123456 lb "),
            (s("Dec 12 06:32:56.123456"), s("lb"), None, None)
        );
        assert_eq!(p("<13>"), (None, None, None, None));
        assert_eq!(p("lb haproxy[2]: "), (None, s("lb"), s("haproxy"), Some(2)));

        for bad in [
            "a b c d: ",
            "Feb  6 12:12:56 localhost haproxy[x]: ",
            "<1345>haproxy[1]: ",
            "<x>haproxy[1]: ",
            "<134>1 2023-01-01T00:00:00Z lb ",
            "host notatag ",
        ] {
            let line = format!("{bad}{msg}");
            let e = parse_line(&line).unwrap_err().to_string();
            assert!(e.starts_with("haproxy: syslog prefix: expected"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn client_addresses() {
        let c = |client: &str| {
            let line = format!("{client} [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0");
            parse_line(&line).map(|l| (l.client_ip.to_string(), l.client_port))
        };
        assert_eq!(c("10.0.1.2:33317"), Ok(("10.0.1.2".into(), Some(33317))));
        assert_eq!(c("2001:db8::1:38037"), Ok(("2001:db8::1".into(), Some(38037))));
        assert_eq!(c("[::1]:8080"), Ok(("::1".into(), Some(8080))));
        assert_eq!(c("[::1]"), Ok(("::1".into(), None)));
        assert_eq!(c("unix:1"), Ok(("unix".into(), None)));
        assert_eq!(c("10.0.1.2"), Ok(("10.0.1.2".into(), None)));
        assert_eq!(c("10.0.1.2:-"), Ok(("10.0.1.2".into(), None)));
        // The first bracket after the tag is a client, not the date.
        let l = ok(
            "lb haproxy[1]: [2001:db8::7]:443 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0",
        );
        assert_eq!(
            (l.client_ip, l.client_port, l.process),
            ("2001:db8::7", Some(443), Some("haproxy"))
        );
        for bad in ["10.0.1.2:70000", "10.0.1.2:x", ":80", "[::1]x", "[::1"] {
            let e = c(bad).unwrap_err().to_string();
            assert!(e.starts_with("haproxy: client"), "{bad}: {e}");
        }
    }

    #[test]
    fn logasap_redispatch_and_ssl() {
        let l = ok(
            r#"10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in~ static/srv1 10/0/30/69/+109 200 +2750 - - ---- 1/1/1/1/+3 0/0 "GET / HTTP/1.1""#,
        );
        assert_eq!(l.timers[4], Some(109));
        assert_eq!(l.bytes_read, 2750);
        assert_eq!((l.retries, l.redispatched), (3, true));
        assert!(l.ssl);
        let l = ok("10.0.1.2:1 [06/Feb/2009:12:12:51.443] fnt~ bck/srv1 0/0/+5007 +212 -- 0/0/0/0/+1 0/0");
        assert_eq!(
            (l.timers[2], l.bytes_read, l.retries, l.redispatched),
            (Some(5007), 212, 1, true)
        );
        assert_eq!(l.frontend, "fnt");
    }

    #[test]
    fn cookies_status_and_captures() {
        let l = ok(
            r#"10.0.1.2:33317 [06/Feb/2009:12:14:14.655] px-http px-http/<NOSRV> -1/-1/-1/-1/3 -1 0 SESSIONID=abc - CD-- 0/0/0/0/0 0/0 {a|b} {c} "GET / HTTP/1.1"  "#,
        );
        assert_eq!(l.status, None);
        assert_eq!((l.request_cookie, l.response_cookie), (Some("SESSIONID=abc"), None));
        assert_eq!((l.request_headers, l.response_headers), (Some("a|b"), Some("c")));
        // One block holds request headers; blocks may hold quotes and spaces.
        let l = ok(
            r#"10.0.1.2:1 [06/Feb/2009:12:14:14.655] f b/s 0/0/0/0/0 200 1 - - ---- 0/0/0/0/0 0/0 {captured "x" y} "GET /x HTTP/1.1""#,
        );
        assert_eq!(
            (l.request_headers, l.response_headers),
            (Some(r#"captured "x" y"#), None)
        );
        // Older versions: the same fields, from the 1.4 manual.
        let l = ok(
            r#"Dec  9 12:00:03 localhost haproxy[12345]: 127.0.0.1:38037 [09/Dec/2013:12:00:03.205] frontend backend/server 0/133/0/294/430 404 17610 - - ---- 21/21/21/1/0 0/1 {captured} "GET /x HTTP/1.1""#,
        );
        assert_eq!(l.timers, [Some(0), Some(133), Some(0), Some(294), Some(430)]);
        assert_eq!((l.srv_queue, l.backend_queue), (0, 1));
        assert_eq!(l.request_headers, Some("captured"));
        // An empty request.
        assert_eq!(
            ok(r#"10.0.1.2:1 [06/Feb/2009:12:14:14.655] f b/s 0/0/0/0/0 200 1 - - ---- 0/0/0/0/0 0/0 """#).request,
            Some("")
        );
    }

    #[test]
    fn damaged_lines_say_which_field() {
        let base = r#"10.0.1.2:1 [06/Feb/2009:12:14:14.655] f b/s 0/0/0/0/0 200 1 - - ---- 0/0/0/0/0 0/0 {a} {b} "GET / HTTP/1.1""#;
        ok(base);
        let cases = [
            (
                "0/0/0/0/0 200",
                "1/2 200",
                r#"haproxy: timers: expected 5 numbers separated by / (HTTP) or 3 (TCP), got "1/2""#,
            ),
            ("0/0/0/0/0 200", "0/0/0/0/0/0 200", "haproxy: timers"),
            ("0/0/0/0/0 200", "0/0/-2/0/0 200", "haproxy: timers"),
            ("0/0/0/0/0 200", "0/0/99999999999999999999/0/0 200", "haproxy: timers"),
            (" 200 1 ", " 2000000 1 ", "haproxy: status"),
            (" 200 1 ", " 200 -1 ", "haproxy: bytes_read"),
            ("----", "-*--", "haproxy: termination_state"),
            ("----", "-----", "haproxy: termination_state"),
            ("0/0/0/0/0 0/0", "0/0/0/0 0/0", "haproxy: connection counts"),
            ("0/0/0/0/0 0/0", "0/0/0/0/x 0/0", "haproxy: connection counts"),
            ("0/0/0/0/0 0/0", "0/0/0/0/0 0/0/0", "haproxy: queues"),
            (" b/s ", " bs ", "haproxy: backend/server"),
            (" b/s ", " /s ", "haproxy: backend/server"),
            (" f ", " ~ ", "haproxy: frontend"),
            (
                "655] ",
                "655]x ",
                "haproxy: expected a blank after the accept date at byte 37",
            ),
            ("06/Feb", "36/Feb", "haproxy: accept date"),
            ("{a} {b} ", "{a} {b} {c} ", "haproxy: request at byte"),
            ("{a} {b} ", "{a ", "haproxy: captured headers: unclosed {"),
            (
                r#""GET / HTTP/1.1""#,
                r#""GET / HTTP/1.1"#,
                "haproxy: request: unclosed quote",
            ),
            (
                r#" {a} {b} "GET / HTTP/1.1""#,
                "",
                "haproxy: line ends before the request",
            ),
        ];
        for (from, to, want) in cases {
            let line = base.replacen(from, to, 1);
            assert_ne!(line, base, "{from}");
            let e = err(&line);
            assert!(e.starts_with(want), "{line}\n{e}");
        }
        let e = err("10.0.1.2:1 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0 {x}");
        assert!(e.starts_with("haproxy: byte 81, after the queues"), "{e}");
        assert_eq!(
            err("10.0.1.2:1 [06/Feb/2009:12:14:14.655] f b/s 0/0/0/0/0 200 1"),
            "haproxy: line ends before captured request cookie"
        );
        assert_eq!(
            err("10.0.1.2:1 [06/Feb/2009:12:14:14.655] "),
            "haproxy: line ends before frontend"
        );
        assert!(err("").starts_with("haproxy: accept date"));
        assert!(err("[06/Feb/2009:12:12:51.443] f b/s 0/0/1 1 -- 0/0/0/0/0 0/0").starts_with("haproxy: accept date"));
        assert!(err(" [06/Feb/2009:12:12:51.443] f b/s 0/0/1 1 -- 0/0/0/0/0 0/0").starts_with("haproxy: client"));
    }

    #[test]
    fn trailing_blanks_and_line_ends_are_allowed() {
        let l = ok("10.0.1.2:1 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0 \t\r\n");
        assert_eq!(l.backend_queue, 0);
        let l = ok("10.0.1.2:1  [06/Feb/2009:12:12:51.443]  fnt  bck/srv1  0/0/5007  212  --  0/0/0/0/3  0/0");
        assert_eq!(l.client_ip, "10.0.1.2");
    }
}
