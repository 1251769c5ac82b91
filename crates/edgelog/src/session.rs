//! Builds the DataFusion session for a question: memory pool, partitions,
//! and the `logs` table bound to the opened locations.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use edgelog_parse::time::parse_offset;

use crate::config::{ScanOptions, StorageOptions};
use crate::format::detect::resolve;
use crate::format::stats::ScanStats;
use crate::format::table::LogTable;
use crate::source::{Source, open_location};

/// A session ready for SQL, and what its scans see.
pub struct QuerySession {
    /// The DataFusion context with `logs` registered.
    pub ctx: SessionContext,
    /// Filled in as the query runs.
    pub stats: Arc<ScanStats>,
    /// The opened locations.
    pub sources: Vec<Source>,
}

/// Opens every location and registers them as the table `logs`.
pub async fn build_session(
    locations: &[String],
    scan: &ScanOptions,
    storage: &StorageOptions,
    memory_limit: Option<usize>,
) -> Result<QuerySession> {
    if let Some(tz) = &scan.tz
        && parse_offset(tz).is_none()
    {
        bail!("bad --tz {tz:?}: use UTC or an offset such as +09:00");
    }
    if locations.is_empty() {
        bail!("no location: give --from PATH, s3://BUCKET/PREFIX or https://...");
    }
    let sources = locations
        .iter()
        .map(|l| open_location(l, storage))
        .collect::<Result<Vec<_>, _>>()?;
    let dialect = match &scan.dialect {
        Some(d) => d.clone(),
        None => resolve(&scan.format, &sources, &scan.range).await?.0,
    };
    let partitions = std::thread::available_parallelism().map_or(2, |n| n.get());
    let config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_batch_size(8192)
        .with_information_schema(true);
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(limit) = memory_limit {
        runtime = runtime.with_memory_limit(limit, 1.0);
    }
    let runtime = runtime.build_arc().context("cannot set up the query runtime")?;
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    crate::functions::register_all(&ctx);
    let stats = Arc::new(ScanStats::default());
    let table = LogTable::new(dialect, sources.clone(), scan.clone(), stats.clone());
    ctx.register_table("logs", Arc::new(table))
        .context("cannot register the table logs")?;
    Ok(QuerySession { ctx, stats, sources })
}
