//! Property tests: no input panics the parsers, and what a JSON writer
//! escapes, the scanner decodes back to the same text.

use proptest::prelude::*;

use crate::json::{Value, members, scan_object};
use crate::request::split_request;
use crate::sakura::{SakuraField, SakuraLine, Scratch, key_hour, parse_f64};
use crate::time::{parse_epoch_secs, parse_iso8601};

const VALID: &str = r#"{"time":"2024-11-27T13:28:34+09:00","http_host":"h","remote_port":"1","request":"GET /a?b HTTP/1.1","status":"200","bytes_sent":"3","msec":"1.5","user_agent":"\u00e9\"\\"}"#;

/// Exercises every accessor of every field, as the Arrow side does.
fn parse_everything(line: &str) {
    let s = &mut String::new();
    if let Ok(l) = SakuraLine::parse(line, |_| {}) {
        for &f in SakuraField::ALL {
            let _ = l.text(f, s);
            let _ = l.u16(f, s);
            let _ = l.u64(f, s);
            let _ = l.f64(f, s);
        }
        let _ = l.time_ms(s);
        let _ = l.record(&mut Scratch::default());
        if let Ok(Some(r)) = l.text(SakuraField::Request, s) {
            let _ = split_request(r);
        }
    }
    let _ = parse_iso8601(line, 0);
    let _ = parse_epoch_secs(line);
    let _ = key_hour(line);
    let _ = split_request(line);
}

/// Writes `s` as a JSON string body the way a strict writer would, escaping
/// some non-ASCII characters as `\u` (with surrogate pairs) when `ascii` is set.
fn escape(s: &str, ascii: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ascii && !c.is_ascii() => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        parse_everything(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn json_like_text_never_panics(s in r#"[{}\[\]":,\\u0-9a-fA-F tnrl.\-+eE]{0,80}"#) {
        parse_everything(&s);
    }

    #[test]
    fn cut_or_damaged_valid_lines_never_panic(cut in 0..VALID.len(), at in 0..VALID.len(), b in any::<u8>()) {
        let mut bytes = VALID.as_bytes()[..cut].to_vec();
        parse_everything(&String::from_utf8_lossy(&bytes));
        bytes = VALID.as_bytes().to_vec();
        bytes[at] = b;
        parse_everything(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn escaped_strings_round_trip(value in any::<String>(), ascii in any::<bool>()) {
        let line = format!(r#"{{"user_agent":"{}"}}"#, escape(&value, ascii));
        let mut seen = None;
        scan_object(&line, |_, v| {
            if let Value::Str(s) = v {
                let mut scratch = String::new();
                seen = Some(s.decode(&mut scratch).map(str::to_string));
            }
        }).unwrap();
        prop_assert_eq!(seen, Some(Ok(value)));
    }

    #[test]
    fn numbers_round_trip(status in any::<u16>(), bytes in any::<u64>()) {
        let line = format!(r#"{{"status":"{status}","bytes_sent":{bytes}}}"#);
        let l = SakuraLine::parse(&line, |_| {}).unwrap();
        let s = &mut String::new();
        prop_assert_eq!(l.u16(SakuraField::Status, s).unwrap(), Some(status));
        prop_assert_eq!(l.u64(SakuraField::BytesSent, s).unwrap(), Some(bytes));
    }

    #[test]
    fn fast_scan_equals_careful_scan(s in r#"[{}\[\]":, \\ab0-9.nul]{0,60}"#) {
        prop_assert_eq!(members(&s, true), members(&s, false));
    }

    #[test]
    fn fast_scan_equals_careful_scan_on_objects(
        // No quote or backslash inside, so that most lines take the fast path;
        // `extra` then damages some of them.
        pairs in proptest::collection::vec(("[a-z_]{0,6}", "[ !#-\\[\\]-~\u{e9}\u{3042}]{0,70}"), 0..40),
        extra in proptest::option::of((0..2000usize, "[\"\\\\{}:, ]")),
        ws in "[ \t]{0,2}",
    ) {
        let body: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("\"{k}\"{ws}:{ws}\"{v}\""))
            .collect();
        let mut line = format!("{ws}{{{}}}{ws}", body.join(&format!("{ws},")));
        if let Some((at, c)) = extra {
            let at = at % (line.len() + 1);
            if line.is_char_boundary(at) {
                line.insert_str(at, &c);
            }
        }
        prop_assert_eq!(members(&line, true), members(&line, false));
    }

    /// The remembered-layout reader gives exactly what the full scanner
    /// gives (members, unknown keys, errors), whatever layout it learned
    /// from the line before: lines of the published keys, shuffled, with
    /// unknown keys, non-string values, spaces, escapes, and damage.
    #[test]
    fn remembered_layout_equals_full_scan(
        template in proptest::collection::vec((0..20usize, 0..8u8), 0..18),
        shuffled in any::<bool>(),
        lines in proptest::collection::vec((
            proptest::collection::vec("[ !#-\\[\\]-~\u{e9}\u{3042}]{0,12}", 18),
            proptest::option::of((0..600usize, "[\"\\\\{}:, \n]")),
            proptest::option::of(0..600usize),
        ), 1..8),
    ) {
        let mut parser = crate::sakura::SakuraParser::default();
        // Lines of one template with new values each: most take the layout
        // learned from the line before, damaged ones must not.
        for (values, damage, cut) in lines {
            let mut keys: Vec<String> = SakuraField::ALL.iter().map(|f| f.name().to_string()).collect();
            keys.extend(["extra", "zz", "a\\u0062"].map(String::from));
            let mut body = Vec::new();
            for (i, ((k, kind), v)) in template.iter().zip(&values).enumerate() {
                let key = if shuffled { &keys[*k % keys.len()] } else { &keys[i % keys.len()] };
                let value = match kind {
                    0 => "12".to_string(),
                    1 => "null".to_string(),
                    2 => format!("\"{}\"", escape(v, true)),
                    _ => format!("\"{v}\""),
                };
                let sep = if *kind == 7 { ": " } else { ":" };
                body.push(format!("\"{key}\"{sep}{value}"));
            }
            let mut line = format!("{{{}}}", body.join(","));
            if let Some((at, c)) = &damage {
                let at = at % (line.len() + 1);
                if line.is_char_boundary(at) {
                    line.insert_str(at, c);
                }
            }
            if let Some(at) = cut {
                let at = at % (line.len() + 1);
                if line.is_char_boundary(at) {
                    line.truncate(at);
                }
            }
            let (mut u1, mut u2) = (Vec::new(), Vec::new());
            let fast = parser.parse(&line, |k| u1.push(k.to_string()));
            let full = SakuraLine::parse(&line, |k| u2.push(k.to_string()));
            prop_assert_eq!(&fast, &full, "{}", line);
            if full.is_ok() {
                prop_assert_eq!(&u1, &u2, "{}", line);
            }
        }
    }

    /// A record typed with a scratch that remembers the last `time` is the
    /// one typed from nothing, whatever line came before.
    #[test]
    fn remembered_time_equals_fresh_parse(
        times in proptest::collection::vec(prop_oneof![
            Just("2024-11-27T13:28:34+09:00".to_string()),
            Just("2024-11-27T13:28:34+00:00".to_string()),
            "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\.[0-9]{1,4})?(Z|[+-][01][0-9]:?[0-5][0-9])?",
            "[0-9T:+-]{0,12}",
        ], 1..6),
    ) {
        let mut warm = Scratch::default();
        for t in &times {
            let line = format!(r#"{{"time":"{t}","msec":"1.5"}}"#);
            let l = SakuraLine::parse(&line, |_| {}).unwrap();
            let fresh = l.record(&mut Scratch::default()).map(|r| r.time_ms);
            prop_assert_eq!(l.record(&mut warm).map(|r| r.time_ms), fresh);
        }
    }

    #[test]
    fn fast_float_equals_std(s in "[0-9]{0,17}(\\.[0-9]{0,17})?|[0-9.eE+-]{0,8}") {
        let std: Option<f64> = s.parse().ok();
        prop_assert_eq!(parse_f64(&s).map(f64::to_bits), std.map(f64::to_bits));
    }
}

mod text_dialects {
    use proptest::prelude::*;

    use crate::pattern::{Matched, Pattern};
    use crate::text::{parse_clf_time, parse_epoch_auto, percent_decode, quoted_tokens, tokens, unescape};

    const COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;

    /// What an nginx-style writer puts in a quoted field: `"` and `\` escaped.
    fn escape(s: &str) -> String {
        s.replace('\\', "\\\\").replace('"', "\\\"")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn text_helpers_never_panic(line in "\\PC{0,200}") {
            let mut v = Vec::new();
            let _ = tokens(&line, &mut v);
            v.clear();
            let _ = quoted_tokens(&line, &mut v);
            let _ = unescape(&line);
            let _ = percent_decode(&line);
            let _ = parse_clf_time(&line);
            let _ = parse_epoch_auto(&line);
            let p = Pattern::nginx(COMBINED).unwrap();
            let mut m = Vec::new();
            let _ = p.matches(&line, &mut m);
            let _ = Pattern::nginx(&line);
            let _ = Pattern::apache(&line);
        }

        #[test]
        fn noisy_log_lines_never_panic(line in "[ \"\\[\\]\\\\a-z0-9:/.%+-]{0,120}") {
            let p = Pattern::apache(r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i""#).unwrap();
            let mut m: Vec<Matched<'_>> = Vec::new();
            let _ = p.matches(&line, &mut m);
            let mut v = Vec::new();
            let _ = tokens(&line, &mut v);
        }

        /// A combined line written from any values (quotes and backslashes
        /// escaped as nginx does) matches back to exactly those values.
        #[test]
        fn combined_lines_round_trip(
            ip in "[0-9a-f:.]{1,39}",
            user in "[a-z-]{1,8}",
            request in "\\PC{0,60}",
            status in 100u16..600,
            bytes in 0u64..10_000_000,
            referer in "\\PC{0,40}",
            agent in "\\PC{0,60}",
        ) {
            let line = format!(
                r#"{ip} - {user} [27/Nov/2024:13:00:01 +0900] "{}" {status} {bytes} "{}" "{}""#,
                escape(&request), escape(&referer), escape(&agent)
            );
            let p = Pattern::nginx(COMBINED).unwrap();
            let mut m = Vec::new();
            p.matches(&line, &mut m).unwrap();
            let got: Vec<String> = m.iter().map(|f| if f.quoted { unescape(f.text).into_owned() } else { f.text.to_string() }).collect();
            prop_assert_eq!(got, vec![
                ip, user, "27/Nov/2024:13:00:01 +0900".to_string(), request, status.to_string(), bytes.to_string(), referer, agent,
            ]);
        }

        /// CLF times agree with ISO 8601 times of the same instant.
        #[test]
        fn clf_time_equals_iso_time(secs in 0i64..4_102_444_800, off_min in -(14 * 60i32)..(14 * 60)) {
            let off_min = off_min - off_min % 15;
            let local = chrono_like(secs + i64::from(off_min) * 60);
            let sign = if off_min < 0 { '-' } else { '+' };
            let (oh, om) = (off_min.abs() / 60, off_min.abs() % 60);
            const MON: [&str; 12] = ["Jan","Feb","Mar","Apr","May","Jun","Jul","Aug","Sep","Oct","Nov","Dec"];
            let clf = format!("{:02}/{}/{:04}:{:02}:{:02}:{:02} {sign}{oh:02}{om:02}", local.2, MON[local.1 as usize - 1], local.0, local.3, local.4, local.5);
            prop_assert_eq!(parse_clf_time(&clf), Some(secs * 1000));
        }
    }

    /// (year, month, day, hour, minute, second) of epoch seconds.
    fn chrono_like(secs: i64) -> (i64, u32, u32, i64, i64, i64) {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = crate::time::civil_from_days(days);
        (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
    }
}

mod proxy_dialects {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use crate::haproxy::{self, HaproxyKind};
    use crate::pattern::{ENVOY_DEFAULT, Pattern, VARNISH_DEFAULT};
    use crate::squid;
    use crate::time::civil_from_days;

    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];

    const HTTP: &str = r#"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in~ static/srv1 10/0/30/69/+109 200 +2750 a=1 - ---- 1/1/1/1/+1 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1""#;
    const SQUID: &str = "1286536309.450    211 192.168.0.68 TCP_MISS/200 1645 GET http://www.example.com/ - HIER_DIRECT/93.184.216.34 text/html";

    /// Runs every parser of this module on `s`, as text and as a format.
    fn parse_everything(s: &str) {
        let _ = haproxy::parse_line(s);
        let _ = squid::parse_line(s);
        let mut m = Vec::new();
        for p in [Pattern::envoy(s), Pattern::varnish(s)].into_iter().flatten() {
            let _ = p.matches(s, &mut m);
        }
        let _ = Pattern::envoy(ENVOY_DEFAULT).map(|p| p.matches(s, &mut m));
        let _ = Pattern::varnish(VARNISH_DEFAULT).map(|p| p.matches(s, &mut m));
    }

    /// (year, month, day, hour, minute, second, millisecond) of epoch ms.
    fn civil(ms: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
        let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
        let (y, m, d) = civil_from_days(days);
        let s = rem / 1000;
        (y, m, d, s / 3600, s % 3600 / 60, s % 60, rem % 1000)
    }

    /// A client address as HAProxy writes it, and the address it stands for.
    fn client() -> impl Strategy<Value = (String, String)> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|a| {
                let ip = Ipv4Addr::from(a).to_string();
                (ip.clone(), ip)
            }),
            (any::<[u16; 8]>(), any::<bool>()).prop_map(|(a, bracketed)| {
                let ip = Ipv6Addr::from(a).to_string();
                (if bracketed { format!("[{ip}]") } else { ip.clone() }, ip)
            }),
        ]
    }

    type Syslog = (Option<String>, Option<String>, Option<String>, Option<u32>);

    /// A syslog prefix of one of the shapes syslog daemons and HAProxy
    /// write, and what it holds.
    fn syslog_prefix() -> impl Strategy<Value = (String, Syslog)> {
        (
            0..6u8,
            0..4_102_444_800_000i64,
            "[a-z][a-z0-9.-]{0,12}",
            "[a-z][a-z0-9_-]{0,8}",
            any::<u32>(),
            0..192u8,
        )
            .prop_map(|(shape, ms, host, process, pid, pri)| {
                let (y, mo, d, h, mi, s, _) = civil(ms);
                let bsd = format!("{} {d:>2} {h:02}:{mi:02}:{s:02}", MON[mo as usize - 1]);
                let iso = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+00:00");
                match shape {
                    0 => (String::new(), (None, None, None, None)),
                    1 => (
                        format!("{bsd} {host} {process}[{pid}]: "),
                        (Some(bsd), Some(host), Some(process), Some(pid)),
                    ),
                    2 => (
                        format!("<{pri}>{bsd} {process}[{pid}]: "),
                        (Some(bsd), None, Some(process), Some(pid)),
                    ),
                    3 => (
                        format!("{iso} {host} {process}[{pid}]: "),
                        (Some(iso), Some(host), Some(process), Some(pid)),
                    ),
                    4 => (
                        format!("<{pri}>1 {iso} {host} {process} {pid} - - "),
                        (Some(iso), Some(host), Some(process), Some(pid)),
                    ),
                    _ => (format!("{process}[{pid}]: "), (None, None, Some(process), Some(pid))),
                }
            })
    }

    fn timer(t: Option<i64>) -> String {
        t.map_or("-1".to_string(), |v| v.to_string())
    }

    fn plus(on: bool) -> &'static str {
        if on { "+" } else { "" }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            parse_everything(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn log_like_text_never_panics(s in "[ \t\"\\[\\]{}<>/:+~.%()?\\\\a-zA-Z0-9_-]{0,160}") {
            parse_everything(&s);
        }

        #[test]
        fn format_like_text_never_panics(s in "([%(){}:?\\\\\" ]|[A-Z_]{1,8}|REQ|Varnish:hitmiss|VSL:|[hlutrsbxiDT])*") {
            parse_everything(&s);
        }

        #[test]
        fn cut_or_damaged_valid_lines_never_panic(which in any::<bool>(), cut in 0..200usize, at in 0..200usize, b in any::<u8>()) {
            let valid = if which { HTTP } else { SQUID };
            let (cut, at) = (cut % (valid.len() + 1), at % valid.len());
            parse_everything(&String::from_utf8_lossy(&valid.as_bytes()[..cut]));
            let mut bytes = valid.as_bytes().to_vec();
            bytes[at] = b;
            parse_everything(&String::from_utf8_lossy(&bytes));
        }

        /// An HAProxy HTTP or TCP line written from any field values parses
        /// back to exactly those values.
        #[test]
        fn haproxy_lines_round_trip(
            (prefix, syslog) in syslog_prefix(),
            (client, client_ip) in client(),
            port in any::<u16>(),
            accept_ms in 0..4_102_444_800_000i64,
            (frontend, ssl) in ("[A-Za-z0-9_.:-]{1,12}", any::<bool>()),
            backend in "[A-Za-z0-9_.:-]{1,12}",
            server in prop_oneof!["[A-Za-z0-9_.:-]{1,12}", Just("<NOSRV>".to_string())],
            http in any::<bool>(),
            timers in proptest::array::uniform5(proptest::option::of(0..1_000_000_000_000i64)),
            plus_last in any::<bool>(),
            status in proptest::option::of(any::<u16>()),
            (bytes_read, plus_bytes) in (any::<u64>(), any::<bool>()),
            cookies in (proptest::option::of("[A-Za-z0-9=_.]{1,16}"), proptest::option::of("[A-Za-z0-9=_.]{1,16}")),
            state in "[A-Za-z-]{4}",
            conns in proptest::array::uniform5(any::<u64>()),
            redispatched in any::<bool>(),
            queues in (any::<u64>(), any::<u64>()),
            headers in proptest::collection::vec("[^}\r\n]{0,30}", 0..=2),
            request in "[^\"\r\n]{0,60}",
        ) {
            let (y, mo, d, h, mi, s, ms) = civil(accept_ms);
            let date = format!("{d:02}/{}/{y:04}:{h:02}:{mi:02}:{s:02}.{ms:03}", MON[mo as usize - 1]);
            let n = if http { 5 } else { 3 };
            let timer_text: Vec<String> = timers[..n]
                .iter()
                .enumerate()
                .map(|(i, t)| format!("{}{}", if i == n - 1 && t.is_some() { plus(plus_last) } else { "" }, timer(*t)))
                .collect();
            let state = if http { &state[..] } else { &state[..2] };
            let conn_text = format!(
                "{}/{}/{}/{}/{}{}",
                conns[0], conns[1], conns[2], conns[3], plus(redispatched), conns[4]
            );
            let mut line = format!(
                "{prefix}{client}:{port} [{date}] {frontend}{} {backend}/{server} {}",
                if ssl { "~" } else { "" },
                timer_text.join("/"),
            );
            if http {
                line += &format!(
                    " {} {}{bytes_read} {} {} {state} {conn_text} {}/{}",
                    status.map_or("-1".to_string(), |s| s.to_string()),
                    plus(plus_bytes),
                    cookies.0.as_deref().unwrap_or("-"),
                    cookies.1.as_deref().unwrap_or("-"),
                    queues.0,
                    queues.1,
                );
                for h in &headers {
                    line += &format!(" {{{h}}}");
                }
                line += &format!(" \"{request}\"");
            } else {
                line += &format!(" {}{bytes_read} {state} {conn_text} {}/{}", plus(plus_bytes), queues.0, queues.1);
            }
            let l = haproxy::parse_line(&line).map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
            let mut want_timers = [None; 5];
            want_timers[..n].copy_from_slice(&timers[..n]);
            prop_assert_eq!(l.kind, if http { HaproxyKind::Http } else { HaproxyKind::Tcp });
            prop_assert_eq!(
                (l.syslog_time, l.syslog_host, l.process, l.pid),
                (syslog.0.as_deref(), syslog.1.as_deref(), syslog.2.as_deref(), syslog.3)
            );
            prop_assert_eq!((l.client_ip, l.client_port), (&client_ip[..], Some(port)));
            prop_assert_eq!((l.accept_date, l.accept_ms), (&date[..], accept_ms));
            prop_assert_eq!((l.frontend, l.ssl), (&frontend[..], ssl));
            prop_assert_eq!((l.backend, l.server), (&backend[..], &server[..]));
            prop_assert_eq!(l.timers, want_timers);
            prop_assert_eq!(l.bytes_read, bytes_read);
            prop_assert_eq!(l.termination_state, state);
            prop_assert_eq!(
                (l.actconn, l.feconn, l.beconn, l.srv_conn, l.retries, l.redispatched),
                (conns[0], conns[1], conns[2], conns[3], conns[4], redispatched)
            );
            prop_assert_eq!((l.srv_queue, l.backend_queue), queues);
            if http {
                prop_assert_eq!(l.status, status);
                prop_assert_eq!((l.request_cookie, l.response_cookie), (cookies.0.as_deref(), cookies.1.as_deref()));
                prop_assert_eq!(
                    (l.request_headers, l.response_headers),
                    (headers.first().map(String::as_str), headers.get(1).map(String::as_str))
                );
                prop_assert_eq!(l.request, Some(&request[..]));
            } else {
                prop_assert_eq!(
                    (l.status, l.request_cookie, l.response_cookie, l.request_headers, l.response_headers, l.request),
                    (None, None, None, None, None, None)
                );
            }
        }

        /// A Squid line written from any field values parses back to
        /// exactly those values.
        #[test]
        fn squid_lines_round_trip(
            secs in 0..100_000_000_000i64,
            millis in 0..1000i64,
            elapsed in any::<u64>(),
            client in prop_oneof![
                any::<[u8; 4]>().prop_map(|a| Ipv4Addr::from(a).to_string()),
                any::<[u16; 8]>().prop_map(|a| Ipv6Addr::from(a).to_string()),
                "[a-z][a-z0-9.-]{0,15}",
            ],
            result_code in "[A-Z][A-Z_]{0,24}",
            status in any::<u16>(),
            bytes in any::<u64>(),
            method in "[A-Z]{1,10}|-",
            url in "\\S{1,40}",
            user in "\\S{1,12}",
            hierarchy in "[A-Z_]{1,20}",
            peer in "\\S{1,20}",
            content_type in "\\S{1,20}",
            rest in proptest::option::of("\\S{1,10}([ \t]{1,3}\\S{1,10}){0,3}"),
            seps in proptest::collection::vec("[ \t]{1,3}", 10),
        ) {
            let fields = [
                format!("{secs}.{millis:03}"),
                format!("{elapsed:>6}"),
                client.clone(),
                format!("{result_code}/{status:03}"),
                bytes.to_string(),
                method.clone(),
                url.clone(),
                user.clone(),
                format!("{hierarchy}/{peer}"),
                content_type.clone(),
            ];
            let mut line = String::new();
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    line += &seps[i];
                }
                line += f;
            }
            if let Some(r) = &rest {
                line += &seps[0];
                line += r;
            }
            let l = squid::parse_line(&line).map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
            prop_assert_eq!(l.time_ms, secs * 1000 + millis);
            prop_assert_eq!(l.elapsed_ms, elapsed);
            prop_assert_eq!(l.client, &client[..]);
            prop_assert_eq!((l.result_code, l.status), (&result_code[..], status));
            prop_assert_eq!(l.bytes, bytes);
            prop_assert_eq!((l.method, l.url, l.user), (&method[..], &url[..], &user[..]));
            prop_assert_eq!((l.hierarchy, l.peer), (&hierarchy[..], &peer[..]));
            prop_assert_eq!(l.content_type, &content_type[..]);
            prop_assert_eq!(l.rest, rest.as_deref());
        }

        /// A line written from any values by an Envoy format of quoted and
        /// bare operators matches back to those values.
        #[test]
        fn envoy_lines_round_trip(
            fields in proptest::collection::vec((
                prop_oneof![
                    Just("%START_TIME%"),
                    Just("%REQ(:METHOD)%"),
                    Just("%REQ(X-ENVOY-ORIGINAL-PATH?:PATH):100%"),
                    Just("%RESPONSE_CODE%"),
                    Just("%DYNAMIC_METADATA(a.b:c)%"),
                    Just("%START_TIME(%s.%3f)%"),
                ],
                any::<bool>(),
                "[A-Za-z0-9./:,-]{1,12}",
                "[^\"\\\\\r\n]{0,20}",
            ), 1..8),
        ) {
            let mut format = String::new();
            let mut line = String::new();
            let mut want = Vec::new();
            for (i, (op, quoted, bare, text)) in fields.iter().enumerate() {
                if i > 0 {
                    format.push(' ');
                    line.push(' ');
                }
                if *quoted {
                    format += &format!("\"{op}\"");
                    line += &format!("\"{text}\"");
                    want.push(text.clone());
                } else {
                    format += op;
                    line += bare;
                    want.push(bare.clone());
                }
            }
            format += "\\n";
            let p = Pattern::envoy(&format).map_err(TestCaseError::fail)?;
            let mut m = Vec::new();
            p.matches(&line, &mut m).map_err(|e| TestCaseError::fail(format!("{e}: {format} / {line}")))?;
            let got: Vec<String> = m.iter().map(|f| f.text.to_string()).collect();
            prop_assert_eq!(got, want);
        }
    }
}
