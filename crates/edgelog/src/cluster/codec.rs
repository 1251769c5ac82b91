//! [`Codec`]: how edgelog's own plan nodes cross the cluster, as plain data.
//!
//! A log scan travels as its [`PlainScan`] (the dialect as decided, the
//! objects with their sizes and partitions, the time range, the storage
//! settings: never a credential); the process that decodes it opens the
//! stores itself. A lake's scan travels as the stores its Parquet files live
//! in ([`LakeStore`]) around DataFusion's own Parquet scan, which
//! DataFusion's codec carries. Everything else (shuffles, Ballista's nodes)
//! goes to Ballista's codec, which this one wraps.
//!
//! Wire form: one tag byte, then the node. `0` is Ballista's own bytes.

use std::sync::Arc;

use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use serde::{Deserialize, Serialize};

use super::scan::ShippedScanExec;
use crate::lake::files::LakeStore;
use crate::lake::table::LakeScanExec;
use crate::scan::exec::LogScanExec;
use crate::scan::plain::PlainScan;
use crate::source::open_location;

const BALLISTA: u8 = 0;
const LOG_SCAN: u8 = 1;
const LAKE_SCAN: u8 = 2;
const SHIPPED_SCAN: u8 = 3;

/// The lake scan's own part (its input travels as a child).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainLakeScan {
    stores: Vec<LakeStore>,
}

/// edgelog's physical codec, wrapping Ballista's.
#[derive(Debug)]
pub struct Codec {
    inner: BallistaPhysicalExtensionCodec,
    /// Where decoded scans run (an executor's address), named in their errors.
    site: Option<Arc<str>>,
}

impl Codec {
    /// The codec of a process; `site` names it in the errors of the scans
    /// it decodes (`None` on the client and the scheduler).
    pub fn new(site: Option<String>) -> Codec {
        Codec {
            inner: BallistaPhysicalExtensionCodec::default(),
            site: site.map(Arc::from),
        }
    }
}

fn json_err(what: &str, e: serde_json::Error) -> DataFusionError {
    DataFusionError::Internal(format!("cannot read a shipped {what}: {e}"))
}

impl PhysicalExtensionCodec for Codec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        conv: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some((&tag, body)) = buf.split_first() else {
            return Err(DataFusionError::Internal("an empty extension node".into()));
        };
        match tag {
            BALLISTA => self.inner.try_decode(body, inputs, ctx, conv),
            LOG_SCAN => {
                let plain: PlainScan = serde_json::from_slice(body).map_err(|e| json_err("log scan", e))?;
                let open = |location: &str, storage: &crate::config::StorageOptions| {
                    open_location(location, storage)
                        .map(|s| s.reader)
                        .map_err(|e| DataFusionError::External(Box::new(e)))
                };
                Ok(Arc::new(plain.build(&open, self.site.clone())?))
            }
            SHIPPED_SCAN => {
                let plain: PlainScan = serde_json::from_slice(body).map_err(|e| json_err("log scan", e))?;
                let open = |location: &str, storage: &crate::config::StorageOptions| {
                    open_location(location, storage)
                        .map(|s| s.reader)
                        .map_err(|e| DataFusionError::External(Box::new(e)))
                };
                let scan = Arc::new(plain.build(&open, self.site.clone())?);
                match inputs {
                    [work] => Ok(Arc::new(ShippedScanExec::new(scan, work.clone())?)),
                    _ => Err(DataFusionError::Internal("a shipped log scan has one input".into())),
                }
            }
            LAKE_SCAN => {
                let plain: PlainLakeScan = serde_json::from_slice(body).map_err(|e| json_err("lake scan", e))?;
                match inputs {
                    [input] => Ok(Arc::new(LakeScanExec::new(input.clone(), plain.stores))),
                    _ => Err(DataFusionError::Internal("a shipped lake scan has one input".into())),
                }
            }
            other => Err(DataFusionError::Internal(format!(
                "an extension node of unknown kind {other}: are all parts of the cluster the same edgelog?"
            ))),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        conv: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(scan) = node.downcast_ref::<LogScanExec>() {
            let plain = PlainScan::of(scan).ok_or_else(|| {
                DataFusionError::Internal("a log scan that does not know its origin cannot be shipped".into())
            })?;
            buf.push(LOG_SCAN);
            serde_json::to_writer(&mut *buf, &plain).map_err(|e| DataFusionError::Internal(e.to_string()))?;
            return Ok(());
        }
        if let Some(scan) = node.downcast_ref::<ShippedScanExec>() {
            let plain = scan.plain().ok_or_else(|| {
                DataFusionError::Internal("a log scan that does not know its origin cannot be shipped".into())
            })?;
            buf.push(SHIPPED_SCAN);
            serde_json::to_writer(&mut *buf, &plain).map_err(|e| DataFusionError::Internal(e.to_string()))?;
            return Ok(());
        }
        if let Some(scan) = node.downcast_ref::<LakeScanExec>() {
            buf.push(LAKE_SCAN);
            let plain = PlainLakeScan {
                stores: scan.stores().to_vec(),
            };
            serde_json::to_writer(&mut *buf, &plain).map_err(|e| DataFusionError::Internal(e.to_string()))?;
            return Ok(());
        }
        buf.push(BALLISTA);
        self.inner.try_encode(node, buf, conv)
    }
}
