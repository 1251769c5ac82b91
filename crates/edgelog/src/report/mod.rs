//! Reports: the questions operators ask every day, as panels.
//!
//! A panel is a SQL file in `panels/` over the canonical columns, so every
//! dialect gets it; a file holds one or more queries, each introduced by
//! `-- query: NAME (KIND) TITLE`. [`run_report`] reads the logs once
//! ([`shared`]) and answers every query of every chosen panel from that one
//! pass; [`render`] turns the result into text, Markdown or JSON, [`html`]
//! into one self-contained page.

pub mod html;
pub mod model;
pub mod render;
pub mod shared;

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::datatypes::{Field, Schema};
use datafusion::physical_plan::collect;
use datafusion::prelude::SessionContext;

use crate::config::{ScanOptions, StorageOptions, TimeRange};
use crate::session::build_session;
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

/// The canonical columns the panels read; `request_id` is NULL for
/// dialects that do not log one.
const COLUMNS: &[&str] = &[
    "time",
    "host",
    "client_ip",
    "method",
    "path",
    "status",
    "bytes",
    "cache_status",
    "referer",
    "user_agent",
    "request_time",
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

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    /// Locations to read.
    pub locations: Vec<String>,
    /// Format, time range, margin, zone.
    pub scan: ScanOptions,
    /// Endpoint, region, profile.
    pub storage: StorageOptions,
    /// Panel names; empty means all.
    pub panels: Vec<String>,
    /// The window to compare with, if any.
    pub compare: Option<TimeRange>,
    /// Bytes the queries may use.
    pub memory_limit: Option<usize>,
    /// The zone times are shown in, seconds east of UTC.
    pub offset_secs: i32,
}

/// The panels a report names, checked.
pub fn choose_panels(names: &[String]) -> Result<Vec<Panel>> {
    let all = panels();
    if names.is_empty() {
        return Ok(all);
    }
    names
        .iter()
        .map(|n| {
            all.iter().find(|p| p.name == n).cloned().with_context(|| {
                let known: Vec<_> = all.iter().map(|p| p.name).collect();
                format!("unknown panel {n:?} (known: {})", known.join(", "))
            })
        })
        .collect()
}

/// Runs the report, and the comparison window when asked.
pub async fn run_report(cfg: &ReportConfig) -> Result<Report> {
    let chosen = choose_panels(&cfg.panels)?;
    let mut report = run_window(cfg, &chosen, cfg.scan.range).await?;
    // An empty comparison window is a fact worth showing; an empty report is not.
    if report.objects == 0 {
        bail!("no log objects in {} for this time range", cfg.locations.join(", "));
    }
    if let Some(prev) = cfg.compare {
        let previous = run_window(cfg, &chosen, prev).await?;
        report.attach_previous(previous);
    }
    Ok(report)
}

/// One window: one scan shared by every query of `chosen`.
async fn run_window(cfg: &ReportConfig, chosen: &[Panel], range: TimeRange) -> Result<Report> {
    let mut scan = cfg.scan.clone();
    scan.range = range;
    let session = build_session(&cfg.locations, &scan, &cfg.storage, cfg.memory_limit).await?;
    let logs = session.ctx.table("logs").await?;
    let has_request_id = logs.schema().field_with_unqualified_name("request_id").is_ok();
    let mut select: Vec<String> = COLUMNS.iter().map(|c| format!("\"{c}\"")).collect();
    select.push(if has_request_id {
        "CAST(request_id AS VARCHAR) AS request_id".into()
    } else {
        "CAST(NULL AS VARCHAR) AS request_id".into()
    });
    let base = session
        .ctx
        .sql(&format!("SELECT {} FROM logs", select.join(", ")))
        .await
        .context("the log format lacks a canonical column the reports need")?;
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
    // Same settings and memory pool as the scan's session, so --memory-limit
    // bounds the panel aggregates too.
    let ctx = SessionContext::new_with_config_rt(session.ctx.copied_config(), session.ctx.runtime_env());
    crate::functions::register_all(&ctx);
    ctx.register_table("logs", shared.clone())?;
    let mut plans = Vec::with_capacity(queries.len());
    for (_, q) in &queries {
        let df = ctx
            .sql(&q.sql)
            .await
            .with_context(|| format!("report query {}", q.name))?;
        plans.push(df.create_physical_plan().await?);
    }
    shared.close_unclaimed();
    let source = base.execute_stream().await?;
    let feeder = {
        let shared = shared.clone();
        tokio::spawn(async move { shared.feed(source).await })
    };
    let task = ctx.task_ctx();
    let results = futures::future::join_all(plans.into_iter().map(|p| collect(p, task.clone()))).await;
    feeder.await.context("the shared scan stopped")?;

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
    let totals = session.stats.snapshot();
    let mut report = Report {
        range,
        offset_secs: cfg.offset_secs,
        sources: cfg.locations.clone(),
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
