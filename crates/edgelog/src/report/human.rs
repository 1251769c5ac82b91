//! Numbers, names and times for people, in one place: the label and the
//! unit of a report column (from its name), each value formatted in that
//! unit, "nice" axis ticks for charts, and the range line. The HTML report
//! uses all of it; JSON never does (its values stay raw).
//!
//! Sizes are DECIMAL, as the dashboard shows them and as CDNs bill them:
//! 1 KB = 1000 B, 1 MB = 1000 KB, ... up to EB, with one decimal
//! (`4.3 KB`, `590.6 MB`); under 1 KB a whole number of bytes (`999 B`).
//! Ratios are percentages with one decimal (`69.8%`), counts whole and
//! digit-grouped (`35,936`), rates at most two decimals, durations in ms
//! under a second and in s above. Whatever is not a finite number is `-`.

use chrono::{DateTime, FixedOffset, Timelike};

use super::model::Cell;

/// A time in the report's zone, to the second.
pub fn format_time(ms: i64, offset_secs: i32) -> String {
    match (DateTime::from_timestamp_millis(ms), FixedOffset::east_opt(offset_secs)) {
        (Some(t), Some(zone)) => t.with_timezone(&zone).format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        _ => ms.to_string(),
    }
}
use crate::config::TimeRange;

/// What a column's numbers measure, from its name ([`unit_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Whole things: requests, clients, lines (grouped, no decimals).
    Count,
    /// Sizes in bytes (`bytes`, `bytes_*`, `*_bytes`).
    Bytes,
    /// A share of 1 (`*ratio*`), shown as a percentage.
    Ratio,
    /// Per second (`*per_s*`), at most two decimals.
    Rate,
    /// A duration in seconds (`request_time*`).
    Seconds,
    /// An identifier that only looks like a number (`status`, `*_id`,
    /// `*port`): not grouped.
    Code,
}

/// The unit of column `name`.
pub fn unit_of(name: &str) -> Unit {
    let c = name.to_ascii_lowercase();
    if c.contains("ratio") {
        Unit::Ratio
    } else if c == "bytes" || c.starts_with("bytes_") || c.ends_with("_bytes") {
        Unit::Bytes
    } else if c.starts_with("request_time") {
        Unit::Seconds
    } else if c.contains("per_s") {
        Unit::Rate
    } else if c == "status" || c == "id" || c.ends_with("_id") || c.ends_with("port") {
        Unit::Code
    } else {
        Unit::Count
    }
}

/// Labels of the columns the panels name; the same words as the dashboard.
const LABELS: &[(&str, &str)] = &[
    ("requests", "Requests"),
    ("unique_clients", "Unique clients"),
    ("bytes", "Bytes"),
    ("requests_per_s_avg", "Average requests/s"),
    ("requests_per_s_peak", "Peak requests/s"),
    ("hit_ratio_requests", "Cache hit ratio (requests)"),
    ("hit_ratio_bytes", "Cache hit ratio (bytes)"),
    ("hit_ratio", "Cache hit ratio"),
    ("ratio_4xx", "4xx ratio"),
    ("ratio_5xx", "5xx ratio"),
    ("bytes_p50", "Response size p50"),
    ("bytes_p95", "Response size p95"),
    ("bytes_p99", "Response size p99"),
    ("request_time_p50", "Request time p50"),
    ("request_time_p95", "Request time p95"),
    ("request_time_p99", "Request time p99"),
    ("request_time_max", "Request time max"),
    ("malformed_lines", "Malformed lines"),
    ("errors_4xx", "4xx errors"),
    ("errors_5xx", "5xx errors"),
    ("s2xx", "2xx"),
    ("s3xx", "3xx"),
    ("s4xx", "4xx"),
    ("s5xx", "5xx"),
    ("client_ip", "Client IP"),
    ("user_agent", "User agent"),
    ("cache_status", "Cache status"),
    ("bytes_from_cache", "Bytes from cache"),
    ("referer", "Referrer"),
    ("request_id", "Request ID"),
    ("os", "OS"),
    ("misses", "Cache misses"),
    ("first_time", "First request"),
    ("last_time", "Last request"),
];

/// A column's label: from the table above, else the name with underscores
/// as spaces and the first letter capitalised.
pub fn label(name: &str) -> String {
    if let Some((_, l)) = LABELS.iter().find(|(c, _)| *c == name) {
        return (*l).to_string();
    }
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Inserts a `,` between every three digits of a run of ASCII digits.
fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An integer, digit-grouped: `1,234,567`.
pub fn group(i: i64) -> String {
    let out = group_digits(&i.unsigned_abs().to_string());
    if i < 0 { format!("-{out}") } else { out }
}

/// `v` with exactly `decimals` decimals, the whole part digit-grouped;
/// `-` when not finite. Beyond 10^18 it is written as `1.2e21`.
pub fn fixed(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v.abs() >= 1e18 {
        return format!("{v:.1e}");
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (whole, frac) = s.split_once('.').map_or((s.as_str(), ""), |(w, f)| (w, f));
    let negative = v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&group_digits(whole));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// `v` with at most `decimals` decimals (trailing zeros dropped), grouped.
pub fn number(v: f64, decimals: usize) -> String {
    let s = fixed(v, decimals);
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

const SIZES: [&str; 6] = ["KB", "MB", "GB", "TB", "PB", "EB"];

/// A size in decimal units: `999 B`, `1.0 KB`, `590.6 MB`.
pub fn bytes(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v.abs() < 999.5 {
        return format!("{} B", fixed(v, 0));
    }
    let (x, unit) = scaled(v.abs());
    let sign = if v < 0.0 { "-" } else { "" };
    format!("{sign}{} {unit}", fixed(x, 1))
}

/// `v` (at least 999.5) in the largest unit that keeps it under 1000 at
/// one decimal.
fn scaled(v: f64) -> (f64, &'static str) {
    let mut x = v / 1000.0;
    let mut i = 0;
    while x >= 999.95 && i < SIZES.len() - 1 {
        x /= 1000.0;
        i += 1;
    }
    (x, SIZES[i])
}

/// A share of 1 as a percentage with one decimal: `0.6984` -> `69.8%`.
pub fn percent(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    format!("{}%", fixed(v * 100.0, 1))
}

/// A rate, at most two decimals; a small positive rate is `< 0.01`, not 0.
pub fn rate(v: f64) -> String {
    if v > 0.0 && v < 0.005 {
        return "< 0.01".into();
    }
    number(v, 2)
}

/// A duration given in seconds: `4.2 ms`, `123 ms`, `1.25 s`.
pub fn seconds(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let ms = v * 1000.0;
    if ms == 0.0 {
        "0 ms".into()
    } else if ms.abs() < 9.95 {
        format!("{} ms", fixed(ms, 1))
    } else if ms.abs() < 999.5 {
        format!("{} ms", fixed(ms, 0))
    } else {
        format!("{} s", fixed(v, 2))
    }
}

/// A number in `unit`.
pub fn in_unit(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Count => number(v, 2),
        Unit::Bytes => bytes(v),
        Unit::Ratio => percent(v),
        Unit::Rate => rate(v),
        Unit::Seconds => seconds(v),
        Unit::Code if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Unit::Code => number(v, 4),
    }
}

/// A cell of a column of `unit`, for people; times in the zone
/// `offset_secs` east of UTC (the zone is stated once, not per time).
pub fn value(cell: &Cell, unit: Unit, offset_secs: i32) -> String {
    match cell {
        Cell::Null => "-".into(),
        Cell::Int(i) => match unit {
            Unit::Count => group(*i),
            Unit::Code => i.to_string(),
            _ => in_unit(*i as f64, unit),
        },
        Cell::Float(f) => in_unit(*f, unit),
        Cell::Text(s) => s.clone(),
        Cell::Time(ms) => time(*ms, offset_secs),
    }
}

/// The exact value behind a rounded one, for a hover: `590,613,635 bytes`,
/// `0.6984`, `0.0123 s`; `None` when [`value`] already shows it all.
pub fn exact(cell: &Cell, unit: Unit, offset_secs: i32) -> Option<String> {
    let v = cell.number().filter(|v| v.is_finite());
    match (cell, unit, v) {
        (Cell::Time(ms), _, _) => Some(format_time(*ms, offset_secs)),
        (_, Unit::Bytes, Some(v)) if v.abs() >= 999.5 => Some(format!("{} bytes", number(v, 2))),
        (_, Unit::Ratio | Unit::Rate, Some(v)) => Some(number(v, 6)),
        (_, Unit::Seconds, Some(v)) => Some(format!("{} s", number(v, 6))),
        (Cell::Float(_), Unit::Count, Some(v)) if v.fract() != 0.0 => Some(number(v, 6)),
        _ => None,
    }
}

/// Whether more of column `name` is good news (`Some(true)`: cache hits),
/// bad news (`Some(false)`: errors, slowness, malformed lines) or neither
/// (`None`: traffic), so that a change can be coloured only when it means
/// something.
pub fn more_is_better(name: &str) -> Option<bool> {
    let c = name.to_ascii_lowercase();
    if c.contains("hit_ratio") {
        Some(true)
    } else if c.contains("4xx")
        || c.contains("5xx")
        || c.starts_with("errors")
        || c.contains("malformed")
        || c.starts_with("request_time")
        || c.starts_with("misses")
    {
        Some(false)
    } else {
        None
    }
}

/// The change from `before` to `now` for people: a relative change
/// (`+12.5%`), or for ratios the difference in percentage points
/// (`+2.5 pp`: 10% -> 12.5% is not "+25%"). `None` when either is not a
/// number or, for a relative change, `before` is 0.
pub fn change(now: &Cell, before: &Cell, unit: Unit) -> Option<(f64, String)> {
    let (a, b) = (now.number()?, before.number()?);
    if !a.is_finite() || !b.is_finite() {
        return None;
    }
    if a == b {
        return Some((0.0, if unit == Unit::Ratio { "0.0 pp" } else { "0.0%" }.into()));
    }
    let (d, text) = if unit == Unit::Ratio {
        let d = (a - b) * 100.0;
        (d, format!("{} pp", fixed(d.abs(), 1)))
    } else {
        let d = super::model::change(now, before)? * 100.0;
        (d, format!("{}%", fixed(d.abs(), 1)))
    };
    if (d.abs() * 10.0).round() == 0.0 {
        // Rounds to zero: no sign, and no direction.
        return Some((0.0, text));
    }
    let sign = if d > 0.0 { "+" } else { "−" };
    Some((d, format!("{sign}{text}")))
}

fn zoned(ms: i64, offset_secs: i32) -> Option<DateTime<FixedOffset>> {
    Some(DateTime::from_timestamp_millis(ms)?.with_timezone(&FixedOffset::east_opt(offset_secs)?))
}

/// A time for people, in the zone: `2026-11-30 08:00`, with seconds only
/// when they are not 0 (`2026-11-30 08:00:12`).
pub fn time(ms: i64, offset_secs: i32) -> String {
    match zoned(ms, offset_secs) {
        Some(t) if t.second() == 0 && t.nanosecond() == 0 => t.format("%Y-%m-%d %H:%M").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => ms.to_string(),
    }
}

/// A time to the minute (seconds dropped).
pub fn minute(ms: i64, offset_secs: i32) -> String {
    match zoned(ms, offset_secs) {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => ms.to_string(),
    }
}

/// A length of time: `1 min`, `30 min`, `2 h`, `1 day`, `2 weeks`.
pub fn duration(ms: i64) -> String {
    const MIN: i64 = 60_000;
    const H: i64 = 60 * MIN;
    const DAY: i64 = 24 * H;
    const WEEK: i64 = 7 * DAY;
    let plural = |n: i64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    match ms {
        m if m > 0 && m % WEEK == 0 => plural(m / WEEK, "week"),
        m if m > 0 && m % DAY == 0 => plural(m / DAY, "day"),
        m if m > 0 && m % H == 0 => format!("{} h", m / H),
        m if m > 0 && m % MIN == 0 => format!("{} min", m / MIN),
        m => format!("{} s", number(m as f64 / 1000.0, 3)),
    }
}

/// The report's range for people. An open end is replaced by the data's
/// first or last time (`span`, to the minute) when known, and said to be
/// so: `all data, 2026-11-30 08:00 .. 2026-12-02 08:59`,
/// `2026-11-30 08:00 .. 2026-12-02 08:59 (last data)`.
pub fn range_text(range: &TimeRange, span: Option<(i64, i64)>, offset_secs: i32) -> String {
    let at = |ms: i64| time(ms, offset_secs);
    let first = span.map(|(a, _)| minute(a, offset_secs));
    let last = span.map(|(_, b)| minute(b, offset_secs));
    match (range.since, range.until, first, last) {
        (Some(a), Some(b), _, _) => format!("{} .. {}", at(a), at(b)),
        (None, None, Some(f), Some(l)) => format!("all data, {f} .. {l}"),
        (None, None, _, _) => "all data".into(),
        (Some(a), None, _, Some(l)) => format!("{} .. {l} (last data)", at(a)),
        (Some(a), None, _, None) => format!("from {}", at(a)),
        (None, Some(b), Some(f), _) => format!("{f} (first data) .. {}", at(b)),
        (None, Some(b), None, _) => format!("until {}", at(b)),
    }
}

/// The largest step of 1, 2 or 5 times a power of ten that is at least
/// `raw` (1 when `raw` is not a positive finite number).
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// Ticks for a value axis from 0 to at least `max`: 3 to 5 values, evenly
/// stepped by 1, 2 or 5 times a power of ten (whole steps for `whole`
/// quantities: counts, bytes). The last tick is the axis' top.
pub fn nice_ticks(max: f64, whole: bool) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 { max } else { 0.0 };
    let mut step = nice_step(max / 4.0);
    if whole {
        step = step.max(1.0);
    }
    let n = ((max / step).ceil() as usize).clamp(2, 4);
    (0..=n).map(|k| k as f64 * step).collect()
}

/// Labels for the value ticks `ticks` (as [`nice_ticks`] gives them) in
/// `unit`, all with the same decimals and, for bytes, the same unit:
/// `0, 500, 1,000, 1,500`, `0, 10 MB, 20 MB`, `0%, 2.5%, 5.0%`.
pub fn tick_labels(ticks: &[f64], unit: Unit) -> Vec<String> {
    let step = match ticks {
        [a, b, ..] => b - a,
        _ => 1.0,
    };
    let top = ticks.last().copied().unwrap_or(0.0);
    // Decimals that show the step: 0 for a whole step, else as many as it has.
    let decimals = |step: f64| {
        (0..6)
            .find(|&d| {
                let s = step * 10f64.powi(d);
                (s - s.round()).abs() < 1e-6 * s.max(1.0)
            })
            .unwrap_or(6) as usize
    };
    ticks
        .iter()
        .map(|&v| {
            if v == 0.0 {
                return "0".into();
            }
            match unit {
                Unit::Bytes if top >= 999.5 => {
                    let (_, name) = scaled(top);
                    let div = 1000f64.powi(SIZES.iter().position(|s| *s == name).unwrap_or(0) as i32 + 1);
                    format!("{} {name}", fixed(v / div, decimals(step / div)))
                }
                Unit::Bytes => format!("{} B", fixed(v, decimals(step))),
                Unit::Ratio => format!("{}%", fixed(v * 100.0, decimals(step * 100.0))),
                Unit::Seconds if top < 1.0 => format!("{} ms", fixed(v * 1000.0, decimals(step * 1000.0))),
                Unit::Seconds => format!("{} s", fixed(v, decimals(step))),
                _ => fixed(v, decimals(step)),
            }
        })
        .collect()
}

/// Steps a time axis may use, in minutes.
const TIME_STEPS_MIN: &[i64] = &[
    1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160, 43200,
];

/// Ticks for a time axis over `from..=to` (ms), at most `max_ticks` of them
/// (at least 1), on round times of the zone: every 6 h, every day, ...
/// Returns the step and the ticks.
pub fn time_ticks(from: i64, to: i64, offset_secs: i32, max_ticks: usize) -> (i64, Vec<i64>) {
    let span = i128::from(to) - i128::from(from);
    let max_ticks = i128::try_from(max_ticks.max(1)).unwrap_or(1);
    let step = TIME_STEPS_MIN
        .iter()
        .map(|m| i128::from(m * 60_000))
        .find(|s| span / s < max_ticks)
        .unwrap_or_else(|| {
            // Whole multiples of 30 days for longer spans.
            let month = 43_200i128 * 60_000;
            (span / (max_ticks * month) + 1) * month
        });
    let offset = i128::from(offset_secs) * 1000;
    let first = (i128::from(from) + offset).div_euclid(step) * step - offset;
    let first = if first < i128::from(from) { first + step } else { first };
    let ticks = (0..)
        .map(|k| first + k * step)
        .take_while(|t| *t <= i128::from(to))
        .take(64)
        .filter_map(|t| i64::try_from(t).ok())
        .collect();
    (i64::try_from(step).unwrap_or(i64::MAX), ticks)
}

/// The label of a time tick `ms` on an axis stepped by `step` ms: the hour
/// (`06:00`) for steps under a day, the day (`Dec 1`) at midnight and for
/// longer steps, the month (`2026-12`) for steps of 30 days.
pub fn time_tick_label(ms: i64, step: i64, offset_secs: i32) -> String {
    let Some(t) = zoned(ms, offset_secs) else {
        return ms.to_string();
    };
    if step >= 43_200 * 60_000 {
        t.format("%Y-%m").to_string()
    } else if step >= 1440 * 60_000 || (t.hour() == 0 && t.minute() == 0) {
        t.format("%b %-d").to_string()
    } else {
        t.format("%H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_and_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(2_334_745_109), "2,334,745,109");
        assert_eq!(group(-1_234_567), "-1,234,567");
        assert_eq!(group(i64::MIN), "-9,223,372,036,854,775,808");
        assert_eq!(value(&Cell::Int(35_936), Unit::Count, 0), "35,936");
        assert_eq!(value(&Cell::Float(35_936.0), Unit::Count, 0), "35,936");
        assert_eq!(value(&Cell::Float(2.5), Unit::Count, 0), "2.5");
        assert_eq!(value(&Cell::Int(200), Unit::Code, 0), "200");
        assert_eq!(value(&Cell::Int(12345), Unit::Code, 0), "12345");
        assert_eq!(value(&Cell::Null, Unit::Count, 0), "-");
        assert_eq!(value(&Cell::Float(f64::NAN), Unit::Count, 0), "-");
        assert_eq!(value(&Cell::Float(f64::INFINITY), Unit::Bytes, 0), "-");
        assert_eq!(number(-0.0, 2), "0");
        assert_eq!(number(-0.001, 2), "0");
        assert_eq!(number(1e300, 2), "1.0e300");
        assert_eq!(fixed(1234.5, 2), "1,234.50");
    }

    #[test]
    fn sizes_are_decimal_with_one_decimal() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(999.0), "999 B");
        assert_eq!(bytes(1000.0), "1.0 KB");
        assert_eq!(bytes(1023.0), "1.0 KB");
        assert_eq!(bytes(1024.0), "1.0 KB");
        assert_eq!(bytes(4267.6757), "4.3 KB");
        assert_eq!(bytes(999_949.0), "999.9 KB");
        assert_eq!(bytes(999_950.0), "1.0 MB");
        assert_eq!(bytes(2_334_745_109.0), "2.3 GB");
        assert_eq!(bytes(u64::MAX as f64), "18.4 EB");
        assert_eq!(bytes(1e30), "1,000,000,000,000.0 EB");
        assert_eq!(bytes(-2048.0), "-2.0 KB");
        assert_eq!(bytes(f64::NAN), "-");
        assert_eq!(value(&Cell::Int(590_613_635), Unit::Bytes, 0), "590.6 MB");
        assert_eq!(
            exact(&Cell::Int(590_613_635), Unit::Bytes, 0).as_deref(),
            Some("590,613,635 bytes")
        );
        assert_eq!(exact(&Cell::Int(999), Unit::Bytes, 0), None);
    }

    #[test]
    fn ratios_rates_and_durations() {
        assert_eq!(percent(0.6984), "69.8%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(percent(f64::NAN), "-");
        assert_eq!(rate(0.208), "0.21");
        assert_eq!(rate(4.0), "4");
        assert_eq!(rate(0.0001), "< 0.01");
        assert_eq!(rate(0.0), "0");
        assert_eq!(rate(1234.567), "1,234.57");
        assert_eq!(seconds(0.0), "0 ms");
        assert_eq!(seconds(0.0042), "4.2 ms");
        assert_eq!(seconds(0.123), "123 ms");
        assert_eq!(seconds(0.9996), "1.00 s");
        assert_eq!(seconds(12.5), "12.50 s");
        assert_eq!(seconds(f64::NEG_INFINITY), "-");
    }

    #[test]
    fn changes_are_signed_and_ratios_move_in_points() {
        let c = |a: f64, b: f64, u| change(&Cell::Float(a), &Cell::Float(b), u).map(|(_, t)| t);
        assert_eq!(c(4.0, 2.0, Unit::Count).as_deref(), Some("+100.0%"));
        assert_eq!(c(1.0, 4.0, Unit::Count).as_deref(), Some("−75.0%"));
        assert_eq!(c(2.0, 2.0, Unit::Count).as_deref(), Some("0.0%"));
        assert_eq!(c(0.0, 0.0, Unit::Count).as_deref(), Some("0.0%"));
        assert_eq!(c(1.0, 0.0, Unit::Count), None);
        // A change that rounds to nothing has no direction.
        assert_eq!(
            change(&Cell::Float(0.7001), &Cell::Float(0.7), Unit::Ratio),
            Some((0.0, "0.0 pp".into()))
        );
        assert_eq!(more_is_better("hit_ratio_bytes"), Some(true));
        assert_eq!(more_is_better("ratio_5xx"), Some(false));
        assert_eq!(more_is_better("requests"), None);
        assert_eq!(c(0.75, 0.5, Unit::Ratio).as_deref(), Some("+25.0 pp"));
        assert_eq!(c(0.0, 0.25, Unit::Ratio).as_deref(), Some("−25.0 pp"));
        assert_eq!(c(0.1, 0.0, Unit::Ratio).as_deref(), Some("+10.0 pp"));
        assert_eq!(c(f64::NAN, 1.0, Unit::Count), None);
        assert_eq!(change(&Cell::Null, &Cell::Int(1), Unit::Count), None);
    }

    #[test]
    fn labels_and_units_come_from_names() {
        assert_eq!(label("requests"), "Requests");
        assert_eq!(label("unique_clients"), "Unique clients");
        assert_eq!(label("hit_ratio_requests"), "Cache hit ratio (requests)");
        assert_eq!(label("ratio_5xx"), "5xx ratio");
        assert_eq!(label("bytes_p50"), "Response size p50");
        assert_eq!(label("requests_per_s_peak"), "Peak requests/s");
        assert_eq!(label("client_ip"), "Client IP");
        assert_eq!(label("some_new_column"), "Some new column");
        assert_eq!(label(""), "");
        assert_eq!(unit_of("hit_ratio_bytes"), Unit::Ratio);
        assert_eq!(unit_of("bytes_from_cache"), Unit::Bytes);
        assert_eq!(unit_of("bytes_p95"), Unit::Bytes);
        assert_eq!(unit_of("body_bytes"), Unit::Bytes);
        assert_eq!(unit_of("requests_per_s_avg"), Unit::Rate);
        assert_eq!(unit_of("request_time_p99"), Unit::Seconds);
        assert_eq!(unit_of("status"), Unit::Code);
        assert_eq!(unit_of("errors_5xx"), Unit::Count);
    }

    #[test]
    fn value_ticks_are_few_and_round() {
        assert_eq!(nice_ticks(1957.0, true), vec![0.0, 500.0, 1000.0, 1500.0, 2000.0]);
        assert_eq!(nice_ticks(0.0, true), vec![0.0, 1.0, 2.0]);
        assert_eq!(nice_ticks(1.0, true), vec![0.0, 1.0, 2.0]);
        assert_eq!(nice_ticks(f64::NAN, true), vec![0.0, 1.0, 2.0]);
        for max in [3.0, 7.0, 99.0, 101.0, 34_270_792.0, 1e300] {
            let t = nice_ticks(max, true);
            assert!((3..=5).contains(&t.len()), "{max}: {t:?}");
            assert!(*t.last().unwrap() >= max, "{max}: {t:?}");
        }
        let labels = |max, unit| tick_labels(&nice_ticks(max, true), unit).join(", ");
        assert_eq!(labels(1957.0, Unit::Count), "0, 500, 1,000, 1,500, 2,000");
        assert_eq!(labels(34_270_792.0, Unit::Bytes), "0, 10 MB, 20 MB, 30 MB, 40 MB");
        assert_eq!(labels(1_400_000.0, Unit::Bytes), "0, 0.5 MB, 1.0 MB, 1.5 MB");
        assert_eq!(labels(800.0, Unit::Bytes), "0, 200 B, 400 B, 600 B, 800 B");
        assert_eq!(
            tick_labels(&nice_ticks(0.07, false), Unit::Ratio).join(", "),
            "0, 2%, 4%, 6%, 8%"
        );
        assert_eq!(
            tick_labels(&nice_ticks(0.3, false), Unit::Seconds).join(", "),
            "0, 100 ms, 200 ms, 300 ms"
        );
    }

    #[test]
    fn time_ticks_fall_on_round_times_of_the_zone() {
        let h = 3_600_000;
        let tz = 9 * 3600;
        // 48 h from 09:00 +09:00: every 6 h on a desktop, every 12 h on a phone.
        let from = 1_764_460_800_000; // 2025-11-30T00:00Z = 09:00 +09:00
        let (step, ticks) = time_ticks(from, from + 48 * h, tz, 10);
        assert_eq!(step, 6 * h);
        assert_eq!(time_tick_label(ticks[0], step, tz), "12:00");
        assert!(
            ticks.iter().any(|t| time_tick_label(*t, step, tz) == "Dec 1"),
            "{ticks:?}"
        );
        assert_eq!(ticks.len(), 8);
        let (step, ticks) = time_ticks(from, from + 48 * h, tz, 5);
        assert_eq!(step, 12 * h);
        assert_eq!(ticks.len(), 4);
        // Wild times neither overflow nor make many ticks.
        let (_, wild) = time_ticks(i64::MIN, i64::MAX, 50_400, 8);
        assert!(wild.len() <= 9, "{}", wild.len());
        assert_eq!(time_ticks(5, 5, 0, 8).1.len(), 0);
    }

    #[test]
    fn ranges_say_where_an_open_end_comes_from() {
        let span = Some((1_764_460_812_000, 1_764_633_598_000));
        let all = TimeRange {
            since: None,
            until: None,
        };
        assert_eq!(
            range_text(&all, span, 9 * 3600),
            "all data, 2025-11-30 09:00 .. 2025-12-02 08:59"
        );
        assert_eq!(range_text(&all, None, 0), "all data");
        let since = TimeRange {
            since: Some(1_764_460_800_000),
            until: None,
        };
        assert_eq!(
            range_text(&since, span, 0),
            "2025-11-30 00:00 .. 2025-12-01 23:59 (last data)"
        );
        let closed = TimeRange {
            since: Some(1_764_460_800_000),
            until: Some(1_764_460_830_000),
        };
        assert_eq!(range_text(&closed, span, 0), "2025-11-30 00:00 .. 2025-11-30 00:00:30");
        assert_eq!(duration(2 * 3_600_000), "2 h");
        assert_eq!(duration(30 * 60_000), "30 min");
        assert_eq!(duration(86_400_000), "1 day");
        assert_eq!(duration(14 * 86_400_000), "2 weeks");
    }
}
