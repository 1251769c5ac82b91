//! Pieces shared by the text dialects: splitting a line into fields (quoted
//! and bracketed fields kept whole), undoing the escapes servers write
//! (`\xHH` and `\"`, `%HH`, `+` for space) and the timestamps they use
//! (`[17/May/2015:08:05:32 +0000]`, epoch seconds to nanoseconds).

use std::borrow::Cow;

use crate::ParseError;
use crate::time::{DAY_MS, days_from_civil};

/// Walks a line word by word (words split by spaces and tabs), for the
/// native formats read field by field (HAProxy, Squid); errors name the
/// format and the field the line ended before.
#[derive(Debug)]
pub(crate) struct Words<'a> {
    /// The whole line.
    pub(crate) line: &'a str,
    /// The byte the next word is looked for at.
    pub(crate) at: usize,
    format: &'static str,
}

impl<'a> Words<'a> {
    /// Words of `line` in `format` from byte `at`.
    pub(crate) fn new(format: &'static str, line: &'a str, at: usize) -> Self {
        Words { line, at, format }
    }

    /// The byte at the cursor.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.line.as_bytes().get(self.at).copied()
    }

    /// Past spaces and tabs.
    pub(crate) fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// The next word; an error naming `field` at the end of the line.
    pub(crate) fn next(&mut self, field: &str) -> Result<&'a str, ParseError> {
        self.skip_blanks();
        let rest = &self.line[self.at..];
        if rest.is_empty() {
            return Err(ParseError::Shape(format!("{}: line ends before {field}", self.format)));
        }
        let len = rest.find([' ', '\t']).unwrap_or(rest.len());
        self.at += len;
        Ok(&rest[..len])
    }
}

/// One field of a whitespace-separated line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The text without its quotes or brackets, escapes not yet undone.
    pub text: &'a str,
    /// It was written in double quotes (escapes may need undoing).
    pub quoted: bool,
}

/// Splits `line` on runs of spaces (and tabs): a field in double quotes
/// (with `\"` or `""` inside) or in square brackets is one field. An
/// unclosed quote or bracket is an error: the line was cut.
pub fn tokens<'a>(line: &'a str, out: &mut Vec<Token<'a>>) -> Result<(), ParseError> {
    split_fields(line, true, out)
}

/// Like [`tokens`], but `[` is an ordinary character (W3C logs).
pub fn quoted_tokens<'a>(line: &'a str, out: &mut Vec<Token<'a>>) -> Result<(), ParseError> {
    split_fields(line, false, out)
}

fn split_fields<'a>(line: &'a str, brackets: bool, out: &mut Vec<Token<'a>>) -> Result<(), ParseError> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' => i += 1,
            b'"' => {
                let start = i + 1;
                let mut j = start;
                loop {
                    match b.get(j) {
                        None => return Err(ParseError::Shape(format!("unclosed quote at byte {i} (cut line?)"))),
                        Some(b'\\') => j += 2,
                        Some(b'"') if b.get(j + 1) == Some(&b'"') => j += 2,
                        Some(b'"') => break,
                        Some(_) => j += 1,
                    }
                }
                let end = j.min(b.len());
                out.push(Token {
                    text: &line[start..end],
                    quoted: true,
                });
                i = end + 1;
            }
            b'[' if brackets => {
                let Some(close) = memchr::memchr(b']', &b[i..]) else {
                    return Err(ParseError::Shape(format!("unclosed [ at byte {i} (cut line?)")));
                };
                out.push(Token {
                    text: &line[i + 1..i + close],
                    quoted: false,
                });
                i += close + 1;
            }
            _ => {
                let start = i;
                while i < b.len() && b[i] != b' ' && b[i] != b'\t' {
                    i += 1;
                }
                out.push(Token {
                    text: &line[start..i],
                    quoted: false,
                });
            }
        }
    }
    Ok(())
}

/// Undoes the escapes nginx and Apache write inside quoted fields: `\xHH`,
/// `\"`, `\\`, `\n`, `\r`, `\t`; `""` (a doubled quote) becomes `"`. Bytes
/// that do not form UTF-8 become U+FFFD.
pub fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') && !s.contains("\"\"") {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1)) {
            (b'\\', Some(b'x')) if hex2(b, i + 2).is_some() => {
                out.push(hex2(b, i + 2).unwrap_or(b'?'));
                i += 4;
            }
            (b'\\', Some(&c @ (b'"' | b'\\'))) => {
                out.push(c);
                i += 2;
            }
            (b'\\', Some(b'n')) => {
                out.push(b'\n');
                i += 2;
            }
            (b'\\', Some(b'r')) => {
                out.push(b'\r');
                i += 2;
            }
            (b'\\', Some(b't')) => {
                out.push(b'\t');
                i += 2;
            }
            (b'"', Some(b'"')) => {
                out.push(b'"');
                i += 2;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex2(b: &[u8], at: usize) -> Option<u8> {
    let h = |c: u8| (c as char).to_digit(16);
    Some((h(*b.get(at)?)? * 16 + h(*b.get(at + 1)?)?) as u8)
}

/// Decodes `%HH` once (RFC 3986 percent-encoding); `+` stays `+`. A `%`
/// not followed by two hex digits is kept as written. Bytes that do not form
/// UTF-8 become U+FFFD.
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = hex2(b, i + 1)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// IIS writes spaces inside values as `+`.
pub fn plus_to_space(s: &str) -> Cow<'_, str> {
    if s.contains('+') {
        Cow::Owned(s.replace('+', " "))
    } else {
        Cow::Borrowed(s)
    }
}

/// English month abbreviations, as CLF and syslog times write them.
pub(crate) const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn num(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let d = b.get(at..at + n)?;
    d.iter()
        .try_fold(0i64, |v, &c| c.is_ascii_digit().then(|| v * 10 + i64::from(c - b'0')))
}

/// Parses the Common Log Format time `17/May/2015:08:05:32 +0000` (without
/// brackets; an optional `.fff` after the seconds is kept to milliseconds)
/// to epoch milliseconds.
pub fn parse_clf_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let day = num(b, 0, 2)?;
    if b.get(2) != Some(&b'/') || b.get(6) != Some(&b'/') || b.get(11) != Some(&b':') {
        return None;
    }
    let mon = b.get(3..6)?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(mon))? as u32 + 1;
    let year = num(b, 7, 4)?;
    let (h, m, sec) = (num(b, 12, 2)?, num(b, 15, 2)?, num(b, 18, 2)?);
    if b.get(14) != Some(&b':') || b.get(17) != Some(&b':') {
        return None;
    }
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut i = 20;
    let mut frac = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                frac = frac * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        for _ in (i - start).min(3)..3 {
            frac *= 10;
        }
    }
    let rest = s.get(i..)?.trim_start();
    let offset = if rest.is_empty() {
        0
    } else {
        let sign = match rest.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let r = &rest.as_bytes()[1..];
        let (hh, mm) = match r.len() {
            4 => (num(r, 0, 2)?, num(r, 2, 2)?),
            5 if r[2] == b':' => (num(r, 0, 2)?, num(r, 3, 2)?),
            _ => return None,
        };
        sign * (hh * 3600 + mm * 60)
    };
    let days = days_from_civil(year, month, day as u32);
    Some(days * DAY_MS + (h * 3600 + m * 60 + sec - offset) * 1000 + frac)
}

/// Parses an epoch timestamp whose unit is told by its size: seconds (with
/// an optional fraction), milliseconds, microseconds or nanoseconds (as
/// Cloudflare writes `unixnano`). Returns epoch milliseconds.
pub fn parse_epoch_auto(s: &str) -> Option<i64> {
    if s.contains('.') {
        return crate::time::parse_epoch_secs(s);
    }
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let v: i64 = s.parse().ok()?;
    Some(epoch_int_ms(v))
}

/// An integer epoch in s, ms, µs or ns (told by magnitude) as milliseconds.
pub fn epoch_int_ms(v: i64) -> i64 {
    match v.unsigned_abs() {
        0..100_000_000_000 => v * 1000,
        100_000_000_000..100_000_000_000_000 => v,
        100_000_000_000_000..100_000_000_000_000_000 => v / 1000,
        _ => v / 1_000_000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(line: &str) -> Vec<(String, bool)> {
        let mut v = Vec::new();
        tokens(line, &mut v).unwrap();
        v.into_iter().map(|t| (t.text.to_string(), t.quoted)).collect()
    }

    #[test]
    fn quoted_and_bracketed_fields_stay_whole() {
        assert_eq!(
            toks(r#"1.2.3.4 - - [17/May/2015:08:05:32 +0000] "GET / HTTP/1.1" 200 "a \"b\" c""#),
            vec![
                ("1.2.3.4".into(), false),
                ("-".into(), false),
                ("-".into(), false),
                ("17/May/2015:08:05:32 +0000".into(), false),
                ("GET / HTTP/1.1".into(), true),
                ("200".into(), false),
                (r#"a \"b\" c"#.into(), true),
            ]
        );
        assert_eq!(
            toks(r#"404 " ""garbage"" w/ spaces " 0"#),
            vec![
                ("404".into(), false),
                (r#" ""garbage"" w/ spaces "#.into(), true),
                ("0".into(), false)
            ]
        );
        let mut v = Vec::new();
        assert!(tokens(r#"a "cut"#, &mut v).is_err());
    }

    #[test]
    fn escapes_are_undone() {
        assert_eq!(unescape(r#"a\x22b\\c\"d"#), "a\"b\\c\"d");
        assert_eq!(unescape(r#" ""garbage"" "#), " \"garbage\" ");
        assert_eq!(percent_decode("Mozilla/5.0%2520(X)"), "Mozilla/5.0%20(X)");
        assert_eq!(percent_decode("a%zz%41"), "a%zzA");
        assert_eq!(plus_to_space("a+b"), "a b");
    }

    #[test]
    fn clf_and_epoch_times() {
        assert_eq!(parse_clf_time("01/Jan/1970:00:00:01 +0000"), Some(1000));
        assert_eq!(parse_clf_time("01/Jan/1970:09:00:00 +0900"), Some(0));
        assert_eq!(parse_clf_time("01/Aug/1995:00:03:53 -0400"), Some(807_249_833_000));
        assert_eq!(parse_clf_time("32/Jan/1970:00:00:01 +0000"), None);
        assert_eq!(parse_epoch_auto("1712790000123000000"), Some(1_712_790_000_123));
        assert_eq!(parse_epoch_auto("1653485132"), Some(1_653_485_132_000));
        assert_eq!(parse_epoch_auto("1607374321.541"), Some(1_607_374_321_541));
    }
}
