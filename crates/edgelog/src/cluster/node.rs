//! The long-running parts: a scheduler and executors, each this binary.
//! Both use Ballista's pull scheduling (an executor asks the scheduler for
//! work; one port per executor, for its Arrow Flight service).

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use super::codec::Codec;
use super::{session_config, session_state};

/// How a scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Where it listens (gRPC for clients and executors).
    pub listen: SocketAddr,
    /// After this many seconds without word from an executor, its tasks are
    /// run elsewhere.
    pub executor_timeout_secs: u64,
}

/// Runs a scheduler until the process is stopped.
pub async fn run_scheduler(opts: SchedulerOptions) -> Result<(), String> {
    let mut config = SchedulerConfig {
        bind_host: opts.listen.ip().to_string(),
        bind_port: opts.listen.port(),
        scheduling_policy: TaskSchedulingPolicy::PullStaged,
        executor_timeout_seconds: opts.executor_timeout_secs,
        expire_dead_executor_interval_seconds: (opts.executor_timeout_secs / 5).clamp(1, 15),
        no_executors_grace_period_seconds: opts.executor_timeout_secs,
        override_config_producer: Some(Arc::new(|| session_config(None))),
        override_session_builder: Some(Arc::new(session_state)),
        override_physical_codec: Some(Arc::new(Codec::new(None))),
        ..SchedulerConfig::default()
    };
    config.external_host = config.bind_host.clone();
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| format!("cannot start the scheduler: {e}"))?;
    start_server(cluster, opts.listen, Arc::new(config))
        .await
        .map_err(|e| format!("the scheduler on {} stopped: {e}", opts.listen))
}

/// How an executor runs.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler, `host:port`.
    pub scheduler: (String, u16),
    /// Where its Flight service listens (shuffles and results are fetched there).
    pub listen: SocketAddr,
    /// The host others reach it by (default: the listen address, or this
    /// machine's name when that is 0.0.0.0).
    pub advertise: Option<String>,
    /// Tasks at once (default: the cores).
    pub concurrency: Option<usize>,
    /// Where shuffle files go.
    pub work_dir: Option<String>,
    /// Seconds to keep trying to reach the scheduler at start.
    pub connect_timeout_secs: u16,
}

/// Runs an executor until the process is stopped.
pub async fn run_executor(opts: ExecutorOptions) -> Result<(), String> {
    let host = match &opts.advertise {
        Some(h) => h.clone(),
        None if opts.listen.ip().is_unspecified() => hostname(),
        None => opts.listen.ip().to_string(),
    };
    let site = format!("executor {host}:{}", opts.listen.port());
    let state = session_state(session_config(None)).map_err(|e| e.to_string())?;
    let work_dir = opts.work_dir.clone();
    let mut config = ExecutorProcessConfig {
        bind_host: opts.listen.ip().to_string(),
        external_host: Some(host),
        port: opts.listen.port(),
        scheduler_host: opts.scheduler.0.clone(),
        scheduler_port: opts.scheduler.1,
        scheduler_connect_timeout_seconds: opts.connect_timeout_secs,
        task_scheduling_policy: TaskSchedulingPolicy::PullStaged,
        work_dir: opts.work_dir.clone(),
        print_thread_info: false,
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&state))),
        override_config_producer: Some(Arc::new(|| session_config(None))),
        override_runtime_producer: Some(Arc::new(move |_| super::runtime(work_dir.as_deref()))),
        override_physical_codec: Some(Arc::new(Codec::new(Some(site.clone())))),
        ..ExecutorProcessConfig::default()
    };
    if let Some(n) = opts.concurrency {
        config.vcores = n.max(1);
    }
    start_executor_process(Arc::new(config)).await.map_err(|e| {
        format!(
            "the {site} stopped: {} (scheduler {}:{})",
            one_line(&e.to_string()),
            opts.scheduler.0,
            opts.scheduler.1
        )
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
