//! A scanner for flat JSON objects, one per line (JSON Lines as CDNs write them).
//!
//! It walks the object once, hands each `key: value` pair to a callback as
//! borrowed slices, and decodes escapes only when asked and only for values
//! that have any. Nested objects and arrays are skipped over (kept raw), so a
//! dialect can ignore fields it does not know without failing the line.

use memchr::{memchr, memchr2};

use crate::ParseError;

/// A JSON string as written between its quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawStr<'a> {
    raw: &'a str,
    escaped: bool,
}

impl<'a> RawStr<'a> {
    /// A string with no backslash in it, so nothing to decode.
    pub(crate) fn plain(raw: &'a str) -> Self {
        RawStr { raw, escaped: false }
    }

    /// The bytes between the quotes, escapes not decoded.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Whether the string holds any backslash escape.
    pub fn has_escapes(&self) -> bool {
        self.escaped
    }

    /// The decoded text: borrowed when there is nothing to decode, otherwise
    /// decoded into `scratch` (which is cleared first).
    #[inline]
    pub fn decode<'s>(&self, scratch: &'s mut String) -> Result<&'s str, ParseError>
    where
        'a: 's,
    {
        if !self.escaped {
            return Ok(self.raw);
        }
        scratch.clear();
        decode_escapes(self.raw, scratch)?;
        Ok(scratch.as_str())
    }
}

/// One value of a flat JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A string.
    Str(RawStr<'a>),
    /// A number, as written.
    Number(&'a str),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// A nested object or array, as written.
    Nested(&'a str),
}

/// Scans one line holding a JSON object and calls `on_field(key, value)` for
/// each member, in order. Fails on anything that is not one complete object.
pub fn scan_object<'a>(line: &'a str, mut on_field: impl FnMut(RawStr<'a>, Value<'a>)) -> Result<(), ParseError> {
    let mut q = Quotes::new(line.as_bytes());
    let mut spans = [[0u32; 4]; FAST_MEMBERS];
    if let Some(n) = scan_flat(line, &mut q, &mut spans) {
        for &[ks, ke, vs, ve] in &spans[..n] {
            let raw = |s: u32, e: u32| RawStr {
                raw: line.get(s as usize..e as usize).unwrap_or_default(),
                escaped: false,
            };
            on_field(raw(ks, ke), Value::Str(raw(vs, ve)));
        }
        return Ok(());
    }
    scan_careful(line, &mut q, on_field)
}

/// Most members the fast path reads; objects with more take the careful one.
const FAST_MEMBERS: usize = 32;

/// The fast path for the common line: a flat object of string values with
/// no backslash anywhere (so no escapes, and every quote delimits a string).
/// Fills `spans` with `[key start, key end, value start, value end]` and
/// returns how many, or `None` when the line is anything else, in which case
/// `scan_careful` decides (and reports any error) as if this had not run.
fn scan_flat(line: &str, q: &mut Quotes, spans: &mut [[u32; 4]; FAST_MEMBERS]) -> Option<usize> {
    let b = line.as_bytes();
    if u32::try_from(b.len()).is_err() || !q.plain {
        return None;
    }
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return (skip_ws(b, i + 1) == b.len()).then_some(0);
    }
    let mut n = 0;
    loop {
        if n == FAST_MEMBERS || b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = q.next_quote(i + 1)?;
        let mut j = skip_ws(b, key_end + 1);
        if b.get(j) != Some(&b':') {
            return None;
        }
        j = skip_ws(b, j + 1);
        if b.get(j) != Some(&b'"') {
            return None;
        }
        let value_end = q.next_quote(j + 1)?;
        // Offsets fit in u32: the line length was checked above.
        spans[n] = [i + 1, key_end, j + 1, value_end].map(|o| o as u32);
        n += 1;
        let k = skip_ws(b, value_end + 1);
        match b.get(k) {
            Some(b',') => i = skip_ws(b, k + 1),
            Some(b'}') => return (skip_ws(b, k + 1) == b.len()).then_some(n),
            _ => return None,
        }
    }
}

/// Every member the scanner reports for `line`, or its error: through the
/// fast path of [`scan_object`] when `fast`, else through the careful
/// [`scan_any`]. The two must always agree (the property tests and the fuzz
/// target hold them to it).
#[cfg(any(test, feature = "fuzzing"))]
#[allow(clippy::type_complexity)]
pub fn members(line: &str, fast: bool) -> Result<Vec<(RawStr<'_>, Value<'_>)>, ParseError> {
    let mut out = Vec::new();
    if fast {
        scan_object(line, |k, v| out.push((k, v)))?;
    } else {
        scan_any(line, |k, v| out.push((k, v)))?;
    }
    Ok(out)
}

/// The careful path: any flat object, with escapes, numbers, literals and
/// nested values, and a precise error for anything else. [`scan_object`]
/// must report exactly what this does (the fuzz targets hold it to that).
#[cfg(any(test, feature = "fuzzing"))]
pub fn scan_any<'a>(line: &'a str, on_field: impl FnMut(RawStr<'a>, Value<'a>)) -> Result<(), ParseError> {
    scan_careful(line, &mut Quotes::new(line.as_bytes()), on_field)
}

/// The careful path (see `scan_any`), with the line's quote finder already made.
fn scan_careful<'a>(
    line: &'a str,
    q: &mut Quotes,
    mut on_field: impl FnMut(RawStr<'a>, Value<'a>),
) -> Result<(), ParseError> {
    let b = line.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err(ParseError::NotAnObject);
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return finish(b, i + 1);
    }
    loop {
        match b.get(i) {
            Some(b'"') => {}
            None => return Err(ParseError::Truncated),
            Some(_) => {
                return Err(ParseError::Syntax {
                    offset: i,
                    expected: "a quoted key",
                });
            }
        }
        let (key, next) = scan_string(line, i, q)?;
        i = skip_ws(b, next);
        match b.get(i) {
            Some(b':') => {}
            None => return Err(ParseError::Truncated),
            Some(_) => {
                return Err(ParseError::Syntax {
                    offset: i,
                    expected: "':'",
                });
            }
        }
        i = skip_ws(b, i + 1);
        let (value, next) = scan_value(line, i, q)?;
        on_field(key, value);
        i = skip_ws(b, next);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return finish(b, i + 1),
            None => return Err(ParseError::Truncated),
            Some(_) => {
                return Err(ParseError::Syntax {
                    offset: i,
                    expected: "',' or '}'",
                });
            }
        }
    }
}

fn finish(b: &[u8], i: usize) -> Result<(), ParseError> {
    let end = skip_ws(b, i);
    if end < b.len() {
        return Err(ParseError::TrailingData { offset: end });
    }
    Ok(())
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(c) = b.get(i) {
        if !matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            break;
        }
        i += 1;
    }
    i
}

/// Scans the string whose opening quote is at `start`; returns it and the
/// offset just past the closing quote. Escapes are checked here, so that
/// [`RawStr::decode`] can only fail on unpaired surrogates.
fn scan_string<'a>(line: &'a str, start: usize, q: &mut Quotes) -> Result<(RawStr<'a>, usize), ParseError> {
    let b = line.as_bytes();
    let content = start + 1;
    if q.plain {
        // No backslash anywhere in the line: the next quote closes the string.
        let at = q
            .next_quote(content)
            .ok_or(ParseError::UnterminatedString { offset: start })?;
        let raw = &line[content..at];
        return Ok((RawStr { raw, escaped: false }, at + 1));
    }
    let mut i = content;
    let mut escaped = false;
    loop {
        let rest = b.get(i..).unwrap_or_default();
        let Some(p) = memchr2(b'"', b'\\', rest) else {
            return Err(ParseError::UnterminatedString { offset: start });
        };
        let at = i + p;
        if b[at] == b'"' {
            // Both quotes are ASCII, so the slice is on char boundaries.
            let raw = &line[content..at];
            return Ok((RawStr { raw, escaped }, at + 1));
        }
        escaped = true;
        match b.get(at + 1) {
            None => return Err(ParseError::UnterminatedString { offset: start }),
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i = at + 2,
            Some(b'u') => {
                let hex = b
                    .get(at + 2..at + 6)
                    .ok_or(ParseError::UnterminatedString { offset: start })?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(ParseError::BadEscape { offset: at });
                }
                i = at + 6;
            }
            Some(_) => return Err(ParseError::BadEscape { offset: at }),
        }
    }
}

fn scan_value<'a>(line: &'a str, i: usize, q: &mut Quotes) -> Result<(Value<'a>, usize), ParseError> {
    let b = line.as_bytes();
    match b.get(i) {
        None => Err(ParseError::Truncated),
        Some(b'"') => {
            let (s, next) = scan_string(line, i, q)?;
            Ok((Value::Str(s), next))
        }
        Some(b'{' | b'[') => {
            let end = skip_nested(line, i, q)?;
            Ok((Value::Nested(&line[i..end]), end))
        }
        Some(b't') => literal(b, i, b"true", Value::Bool(true)),
        Some(b'f') => literal(b, i, b"false", Value::Bool(false)),
        Some(b'n') => literal(b, i, b"null", Value::Null),
        Some(c) if c.is_ascii_digit() || *c == b'-' => {
            let mut end = i + 1;
            while let Some(c) = b.get(end) {
                if !(c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-')) {
                    break;
                }
                end += 1;
            }
            Ok((Value::Number(&line[i..end]), end))
        }
        Some(_) => Err(ParseError::Syntax {
            offset: i,
            expected: "a value",
        }),
    }
}

fn literal<'a>(b: &[u8], i: usize, word: &[u8], v: Value<'a>) -> Result<(Value<'a>, usize), ParseError> {
    match b.get(i..i + word.len()) {
        Some(w) if w == word => Ok((v, i + word.len())),
        Some(_) => Err(ParseError::Syntax {
            offset: i,
            expected: "a value",
        }),
        None => Err(ParseError::Truncated),
    }
}

/// Finds the quotes of a line that has no backslash, 64 bytes at a time, so
/// that each string ends by a bit scan instead of a search of its own.
/// Lines with a backslash are scanned the careful way, since a quote may
/// then be escaped.
struct Quotes<'a> {
    /// The line has no backslash, so every quote is a string delimiter.
    plain: bool,
    scan: ByteScan<'a, QuoteBytes>,
}

impl<'a> Quotes<'a> {
    fn new(b: &'a [u8]) -> Self {
        Quotes {
            plain: memchr(b'\\', b).is_none(),
            scan: ByteScan::new(b),
        }
    }

    /// The offset of the first quote at or after `from`.
    #[inline]
    fn next_quote(&mut self, from: usize) -> Option<usize> {
        self.scan.next(from)
    }
}

/// Which bytes a [`ByteScan`] finds, as a mask of one 64-byte block.
pub(crate) trait BlockMask {
    /// Bit `j` is set when `block[j]` is one of the bytes.
    fn mask(block: &[u8; 64]) -> u64;
}

/// Quotes.
pub(crate) struct QuoteBytes;

impl BlockMask for QuoteBytes {
    #[inline]
    fn mask(block: &[u8; 64]) -> u64 {
        byte_mask(block, b'"')
    }
}

/// Quotes and backslashes: where a string without escapes ends, or where it
/// stops being one.
pub(crate) struct StringEndBytes;

impl BlockMask for StringEndBytes {
    #[inline]
    fn mask(block: &[u8; 64]) -> u64 {
        byte_mask(block, b'"') | byte_mask(block, b'\\')
    }
}

/// Finds the bytes `M` names in a line, 64 bytes at a time (the comparison
/// loop compiles to SIMD), each block once: calls in increasing order reuse
/// the current block's mask; any order gives the right answer.
pub(crate) struct ByteScan<'a, M> {
    b: &'a [u8],
    /// Start of the 64-byte block whose bits are in `mask`.
    base: usize,
    mask: u64,
    kind: std::marker::PhantomData<M>,
}

impl<'a, M: BlockMask> ByteScan<'a, M> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        ByteScan {
            b,
            base: usize::MAX,
            mask: 0,
            kind: std::marker::PhantomData,
        }
    }

    /// The offset of the first such byte at or after `from`.
    #[inline]
    pub(crate) fn next(&mut self, from: usize) -> Option<usize> {
        let block = from - from % 64;
        if block != self.base {
            self.base = block;
            self.mask = self.mask_at(block);
        }
        let mut m = self.mask & (u64::MAX << (from - block));
        loop {
            if m != 0 {
                return Some(self.base + m.trailing_zeros() as usize);
            }
            self.base += 64;
            if self.base >= self.b.len() {
                return None;
            }
            self.mask = self.mask_at(self.base);
            m = self.mask;
        }
    }

    /// The mask of the block at `at`; past the end counts as zero bytes.
    fn mask_at(&self, at: usize) -> u64 {
        let rest = self.b.get(at..).unwrap_or_default();
        match rest.first_chunk::<64>() {
            Some(block) => M::mask(block),
            None => {
                let mut block = [0u8; 64];
                block[..rest.len()].copy_from_slice(rest);
                M::mask(&block)
            }
        }
    }
}

/// Where `byte` is in 64 bytes, 16 at a time with SSE2 (part of every x86_64).
#[cfg(target_arch = "x86_64")]
#[inline]
fn byte_mask(block: &[u8; 64], byte: u8) -> u64 {
    use safe_arch::{cmp_eq_mask_i8_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i};
    let needle = set_splat_i8_m128i(byte as i8);
    let (parts, _) = block.as_chunks::<16>();
    let mut m = 0u64;
    for (k, part) in parts.iter().enumerate() {
        let eq = cmp_eq_mask_i8_m128i(m128i::from(*part), needle);
        m |= u64::from(move_mask_i8_m128i(eq) as u16) << (16 * k);
    }
    m
}

/// Where `byte` is in 64 bytes, 8 at a time: the exact zero-byte test of
/// Hacker's Delight, then the high bits gathered by a multiplication.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn byte_mask(block: &[u8; 64], byte: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let splat = u64::from_le_bytes([byte; 8]);
    let (words, _) = block.as_chunks::<8>();
    let mut m = 0u64;
    for (k, w) in words.iter().enumerate() {
        let t = u64::from_le_bytes(*w) ^ splat;
        let high = !(((t & LOW7) + LOW7) | t | LOW7);
        m |= ((high >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    m
}

/// Returns the offset just past the object or array that opens at `start`.
fn skip_nested(line: &str, start: usize, q: &mut Quotes) -> Result<usize, ParseError> {
    let b = line.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => {
                let (_, next) = scan_string(line, i, q)?;
                i = next;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(ParseError::Truncated)
}

/// Appends the decoded form of an escaped JSON string body to `out`.
fn decode_escapes(raw: &str, out: &mut String) -> Result<(), ParseError> {
    let b = raw.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while let Some(p) = memchr(b'\\', b.get(i..).unwrap_or_default()) {
        let at = i + p;
        out.push_str(&raw[last..at]);
        let bad = ParseError::BadEscape { offset: at };
        let c = match b.get(at + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let hi = hex4(b, at + 2).ok_or(bad.clone())?;
                i = at + 6;
                let cp = if (0xD800..0xDC00).contains(&hi) {
                    // A high surrogate must be followed by an escaped low one.
                    if b.get(i) != Some(&b'\\') || b.get(i + 1) != Some(&b'u') {
                        return Err(bad);
                    }
                    let lo = hex4(b, i + 2).ok_or(bad.clone())?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(bad);
                    }
                    i += 6;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                out.push(char::from_u32(cp).ok_or(bad)?);
                last = i;
                continue;
            }
            _ => return Err(bad),
        };
        out.push(c);
        i = at + 2;
        last = i;
    }
    out.push_str(&raw[last..]);
    Ok(())
}

fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = b.get(at..at + 4)?;
    let mut v = 0u32;
    for &d in digits {
        v = v * 16 + (d as char).to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Result<Vec<(String, String)>, ParseError> {
        let mut out = Vec::new();
        let mut err = None;
        scan_object(line, |k, v| {
            let mut s1 = String::new();
            let mut s2 = String::new();
            let key = k.decode(&mut s1).map(str::to_string);
            let val = match v {
                Value::Str(s) => s.decode(&mut s2).map(str::to_string),
                Value::Number(n) => Ok(format!("num:{n}")),
                Value::Bool(b) => Ok(format!("bool:{b}")),
                Value::Null => Ok("null".into()),
                Value::Nested(n) => Ok(format!("nested:{n}")),
            };
            match (key, val) {
                (Ok(k), Ok(v)) => out.push((k, v)),
                (Err(e), _) | (_, Err(e)) => err = Some(e),
            }
        })?;
        match err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    #[test]
    fn flat_object_with_all_value_kinds() {
        let f = fields(r#" {"a":"x", "b" : 12.5e3 ,"c":true,"d":null,"e":{"n":[1,"}"]},"f":false} "#).unwrap();
        assert_eq!(
            f,
            vec![
                ("a".into(), "x".into()),
                ("b".into(), "num:12.5e3".into()),
                ("c".into(), "bool:true".into()),
                ("d".into(), "null".into()),
                ("e".into(), r#"nested:{"n":[1,"}"]}"#.into()),
                ("f".into(), "bool:false".into()),
            ]
        );
    }

    #[test]
    fn empty_object_is_fine() {
        assert_eq!(fields("{}").unwrap(), vec![]);
    }

    #[test]
    fn escapes_are_decoded() {
        let f = fields(r#"{"k":"a\"b\\c\/d\n\t\u00e9\u3042\ud83d\ude00"}"#).unwrap();
        assert_eq!(f[0].1, "a\"b\\c/d\n\té\u{3042}\u{1F600}");
    }

    #[test]
    fn escaped_key_is_decoded() {
        let f = fields(r#"{"st\u0061tus":"200"}"#).unwrap();
        assert_eq!(f[0].0, "status");
    }

    #[test]
    fn lone_surrogates_are_errors() {
        assert!(matches!(fields(r#"{"k":"\ud83d"}"#), Err(ParseError::BadEscape { .. })));
        assert!(matches!(
            fields(r#"{"k":"\ude00x"}"#),
            Err(ParseError::BadEscape { .. })
        ));
        assert!(matches!(
            fields(r#"{"k":"\ud83d\u0041"}"#),
            Err(ParseError::BadEscape { .. })
        ));
    }

    #[test]
    fn bad_escapes_are_errors() {
        assert!(matches!(fields(r#"{"k":"\x41"}"#), Err(ParseError::BadEscape { .. })));
        assert!(matches!(fields(r#"{"k":"\u12G4"}"#), Err(ParseError::BadEscape { .. })));
    }

    #[test]
    fn truncated_lines_are_errors() {
        for cut in [
            r#"{"a":"x","b":"#,
            r#"{"a":"x"#,
            r#"{"a":"x","#,
            r#"{"a""#,
            r#"{"a":"x\"#,
            r#"{"a":"\u00"#,
            r#"{"a":{"b":1"#,
            r#"{"a":tr"#,
            "{",
        ] {
            let e = fields(cut).unwrap_err();
            assert!(
                matches!(e, ParseError::Truncated | ParseError::UnterminatedString { .. }),
                "{cut}: {e:?}"
            );
        }
    }

    #[test]
    fn not_objects_and_trailing_data_are_errors() {
        assert_eq!(fields("[1]").unwrap_err(), ParseError::NotAnObject);
        assert_eq!(fields("").unwrap_err(), ParseError::NotAnObject);
        assert_eq!(
            fields(r#"{"a":"b"} x"#).unwrap_err(),
            ParseError::TrailingData { offset: 10 }
        );
        assert!(matches!(fields(r#"{"a" "b"}"#), Err(ParseError::Syntax { .. })));
        assert!(matches!(fields(r#"{"a":"b" "c":"d"}"#), Err(ParseError::Syntax { .. })));
        assert!(matches!(fields(r#"{a:"b"}"#), Err(ParseError::Syntax { .. })));
        assert!(matches!(fields(r#"{"a":xyz}"#), Err(ParseError::Syntax { .. })));
    }

    #[test]
    fn unescaped_values_are_borrowed() {
        let line = r#"{"k":"plain"}"#;
        scan_object(line, |_, v| {
            let Value::Str(s) = v else { panic!("not a string") };
            assert!(!s.has_escapes());
            let mut scratch = String::new();
            let d = s.decode(&mut scratch).unwrap();
            assert_eq!(d.as_ptr(), s.raw().as_ptr());
        })
        .unwrap();
    }
}
