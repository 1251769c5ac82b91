//! Tiers and retention: a lake's recent days on local disk (the hot
//! table, at the lake's location), older days on S3-compatible storage (the
//! cold table, a Delta table of its own with the same columns), and days
//! past the policy deleted from both.
//!
//! The policy is a table property of the hot table ([`POLICY_PROPERTY`]),
//! set by `edgelog lake init`. `edgelog lake retain` applies it with
//! [`retain`]. Time is the data's time: a day moves when all of it is
//! older than `move_after` before "now".
//!
//! # Never lost, never twice
//!
//! Readers read the cold table at the newest version a hot commit
//! acknowledged ([`CommitNote::cold_version`]), never at a newer one. A
//! move is
//!
//! 1. copy the files' bytes to the cold location (a data file keeps its
//!    path relative to the table);
//! 2. commit them to the cold table (unseen: not acknowledged);
//! 3. one hot commit removes them from the hot table *and* acknowledges the
//!    cold version: readers switch from the one to the other at once;
//! 4. vacuum: delete the bytes no commit holds any more.
//!
//! A crash before 3 leaves readers where they were; the next `retain` (or
//! ingest, or compaction) settles: each file the cold table added since
//! the acknowledged version completes its move if the hot table still has
//! it, or is taken back out of the cold table if something rewrote it in
//! the hot table meanwhile (its rows live on there), and one hot commit
//! acknowledges the result. A re-upload's deletion in the cold tier is
//! acknowledged by the ingest commit that replaces the rows.
//!
//! Deleting days commits to the hot table first, with a note naming the
//! day through which everything is gone ([`CommitNote::expired_through_day`])
//! and the rows each source object lost; from then on readers skip those
//! days in both tables, so the cold table's files can go in a later commit
//! (or a later run, after a crash). The source objects stay held: an
//! ingest never reads them again, and rows of a deleted day that arrive
//! late are counted as expired, not written.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use deltalake::kernel::transaction::CommitBuilder;
use deltalake::kernel::{Action, Transaction};
use deltalake::operations::vacuum::VacuumMode;
use deltalake::protocol::{DeltaOperation, SaveMode};
use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::manifest::{CommitNote, Expired, Manifest, NOTE_KEY};
use super::schema::DAY;
use super::table::day_of;
use super::{COLUMNS_PROPERTY, DataFile, FORMAT_PROPERTY, Lake, LakeError, one_line};
use crate::config::{StorageOptions, parse_duration_ms};
use crate::source::{Location, parse_location};

/// The hot table's property holding the [`Policy`] (JSON).
pub const POLICY_PROPERTY: &str = "edgelog.policy";

/// The cold table's property holding the id of the hot table it belongs
/// to (two lakes sharing a cold location would read and vacuum each
/// other's files).
pub const HOT_PROPERTY: &str = "edgelog.hot";

const DAY_MS: i64 = 86_400_000;

/// Where old days go and when they go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// The cold location (`s3://BUCKET/PREFIX` or a folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold: Option<String>,
    /// Days older than this move to the cold location (`14d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub move_after: Option<String>,
    /// Days older than this are deleted from both tiers (`21d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_after: Option<String>,
}

impl Policy {
    /// `move_after` in ms.
    pub fn move_after_ms(&self) -> Option<i64> {
        self.move_after.as_deref().and_then(parse_duration_ms)
    }

    /// `delete_after` in ms.
    pub fn delete_after_ms(&self) -> Option<i64> {
        self.delete_after.as_deref().and_then(parse_duration_ms)
    }

    /// Whether it says anything.
    pub fn is_empty(&self) -> bool {
        self.move_after.is_none() && self.delete_after.is_none()
    }

    /// Checks the policy for the lake at `hot`, naming the flag at fault.
    pub fn check(&self, hot: &str) -> Result<(), LakeError> {
        let bad = |s: String| Err(LakeError::Request(s));
        for (flag, value) in [
            ("--move-after", &self.move_after),
            ("--delete-after", &self.delete_after),
        ] {
            if let Some(v) = value
                && parse_duration_ms(v).is_none_or(|ms| ms <= 0)
            {
                return bad(format!("bad {flag} {v:?}: give a duration such as 14d or 36h"));
            }
        }
        if self.move_after.is_some() && self.cold.is_none() {
            return bad("--move-after needs --cold LOCATION: where the old days go".into());
        }
        if let (Some(m), Some(d)) = (self.move_after_ms(), self.delete_after_ms())
            && m >= d
        {
            return bad(format!(
                "--move-after {} is not before --delete-after {}: days would be deleted before they move",
                self.move_after.as_deref().unwrap_or_default(),
                self.delete_after.as_deref().unwrap_or_default()
            ));
        }
        if let Some(cold) = &self.cold {
            match parse_location(cold)? {
                Location::Local { glob: None, .. } | Location::S3 { glob: None, .. } => {}
                _ => {
                    return bad(format!(
                        "bad --cold {cold:?}: a folder or s3://BUCKET/PREFIX, without a glob"
                    ));
                }
            }
            // Each table's vacuum deletes what is not its own under its
            // folder: neither may hold the other.
            let norm = |s: &str| format!("{}/", s.trim_end_matches('/'));
            let (c, h) = (norm(cold), norm(hot));
            if c == h {
                return bad(format!("bad --cold {cold:?}: it is the lake itself"));
            }
            if c.starts_with(&h) || h.starts_with(&c) {
                return bad(format!(
                    "bad --cold {cold:?}: one of the lake and its cold tier is inside the other"
                ));
            }
        }
        Ok(())
    }
}

impl Lake {
    /// The tier policy stored with the lake (empty when none was set).
    pub fn policy(&self) -> Result<Policy, LakeError> {
        let snapshot = self.table().snapshot()?;
        match snapshot
            .snapshot()
            .table_properties()
            .unknown_properties
            .get(POLICY_PROPERTY)
        {
            None => Ok(Policy::default()),
            Some(text) => serde_json::from_str(text)
                .map_err(|e| LakeError::Damaged(format!("bad {POLICY_PROPERTY} of {}: {e}", self.location))),
        }
    }

    /// Stores `policy` with the lake (a commit of its own).
    pub async fn set_policy(&mut self, policy: &Policy) -> Result<(), LakeError> {
        policy.check(&self.location)?;
        let text = serde_json::to_string(policy).map_err(|e| LakeError::Delta(e.to_string()))?;
        let table = self
            .table()
            .clone()
            .set_tbl_properties()
            .with_properties(HashMap::from([(POLICY_PROPERTY.to_string(), text)]))
            .with_raise_if_not_exists(false)
            .await?;
        self.set_table(table);
        Ok(())
    }

    /// The cold tier of this lake, opened (its table may not exist yet).
    pub async fn cold(&self, opts: &StorageOptions) -> Result<Option<Lake>, LakeError> {
        match self.policy()?.cold {
            Some(location) => Ok(Some(self.open_cold(&location, opts).await?)),
            None => Ok(None),
        }
    }

    /// Opens `location` as this lake's cold tier: refused when a table
    /// there belongs to another lake.
    pub async fn open_cold(&self, location: &str, opts: &StorageOptions) -> Result<Lake, LakeError> {
        let cold = Lake::open(location, opts).await?;
        if cold.exists() {
            let owner = cold
                .table()
                .snapshot()?
                .snapshot()
                .table_properties()
                .unknown_properties
                .get(HOT_PROPERTY)
                .cloned();
            let me = self.table().snapshot()?.metadata().id().to_string();
            if owner.as_deref() != Some(me.as_str()) {
                return Err(LakeError::Request(format!(
                    "the cold location {location} holds another lake's cold tier (or a table edgelog did not make): give this lake a cold location of its own"
                )));
            }
        }
        Ok(cold)
    }

    /// Makes this (cold) table like `hot`: same columns, partitions and format.
    async fn create_like(&mut self, hot: &Lake) -> Result<(), LakeError> {
        let snapshot = hot.table().snapshot()?;
        let hot_id = snapshot.metadata().id().to_string();
        let format = snapshot
            .snapshot()
            .table_properties()
            .unknown_properties
            .get(FORMAT_PROPERTY)
            .cloned()
            .unwrap_or_default();
        let columns = snapshot
            .snapshot()
            .table_properties()
            .unknown_properties
            .get(COLUMNS_PROPERTY)
            .cloned();
        let made = self
            .table()
            .clone()
            .create()
            .with_columns(snapshot.schema().fields().cloned())
            .with_partition_columns([DAY])
            .with_configuration(
                [
                    (FORMAT_PROPERTY, Some(format.as_str())),
                    (HOT_PROPERTY, Some(hot_id.as_str())),
                    ("delta.enableExpiredLogCleanup", Some("false")),
                ]
                .into_iter()
                .chain(columns.as_deref().map(|c| (COLUMNS_PROPERTY, Some(c)))),
            )
            .with_raise_if_key_not_exists(false)
            .with_save_mode(SaveMode::ErrorIfExists)
            .await;
        match made {
            Ok(table) => self.set_table(table),
            // Another retain made it first.
            Err(_) if { self.reload().await.is_ok() && self.exists() } => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }
}

/// How to apply the policy.
#[derive(Debug, Clone)]
pub struct Retain {
    /// "Now" (epoch ms): the data's time the policy counts back from.
    pub now_ms: i64,
    /// Only say what would happen.
    pub dry_run: bool,
    /// Files no commit ever added (left by a killed ingest or retain) are
    /// deleted once they are this old; younger ones may be a running
    /// ingest's, not committed yet.
    pub orphans_after_ms: i64,
}

/// Files of one day in one tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFiles {
    /// `hot` or `cold`.
    pub tier: &'static str,
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Files.
    pub files: usize,
    /// Bytes.
    pub bytes: u64,
    /// Rows, from the files' statistics.
    pub rows: u64,
}

/// What [`retain`] did, or would do.
#[derive(Debug, Default)]
pub struct RetainReport {
    /// Files an interrupted run left in a tier they had left: removed.
    pub finished: usize,
    /// Days deleted, per tier.
    pub deleted: Vec<DayFiles>,
    /// Days moved from hot to cold.
    pub moved: Vec<DayFiles>,
    /// Every day up to this one is deleted.
    pub expired_through_day: Option<String>,
    /// Files vacuumed, both tiers.
    pub vacuumed: usize,
}

/// The last day wholly older than `age_ms` before `now_ms`.
fn last_day_before(now_ms: i64, age_ms: i64) -> Option<String> {
    day_of(now_ms.saturating_sub(age_ms).saturating_sub(DAY_MS))
}

fn at_or_before(day: Option<&String>, through: Option<&String>) -> bool {
    matches!((day, through), (Some(d), Some(t)) if d <= t)
}

fn per_day(tier: &'static str, files: &[&DataFile]) -> Vec<DayFiles> {
    let mut days: BTreeMap<String, DayFiles> = BTreeMap::new();
    for f in files {
        let day = f.day.clone().unwrap_or_default();
        let d = days.entry(day.clone()).or_insert(DayFiles {
            tier,
            day,
            files: 0,
            bytes: 0,
            rows: 0,
        });
        d.files += 1;
        d.bytes += f.size;
        d.rows += f.rows.unwrap_or(0);
    }
    days.into_values().collect()
}

/// The cold tier as readers see it: its table at the newest version a hot
/// commit acknowledged (`None` while no hot commit has).
pub async fn acknowledged_cold(
    hot: &Lake,
    manifest: &Manifest,
    opts: &StorageOptions,
) -> Result<Option<Lake>, LakeError> {
    let (Some(mut cold), Some(version)) = (hot.cold(opts).await?, manifest.cold_version) else {
        return Ok(None);
    };
    cold.load_version(version).await?;
    Ok(Some(cold))
}

/// Finishes what an interrupted `retain` (or re-upload) left in the cold
/// tier past the acknowledged version, so that the cold table's newest
/// version is the one readers read. Returns how many files it put right.
pub async fn settle(hot: &mut Lake, opts: &StorageOptions) -> Result<usize, LakeError> {
    let Some(mut cold) = hot.cold(opts).await? else {
        return Ok(0);
    };
    if !cold.exists() {
        return Ok(0);
    }
    let acked = super::manifest::read(hot.table()).await?.cold_version;
    settle_with(hot, &mut cold, acked).await
}

/// [`settle`] with both tables open: every file the cold table added since
/// `acked` either completes its move (the hot table still has it: removed
/// there) or is taken back out of the cold table (the hot table rewrote it
/// meanwhile, so its rows live on there); then one hot commit acknowledges
/// the cold table's version.
async fn settle_with(hot: &mut Lake, cold: &mut Lake, acked: Option<u64>) -> Result<usize, LakeError> {
    if cold.version().is_none() || cold.version() == acked {
        return Ok(0);
    }
    let before: HashSet<String> = match acked {
        Some(v) => {
            let mut then = cold.clone();
            then.load_version(v).await?;
            then.files().await?.into_iter().map(|f| f.path).collect()
        }
        None => HashSet::new(),
    };
    let cold_files = cold.files().await?;
    let hot_files = hot.files().await?;
    let in_hot: HashMap<&str, &DataFile> = hot_files.iter().map(|f| (f.path.as_str(), f)).collect();
    let added: Vec<&DataFile> = cold_files.iter().filter(|f| !before.contains(&f.path)).collect();
    let (complete, undo): (Vec<&DataFile>, Vec<&DataFile>) =
        added.into_iter().partition(|f| in_hot.contains_key(f.path.as_str()));
    if !undo.is_empty() {
        let removes = undo.iter().map(|f| Action::Remove(f.remove.clone())).collect();
        commit(cold, removes, None).await?;
    }
    let removes: Vec<Action> = complete
        .iter()
        .filter_map(|f| in_hot.get(f.path.as_str()))
        .map(|f| Action::Remove(f.remove.clone()))
        .collect();
    acknowledge(hot, cold, removes).await?;
    Ok(complete.len() + undo.len())
}

/// One hot commit: `removes`, and the note that readers now read the cold
/// table at its current version.
async fn acknowledge(hot: &mut Lake, cold: &Lake, removes: Vec<Action>) -> Result<(), LakeError> {
    let note = CommitNote {
        cold_version: cold.version(),
        ..CommitNote::default()
    };
    commit(hot, removes, Some(&note)).await
}

/// Applies the lake's policy at `how.now_ms`: finishes what an interrupted
/// run left, deletes the days past `delete_after`, moves the days past
/// `move_after` to the cold tier, and vacuums both tiers. `say` hears of
/// each step.
pub async fn retain(
    hot: &mut Lake,
    opts: &StorageOptions,
    how: &Retain,
    say: &mut dyn FnMut(&str),
) -> Result<RetainReport, LakeError> {
    let mut tries = 0;
    loop {
        match retain_once(hot, opts, how, say).await {
            Err(e) if e.is_race() && tries < RACE_RETRIES => {
                // Another writer committed first: what this run did is
                // settled by the next one, which plans from the new state.
                tries += 1;
                say("another writer changed the lake meanwhile: planning again");
                // An ingest of small commits can pass a retain's plan again
                // and again: wait a little longer each time.
                tokio::time::sleep(std::time::Duration::from_millis(50 * tries as u64)).await;
                hot.reload().await?;
            }
            done => return done,
        }
    }
}

/// How many times a retain plans again after losing a race.
const RACE_RETRIES: usize = 20;

async fn retain_once(
    hot: &mut Lake,
    opts: &StorageOptions,
    how: &Retain,
    say: &mut dyn FnMut(&str),
) -> Result<RetainReport, LakeError> {
    let policy = hot.policy()?;
    if policy.is_empty() {
        return Err(LakeError::Request(format!(
            "the lake {} has no tier policy: set one with `edgelog lake init {} --cold LOCATION --move-after 14d --delete-after 21d`",
            hot.location, hot.location
        )));
    }
    policy.check(&hot.location)?;
    let mut cold = hot.cold(opts).await?;
    let manifest = super::manifest::read(hot.table()).await?;
    // The cold version readers read, as this run leaves it.
    let mut acked = manifest.cold_version;
    let mut finished = 0;
    if let Some(c) = cold.as_mut()
        && c.exists()
        && c.version() != manifest.cold_version
    {
        if how.dry_run {
            // The cold table past what readers see: shown as it would stand.
            if let Some(v) = manifest.cold_version {
                c.load_version(v).await?;
            }
            finished += 1;
        } else {
            say("finishing what an interrupted run left in the cold tier");
            finished += settle_with(hot, c, acked).await?;
            acked = c.version();
        }
    }
    let mark = manifest.expired_through_day.clone();
    let hot_files = hot.files().await?;
    let cold_files = match &cold {
        Some(c) if c.version().is_some() && (how.dry_run || manifest.cold_version.is_some()) => c.files().await?,
        _ => Vec::new(),
    };

    // Files of days already deleted (hidden) that a crash left in a tier.
    let (stale_hot, live_hot): (Vec<&DataFile>, Vec<&DataFile>) = hot_files
        .iter()
        .partition(|f| at_or_before(f.day.as_ref(), mark.as_ref()));
    let (stale_cold, live_cold): (Vec<&DataFile>, Vec<&DataFile>) = cold_files
        .iter()
        .partition(|f| at_or_before(f.day.as_ref(), mark.as_ref()));

    let delete_through = policy
        .delete_after_ms()
        .and_then(|ms| last_day_before(how.now_ms, ms))
        .filter(|d| mark.as_ref().is_none_or(|m| d > m));
    let (expiring_hot, keep_hot): (Vec<&DataFile>, Vec<&DataFile>) = live_hot
        .into_iter()
        .partition(|f| at_or_before(f.day.as_ref(), delete_through.as_ref()));
    let expiring_cold: Vec<&DataFile> = live_cold
        .into_iter()
        .filter(|f| at_or_before(f.day.as_ref(), delete_through.as_ref()))
        .collect();
    let move_through = policy.move_after_ms().and_then(|ms| last_day_before(how.now_ms, ms));
    let moving: Vec<&DataFile> = keep_hot
        .into_iter()
        .filter(|f| cold.is_some() && at_or_before(f.day.as_ref(), move_through.as_ref()))
        .collect();

    let expiring = !expiring_hot.is_empty() || !expiring_cold.is_empty();
    let mut report = RetainReport {
        finished: finished + stale_hot.len() + stale_cold.len(),
        deleted: [per_day("hot", &expiring_hot), per_day("cold", &expiring_cold)].concat(),
        moved: per_day("hot", &moving),
        expired_through_day: if expiring { delete_through.clone() } else { mark.clone() },
        vacuumed: 0,
    };
    if how.dry_run {
        return Ok(report);
    }

    // 1. Files of deleted days (hidden already) go.
    if !stale_hot.is_empty() {
        let removes = stale_hot.iter().map(|f| Action::Remove(f.remove.clone())).collect();
        commit(hot, removes, None).await?;
    }
    if let Some(c) = cold.as_mut()
        && !stale_cold.is_empty()
    {
        say(&format!("removing {} cold files of deleted days", stale_cold.len()));
        let removes = stale_cold.iter().map(|f| Action::Remove(f.remove.clone())).collect();
        commit(c, removes, None).await?;
    }

    // 2. Delete: the hot commit (with the note) first; from then on the
    // days are hidden in both tiers.
    if let (true, Some(through)) = (expiring, delete_through.clone()) {
        let mut gone: BTreeMap<String, u64> = rows_per_source(hot, &expiring_hot).await?;
        if let Some(c) = &cold {
            for (name, rows) in rows_per_source(c, &expiring_cold).await? {
                *gone.entry(name).or_default() += rows;
            }
        }
        let note = CommitNote {
            expired_through_day: Some(through.clone()),
            expired: gone.into_iter().map(|(name, rows)| Expired { name, rows }).collect(),
            ..CommitNote::default()
        };
        say(&format!("deleting every day through {through}"));
        let removes = expiring_hot.iter().map(|f| Action::Remove(f.remove.clone())).collect();
        commit(hot, removes, Some(&note)).await?;
        if let Some(c) = cold.as_mut()
            && !expiring_cold.is_empty()
        {
            let removes = expiring_cold.iter().map(|f| Action::Remove(f.remove.clone())).collect();
            commit(c, removes, None).await?;
        }
    }

    // 3. Move: copy, commit to cold (unseen until acknowledged), then one
    // hot commit removes the files and acknowledges the cold version.
    if let Some(c) = cold.as_mut()
        && !moving.is_empty()
    {
        if !c.exists() {
            c.create_like(hot).await?;
        }
        let from = hot.table().log_store().object_store(None);
        let to = c.table().log_store().object_store(None);
        let total = moving.len();
        for (i, f) in moving.iter().enumerate() {
            say(&format!("copying {}/{total} {}", i + 1, f.path));
            copy_file(&from, &to, &f.path).await.map_err(|e| {
                LakeError::Request(format!(
                    "cannot copy {} from {} to {}: {e}",
                    f.path, hot.location, c.location
                ))
            })?;
        }
        let adds = moving.iter().map(|f| Action::Add(f.add.clone())).collect();
        let op = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: Some(vec![DAY.to_string()]),
            predicate: None,
        };
        commit_op(c, adds, None, op).await?;
        say(&format!("removing {total} moved files from the hot tier"));
        let removes = moving.iter().map(|f| Action::Remove(f.remove.clone())).collect();
        if let Err(e) = acknowledge(hot, c, removes).await {
            // Something rewrote hot files meanwhile (a compaction, a
            // re-upload): complete or take back each copy as things stand.
            say(&format!("the hot tier changed during the move ({e}): settling"));
            hot.reload().await?;
            // Another process may have settled it already.
            let now_acked = super::manifest::read(hot.table()).await?.cold_version;
            settle_with(hot, c, now_acked).await?;
        }
        acked = c.version();
    }

    // 4. The cold table's deletions acknowledged, then both vacuumed.
    if let Some(c) = cold.as_mut()
        && c.exists()
        && c.version() != acked
    {
        acknowledge(hot, c, Vec::new()).await?;
    }
    report.vacuumed += vacuum(hot, how.orphans_after_ms).await?;
    if let Some(c) = cold.as_mut()
        && c.exists()
    {
        report.vacuumed += vacuum(c, how.orphans_after_ms).await?;
    }
    Ok(report)
}

async fn commit(lake: &mut Lake, actions: Vec<Action>, note: Option<&CommitNote>) -> Result<(), LakeError> {
    let days: std::collections::BTreeSet<String> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Remove(r) => r.partition_values.as_ref()?.get(DAY).cloned().flatten(),
            _ => None,
        })
        .collect();
    // delta-rs checks concurrent commits against the predicate: the days
    // whose files go; a commit that only notes reads nothing.
    let op = if days.is_empty() {
        DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: None,
            predicate: None,
        }
    } else {
        let list: Vec<String> = days.iter().map(|d| format!("'{d}'")).collect();
        DeltaOperation::Delete {
            predicate: Some(format!("{DAY} IN ({})", list.join(", "))),
        }
    };
    commit_op(lake, actions, note, op).await
}

async fn commit_op(
    lake: &mut Lake,
    actions: Vec<Action>,
    note: Option<&CommitNote>,
    op: DeltaOperation,
) -> Result<(), LakeError> {
    let mut meta = HashMap::new();
    if let Some(note) = note {
        meta.insert(
            NOTE_KEY.to_string(),
            serde_json::to_value(note).map_err(|e| LakeError::Delta(e.to_string()))?,
        );
    }
    // The application transaction every edgelog writer's commit carries:
    // delta-rs refuses a commit made from a snapshot that another one has
    // passed (two retains, or a retain and an ingest that planned against
    // the old expired mark), and the loser plans again.
    let next = lake.version().map_or(0, |v| v + 1);
    let mut actions = actions;
    actions.push(Action::Txn(Transaction::new(
        super::APP_ID,
        i64::try_from(next).unwrap_or(i64::MAX),
    )));
    let snapshot = lake.table().snapshot()?;
    CommitBuilder::default()
        .with_actions(actions)
        .with_app_metadata(meta)
        .build(Some(snapshot), lake.table().log_store(), op)
        .await?;
    lake.reload().await
}

/// Copies one data file between the tiers' stores, streaming.
async fn copy_file(from: &Arc<dyn ObjectStore>, to: &Arc<dyn ObjectStore>, path: &str) -> Result<(), String> {
    let path = object_store::path::Path::parse(path).map_err(|e| e.to_string())?;
    let got = from.get(&path).await.map_err(|e| one_line(&e.to_string()))?;
    let mut chunks = got.into_stream();
    let mut out = object_store::buffered::BufWriter::new(to.clone(), path);
    while let Some(chunk) = chunks.try_next().await.map_err(|e| one_line(&e.to_string()))? {
        out.write_all(chunk.as_ref())
            .await
            .map_err(|e| one_line(&e.to_string()))?;
    }
    out.shutdown().await.map_err(|e| one_line(&e.to_string()))
}

/// Rows per source object (`_file`) in `files` of `lake`.
async fn rows_per_source(lake: &Lake, files: &[&DataFile]) -> Result<BTreeMap<String, u64>, LakeError> {
    let mut out = BTreeMap::new();
    if files.is_empty() {
        return Ok(out);
    }
    let fail = |e: datafusion::error::DataFusionError| {
        LakeError::Delta(format!(
            "cannot count the rows of {}: {}",
            lake.location,
            one_line(&e.to_string())
        ))
    };
    let ctx = datafusion::prelude::SessionContext::new();
    lake.table().update_datafusion_session(&ctx.state())?;
    let provider = std::future::IntoFuture::into_future(
        lake.table()
            .table_provider()
            .with_file_paths(files.iter().map(|f| f.path.clone())),
    )
    .await
    .map_err(fail)?;
    ctx.register_table("t", provider).map_err(fail)?;
    let batches: Vec<RecordBatch> = ctx
        .sql("SELECT CAST(_file AS VARCHAR), count(*) FROM t GROUP BY 1")
        .await
        .map_err(fail)?
        .collect()
        .await
        .map_err(fail)?;
    for b in &batches {
        let names = arrow::compute::cast(b.column(0), &DataType::Utf8).map_err(|e| fail(e.into()))?;
        let counts = arrow::compute::cast(b.column(1), &DataType::Int64).map_err(|e| fail(e.into()))?;
        let (names, counts) = (names.as_string::<i32>(), counts.as_primitive::<Int64Type>());
        for i in 0..b.num_rows() {
            *out.entry(names.value(i).to_string()).or_default() += u64::try_from(counts.value(i)).unwrap_or(0);
        }
    }
    Ok(out)
}

/// Deletes the files no commit holds: removed ones at once, never-added
/// ones once older than `orphans_after_ms`. Returns how many.
async fn vacuum(lake: &mut Lake, orphans_after_ms: i64) -> Result<usize, LakeError> {
    let mut n = 0;
    for (mode, keep_ms) in [(VacuumMode::Lite, 0), (VacuumMode::Full, orphans_after_ms)] {
        let (table, metrics) = lake
            .table()
            .clone()
            .vacuum()
            .with_mode(mode)
            .with_retention_period(chrono::Duration::milliseconds(keep_ms))
            .with_enforce_retention_duration(false)
            .await?;
        lake.set_table(table);
        n += metrics.files_deleted.len();
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_moves_once_all_of_it_is_old_enough() {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
        let day = 86_400_000;
        // 14 days before 2026-11-15T12:00Z is 2026-11-01T12:00Z: 10-31 is wholly older.
        assert_eq!(
            last_day_before(at("2026-11-15T12:00:00Z"), 14 * day).as_deref(),
            Some("2026-10-31")
        );
        // At midnight, the day that just ended is wholly older.
        assert_eq!(
            last_day_before(at("2026-11-15T00:00:00Z"), 14 * day).as_deref(),
            Some("2026-10-31")
        );
        assert_eq!(
            last_day_before(at("2026-11-14T23:59:59Z"), 14 * day).as_deref(),
            Some("2026-10-30")
        );
    }

    #[test]
    fn a_policy_names_what_is_wrong() {
        let p = |cold: Option<&str>, m: Option<&str>, d: Option<&str>| Policy {
            cold: cold.map(Into::into),
            move_after: m.map(Into::into),
            delete_after: d.map(Into::into),
        };
        assert!(p(Some("s3://b/cold/"), Some("14d"), Some("21d")).check("/lake").is_ok());
        assert!(p(None, None, Some("21d")).check("/lake").is_ok());
        let err = |p: Policy| p.check("/lake").unwrap_err().to_string();
        assert!(err(p(None, Some("14d"), None)).contains("--cold"));
        assert!(err(p(Some("s3://b/c/"), Some("21d"), Some("14d"))).contains("not before"));
        assert!(err(p(Some("s3://b/c/"), Some("two weeks"), None)).contains("--move-after"));
        assert!(err(p(Some("/lake/"), Some("1d"), None)).contains("the lake itself"));
        assert!(err(p(Some("/lake/cold"), Some("1d"), None)).contains("inside"));
        assert!(err(p(Some("s3://b/*.gz"), Some("1d"), None)).contains("glob"));
    }
}
