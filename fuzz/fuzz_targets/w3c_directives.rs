//! W3C extended log files (IIS, CloudFront): directives and entries.
//!
//! - no input panics the directive parser or the quoted tokenizer the
//!   entries are read with;
//! - `#Fields:` ids are the whitespace-separated words after it, each a
//!   slice of the line, none blank;
//! - a `#Date:` day is a valid ISO date of ten bytes taken from the line;
//! - a `#GMT-Offset:` is within a day;
//! - a line without a leading `#` is never a directive.

#![no_main]

use edgelog_parse::text::quoted_tokens;
use edgelog_parse::time::parse_iso8601;
use edgelog_parse::w3c::{Directive, parse_directive};
use libfuzzer_sys::fuzz_target;

fn within(outer: &str, inner: &str) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

fn check_line(line: &str) {
    match parse_directive(line) {
        None => assert!(!line.starts_with('#'), "{line:?} is a directive"),
        Some(Directive::Fields(ids)) => {
            assert!(line.starts_with("#Fields:"), "{line:?}");
            let words: Vec<&str> = line["#Fields:".len()..].split_ascii_whitespace().collect();
            assert_eq!(ids, words);
            for id in ids {
                assert!(!id.is_empty() && within(line, id));
            }
        }
        Some(Directive::Date(Some(day))) => {
            assert_eq!(day.len(), 10);
            assert!(within(line, day));
            assert!(parse_iso8601(day, 0).is_some(), "{day:?}");
        }
        Some(Directive::Date(None)) | Some(Directive::Other) => {}
        Some(Directive::GmtOffset(secs)) => assert!(secs.abs() < 86_400, "{secs}"),
    }
    if !line.starts_with('#') {
        let mut toks = Vec::new();
        if quoted_tokens(line, &mut toks).is_ok() {
            for t in &toks {
                assert!(within(line, t.text));
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        check_line(line);
    }
});
