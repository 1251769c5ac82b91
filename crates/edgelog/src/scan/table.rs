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

use super::exec::{LogScanExec, ScanObject};
use super::pushdown::time_bounds;
use super::stats::ScanStats;
use crate::config::{ScanOptions, TimeRange};
use crate::dialect::Dialect;
use crate::source::{Source, list_objects};

/// A table over the objects of one or more locations, in one dialect.
#[derive(Debug)]
pub struct LogTable {
    dialect: Arc<dyn Dialect>,
    sources: Vec<Source>,
    schema: SchemaRef,
    options: ScanOptions,
    stats: Arc<ScanStats>,
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
        }
    }

    fn filter_range(&self, filters: &[Expr]) -> TimeRange {
        filters
            .iter()
            .filter_map(|f| time_bounds(f, "time", self.options.zone.offset_secs))
            .fold(TimeRange::ALL, |acc, r| acc.intersect(&r))
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
        Ok(filters
            .iter()
            .map(|f| match time_bounds(f, "time", self.options.zone.offset_secs) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let prune = self.options.range.intersect(&self.filter_range(filters));
        let template = self.dialect.template();
        let margin = self.options.prune_margin_ms;
        let listings =
            futures::future::try_join_all(self.sources.iter().map(|s| list_objects(s, &template, &prune, margin)))
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let mut objects = Vec::new();
        let (mut candidates, mut pruned) = (0, 0);
        for (src, listing) in self.sources.iter().zip(listings) {
            self.stats.add_listing(
                listing.selected.len(),
                listing.selected.iter().map(|o| o.size).sum(),
                listing.candidates,
                &listing.skipped,
                listing.folders_pruned,
            );
            candidates += listing.candidates;
            pruned += listing.folders_pruned;
            objects.extend(listing.selected.into_iter().map(|object| ScanObject {
                reader: src.reader.clone(),
                object,
            }));
        }
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
        Ok(Arc::new(LogScanExec::new(
            self.dialect.clone(),
            self.schema.clone(),
            projection,
            objects,
            state.config().target_partitions(),
            self.options.range,
            (self.options.strict, self.options.skip_unreadable),
            self.stats.clone(),
            selection,
        )?))
    }
}
