//! One scan, many questions: the rows of one read of the logs are handed to
//! every panel query at once, so that a report costs one pass over the
//! objects however many panels it has, and memory stays bounded (each
//! panel holds only its aggregate; batches flow through small channels).
//!
//! [`SharedScan`] is a table whose every scan receives the same stream. It
//! is made for a known number of scans; [`SharedScan::feed`] reads the
//! source once and sends each batch to all of them.

use std::fmt;
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::internal_err;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;
use tokio::sync::mpsc;

type Receiver = mpsc::Receiver<Result<RecordBatch>>;

/// A table read by a fixed number of scans that all see one stream.
#[derive(Debug)]
pub struct SharedScan {
    schema: SchemaRef,
    receivers: Mutex<Vec<Receiver>>,
    senders: Mutex<Vec<mpsc::Sender<Result<RecordBatch>>>>,
    /// The columns the fed batches hold, by name, when only some of the
    /// table's columns are read (None: every column, in order).
    fed: Mutex<Option<Vec<String>>>,
}

impl SharedScan {
    /// A table of `schema` for `scans` scans.
    pub fn new(schema: SchemaRef, scans: usize) -> Self {
        let (senders, receivers) = (0..scans).map(|_| mpsc::channel(4)).unzip();
        SharedScan {
            schema,
            receivers: Mutex::new(receivers),
            senders: Mutex::new(senders),
            fed: Mutex::new(None),
        }
    }

    /// Makes the table ready for `scans` scans (replacing any before).
    pub fn open_scans(&self, scans: usize) {
        let (senders, receivers) = (0..scans).map(|_| mpsc::channel(4)).unzip();
        *self.senders.lock().unwrap_or_else(|p| p.into_inner()) = senders;
        *self.receivers.lock().unwrap_or_else(|p| p.into_inner()) = receivers;
    }

    /// The fed batches hold only these columns of the table, in this order:
    /// a scan's projection is mapped onto them by name.
    pub fn feed_columns(&self, names: Vec<String>) {
        *self.fed.lock().unwrap_or_else(|p| p.into_inner()) = Some(names);
    }

    /// Drops the scans nobody planned, so that feeding never waits on them.
    pub fn close_unclaimed(&self) {
        self.receivers.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Reads `source` once and hands every batch (or its error) to each
    /// scan. A scan that stopped listening is left out; the rest go on.
    pub async fn feed(&self, mut source: SendableRecordBatchStream) {
        let senders = std::mem::take(&mut *self.senders.lock().unwrap_or_else(|p| p.into_inner()));
        let mut open = senders;
        while let Some(item) = source.next().await {
            let failed = item.is_err();
            let shared = item.map_err(Arc::new);
            let mut still = Vec::with_capacity(open.len());
            for tx in open {
                let msg = match &shared {
                    Ok(batch) => Ok(batch.clone()),
                    Err(e) => Err(DataFusionError::Shared(e.clone())),
                };
                if tx.send(msg).await.is_ok() {
                    still.push(tx);
                }
            }
            open = still;
            if failed || open.is_empty() {
                break;
            }
        }
    }
}

#[async_trait]
impl TableProvider for SharedScan {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let receiver = self.receivers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let Some(receiver) = receiver else {
            return internal_err!("a report query read `logs` more often than planned");
        };
        let projection = projection.cloned();
        let schema = match &projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        // Indices into the fed batches, which may hold fewer columns.
        let fed_projection = match &*self.fed.lock().unwrap_or_else(|p| p.into_inner()) {
            None => projection,
            Some(names) => {
                let wanted: Vec<usize> = projection.unwrap_or_else(|| (0..self.schema.fields().len()).collect());
                let mut mapped = Vec::with_capacity(wanted.len());
                for i in wanted {
                    let name = self.schema.field(i).name();
                    match names.iter().position(|n| n == name) {
                        Some(at) => mapped.push(at),
                        None => return internal_err!("the shared scan does not read the column {name}"),
                    }
                }
                Some(mapped)
            }
        };
        Ok(Arc::new(SharedScanExec::new(schema, fed_projection, receiver)))
    }
}

/// The plan node of one scan of a [`SharedScan`]: one partition, executed once.
struct SharedScanExec {
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    receiver: Mutex<Option<Receiver>>,
    props: Arc<PlanProperties>,
}

impl SharedScanExec {
    fn new(schema: SchemaRef, projection: Option<Vec<usize>>, receiver: Receiver) -> Self {
        let props = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        SharedScanExec {
            schema,
            projection,
            receiver: Mutex::new(Some(receiver)),
            props,
        }
    }
}

impl fmt::Debug for SharedScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedScanExec")
            .field("projection", &self.projection)
            .finish()
    }
}

impl DisplayAs for SharedScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedScanExec: projection={:?}", self.projection)
    }
}

impl ExecutionPlan for SharedScanExec {
    fn name(&self) -> &str {
        "SharedScanExec"
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

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            internal_err!("SharedScanExec has no children")
        }
    }

    fn execute(&self, _partition: usize, _context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let receiver = self.receiver.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(rx) = receiver else {
            return internal_err!("SharedScanExec executed twice");
        };
        let projection = self.projection.clone();
        let stream = futures::stream::unfold((rx, projection), |(mut rx, projection)| async move {
            let item = match (rx.recv().await?, &projection) {
                (Ok(batch), Some(p)) => batch.project(p).map_err(DataFusionError::from),
                (other, _) => other,
            };
            Some((item, (rx, projection)))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream)))
    }
}
