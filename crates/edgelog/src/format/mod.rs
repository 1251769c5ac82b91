//! Log dialects as DataFusion tables: schemas, key templates, line decoders
//! that append to Arrow builders, and the scan that runs them.
//!
//! The scan path, object -> bytes -> lines -> Arrow, is [`scan`] (one
//! object) driven by [`exec`] (objects per partition). Parsing itself lives
//! in `edgelog-parse`; this module only appends what it returns. It must not
//! open locations or resolve credentials: `source/` hands it objects.

pub mod exec;
pub mod inflate;
pub mod pushdown;
pub mod sakura;
pub mod scan;
pub mod stats;
pub mod table;

use std::fmt::Debug;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use edgelog_parse::ParseError;

use crate::config::TimeRange;
use crate::source::KeyTemplate;

/// A log dialect: how its objects are named and how its lines become rows.
pub trait Dialect: Debug + Send + Sync {
    /// Its name on the command line (`--format sakura`).
    fn name(&self) -> &'static str;
    /// One line saying what writes it.
    fn description(&self) -> &'static str;
    /// The zone its times are shown in unless `--tz` says otherwise.
    fn default_tz(&self) -> &'static str;
    /// How its objects are named, for listing and time pruning.
    fn template(&self) -> KeyTemplate;
    /// Every column, with times in `tz`.
    fn schema(&self, tz: &str) -> SchemaRef;
    /// Each column's name and meaning, for `edgelog formats`.
    fn column_docs(&self) -> &'static [(&'static str, &'static str)];
    /// A decoder that appends the `projection` columns of `schema` for rows
    /// whose time lies in `rows`.
    fn decoder(&self, schema: &SchemaRef, projection: &[usize], rows: TimeRange) -> Box<dyn LineDecoder>;
}

/// Turns lines into rows of one record batch at a time.
pub trait LineDecoder: Send {
    /// Parses one line and appends its row, unless its time is outside the
    /// decoder's range. Unknown field names go to `unknown`. On error nothing
    /// is appended.
    fn push_line(&mut self, line: &str, line_no: u64, unknown: &mut dyn FnMut(&str)) -> Result<(), ParseError>;
    /// Rows appended since the last batch.
    fn len(&self) -> usize;
    /// Whether no rows are waiting.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Takes the rows appended so far as a batch; `file` fills `_file`.
    fn finish_batch(&mut self, file: &str) -> datafusion::error::Result<RecordBatch>;
}

/// Every dialect edgelog knows.
pub fn dialects() -> Vec<Arc<dyn Dialect>> {
    vec![Arc::new(sakura::Sakura)]
}

/// The dialect with this name.
pub fn dialect(name: &str) -> Option<Arc<dyn Dialect>> {
    dialects().into_iter().find(|d| d.name() == name)
}
