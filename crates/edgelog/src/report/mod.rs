//! Reports: the questions operators ask every day, as panels.
//!
//! A panel is a SQL file in `panels/` over the canonical columns, so every
//! dialect gets it; a file holds one or more queries, each introduced by
//! `-- query: NAME (KIND) TITLE`. [`run_panels`] reads the `logs` of a
//! session once ([`shared`]) and answers every query of every chosen panel
//! from that one pass (the engine's `QueryService::report` calls it per
//! window); [`model`] is the result; [`render`] turns it into text,
//! Markdown or JSON, [`html`] into one self-contained page; [`human`] holds
//! the labels, units and number formats pages for people share. Only the
//! renderers make text; nothing here prints.

pub mod html;
pub mod human;
pub mod model;
pub mod render;
pub mod shared;

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema};
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_plan::{ExecutionPlan, collect, execute_stream};
use datafusion::prelude::SessionContext;

use crate::dialect::canonical::reported_columns;
pub use model::{Cell, Kind, PanelResult, Report, TableResult};
use shared::SharedScan;

/// Every panel, in the order a full report shows them: name and SQL.
const PANEL_FILES: &[(&str, &str)] = &[
    ("overview", include_str!("panels/overview.sql")),
    ("traffic", include_str!("panels/traffic.sql")),
    ("status", include_str!("panels/status.sql")),
    ("cache", include_str!("panels/cache.sql")),
    ("paths", include_str!("panels/paths.sql")),
    ("clients", include_str!("panels/clients.sql")),
    ("referrers", include_str!("panels/referrers.sql")),
    ("agents", include_str!("panels/agents.sql")),
    ("hosts", include_str!("panels/hosts.sql")),
    ("errors", include_str!("panels/errors.sql")),
    ("slow", include_str!("panels/slow.sql")),
];

/// One query of a panel.
#[derive(Debug, Clone)]
pub struct PanelQuery {
    /// Its name within the panel (`by_bytes`).
    pub name: String,
    /// How its rows are shown.
    pub kind: Kind,
    /// Its heading.
    pub title: String,
    /// The SQL.
    pub sql: String,
}

/// A panel: a heading and its queries.
#[derive(Debug, Clone)]
pub struct Panel {
    /// `overview`, `paths`, ...
    pub name: &'static str,
    /// The first comment line of its file.
    pub title: String,
    /// Its queries, in file order.
    pub queries: Vec<PanelQuery>,
}

/// Every panel edgelog knows, parsed from its SQL file.
pub fn panels() -> Vec<Panel> {
    PANEL_FILES.iter().map(|(name, text)| parse_panel(name, text)).collect()
}

fn parse_panel(name: &'static str, text: &str) -> Panel {
    let mut title = String::new();
    let mut queries: Vec<PanelQuery> = Vec::new();
    for line in text.lines() {
        if let Some(head) = line.strip_prefix("-- query: ") {
            let (qname, rest) = head.split_once(' ').unwrap_or((head, ""));
            let (kind, qtitle) = match rest.split_once(") ") {
                Some((k, t)) => (k.trim_start_matches('('), t),
                None => ("top", rest),
            };
            queries.push(PanelQuery {
                name: qname.to_string(),
                kind: Kind::from_name(kind),
                title: qtitle.to_string(),
                sql: String::new(),
            });
        } else if let Some(q) = queries.last_mut() {
            q.sql.push_str(line);
            q.sql.push('\n');
        } else if let Some(t) = line.strip_prefix("-- ")
            && title.is_empty()
        {
            title = t.to_string();
        }
    }
    Panel { name, title, queries }
}

/// The panels a report names, checked; all of them when none is named.
pub fn choose_panels(names: &[String]) -> Result<Vec<Panel>, String> {
    let all = panels();
    if names.is_empty() {
        return Ok(all);
    }
    names
        .iter()
        .map(|n| {
            all.iter().find(|p| p.name == n).cloned().ok_or_else(|| {
                let known: Vec<_> = all.iter().map(|p| p.name).collect();
                format!("unknown panel {n:?} (known: {})", known.join(", "))
            })
        })
        .collect()
}

/// The columns the panels read, from the table `table` of `ctx`
/// (`request_id` as text, NULL where the format has none).
async fn reported_rows(ctx: &SessionContext, table: &str) -> Result<datafusion::dataframe::DataFrame> {
    let logs = ctx.table(table).await?;
    let has_request_id = logs.schema().field_with_unqualified_name("request_id").is_ok();
    let mut select: Vec<String> = reported_columns().map(|c| format!("\"{c}\"")).collect();
    select.push(if has_request_id {
        "CAST(request_id AS VARCHAR) AS request_id".into()
    } else {
        "CAST(NULL AS VARCHAR) AS request_id".into()
    });
    ctx.sql(&format!("SELECT {} FROM {table}", select.join(", ")))
        .await
        .map_err(|e| e.context("the log format lacks a canonical column the reports need"))
}

/// Answers every query of `chosen` over the table `logs` of `ctx`, each as
/// its own plan run by `run` (a cluster: the one-pass shared scan is a
/// single-process optimisation), plus one plan counting the rows. Returns
/// the panels, the count's plan (its listing was made here) and the rows.
pub async fn run_panels_each<F, Fut>(
    ctx: &SessionContext,
    chosen: &[Panel],
    run: F,
) -> Result<(Vec<PanelResult>, Arc<dyn ExecutionPlan>, u64)>
where
    F: Fn(Arc<dyn ExecutionPlan>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<RecordBatch>>>,
{
    let raw = ctx.table("logs").await?;
    ctx.deregister_table("logs")?;
    ctx.register_table("edgelog_report_rows", raw.into_view())?;
    let base = reported_rows(ctx, "edgelog_report_rows").await?;
    ctx.register_table("logs", base.into_view())?;
    let count = ctx
        .sql("SELECT count(*) FROM logs")
        .await?
        .create_physical_plan()
        .await?;
    let counted = run(count.clone()).await?;
    let rows = counted
        .iter()
        .filter_map(|b| b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>())
        .flat_map(|a| a.iter().flatten())
        .map(|n| n.max(0) as u64)
        .sum();
    let mut panels: Vec<PanelResult> = chosen
        .iter()
        .map(|p| PanelResult {
            name: p.name.to_string(),
            title: p.title.clone(),
            tables: Vec::new(),
        })
        .collect();
    for (i, panel) in chosen.iter().enumerate() {
        for q in &panel.queries {
            let plan = ctx
                .sql(&q.sql)
                .await
                .map_err(|e| e.context(format!("report query {}", q.name)))?
                .create_physical_plan()
                .await?;
            let batches = run(plan).await?;
            panels[i]
                .tables
                .push(TableResult::from_batches(&q.name, &q.title, q.kind, &batches)?);
        }
    }
    Ok((panels, count, rows))
}

/// Answers every query of `chosen` over the table `logs` of `ctx` from one
/// scan of it. Returns the panels and the physical plan of that scan (its
/// metrics say what was read).
pub async fn run_panels(ctx: &SessionContext, chosen: &[Panel]) -> Result<(Vec<PanelResult>, Arc<dyn ExecutionPlan>)> {
    let base = reported_rows(ctx, "logs").await?;
    let base_schema = Arc::new(Schema::new(
        base.schema()
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), f.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));

    let queries: Vec<(usize, &PanelQuery)> = chosen
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.queries.iter().map(move |q| (i, q)))
        .collect();
    let shared = Arc::new(SharedScan::new(base_schema, queries.len()));
    // Same settings and memory pool as the scan's session, so a memory
    // limit bounds the panel aggregates too.
    let panel_ctx = SessionContext::new_with_config_rt(ctx.copied_config(), ctx.runtime_env());
    crate::functions::register_all(&panel_ctx);
    panel_ctx.register_table("logs", shared.clone())?;
    let mut plans = Vec::with_capacity(queries.len());
    for (_, q) in &queries {
        let df = panel_ctx
            .sql(&q.sql)
            .await
            .map_err(|e| e.context(format!("report query {}", q.name)))?;
        plans.push(df.create_physical_plan().await?);
    }
    shared.close_unclaimed();
    let base_plan = base.create_physical_plan().await?;
    let source = execute_stream(base_plan.clone(), ctx.task_ctx())?;
    let feeder = {
        let shared = shared.clone();
        tokio::spawn(async move { shared.feed(source).await })
    };
    let task = panel_ctx.task_ctx();
    let results = futures::future::join_all(plans.into_iter().map(|p| collect(p, task.clone()))).await;
    feeder
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)).context("the shared scan stopped"))?;

    let mut panels: Vec<PanelResult> = chosen
        .iter()
        .map(|p| PanelResult {
            name: p.name.to_string(),
            title: p.title.clone(),
            tables: Vec::new(),
        })
        .collect();
    for ((panel, q), batches) in queries.iter().zip(results) {
        let batches = batches?;
        let table = TableResult::from_batches(&q.name, &q.title, q.kind, &batches)?;
        panels[*panel].tables.push(table);
    }
    Ok((panels, base_plan))
}
