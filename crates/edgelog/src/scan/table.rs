//! [`LogTable`]: the `logs` table. At planning time it takes the time range
//! of the request and of `WHERE time ...` predicates, lists
//! only the objects that range can touch, and hands them to [`LogScanExec`].

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;

use super::exec::{LogScanExec, ScanObject, ScanOrigin};
use super::pushdown::{time_pushdown, time_range};
use super::stats::ScanStats;
use crate::config::{ScanOptions, TimeRange};
use crate::dialect::Dialect;
use crate::source::{ListedObject, Source, list_objects};

/// Which objects a table reads.
#[derive(Clone)]
pub enum Objects {
    /// Those its sources list for the time range (the usual table).
    Listed,
    /// Those listed, but not the ones this says are held elsewhere (a lake).
    ListedExcept(Arc<dyn Fn(&ListedObject) -> bool + Send + Sync>),
    /// Exactly these, already listed (a lake's ingest of a batch).
    Fixed(Arc<Vec<ScanObject>>),
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Objects::Listed => f.write_str("Listed"),
            Objects::ListedExcept(_) => f.write_str("ListedExcept(..)"),
            Objects::Fixed(list) => write!(f, "Fixed({} objects)", list.len()),
        }
    }
}

/// A table over the objects of one or more locations, in one dialect.
#[derive(Debug)]
pub struct LogTable {
    dialect: Arc<dyn Dialect>,
    sources: Vec<Source>,
    schema: SchemaRef,
    options: ScanOptions,
    stats: Arc<ScanStats>,
    objects: Objects,
    origin: Option<Arc<ScanOrigin>>,
}

impl LogTable {
    /// A table over `sources`; `stats` collects what every scan of it sees.
    pub fn new(dialect: Arc<dyn Dialect>, sources: Vec<Source>, options: ScanOptions, stats: Arc<ScanStats>) -> Self {
        LogTable {
            schema: dialect.schema(&options.zone.name),
            dialect,
            sources,
            options,
            stats,
            objects: Objects::Listed,
            origin: None,
        }
    }

    /// The same table, its scans knowing what they were opened from (so a
    /// cluster can ship them).
    pub fn with_origin(mut self, origin: ScanOrigin) -> Self {
        self.origin = Some(Arc::new(origin));
        self
    }

    /// The same table reading only `objects`.
    pub fn with_objects(mut self, objects: Objects) -> Self {
        self.objects = objects;
        self
    }

    /// The objects the sources list for `range` (widened by the margin).
    pub async fn list_range(&self, range: &TimeRange) -> Result<Vec<ScanObject>> {
        Ok(self.list(range).await?.0)
    }

    /// The objects the sources list for `prune` (widened by the margin),
    /// counted in the stats.
    async fn list(&self, prune: &TimeRange) -> Result<(Vec<ScanObject>, usize, usize)> {
        let template = self.dialect.template();
        let margin = self.options.prune_margin_ms;
        let listings =
            futures::future::try_join_all(self.sources.iter().map(|s| list_objects(s, &template, prune, margin)))
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let mut objects = Vec::new();
        let (mut candidates, mut pruned) = (0, 0);
        for (src, mut listing) in self.sources.iter().zip(listings) {
            if let Objects::ListedExcept(held) = &self.objects {
                listing.selected.retain(|o| !held(o));
            }
            self.stats.add_listing(
                listing.selected.len(),
                listing.selected.iter().map(|o| o.size).sum(),
                listing.candidates,
                &listing.skipped,
                listing.folders_pruned,
            );
            candidates += listing.candidates;
            pruned += listing.folders_pruned;
            let location: Arc<str> = src.location.as_str().into();
            objects.extend(listing.selected.into_iter().map(|object| ScanObject {
                reader: src.reader.clone(),
                object,
                location: location.clone(),
            }));
        }
        Ok((objects, candidates, pruned))
    }
}

fn describe_range(r: &TimeRange) -> String {
    let show = |t: Option<i64>| match t.and_then(chrono::DateTime::from_timestamp_millis) {
        Some(d) => d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "*".into(),
    };
    format!("[{}, {})", show(r.since), show(r.until))
}

#[async_trait]
impl TableProvider for LogTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(time_pushdown(filters, self.options.zone.offset_secs))
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let prune = self
            .options
            .range
            .intersect(&time_range(filters, self.options.zone.offset_secs));
        let margin = self.options.prune_margin_ms;
        let (objects, candidates, pruned) = match &self.objects {
            Objects::Fixed(list) => {
                let n = list.len();
                self.stats
                    .add_listing(n, list.iter().map(|o| o.object.size).sum(), n, &[], 0);
                (list.as_ref().clone(), n, 0)
            }
            Objects::Listed | Objects::ListedExcept(_) => self.list(&prune).await?,
        };
        let selection = format!(
            "objects={} of {} candidates, date folders pruned={}, time range={} margin={}ms",
            objects.len(),
            candidates,
            pruned,
            describe_range(&prune),
            margin
        );
        let projection = projection
            .cloned()
            .unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        Ok(Arc::new(
            LogScanExec::new(
                self.dialect.clone(),
                self.schema.clone(),
                projection,
                objects,
                state.config().target_partitions(),
                self.options.range,
                (self.options.strict, self.options.skip_unreadable),
                self.stats.clone(),
                selection,
            )?
            .with_origin(self.origin.clone()),
        ))
    }
}
