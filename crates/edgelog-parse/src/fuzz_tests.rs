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
