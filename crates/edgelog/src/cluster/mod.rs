//! The cluster (feature `cluster`): the same questions on an Apache
//! DataFusion Ballista cluster whose scheduler and executors are this very
//! binary, so every part knows the dialects, the log functions and the lake.
//!
//! How a question runs: the client opens the logs through the engine as
//! usual (listing and time pruning happen there, so the scheduler never
//! lists a bucket), plans the question with the lake read as plain Parquet
//! files ([`crate::engine::LogSet::shippable`]), and submits the physical
//! plan ([`Cluster`], an engine [`crate::engine::Remote`]). The scheduler
//! splits it into stages; executors rebuild each scan from plain data with
//! their own stores and credentials ([`codec`]).
//!
//! - [`codec`]: edgelog's plan nodes as plain data, wrapping Ballista's codec.
//! - [`node`]: `edgelog cluster scheduler` and `edgelog cluster executor`.
//! - [`client`]: [`Cluster`], the address, timeouts, and errors for people.

pub mod client;
pub mod codec;
pub mod node;
pub mod scan;

pub use client::Cluster;

use std::sync::Arc;

use ballista_core::extension::SessionConfigExt;
use datafusion::error::Result;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionState;
use datafusion::prelude::{SessionConfig, SessionContext};

/// The session every part of the cluster plans and runs in: DataFusion's
/// defaults, Ballista's settings, and edgelog's functions.
pub fn session_state(config: SessionConfig) -> Result<SessionState> {
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(runtime(None)?)
        .build();
    let ctx = SessionContext::new_with_state(state);
    crate::functions::register_all(&ctx);
    Ok(ctx.state())
}

/// The runtime of a part: lake stores open themselves when a plan names
/// them ([`crate::lake::files::LakeRegistry`]); spill files go to `work_dir`.
pub fn runtime(work_dir: Option<&str>) -> Result<Arc<datafusion::execution::runtime_env::RuntimeEnv>> {
    let mut builder = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::new(crate::lake::files::LakeRegistry::default()));
    if let Some(dir) = work_dir {
        builder = builder.with_temp_file_path(dir);
    }
    builder.build_arc()
}

/// The settings a part starts from (Ballista's, with edgelog's codec).
pub fn session_config(site: Option<String>) -> SessionConfig {
    SessionConfig::new_with_ballista()
        .with_batch_size(8192)
        .with_ballista_physical_extension_codec(Arc::new(codec::Codec::new(site)))
}
