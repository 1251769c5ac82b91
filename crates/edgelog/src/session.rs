//! The DataFusion session every question runs in: partitions, batch size,
//! the memory pool, and edgelog's SQL functions. Tables are registered by
//! whoever owns them ([`crate::engine::LogSet::register`]).

use datafusion::error::Result;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

/// A session with edgelog's functions, using at most `memory_limit` bytes
/// for its operators when given.
pub fn new_context(memory_limit: Option<usize>) -> Result<SessionContext> {
    let partitions = std::thread::available_parallelism().map_or(2, |n| n.get());
    let config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_batch_size(8192)
        .with_information_schema(true);
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(limit) = memory_limit {
        runtime = runtime.with_memory_limit(limit, 1.0);
    }
    let ctx = SessionContext::new_with_config_rt(config, runtime.build_arc()?);
    crate::functions::register_all(&ctx);
    Ok(ctx)
}
