//! The lake: access logs ingested once into a Delta Lake table, so that
//! repeated questions read columns instead of re-parsing gzip JSON, and
//! other engines (ClickHouse, DuckDB, Spark, Polars) read the same table.
//!
//! - [`schema`]: raw column types <-> the types Delta stores.
//! - [`manifest`]: which source objects the lake holds, from the notes its
//!   commits carry (exactly once: the note and the rows commit together).
//! - [`table`]: the lake as the `logs` table, with the raw types and time
//!   pruning by partition and file statistics.
//!
//! Ingesting (`crate::ingest`) reads raw logs through the engine and
//! writes here; the engine reads the lake as `logs` through [`table`].
//!
//! A lake on S3 uses the store [`crate::source`] builds (one place for
//! credentials and endpoints); delta-rs commits on it with a conditional
//! put (`If-None-Match: *`), so no lock service is needed.

pub mod files;
pub mod manifest;
pub mod schema;
pub mod status;
pub mod table;
pub mod tier;

use std::sync::{Arc, Once};

use arrow::datatypes::Schema;
use deltalake::kernel::StructType;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::{Add, Remove};
use deltalake::logstore::{
    LogStore, LogStoreFactory, ObjectStoreRef, StorageConfig, default_logstore, logstore_factories,
};
use deltalake::protocol::SaveMode;
use deltalake::{DeltaResult, DeltaTable, DeltaTableBuilder, DeltaTableError};
use futures::TryStreamExt;
use url::Url;

use crate::config::StorageOptions;
use crate::dialect::DialectSpec;
use crate::source::{Location, SourceError, open_location, parse_location};

/// The table property holding the lake's dialect (a [`DialectSpec`] as JSON).
pub const FORMAT_PROPERTY: &str = "edgelog.format";
/// The table property saying the lake stores the derived columns
/// (`forwarded_for`); a lake without it was made before they existed.
pub const COLUMNS_PROPERTY: &str = "edgelog.columns";
/// [`COLUMNS_PROPERTY`]'s value for the columns of this edgelog.
pub const COLUMNS_VERSION: &str = "2";

/// The application transaction every commit of edgelog's writers carries
/// (ingest, retain): delta-rs refuses a commit made from a snapshot that
/// another such commit has passed. The name is from when only ingest had it.
pub const APP_ID: &str = "edgelog-ingest";

/// Why a lake could not be opened, read or written. Every message names
/// the lake or the part at fault; none holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// The location or request is wrong.
    #[error("{0}")]
    Request(String),
    /// The storage under the lake failed.
    #[error("{0}")]
    Source(#[from] SourceError),
    /// The table's log or files are not what edgelog wrote.
    #[error("the lake is damaged: {0}")]
    Damaged(String),
    /// delta-rs refused or failed.
    #[error("lake: {0}")]
    Delta(String),
}

impl LakeError {
    /// Whether delta-rs refused a commit because another writer committed
    /// first from the same snapshot: reload and try again.
    pub fn is_race(&self) -> bool {
        let LakeError::Delta(why) = self else {
            return false;
        };
        let why = why.to_ascii_lowercase();
        why.contains("concurrent")
            || why.contains("already exists")
            || why.contains("conflict")
            || why.contains("metadata changed")
    }
}

impl From<DeltaTableError> for LakeError {
    fn from(e: DeltaTableError) -> Self {
        LakeError::Delta(one_line(&e.to_string()))
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// delta-rs's own log store (commits by conditional put) for a store we
/// built; registered for `s3://` since the `s3` feature, which would bring
/// a second credentials path, is off.
struct ConditionalPutLogStore;

impl LogStoreFactory for ConditionalPutLogStore {
    fn with_options(
        &self,
        prefixed: ObjectStoreRef,
        root: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(prefixed, root, location, options))
    }
}

fn register_s3_log_store() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Ok(url) = Url::parse("s3://") {
            logstore_factories().insert(url, Arc::new(ConditionalPutLogStore));
        }
    });
}

/// One data file of a lake's table as its log has it.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// Relative to the table's root (kept when it moves between tiers).
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Its `_day` partition.
    pub day: Option<String>,
    /// Rows, from its statistics.
    pub rows: Option<u64>,
    /// The action that adds it (to another tier's table).
    pub add: Add,
    /// The action that removes it from its table.
    pub remove: Remove,
}

/// An opened lake: the table (which may not exist yet) and where it is.
#[derive(Debug, Clone)]
pub struct Lake {
    /// As the user wrote it.
    pub location: String,
    table: DeltaTable,
}

impl Lake {
    /// Opens the lake at `location` (a folder or `s3://BUCKET/PREFIX`),
    /// loading its newest version if there is a table there. A local
    /// folder is made when missing.
    pub async fn open(location: &str, opts: &StorageOptions) -> Result<Lake, LakeError> {
        let bad = |why: String| LakeError::Request(format!("bad lake location {location:?}: {why}"));
        let mut table = match parse_location(location)? {
            Location::Local { base, glob: None } => {
                std::fs::create_dir_all(&base).map_err(|e| bad(e.to_string()))?;
                let url = Url::from_directory_path(&base).map_err(|()| bad("not an absolute folder".into()))?;
                DeltaTableBuilder::from_url(url)?.build()?
            }
            Location::S3 {
                bucket,
                prefix,
                glob: None,
                ..
            } => {
                register_s3_log_store();
                let source = open_location(location, opts)?;
                let url = Url::parse(&format!("s3://{bucket}/{prefix}")).map_err(|e| bad(e.to_string()))?;
                DeltaTableBuilder::from_url(url.clone())?
                    .with_storage_backend(source.reader.store().clone(), url)
                    .build()?
            }
            _ => return Err(bad("a lake is a folder or s3://BUCKET/PREFIX, without a glob".into())),
        };
        match table.load().await {
            Ok(()) | Err(DeltaTableError::NotATable(_)) => {}
            Err(e) => {
                return Err(LakeError::Delta(format!(
                    "cannot open lake {location}: {}",
                    one_line(&e.to_string())
                )));
            }
        }
        Ok(Lake {
            location: location.to_string(),
            table,
        })
    }

    /// Whether a table exists there yet.
    pub fn exists(&self) -> bool {
        self.table.version().is_some()
    }

    /// The loaded version.
    pub fn version(&self) -> Option<u64> {
        self.table.version()
    }

    /// The table as loaded.
    pub fn table(&self) -> &DeltaTable {
        &self.table
    }

    /// The dialect the lake holds, as its table properties say.
    pub fn format(&self) -> Result<DialectSpec, LakeError> {
        let snapshot = self.table.snapshot()?;
        let text = snapshot
            .snapshot()
            .table_properties()
            .unknown_properties
            .get(FORMAT_PROPERTY)
            .cloned()
            .ok_or_else(|| {
                LakeError::Damaged(format!(
                    "{} has no {FORMAT_PROPERTY} property: not an edgelog lake",
                    self.location
                ))
            })?;
        let mut spec: DialectSpec =
            serde_json::from_str(&text).map_err(|e| LakeError::Damaged(format!("bad {FORMAT_PROPERTY}: {e}")))?;
        // A lake made before derived columns keeps its columns: its format
        // is read without them, raw objects beside it too.
        spec.legacy_columns = !snapshot
            .snapshot()
            .table_properties()
            .unknown_properties
            .contains_key(COLUMNS_PROPERTY);
        Ok(spec)
    }

    /// Makes the table: the stored columns of `raw`, partitioned by
    /// [`schema::DAY`], holding `format`. Another ingest making it at the
    /// same moment is not an error: its table is loaded.
    pub async fn create(&mut self, format_spec: &DialectSpec, raw: &Schema) -> Result<(), LakeError> {
        let stored = schema::stored_schema(raw);
        let fields: StructType = stored
            .as_ref()
            .try_into_kernel()
            .map_err(|e| LakeError::Delta(format!("cannot make the lake's schema: {e}")))?;
        let format = serde_json::to_string(format_spec).map_err(|e| LakeError::Delta(e.to_string()))?;
        let made = self
            .table
            .clone()
            .create()
            .with_columns(fields.fields().cloned())
            .with_partition_columns([schema::DAY])
            .with_configuration(
                [
                    (FORMAT_PROPERTY, Some(format.as_str())),
                    // The commits' notes say which objects the lake holds: keep them.
                    ("delta.enableExpiredLogCleanup", Some("false")),
                ]
                .into_iter()
                .chain((!format_spec.legacy_columns).then_some((COLUMNS_PROPERTY, Some(COLUMNS_VERSION)))),
            )
            // `edgelog.*` is ours: not a Delta property, and not an error.
            .with_raise_if_key_not_exists(false)
            .with_save_mode(SaveMode::ErrorIfExists)
            .await;
        match made {
            Ok(table) => self.table = table,
            // Another ingest made it first: it must hold the same format.
            Err(_) if { self.table.load().await.is_ok() && self.exists() } => {
                if self.format()? != *format_spec {
                    return Err(LakeError::Request(format!(
                        "the lake {} was just made by another ingest for another format",
                        self.location
                    )));
                }
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    pub(crate) fn set_table(&mut self, table: DeltaTable) {
        self.table = table;
    }

    /// Checks that the table's columns are those this edgelog stores for
    /// `raw`, by name and type and in order (reading maps them by position).
    pub fn check_columns(&self, raw: &Schema) -> Result<(), LakeError> {
        let have = self.table.snapshot()?.snapshot().arrow_schema();
        let want = schema::stored_schema(raw);
        // Delta names a list's items `element` where Arrow says `item`.
        let normal = |t: &arrow::datatypes::DataType| match t {
            arrow::datatypes::DataType::List(item) => arrow::datatypes::DataType::List(std::sync::Arc::new(
                arrow::datatypes::Field::new_list_field(item.data_type().clone(), true),
            )),
            t => t.clone(),
        };
        let names = |s: &Schema| -> Vec<(String, arrow::datatypes::DataType)> {
            s.fields()
                .iter()
                .map(|f| (f.name().clone(), normal(f.data_type())))
                .collect()
        };
        // delta-rs may hand the partition column back in another place.
        let strip = |mut v: Vec<(String, arrow::datatypes::DataType)>| {
            v.retain(|(n, _)| n != schema::DAY);
            v
        };
        if strip(names(&have)) != strip(names(&want)) {
            return Err(LakeError::Request(format!(
                "the lake {} has other columns than this edgelog stores for its format (made by another version?): ingest into a new lake",
                self.location
            )));
        }
        Ok(())
    }

    /// Merges the small files of each day (hourly ingests make many) into
    /// files of about `target_bytes`, written with `props`; rows and notes
    /// are unchanged. Returns the files removed and added.
    pub async fn compact(
        &mut self,
        target_bytes: u64,
        props: deltalake::parquet::file::properties::WriterProperties,
    ) -> Result<(u64, u64), LakeError> {
        let target = std::num::NonZeroU64::new(target_bytes.max(1)).unwrap_or(std::num::NonZeroU64::MIN);
        let (table, metrics) = self
            .table
            .clone()
            .optimize()
            .with_type(deltalake::operations::optimize::OptimizeType::Compact)
            .with_target_size(target)
            .with_writer_properties(props)
            .await?;
        self.table = table;
        Ok((metrics.num_files_removed, metrics.num_files_added))
    }

    /// The table's data files now, each with its day and rows.
    pub async fn files(&self) -> Result<Vec<DataFile>, LakeError> {
        if !self.exists() {
            return Ok(Vec::new());
        }
        let views: Vec<_> = self
            .table
            .get_active_add_actions_by_predicate(None)
            .try_collect()
            .await
            .map_err(|e| {
                LakeError::Delta(format!(
                    "cannot list the files of lake {}: {}",
                    self.location,
                    one_line(&e.to_string())
                ))
            })?;
        Ok(views
            .iter()
            .map(|v| {
                let partition_values = v.partition_values_map();
                DataFile {
                    path: v.path().to_string(),
                    size: u64::try_from(v.size()).unwrap_or(0),
                    day: partition_values.get(schema::DAY).cloned().flatten(),
                    rows: v.num_records().map(|n| n as u64),
                    add: Add {
                        path: v.path().to_string(),
                        partition_values,
                        size: v.size(),
                        modification_time: v.modification_time(),
                        data_change: true,
                        stats: v.stats(),
                        ..Add::default()
                    },
                    remove: v.remove_action(true),
                }
            })
            .collect())
    }

    /// Loads `version` of the table (time travel).
    pub async fn load_version(&mut self, version: u64) -> Result<(), LakeError> {
        self.table.load_version(version).await.map_err(|e| {
            LakeError::Damaged(format!(
                "cannot load version {version} of {}: {}",
                self.location,
                one_line(&e.to_string())
            ))
        })
    }

    /// Loads the newest version again.
    pub async fn reload(&mut self) -> Result<(), LakeError> {
        self.table.load().await?;
        Ok(())
    }
}
