//! [`LogScanExec`]: the physical scan of a log table. Each partition reads
//! its objects in turn (fetching up to `AHEAD_OBJECTS` of them, at most
//! `AHEAD_BYTES` stored bytes, while parsing the current one), parses
//! them on the blocking pool and streams record batches. What it
//! read is counted twice over: in [`ScanStats`] (live, for a progress bar,
//! with samples of malformed lines) and in its plan metrics (`objects`,
//! `bytes`, `rows`, `malformed`, `unreadable`), which `EXPLAIN ANALYZE`
//! shows, a remote executor can report, and the summary line is built from
//! ([`scan_counts`]).

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use datafusion::common::format::MetricType;
use datafusion::common::runtime::SpawnedTask;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{internal_datafusion_err, internal_err};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use tokio::sync::mpsc;

use super::object::{ScanBuffers, ScanSettings, Unreadable, scan_object};
use super::stats::{ObjectReport, ScanStats};
use crate::config::TimeRange;
use crate::dialect::Dialect;
use crate::source::{ListedObject, SourceError, StoreReader};

/// One object to read and the store it lives in.
#[derive(Debug, Clone)]
pub struct ScanObject {
    /// The store, read with retries.
    pub reader: StoreReader,
    /// The object.
    pub object: ListedObject,
    /// The location (as the user wrote it) whose store holds it: where a
    /// scan shipped elsewhere opens that store again.
    pub location: Arc<str>,
}

/// What a scan was opened from, as plain data (no store, no secret): with
/// it, another process (a cluster's executor) builds the same scan with its
/// own stores and credentials ([`crate::scan::plain`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOrigin {
    /// The dialect, as decided (sample included).
    pub spec: crate::dialect::DialectSpec,
    /// The zone of the schema's times.
    pub zone: String,
    /// Endpoint, region, profile, retries of the locations.
    pub storage: crate::config::StorageOptions,
}

/// The scan of a set of objects of one dialect.
#[derive(Debug)]
pub struct LogScanExec {
    pub(super) dialect: Arc<dyn Dialect>,
    pub(super) full_schema: SchemaRef,
    pub(super) projection: Vec<usize>,
    schema: SchemaRef,
    pub(super) objects: Arc<Vec<ScanObject>>,
    pub(super) partitions: Vec<Vec<usize>>,
    pub(super) rows: TimeRange,
    pub(super) strict: bool,
    pub(super) skip_unreadable: bool,
    stats: Arc<ScanStats>,
    /// What listing and pruning did, for EXPLAIN.
    pub(super) selection: String,
    /// What the scan was opened from, when it can be shipped.
    pub(super) origin: Option<Arc<ScanOrigin>>,
    /// Where it runs, when not here (a cluster's executor): errors name it.
    pub(super) site: Option<Arc<str>>,
    props: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

/// The counters of one partition's scan.
#[derive(Debug, Clone)]
struct ScanMetrics {
    objects: Count,
    bytes: Count,
    rows: Count,
    malformed: Count,
    unreadable: Count,
}

impl ScanMetrics {
    fn new(set: &ExecutionPlanMetricsSet, partition: usize) -> Self {
        let counter = |name: &'static str| {
            MetricBuilder::new(set)
                .with_type(MetricType::Summary)
                .counter(name, partition)
        };
        ScanMetrics {
            objects: counter(OBJECTS),
            bytes: counter(BYTES),
            rows: counter(ROWS),
            malformed: counter(MALFORMED),
            unreadable: counter(UNREADABLE),
        }
    }

    /// One object done (or given up on: then `unreadable`).
    fn add(&self, size: u64, report: &ObjectReport, unreadable: bool) {
        let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        if unreadable {
            self.unreadable.add(1);
        } else {
            self.objects.add(1);
        }
        self.bytes.add(n(size));
        self.rows.add(n(report.rows));
        self.malformed.add(n(report.malformed));
    }
}

/// Objects read to the end.
const OBJECTS: &str = "objects";
/// Stored (compressed) bytes of the objects read or given up on.
const BYTES: &str = "bytes";
/// Rows returned.
const ROWS: &str = "rows";
/// Lines that did not parse.
const MALFORMED: &str = "malformed";
/// Objects skipped as unreadable (`--skip-unreadable`).
const UNREADABLE: &str = "unreadable";

/// What every log scan in a plan read, from their metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanCounts {
    /// Objects read to the end.
    pub objects: u64,
    /// Stored bytes read.
    pub bytes: u64,
    /// Rows returned.
    pub rows: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// Objects skipped as unreadable.
    pub unreadable: u64,
    /// Rows read from a lake (counted in `rows` too).
    pub lake_rows: u64,
}

/// The metric a lake's scan counts its rows in (`lake/table.rs`).
pub const LAKE_ROWS: &str = "lake_rows";

/// Sums the metrics of every [`LogScanExec`] in `plan`; `None` when it
/// has none (a statement DataFusion ran while planning, such as `CREATE
/// TABLE ... AS`, leaves only its result in the plan).
pub fn scan_counts(plan: &dyn ExecutionPlan) -> Option<ScanCounts> {
    let mut out: Option<ScanCounts> = None;
    if let Some(scan) = plan.downcast_ref::<LogScanExec>() {
        let m = scan.metrics.clone_inner();
        let get = |name: &str| m.sum_by_name(name).map_or(0, |v| v.as_usize() as u64);
        out = Some(ScanCounts {
            objects: get(OBJECTS),
            bytes: get(BYTES),
            rows: get(ROWS),
            malformed: get(MALFORMED),
            unreadable: get(UNREADABLE),
            lake_rows: 0,
        });
    } else if let Some(m) = plan.metrics()
        && let Some(rows) = m.sum_by_name(LAKE_ROWS)
    {
        let rows = rows.as_usize() as u64;
        out = Some(ScanCounts {
            rows,
            lake_rows: rows,
            ..ScanCounts::default()
        });
    }
    for child in plan.children() {
        if let Some(c) = scan_counts(child.as_ref()) {
            let o = out.get_or_insert_with(ScanCounts::default);
            o.objects += c.objects;
            o.bytes += c.bytes;
            o.rows += c.rows;
            o.malformed += c.malformed;
            o.unreadable += c.unreadable;
            o.lake_rows += c.lake_rows;
        }
    }
    out
}

impl LogScanExec {
    /// A scan of `objects`, spread over at most `target_partitions`
    /// partitions so that each gets a similar number of bytes.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dialect: Arc<dyn Dialect>,
        full_schema: SchemaRef,
        projection: Vec<usize>,
        objects: Vec<ScanObject>,
        target_partitions: usize,
        rows: TimeRange,
        (strict, skip_unreadable): (bool, bool),
        stats: Arc<ScanStats>,
        selection: String,
    ) -> Result<Self> {
        let n = target_partitions.clamp(1, objects.len().max(1));
        let mut order: Vec<usize> = (0..objects.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(objects[i].object.size));
        let mut partitions = vec![Vec::new(); n];
        let mut load = vec![0u64; n];
        for i in order {
            let p = (0..n).min_by_key(|&p| load[p]).unwrap_or(0);
            load[p] += objects[i].object.size.max(1);
            partitions[p].push(i);
        }
        for p in &mut partitions {
            p.sort_by(|&a, &b| objects[a].object.name.cmp(&objects[b].object.name));
        }
        LogScanExec::with_partitions(
            dialect,
            full_schema,
            projection,
            objects,
            partitions,
            rows,
            (strict, skip_unreadable),
            stats,
            selection,
        )
    }

    /// A scan of `objects` in exactly these `partitions` (indexes into
    /// `objects`), as [`LogScanExec::new`] spread them.
    #[allow(clippy::too_many_arguments)]
    pub fn with_partitions(
        dialect: Arc<dyn Dialect>,
        full_schema: SchemaRef,
        projection: Vec<usize>,
        objects: Vec<ScanObject>,
        partitions: Vec<Vec<usize>>,
        rows: TimeRange,
        (strict, skip_unreadable): (bool, bool),
        stats: Arc<ScanStats>,
        selection: String,
    ) -> Result<Self> {
        if partitions.iter().flatten().any(|&i| i >= objects.len()) {
            return internal_err!("a scan partition names an object the scan does not have");
        }
        let schema = Arc::new(full_schema.project(&projection)?);
        let n = partitions.len().max(1);
        let mut partitions = partitions;
        partitions.resize(n, Vec::new());
        let props = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(n),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(LogScanExec {
            dialect,
            full_schema,
            projection,
            schema,
            objects: Arc::new(objects),
            partitions,
            rows,
            strict,
            skip_unreadable,
            stats,
            selection,
            origin: None,
            site: None,
            props: Arc::new(props),
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }

    /// The same scan over other `objects`, all in one partition, counted in
    /// `stats`: a cluster's task reads its share of a shipped scan so.
    pub fn over(&self, objects: Vec<ScanObject>, stats: Arc<ScanStats>) -> Result<LogScanExec> {
        let all = (0..objects.len()).collect();
        let mut scan = self.rebuilt(objects, vec![all])?;
        scan.stats = stats;
        Ok(scan)
    }

    fn rebuilt(&self, objects: Vec<ScanObject>, partitions: Vec<Vec<usize>>) -> Result<LogScanExec> {
        let mut scan = LogScanExec::with_partitions(
            self.dialect.clone(),
            self.full_schema.clone(),
            self.projection.clone(),
            objects,
            partitions,
            self.rows,
            (self.strict, self.skip_unreadable),
            self.stats.clone(),
            self.selection.clone(),
        )?
        .with_origin(self.origin.clone());
        scan.site = self.site.clone();
        Ok(scan)
    }

    /// Where it runs, when not here.
    pub fn site(&self) -> Option<Arc<str>> {
        self.site.clone()
    }

    /// The objects it reads.
    pub fn objects(&self) -> &[ScanObject] {
        &self.objects
    }

    /// The object indexes of each partition.
    pub fn partitions(&self) -> &[Vec<usize>] {
        &self.partitions
    }

    /// The same scan, knowing what it was opened from (so it can be shipped).
    pub fn with_origin(mut self, origin: Option<Arc<ScanOrigin>>) -> Self {
        self.origin = origin;
        self
    }
}

impl DisplayAs for LogScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let cols: Vec<&str> = self.schema.fields().iter().map(|f| f.name().as_str()).collect();
        write!(
            f,
            "LogScanExec: format={}, {}, partitions={}, projection=[{}]",
            self.dialect.name(),
            self.selection,
            self.partitions.len(),
            cols.join(", ")
        )
    }
}

impl ExecutionPlan for LogScanExec {
    fn name(&self) -> &str {
        "LogScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
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

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            internal_err!("LogScanExec has no children")
        }
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let ids = self
            .partitions
            .get(partition)
            .cloned()
            .ok_or_else(|| internal_datafusion_err!("LogScanExec has no partition {partition}"))?;
        let job = PartitionJob {
            dialect: self.dialect.clone(),
            full_schema: self.full_schema.clone(),
            projection: self.projection.clone(),
            objects: self.objects.clone(),
            ids,
            rows: self.rows,
            settings: ScanSettings {
                batch_size: context.session_config().batch_size(),
                strict: self.strict,
                skip_unreadable: self.skip_unreadable,
            },
            stats: self.stats.clone(),
            metrics: ScanMetrics::new(&self.metrics, partition),
            site: self.site.clone(),
        };
        let (tx, rx) = mpsc::channel(2);
        let task = SpawnedTask::spawn(job.run(tx));
        // The task lives as long as the stream: dropping the stream (LIMIT
        // met, query cancelled) aborts the task.
        let stream = futures::stream::unfold((rx, task), |(mut rx, task)| async move {
            rx.recv().await.map(|batch| (batch, (rx, task)))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream)))
    }
}

/// Where a remote scan's error starts and ends inside the text a cluster
/// passes back (which quotes and escapes it): [`remote_message`] finds it.
pub const REMOTE_OPEN: &str = "<<edgelog: ";
/// See [`REMOTE_OPEN`].
pub const REMOTE_CLOSE: &str = " :edgelog>>";

/// A scan error raised at `site`, on one line and marked so that the
/// process that asked can show it as it was, naming the site.
fn remote_error(site: &str, e: &DataFusionError) -> DataFusionError {
    let text = e.to_string().replace("External error: ", "").replace('\n', " ");
    DataFusionError::Execution(format!("{REMOTE_OPEN}{text} (on {site}){REMOTE_CLOSE}"))
}

/// The scan error a remote site marked inside `text` (quoted or not), if any.
pub fn remote_message(text: &str) -> Option<String> {
    let start = text.find(REMOTE_OPEN)? + REMOTE_OPEN.len();
    let len = text[start..].find(REMOTE_CLOSE)?;
    let inner = &text[start..start + len];
    // Debug quoting escaped it; undo the escapes it makes of plain text.
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push(' '),
                Some('t') => out.push(' '),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Everything one partition needs, owned, so it can run on its own task.
struct PartitionJob {
    dialect: Arc<dyn Dialect>,
    full_schema: SchemaRef,
    projection: Vec<usize>,
    objects: Arc<Vec<ScanObject>>,
    ids: Vec<usize>,
    rows: TimeRange,
    settings: ScanSettings,
    stats: Arc<ScanStats>,
    metrics: ScanMetrics,
    site: Option<Arc<str>>,
}

/// Most objects one partition fetches ahead of the one it parses: enough
/// to hide the latency of object storage behind small objects.
const AHEAD_OBJECTS: usize = 8;
/// Most stored bytes among them (one object is always fetched, whatever
/// its size), so that memory stays bounded with large objects.
const AHEAD_BYTES: u64 = 32 << 20;

/// The fetches in flight for one partition, in scan order.
#[derive(Default)]
struct ReadAhead {
    /// Index into the partition's objects of the next one to fetch.
    next: usize,
    /// Object index and its download, oldest first.
    pending: std::collections::VecDeque<(usize, SpawnedTask<Result<Bytes>>)>,
    /// Stored bytes of the objects in `pending`.
    bytes: u64,
}

impl ReadAhead {
    /// Starts fetches until the object or byte bound is met.
    fn fill(&mut self, job: &PartitionJob) {
        while let Some(&i) = job.ids.get(self.next) {
            let size = job.objects[i].object.size;
            let room = self.pending.len() < AHEAD_OBJECTS && self.bytes.saturating_add(size) <= AHEAD_BYTES;
            if !self.pending.is_empty() && !room {
                break;
            }
            self.pending
                .push_back((i, SpawnedTask::spawn(fetch(job.objects[i].clone()))));
            self.bytes = self.bytes.saturating_add(size);
            self.next += 1;
        }
    }

    /// The next object in scan order and its download.
    fn next_with(&mut self, job: &PartitionJob) -> Option<(usize, SpawnedTask<Result<Bytes>>)> {
        let (i, task) = self.pending.pop_front()?;
        self.bytes = self.bytes.saturating_sub(job.objects[i].object.size);
        Some((i, task))
    }
}

/// The whole object, or why it cannot be had (after the reader's retries).
async fn fetch(obj: ScanObject) -> Result<Bytes> {
    obj.reader.get(&obj.object.path, &obj.object.name).await.map_err(|e| {
        let why = match e {
            SourceError::Storage { why, .. } => why,
            other => other.to_string(),
        };
        DataFusionError::External(Box::new(Unreadable {
            object: obj.object.name.clone(),
            why,
        }))
    })
}

impl PartitionJob {
    async fn run(self, tx: mpsc::Sender<Result<RecordBatch>>) {
        if let Err(e) = self.scan_all(&tx).await {
            let e = match &self.site {
                Some(site) => remote_error(site, &e),
                None => e,
            };
            // The receiver may be gone already; then nobody needs the error.
            let _ = tx.send(Err(e)).await;
        }
    }

    async fn scan_all(&self, tx: &mpsc::Sender<Result<RecordBatch>>) -> Result<()> {
        let mut ahead = ReadAhead::default();
        // Inflate buffers travel with the partition from object to object.
        let mut buffers = Some(ScanBuffers::new());
        loop {
            ahead.fill(self);
            let Some((i, pending)) = ahead.next_with(self) else {
                break;
            };
            let fetched = pending
                .join()
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            // Read ahead: the next objects download while this one is parsed.
            ahead.fill(self);
            let size = self.objects[i].object.size;
            let bytes = match fetched {
                Ok(bytes) => bytes,
                Err(e) => {
                    self.skip_or_fail(e, size, ObjectReport::default())?;
                    continue;
                }
            };
            let name = self.objects[i].object.name.clone();
            let mut decoder = self.dialect.decoder(&self.full_schema, &self.projection, self.rows);
            let settings = self.settings;
            let sender = tx.clone();
            let mut bufs = buffers.take().unwrap_or_default();
            let scanned = SpawnedTask::spawn_blocking(move || {
                let (report, outcome) =
                    scan_object(bytes, &name, decoder.as_mut(), settings, &mut bufs, &mut |batch| {
                        sender.blocking_send(Ok(batch)).is_ok()
                    });
                (name, report, outcome, bufs)
            })
            .join()
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
            let (name, report, outcome, bufs) = scanned;
            buffers = Some(bufs);
            match outcome {
                Ok(()) => {
                    self.metrics.add(size, &report, false);
                    self.stats.add_object(&name, size, report);
                }
                Err(e) => self.skip_or_fail(e, size, report)?,
            }
            if tx.is_closed() {
                break;
            }
        }
        Ok(())
    }

    /// An object that failed: with `--skip-unreadable` and a fault of the
    /// object (not of the query), noted in the summary and passed over;
    /// otherwise the error of the query.
    fn skip_or_fail(&self, e: DataFusionError, size: u64, partial: ObjectReport) -> Result<()> {
        match Unreadable::of(&e) {
            Some(u) if self.settings.skip_unreadable => {
                self.metrics.add(size, &partial, true);
                self.stats.add_unreadable(&u.object, &u.why, size, partial);
                Ok(())
            }
            _ => Err(e),
        }
    }
}
