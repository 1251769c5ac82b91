//! Splitting an HTTP request line (`GET /a?b=1 HTTP/1.1`) into its parts.
//!
//! Request lines in access logs are whatever the client sent: a TLS handshake
//! on a plain port, a bare `-`, a target with spaces. Anything that does not
//! start with a method-like token yields no parts (the raw line stays in the
//! native column), never an error.

/// The parts of a request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestLine<'a> {
    /// `GET`, `POST`, ...
    pub method: Option<&'a str>,
    /// The path of the target, before any `?`.
    pub path: Option<&'a str>,
    /// The query string after the first `?`, without it.
    pub query: Option<&'a str>,
    /// `HTTP/1.1`, `HTTP/2.0`, ...; absent for HTTP/0.9-style lines.
    pub protocol: Option<&'a str>,
}

/// Splits `line` into method, path, query and protocol.
pub fn split_request(line: &str) -> RequestLine<'_> {
    let line = line.trim_matches(' ');
    let Some((method, rest)) = line.split_once(' ') else {
        return RequestLine::default();
    };
    let method_like = !method.is_empty()
        && method.len() <= 32
        && method.bytes().all(|c| c.is_ascii_uppercase() || c == b'-' || c == b'_');
    if !method_like {
        return RequestLine::default();
    }
    let rest = rest.trim_matches(' ');
    let (target, protocol) = match rest.rsplit_once(' ') {
        Some((t, p)) if p.starts_with("HTTP/") => (t.trim_end_matches(' '), Some(p)),
        _ if rest.starts_with("HTTP/") => ("", Some(rest)),
        _ => (rest, None),
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    RequestLine {
        method: Some(method),
        path: (!path.is_empty()).then_some(path),
        query,
        protocol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> (Option<&str>, Option<&str>, Option<&str>, Option<&str>) {
        let r = split_request(s);
        (r.method, r.path, r.query, r.protocol)
    }

    #[test]
    fn ordinary_lines() {
        assert_eq!(
            parts("GET / HTTP/1.1"),
            (Some("GET"), Some("/"), None, Some("HTTP/1.1"))
        );
        assert_eq!(
            parts("POST /api/x?id=1&b=2 HTTP/2.0"),
            (Some("POST"), Some("/api/x"), Some("id=1&b=2"), Some("HTTP/2.0"))
        );
        assert_eq!(
            parts("GET /a? HTTP/1.1"),
            (Some("GET"), Some("/a"), Some(""), Some("HTTP/1.1"))
        );
        assert_eq!(
            parts("GET /?q=a?b HTTP/1.0"),
            (Some("GET"), Some("/"), Some("q=a?b"), Some("HTTP/1.0"))
        );
    }

    #[test]
    fn odd_lines() {
        assert_eq!(parts("GET /old"), (Some("GET"), Some("/old"), None, None));
        assert_eq!(
            parts("GET /a b HTTP/1.1"),
            (Some("GET"), Some("/a b"), None, Some("HTTP/1.1"))
        );
        assert_eq!(parts("-"), (None, None, None, None));
        assert_eq!(parts(""), (None, None, None, None));
        assert_eq!(parts("\u{16}\u{3}\u{1} x"), (None, None, None, None));
        assert_eq!(parts("get / HTTP/1.1"), (None, None, None, None));
        assert_eq!(parts("GET  HTTP/1.1"), (Some("GET"), None, None, Some("HTTP/1.1")));
    }
}
