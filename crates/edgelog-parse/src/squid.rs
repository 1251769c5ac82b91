//! Squid's native access.log format (`logformat squid`, the default):
//!
//! ```text
//! %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt
//! 1286536309.450    211 192.168.0.68 TCP_MISS/200 1645 GET http://www.example.com/ - HIER_DIRECT/93.184.216.34 text/html
//! ```
//!
//! Fields are separated by one or more blanks (the elapsed time is padded
//! to six characters). Squid writes none of them with a blank inside: URLs
//! are escaped, the user is `[`-escaped and the content type is cut at its
//! first `;` or blank. Text after the ten fields (some setups append
//! `%>h`-style fields) is kept whole as [`SquidLine::rest`].

use crate::ParseError;
use crate::text::Words;
use crate::time::parse_epoch_secs;

/// One Squid access.log line, its fields borrowed from the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SquidLine<'a> {
    /// When the request completed (`%ts.%03tu`), as epoch milliseconds.
    pub time_ms: i64,
    /// How long the request took, in milliseconds (`%tr`).
    pub elapsed_ms: u64,
    /// The client address (`%>a`; a host name with `log_fqdn`).
    pub client: &'a str,
    /// The cache result (`%Ss`): `TCP_MISS`, `TCP_DENIED`, `NONE_NONE`, ...
    pub result_code: &'a str,
    /// The HTTP status sent to the client (`%03>Hs`); `000` (none) is 0.
    pub status: u16,
    /// Bytes sent to the client, headers included (`%<st`).
    pub bytes: u64,
    /// The request method (`%rm`): `GET`, `CONNECT`, `NONE`, ...
    pub method: &'a str,
    /// The URL as written (`%ru`); `host:443` for `CONNECT`.
    pub url: &'a str,
    /// The user (`%[un`); `-` when none.
    pub user: &'a str,
    /// The hierarchy code (`%Sh`): `HIER_DIRECT`, `HIER_NONE`, ...
    pub hierarchy: &'a str,
    /// The peer the request went to (`%<a`); `-` when none.
    pub peer: &'a str,
    /// The reply's content type (`%mt`); `-` when none.
    pub content_type: &'a str,
    /// Fields after the content type, as written (blanks between them kept).
    pub rest: Option<&'a str>,
}

/// Parses one line of Squid's native format. Trailing blanks (and a line
/// end) are allowed; a missing or malformed field is an error naming it.
pub fn parse_line(line: &str) -> Result<SquidLine<'_>, ParseError> {
    let line = line.trim_end_matches([' ', '\t', '\r', '\n']);
    let mut w = Words::new("squid", line, 0);
    let time = w.next("time")?;
    let time_ms = parse_epoch_secs(time)
        .ok_or_else(|| ParseError::bad_column("squid: time", time, "epoch seconds such as 1286536309.450"))?;
    let elapsed = w.next("elapsed")?;
    let elapsed_ms = uint(elapsed).ok_or_else(|| ParseError::bad_column("squid: elapsed", elapsed, "milliseconds"))?;
    let client = w.next("client")?;
    let rs = w.next("result code/status")?;
    let (result_code, status) = rs
        .split_once('/')
        .filter(|(code, _)| !code.is_empty())
        .and_then(|(code, status)| Some((code, u16::try_from(uint(status)?).ok()?)))
        .ok_or_else(|| ParseError::bad_column("squid: result code/status", rs, "CODE/status such as TCP_MISS/200"))?;
    let b = w.next("bytes")?;
    let bytes = uint(b).ok_or_else(|| ParseError::bad_column("squid: bytes", b, "a byte count"))?;
    let method = w.next("method")?;
    let url = w.next("url")?;
    let user = w.next("user")?;
    let hp = w.next("hierarchy/peer")?;
    let (hierarchy, peer) = hp
        .split_once('/')
        .filter(|(h, p)| !h.is_empty() && !p.is_empty())
        .ok_or_else(|| ParseError::bad_column("squid: hierarchy/peer", hp, "CODE/peer such as HIER_DIRECT/10.0.0.1"))?;
    let content_type = w.next("content type")?;
    w.skip_blanks();
    let rest = (w.at < line.len()).then(|| &line[w.at..]);
    Ok(SquidLine {
        time_ms,
        elapsed_ms,
        client,
        result_code,
        status,
        bytes,
        method,
        url,
        user,
        hierarchy,
        peer,
        content_type,
        rest,
    })
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

    fn ok(line: &str) -> SquidLine<'_> {
        parse_line(line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    fn err(line: &str) -> String {
        match parse_line(line) {
            Ok(l) => panic!("parsed: {l:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_manuals_line() {
        assert_eq!(
            ok(
                "1286536309.450    211 192.168.0.68 TCP_MISS/200 1645 GET http://www.example.com/ - HIER_DIRECT/93.184.216.34 text/html"
            ),
            SquidLine {
                time_ms: 1_286_536_309_450,
                elapsed_ms: 211,
                client: "192.168.0.68",
                result_code: "TCP_MISS",
                status: 200,
                bytes: 1645,
                method: "GET",
                url: "http://www.example.com/",
                user: "-",
                hierarchy: "HIER_DIRECT",
                peer: "93.184.216.34",
                content_type: "text/html",
                rest: None,
            }
        );
    }

    #[test]
    fn odd_but_valid_lines() {
        let l = ok(
            "1286536309.450      0 10.0.0.5 TCP_DENIED/403 3964 CONNECT example.com:443 alice HIER_NONE/- text/html",
        );
        assert_eq!(
            (l.result_code, l.status, l.method, l.url),
            ("TCP_DENIED", 403, "CONNECT", "example.com:443")
        );
        assert_eq!((l.user, l.hierarchy, l.peer), ("alice", "HIER_NONE", "-"));
        let l = ok(
            "1286536309.450      0 10.0.0.5 NONE_NONE/000 0 NONE error:transaction-end-before-headers - HIER_NONE/- -",
        );
        assert_eq!(
            (l.result_code, l.status, l.bytes, l.content_type),
            ("NONE_NONE", 0, 0, "-")
        );
        let l =
            ok("1286536309.450 123456789 ::1 TCP_TUNNEL/200 39 CONNECT [2001:db8::1]:443 - HIER_DIRECT/2001:db8::1 -");
        assert_eq!((l.elapsed_ms, l.client, l.peer), (123_456_789, "::1", "2001:db8::1"));
        // Appended fields are kept whole.
        let l = ok(
            "1286536309.450 5 10.0.0.5 TCP_MISS/200 1 GET http://a/ - HIER_DIRECT/1.2.3.4 text/html \"Mozilla/5.0 (X11)\"  extra \t",
        );
        assert_eq!(l.rest, Some("\"Mozilla/5.0 (X11)\"  extra"));
        // Tabs separate too, and trailing blanks and line ends are allowed.
        let l = ok("1286536309\t5\t10.0.0.5\tTCP_HIT/200\t1\tGET\thttp://a/\t-\tHIER_NONE/-\timage/png \r\n");
        assert_eq!(
            (l.time_ms, l.content_type, l.rest),
            (1_286_536_309_000, "image/png", None)
        );
    }

    /// Lines copied from tests/data/real/squid (Elastic's and netdata's
    /// test logs; netdata's are generated, hence the odd combinations).
    #[test]
    fn real_lines() {
        let l = ok(
            "1035368729.430    371 210.8.79.228 TCP_MISS/200 2136 GET http://www.fas.harvard.edu/~hpcws/nav/navbar_r3_c6.jpg - FIRST_PARENT_MISS/proxy2.syd.connect.com.au image/jpeg",
        );
        assert_eq!((l.time_ms, l.elapsed_ms), (1_035_368_729_430, 371));
        assert_eq!(
            (l.hierarchy, l.peer),
            ("FIRST_PARENT_MISS", "proxy2.syd.connect.com.au")
        );
        let l =
            ok("1348870295.249  59723 192.168.0.35 TCP_MISS/503 0 CONNECT safebrowsing.google.com:443 - DIRECT/- -");
        assert_eq!(
            (l.status, l.bytes, l.url, l.peer, l.content_type),
            (503, 0, "safebrowsing.google.com:443", "-", "-")
        );
        let l = ok(
            "1431966858.959 118352 ::1 TCP_MISS/200 1384 CONNECT 0.client-channel.google.com:443 - DIRECT/173.194.206.189 -",
        );
        assert_eq!((l.client, l.elapsed_ms), ("::1", 118_352));
        let l = ok(
            "1157689312.049   5006 10.105.21.199 TCP_MISS/200 19763 CONNECT login.yahoo.com:443 badeyek DIRECT/175.16.199.115 -",
        );
        assert_eq!(l.user, "badeyek");
        let l = ok(
            "1035368732.162      2 210.8.79.199 TCP_IMS_HIT/304 268 GET http://www.bealplanet.com/produits/anglais/produit4.html - NONE/- text/html",
        );
        assert_eq!((l.result_code, l.hierarchy, l.peer), ("TCP_IMS_HIT", "NONE", "-"));
        // A custom logformat (client port after the client) is not this one.
        assert!(
            err("1773416922.391    104 10.105.21.199 58938 TCP_MISS/200 904 123 364 123 528 GET http://example.com/ 1.1 badeyek HIER_DIRECT/203.0.113.10 80 text/html -")
                .starts_with(r#"squid: result code/status: expected CODE/status such as TCP_MISS/200, got "58938""#)
        );
        let l = ok(
            "1576177221.686     1241 2001:db8:2ce:1 UDP_CLIENT_STALE_MEM_ABORTED/401 10309 GET cache_object://localhost/counters - HIER_PARENT_HIT/203.0.113.200 text/plain",
        );
        assert_eq!(
            (l.client, l.result_code, l.status),
            ("2001:db8:2ce:1", "UDP_CLIENT_STALE_MEM_ABORTED", 401)
        );
        let l = ok(
            "1576177221.686     3828 2001:db8:2ce:1 TCP_CF_NEGATIVE_NEGATIVE_ABORTED/400 16025 COPY cache_object://localhost/counters - HIER_NO_CACHE_DIGEST_DIRECT/2001:db8:2ce:a image/plain",
        );
        assert_eq!((l.method, l.peer), ("COPY", "2001:db8:2ce:a"));
        let l = ok(
            "1576177221.686     4616 2001:db8:2ce:1 NONE/603 13869 GET cache_object://localhost/counters - HIER_SINGLE_PARENT/203.0.113.100 image/plain",
        );
        assert_eq!(l.status, 603);
        let l = ok(
            "1576177221.686     4343 2001:db8:2ce:1 NONE/401 13967 POST cache_object://localhost/counters - HIER_CACHE_DIGEST_HIT/content-gateway video/plain",
        );
        assert_eq!(l.peer, "content-gateway");
        let l = ok(
            "1576177221.686     3387 localhost UDP_CLIENT_STALE_MEM_ABORTED/000 15776 PURGE cache_object://localhost/counters - HIER_NO_CACHE_DIGEST_DIRECT/203.0.113.100 application/plain",
        );
        assert_eq!((l.client, l.status, l.elapsed_ms), ("localhost", 0, 3387));
        assert_eq!(
            err("Unmatched! The rat the cat the dog chased killed ate the malt!"),
            r#"squid: time: expected epoch seconds such as 1286536309.450, got "Unmatched!""#
        );
    }

    #[test]
    fn damaged_lines_say_which_field() {
        let base = "1286536309.450    211 192.168.0.68 TCP_MISS/200 1645 GET http://www.example.com/ - HIER_DIRECT/93.184.216.34 text/html";
        let cases = [
            ("1286536309.450", "-1286536309.450", "squid: time:"),
            ("1286536309.450", "x.450", "squid: time:"),
            (
                "    211 ",
                " -211 ",
                r#"squid: elapsed: expected milliseconds, got "-211""#,
            ),
            ("    211 ", " 99999999999999999999999 ", "squid: elapsed:"),
            ("    211 ", " 2.5 ", "squid: elapsed:"),
            ("TCP_MISS/200", "TCP_MISS", "squid: result code/status:"),
            ("TCP_MISS/200", "TCP_MISS/70000", "squid: result code/status:"),
            ("TCP_MISS/200", "/200", "squid: result code/status:"),
            ("TCP_MISS/200", "TCP_MISS/-1", "squid: result code/status:"),
            (" 1645 ", " -1 ", "squid: bytes:"),
            ("HIER_DIRECT/93.184.216.34", "HIER_DIRECT", "squid: hierarchy/peer:"),
            ("HIER_DIRECT/93.184.216.34", "HIER_DIRECT/", "squid: hierarchy/peer:"),
            (" text/html", "", "squid: line ends before content type"),
            (
                " - HIER_DIRECT/93.184.216.34 text/html",
                "",
                "squid: line ends before user",
            ),
        ];
        for (from, to, want) in cases {
            let line = base.replacen(from, to, 1);
            assert_ne!(line, base, "{from}");
            let e = err(&line);
            assert!(e.starts_with(want), "{line}\n{e}");
        }
        assert_eq!(err(""), "squid: line ends before time");
        assert_eq!(err(" \t "), "squid: line ends before time");
    }
}
