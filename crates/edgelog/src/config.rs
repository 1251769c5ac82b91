//! Plain, validated configuration: what the CLI turns its flags into before
//! any I/O. Nothing here knows about clap; the server and tests build these
//! structs directly.

use std::path::PathBuf;

use edgelog_parse::time::parse_iso8601;

/// A half-open time range `[since, until)` in epoch milliseconds; either end
/// may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Where object-storage settings come from when flags give them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

/// How the scan treats the data it reads.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The format as given (`sakura`, `auto`, `nginx:...`).
    pub format: String,
    /// The dialect, once resolved (detected, or set up from a sample).
    pub dialect: Option<std::sync::Arc<dyn crate::format::Dialect>>,
    /// Rows outside this range are not returned.
    pub range: TimeRange,
    /// How far around a time range objects are still read, for late records.
    pub prune_margin_ms: i64,
    /// A malformed line is an error rather than a count.
    pub strict: bool,
    /// An object that cannot be read is listed in the summary and skipped
    /// rather than an error.
    pub skip_unreadable: bool,
    /// The zone times are shown in (`+09:00`, `UTC`); `None` is the dialect's own.
    pub tz: Option<String>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            format: "sakura".into(),
            dialect: None,
            range: TimeRange::ALL,
            prune_margin_ms: 3_600_000,
            strict: false,
            skip_unreadable: false,
            tz: None,
        }
    }
}

/// Everything `edgelog query` needs.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// The locations bound to the table `logs`.
    pub locations: Vec<String>,
    /// Scan behaviour.
    pub scan: ScanOptions,
    /// Object-storage settings from flags.
    pub storage: StorageOptions,
    /// The SQL to run.
    pub sql: String,
    /// How to write the results.
    pub output: OutputFormat,
    /// Write results here instead of standard output.
    pub out_file: Option<PathBuf>,
    /// No summary on stderr.
    pub quiet: bool,
    /// Listing, pruning and credential-source details on stderr.
    pub verbose: bool,
    /// Memory the query may use, in bytes.
    pub memory_limit: Option<usize>,
}

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
}
