//! The Sakura web-accelerator dialect on arbitrary lines and object keys.
//!
//! - no line panics `SakuraLine::parse` or any accessor, and no key panics
//!   `key_hour`;
//! - `SakuraParser` (the remembered layout, learned from the line itself
//!   and from its first half) answers exactly as `SakuraLine::parse`;
//! - `record` (every field at once) agrees with the one-field accessors;
//! - the `msec` shortcut `parse_f64` agrees with `str::parse::<f64>` on any
//!   text, bit for bit;
//! - a key hour is a whole hour;
//! - status and byte counts written into a line read back the same.

#![no_main]

use edgelog_parse::request::split_request;
use edgelog_parse::sakura::{SakuraField, SakuraLine, SakuraParser, Scratch, key_hour, parse_f64};
use edgelog_parse::time::HOUR_MS;
use libfuzzer_sys::fuzz_target;

fn check_line(line: &str) {
    let mut unknown = Vec::new();
    let full = SakuraLine::parse(line, |k| unknown.push(k.to_string()));
    let mut parser = SakuraParser::default();
    let half = line.get(..line.len() / 2).unwrap_or(line);
    for learn_from in [line, half, line] {
        let _ = parser.parse(learn_from, |_| {});
        let mut seen = Vec::new();
        let fast = parser.parse(line, |k| seen.push(k.to_string()));
        assert_eq!(fast, full, "remembered layout disagrees on {line:?}");
        if full.is_ok() {
            assert_eq!(seen, unknown);
        }
    }
    let Ok(l) = full else {
        return;
    };
    let s = &mut String::new();
    for &f in SakuraField::ALL {
        let text = l.text(f, s).map(|t| t.map(str::to_string));
        if let Ok(Some(t)) = &text {
            assert!(!t.is_empty() && t != "-");
        }
        let _ = l.u16(f, s);
        let _ = l.u64(f, s);
        let _ = l.f64(f, s);
    }
    for k in &unknown {
        assert!(
            SakuraField::from_key(k).is_none(),
            "known key {k:?} reported as unknown"
        );
    }
    let time = l.time_ms(s);
    let mut scratch = Scratch::default();
    match l.record(&mut scratch) {
        Ok(r) => {
            let s = &mut String::new();
            assert_eq!(Ok(r.time_ms), time);
            for &f in SakuraField::ALL {
                assert_eq!(r.get(f).map(str::to_string), l.text(f, s).unwrap().map(str::to_string));
            }
            assert_eq!(Ok(r.status), l.u16(SakuraField::Status, s));
            assert_eq!(Ok(r.remote_port), l.u16(SakuraField::RemotePort, s));
            assert_eq!(Ok(r.bytes_sent), l.u64(SakuraField::BytesSent, s));
            assert_eq!(Ok(r.body_bytes_sent), l.u64(SakuraField::BodyBytesSent, s));
            assert_eq!(
                r.msec.map(f64::to_bits),
                l.f64(SakuraField::Msec, s).unwrap().map(f64::to_bits)
            );
            if let Some(req) = r.get(SakuraField::Request) {
                let _ = split_request(req);
            }
        }
        // A line whose record fails has some field that fails on its own.
        Err(_) => {
            let s = &mut String::new();
            let any_fails = time.is_err()
                || SakuraField::ALL.iter().any(|&f| l.text(f, s).is_err())
                || l.u16(SakuraField::Status, s).is_err()
                || l.u16(SakuraField::RemotePort, s).is_err()
                || l.u64(SakuraField::BytesSent, s).is_err()
                || l.u64(SakuraField::BodyBytesSent, s).is_err()
                || l.f64(SakuraField::Msec, s).is_err();
            assert!(any_fails, "record fails but every field reads on {line:?}");
        }
    }
}

fn check_float(t: &str) {
    let std: Option<f64> = t.parse().ok();
    assert_eq!(
        parse_f64(t).map(f64::to_bits),
        std.map(f64::to_bits),
        "parse_f64({t:?})"
    );
}

fn check_key(key: &str) {
    if let Some(ms) = key_hour(key) {
        assert_eq!(ms.rem_euclid(HOUR_MS), 0, "key_hour({key:?}) = {ms}");
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_line(&text);
    check_key(&text);
    for line in text.lines() {
        check_line(line);
        check_key(line);
        check_float(line);
    }
    // Numbers written into a line read back the same.
    if let Some((head, _)) = data.split_first_chunk::<10>() {
        let status = u16::from_le_bytes([head[0], head[1]]);
        let bytes = u64::from_le_bytes(head[2..10].try_into().unwrap_or_default());
        let quoted = status % 2 == 0;
        let line = if quoted {
            format!(r#"{{"status":"{status}","bytes_sent":"{bytes}"}}"#)
        } else {
            format!(r#"{{"status":{status},"bytes_sent":{bytes}}}"#)
        };
        let l = SakuraLine::parse(&line, |_| {}).unwrap();
        let s = &mut String::new();
        assert_eq!(l.u16(SakuraField::Status, s).unwrap(), Some(status));
        assert_eq!(l.u64(SakuraField::BytesSent, s).unwrap(), Some(bytes));
        let mut scratch = Scratch::default();
        let r = l.record(&mut scratch).unwrap();
        assert_eq!((r.status, r.bytes_sent), (Some(status), Some(bytes)));
    }
});
