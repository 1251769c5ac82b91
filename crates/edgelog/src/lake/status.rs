//! What a lake holds, from its logs alone (no data file is read): the
//! figures of `edgelog lake status` and of the server's `/api/lake`.

use serde::Serialize;

use super::manifest::read;
use super::{DataFile, Lake, LakeError};
use crate::config::StorageOptions;

/// A lake's figures, as a reader sees them (the cold tier as the hot log
/// acknowledged it, no file of a deleted day).
#[derive(Debug, Clone, Serialize)]
pub struct LakeStatus {
    /// The lake, as given.
    pub lake: String,
    /// The format it holds (its dialect's kind).
    pub format: serde_json::Value,
    /// The hot table's version.
    pub version: u64,
    /// Source objects held.
    pub source_objects: usize,
    /// Rows the commits noted.
    pub rows: u64,
    /// Rows the files' statistics count.
    pub rows_in_files: u64,
    /// Malformed lines met while ingesting.
    pub malformed_lines: u64,
    /// Data files in both tiers.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Files and bytes of the hot tier.
    pub hot_files: usize,
    /// Bytes of the hot tier.
    pub hot_bytes: u64,
    /// The cold location, if any.
    pub cold: Option<String>,
    /// Files of the cold tier.
    pub cold_files: usize,
    /// Bytes of the cold tier.
    pub cold_bytes: u64,
    /// The policy's move age.
    pub move_after: Option<String>,
    /// The policy's delete age.
    pub delete_after: Option<String>,
    /// The last day deleted by retention.
    pub deleted_through: Option<String>,
    /// Days with data.
    pub days: usize,
    /// The first of them.
    pub first_day: Option<String>,
    /// The last of them.
    pub last_day: Option<String>,
    /// The newest row's time, epoch ms.
    pub newest_data_ms: Option<i64>,
    /// When the last ingest committed, epoch ms.
    pub last_ingest_ms: Option<i64>,
}

/// The status of the lake at `lake` (opened, and known to exist).
pub async fn status(lake: &Lake, storage: &StorageOptions) -> Result<LakeStatus, LakeError> {
    let manifest = read(lake.table()).await?;
    let policy = lake.policy()?;
    let cold = super::tier::acknowledged_cold(lake, &manifest, storage).await?;
    let hot_files = lake.files().await?;
    let cold_files = match &cold {
        Some(c) => c.files().await?,
        None => Vec::new(),
    };
    let gone = |f: &DataFile| matches!((&f.day, &manifest.expired_through_day), (Some(d), Some(m)) if d <= m);
    let hot_live: Vec<&DataFile> = hot_files.iter().filter(|f| !gone(f)).collect();
    let cold_live: Vec<&DataFile> = cold_files.iter().filter(|f| !gone(f)).collect();
    let all: Vec<&DataFile> = hot_live.iter().chain(&cold_live).copied().collect();
    let days: std::collections::BTreeSet<&str> = all.iter().filter_map(|f| f.day.as_deref()).collect();
    let sum = |v: &[&DataFile]| v.iter().map(|f| f.size).sum::<u64>();
    Ok(LakeStatus {
        lake: lake.location.clone(),
        format: serde_json::to_value(&lake.format()?.kind).unwrap_or_default(),
        version: lake.version().unwrap_or_default(),
        source_objects: manifest.sources.len(),
        rows: manifest.rows(),
        rows_in_files: all.iter().filter_map(|f| f.rows).sum(),
        malformed_lines: manifest.malformed(),
        files: all.len(),
        bytes: sum(&hot_live) + sum(&cold_live),
        hot_files: hot_live.len(),
        hot_bytes: sum(&hot_live),
        cold: policy.cold.clone(),
        cold_files: cold_live.len(),
        cold_bytes: sum(&cold_live),
        move_after: policy.move_after.clone(),
        delete_after: policy.delete_after.clone(),
        deleted_through: manifest.expired_through_day.clone(),
        days: days.len(),
        first_day: days.first().map(|d| d.to_string()),
        last_day: days.last().map(|d| d.to_string()),
        newest_data_ms: manifest.newest_ms(),
        last_ingest_ms: manifest.last_ingest_ms,
    })
}
