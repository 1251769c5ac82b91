//! [`LakeTable`]: the lake as the `logs` table, with the raw query's
//! column types. Time bounds of `WHERE time ...` (and of the request's
//! range) become predicates on the stored `time` and on the `_day`
//! partition, so delta-rs skips partitions and files, and Parquet skips row
//! groups, before anything is read; the rows are still filtered exactly
//! above the scan.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Operator;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, col, lit};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, CastExpr, Column, Literal};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricType, MetricsSet};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::TryStreamExt;

use super::schema::DAY;
use crate::config::TimeRange;
use crate::scan::exec::LAKE_ROWS;
use crate::scan::pushdown::{time_pushdown, time_range};

/// The lake's table provider behind the raw schema.
#[derive(Debug)]
pub struct LakeTable {
    tiers: Vec<Arc<dyn TableProvider>>,
    schema: SchemaRef,
    offset_secs: i32,
    after_day: Option<String>,
}

impl LakeTable {
    /// `tiers` are delta-rs's providers over the stored schema (the raw
    /// columns in order, then `_day`), one per tier, holding no file
    /// twice; `schema` is the raw one.
    pub fn new(tiers: Vec<Arc<dyn TableProvider>>, schema: SchemaRef, offset_secs: i32) -> Self {
        LakeTable {
            tiers,
            schema,
            offset_secs,
            after_day: None,
        }
    }

    /// Shows only the days after `day` (retention deleted those up to it).
    pub fn after_day(mut self, day: Option<String>) -> Self {
        self.after_day = day;
        self
    }

    /// One tier's scan: the raw columns of `projection`, cast back to the
    /// raw types, rows of deleted days dropped.
    async fn scan_tier(
        &self,
        inner: &Arc<dyn TableProvider>,
        state: &dyn Session,
        projection: &[usize],
        bounds: &[Expr],
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // The stored columns are the raw ones in the same order; `_day`
        // comes along when rows of deleted days must be dropped.
        let mut wanted = projection.to_vec();
        let day_at = match &self.after_day {
            Some(_) => {
                let (i, _) = inner.schema().column_with_name(DAY).ok_or_else(|| {
                    datafusion::common::DataFusionError::Plan(format!("the lake has no {DAY} column"))
                })?;
                wanted.push(i);
                Some(wanted.len() - 1)
            }
            None => None,
        };
        let mut plan = inner.scan(state, Some(&wanted), bounds, None).await?;
        if projection.is_empty() && day_at.is_none() {
            return Ok(plan);
        }
        if let (Some(at), Some(day)) = (day_at, &self.after_day) {
            let stored = plan.schema();
            let column: Arc<dyn PhysicalExpr> = Arc::new(Column::new(stored.field(at).name(), at));
            let text: Arc<dyn PhysicalExpr> = Arc::new(CastExpr::new(column, DataType::Utf8, None));
            let after: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
                text,
                Operator::Gt,
                Arc::new(Literal::new(ScalarValue::Utf8(Some(day.clone())))),
            ));
            plan = Arc::new(FilterExec::try_new(after, plan)?);
        }
        let stored = plan.schema();
        let exprs: Vec<(Arc<dyn PhysicalExpr>, String)> = projection
            .iter()
            .enumerate()
            .map(|(i, &raw)| {
                let field = self.schema.field(raw);
                let column: Arc<dyn PhysicalExpr> = Arc::new(Column::new(stored.field(i).name(), i));
                let expr: Arc<dyn PhysicalExpr> = if stored.field(i).data_type() == field.data_type() {
                    column
                } else {
                    Arc::new(CastExpr::new(column, field.data_type().clone(), None))
                };
                (expr, field.name().clone())
            })
            .collect();
        Ok(Arc::new(ProjectionExec::try_new(exprs, plan)?))
    }
}

/// The UTC day of an epoch-ms time, as `_day` holds it.
pub fn day_of(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d").to_string())
}

/// Predicates on the stored columns that keep every row of `range`.
fn stored_bounds(range: &TimeRange) -> Vec<Expr> {
    let micros = |ms: i64| {
        lit(ScalarValue::TimestampMicrosecond(
            Some(ms.saturating_mul(1000)),
            Some("UTC".into()),
        ))
    };
    let mut out = Vec::new();
    if let Some(since) = range.since {
        out.push(col("time").gt_eq(micros(since)));
        if let Some(day) = day_of(since) {
            out.push(col(DAY).gt_eq(lit(day)));
        }
    }
    if let Some(until) = range.until {
        out.push(col("time").lt(micros(until)));
        if let Some(day) = day_of(until.saturating_sub(1)) {
            out.push(col(DAY).lt_eq(lit(day)));
        }
    }
    out
}

#[async_trait]
impl TableProvider for LakeTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(time_pushdown(filters, self.offset_secs))
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let range = time_range(filters, self.offset_secs);
        let projection = projection
            .cloned()
            .unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let mut bounds = stored_bounds(&range);
        if let Some(day) = &self.after_day {
            bounds.push(col(DAY).gt(lit(day.clone())));
        }
        let mut plans = Vec::with_capacity(self.tiers.len());
        for inner in &self.tiers {
            plans.push(self.scan_tier(inner, state, &projection, &bounds).await?);
        }
        let plan = match plans.len() {
            0 => Arc::new(EmptyExec::new(Arc::new(self.schema.project(&projection)?))),
            1 => plans.remove(0),
            _ => UnionExec::try_new(plans)?,
        };
        Ok(Arc::new(LakeScanExec::new(plan)))
    }
}

/// The lake's scan as the plan shows it: passes the rows through and
/// counts them in the metric [`LAKE_ROWS`], which the summary reads.
#[derive(Debug)]
pub struct LakeScanExec {
    input: Arc<dyn ExecutionPlan>,
    metrics: ExecutionPlanMetricsSet,
}

impl LakeScanExec {
    /// Counts the rows of `input`.
    pub fn new(input: Arc<dyn ExecutionPlan>) -> Self {
        LakeScanExec {
            input,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl DisplayAs for LakeScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "LakeScanExec")
    }
}

impl ExecutionPlan for LakeScanExec {
    fn name(&self) -> &str {
        "LakeScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        match children.as_slice() {
            [input] => Ok(Arc::new(LakeScanExec::new(input.clone()))),
            _ => datafusion::common::internal_err!("LakeScanExec has one child"),
        }
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let rows = MetricBuilder::new(&self.metrics)
            .with_type(MetricType::Summary)
            .counter(LAKE_ROWS, partition);
        let stream = self.input.execute(partition, context)?;
        let schema = stream.schema();
        let counted = stream.inspect_ok(move |b| rows.add(b.num_rows()));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, counted)))
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}
