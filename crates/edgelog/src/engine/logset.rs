//! [`LogSet`]: a [`ScanRequest`] opened once.

use std::sync::Arc;

use datafusion::prelude::SessionContext;

use super::request::{RangeSpec, ScanRequest};
use super::sample::open_sources;
use super::{Error, resolve};
use crate::config::{ScanOptions, TimeRange, Zone};
use crate::dialect::{Dialect, DialectSpec};
use crate::scan::stats::ScanStats;
use crate::scan::table::LogTable;
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
        let sources = open_sources(&request.locations, &request.storage)?;
        let (spec, how) = resolve(&request.format, &sources, &request.range.hint()).await?;
        let dialect = spec.build().map_err(Error::Request)?;
        let tz = request.tz.clone().unwrap_or_else(|| dialect.default_tz());
        let Some(zone) = Zone::parse(&tz) else {
            return Err(Error::Request(format!(
                "bad --tz {tz:?}: use UTC or an offset such as +09:00"
            )));
        };
        let range = request.range.resolve(zone.offset_secs).map_err(Error::Request)?;
        request.format = spec;
        Ok(LogSet {
            request,
            how,
            dialect,
            sources,
            zone,
            range,
        })
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

    /// The dialect's name.
    pub fn dialect_name(&self) -> &'static str {
        self.dialect.name()
    }

    /// How the dialect was chosen (`--format`, or detection's evidence).
    pub fn how(&self) -> &str {
        &self.how
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
        let stats = Arc::new(ScanStats::default());
        let options = ScanOptions {
            range: self.range,
            prune_margin_ms: self.request.prune_margin_ms,
            strict: self.request.strict,
            skip_unreadable: self.request.skip_unreadable,
            zone: self.zone.clone(),
        };
        let table = LogTable::new(self.dialect.clone(), self.sources.clone(), options, stats.clone());
        ctx.register_table("logs", Arc::new(table))?;
        Ok(stats)
    }
}
