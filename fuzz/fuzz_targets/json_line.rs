//! The flat JSON-line scanner on arbitrary lines.
//!
//! - no input panics it;
//! - `scan_object` (fast path for backslash-free string objects, then the
//!   careful path) reports exactly what the careful `scan_any` reports: the
//!   same members in the same order, or the same error;
//! - every string it reports is a slice of the line, and decoding it never
//!   panics;
//! - what a JSON writer escapes (the input taken as a string value, with or
//!   without `\u` escapes for non-ASCII) decodes back to the same text.

#![no_main]

use edgelog_parse::json::{Value, members, scan_object};
use libfuzzer_sys::fuzz_target;

/// `inner` lies inside `outer` (it was borrowed from it).
fn within(outer: &str, inner: &str) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

/// Writes `s` as a JSON string body the way a strict writer would (the same
/// as the `escaped_strings_round_trip` property test).
fn escape(s: &str, ascii: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '/' if ascii => out.push_str("\\/"),
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

fn check_line(line: &str) {
    let fast = members(line, true);
    let careful = members(line, false);
    assert_eq!(fast, careful, "fast and careful paths disagree on {line:?}");
    let Ok(fields) = fast else { return };
    let mut scratch = String::new();
    for (k, v) in fields {
        assert!(within(line, k.raw()));
        let _ = k.decode(&mut scratch);
        match v {
            Value::Str(s) => {
                assert!(within(line, s.raw()));
                if !s.has_escapes() {
                    assert_eq!(s.decode(&mut scratch).ok(), Some(s.raw()));
                } else if let Ok(d) = s.decode(&mut scratch) {
                    // Decoding only ever shortens: each escape is at least
                    // as long as what it stands for.
                    assert!(d.len() <= s.raw().len());
                }
            }
            Value::Number(n) => assert!(within(line, n) && !n.is_empty()),
            Value::Nested(n) => {
                assert!(within(line, n));
                assert!(n.starts_with(['{', '[']) && n.ends_with(['}', ']']));
            }
            Value::Bool(_) | Value::Null => {}
        }
    }
}

fn check_round_trip(text: &str, ascii: bool) {
    let body = escape(text, ascii);
    // As a value, as a key, and after a plain member (so that the fast path
    // sees the line whenever the text needs no escape): which member, and
    // whether its key or its value holds the text.
    for (line, at, in_key) in [
        (format!(r#"{{"user_agent":"{body}"}}"#), 0, false),
        (format!(r#"{{"{body}":1}}"#), 0, true),
        (format!(r#" {{ "a" : "b" , "k" : "{body}" }} "#), 1, false),
    ] {
        let mut seen = Vec::new();
        scan_object(&line, |k, v| {
            let mut scratch = String::new();
            seen.push(match (in_key, v) {
                (true, _) => k.decode(&mut scratch).map(str::to_string),
                (false, Value::Str(s)) => s.decode(&mut scratch).map(str::to_string),
                (false, other) => Ok(format!("{other:?}")),
            });
        })
        .unwrap_or_else(|e| panic!("{line:?} does not scan: {e}"));
        assert_eq!(
            seen.get(at),
            Some(&Ok(text.to_string())),
            "{text:?} written as {line:?}"
        );
        assert_eq!(members(&line, true), members(&line, false));
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_line(&text);
    // A line that does not hold a single JSON line: each of its lines too.
    if text.contains('\n') {
        for line in text.lines() {
            check_line(line);
        }
    }
    if text.len() <= 512 {
        check_round_trip(&text, data.first().is_some_and(|b| b & 1 == 1));
    }
});
