//! [`ShippedScanExec`]: a log scan as the cluster runs it.
//!
//! Ballista gives a task a slice of a stage's partitions and narrows the
//! stage's leaves to that slice; it knows how for its own readers and for
//! DataFusion's sources, not for ours. So a shipped scan is not a leaf: its
//! one input is an in-memory table of work (per partition, the indexes of
//! the objects to read), which Ballista narrows like any other, and the
//! scan reads, for each partition it is asked for, the objects that
//! partition of its input lists.

use std::sync::Arc;

use arrow::array::{Array, RecordBatch, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::internal_err;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::{StreamExt, TryStreamExt};

use crate::scan::exec::LogScanExec;
use crate::scan::plain::PlainScan;
use crate::scan::stats::{ScanStats, ScanTotals};

/// Where an executor says what one partition of a shipped scan read, when it
/// saw malformed lines or skipped objects (the executor command prints it;
/// nothing else crosses back to the client).
static REPORTER: std::sync::OnceLock<fn(&ScanTotals)> = std::sync::OnceLock::new();

/// Sets where partitions' reports go (once per process).
pub fn report_to(reporter: fn(&ScanTotals)) {
    let _ = REPORTER.set(reporter);
}

/// The work table's one column: an object's index in the scan.
const OBJECT: &str = "object";

/// A log scan whose partitions' objects come from its input (see the module docs).
#[derive(Debug)]
pub struct ShippedScanExec {
    /// The scan with every object (its own partitions unused).
    scan: Arc<LogScanExec>,
    /// Per partition, the object indexes, as an in-memory table.
    work: Arc<dyn ExecutionPlan>,
    props: Arc<PlanProperties>,
}

fn work_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(OBJECT, DataType::UInt32, false)]))
}

impl ShippedScanExec {
    /// `scan` made shippable: its partitions become the work table.
    pub fn of(scan: Arc<LogScanExec>) -> Result<ShippedScanExec> {
        let schema = work_schema();
        let partitions = scan
            .partitions()
            .iter()
            .map(|ids| {
                let ids: Vec<u32> = ids.iter().map(|&i| u32::try_from(i).unwrap_or(u32::MAX)).collect();
                let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(UInt32Array::from(ids))])?;
                Ok(vec![batch])
            })
            .collect::<Result<Vec<_>>>()?;
        let work = MemorySourceConfig::try_new_exec(&partitions, schema, None)?;
        ShippedScanExec::new(scan, work)
    }

    /// The scan over `work` (one partition per partition of it).
    pub fn new(scan: Arc<LogScanExec>, work: Arc<dyn ExecutionPlan>) -> Result<ShippedScanExec> {
        if work.schema() != work_schema() {
            return internal_err!("a shipped scan's work has another shape");
        }
        let n = work.properties().output_partitioning().partition_count();
        let props = PlanProperties::new(
            EquivalenceProperties::new(scan.schema()),
            Partitioning::UnknownPartitioning(n),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(ShippedScanExec {
            scan,
            work,
            props: Arc::new(props),
        })
    }

    /// The scan, as plain data.
    pub fn plain(&self) -> Option<PlainScan> {
        let mut plain = PlainScan::of(&self.scan)?;
        // The partitions travel as the work table.
        plain.partitions = Vec::new();
        Some(plain)
    }
}

impl DisplayAs for ShippedScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "Shipped")?;
        self.scan.fmt_as(t, f)
    }
}

impl ExecutionPlan for ShippedScanExec {
    fn name(&self) -> &str {
        "ShippedScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.work]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        match children.as_slice() {
            [work] => Ok(Arc::new(ShippedScanExec::new(self.scan.clone(), work.clone())?)),
            _ => internal_err!("ShippedScanExec has one child"),
        }
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let work = self.work.execute(partition, context.clone())?;
        let scan = self.scan.clone();
        let schema = scan.schema();
        let rows = futures::stream::once(async move {
            let batches: Vec<RecordBatch> = work.try_collect().await?;
            let mut ids = Vec::new();
            for b in &batches {
                let col =
                    b.column(0).as_any().downcast_ref::<UInt32Array>().ok_or_else(|| {
                        DataFusionError::Internal("a shipped scan's work is not object indexes".into())
                    })?;
                ids.extend(col.iter().flatten().map(|i| i as usize));
            }
            let stats = Arc::new(ScanStats::default());
            let stream = Arc::new(scan.only(ids, stats.clone())?).execute(0, context)?;
            // When the partition is read, its malformed lines are reported.
            let done = futures::stream::once(async move {
                let totals = stats.snapshot();
                if (totals.malformed > 0 || !totals.unreadable.is_empty())
                    && let Some(report) = REPORTER.get()
                {
                    report(&totals);
                }
                Ok::<_, DataFusionError>(None)
            });
            Ok::<_, DataFusionError>(stream.map_ok(Some).chain(done).try_filter_map(|b| async move { Ok(b) }))
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, rows.boxed())))
    }
}
