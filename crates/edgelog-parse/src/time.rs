//! Timestamps: ISO 8601 / RFC 3339 text and epoch seconds to epoch milliseconds.
//!
//! Hand-written because it sits on the hot path of every line and because log
//! writers bend the standard (space for `T`, `+0900` for `+09:00`, no seconds).

/// Milliseconds in one hour.
pub const HOUR_MS: i64 = 3_600_000;
/// Milliseconds in one day.
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Days since 1970-01-01 of a proleptic Gregorian date (no range checks).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let d = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Parses `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH[:MM]|±HHMM]` to epoch
/// milliseconds. Text without a zone is read at `default_offset_secs` east of
/// UTC. Fractions beyond milliseconds are truncated. Returns `None` for
/// anything else, including impossible dates.
pub fn parse_iso8601(s: &str, default_offset_secs: i32) -> Option<i64> {
    let b = s.as_bytes();
    let year = digits(b, 0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(i64::from(year), month) {
        return None;
    }
    let mut ms = days_from_civil(i64::from(year), month, day) * DAY_MS;
    let mut i = 10;
    if matches!(b.get(i), Some(b'T' | b't' | b' ')) {
        let hour = digits(b, i + 1, 2)?;
        if b.get(i + 3) != Some(&b':') {
            return None;
        }
        let minute = digits(b, i + 4, 2)?;
        i += 6;
        let mut second = 0;
        if b.get(i) == Some(&b':') {
            second = digits(b, i + 1, 2)?;
            i += 3;
            if matches!(b.get(i), Some(b'.' | b',')) {
                i += 1;
                let start = i;
                let mut frac_ms = 0i64;
                while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
                    if i - start < 3 {
                        frac_ms = frac_ms * 10 + i64::from(c - b'0');
                    }
                    i += 1;
                }
                if i == start {
                    return None;
                }
                for _ in (i - start)..3 {
                    frac_ms *= 10;
                }
                ms += frac_ms;
            }
        }
        // 60 admits a leap second, which lands on the next second.
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        ms += i64::from(hour * 3600 + minute * 60 + second) * 1000;
    }
    let offset_secs = match b.get(i) {
        None => default_offset_secs,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let hh = digits(b, i + 1, 2)?;
            let mm = match b.len() - (i + 3) {
                0 => 0,
                2 => digits(b, i + 3, 2)?,
                3 if b[i + 3] == b':' => digits(b, i + 4, 2)?,
                _ => return None,
            };
            if hh > 23 || mm > 59 {
                return None;
            }
            let secs = (hh * 3600 + mm * 60) as i32;
            if sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    Some(ms - i64::from(offset_secs) * 1000)
}

/// Parses epoch seconds with an optional fraction (`1732681714.282`, nginx's
/// `$msec`) to epoch milliseconds, exactly (no floating point).
pub fn parse_epoch_secs(s: &str) -> Option<i64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || int.len() > 12 || !int.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    let mut ms = 0i64;
    for k in 0..3 {
        ms = ms * 10 + frac.as_bytes().get(k).map_or(0, |c| i64::from(c - b'0'));
    }
    Some(secs * 1000 + ms)
}

/// Parses a zone offset (`+09:00`, `-0430`, `Z`, `UTC`) to seconds east of UTC.
pub fn parse_offset(s: &str) -> Option<i32> {
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    // Only `±HH[[:]MM]` may follow `00:00` below. Fuzzing found that other
    // text was read as part of the time instead: `:30` as 30 seconds (an
    // offset of -30 s), `:00.5` or nothing at all as UTC
    // (`offset_must_start_with_a_sign`).
    if !s.starts_with(['+', '-']) {
        return None;
    }
    parse_iso8601(&format!("1970-01-01T00:00{s}"), 0).map(|ms| (-ms / 1000) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_with_offsets() {
        // 2024-11-27T13:28:34+09:00 == 2024-11-27T04:28:34Z == 1732681714
        assert_eq!(parse_iso8601("2024-11-27T13:28:34+09:00", 0), Some(1_732_681_714_000));
        assert_eq!(parse_iso8601("2024-11-27T04:28:34Z", 0), Some(1_732_681_714_000));
        assert_eq!(parse_iso8601("2024-11-27T04:28:34.282Z", 0), Some(1_732_681_714_282));
        assert_eq!(parse_iso8601("2024-11-27T04:28:34.28Z", 0), Some(1_732_681_714_280));
        assert_eq!(
            parse_iso8601("2024-11-27T04:28:34.282999999Z", 0),
            Some(1_732_681_714_282)
        );
        assert_eq!(parse_iso8601("2024-11-27 13:28:34+0900", 0), Some(1_732_681_714_000));
        assert_eq!(parse_iso8601("2024-11-26T23:28:34-05:00", 0), Some(1_732_681_714_000));
        assert_eq!(parse_iso8601("2024-11-27T13:28:34+09", 0), Some(1_732_681_714_000));
    }

    #[test]
    fn partial_forms_use_the_default_offset() {
        assert_eq!(parse_iso8601("2024-11-27T13:28:34", 9 * 3600), Some(1_732_681_714_000));
        assert_eq!(parse_iso8601("2024-11-27T13:00+09:00", 0), Some(1_732_680_000_000));
        assert_eq!(parse_iso8601("2024-11-27", 0), Some(1_732_665_600_000));
    }

    #[test]
    fn impossible_or_odd_text_is_rejected() {
        for s in [
            "2024-02-30T00:00:00Z",
            "2023-02-29",
            "2024-13-01",
            "2024-11-27T24:00:00Z",
            "2024-11-27T13:60:00Z",
            "2024-11-27T13:28:34+09:00 ",
            "2024-11-27T13:28:34.Z",
            "2024/11/27",
            "",
            "2024-11-27T1",
            "2024-11-27T13:28:34+9",
        ] {
            assert_eq!(parse_iso8601(s, 0), None, "{s}");
        }
        assert_eq!(
            parse_iso8601("2024-02-29", 0),
            Some(days_from_civil(2024, 2, 29) * DAY_MS)
        );
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 19_000, 20_054, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_054), (2024, 11, 27));
    }

    #[test]
    fn epoch_seconds() {
        assert_eq!(parse_epoch_secs("1732681714.282"), Some(1_732_681_714_282));
        assert_eq!(parse_epoch_secs("1732681714.2"), Some(1_732_681_714_200));
        assert_eq!(parse_epoch_secs("1732681714"), Some(1_732_681_714_000));
        assert_eq!(parse_epoch_secs("1732681714.28299"), Some(1_732_681_714_282));
        assert_eq!(parse_epoch_secs("-1"), None);
        assert_eq!(parse_epoch_secs("12a"), None);
        assert_eq!(parse_epoch_secs(".5"), None);
        assert_eq!(parse_epoch_secs("99999999999999999"), None);
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+09:00"), Some(32_400));
        assert_eq!(parse_offset("-0430"), Some(-16_200));
        assert_eq!(parse_offset("UTC"), Some(0));
        assert_eq!(parse_offset("Z"), Some(0));
        assert_eq!(parse_offset("Tokyo"), None);
    }

    /// Found by the `times` fuzz target: text after `00:00` that is not a
    /// zone was read as seconds, a fraction, or no zone (UTC).
    #[test]
    fn offset_must_start_with_a_sign() {
        for bad in ["", ":30", ":00", ":59.999", ":00.5+09:00", ".5", "T", " +09:00"] {
            assert_eq!(parse_offset(bad), None, "{bad:?}");
        }
        assert_eq!(parse_offset("+05"), Some(18_000));
        assert_eq!(parse_offset("-23:59"), Some(-86_340));
        assert_eq!(parse_offset("+24:00"), None);
        assert_eq!(parse_offset("z"), Some(0));
    }
}
