//! [`Cluster`]: the client's side. Plans made here run there; every wait is
//! bounded, and every failure comes back as one line naming the part at
//! fault (the scheduler that cannot be reached, the executor whose scan
//! failed, the query that took too long).

use std::sync::Arc;
use std::time::Duration;

use ballista_core::config::{BALLISTA_CLIENT_GRPC_CONNECT_TIMEOUT_SECONDS, BALLISTA_CLIENT_PULL};
use ballista_core::execution_plans::execute_physical_plan;
use ballista_core::extension::SessionConfigExt;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionConfig;
use datafusion_proto::protobuf::PhysicalPlanNode;
use futures::StreamExt;

use super::codec::Codec;
use super::scan::ShippedScanExec;
use crate::engine::Remote;
use crate::scan::exec::LogScanExec;
use crate::scan::exec::remote_message;
use datafusion::common::tree_node::{Transformed, TreeNode};

/// The default scheduler port.
pub const DEFAULT_PORT: u16 = 50050;

/// A cluster to run plans on.
#[derive(Debug, Clone)]
pub struct Cluster {
    host: String,
    port: u16,
    partitions: usize,
    timeout: Duration,
    connect_timeout: Duration,
}

impl Cluster {
    /// The cluster whose scheduler is at `url` (`df://HOST[:PORT]`); plans
    /// are cut into `partitions` pieces; a question that has not finished
    /// after `timeout` is given up.
    pub fn parse(url: &str, partitions: usize, timeout: Duration) -> Result<Cluster, String> {
        let bad = |why: &str| format!("bad --cluster {url:?}: {why} (give df://HOST:PORT)");
        let rest = url
            .strip_prefix("df://")
            .ok_or_else(|| bad("it does not start with df://"))?;
        let rest = rest.trim_end_matches('/');
        // `[v6]:port`, `[v6]`, `host:port`, `host`.
        let (host, port) = match rest.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((h, "")) => (h, DEFAULT_PORT),
                Some((h, p)) => {
                    let p = p
                        .strip_prefix(':')
                        .ok_or_else(|| bad("nothing may follow the address but :PORT"))?;
                    (h, p.parse::<u16>().map_err(|_| bad("the port is not a number"))?)
                }
                None => return Err(bad("no closing ]")),
            },
            None => match rest.rsplit_once(':') {
                Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("the port is not a number"))?),
                None => (rest, DEFAULT_PORT),
            },
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') {
            return Err(bad("no host"));
        }
        if partitions == 0 {
            return Err("bad --cluster-partitions 0: give one or more".into());
        }
        Ok(Cluster {
            host: host.to_string(),
            port,
            partitions,
            timeout,
            connect_timeout: Duration::from_secs(10),
        })
    }

    /// The scheduler, as the user names it.
    pub fn url(&self) -> String {
        if self.host.contains(':') {
            format!("df://[{}]:{}", self.host, self.port)
        } else {
            format!("df://{}:{}", self.host, self.port)
        }
    }

    fn grpc_url(&self) -> String {
        if self.host.contains(':') {
            format!("http://[{}]:{}", self.host, self.port)
        } else {
            format!("http://{}:{}", self.host, self.port)
        }
    }

    /// A failure of the cluster, in words for people. `fetching`: while the
    /// answer came from the executors (not while the scheduler ran the job).
    fn explain(&self, e: &DataFusionError, fetching: bool) -> DataFusionError {
        let text = e.to_string();
        if let Some(scan) = remote_message(&text) {
            return DataFusionError::Execution(format!("on the cluster at {}: {scan}", self.url()));
        }
        let lower = text.to_ascii_lowercase();
        let unreachable = [
            "transport error",
            "connection refused",
            "tcp connect",
            "error trying to connect",
            "dns error",
        ];
        let unreachable = unreachable.iter().any(|w| lower.contains(w));
        if fetching && unreachable {
            let short: String = text.split_whitespace().take(40).collect::<Vec<_>>().join(" ");
            return DataFusionError::Execution(format!(
                "cannot fetch the answer from an executor of the cluster at {} (its data port must be reachable from here): {short}",
                self.url()
            ));
        }
        // A job the scheduler ran and failed (an executor that could not
        // reach another, a store) is not the scheduler out of reach.
        let job_failed = lower.contains("job") && lower.contains("failed");
        if unreachable && !job_failed {
            let why = if lower.contains("connection refused") {
                "connection refused"
            } else if lower.contains("timed out") || lower.contains("elapsed") {
                "no answer in time"
            } else if lower.contains("dns") || lower.contains("lookup") {
                "unknown host"
            } else {
                "no connection"
            };
            return DataFusionError::Execution(format!("cannot reach the cluster scheduler at {}: {why}", self.url()));
        }
        let short: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let short: String = short.chars().take(400).collect();
        DataFusionError::Execution(format!("the cluster at {} failed the query: {short}", self.url()))
    }

    fn timed_out(&self) -> DataFusionError {
        DataFusionError::Execution(format!(
            "the cluster at {} did not finish the query within {} s (is an executor registered? see --cluster-timeout)",
            self.url(),
            self.timeout.as_secs()
        ))
    }
}

#[async_trait::async_trait]
impl Remote for Cluster {
    fn session_config(&self, local: SessionConfig) -> SessionConfig {
        let mut config = local
            .upgrade_for_ballista()
            .with_target_partitions(self.partitions)
            .with_ballista_physical_extension_codec(Arc::new(Codec::new(None)));
        let options = config.options_mut();
        // Set by key: these are Ballista's options, checked when set.
        let _ = options.set(BALLISTA_CLIENT_PULL, "true");
        let _ = options.set(
            BALLISTA_CLIENT_GRPC_CONNECT_TIMEOUT_SECONDS,
            &self.connect_timeout.as_secs().to_string(),
        );
        config
    }

    async fn execute(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &SessionConfig,
    ) -> Result<SendableRecordBatchStream, DataFusionError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let codec = Codec::new(None);
        let session_id = format!(
            "edgelog-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let schema = plan.schema();
        // Log scans go as shipped scans, whose partitions Ballista can slice.
        let plan = plan
            .transform_up(|node| match node.downcast_ref::<LogScanExec>() {
                Some(scan) => {
                    let shipped = ShippedScanExec::of(scan)?;
                    Ok(Transformed::yes(Arc::new(shipped) as Arc<dyn ExecutionPlan>))
                }
                None => Ok(Transformed::no(node)),
            })?
            .data;
        let ballista = config.ballista_config();
        let submitted = execute_physical_plan::<PhysicalPlanNode>(
            self.grpc_url(),
            &ballista,
            plan,
            &codec,
            session_id,
            config.clone(),
        );
        let stream = match tokio::time::timeout_at(deadline, submitted).await {
            Err(_) => return Err(self.timed_out()),
            Ok(Err(e)) => return Err(self.explain(&e, false)),
            Ok(Ok(stream)) => stream,
        };
        let this = self.clone();
        let bounded = futures::stream::unfold(Some(stream), move |state| {
            let this = this.clone();
            async move {
                let mut stream = state?;
                match tokio::time::timeout_at(deadline, stream.next()).await {
                    Err(_) => Some((Err(this.timed_out()), None)),
                    Ok(None) => None,
                    Ok(Some(Ok(batch))) => Some((Ok(batch), Some(stream))),
                    Ok(Some(Err(e))) => Some((Err(this.explain(&e, true)), None)),
                }
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, bounded.boxed())))
    }

    fn describe(&self) -> String {
        self.url()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let t = Duration::from_secs(5);
        assert_eq!(
            Cluster::parse("df://sched:6000", 4, t).map(|c| c.url()),
            Ok("df://sched:6000".into())
        );
        assert_eq!(
            Cluster::parse("df://sched", 4, t).map(|c| c.url()),
            Ok("df://sched:50050".into())
        );
        assert_eq!(
            Cluster::parse("df://[::1]:7", 4, t).map(|c| c.grpc_url()),
            Ok("http://[::1]:7".into())
        );
        assert_eq!(
            Cluster::parse("df://[::1]", 4, t).map(|c| c.url()),
            Ok("df://[::1]:50050".into())
        );
        assert!(Cluster::parse("df://[::1", 4, t).is_err());
        assert!(Cluster::parse("http://sched:1", 4, t).is_err());
        assert!(Cluster::parse("df://sched:x", 4, t).is_err());
        assert!(Cluster::parse("df://", 4, t).is_err());
        assert!(Cluster::parse("df://a:1", 0, t).is_err());
    }

    #[test]
    fn errors_name_the_part_at_fault() {
        let c = Cluster::parse("df://h:1", 1, Duration::from_secs(1)).unwrap_or_else(|e| panic!("{e}"));
        let refused = DataFusionError::Execution(
            "tonic::transport::Error(Transport, ConnectError(\"tcp connect error\", Os { code: 111, kind: ConnectionRefused, message: \"Connection refused\" }))".into(),
        );
        assert_eq!(
            crate::engine::datafusion_message(&c.explain(&refused, false)),
            "cannot reach the cluster scheduler at df://h:1: connection refused"
        );
        let scan = DataFusionError::Execution(
            "Job failed: Task failed due to runtime execution error: DataFusionError(Execution(\"<<edgelog: cannot read s3://b/k: access denied (on executor e:2) :edgelog>>\"))".into(),
        );
        assert_eq!(
            crate::engine::datafusion_message(&c.explain(&scan, false)),
            "on the cluster at df://h:1: cannot read s3://b/k: access denied (on executor e:2)"
        );
    }
}
