//! [`QueryService`]: SQL and reports over an opened [`LogSet`], answered as
//! values (a stream of batches, a [`Report`]) with what the scan saw.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{SessionConfig, SessionContext};

use super::Error;
use super::logset::LogSet;
use super::request::{Compare, ScanRequest};
use crate::config::TimeRange;
use crate::report::shared::SharedScan;
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
    remote: Option<Arc<dyn Remote>>,
}

/// Somewhere else that runs the plans made here (a cluster): planning,
/// listing and pruning happen in this process, the scans and operators
/// there. Plans given to it hold only shippable scans
/// ([`LogSet::shippable`]).
#[async_trait::async_trait]
pub trait Remote: std::fmt::Debug + Send + Sync {
    /// The session settings plans for it are made with (partitions, the
    /// options it needs), from this process's own.
    fn session_config(&self, local: SessionConfig) -> SessionConfig;

    /// Runs `plan` there and streams its rows back.
    async fn execute(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &SessionConfig,
    ) -> Result<SendableRecordBatchStream, DataFusionError>;

    /// Where it is, for the summary (`df://host:port`).
    fn describe(&self) -> String;
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
    /// Where the plan ran, when not here: its scans' figures stayed there.
    remote: Option<String>,
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
        if self.remote.is_some() {
            // The listing was made here; what the scans read, there.
            totals.objects = totals.selected as u64;
            return totals;
        }
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
        match &self.remote {
            Some(at) => {
                let t = self.totals();
                let read = if t.candidates == 0 {
                    "the lake".to_string()
                } else {
                    format!("{} objects selected of {} candidates", t.selected, t.candidates)
                };
                format!("{read}, scanned on the cluster at {at} (executors log the malformed lines they meet)")
            }
            None => self.totals().summary(),
        }
    }
}

/// A query planned logically, not started.
pub struct PreparedQuery {
    df: DataFrame,
    stats: Arc<ScanStats>,
    remote: Option<Arc<dyn Remote>>,
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

    /// At most `rows` rows of the answer.
    pub fn limit(self, rows: usize) -> Result<PreparedQuery, Error> {
        Ok(PreparedQuery {
            df: self.df.limit(0, Some(rows))?,
            stats: self.stats,
            remote: self.remote,
        })
    }

    /// Plans the scan (listing the objects) and starts it.
    pub async fn run(self) -> Result<QueryRun, Error> {
        let task = self.df.task_ctx();
        let plan = self.df.create_physical_plan().await?;
        let stream = match &self.remote {
            // A plan that reads no logs (a constant, a count DataFusion
            // answered from statistics) is not worth a job.
            Some(remote) if reads_logs(plan.as_ref()) => remote.execute(plan.clone(), task.session_config()).await?,
            _ => execute_stream(plan.clone(), Arc::new(task))?,
        };
        Ok(QueryRun {
            stream,
            scan: ScanHandle {
                stats: self.stats,
                plan,
                remote: self.remote.as_ref().map(|r| r.describe()),
            },
        })
    }
}

/// Whether `plan` reads logs (a raw scan or the lake's).
fn reads_logs(plan: &dyn ExecutionPlan) -> bool {
    plan.downcast_ref::<crate::scan::exec::LogScanExec>().is_some()
        || plan.downcast_ref::<crate::lake::table::LakeScanExec>().is_some()
        || plan.children().into_iter().any(|c| reads_logs(c.as_ref()))
}

/// How a report is asked for beyond its panels and range.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Beside the window this names (see [`Compare`]).
    pub compare: Option<Compare>,
    /// Only the rows of this host (the canonical `host` column).
    pub host: Option<String>,
    /// A range without objects is an empty report rather than an error
    /// (a dashboard showing the last hour of a quiet site).
    pub allow_empty: bool,
}

impl QueryService {
    /// Opens `request` (see [`LogSet::open`]).
    pub async fn open(request: &ScanRequest) -> Result<QueryService, Error> {
        Ok(QueryService {
            logs: LogSet::open(request).await?,
            remote: None,
        })
    }

    /// Questions over logs opened already.
    pub fn new(logs: LogSet) -> QueryService {
        QueryService { logs, remote: None }
    }

    /// Questions over `logs` whose plans run on `remote` (see [`Remote`]).
    pub async fn on_remote(logs: LogSet, remote: Arc<dyn Remote>) -> Result<QueryService, Error> {
        Ok(QueryService {
            logs: logs.shippable().await?,
            remote: Some(remote),
        })
    }

    /// A session for one question: edgelog's, shaped for the remote when
    /// there is one.
    fn context(&self, logs: &LogSet) -> Result<SessionContext, Error> {
        let ctx = new_context(logs.request().memory_limit)?;
        Ok(match &self.remote {
            None => ctx,
            Some(remote) => {
                let config = remote.session_config(ctx.copied_config());
                let ctx = SessionContext::new_with_config_rt(config, ctx.runtime_env());
                crate::functions::register_all(&ctx);
                ctx
            }
        })
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
        let ctx = self.context(&self.logs)?;
        let stats = self.logs.register(&ctx)?;
        let df = ctx.sql(sql).await?;
        Ok(PreparedQuery {
            df,
            stats,
            remote: self.remote.clone(),
        })
    }

    /// [`QueryService::prepare`] for SQL from someone else (the server's
    /// callers): only a query is planned; DDL (`CREATE EXTERNAL TABLE`),
    /// DML (`INSERT`, `COPY ... TO`) and statements (`SET`) are refused as
    /// plan errors, so nothing can read or write a file of this machine.
    pub async fn prepare_read_only(&self, sql: &str) -> Result<PreparedQuery, Error> {
        let ctx = self.context(&self.logs)?;
        let stats = self.logs.register(&ctx)?;
        let options = datafusion::execution::context::SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let df = ctx.sql_with_options(sql, options).await?;
        Ok(PreparedQuery {
            df,
            stats,
            remote: self.remote.clone(),
        })
    }

    /// Answers every query of `sqls` from one scan of `logs`, reading the
    /// columns any of them needs (alert rules over one source and window).
    /// A query that reads `logs` more than once (a self-join, a subquery)
    /// runs alone; a query that cannot be planned gets its own error.
    pub async fn query_shared(&self, sqls: &[String]) -> Result<Vec<Result<Vec<RecordBatch>, Error>>, Error> {
        let ctx = new_context(self.logs.request().memory_limit)?;
        self.logs.register(&ctx)?;
        let table = ctx.table("logs").await?;
        let full = Arc::new(Schema::new(
            table
                .schema()
                .fields()
                .iter()
                .map(|f| Field::new(f.name(), f.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        // Planned against the shared table itself (a real table, where a
        // lake's `logs` is a view that planning inlines), so each query's
        // scans of `logs` and their columns can be counted.
        let shared = Arc::new(SharedScan::new(full, 0));
        let shared_ctx = SessionContext::new_with_config_rt(ctx.copied_config(), ctx.runtime_env());
        crate::functions::register_all(&shared_ctx);
        shared_ctx.register_table("logs", shared.clone())?;
        enum How {
            // Planned once; its physical plan is made after the scans open.
            Shared(Box<DataFrame>),
            Alone,
            Failed(Error),
        }
        let mut how = Vec::with_capacity(sqls.len());
        let mut columns: Vec<String> = Vec::new();
        for sql in sqls {
            let planned = async {
                let df = shared_ctx.sql(sql).await?;
                let optimized = shared_ctx.state().optimize(df.logical_plan())?;
                Ok::<_, DataFusionError>((df, optimized))
            }
            .await;
            let (df, optimized) = match planned {
                Ok(p) => p,
                Err(e) => {
                    how.push(How::Failed(e.into()));
                    continue;
                }
            };
            let mut scans = 0;
            let mut needs = Vec::new();
            optimized.apply(|node| {
                if let LogicalPlan::TableScan(scan) = node
                    && scan.table_name.table() == "logs"
                {
                    scans += 1;
                    // Filters pushed into the scan may name columns it
                    // does not return: the shared scan reads them too.
                    let filtered = scan
                        .filters
                        .iter()
                        .flat_map(|f| f.column_refs())
                        .map(|c| c.name.clone());
                    needs.extend(
                        scan.projected_schema
                            .fields()
                            .iter()
                            .map(|f| f.name().clone())
                            .chain(filtered),
                    );
                }
                Ok(TreeNodeRecursion::Continue)
            })?;
            if scans == 1 {
                for name in needs {
                    if !columns.contains(&name) {
                        columns.push(name);
                    }
                }
                how.push(How::Shared(Box::new(df)));
            } else {
                how.push(How::Alone);
            }
        }
        if columns.is_empty() {
            // count(*) alone: the first column carries the rows.
            columns.push(table.schema().field(0).name().clone());
        }
        let n_shared = how.iter().filter(|h| matches!(h, How::Shared(_))).count();
        shared.feed_columns(columns.clone());
        shared.open_scans(n_shared);
        let mut plans = Vec::with_capacity(sqls.len());
        for h in how {
            plans.push(match h {
                How::Shared(df) => Ok(Some(df.create_physical_plan().await.map_err(Error::from))),
                How::Alone => Ok(None),
                How::Failed(e) => Err(e),
            });
        }
        shared.close_unclaimed();
        let mut answers: Vec<Option<Result<Vec<RecordBatch>, Error>>> = Vec::with_capacity(sqls.len());
        if n_shared > 0 {
            let select: Vec<String> = columns
                .iter()
                .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
                .collect();
            let base = ctx.sql(&format!("SELECT {} FROM logs", select.join(", "))).await?;
            let source = execute_stream(base.create_physical_plan().await?, ctx.task_ctx())?;
            let feeder = {
                let shared = shared.clone();
                tokio::spawn(async move { shared.feed(source).await })
            };
            let task = shared_ctx.task_ctx();
            let shared_answers = futures::future::join_all(plans.iter_mut().map(|p| {
                let plan = match p {
                    Ok(Some(Ok(plan))) => Some(plan.clone()),
                    _ => None,
                };
                let task = task.clone();
                async move {
                    match plan {
                        Some(plan) => Some(
                            datafusion::physical_plan::collect(plan, task)
                                .await
                                .map_err(Error::from),
                        ),
                        None => None,
                    }
                }
            }))
            .await;
            feeder
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)).context("the shared scan stopped"))?;
            answers.extend(shared_answers);
        } else {
            answers.extend(plans.iter().map(|_| None));
        }
        let mut out = Vec::with_capacity(sqls.len());
        for ((sql, plan), answer) in sqls.iter().zip(plans).zip(answers) {
            out.push(match (plan, answer) {
                (Err(e), _) => Err(e),
                (Ok(Some(Err(e))), _) => Err(e),
                (_, Some(answer)) => answer,
                // Read `logs` more than once: on its own.
                (Ok(None), None) => match self.query(sql).await {
                    Ok(run) => futures::TryStreamExt::try_collect(run.stream)
                        .await
                        .map_err(Error::from),
                    Err(e) => Err(e),
                },
                (Ok(Some(Ok(_))), None) => Err(Error::Request("the shared scan lost a query".into())),
            });
        }
        Ok(out)
    }

    /// The report of `panels` over the set's range, beside the window
    /// `compare` names when given (both windows closed at now).
    pub async fn report(&self, panels: &[Panel], compare: Option<Compare>) -> Result<Report, Error> {
        self.report_with(
            panels,
            &ReportOptions {
                compare,
                ..ReportOptions::default()
            },
        )
        .await
    }

    /// [`QueryService::report`] with the options a dashboard has: one host
    /// only, and a range without objects as an empty report.
    pub async fn report_with(&self, panels: &[Panel], options: &ReportOptions) -> Result<Report, Error> {
        let compare = options.compare;
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
        let host = options.host.as_deref();
        let mut report = self.window(panels, range, host).await?;
        // An empty comparison window is a fact worth showing; an empty report is not.
        if !options.allow_empty && report.objects == 0 && report.rows == 0 && self.logs.request().lake.is_none() {
            return Err(Error::Request(format!(
                "no log objects in {} for this time range",
                self.logs.request().locations.join(", ")
            )));
        }
        if let Some(prev) = previous {
            let previous = self.window(panels, prev, host).await?;
            report.attach_previous(previous);
        }
        Ok(report)
    }

    /// One window: one scan shared by every query of `panels`.
    async fn window(&self, panels: &[Panel], range: TimeRange, host: Option<&str>) -> Result<Report, Error> {
        let logs = self.logs.with_range(range);
        let ctx = self.context(&logs)?;
        // On a remote each panel is its own plan: raw objects are listed
        // once here, and every plan reads that same list.
        let fixed = match &self.remote {
            Some(_) if !logs.has_lake() => Some(Arc::new(logs.list().await?)),
            _ => None,
        };
        let objects = fixed
            .clone()
            .map_or(crate::scan::table::Objects::Listed, crate::scan::table::Objects::Fixed);
        let stats = match host {
            None => logs.register_as(&ctx, "logs", objects)?,
            Some(host) => {
                // The panels read `logs`; here it is one host's rows.
                let stats = logs.register_as(&ctx, "all_logs", objects)?;
                let one = ctx
                    .table("all_logs")
                    .await?
                    .filter(datafusion::prelude::col("host").eq(datafusion::prelude::lit(host)))?;
                ctx.register_table("logs", one.into_view())?;
                stats
            }
        };
        let (panels, plan, rows) = match &self.remote {
            None => {
                let (panels, plan) = run_panels(&ctx, panels).await?;
                (panels, plan, None)
            }
            Some(remote) => {
                let run = |plan: Arc<dyn ExecutionPlan>| {
                    let config = ctx.copied_config();
                    async move {
                        let stream = remote.execute(plan, &config).await?;
                        futures::TryStreamExt::try_collect::<Vec<RecordBatch>>(stream).await
                    }
                };
                let (panels, plan, rows) = crate::report::run_panels_each(&ctx, panels, run).await?;
                (panels, plan, Some(rows))
            }
        };
        let handle = ScanHandle {
            stats,
            plan,
            remote: self.remote.as_ref().map(|r| r.describe()),
        };
        let mut totals = handle.totals();
        if let Some(rows) = rows {
            totals.rows = rows;
        }
        if let Some(list) = &fixed {
            totals.objects = list.len() as u64;
        }
        let mut report = Report {
            range,
            offset_secs: logs.zone().offset_secs,
            sources: logs.request().locations.clone(),
            rows: totals.rows,
            objects: totals.objects,
            // A cluster's executors keep their counts (and log them).
            malformed: self.remote.is_none().then_some(totals.malformed),
            unreadable: totals.unreadable,
            panels,
            previous_range: None,
        };
        report.finish_series();
        // Without a count (a cluster), no figure rather than a zero.
        report.add_malformed_figure();
        Ok(report)
    }
}
