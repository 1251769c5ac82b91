//! The text-dialect helpers: the tokenizer, the `\xHH` / `%HH` / `+`
//! decoders and the CLF and epoch time parsers.
//!
//! - no input panics them;
//! - tokens are slices of the line; without a `[` in the line, the bracket
//!   and no-bracket tokenizers agree;
//! - text escaped the way nginx and Apache write it (`\"`, `\\`, `\xHH`,
//!   `%HH`) decodes back to the same text; text with nothing to decode is
//!   returned as it is;
//! - CLF times agree with epoch seconds of the same instant, in any offset;
//! - integer epochs in seconds read as `seconds * 1000`, and a fraction
//!   reads as `parse_epoch_secs` does.

#![no_main]

use std::borrow::Cow;

use edgelog_parse::text::{
    epoch_int_ms, parse_clf_time, parse_epoch_auto, percent_decode, plus_to_space, quoted_tokens, tokens, unescape,
};
use edgelog_parse::time::{civil_from_days, parse_epoch_secs};
use libfuzzer_sys::fuzz_target;

fn within(outer: &str, inner: &str) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

fn check_tokens(line: &str) {
    let mut a = Vec::new();
    let ra = tokens(line, &mut a);
    let mut b = Vec::new();
    let rb = quoted_tokens(line, &mut b);
    for t in a.iter().chain(&b) {
        assert!(within(line, t.text));
        if !t.quoted && !t.text.is_empty() && !line.contains('[') {
            assert!(!t.text.contains([' ', '\t']), "bare token {:?} holds a blank", t.text);
        }
    }
    if !line.contains('[') {
        assert_eq!(ra.is_ok(), rb.is_ok());
        if ra.is_ok() {
            assert_eq!(a, b);
        }
    }
}

fn check_decoders(s: &str) {
    // Nothing to decode: the text itself, borrowed.
    if !s.contains('\\') && !s.contains("\"\"") {
        assert!(matches!(unescape(s), Cow::Borrowed(b) if b == s));
    }
    if !s.contains('%') {
        assert!(matches!(percent_decode(s), Cow::Borrowed(b) if b == s));
    }
    let _ = unescape(s);
    let _ = percent_decode(s);
    let spaced = plus_to_space(s);
    assert_eq!(spaced.len(), s.len());
    assert!(!spaced.contains('+'));

    // nginx-style escaping: `\` and `"` escaped.
    let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
    assert_eq!(unescape(&escaped), s, "escaped as {escaped:?}");
    // Every byte as `\xHH` (upper or lower case hex).
    let hex: String = s.bytes().map(|b| format!("\\x{b:02x}")).collect();
    assert_eq!(unescape(&hex), s);
    let hex: String = s.bytes().map(|b| format!("\\x{b:02X}")).collect();
    assert_eq!(unescape(&hex), s);
    // Percent-encoding of every byte but unreserved ones, then once more.
    let pct: String = s
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect();
    assert_eq!(percent_decode(&pct), s);
    let twice = pct.replace('%', "%25");
    assert_eq!(percent_decode(&twice), pct);
}

fn check_times(s: &str) {
    let _ = parse_clf_time(s);
    let auto = parse_epoch_auto(s);
    if s.contains('.') {
        assert_eq!(auto, parse_epoch_secs(s));
    } else if !s.is_empty() && s.len() <= 11 && s.bytes().all(|c| c.is_ascii_digit()) {
        let v: i64 = s.parse().unwrap();
        assert_eq!(auto, Some(v * 1000), "{s:?}");
    }
}

const MON: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A CLF time written from epoch seconds, milliseconds and an offset in
/// minutes reads back as that instant.
fn check_clf_round_trip(secs: i64, ms: i64, off_min: i32, colon: bool) {
    let local = secs + i64::from(off_min) * 60;
    let days = local.div_euclid(86_400);
    let rem = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return;
    }
    let sign = if off_min < 0 { '-' } else { '+' };
    let (oh, om) = (off_min.abs() / 60, off_min.abs() % 60);
    let sep = if colon { ":" } else { "" };
    let time = format!(
        "{d:02}/{}/{y:04}:{:02}:{:02}:{:02}",
        MON[m as usize - 1],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    let clf = format!("{time} {sign}{oh:02}{sep}{om:02}");
    assert_eq!(parse_clf_time(&clf), Some(secs * 1000), "{clf:?}");
    let clf = format!("{time}.{ms:03} {sign}{oh:02}{sep}{om:02}");
    assert_eq!(parse_clf_time(&clf), Some(secs * 1000 + ms), "{clf:?}");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_tokens(&text);
    for line in text.lines() {
        check_tokens(line);
        check_times(line);
    }
    if text.len() <= 1024 {
        check_decoders(&text);
    }
    if let Some((head, _)) = data.split_first_chunk::<16>() {
        let v = i64::from_le_bytes(head[..8].try_into().unwrap_or_default());
        let _ = epoch_int_ms(v);
        // 0000-01-01 .. 9999-12-31, any offset within a day, any millisecond.
        let secs = v.rem_euclid(315_569_520_000) - 62_167_219_200;
        let off = i32::from(i16::from_le_bytes([head[8], head[9]])) % (24 * 60);
        let ms = i64::from(u16::from_le_bytes([head[10], head[11]]) % 1000);
        check_clf_round_trip(secs, ms, off, head[12] & 1 == 1);
    }
});
