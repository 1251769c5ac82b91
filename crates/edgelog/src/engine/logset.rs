//! [`LogSet`]: a [`ScanRequest`] opened once.

use std::sync::Arc;

use std::future::IntoFuture;

use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::prelude::{SessionContext, col, lit};

use super::request::{RangeSpec, ScanRequest};
use super::sample::open_sources;
use super::{Error, resolve};
use crate::config::{ScanOptions, TimeRange, Zone};
use crate::dialect::{Dialect, DialectSpec};
use crate::lake::Lake;
use crate::lake::files::{LakeFiles, LakeStore, TierFile};
use crate::lake::manifest::Manifest;
use crate::lake::table::LakeTable;
use crate::scan::exec::ScanObject;
use crate::scan::stats::ScanStats;
use crate::scan::table::{LogTable, Objects};
use crate::source::Source;

/// Logs ready to query: stores opened, dialect decided (and set up from a
/// sample), zone and time range resolved. Cheap to clone; clones and
/// re-scoped copies share the stores and what they listed, so no folder is
/// listed twice and no object sampled twice. It is a snapshot: objects that
/// arrive later are seen only by a set opened later (an alert evaluating
/// every minute opens its logs each time).
#[derive(Debug, Clone)]
pub struct LogSet {
    request: ScanRequest,
    how: String,
    dialect: Arc<dyn Dialect>,
    sources: Vec<Source>,
    zone: Zone,
    range: TimeRange,
    lake: Option<LakePart>,
}

/// The lake a set reads, and which source objects it holds (those are not
/// read raw again).
#[derive(Debug, Clone)]
struct LakePart {
    lake: Lake,
    manifest: Arc<Manifest>,
    /// The cold tier, when the lake has one.
    cold: Option<Lake>,
    /// delta-rs's providers over the stored columns, one per tier, built
    /// once; no file is in two.
    tiers: Vec<Arc<dyn TableProvider>>,
    /// Objects the lake holds in an older version (re-uploaded since):
    /// their rows come from the raw objects, not from the lake.
    replaced: Arc<Vec<String>>,
    /// Where the tiers' files are read from, when they are read as plain
    /// Parquet ([`LogSet::shippable`]); empty with delta-rs's providers.
    stores: Vec<LakeStore>,
}

impl LogSet {
    /// Opens `request`: every location, then the dialect (detected or set
    /// up from a sample, once), then the zone and the time range.
    pub async fn open(request: &ScanRequest) -> Result<LogSet, Error> {
        // What the CLI checks on its flags, checked again for callers that
        // build requests themselves (a server): a negative margin would
        // prune objects that hold rows of the range.
        if request.prune_margin_ms < 0 {
            return Err(Error::Request(format!(
                "bad prune margin {} ms: give zero or more",
                request.prune_margin_ms
            )));
        }
        if request.memory_limit == Some(0) {
            return Err(Error::Request(
                "bad memory limit 0: give the bytes the queries may use".into(),
            ));
        }
        // One "now" for --last, detection's hint and a comparison window.
        let mut request = request.clone();
        request.range.now_ms = Some(request.range.now());
        let lake = match &request.lake {
            Some(location) => Some(open_lake(location, &request).await?),
            None => None,
        };
        let sources = match &lake {
            Some(_) if request.locations.is_empty() => Vec::new(),
            _ => open_sources(&request.locations, &request.storage)?,
        };
        let (spec, how) = match &lake {
            Some(part) => {
                let held = part.lake.format()?;
                if !request.format.is_auto() && request.format.kind != held.kind {
                    return Err(Error::Request(format!(
                        "the lake {} holds another format than --format asks for",
                        part.lake.location
                    )));
                }
                (held, format!("the lake's format ({})", part.lake.location))
            }
            None => resolve(&request.format, &sources, &request.range.hint()).await?,
        };
        let dialect = spec.build().map_err(Error::Request)?;
        if let Some(part) = &lake {
            part.lake.check_columns(&dialect.schema("UTC"))?;
        }
        let tz = request.tz.clone().unwrap_or_else(|| dialect.default_tz());
        let Some(zone) = Zone::parse(&tz) else {
            return Err(Error::Request(format!(
                "bad --tz {tz:?}: use UTC or an offset such as +09:00"
            )));
        };
        let range = request.range.resolve(zone.offset_secs).map_err(Error::Request)?;
        request.format = spec;
        let mut set = LogSet {
            request,
            how,
            dialect,
            sources,
            zone,
            range,
            lake,
        };
        if set.lake.is_some() && !set.sources.is_empty() {
            let listed = set.list().await?;
            if let Some(part) = &mut set.lake {
                let changed = listed.iter().filter(|o| {
                    let held = part.manifest.sources.get(&o.object.name);
                    held.is_some_and(|h| !h.entry.same_object(o.object.size, o.object.etag.as_deref()))
                });
                part.replaced = Arc::new(changed.map(|o| o.object.name.clone()).collect());
            }
        }
        Ok(set)
    }

    /// What the answers over these logs depend on, as text that changes
    /// when the data does: the lake's versions, and the objects of the
    /// range (names, sizes, tags). Equal texts mean equal answers for the
    /// same question over the same absolute range (a result cache's key).
    pub async fn state_token(&self) -> Result<String, Error> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        if let Some(part) = &self.lake {
            part.lake.version().hash(&mut h);
            part.cold.as_ref().and_then(|c| c.version()).hash(&mut h);
        }
        if !self.sources.is_empty() {
            for o in self.list().await? {
                (&o.object.name, o.object.size, &o.object.etag).hash(&mut h);
            }
        }
        Ok(format!("{:016x}", h.finish()))
    }

    /// The same logs over another time range, without opening them again
    /// (the request says the new range too).
    pub fn with_range(&self, range: TimeRange) -> LogSet {
        let mut set = self.clone();
        set.request.range = RangeSpec {
            now_ms: self.request.range.now_ms,
            ..RangeSpec::absolute(range)
        };
        set.range = range;
        set
    }

    /// The request as opened, its format now the dialect decided: opening
    /// it again (elsewhere) neither detects nor samples.
    pub fn request(&self) -> &ScanRequest {
        &self.request
    }

    /// The dialect, as plain data.
    pub fn spec(&self) -> &DialectSpec {
        &self.request.format
    }

    /// How the dialect names its objects (hour of a key, date folders).
    pub fn key_template(&self) -> crate::source::KeyTemplate {
        self.dialect.template()
    }

    /// The dialect's name.
    pub fn dialect_name(&self) -> &'static str {
        self.dialect.name()
    }

    /// How the dialect was chosen (`--format`, or detection's evidence).
    pub fn how(&self) -> &str {
        &self.how
    }

    /// The raw columns, with times in `zone`.
    pub fn schema(&self, zone: &str) -> arrow::datatypes::SchemaRef {
        self.dialect.schema(zone)
    }

    /// Whether a lake is read.
    pub fn has_lake(&self) -> bool {
        self.lake.is_some()
    }

    /// The zone times are shown in.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// The time range rows are kept in.
    pub fn range(&self) -> TimeRange {
        self.range
    }

    /// Each location with the settings it was opened with (endpoint,
    /// region, credential source; never secrets), for `-v`.
    pub fn sources(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sources.iter().map(|s| (s.location.as_str(), s.settings.as_str()))
    }

    /// Registers the logs as the table `logs` of `ctx`; what its scans see
    /// is counted in the returned stats.
    pub fn register(&self, ctx: &SessionContext) -> Result<Arc<ScanStats>, Error> {
        self.register_as(ctx, "logs", Objects::Listed)
    }

    /// Registers the chosen `objects` of the logs as the table `name`.
    pub fn register_as(&self, ctx: &SessionContext, name: &str, objects: Objects) -> Result<Arc<ScanStats>, Error> {
        let stats = Arc::new(ScanStats::default());
        let Some(part) = &self.lake else {
            let table = self.table(stats.clone()).with_objects(objects);
            ctx.register_table(name, Arc::new(table))?;
            return Ok(stats);
        };
        // The lake's rows, then the raw objects it does not hold yet.
        for lake in std::iter::once(&part.lake).chain(&part.cold) {
            lake.table()
                .update_datafusion_session(&ctx.state())
                .map_err(crate::lake::LakeError::from)?;
        }
        let schema = self.dialect.schema(&self.zone.name);
        for store in &part.stores {
            store.ensure(ctx.runtime_env().as_ref())?;
        }
        let lake = LakeTable::new(part.tiers.clone(), schema, self.zone.offset_secs)
            .after_day(part.manifest.expired_through_day.clone());
        let mut logs = ctx.read_table(Arc::new(lake))?;
        if let Some(since) = self.range.since {
            logs = logs.filter(col("time").gt_eq(lit(time_literal(since, &self.zone))))?;
        }
        if let Some(until) = self.range.until {
            logs = logs.filter(col("time").lt(lit(time_literal(until, &self.zone))))?;
        }
        if !part.replaced.is_empty() {
            let names = part.replaced.iter().map(|n| lit(n.clone())).collect();
            logs = logs.filter(col("_file").in_list(names, true))?;
        }
        if !self.sources.is_empty() {
            let held = part.manifest.clone();
            let raw = self
                .table(stats.clone())
                .with_objects(Objects::ListedExcept(Arc::new(move |o| {
                    held.holds(&o.name, o.size, o.etag.as_deref())
                })));
            let mut raw = ctx.read_table(Arc::new(raw))?;
            // Days the lake's retention deleted stay deleted in raw objects too.
            if let Some(first) = part.manifest.expired_through_day.as_deref().and_then(day_after_ms) {
                raw = raw.filter(col("time").gt_eq(lit(time_literal(first, &self.zone))))?;
            }
            logs = logs.union(raw)?;
        }
        ctx.register_table(name, logs.into_view())?;
        Ok(stats)
    }

    /// The same logs, every part of whose plans another process can build
    /// again from plain data (a cluster's executors): the lake's tiers are
    /// read as their current Parquet files ([`LakeFiles`]) rather than
    /// through delta-rs's provider. Raw objects are shippable already.
    pub async fn shippable(&self) -> Result<LogSet, Error> {
        let mut set = self.clone();
        let Some(part) = &mut set.lake else {
            return Ok(set);
        };
        let mut tiers: Vec<Arc<dyn TableProvider>> = Vec::new();
        let mut stores = Vec::new();
        for (lake, provider) in std::iter::once(&part.lake).chain(&part.cold).zip(&part.tiers) {
            let store = LakeStore::new(&lake.location, &self.request.storage);
            let files = lake
                .files()
                .await?
                .into_iter()
                .map(|f| TierFile {
                    path: f.path,
                    size: f.size,
                    day: f.day,
                })
                .collect();
            tiers.push(Arc::new(LakeFiles::new(store.clone(), provider.schema(), files)?));
            stores.push(store);
        }
        part.tiers = tiers;
        part.stores = stores;
        Ok(set)
    }

    /// The objects the logs hold for their time range (widened by the
    /// margin), each once, in name order per location.
    pub async fn list(&self) -> Result<Vec<ScanObject>, Error> {
        let table = self.table(Arc::new(ScanStats::default()));
        Ok(table.list_range(&self.range).await?)
    }

    fn table(&self, stats: Arc<ScanStats>) -> LogTable {
        let options = ScanOptions {
            range: self.range,
            prune_margin_ms: self.request.prune_margin_ms,
            strict: self.request.strict,
            skip_unreadable: self.request.skip_unreadable,
            zone: self.zone.clone(),
        };
        let origin = crate::scan::exec::ScanOrigin {
            spec: self.request.format.clone(),
            zone: self.zone.name.clone(),
            storage: self.request.storage.clone(),
        };
        LogTable::new(self.dialect.clone(), self.sources.clone(), options, stats).with_origin(origin)
    }
}

/// The start (epoch ms, UTC) of the day after `day` (`YYYY-MM-DD`).
fn day_after_ms(day: &str) -> Option<i64> {
    let next = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?.succ_opt()?;
    Some(next.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// A time as a literal of the `time` column's type.
fn time_literal(ms: i64, zone: &Zone) -> ScalarValue {
    ScalarValue::TimestampMillisecond(Some(ms), Some(zone.name.as_str().into()))
}

/// Opens the lake of `request`, which must exist, and reads what it holds.
async fn open_lake(location: &str, request: &ScanRequest) -> Result<LakePart, Error> {
    let lake = Lake::open(location, &request.storage).await?;
    if !lake.exists() {
        return Err(Error::Request(format!(
            "no lake at {location}: make one with `edgelog ingest --from LOGS --lake {location}`"
        )));
    }
    let manifest = Arc::new(crate::lake::manifest::read(lake.table()).await?);
    // The cold tier at the version the hot table acknowledged: a move or
    // re-upload that stopped half-way shows nothing of its cold half.
    let cold = crate::lake::tier::acknowledged_cold(&lake, &manifest, &request.storage).await?;
    // The lake's text columns come back as the raw scan's `Utf8`, not as
    // string views that the cast to the raw types would copy again; filters
    // still prune row groups and pages.
    let mut config = datafusion::prelude::SessionConfig::new();
    config.options_mut().execution.parquet.schema_force_view_types = false;
    config.options_mut().execution.parquet.pushdown_filters = true;
    let reading = Arc::new(
        datafusion::execution::SessionStateBuilder::new()
            .with_config(config)
            .build(),
    );
    let mut tiers = vec![
        lake.table()
            .table_provider()
            .with_session(reading.clone())
            .into_future()
            .await?,
    ];
    if let Some(c) = &cold {
        tiers.push(c.table().table_provider().with_session(reading).into_future().await?);
    }
    Ok(LakePart {
        lake,
        cold,
        manifest,
        tiers,
        replaced: Arc::default(),
        stores: Vec::new(),
    })
}
