//! Which source objects the lake holds, as its own commits say.
//!
//! Every commit that adds or removes rows carries, in its `commitInfo`,
//! a [`CommitNote`] naming the source objects whose rows it adds (key,
//! size, etag, rows, malformed lines) and those whose rows it removes. The
//! note is part of the commit, so it becomes visible exactly when the rows
//! do: a crash before the commit leaves neither, after it both. The
//! manifest is the fold of every note, oldest first.

use std::collections::BTreeMap;

use deltalake::DeltaTable;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::LakeError;

/// The key of edgelog's note in a commit's `commitInfo`.
pub const NOTE_KEY: &str = "edgelog";

/// One source object as a commit recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceEntry {
    /// As shown to users and in `_file`: `s3://bucket/key` or a path.
    pub name: String,
    /// Stored bytes.
    pub size: u64,
    /// The store's entity tag when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Rows ingested from it.
    pub rows: u64,
    /// Lines of it that did not parse.
    pub malformed: u64,
    /// Its newest row's time (epoch ms), when it has rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_ms: Option<i64>,
    /// Rows of it that were past the lake's retention when read: not
    /// written (`rows` does not count them).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub expired: u64,
}

// serde's `skip_serializing_if` hands a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Rows of one source object that retention deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expired {
    /// As in [`SourceEntry::name`].
    pub name: String,
    /// Rows deleted.
    pub rows: u64,
}

impl SourceEntry {
    /// Whether this is the same stored object as one listed with `size`
    /// and `etag` (a re-upload changes one or the other).
    pub fn same_object(&self, size: u64, etag: Option<&str>) -> bool {
        self.size == size && self.etag.as_deref() == etag
    }
}

/// What one commit did to the set of source objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitNote {
    /// Objects whose rows this commit adds.
    #[serde(default)]
    pub added: Vec<SourceEntry>,
    /// Objects whose earlier rows this commit removes (a re-upload, retention).
    #[serde(default)]
    pub removed: Vec<String>,
    /// Set by the last commit of an ingest over the whole location that
    /// read every object it listed: every object with rows up to this time
    /// (epoch ms) is held. The next ingest lists from here, less the margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_through_ms: Option<i64>,
    /// The locations (as given, sorted) that ingest read: the watermark
    /// holds for these only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub complete_locations: Vec<String>,
    /// Set by retention: every day up to this one (`YYYY-MM-DD`, UTC) is
    /// deleted from both tiers. From this commit on, no reader shows rows
    /// of those days, even before the cold tier's files are removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_through_day: Option<String>,
    /// The rows retention deleted, per source object (the objects stay
    /// held, so an ingest never reads them again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired: Vec<Expired>,
    /// The version of the cold tier's table that agrees with this commit:
    /// readers read the cold table at the newest version a hot commit
    /// acknowledged, so a cold commit shows nothing until the hot commit
    /// that removes the same files acknowledges it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_version: Option<u64>,
}

/// A source object the lake holds, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// As recorded.
    pub entry: SourceEntry,
    /// The table version that added it.
    pub version: u64,
    /// When that commit was made (epoch ms), if it says.
    pub committed_ms: Option<i64>,
}

/// Every source object the lake holds, by name.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    /// The table version the manifest is of.
    pub version: Option<u64>,
    /// By name.
    pub sources: BTreeMap<String, Held>,
    /// The newest commit time seen with a note (the last ingest).
    pub last_ingest_ms: Option<i64>,
    /// The watermark of each set of locations a complete ingest read.
    pub watermarks: BTreeMap<Vec<String>, i64>,
    /// Every day up to this one is deleted by retention.
    pub expired_through_day: Option<String>,
    /// The cold table's version readers read (the newest acknowledged).
    pub cold_version: Option<u64>,
}

impl Manifest {
    /// Applies one commit's note.
    pub fn apply(&mut self, version: u64, note: CommitNote, committed_ms: Option<i64>) {
        if let Some(mark) = note.complete_through_ms {
            let at = self.watermarks.entry(note.complete_locations.clone()).or_insert(mark);
            *at = (*at).max(mark);
        }
        if note.cold_version.is_some() {
            self.cold_version = self.cold_version.max(note.cold_version);
        }
        if let Some(day) = note.expired_through_day {
            self.expired_through_day = self.expired_through_day.take().max(Some(day));
        }
        for gone in note.expired {
            if let Some(held) = self.sources.get_mut(&gone.name) {
                held.entry.rows = held.entry.rows.saturating_sub(gone.rows);
            }
        }
        for name in note.removed {
            self.sources.remove(&name);
        }
        for entry in note.added {
            self.sources.insert(
                entry.name.clone(),
                Held {
                    entry,
                    version,
                    committed_ms,
                },
            );
        }
        if committed_ms.is_some() {
            self.last_ingest_ms = self.last_ingest_ms.max(committed_ms);
        }
        self.version = Some(version);
    }

    /// Whether the lake holds exactly this stored object.
    pub fn holds(&self, name: &str, size: u64, etag: Option<&str>) -> bool {
        self.sources.get(name).is_some_and(|h| h.entry.same_object(size, etag))
    }

    /// Rows of every held object.
    pub fn rows(&self) -> u64 {
        self.sources.values().map(|h| h.entry.rows).sum()
    }

    /// The newest row time of every held object.
    pub fn newest_ms(&self) -> Option<i64> {
        self.sources.values().filter_map(|h| h.entry.newest_ms).max()
    }

    /// Malformed lines of every held object.
    pub fn malformed(&self) -> u64 {
        self.sources.values().map(|h| h.entry.malformed).sum()
    }
}

/// The note and time of one commit file's `commitInfo`, if it has a note.
pub fn note_of(commit: &[u8]) -> Result<(Option<CommitNote>, Option<i64>), String> {
    for line in commit.split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let action: serde_json::Value = serde_json::from_slice(line).map_err(|e| e.to_string())?;
        let Some(info) = action.get("commitInfo") else {
            continue;
        };
        let ms = info.get("timestamp").and_then(serde_json::Value::as_i64);
        let note = match info.get(NOTE_KEY) {
            Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| format!("bad {NOTE_KEY} note: {e}"))?),
            None => None,
        };
        return Ok((note, ms));
    }
    Ok((None, None))
}

/// How many commit files are read at once.
const READ_CONCURRENCY: usize = 16;

/// Reads the manifest of `table` at its loaded version: every commit's
/// note, oldest first.
pub async fn read(table: &DeltaTable) -> Result<Manifest, LakeError> {
    let mut manifest = Manifest::default();
    let Some(latest) = table.version() else {
        return Ok(manifest);
    };
    let store = table.log_store();
    let mut commits = futures::stream::iter(0..=latest)
        .map(|v| {
            let store = store.clone();
            async move { store.read_commit_entry(v).await.map(|bytes| (v, bytes)) }
        })
        .buffered(READ_CONCURRENCY)
        .map_err(LakeError::from);
    while let Some((version, bytes)) = commits.try_next().await? {
        let Some(bytes) = bytes else {
            return Err(LakeError::Damaged(format!(
                "commit {version} of the lake is missing (its log was cleaned up?)"
            )));
        };
        let (note, ms) = note_of(&bytes).map_err(|e| LakeError::Damaged(format!("commit {version}: {e}")))?;
        match note {
            Some(note) => manifest.apply(version, note, ms),
            None => manifest.version = Some(version),
        }
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, etag: &str, rows: u64) -> SourceEntry {
        SourceEntry {
            name: name.into(),
            size: 10,
            etag: Some(etag.into()),
            rows,
            malformed: 0,
            newest_ms: None,
            expired: 0,
        }
    }

    #[test]
    fn a_note_round_trips_through_a_commit_line() {
        let note = CommitNote {
            added: vec![entry("s3://b/k1", "e1", 5)],
            removed: vec!["s3://b/k0".into()],
            complete_through_ms: Some(99),
            complete_locations: vec!["s3://b/".into()],
            expired_through_day: Some("2026-11-01".into()),
            expired: vec![Expired {
                name: "s3://b/k2".into(),
                rows: 3,
            }],
            cold_version: Some(4),
        };
        let line = serde_json::json!({"commitInfo": {"timestamp": 1234, "operation": "WRITE", NOTE_KEY: note}});
        let commit = format!("{{\"add\":{{}}}}\n{line}\n");
        let (back, ms) = note_of(commit.as_bytes()).unwrap();
        assert_eq!(back, Some(note));
        assert_eq!(ms, Some(1234));
        assert_eq!(
            note_of(b"{\"commitInfo\":{\"timestamp\":1}}\n").unwrap(),
            (None, Some(1))
        );
        assert!(note_of(b"{not json").is_err());
    }

    #[test]
    fn a_re_upload_replaces_and_a_removal_forgets() {
        let mut m = Manifest::default();
        m.apply(
            1,
            CommitNote {
                added: vec![entry("a", "e1", 5), entry("b", "e1", 7)],
                removed: vec![],
                ..CommitNote::default()
            },
            Some(10),
        );
        assert!(m.holds("a", 10, Some("e1")));
        assert!(!m.holds("a", 10, Some("e2")));
        assert_eq!(m.rows(), 12);
        m.apply(
            2,
            CommitNote {
                added: vec![entry("a", "e2", 6)],
                removed: vec!["a".into()],
                ..CommitNote::default()
            },
            Some(20),
        );
        assert!(m.holds("a", 10, Some("e2")));
        assert_eq!(m.rows(), 13);
        m.apply(
            3,
            CommitNote {
                added: vec![],
                removed: vec!["b".into()],
                ..CommitNote::default()
            },
            None,
        );
        assert_eq!(m.rows(), 6);
        assert_eq!((m.version, m.last_ingest_ms), (Some(3), Some(20)));
        // Retention deletes rows but the object stays held: never read again.
        m.apply(
            4,
            CommitNote {
                expired_through_day: Some("2026-11-02".into()),
                expired: vec![Expired {
                    name: "a".into(),
                    rows: 4,
                }],
                ..CommitNote::default()
            },
            Some(30),
        );
        assert!(m.holds("a", 10, Some("e2")));
        assert_eq!(m.rows(), 2);
        assert_eq!(m.expired_through_day.as_deref(), Some("2026-11-02"));
        // The cold version readers read is the newest acknowledged.
        for v in [Some(5), None, Some(3)] {
            m.apply(
                5,
                CommitNote {
                    cold_version: v,
                    ..CommitNote::default()
                },
                None,
            );
        }
        assert_eq!(m.cold_version, Some(5));
    }
}
