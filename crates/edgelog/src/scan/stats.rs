//! What a scan saw: rows, objects, malformed lines (counted per object, the
//! first few kept as `object:line: reason`), unknown fields, unreadable
//! objects and what listing selected, and the one-line summary made of it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many malformed-line samples are kept.
pub const MAX_SAMPLES: usize = 5;

/// What scanning one object saw.
#[derive(Debug, Default, Clone)]
pub struct ObjectReport {
    /// Rows returned (after time filtering).
    pub rows: u64,
    /// Lines that did not parse.
    pub malformed: u64,
    /// The first few of those, as `line: reason`.
    pub samples: Vec<(u64, String)>,
    /// Field names the dialect does not know.
    pub unknown_fields: BTreeSet<String>,
    /// Lines with invalid UTF-8, kept with U+FFFD in place of the bad bytes.
    pub invalid_utf8: u64,
    /// Blank lines, skipped.
    pub blank: u64,
    /// `#` comment lines the dialect does not read, skipped.
    pub comments: u64,
}

/// Totals over a whole scan (shared by every partition of a query).
#[derive(Debug, Default, Clone)]
pub struct ScanTotals {
    /// Objects read to the end.
    pub objects: u64,
    /// Rows returned.
    pub rows: u64,
    /// Of those, rows read from a lake rather than from raw objects.
    pub lake_rows: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// Malformed lines per object.
    pub malformed_by_object: BTreeMap<String, u64>,
    /// The first few malformed lines, as `object:line: reason`.
    pub samples: Vec<String>,
    /// Unknown field names, mentioned once.
    pub unknown_fields: BTreeSet<String>,
    /// Lines with invalid UTF-8.
    pub invalid_utf8: u64,
    /// Blank lines skipped.
    pub blank: u64,
    /// `#` comment lines skipped.
    pub comments: u64,
    /// Objects selected for reading, over all listings.
    pub selected: usize,
    /// Objects that matched the location, before time selection.
    pub candidates: usize,
    /// Objects skipped as not the dialect's, e.g. a README.
    pub skipped: Vec<String>,
    /// Date folders never listed.
    pub folders_pruned: usize,
    /// Objects that could not be read and were skipped
    /// (`--skip-unreadable`), as `object: why`.
    pub unreadable: Vec<String>,
}

impl ScanTotals {
    /// The one-line summary: `12168 rows from 8 objects; 18 malformed lines
    /// in 6 objects, first: obj:12: reason`.
    pub fn summary(&self) -> String {
        let t = self;
        let mut s = if t.lake_rows == 0 {
            format!("{} rows from {} objects", t.rows, t.objects)
        } else {
            format!(
                "{} rows: {} from the lake, {} from {} raw objects",
                t.rows,
                t.lake_rows,
                t.rows - t.lake_rows.min(t.rows),
                t.objects
            )
        };
        if t.malformed == 0 {
            s.push_str("; no malformed lines");
        } else {
            s.push_str(&format!(
                "; {} malformed lines in {} objects, first: {}",
                t.malformed,
                t.malformed_by_object.len(),
                t.samples.first().map(String::as_str).unwrap_or("?")
            ));
        }
        if t.invalid_utf8 > 0 {
            s.push_str(&format!(
                "; {} lines with invalid UTF-8 (bad bytes shown as U+FFFD)",
                t.invalid_utf8
            ));
        }
        if t.blank + t.comments > 0 {
            s.push_str(&format!(
                "; {} blank and {} # comment lines skipped",
                t.blank, t.comments
            ));
        }
        if let Some(first) = t.unreadable.first() {
            s.push_str(&format!(
                "; {} unreadable objects skipped, first: {first}",
                t.unreadable.len()
            ));
        }
        if !t.unknown_fields.is_empty() {
            let names: Vec<_> = t.unknown_fields.iter().map(String::as_str).collect();
            s.push_str(&format!("; unknown fields ignored: {}", names.join(", ")));
        }
        s
    }
}

/// Scan totals behind a lock; each object adds its report once, at its end.
/// Progress (bytes and objects to read and done, rows) is kept apart in
/// atomics, so that a progress bar can look without taking the lock.
#[derive(Debug, Default)]
pub struct ScanStats {
    totals: Mutex<ScanTotals>,
    bytes_total: AtomicU64,
    bytes_done: AtomicU64,
    objects_total: AtomicU64,
    objects_done: AtomicU64,
    rows: AtomicU64,
}

/// How far a scan is; every figure only grows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Stored (compressed) bytes of the objects selected so far.
    pub bytes_total: u64,
    /// Stored bytes of the objects read to the end.
    pub bytes_done: u64,
    /// Objects selected so far.
    pub objects_total: u64,
    /// Objects read to the end.
    pub objects_done: u64,
    /// Rows returned.
    pub rows: u64,
}

impl ScanStats {
    fn with<R>(&self, f: impl FnOnce(&mut ScanTotals) -> R) -> R {
        // A poisoned lock only means another scan thread panicked; the
        // counts are still the best we have.
        let mut guard = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Adds one object's report; `size` is its stored size.
    pub fn add_object(&self, name: &str, size: u64, report: ObjectReport) {
        bump(&self.bytes_done, size);
        bump(&self.objects_done, 1);
        bump(&self.rows, report.rows);
        self.with(|t| {
            t.objects += 1;
            t.rows += report.rows;
            t.invalid_utf8 += report.invalid_utf8;
            t.blank += report.blank;
            t.comments += report.comments;
            t.unknown_fields.extend(report.unknown_fields);
            if report.malformed > 0 {
                t.malformed += report.malformed;
                *t.malformed_by_object.entry(name.to_string()).or_default() += report.malformed;
                for (line, why) in report.samples {
                    if t.samples.len() < MAX_SAMPLES {
                        t.samples.push(format!("{name}:{line}: {why}"));
                    }
                }
            }
        })
    }

    /// Notes an object that could not be read and was skipped; `partial`
    /// holds what was read of it before the fault (a streamed object), and
    /// those rows count as read.
    pub fn add_unreadable(&self, name: &str, why: &str, size: u64, partial: ObjectReport) {
        let rows = partial.rows;
        let mut entry = format!("{name}: {why}");
        if rows > 0 {
            entry.push_str(&format!(" (its first {rows} rows were read)"));
        }
        bump(&self.bytes_done, size);
        bump(&self.objects_done, 1);
        bump(&self.rows, rows);
        self.with(|t| {
            t.rows += rows;
            t.malformed += partial.malformed;
            t.invalid_utf8 += partial.invalid_utf8;
            t.blank += partial.blank;
            t.comments += partial.comments;
            if partial.malformed > 0 {
                *t.malformed_by_object.entry(name.to_string()).or_default() += partial.malformed;
            }
            t.unreadable.push(entry);
        })
    }

    /// How far the scan is.
    pub fn progress(&self) -> Progress {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Progress {
            bytes_total: get(&self.bytes_total),
            bytes_done: get(&self.bytes_done),
            objects_total: get(&self.objects_total),
            objects_done: get(&self.objects_done),
            rows: get(&self.rows),
        }
    }

    /// Adds what one listing selected: `selected` objects of `bytes` stored
    /// bytes in all.
    pub fn add_listing(
        &self,
        selected: usize,
        bytes: u64,
        candidates: usize,
        skipped: &[String],
        folders_pruned: usize,
    ) {
        bump(&self.bytes_total, bytes);
        bump(&self.objects_total, selected as u64);
        self.with(|t| {
            t.selected += selected;
            t.candidates += candidates;
            t.skipped.extend(skipped.iter().cloned());
            t.folders_pruned += folders_pruned;
        })
    }

    /// A copy of the totals so far.
    pub fn snapshot(&self) -> ScanTotals {
        self.with(|t| t.clone())
    }
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}
