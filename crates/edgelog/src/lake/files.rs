//! [`LakeFiles`]: one tier of the lake as its current Parquet files, read
//! by DataFusion's own Parquet scan rather than delta-rs's. The plan it
//! makes is plain DataFusion (a file list, the `_day` partition values, a
//! predicate), which a cluster ships as it is: an executor reads the files
//! through the store [`LakeStore`] opens there, with its own credentials.
//!
//! Files are pruned here by their `_day` against the day bounds the lake's
//! table asks for; row groups are pruned where they are read, by the
//! predicate on `time`.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use object_store::ObjectStore;
use object_store::prefix::PrefixStore;
use serde::{Deserialize, Serialize};

use super::schema::DAY;
use crate::config::StorageOptions;
use crate::source::open_location;

/// Where a lake's files are read from, as plain data: the URL its scans
/// name, and how to open the store behind it (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeStore {
    /// `edgelog-lake://HEX`, as the scan's files name it: the hex of the
    /// location and storage settings, so that any process can open the
    /// store from the URL alone ([`LakeRegistry`]).
    pub url: String,
    /// The lake's location, as the user wrote it.
    pub location: String,
    /// Endpoint, region, profile, retries.
    pub storage: StorageOptions,
}

/// The scheme of [`LakeStore`] URLs.
pub const LAKE_SCHEME: &str = "edgelog-lake";

impl LakeStore {
    /// The store entry for the lake at `location`.
    pub fn new(location: &str, storage: &StorageOptions) -> LakeStore {
        let plain = serde_json::json!({ "location": location, "storage": storage }).to_string();
        let hex: String = plain.bytes().map(|b| format!("{b:02x}")).collect();
        LakeStore {
            url: format!("{LAKE_SCHEME}://{hex}"),
            location: location.to_string(),
            storage: storage.clone(),
        }
    }

    /// The entry a [`LakeStore::new`] URL stands for.
    pub fn from_url(url: &url::Url) -> Result<LakeStore> {
        let bad = || DataFusionError::Plan(format!("not a lake store URL: {LAKE_SCHEME}://..."));
        let hex = url.host_str().filter(|_| url.scheme() == LAKE_SCHEME).ok_or_else(bad)?;
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(bad)?;
        #[derive(Deserialize)]
        struct Plain {
            location: String,
            storage: StorageOptions,
        }
        let plain: Plain = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        Ok(LakeStore::new(&plain.location, &plain.storage))
    }

    /// The URL DataFusion looks the store up by.
    pub fn object_store_url(&self) -> Result<ObjectStoreUrl> {
        ObjectStoreUrl::parse(&self.url)
    }

    /// Opens the store of the lake's folder (paths below it are the table's
    /// own), with this process's credentials.
    pub fn open(&self) -> Result<Arc<dyn ObjectStore>> {
        let source =
            open_location(&self.location, &self.storage).map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(Arc::new(PrefixStore::new(
            source.reader.store().clone(),
            source.base.clone(),
        )))
    }

    /// Makes sure `runtime` can read the lake's files: opens the store when
    /// it has none for the URL yet.
    pub fn ensure(&self, runtime: &datafusion::execution::runtime_env::RuntimeEnv) -> Result<()> {
        let url = self.object_store_url()?;
        if runtime.object_store(&url).is_err() {
            runtime.register_object_store(url.as_ref(), self.open()?);
        }
        Ok(())
    }
}

/// The object stores of a process of the cluster: DataFusion's, and a lake
/// store opened (with this process's credentials) the first time a plan
/// names its [`LakeStore`] URL.
#[derive(Debug, Default)]
pub struct LakeRegistry {
    inner: datafusion::execution::object_store::DefaultObjectStoreRegistry,
}

impl datafusion::execution::object_store::ObjectStoreRegistry for LakeRegistry {
    fn register_store(&self, url: &url::Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.inner.register_store(url, store)
    }

    fn deregister_store(&self, url: &url::Url) -> Result<Arc<dyn ObjectStore>> {
        self.inner.deregister_store(url)
    }

    fn get_store(&self, url: &url::Url) -> Result<Arc<dyn ObjectStore>> {
        match self.inner.get_store(url) {
            Ok(store) => Ok(store),
            Err(_) if url.scheme() == LAKE_SCHEME => {
                let store = LakeStore::from_url(url)?.open()?;
                self.inner.register_store(url, store.clone());
                Ok(store)
            }
            Err(e) => Err(e),
        }
    }
}

/// One current data file of a tier.
#[derive(Debug, Clone)]
pub struct TierFile {
    /// Path below the lake's folder.
    pub path: String,
    /// Stored bytes.
    pub size: u64,
    /// Its `_day` partition value.
    pub day: Option<String>,
}

/// One tier of the lake as Parquet files (see the module docs).
#[derive(Debug)]
pub struct LakeFiles {
    store: LakeStore,
    /// The stored columns, `_day` last.
    schema: SchemaRef,
    files: Vec<TierFile>,
}

impl LakeFiles {
    /// The tier whose stored columns are `schema` (`_day` last) and whose
    /// current files are `files`, in the lake `store` names.
    pub fn new(store: LakeStore, schema: SchemaRef, files: Vec<TierFile>) -> Result<LakeFiles> {
        match schema.fields().last() {
            Some(f) if f.name() == DAY => {}
            _ => {
                return Err(DataFusionError::Plan(format!(
                    "the lake {} does not end its columns with {DAY}",
                    store.location
                )));
            }
        }
        Ok(LakeFiles { store, schema, files })
    }
}

/// The `_day` bounds among `filters` (`_day >= 'D'`, `_day <= 'D'`, ...):
/// the lowest day and the highest day a row may have.
fn day_bounds(filters: &[Expr]) -> (Option<String>, Option<String>) {
    let (mut low, mut high): (Option<String>, Option<String>) = (None, None);
    for f in filters {
        let Expr::BinaryExpr(BinaryExpr { left, op, right }) = f else {
            continue;
        };
        let (Expr::Column(c), Expr::Literal(ScalarValue::Utf8(Some(day)), _)) = (left.as_ref(), right.as_ref()) else {
            continue;
        };
        if c.name != DAY {
            continue;
        }
        // `>` and `<` keep the day itself as a bound: coarser, still right.
        match op {
            Operator::GtEq | Operator::Gt if low.as_ref().is_none_or(|l| day > l) => low = Some(day.clone()),
            Operator::LtEq | Operator::Lt if high.as_ref().is_none_or(|h| day < h) => high = Some(day.clone()),
            Operator::Eq => {
                low = Some(day.clone());
                high = Some(day.clone());
            }
            _ => {}
        }
    }
    (low, high)
}

#[async_trait]
impl TableProvider for LakeFiles {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let (low, high) = day_bounds(filters);
        let mut files: Vec<&TierFile> = self
            .files
            .iter()
            .filter(|f| match &f.day {
                Some(day) => low.as_ref().is_none_or(|l| day >= l) && high.as_ref().is_none_or(|h| day <= h),
                None => true,
            })
            .collect();
        let projected = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        if files.is_empty() {
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        let n_file = self.schema.fields().len() - 1;
        let file_schema = Arc::new(Schema::new(self.schema.fields()[..n_file].to_vec()));
        let day_field = Arc::new(Field::new(DAY, DataType::Utf8, true));
        let table_schema = datafusion::datasource::table_schema::TableSchema::builder(file_schema)
            .with_table_partition_cols(vec![day_field])
            .build();
        let options = datafusion::config::TableParquetOptions {
            global: state.config().options().execution.parquet.clone(),
            ..Default::default()
        };
        let mut source = ParquetSource::new(table_schema).with_table_parquet_options(options);
        if let Some(predicate) = filters.iter().cloned().reduce(|a, b| a.and(b)) {
            let df_schema = DFSchema::try_from(self.schema.as_ref().clone())?;
            source = source.with_predicate(state.create_physical_expr(predicate, &df_schema)?);
        }
        // Groups of similar stored size, one per partition.
        let n = state.config().target_partitions().clamp(1, files.len());
        files.sort_by_key(|f| std::cmp::Reverse(f.size));
        let mut groups: Vec<Vec<PartitionedFile>> = vec![Vec::new(); n];
        let mut load = vec![0u64; n];
        for f in files {
            let g = (0..n).min_by_key(|&g| load[g]).unwrap_or(0);
            load[g] += f.size.max(1);
            let day = ScalarValue::Utf8(f.day.clone());
            groups[g].push(PartitionedFile::new(f.path.clone(), f.size).with_partition_values(vec![day]));
        }
        let config = FileScanConfigBuilder::new(self.store.object_store_url()?, Arc::new(source))
            .with_file_groups(groups.into_iter().map(FileGroup::new).collect())
            .with_projection_indices(projection.cloned())?
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    #[test]
    fn day_bounds_take_the_tightest() {
        let filters = vec![
            col(DAY).gt_eq(lit("2024-11-01")),
            col(DAY).gt_eq(lit("2024-11-03")),
            col(DAY).lt_eq(lit("2024-11-09")),
            col("time").gt(lit(5)),
        ];
        assert_eq!(
            day_bounds(&filters),
            (Some("2024-11-03".to_string()), Some("2024-11-09".to_string()))
        );
        assert_eq!(day_bounds(&[]), (None, None));
    }

    #[test]
    fn a_lake_store_url_says_how_to_open_it() {
        let storage = StorageOptions {
            endpoint: Some("http://127.0.0.1:9000".into()),
            ..StorageOptions::default()
        };
        let a = LakeStore::new("s3://b/lake/", &storage);
        assert_eq!(a.url, LakeStore::new("s3://b/lake/", &storage).url);
        assert_ne!(a.url, LakeStore::new("s3://b/other/", &storage).url);
        let url = a.object_store_url().unwrap();
        assert_eq!(LakeStore::from_url(url.as_ref()).unwrap(), a);
        assert!(LakeStore::from_url(&url::Url::parse("edgelog-lake://zz").unwrap()).is_err());
    }
}
