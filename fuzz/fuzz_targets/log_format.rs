//! nginx `log_format` and Apache `LogFormat` strings, and lines to match.
//!
//! The input's first line is the format, compiled both ways; the other
//! lines are matched against each pattern that compiles.
//!
//! - no format panics the compilers and no line panics the matcher;
//! - a pattern's field names are unique, one per field;
//! - a line that matches is cut into exactly the pattern's pieces: its
//!   literals and the matched values, in order, give back the line (but for
//!   trailing blanks, which the matcher ignores);
//! - round trip (as `combined_lines_round_trip` in the property tests, for
//!   any format): a line written from values that cannot be mistaken for
//!   the next literal (values in double quotes escaped as nginx writes them,
//!   `\` and `"`), with or without trailing blanks, matches back to exactly
//!   those values.

#![no_main]

use edgelog_parse::pattern::{Matched, Pattern, PatternPiece};
use edgelog_parse::text::unescape;
use libfuzzer_sys::fuzz_target;

fn within(outer: &str, inner: &str) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

fn check_pattern(p: &Pattern, lines: &[&str], trailing: &str) {
    let pieces: Vec<PatternPiece<'_>> = p.pieces().collect();
    let fields = pieces
        .iter()
        .filter(|q| matches!(q, PatternPiece::Field { .. }))
        .count();
    assert_eq!(fields, p.names().len());
    assert!(fields > 0);
    for (i, n) in p.names().iter().enumerate() {
        assert!(!p.names()[..i].contains(n), "name {n:?} twice in {:?}", p.names());
    }
    for w in pieces.windows(2) {
        assert!(
            !matches!(w, [PatternPiece::Field { .. }, PatternPiece::Field { .. }]),
            "two fields side by side: {pieces:?}"
        );
    }

    let mut out: Vec<Matched<'_>> = Vec::new();
    for &line in lines {
        if p.matches(line, &mut out).is_ok() {
            check_partition(&pieces, line, &out);
        }
    }

    // Round trip: one value per field, taken from the input's lines in turn.
    let mut values = Vec::new();
    let mut written = String::new();
    let mut k = 0;
    for (i, piece) in pieces.iter().enumerate() {
        match *piece {
            PatternPiece::Lit(l) => written.push_str(l),
            PatternPiece::Field { quoted } => {
                let source = lines.get(k % lines.len().max(1)).copied().unwrap_or("");
                k += 1;
                let next = match pieces.get(i + 1) {
                    Some(PatternPiece::Lit(l)) => l.chars().next(),
                    _ => None,
                };
                let mut v: String = source
                    .chars()
                    .filter(|&c| {
                        // The next literal cannot start inside the value.
                        Some(c) != next
                        // A quoted value is ended by the first unescaped quote
                        // only when a quote follows; otherwise keep it plain.
                            && !(quoted && next.is_some_and(|n| n != '"') && matches!(c, '"' | '\\'))
                    })
                    .collect();
                if next.is_none() {
                    // The last field: the matcher drops trailing blanks.
                    v.truncate(v.trim_end_matches([' ', '\t']).len());
                }
                if quoted {
                    written.push_str(&v.replace('\\', "\\\\").replace('"', "\\\""));
                } else {
                    written.push_str(&v);
                }
                values.push((v, quoted));
            }
        }
    }
    written.push_str(trailing);
    if let Err(e) = p.matches(&written, &mut out) {
        panic!("{written:?}, written from {values:?} by {pieces:?}, does not match: {e}");
    }
    check_partition(&pieces, &written, &out);
    let got: Vec<(String, bool)> = out
        .iter()
        .map(|m| {
            let text = if m.quoted {
                unescape(m.text).into_owned()
            } else {
                m.text.to_string()
            };
            (text, m.quoted)
        })
        .collect();
    assert_eq!(got, values, "{written:?} written by {pieces:?}");
}

/// The pattern's literals and the matched values give back the line.
fn check_partition(pieces: &[PatternPiece<'_>], line: &str, out: &[Matched<'_>]) {
    let mut values = out.iter();
    let mut joined = String::new();
    for piece in pieces {
        match piece {
            PatternPiece::Lit(l) => joined.push_str(l),
            PatternPiece::Field { quoted } => {
                let m = values.next().expect("one value per field");
                assert!(within(line, m.text));
                assert_eq!(m.quoted, *quoted);
                joined.push_str(m.text);
            }
        }
    }
    assert!(values.next().is_none());
    // All of the line but trailing blanks (which a literal may take).
    let rest = line.strip_prefix(joined.as_str());
    assert!(
        rest.is_some_and(|r| r.trim_matches([' ', '\t']).is_empty()),
        "pieces {joined:?} do not make up {line:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (format, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let lines: Vec<&str> = rest.lines().take(64).collect();
    let trailing = match data.last().map(|b| b % 4) {
        Some(1) => " ",
        Some(2) => " \t ",
        _ => "",
    };
    if let Ok(p) = Pattern::nginx(format) {
        check_pattern(&p, &lines, trailing);
    }
    if let Ok(p) = Pattern::apache(format) {
        check_pattern(&p, &lines, trailing);
    }
});
