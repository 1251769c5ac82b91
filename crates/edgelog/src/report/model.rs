//! What a report holds once run: panels of small tables of plain cells,
//! independent of Arrow, ready for any renderer.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit, TimestampMillisecondType};
use arrow::record_batch::RecordBatch;
use datafusion::error::Result;

use crate::config::TimeRange;

/// How a table is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One row of named figures.
    Figures,
    /// Rows over time: the first column is the bucket start.
    Series,
    /// A ranked list.
    Top,
}

impl Kind {
    /// From the `(KIND)` of a panel file; anything unknown is a list.
    pub fn from_name(name: &str) -> Self {
        match name {
            "figures" => Kind::Figures,
            "series" => Kind::Series,
            _ => Kind::Top,
        }
    }

    /// Its name in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Figures => "figures",
            Kind::Series => "series",
            Kind::Top => "top",
        }
    }
}

/// One value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Null,
    /// An integer (counts, bytes, status codes).
    Int(i64),
    /// A real number (ratios, rates, percentiles).
    Float(f64),
    /// Text from the logs.
    Text(String),
    /// A time, epoch milliseconds.
    Time(i64),
}

impl Cell {
    /// The value as a number, when it is one.
    pub fn number(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// The answer of one query.
#[derive(Debug, Clone, PartialEq)]
pub struct TableResult {
    /// Its name in the panel.
    pub name: String,
    /// Its heading.
    pub title: String,
    /// How it is shown.
    pub kind: Kind,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<Cell>>,
    /// The same query over the comparison window.
    pub previous: Option<Vec<Vec<Cell>>>,
}

/// The tables of one panel.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelResult {
    /// `overview`, `paths`, ...
    pub name: String,
    /// Its heading.
    pub title: String,
    /// Its tables, in file order.
    pub tables: Vec<TableResult>,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The window reported on.
    pub range: TimeRange,
    /// Zone times are shown in, seconds east of UTC.
    pub offset_secs: i32,
    /// Locations read.
    pub sources: Vec<String>,
    /// Rows read.
    pub rows: u64,
    /// Objects read.
    pub objects: u64,
    /// Malformed lines seen; `None` where they were not counted here (a
    /// cluster's executors log theirs).
    pub malformed: Option<u64>,
    /// Objects skipped as unreadable (`--skip-unreadable`), as `object: why`.
    pub unreadable: Vec<String>,
    /// Panels in order.
    pub panels: Vec<PanelResult>,
    /// The comparison window, when there is one.
    pub previous_range: Option<TimeRange>,
}

fn cells(array: &ArrayRef) -> Result<Vec<Cell>> {
    use DataType as T;
    let n = array.len();
    let out = match array.data_type() {
        // A count beyond i64 (sums of bytes can be) is kept as a float, not
        // turned into NULL by the cast.
        T::UInt64 => {
            let a = array.as_primitive::<arrow::datatypes::UInt64Type>();
            (0..n)
                .map(|i| match a.is_null(i) {
                    true => Cell::Null,
                    false => i64::try_from(a.value(i)).map_or(Cell::Float(a.value(i) as f64), Cell::Int),
                })
                .collect()
        }
        T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::UInt8 | T::UInt16 | T::UInt32 => {
            let a = arrow::compute::cast(array, &T::Int64)?;
            let a = a.as_primitive::<Int64Type>();
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        Cell::Null
                    } else {
                        Cell::Int(a.value(i))
                    }
                })
                .collect()
        }
        T::Float16 | T::Float32 | T::Float64 | T::Decimal128(..) => {
            let a = arrow::compute::cast(array, &T::Float64)?;
            let a = a.as_primitive::<Float64Type>();
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        Cell::Null
                    } else {
                        Cell::Float(a.value(i))
                    }
                })
                .collect()
        }
        T::Timestamp(_, tz) => {
            let a = arrow::compute::cast(array, &T::Timestamp(TimeUnit::Millisecond, tz.clone()))?;
            let a = a.as_primitive::<TimestampMillisecondType>();
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        Cell::Null
                    } else {
                        Cell::Time(a.value(i))
                    }
                })
                .collect()
        }
        _ => {
            let a = arrow::compute::cast(array, &T::Utf8)?;
            let a = a.as_string::<i32>();
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        Cell::Null
                    } else {
                        Cell::Text(a.value(i).to_string())
                    }
                })
                .collect()
        }
    };
    Ok(out)
}

impl TableResult {
    /// The cells of `batches`.
    pub fn from_batches(name: &str, title: &str, kind: Kind, batches: &[RecordBatch]) -> Result<Self> {
        let columns = batches
            .first()
            .map(|b| b.schema().fields().iter().map(|f| f.name().clone()).collect())
            .unwrap_or_default();
        let mut rows = Vec::new();
        for b in batches {
            let cols: Vec<Vec<Cell>> = b.columns().iter().map(cells).collect::<Result<_>>()?;
            for r in 0..b.num_rows() {
                rows.push(cols.iter().map(|c| c[r].clone()).collect());
            }
        }
        Ok(TableResult {
            name: name.to_string(),
            title: title.to_string(),
            kind,
            columns,
            rows,
            previous: None,
        })
    }
}

impl TableResult {
    /// The column bars are drawn for: the first count-like one (requests,
    /// bytes, misses, errors) that holds numbers.
    pub fn bar_column(&self) -> Option<usize> {
        (1..self.columns.len()).find(|&i| {
            let name = self.columns[i].as_str();
            (name == "requests" || name == "bytes" || name.starts_with("misses") || name.starts_with("errors"))
                && self.rows.iter().any(|r| r.get(i).and_then(Cell::number).is_some())
        })
    }

    /// The largest number in column `col` (0 when there is none).
    pub fn column_max(&self, col: usize) -> f64 {
        self.rows
            .iter()
            .filter_map(|r| r.get(col).and_then(Cell::number))
            .fold(0.0, f64::max)
    }
}

/// Bucket widths a series may use, in minutes.
const BUCKETS_MIN: &[i64] = &[1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 10080];
/// Most buckets a series is drawn with.
pub const MAX_BUCKETS: i64 = 48;

/// The smallest bucket that shows `span_ms` in at most [`MAX_BUCKETS`]:
/// one of the round widths above, or for longer spans a whole number of
/// weeks.
pub fn bucket_ms(span_ms: i64) -> i64 {
    let span = span_ms.max(0);
    const WEEK: i64 = 10080 * 60_000;
    BUCKETS_MIN
        .iter()
        .map(|m| m * 60_000)
        // One bucket more than span / width may start before the range.
        .find(|b| span / b < MAX_BUCKETS)
        .unwrap_or_else(|| (span / (MAX_BUCKETS - 1) / WEEK + 1).saturating_mul(WEEK))
}

/// Sums per-minute rows into buckets of `bucket` ms aligned in the zone.
/// Rows may come in any order; rows without a time are left out (a series
/// is drawn over time). At most `span / bucket + 2` rows come out, whatever
/// the times, so a wild time cannot make the report huge.
fn rebucket(rows: &[Vec<Cell>], bucket: i64, offset_ms: i64) -> Vec<Vec<Cell>> {
    let bucket = bucket.max(1);
    let mut timed: Vec<(i64, &Vec<Cell>)> = rows
        .iter()
        .filter_map(|r| match r.first() {
            Some(Cell::Time(t)) => Some((*t, r)),
            _ => None,
        })
        .collect();
    timed.sort_by_key(|(t, _)| *t);
    let start_of = |t: i64| {
        // i128: no time and zone can overflow the alignment.
        let (t, b, o) = (i128::from(t), i128::from(bucket), i128::from(offset_ms));
        i64::try_from((t + o).div_euclid(b) * b - o).unwrap_or(if t < 0 { i64::MIN } else { i64::MAX })
    };
    let width = rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let zeros = |at: i64| {
        let mut fresh = vec![Cell::Time(at)];
        fresh.extend((1..width).map(|_| Cell::Int(0)));
        fresh
    };
    let mut out: Vec<Vec<Cell>> = Vec::new();
    for (t, row) in timed {
        let start = start_of(t);
        match out.last().and_then(|r| r.first()) {
            Some(&Cell::Time(last)) if last == start => {}
            Some(&Cell::Time(last)) => {
                // Empty buckets between rows are shown as zeros, not left out.
                let mut at = last.saturating_add(bucket);
                while at < start {
                    out.push(zeros(at));
                    at = at.saturating_add(bucket);
                }
                out.push(zeros(start));
            }
            _ => out.push(zeros(start)),
        }
        if let Some(last) = out.last_mut() {
            for (acc, v) in last.iter_mut().skip(1).zip(row.iter().skip(1)) {
                *acc = match (&*acc, v) {
                    (Cell::Int(a), Cell::Int(b)) => Cell::Int(a.saturating_add(*b)),
                    (a, b) => Cell::Float(a.number().unwrap_or(0.0) + b.number().unwrap_or(0.0)),
                };
            }
        }
    }
    out
}

impl Report {
    /// Sums the per-minute series into buckets that suit the range (or, when
    /// the range is open, the span of the data).
    pub fn finish_series(&mut self) {
        let offset_ms = i64::from(self.offset_secs) * 1000;
        for t in self.panels.iter_mut().flat_map(|p| p.tables.iter_mut()) {
            if t.kind != Kind::Series {
                continue;
            }
            let times = || {
                t.rows.iter().filter_map(|r| match r.first() {
                    Some(Cell::Time(x)) => Some(*x),
                    _ => None,
                })
            };
            // The span covers the range and every row's time, so the buckets
            // it gives hold every row in at most MAX_BUCKETS (+1) rows.
            let first = [self.range.since, times().min()].into_iter().flatten().min();
            let last = [self.range.until, times().max().map(|x| x.saturating_add(60_000))]
                .into_iter()
                .flatten()
                .max();
            // In i128: the span of two wild times can exceed i64.
            let span = match (first, last) {
                (Some(a), Some(b)) => i128::from(b) - i128::from(a),
                _ => 0,
            };
            let bucket = i64::try_from(span).map_or(i64::MAX, bucket_ms);
            t.rows = rebucket(&t.rows, bucket, offset_ms);
        }
    }

    /// Adds the malformed-line count to the overview figures: after the
    /// figures it always followed, before `first_time` and `last_time` (added
    /// later), so that every figure keeps its place in a JSON row.
    pub fn add_malformed_figure(&mut self) {
        let Some(malformed) = self.malformed else {
            return;
        };
        for t in self
            .panels
            .iter_mut()
            .filter(|p| p.name == "overview")
            .flat_map(|p| p.tables.iter_mut())
        {
            if t.name == "figures" {
                let at = t
                    .columns
                    .iter()
                    .position(|c| c == "first_time")
                    .unwrap_or(t.columns.len());
                t.columns.insert(at, "malformed_lines".into());
                for r in &mut t.rows {
                    let at = at.min(r.len());
                    r.insert(at, Cell::Int(i64::try_from(malformed).unwrap_or(i64::MAX)));
                }
            }
        }
    }

    /// The time of the first and of the last row read (the overview's
    /// `first_time` and `last_time`), when the report has them.
    pub fn data_span(&self) -> Option<(i64, i64)> {
        let t = self
            .panels
            .iter()
            .filter(|p| p.name == "overview")
            .flat_map(|p| p.tables.iter())
            .find(|t| t.name == "figures")?;
        let at = |name: &str| {
            let i = t.columns.iter().position(|c| c == name)?;
            match t.rows.first()?.get(i)? {
                Cell::Time(ms) => Some(*ms),
                _ => None,
            }
        };
        Some((at("first_time")?, at("last_time")?))
    }

    /// Puts each table of `previous` beside the same table of this report.
    pub fn attach_previous(&mut self, previous: Report) {
        self.previous_range = Some(previous.range);
        for (p, q) in self.panels.iter_mut().zip(previous.panels) {
            for (t, u) in p.tables.iter_mut().zip(q.tables) {
                t.previous = Some(u.rows);
            }
        }
    }

    /// The figures of a one-row table: `(name, value, previous value)`, the
    /// previous value present only when the report has a comparison window.
    pub fn figures(table: &TableResult) -> Vec<(String, Cell, Option<Cell>)> {
        let row = table.rows.first();
        let prev = table.previous.as_ref().and_then(|p| p.first());
        table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let v = row.and_then(|r| r.get(i)).cloned().unwrap_or(Cell::Null);
                let pv = table
                    .previous
                    .as_ref()
                    .map(|_| prev.and_then(|r| r.get(i)).cloned().unwrap_or(Cell::Null));
                (c.clone(), v, pv)
            })
            .collect()
    }
}

/// The relative change from `before` to `now`, when both are numbers and
/// `before` is not zero.
pub fn change(now: &Cell, before: &Cell) -> Option<f64> {
    let (a, b) = (now.number()?, before.number()?);
    (b != 0.0).then(|| (a - b) / b)
}

/// The previous value of a ranked row: the row of `previous` with the same
/// first cell, its column `col`.
pub fn previous_of(previous: &[Vec<Cell>], key: &Cell, col: usize) -> Cell {
    previous
        .iter()
        .find(|r| r.first() == Some(key))
        .and_then(|r| r.get(col).cloned())
        .unwrap_or(Cell::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_fit_the_span() {
        assert_eq!(bucket_ms(30 * 60_000), 60_000);
        assert_eq!(bucket_ms(24 * 3_600_000), 60 * 60_000);
        assert_eq!(bucket_ms(20 * 3_600_000), 30 * 60_000);
        assert_eq!(bucket_ms(72 * 3_600_000), 2 * 3_600_000);
        assert_eq!(bucket_ms(7 * 86_400_000), 360 * 60_000);
    }

    #[test]
    fn rebucket_sums_minutes_in_the_zone() {
        let m = |t: i64, n: i64| vec![Cell::Time(t * 60_000), Cell::Int(n)];
        let rows = vec![m(0, 1), m(1, 2), m(5, 3), m(61, 4)];
        let out = rebucket(&rows, 60 * 60_000, 0);
        assert_eq!(
            out,
            vec![
                vec![Cell::Time(0), Cell::Int(6)],
                vec![Cell::Time(3_600_000), Cell::Int(4)]
            ]
        );
        // A gap of empty hours is filled with zeros.
        let gap = rebucket(&[m(0, 1), m(180, 2)], 60 * 60_000, 0);
        let counts: Vec<Cell> = gap.iter().map(|r| r[1].clone()).collect();
        assert_eq!(counts, vec![Cell::Int(1), Cell::Int(0), Cell::Int(0), Cell::Int(2)]);
        // In +09:30 an hour starts at :30 UTC.
        let out = rebucket(&rows, 60 * 60_000, 9 * 3_600_000 + 30 * 60_000);
        assert_eq!(out[0][0], Cell::Time(-30 * 60_000));
        assert_eq!(out[1], vec![Cell::Time(30 * 60_000), Cell::Int(4)]);
    }
}
