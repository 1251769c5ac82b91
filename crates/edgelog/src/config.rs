//! Plain values every layer shares: time ranges, zones, storage settings,
//! scan behaviour, output formats, durations. Nothing here knows about clap
//! or about dialects (the request that names a dialect is
//! [`crate::engine::ScanRequest`]); it imports nothing of this crate.

use edgelog_parse::time::{parse_iso8601, parse_offset};
use serde::{Deserialize, Serialize};

/// A half-open time range `[since, until)` in epoch milliseconds; either end
/// may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Inclusive lower bound.
    pub since: Option<i64>,
    /// Exclusive upper bound.
    pub until: Option<i64>,
}

impl TimeRange {
    /// The range that holds every time.
    pub const ALL: TimeRange = TimeRange {
        since: None,
        until: None,
    };

    /// Whether neither end is set.
    pub fn is_unbounded(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// The times in both ranges.
    pub fn intersect(&self, other: &TimeRange) -> TimeRange {
        let max = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let min = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        TimeRange {
            since: max(self.since, other.since),
            until: min(self.until, other.until),
        }
    }

    /// Whether `t` lies in the range.
    pub fn contains(&self, t: i64) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    /// Whether `[start, end)` shares any time with the range.
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.since.is_none_or(|s| end > s) && self.until.is_none_or(|u| start < u)
    }
}

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// An aligned table for people.
    Table,
    /// Comma-separated values with a header.
    Csv,
    /// Tab-separated values with a header.
    Tsv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A GitHub-flavoured Markdown table.
    Markdown,
    /// An Apache Parquet file.
    Parquet,
}

impl OutputFormat {
    /// Every format's name, for help and errors.
    pub const NAMES: &'static [&'static str] = &["table", "csv", "tsv", "json", "ndjson", "markdown", "parquet"];

    /// The format a name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "table" => OutputFormat::Table,
            "csv" => OutputFormat::Csv,
            "tsv" => OutputFormat::Tsv,
            "json" => OutputFormat::Json,
            "ndjson" | "jsonl" => OutputFormat::Ndjson,
            "markdown" | "md" => OutputFormat::Markdown,
            "parquet" => OutputFormat::Parquet,
            _ => return None,
        })
    }
}

/// How hard a read from storage tries before it gives up (see
/// `source/reader.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IoPolicy {
    /// Retries after the first attempt, for transient faults.
    pub retries: u32,
    /// Longest wait for an answer, or for the next piece of a body.
    pub io_timeout: std::time::Duration,
}

impl Default for IoPolicy {
    fn default() -> Self {
        IoPolicy {
            retries: 3,
            io_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// Where object-storage settings come from when flags give them. Never
/// holds a secret: keys come from the environment or `~/.aws`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageOptions {
    /// `--endpoint`: the S3 endpoint URL.
    pub endpoint: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`: the `~/.aws` profile to read.
    pub profile: Option<String>,
    /// `--allow-http`: permit plain-HTTP endpoints.
    pub allow_http: bool,
    /// `--retries`, `--io-timeout`.
    pub io: IoPolicy,
}

/// The zone times are shown in, and zone-less times read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// As given: `UTC`, `+09:00`.
    pub name: String,
    /// Seconds east of UTC.
    pub offset_secs: i32,
}

impl Zone {
    /// `UTC`, `Z` or an offset such as `+09:00`; `None` for anything else.
    pub fn parse(name: &str) -> Option<Zone> {
        Some(Zone {
            name: name.to_string(),
            offset_secs: parse_offset(name)?,
        })
    }
}

/// How the scan treats the data it reads, once the request is resolved.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Rows outside this range are not returned.
    pub range: TimeRange,
    /// How far around a time range objects are still read, for late records.
    pub prune_margin_ms: i64,
    /// A malformed line is an error rather than a count.
    pub strict: bool,
    /// An object that cannot be read is listed in the summary and skipped
    /// rather than an error.
    pub skip_unreadable: bool,
    /// The zone times are shown in, and `WHERE` literals without one read in.
    pub zone: Zone,
}

/// The prune margin when none is given: an hour either side.
pub const DEFAULT_PRUNE_MARGIN_MS: i64 = 3_600_000;

/// Parses a duration such as `90s`, `15m`, `1h`, `7d` or `2h30m` to milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut num = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 7 * 86_400_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        any = true;
    }
    if !num.is_empty() {
        // A bare number is seconds only when it is the whole text.
        if any {
            return None;
        }
        return num.parse::<i64>().ok()?.checked_mul(1_000);
    }
    any.then_some(total)
}

/// Parses a time given on the command line: ISO 8601 with or without zone
/// (then read in `default_offset_secs`), a date, or `now`.
pub fn parse_time_arg(s: &str, default_offset_secs: i32, now_ms: i64) -> Option<i64> {
    if s == "now" {
        return Some(now_ms);
    }
    parse_iso8601(s, default_offset_secs)
}

/// `s` on one line: runs of whitespace (newlines too) become one space.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text pasted from chat or a web page, with its invisible look-alikes of
/// a space made plain: no-break and other Unicode spaces become ` `, and
/// zero-width characters and byte-order marks go. Rules files and SQL are
/// read through this, so that `WHERE\u{a0}status` is not an obscure error.
pub fn plain_spaces(text: &str) -> std::borrow::Cow<'_, str> {
    let odd = |c: char| {
        matches!(
            c,
            '\u{a0}' | '\u{1680}' | '\u{2000}'
                ..='\u{200b}' | '\u{202f}' | '\u{205f}' | '\u{2060}' | '\u{3000}' | '\u{feff}'
        )
    };
    if !text.chars().any(odd) {
        return std::borrow::Cow::Borrowed(text);
    }
    let plain = text
        .chars()
        .filter_map(|c| match c {
            '\u{200b}' | '\u{2060}' | '\u{feff}' => None,
            c if odd(c) => Some(' '),
            c => Some(c),
        })
        .collect();
    std::borrow::Cow::Owned(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("1h"), Some(3_600_000));
        assert_eq!(parse_duration_ms("2h30m"), Some(9_000_000));
        assert_eq!(parse_duration_ms("7d"), Some(604_800_000));
        assert_eq!(parse_duration_ms("0"), Some(0));
        assert_eq!(parse_duration_ms("90"), Some(90_000));
        assert_eq!(parse_duration_ms("1h5"), None);
        assert_eq!(parse_duration_ms("h"), None);
        assert_eq!(parse_duration_ms("1y"), None);
        assert_eq!(parse_duration_ms(""), None);
    }

    #[test]
    fn ranges() {
        let r = TimeRange {
            since: Some(10),
            until: Some(20),
        };
        assert!(r.contains(10) && r.contains(19) && !r.contains(20) && !r.contains(9));
        assert!(r.overlaps(19, 30) && !r.overlaps(20, 30) && !r.overlaps(0, 10) && r.overlaps(0, 11));
        let s = r.intersect(&TimeRange {
            since: Some(15),
            until: None,
        });
        assert_eq!(
            s,
            TimeRange {
                since: Some(15),
                until: Some(20)
            }
        );
        assert!(TimeRange::ALL.contains(i64::MIN) && TimeRange::ALL.is_unbounded());
    }

    #[test]
    fn pasted_spaces_are_plain() {
        assert_eq!(plain_spaces("SELECT\u{a0}1"), "SELECT 1");
        assert_eq!(plain_spaces("\u{feff}a\u{200b}b\u{202f}c\u{3000}"), "ab c ");
        assert!(matches!(plain_spaces("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
