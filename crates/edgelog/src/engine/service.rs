//! [`QueryService`]: SQL and reports over an opened [`LogSet`], answered as
//! values (a stream of batches, a [`Report`]) with what the scan saw.

use std::sync::Arc;

use datafusion::dataframe::DataFrame;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};

use super::Error;
use super::logset::LogSet;
use super::request::{Compare, ScanRequest};
use crate::config::TimeRange;
use crate::report::{Panel, Report, run_panels};
use crate::scan::exec::scan_counts;
use crate::scan::stats::{ScanStats, ScanTotals};
use crate::session::new_context;

/// Questions over one set of logs: the CLI's `query` and `report`, the
/// demo and the tests ask through this, and so will the lake, alerts and
/// the server.
#[derive(Debug, Clone)]
pub struct QueryService {
    logs: LogSet,
}

/// A running query: its rows, and what its scan sees.
pub struct QueryRun {
    /// The result rows, streamed; the scan runs as they are read.
    pub stream: SendableRecordBatchStream,
    /// What the scan saw; complete once `stream` has ended.
    pub scan: ScanHandle,
}

/// What one query's scans saw: live figures for a progress bar, and totals
/// from the plan's metrics once the query is done.
#[derive(Debug, Clone)]
pub struct ScanHandle {
    stats: Arc<ScanStats>,
    plan: Arc<dyn ExecutionPlan>,
}

impl ScanHandle {
    /// The live counters (bytes and objects done, rows), for progress.
    pub fn stats(&self) -> &Arc<ScanStats> {
        &self.stats
    }

    /// Rows, objects and malformed lines from the scan's plan metrics, with
    /// the samples and lists the counters keep.
    pub fn totals(&self) -> ScanTotals {
        let mut totals = self.stats.snapshot();
        // A plan without a scan (the statement ran while it was planned)
        // keeps the counters' figures.
        if let Some(counts) = scan_counts(self.plan.as_ref()) {
            totals.rows = counts.rows;
            totals.lake_rows = counts.lake_rows;
            totals.objects = counts.objects;
            totals.malformed = counts.malformed;
        }
        totals
    }

    /// The one-line summary of [`ScanHandle::totals`].
    pub fn summary(&self) -> String {
        self.totals().summary()
    }
}

/// A query planned logically, not started.
pub struct PreparedQuery {
    df: DataFrame,
    stats: Arc<ScanStats>,
}

impl PreparedQuery {
    /// The counters the scan will fill.
    pub fn stats(&self) -> &Arc<ScanStats> {
        &self.stats
    }

    /// The result's columns, as planned.
    pub fn schema(&self) -> &datafusion::common::DFSchema {
        self.df.schema()
    }

    /// Plans the scan (listing the objects) and starts it.
    pub async fn run(self) -> Result<QueryRun, Error> {
        let task = self.df.task_ctx();
        let plan = self.df.create_physical_plan().await?;
        let stream = execute_stream(plan.clone(), Arc::new(task))?;
        Ok(QueryRun {
            stream,
            scan: ScanHandle {
                stats: self.stats,
                plan,
            },
        })
    }
}

impl QueryService {
    /// Opens `request` (see [`LogSet::open`]).
    pub async fn open(request: &ScanRequest) -> Result<QueryService, Error> {
        Ok(QueryService {
            logs: LogSet::open(request).await?,
        })
    }

    /// Questions over logs opened already.
    pub fn new(logs: LogSet) -> QueryService {
        QueryService { logs }
    }

    /// The logs asked about.
    pub fn logs(&self) -> &LogSet {
        &self.logs
    }

    /// Plans `sql` over `logs` and starts it.
    pub async fn query(&self, sql: &str) -> Result<QueryRun, Error> {
        self.prepare(sql).await?.run().await
    }

    /// Checks `sql` and plans it logically; [`PreparedQuery::run`] lists the
    /// objects and starts the scan. Between the two, the counters exist (a
    /// progress bar can watch the listing too).
    pub async fn prepare(&self, sql: &str) -> Result<PreparedQuery, Error> {
        let ctx = new_context(self.logs.request().memory_limit)?;
        let stats = self.logs.register(&ctx)?;
        let df = ctx.sql(sql).await?;
        Ok(PreparedQuery { df, stats })
    }

    /// The report of `panels` over the set's range, beside the window
    /// `compare` names when given (both windows closed at now).
    pub async fn report(&self, panels: &[Panel], compare: Option<Compare>) -> Result<Report, Error> {
        let mut range = self.logs.range();
        let previous = match compare {
            Some(how) => {
                // Both windows must be closed for the comparison to be fair.
                let now = self.logs.request().range.now();
                range.until = Some(range.until.unwrap_or(now));
                Some(how.window(range, now).map_err(Error::Request)?)
            }
            None => None,
        };
        let mut report = self.window(panels, range).await?;
        // An empty comparison window is a fact worth showing; an empty report is not.
        if report.objects == 0 && report.rows == 0 && self.logs.request().lake.is_none() {
            return Err(Error::Request(format!(
                "no log objects in {} for this time range",
                self.logs.request().locations.join(", ")
            )));
        }
        if let Some(prev) = previous {
            let previous = self.window(panels, prev).await?;
            report.attach_previous(previous);
        }
        Ok(report)
    }

    /// One window: one scan shared by every query of `panels`.
    async fn window(&self, panels: &[Panel], range: TimeRange) -> Result<Report, Error> {
        let logs = self.logs.with_range(range);
        let ctx = new_context(logs.request().memory_limit)?;
        let stats = logs.register(&ctx)?;
        let (panels, plan) = run_panels(&ctx, panels).await?;
        let totals = ScanHandle { stats, plan }.totals();
        let mut report = Report {
            range,
            offset_secs: logs.zone().offset_secs,
            sources: logs.request().locations.clone(),
            rows: totals.rows,
            objects: totals.objects,
            malformed: totals.malformed,
            unreadable: totals.unreadable,
            panels,
            previous_range: None,
        };
        report.finish_series();
        report.add_malformed_figure();
        Ok(report)
    }
}
