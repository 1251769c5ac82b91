//! `edgelog cluster scheduler|executor`, and the `--cluster` flags of
//! `query` and `report`. Without the `cluster` feature the flags and
//! commands exist and say how to get it.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};

use crate::engine::{LogSet, QueryService};

/// Flags of `edgelog cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    part: Part,
}

#[derive(Debug, Subcommand)]
enum Part {
    /// Run a scheduler: clients submit questions to it, executors ask it for work.
    Scheduler {
        /// Where to listen, HOST:PORT.
        #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:50050")]
        listen: String,
        /// An executor silent this long is lost; its tasks run elsewhere.
        #[arg(long, value_name = "DURATION", default_value = "30s")]
        executor_timeout: String,
    },
    /// Run an executor: it reads logs with its own credentials and runs the scheduler's tasks.
    Executor {
        /// The scheduler, HOST:PORT.
        #[arg(long, value_name = "HOST:PORT")]
        scheduler: String,
        /// Where its data service listens, HOST:PORT.
        #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:50051")]
        listen: String,
        /// The host name others reach it by [default: the listen host, or this machine's name].
        #[arg(long, value_name = "HOST")]
        advertise: Option<String>,
        /// Tasks it runs at once [default: its cores].
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        /// Where it keeps shuffle files [default: a temporary folder].
        #[arg(long, value_name = "DIR")]
        work_dir: Option<std::path::PathBuf>,
        /// How long to keep trying to reach the scheduler at start.
        #[arg(long, value_name = "DURATION", default_value = "30s")]
        connect_timeout: String,
    },
}

/// `--cluster` and its settings, for `query` and `report`.
#[derive(Debug, Args, Default)]
pub struct RemoteArgs {
    /// Run the question on this Ballista cluster (its scheduler): df://HOST:PORT.
    #[arg(long, value_name = "df://HOST:PORT")]
    cluster: Option<String>,
    /// Partitions a plan is cut into on the cluster.
    #[arg(long, value_name = "N", default_value_t = 16, requires = "cluster")]
    cluster_partitions: usize,
    /// Give the question up after this long on the cluster.
    #[arg(long, value_name = "DURATION", default_value = "1h", requires = "cluster")]
    cluster_timeout: String,
}

fn duration(flag: &str, text: &str) -> Result<std::time::Duration> {
    match crate::config::parse_duration_ms(text) {
        Some(ms) if ms > 0 => Ok(std::time::Duration::from_millis(ms as u64)),
        _ => bail!("bad --{flag} {text:?}: give a duration such as 30s, 5m or 1h"),
    }
}

impl RemoteArgs {
    /// The questions over `logs`: here, or on the cluster.
    pub async fn service(&self, logs: LogSet) -> Result<QueryService> {
        let Some(url) = &self.cluster else {
            return Ok(QueryService::new(logs));
        };
        let timeout = duration("cluster-timeout", &self.cluster_timeout)?;
        #[cfg(feature = "cluster")]
        {
            let cluster =
                crate::cluster::Cluster::parse(url, self.cluster_partitions, timeout).map_err(anyhow::Error::msg)?;
            Ok(QueryService::on_remote(logs, Arc::new(cluster)).await?)
        }
        #[cfg(not(feature = "cluster"))]
        {
            let _ = (url, timeout, Arc::new(()));
            bail!("{}", NOT_BUILT)
        }
    }
}

#[cfg(not(feature = "cluster"))]
const NOT_BUILT: &str =
    "this edgelog was built without the cluster: build it with `cargo build --release --features cluster`";

/// `host:port` with a port.
fn host_port(flag: &str, text: &str) -> Result<(String, u16)> {
    let bad = || anyhow::anyhow!("bad --{flag} {text:?}: give HOST:PORT");
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// An address to listen on.
async fn listen_addr(flag: &str, text: &str) -> Result<std::net::SocketAddr> {
    let (host, port) = host_port(flag, text)?;
    match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| anyhow::anyhow!("bad --{flag} {text:?}: the host has no address")),
        Err(e) => bail!("bad --{flag} {text:?}: {e}"),
    }
}

pub async fn run(args: ClusterArgs) -> Result<ExitCode> {
    #[cfg(not(feature = "cluster"))]
    {
        let _ = (args, listen_addr, host_port, duration);
        bail!("{}", NOT_BUILT)
    }
    #[cfg(feature = "cluster")]
    {
        use crate::cluster::node;
        match args.part {
            Part::Scheduler {
                listen,
                executor_timeout,
            } => {
                let listen = listen_addr("listen", &listen).await?;
                let timeout = duration("executor-timeout", &executor_timeout)?;
                eprintln!("edgelog: cluster scheduler listening on {listen}");
                node::run_scheduler(node::SchedulerOptions {
                    listen,
                    executor_timeout_secs: timeout.as_secs().max(2),
                })
                .await
                .map_err(anyhow::Error::msg)?;
            }
            Part::Executor {
                scheduler,
                listen,
                advertise,
                concurrency,
                work_dir,
                connect_timeout,
            } => {
                let scheduler = host_port("scheduler", &scheduler)?;
                let listen = listen_addr("listen", &listen).await?;
                let connect = duration("connect-timeout", &connect_timeout)?;
                if concurrency == Some(0) {
                    bail!("bad --concurrency 0: give one or more");
                }
                if let Some(dir) = &work_dir {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| anyhow::anyhow!("cannot make --work-dir {}: {e}", dir.display()))?;
                }
                eprintln!(
                    "edgelog: cluster executor on {listen}, scheduler {}:{}",
                    scheduler.0, scheduler.1
                );
                // What a task read that was not clean: the client's summary
                // cannot show it, so the executor's log does.
                crate::cluster::scan::report_to(|t| eprintln!("edgelog: executor task: {}", t.summary()));
                node::run_executor(node::ExecutorOptions {
                    scheduler,
                    listen,
                    advertise,
                    concurrency,
                    work_dir: work_dir.map(|d| d.display().to_string()),
                    connect_timeout_secs: u16::try_from(connect.as_secs()).unwrap_or(u16::MAX),
                })
                .await
                .map_err(anyhow::Error::msg)?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
