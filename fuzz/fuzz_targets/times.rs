//! ISO 8601 times, zone offsets, epoch seconds, civil dates and request
//! lines.
//!
//! - no input panics them;
//! - a parsed ISO time, written back as `YYYY-MM-DDTHH:MM:SS.fffZ`, parses
//!   to the same instant; the default offset only moves times without a
//!   zone, and by exactly that offset;
//! - `parse_offset` accepts what its documentation says (`Z`, `UTC`,
//!   `±HH`, `±HHMM`, `±HH:MM` with HH <= 23, MM <= 59) and nothing else,
//!   and returns `sign * (HH * 3600 + MM * 60)`;
//! - civil dates and day numbers convert back and forth;
//! - `split_request` returns slices of its line, and a path without `?`.

#![no_main]

use edgelog_parse::request::split_request;
use edgelog_parse::time::{DAY_MS, civil_from_days, days_from_civil, parse_epoch_secs, parse_iso8601, parse_offset};
use libfuzzer_sys::fuzz_target;

fn within(outer: &str, inner: &str) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

/// `ms` as `YYYY-MM-DDTHH:MM:SS.fffZ`, when its year has four digits.
fn iso_utc(ms: i64) -> Option<String> {
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
    let rem = ms.rem_euclid(DAY_MS);
    (0..=9999).contains(&y).then(|| {
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            rem / 3_600_000,
            rem / 60_000 % 60,
            rem / 1000 % 60,
            rem % 1000
        )
    })
}

fn check_iso(s: &str, offset_a: i32, offset_b: i32) {
    let a = parse_iso8601(s, offset_a);
    let b = parse_iso8601(s, offset_b);
    assert_eq!(a.is_some(), b.is_some(), "{s:?}");
    let (Some(a), Some(b)) = (a, b) else { return };
    let shift = i64::from(offset_b) * 1000 - i64::from(offset_a) * 1000;
    assert!(a == b || a - b == shift, "{s:?}: {a} at {offset_a}, {b} at {offset_b}");
    if let Some(back) = iso_utc(a) {
        assert_eq!(parse_iso8601(&back, offset_b), Some(a), "{s:?} -> {a} -> {back:?}");
    }
}

/// What `parse_offset` is documented to accept, written out.
fn offset_reference(s: &str) -> Option<i32> {
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let b = s.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |r: &[u8]| -> Option<i32> {
        r.iter()
            .try_fold(0, |v, &c| c.is_ascii_digit().then(|| v * 10 + i32::from(c - b'0')))
    };
    let (hh, mm) = match &b[1..] {
        [h0, h1] => (digits(&[*h0, *h1])?, 0),
        [h0, h1, m0, m1] => (digits(&[*h0, *h1])?, digits(&[*m0, *m1])?),
        [h0, h1, b':', m0, m1] => (digits(&[*h0, *h1])?, digits(&[*m0, *m1])?),
        _ => return None,
    };
    (hh <= 23 && mm <= 59).then_some(sign * (hh * 3600 + mm * 60))
}

fn check_request(s: &str) {
    let r = split_request(s);
    for part in [r.method, r.path, r.query, r.protocol].into_iter().flatten() {
        assert!(within(s, part));
    }
    if let Some(m) = r.method {
        assert!(!m.is_empty() && m.bytes().all(|c| c.is_ascii_uppercase() || c == b'-' || c == b'_'));
    } else {
        assert_eq!((r.path, r.query, r.protocol), (None, None, None));
    }
    if let Some(p) = r.path {
        assert!(!p.is_empty() && !p.contains('?'));
    }
    if let Some(p) = r.protocol {
        assert!(p.starts_with("HTTP/"));
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (a, b) = match data.first_chunk::<4>() {
        Some(h) => (
            i32::from(i16::from_le_bytes([h[0], h[1]])) * 3,
            i32::from(i16::from_le_bytes([h[2], h[3]])) * 3,
        ),
        None => (0, 9 * 3600),
    };
    for s in std::iter::once(&*text).chain(text.lines()) {
        check_iso(s, a, b);
        assert_eq!(parse_offset(s), offset_reference(s), "parse_offset({s:?})");
        if let Some(ms) = parse_epoch_secs(s) {
            assert!(ms >= 0);
        }
        check_request(s);
    }
    if let Some(h) = data.first_chunk::<8>() {
        // Day numbers within a few million years either way.
        let days = i64::from(i32::from_le_bytes([h[0], h[1], h[2], h[3]]));
        let (y, m, d) = civil_from_days(days);
        assert!((1..=12).contains(&m) && (1..=31).contains(&d));
        assert_eq!(days_from_civil(y, m, d), days);
    }
});
