//! A [`LogScanExec`] as plain data ([`PlainScan`]): the dialect as decided,
//! the zone, the storage settings (never a secret), the objects with their
//! sizes and the partitions they were spread over, the time range. A
//! cluster ships this; an executor builds the same scan from it with its own
//! stores and credentials ([`PlainScan::build`]).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use super::exec::{LogScanExec, ScanObject, ScanOrigin};
use super::stats::ScanStats;
use crate::config::{StorageOptions, TimeRange};
use crate::dialect::DialectSpec;
use crate::source::{ListedObject, StoreReader};

/// A log scan as plain data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlainScan {
    /// The dialect, as decided.
    pub spec: DialectSpec,
    /// The zone of the schema's times.
    pub zone: String,
    /// Endpoint, region, profile, retries.
    pub storage: StorageOptions,
    /// The dialect's columns read, by index.
    pub projection: Vec<usize>,
    /// The locations the objects come from, as the user wrote them.
    pub locations: Vec<String>,
    /// The objects, each naming its location by index.
    pub objects: Vec<PlainObject>,
    /// Object indexes per partition.
    pub partitions: Vec<Vec<usize>>,
    /// Rows kept.
    pub rows: TimeRange,
    /// A malformed line is an error.
    pub strict: bool,
    /// An unreadable object is skipped.
    pub skip_unreadable: bool,
    /// What listing and pruning did, for EXPLAIN.
    pub selection: String,
}

/// One object of a [`PlainScan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlainObject {
    /// Index into [`PlainScan::locations`].
    pub location: usize,
    /// Its path in the location's store.
    pub path: String,
    /// How it is named to the user.
    pub name: String,
    /// Stored bytes.
    pub size: u64,
    /// Entity tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl PlainObject {
    /// The object, read through its location's store among `readers`.
    pub fn open(self, readers: &[(StoreReader, Arc<str>)]) -> Result<ScanObject> {
        let (reader, location) = readers.get(self.location).ok_or_else(|| {
            DataFusionError::Plan(format!(
                "a shipped scan names location {} it does not have",
                self.location
            ))
        })?;
        let path = Path::parse(&self.path)
            .map_err(|e| DataFusionError::Plan(format!("a shipped scan has a bad path {:?}: {e}", self.path)))?;
        Ok(ScanObject {
            reader: reader.clone(),
            object: ListedObject {
                path,
                size: self.size,
                name: self.name,
                etag: self.etag,
            },
            location: location.clone(),
        })
    }
}

impl PlainScan {
    /// `scan` as plain data; `None` for a scan that does not know what it
    /// was opened from.
    pub fn of(scan: &LogScanExec) -> Option<PlainScan> {
        let origin = scan.origin.as_ref()?;
        let mut locations: Vec<String> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        let objects = scan
            .objects
            .iter()
            .map(|o| {
                let at = *index.entry(&o.location).or_insert_with(|| {
                    locations.push(o.location.to_string());
                    locations.len() - 1
                });
                PlainObject {
                    location: at,
                    path: o.object.path.to_string(),
                    name: o.object.name.clone(),
                    size: o.object.size,
                    etag: o.object.etag.clone(),
                }
            })
            .collect();
        Some(PlainScan {
            spec: origin.spec.clone(),
            zone: origin.zone.clone(),
            storage: origin.storage.clone(),
            projection: scan.projection.clone(),
            locations,
            objects,
            partitions: scan.partitions.clone(),
            rows: scan.rows,
            strict: scan.strict,
            skip_unreadable: scan.skip_unreadable,
            selection: scan.selection.clone(),
        })
    }

    /// The scan again, reading through the stores `open` gives for each
    /// location (here: this process's credentials). `site` names where it
    /// runs in its errors (`None`: here). Its counters start at zero.
    pub fn build(
        self,
        open: &dyn Fn(&str, &StorageOptions) -> Result<StoreReader>,
        site: Option<Arc<str>>,
    ) -> Result<LogScanExec> {
        let readers = self.open_locations(open)?;
        self.build_with(&readers, site)
    }

    /// The store of each location, opened with `open`.
    pub fn open_locations(
        &self,
        open: &dyn Fn(&str, &StorageOptions) -> Result<StoreReader>,
    ) -> Result<Vec<(StoreReader, Arc<str>)>> {
        self.locations
            .iter()
            .map(|location| Ok((open(location, &self.storage)?, Arc::<str>::from(location.as_str()))))
            .collect()
    }

    /// [`PlainScan::build`] with the locations' stores opened already.
    pub fn build_with(self, readers: &[(StoreReader, Arc<str>)], site: Option<Arc<str>>) -> Result<LogScanExec> {
        let dialect = self.spec.build().map_err(DataFusionError::Plan)?;
        let full_schema = dialect.schema(&self.zone);
        let objects = self
            .objects
            .into_iter()
            .map(|o| o.open(readers))
            .collect::<Result<Vec<_>>>()?;
        let origin = ScanOrigin {
            spec: self.spec,
            zone: self.zone,
            storage: self.storage,
        };
        let mut scan = LogScanExec::with_partitions(
            dialect,
            full_schema,
            self.projection,
            objects,
            self.partitions,
            self.rows,
            (self.strict, self.skip_unreadable),
            Arc::new(ScanStats::default()),
            self.selection,
        )?
        .with_origin(Some(Arc::new(origin)));
        scan.site = site;
        Ok(scan)
    }
}
