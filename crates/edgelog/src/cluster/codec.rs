//! [`Codec`]: how edgelog's own plan nodes cross the cluster, as plain data.
//!
//! A log scan travels as a [`ShippedScanExec`]: its [`PlainScan`] (the
//! dialect as decided, the time range, the storage settings: never a
//! credential) and, as its input, the work table of objects; the process
//! that decodes it opens the stores itself. A lake's scan is a row counter
//! (no payload) around DataFusion's own Parquet scan, which DataFusion's
//! codec carries; its files' store URL says how to open the store
//! ([`crate::lake::files::LakeRegistry`]). Everything else (shuffles,
//! Ballista's nodes) goes to Ballista's codec, which this one wraps.
//!
//! Wire form: one tag byte, then the node. `0` is Ballista's own bytes.

use std::sync::Arc;

use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};

use super::scan::ShippedScanExec;
use crate::lake::table::LakeScanExec;
use crate::scan::exec::LogScanExec;
use crate::scan::plain::PlainScan;
use crate::source::open_location;

const BALLISTA: u8 = 0;
// 1 was a bare log scan in an early draft; never reused.
const LAKE_SCAN: u8 = 2;
const SHIPPED_SCAN: u8 = 3;

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
            SHIPPED_SCAN => {
                let plain: PlainScan = serde_json::from_slice(body).map_err(|e| json_err("log scan", e))?;
                let open = |location: &str, storage: &crate::config::StorageOptions| {
                    open_location(location, storage)
                        .map(|s| s.reader)
                        .map_err(|e| DataFusionError::External(Box::new(e)))
                };
                let readers = Arc::new(plain.open_locations(&open)?);
                match inputs {
                    [work] => Ok(Arc::new(ShippedScanExec::new(
                        plain,
                        readers,
                        self.site.clone(),
                        work.clone(),
                    )?)),
                    _ => Err(DataFusionError::Internal("a shipped log scan has one input".into())),
                }
            }
            LAKE_SCAN => match inputs {
                [input] => Ok(Arc::new(LakeScanExec::new(input.clone()))),
                _ => Err(DataFusionError::Internal("a shipped lake scan has one input".into())),
            },
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
        if node.downcast_ref::<LogScanExec>().is_some() {
            // Ballista could not narrow it to a task's partitions.
            return Err(DataFusionError::Internal(
                "a log scan goes to the cluster as a shipped scan only".into(),
            ));
        }
        if let Some(scan) = node.downcast_ref::<ShippedScanExec>() {
            buf.push(SHIPPED_SCAN);
            serde_json::to_writer(&mut *buf, scan.plain()).map_err(|e| DataFusionError::Internal(e.to_string()))?;
            return Ok(());
        }
        if node.downcast_ref::<LakeScanExec>().is_some() {
            buf.push(LAKE_SCAN);
            return Ok(());
        }
        buf.push(BALLISTA);
        self.inner.try_encode(node, buf, conv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{StorageOptions, TimeRange};
    use crate::dialect::DialectSpec;
    use crate::scan::exec::{ScanObject, ScanOrigin};
    use crate::scan::stats::ScanStats;
    use datafusion_proto::physical_plan::DefaultPhysicalProtoConverter;

    fn round_trip(codec: &Codec, node: Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
        let mut buf = Vec::new();
        codec
            .try_encode(node.clone(), &mut buf, &DefaultPhysicalProtoConverter {})
            .unwrap();
        let inputs: Vec<Arc<dyn ExecutionPlan>> = node.children().into_iter().cloned().collect();
        codec
            .try_decode(
                &buf,
                &inputs,
                &TaskContext::default(),
                &DefaultPhysicalProtoConverter {},
            )
            .unwrap()
    }

    /// Every dialect's scan crosses the codec whole: the same dialect,
    /// columns, objects, partitions and options come out, and nothing the
    /// environment holds (a key) goes in.
    #[test]
    fn every_dialect_scan_crosses_the_codec_whole() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..3 {
            std::fs::write(dir.path().join(format!("part-{i}.log")), "x\n".repeat(i + 1)).unwrap();
        }
        let location = dir.path().to_str().unwrap().to_string();
        let storage = StorageOptions {
            region: Some("jp-north-1".into()),
            ..StorageOptions::default()
        };
        let source = open_location(&location, &storage).unwrap();
        let codec = Codec::new(Some("executor test:1".into()));
        let mut tried = 0;
        for name in crate::dialect::names() {
            let spec = DialectSpec::parse(name);
            let Ok(dialect) = spec.build() else {
                continue;
            };
            let schema = dialect.schema("+09:00");
            let objects: Vec<ScanObject> = (0..3)
                .map(|i| ScanObject {
                    reader: source.reader.clone(),
                    object: crate::source::ListedObject {
                        path: object_store::path::Path::from(format!(
                            "{}/part-{i}.log",
                            location.trim_start_matches('/')
                        )),
                        size: i + 1,
                        name: format!("{location}/part-{i}.log"),
                        etag: Some(format!("e{i}")),
                    },
                    location: location.as_str().into(),
                })
                .collect();
            let projection = vec![0, schema.fields().len() - 1];
            let scan = LogScanExec::new(
                dialect,
                schema.clone(),
                projection,
                objects,
                2,
                TimeRange {
                    since: Some(1),
                    until: Some(2),
                },
                (true, false),
                Arc::new(ScanStats::default()),
                "selection".into(),
            )
            .unwrap()
            .with_origin(Some(Arc::new(ScanOrigin {
                spec: spec.clone(),
                zone: "+09:00".into(),
                storage: storage.clone(),
            })));
            let shipped = Arc::new(ShippedScanExec::of(&scan).unwrap());
            assert!(
                shipped.plain().objects.is_empty(),
                "the objects travel in the work table"
            );
            let back = round_trip(&codec, shipped.clone());
            let back = back.downcast_ref::<ShippedScanExec>().unwrap();
            assert_eq!(back.plain(), shipped.plain(), "{name}");
            let mut expected = PlainScan::of(&scan).unwrap();
            (expected.objects, expected.partitions) = (Vec::new(), Vec::new());
            assert_eq!(back.plain(), &expected, "{name}");
            assert_eq!(back.schema(), shipped.schema(), "{name}");
            assert_eq!(back.properties().output_partitioning().partition_count(), 2, "{name}");
            tried += 1;
        }
        assert!(tried >= 20, "only {tried} dialects built without a sample");
    }

    #[test]
    fn a_lake_scan_crosses_and_unknown_kinds_are_refused() {
        let codec = Codec::new(None);
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new(
            "a",
            arrow::datatypes::DataType::Int64,
            true,
        )]));
        let lake = Arc::new(LakeScanExec::new(Arc::new(
            datafusion::physical_plan::empty::EmptyExec::new(schema.clone()),
        )));
        let back = round_trip(&codec, lake);
        assert!(back.downcast_ref::<LakeScanExec>().is_some());
        assert_eq!(back.schema(), schema);
        let mut buf = vec![9];
        buf.extend_from_slice(b"{}");
        let err = codec
            .try_decode(&buf, &[], &TaskContext::default(), &DefaultPhysicalProtoConverter {})
            .unwrap_err();
        assert!(err.to_string().contains("same edgelog"), "{err}");
    }
}
