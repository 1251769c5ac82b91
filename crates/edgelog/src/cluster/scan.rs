//! [`ShippedScanExec`]: a log scan as the cluster runs it.
//!
//! Ballista gives a task a slice of a stage's partitions and narrows the
//! stage's leaves to that slice; it knows how for its own readers and for
//! DataFusion's sources, not for ours. So a shipped scan is not a leaf: its
//! one input is an in-memory table of work, one partition per partition of
//! the scan, whose rows are the objects to read (location, path, name,
//! size, tag). Ballista narrows it like any other source, so a task's plan
//! carries only its own objects, and the scan reads, for each partition it
//! is asked for, the objects that partition of its input lists.

use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
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
use crate::scan::plain::{PlainObject, PlainScan};
use crate::scan::stats::{ScanStats, ScanTotals};
use crate::source::StoreReader;

/// Where an executor says what one partition of a shipped scan read, when it
/// saw malformed lines or skipped objects (the executor command prints it;
/// nothing else crosses back to the client).
static REPORTER: std::sync::OnceLock<fn(&ScanTotals)> = std::sync::OnceLock::new();

/// Sets where partitions' reports go (once per process).
pub fn report_to(reporter: fn(&ScanTotals)) {
    let _ = REPORTER.set(reporter);
}

/// A log scan whose partitions' objects come from its input (see the module docs).
#[derive(Debug)]
pub struct ShippedScanExec {
    /// The scan as plain data, without objects (those are in `work`).
    plain: PlainScan,
    /// The scan without objects: the dialect, columns and options.
    scan: Arc<LogScanExec>,
    /// The store of each location of `plain`.
    readers: Arc<Vec<(StoreReader, Arc<str>)>>,
    /// Per partition, the objects, as an in-memory table.
    work: Arc<dyn ExecutionPlan>,
    props: Arc<PlanProperties>,
}

fn work_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("location", DataType::UInt32, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("size", DataType::UInt64, false),
        Field::new("etag", DataType::Utf8, true),
    ]))
}

/// One partition of the work table.
fn work_batch(schema: &SchemaRef, objects: &[&PlainObject]) -> Result<RecordBatch> {
    let location: UInt32Array = objects
        .iter()
        .map(|o| u32::try_from(o.location).unwrap_or(u32::MAX))
        .collect();
    let path: StringArray = objects.iter().map(|o| Some(o.path.as_str())).collect();
    let name: StringArray = objects.iter().map(|o| Some(o.name.as_str())).collect();
    let size: UInt64Array = objects.iter().map(|o| o.size).collect();
    let etag: StringArray = objects.iter().map(|o| o.etag.as_deref()).collect();
    Ok(RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(location),
            Arc::new(path),
            Arc::new(name),
            Arc::new(size),
            Arc::new(etag),
        ],
    )?)
}

/// The objects of a work partition.
fn work_objects(batches: &[RecordBatch]) -> Result<Vec<PlainObject>> {
    let bad = || DataFusionError::Internal("a shipped scan's work table has another shape".into());
    let mut out = Vec::new();
    for b in batches {
        let location = b.column(0).as_any().downcast_ref::<UInt32Array>().ok_or_else(bad)?;
        let path = b.column(1).as_any().downcast_ref::<StringArray>().ok_or_else(bad)?;
        let name = b.column(2).as_any().downcast_ref::<StringArray>().ok_or_else(bad)?;
        let size = b.column(3).as_any().downcast_ref::<UInt64Array>().ok_or_else(bad)?;
        let etag = b.column(4).as_any().downcast_ref::<StringArray>().ok_or_else(bad)?;
        for i in 0..b.num_rows() {
            out.push(PlainObject {
                location: location.value(i) as usize,
                path: path.value(i).to_string(),
                name: name.value(i).to_string(),
                size: size.value(i),
                etag: (!etag.is_null(i)).then(|| etag.value(i).to_string()),
            });
        }
    }
    Ok(out)
}

impl ShippedScanExec {
    /// `scan` made shippable: its partitions' objects become the work table.
    pub fn of(scan: &LogScanExec) -> Result<ShippedScanExec> {
        let mut plain = PlainScan::of(scan).ok_or_else(|| {
            DataFusionError::Internal("a log scan that does not know its origin cannot be shipped".into())
        })?;
        let schema = work_schema();
        let partitions = scan
            .partitions()
            .iter()
            .map(|ids| {
                let objects: Vec<&PlainObject> = ids.iter().filter_map(|&i| plain.objects.get(i)).collect();
                Ok(vec![work_batch(&schema, &objects)?])
            })
            .collect::<Result<Vec<_>>>()?;
        let work = MemorySourceConfig::try_new_exec(&partitions, schema, None)?;
        // This process's stores, as the scan opened them.
        let readers = plain
            .locations
            .iter()
            .map(|l| {
                scan.objects()
                    .iter()
                    .find(|o| o.location.as_ref() == l.as_str())
                    .map(|o| (o.reader.clone(), o.location.clone()))
                    .ok_or_else(|| DataFusionError::Internal(format!("no store for {l}")))
            })
            .collect::<Result<Vec<_>>>()?;
        plain.objects = Vec::new();
        plain.partitions = Vec::new();
        ShippedScanExec::new(plain, Arc::new(readers), scan.site(), work)
    }

    /// The scan `plain` (without objects) over the objects of `work`, read
    /// through `readers` (one per location of `plain`); `site` names this
    /// process in errors.
    pub fn new(
        plain: PlainScan,
        readers: Arc<Vec<(StoreReader, Arc<str>)>>,
        site: Option<Arc<str>>,
        work: Arc<dyn ExecutionPlan>,
    ) -> Result<ShippedScanExec> {
        if work.schema() != work_schema() {
            return internal_err!("a shipped scan's work has another shape");
        }
        if readers.len() != plain.locations.len() {
            return internal_err!("a shipped scan has a store per location");
        }
        let scan = Arc::new(plain.clone().build_with(&readers, site)?);
        let n = work.properties().output_partitioning().partition_count();
        let props = PlanProperties::new(
            EquivalenceProperties::new(scan.schema()),
            Partitioning::UnknownPartitioning(n),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(ShippedScanExec {
            plain,
            scan,
            readers,
            work,
            props: Arc::new(props),
        })
    }

    /// The scan as plain data, without its objects (they travel as the work table).
    pub fn plain(&self) -> &PlainScan {
        &self.plain
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
            [work] => Ok(Arc::new(ShippedScanExec::new(
                self.plain.clone(),
                self.readers.clone(),
                self.scan.site(),
                work.clone(),
            )?)),
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
        let readers = self.readers.clone();
        let schema = scan.schema();
        let rows = futures::stream::once(async move {
            let batches: Vec<RecordBatch> = work.try_collect().await?;
            let objects = work_objects(&batches)?
                .into_iter()
                .map(|o| o.open(&readers))
                .collect::<Result<Vec<_>>>()?;
            let stats = Arc::new(ScanStats::default());
            let stream = Arc::new(scan.over(objects, stats.clone())?).execute(0, context)?;
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
