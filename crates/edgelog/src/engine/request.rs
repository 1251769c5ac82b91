//! [`ScanRequest`]: what to read, as plain data. The CLI builds one from its
//! flags; a server can take one as JSON; a cluster can ship one.

use serde::{Deserialize, Serialize};

use crate::config::{DEFAULT_PRUNE_MARGIN_MS, StorageOptions, TimeRange, parse_duration_ms, parse_time_arg};
use crate::dialect::DialectSpec;

/// What to read and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// Files, folders, globs, `s3://BUCKET/PREFIX` or `https://` URLs.
    pub locations: Vec<String>,
    /// A lake (folder or `s3://BUCKET/PREFIX`) whose rows are read too; the
    /// raw objects of `locations` it holds are then not read again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lake: Option<String>,
    /// The dialect asked for (`auto` to detect it) or decided.
    pub format: DialectSpec,
    /// The time range, as given.
    #[serde(default)]
    pub range: RangeSpec,
    /// How far around the range objects are still read, for late records.
    #[serde(default = "default_margin")]
    pub prune_margin_ms: i64,
    /// The zone times are shown in (`UTC`, `+09:00`); `None` is the dialect's own.
    #[serde(default)]
    pub tz: Option<String>,
    /// A malformed line is an error rather than a count.
    #[serde(default)]
    pub strict: bool,
    /// An object that cannot be read is skipped and listed rather than an error.
    #[serde(default)]
    pub skip_unreadable: bool,
    /// Endpoint, region, profile, retries (never secrets).
    #[serde(default)]
    pub storage: StorageOptions,
    /// Memory the queries may use, in bytes.
    #[serde(default)]
    pub memory_limit: Option<usize>,
}

fn default_margin() -> i64 {
    DEFAULT_PRUNE_MARGIN_MS
}

impl ScanRequest {
    /// A request for `locations` in `format`, everything else as by default.
    pub fn new(locations: Vec<String>, format: DialectSpec) -> Self {
        ScanRequest {
            locations,
            lake: None,
            format,
            range: RangeSpec::default(),
            prune_margin_ms: DEFAULT_PRUNE_MARGIN_MS,
            tz: None,
            strict: false,
            skip_unreadable: false,
            storage: StorageOptions::default(),
            memory_limit: None,
        }
    }
}

/// A time as given: epoch milliseconds, or text (ISO 8601, a date, `now`)
/// that is read in the log's zone when it names none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TimeArg {
    /// Epoch milliseconds.
    Ms(i64),
    /// As typed.
    Text(String),
}

/// The time range as given; resolved once the dialect (and so the zone of
/// zone-less times) is known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RangeSpec {
    /// Rows at or after this time.
    pub since: Option<TimeArg>,
    /// Rows before this time.
    pub until: Option<TimeArg>,
    /// Only the last this-many milliseconds before `until` (or now).
    pub last_ms: Option<i64>,
    /// What "now" is, epoch ms; `None` is the clock when the logs are
    /// opened ([`crate::engine::LogSet::open`] pins it then).
    pub now_ms: Option<i64>,
}

impl RangeSpec {
    /// An absolute range.
    pub fn absolute(range: TimeRange) -> Self {
        RangeSpec {
            since: range.since.map(TimeArg::Ms),
            until: range.until.map(TimeArg::Ms),
            ..RangeSpec::default()
        }
    }

    /// Now, as this range sees it.
    pub fn now(&self) -> i64 {
        self.now_ms.unwrap_or_else(|| chrono::Utc::now().timestamp_millis())
    }

    /// The range to sample for detection, before the zone is known: times
    /// with a zone are exact, zone-less ones are read as UTC (the sample
    /// is widened by a day anyway); with `last_ms`, everything.
    pub fn hint(&self) -> TimeRange {
        if self.last_ms.is_some() {
            return TimeRange::ALL;
        }
        let now = self.now();
        let at = |t: &Option<TimeArg>| match t {
            Some(TimeArg::Ms(ms)) => Some(*ms),
            Some(TimeArg::Text(text)) => parse_time_arg(text, 0, now),
            None => None,
        };
        TimeRange {
            since: at(&self.since),
            until: at(&self.until),
        }
    }

    /// The range, with zone-less times read at `offset_secs`. The error
    /// names the bound at fault.
    pub fn resolve(&self, offset_secs: i32) -> Result<TimeRange, String> {
        let now = self.now();
        let at = |flag: &str, t: &Option<TimeArg>| -> Result<Option<i64>, String> {
            match t {
                None => Ok(None),
                Some(TimeArg::Ms(ms)) => Ok(Some(*ms)),
                Some(TimeArg::Text(text)) => parse_time_arg(text, offset_secs, now).map(Some).ok_or_else(|| {
                    format!("bad --{flag} {text:?}: use ISO 8601 such as 2024-11-27T13:00+09:00 or 2024-11-27")
                }),
            }
        };
        let mut range = TimeRange {
            since: at("since", &self.since)?,
            until: at("until", &self.until)?,
        };
        if let Some(d) = self.last_ms {
            if d <= 0 {
                return Err(format!("bad last {d} ms: give a duration above zero"));
            }
            if self.since.is_some() {
                return Err("give --since or --last, not both".into());
            }
            range.since = Some(range.until.unwrap_or(now).saturating_sub(d));
        }
        if let (Some(s), Some(u)) = (range.since, range.until)
            && s >= u
        {
            return Err("--since must be before --until".into());
        }
        Ok(range)
    }
}

/// The window a report is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compare {
    /// The window of equal length just before.
    Previous,
    /// The same window this many milliseconds earlier.
    Earlier(i64),
}

impl Compare {
    /// `previous` or a duration such as `7d`.
    pub fn parse(text: &str) -> Result<Compare, String> {
        if text == "previous" {
            return Ok(Compare::Previous);
        }
        parse_duration_ms(text)
            .map(Compare::Earlier)
            .ok_or_else(|| format!("bad --compare {text:?}: use previous or a duration such as 7d"))
    }

    /// Whether `range` can be compared at all: it needs a start.
    pub fn check_range(range: TimeRange) -> Result<i64, String> {
        range
            .since
            .ok_or_else(|| "--compare needs a time range: give --last, or --since (and --until)".into())
    }

    /// The window to compare `range` (closed at `now` when open) with.
    pub fn window(self, range: TimeRange, now: i64) -> Result<TimeRange, String> {
        let since = Compare::check_range(range)?;
        let until = range.until.unwrap_or(now);
        let shift = match self {
            Compare::Previous => until - since,
            Compare::Earlier(ms) => ms,
        };
        Ok(TimeRange {
            since: Some(since.saturating_sub(shift)),
            until: Some(until.saturating_sub(shift)),
        })
    }
}
