//! The layout of the last JSON line, remembered so that the next line with
//! the same keys in the same order is read by comparing bytes instead of
//! scanning it.
//!
//! A CDN writes every line of a file with one template: the same keys, in
//! the same order, no spaces, most values strings. Such a line is its
//! separators (`{"time":"`, `","http_host":"`, ..., `"}`) with a value
//! between each pair. [`LineLayout::read`] checks that a line is exactly
//! that: each separator where the previous value's closing quote says it
//! must be, no backslash in any value, nothing after the last `"}`. Then its
//! members are what the full scanner ([`crate::json::scan_object`]) would
//! report, and the caller may use them as if it had run. Any other line is
//! refused (`false`) and goes to the full scanner, whose answer (members or
//! error) is the reference; the property tests hold the two to each other.

use std::ops::Range;

use crate::json::{ByteScan, RawStr, StringEndBytes, Value};

/// The remembered layout: separators and which field each member fills.
#[derive(Debug, Clone, Default)]
pub struct LineLayout {
    /// Every separator, one after another; `members` index into it.
    skeleton: Vec<u8>,
    members: Vec<Member>,
}

#[derive(Debug, Clone)]
struct Member {
    /// The bytes before the value, through its opening quote.
    sep: Range<usize>,
    /// The key, within the separator.
    key: Range<usize>,
    /// The field the key names, or `None` for a key the dialect does not know.
    slot: Option<usize>,
}

/// What ends a line after its last string value.
const END: &[u8] = b"\"}";

impl LineLayout {
    /// A layout with these keys in this order (the dialect's published
    /// one, so that the first line of a file is read fast too), each naming
    /// the field `slot_of` says.
    pub fn of_keys<'k>(keys: impl IntoIterator<Item = &'k str>, slot_of: impl Fn(&str) -> Option<usize>) -> Self {
        let mut layout = LineLayout::default();
        for key in keys {
            layout.push(key, slot_of(key));
        }
        layout
    }

    fn push(&mut self, key: &str, slot: Option<usize>) {
        let start = self.skeleton.len();
        self.skeleton
            .extend_from_slice(if self.members.is_empty() { b"{\"" } else { b"\",\"" });
        let key_start = self.skeleton.len();
        self.skeleton.extend_from_slice(key.as_bytes());
        let key_end = self.skeleton.len();
        self.skeleton.extend_from_slice(b"\":\"");
        self.members.push(Member {
            sep: start..self.skeleton.len(),
            key: key_start..key_end,
            slot,
        });
    }

    /// Reads `line` if it has this layout exactly: fills `values[slot]` with
    /// each known member's value (a later duplicate wins, as in the full
    /// scanner), calls `on_unknown` with each unknown key in order, and
    /// returns `true`. Otherwise returns `false` without calling
    /// `on_unknown`, and what it wrote in `values` is to be thrown away.
    #[inline]
    pub fn read<'a>(&self, line: &'a str, values: &mut [Option<Value<'a>>], on_unknown: &mut impl FnMut(&str)) -> bool {
        if self.members.is_empty() {
            return false;
        }
        let b = line.as_bytes();
        let mut ends = ByteScan::<StringEndBytes>::new(b);
        let mut at = 0;
        let mut unknown = false;
        for m in &self.members {
            if !bytes_at(b, at, &self.skeleton[m.sep.clone()]) {
                return false;
            }
            let start = at + m.sep.len();
            let Some(end) = ends.next(start) else {
                return false;
            };
            if b[end] != b'"' {
                return false;
            }
            at = end;
            match m.slot.and_then(|s| values.get_mut(s)) {
                // Both ends are next to an ASCII quote, so on char boundaries.
                Some(v) => *v = Some(Value::Str(RawStr::plain(line.get(start..end).unwrap_or_default()))),
                None => unknown = true,
            }
        }
        if b.get(at..) != Some(END) {
            return false;
        }
        if unknown {
            let len = values.len();
            for m in self.members.iter().filter(|m| m.slot.is_none_or(|s| s >= len)) {
                on_unknown(std::str::from_utf8(&self.skeleton[m.key.clone()]).unwrap_or_default());
            }
        }
        true
    }

    /// Remembers the layout of `line`, whose members the full scanner
    /// reported as `keys` (with the field each names), if every value is a
    /// string without escapes and the line is written without spaces (so
    /// that [`read`](Self::read) would take it). Otherwise keeps the layout
    /// it had. `scratch` holds the candidate and keeps its allocation.
    pub fn learn(
        &mut self,
        keys: &[(RawStr<'_>, Option<usize>)],
        plain_strings: bool,
        line: &str,
        scratch: &mut LineLayout,
    ) {
        if !plain_strings || keys.is_empty() || keys.iter().any(|(k, _)| k.has_escapes()) {
            return;
        }
        scratch.skeleton.clear();
        scratch.members.clear();
        for (k, slot) in keys {
            scratch.push(k.raw(), *slot);
        }
        // Only the form is checked here: with no value slots, nothing is kept.
        if scratch.read(line, &mut [], &mut |_| {}) {
            std::mem::swap(self, scratch);
        }
    }
}

/// Whether `b[at..]` starts with `sep`. Separators are 5-40 bytes: two
/// overlapping word comparisons instead of a call to `memcmp`.
#[inline]
fn bytes_at(b: &[u8], at: usize, sep: &[u8]) -> bool {
    let Some(s) = b.get(at..at + sep.len()) else {
        return false;
    };
    let n = sep.len();
    fn word<const N: usize>(x: &[u8], i: usize) -> Option<&[u8; N]> {
        x.get(i..).and_then(|r| r.first_chunk::<N>())
    }
    match n {
        8..=16 => word::<8>(s, 0) == word::<8>(sep, 0) && word::<8>(s, n - 8) == word::<8>(sep, n - 8),
        17..=32 => word::<16>(s, 0) == word::<16>(sep, 0) && word::<16>(s, n - 16) == word::<16>(sep, n - 16),
        _ => s == sep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::scan_object;

    fn slot_of(k: &str) -> Option<usize> {
        ["a", "bb", "c"].iter().position(|x| *x == k)
    }

    fn read(layout: &LineLayout, line: &str) -> Option<(Vec<Option<String>>, Vec<String>)> {
        let mut values = [None; 3];
        let mut unknown = vec![];
        layout
            .read(line, &mut values, &mut |k| unknown.push(k.to_string()))
            .then(|| {
                let v = values
                    .iter()
                    .map(|v| match v {
                        Some(Value::Str(s)) => Some(s.raw().to_string()),
                        _ => None,
                    })
                    .collect();
                (v, unknown)
            })
    }

    #[test]
    fn reads_only_the_exact_layout() {
        let l = LineLayout::of_keys(["a", "x", "bb"], slot_of);
        let (v, u) = read(&l, r#"{"a":"1","x":"2","bb":"three words"}"#).unwrap();
        assert_eq!(v, vec![Some("1".into()), Some("three words".into()), None]);
        assert_eq!(u, vec!["x"]);
        for other in [
            r#"{"a":"1","x":"2","bb":"3"} "#,
            r#"{"a":"1","x":"2","bb":"3""#,
            r#"{"a":"1", "x":"2","bb":"3"}"#,
            r#"{"a":"1","x":2,"bb":"3"}"#,
            r#"{"a":"1","x":"2\"","bb":"3"}"#,
            r#"{"a":"1","bb":"3","x":"2"}"#,
            r#"{"a":"1","x":"2","bb":"3","c":"4"}"#,
            r#"{"a":"1","x":"2"}"#,
            "",
            "{",
        ] {
            assert!(read(&l, other).is_none(), "{other}");
        }
    }

    #[test]
    fn learns_a_plain_line_and_keeps_the_old_layout_otherwise() {
        let mut l = LineLayout::of_keys(["a"], slot_of);
        let mut scratch = LineLayout::default();
        let line = r#"{"c":"9","a":"1","zz":"q"}"#;
        let mut keys = vec![];
        scan_object(line, |k, _| keys.push((k, slot_of(k.raw())))).unwrap();
        l.learn(&keys, true, line, &mut scratch);
        let (v, u) = read(&l, r#"{"c":"7","a":"","zz":"q"}"#).unwrap();
        assert_eq!(v, vec![Some("".into()), None, Some("7".into())]);
        assert_eq!(u, vec!["zz"]);
        // A spaced line does not replace it.
        let spaced = r#"{"bb": "1"}"#;
        let mut keys = vec![];
        scan_object(spaced, |k, _| keys.push((k, slot_of(k.raw())))).unwrap();
        l.learn(&keys, true, spaced, &mut scratch);
        assert!(read(&l, r#"{"c":"7","a":"","zz":"q"}"#).is_some());
    }
}
