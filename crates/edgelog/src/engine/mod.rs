//! The front door: every consumer (the CLI, the demo, the tests, and later
//! the lake, alerts, the server and the cluster) reads logs through here.
//!
//! A [`ScanRequest`] says what to read as plain data. [`LogSet::open`]
//! opens it once: it opens the stores, samples and detects the dialect,
//! and resolves the zone and the time range; the set registers itself as
//! the table `logs` in a session and can be re-scoped to another time
//! range without opening again ([`LogSet::with_range`]). [`QueryService`]
//! answers SQL (a stream of batches plus what the scan saw) and reports.
//!
//! Nothing here prints: figures and lists come back as values, and `cli/`
//! decides what to show. Errors say whose fault they are ([`Error`]).
//!
//! Capabilities built on it (`lake/`, `alert/`, `server/`, `cluster/`)
//! call this module and the plain types of `config`, `dialect`, `report`;
//! none of them opens a store or a session on its own.

mod logset;
mod request;
mod sample;
mod service;

#[cfg(test)]
mod request_tests;

pub use logset::LogSet;
pub use request::{Compare, RangeSpec, ScanRequest, TimeArg};
pub use sample::{detect, detect_objects, resolve, sample};
pub use service::{PreparedQuery, QueryRun, QueryService, Remote, ReportOptions, ScanHandle};

use datafusion::error::DataFusionError;

use crate::source::SourceError;

/// Why the engine could not answer, by fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is wrong: an unknown format, a bad time, an undetectable
    /// dialect. The caller's to fix.
    #[error("{0}")]
    Request(String),
    /// A location could not be opened, listed or sampled while opening the
    /// logs. (A fault while scanning comes as [`Error::DataFusion`], with
    /// the object named inside.)
    #[error(transparent)]
    Source(#[from] SourceError),
    /// DataFusion could not plan the question (a bad query) or run it (bad
    /// input, an unreadable object, `--strict`).
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
    /// The lake could not be opened, read or written.
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
}

impl Error {
    /// The DataFusion error inside, if this is one.
    pub fn as_datafusion(&self) -> Option<&DataFusionError> {
        match self {
            Error::DataFusion(e) => Some(e),
            _ => None,
        }
    }
}

impl Error {
    /// The error for people, on one line.
    pub fn message(&self) -> String {
        let text = match self {
            Error::DataFusion(e) => datafusion_message(e),
            other => other.to_string(),
        };
        text.replace('\n', " ")
    }
}

/// A DataFusion error's message without its wrapping ("External error: ",
/// contexts kept, backtraces dropped), for people.
pub fn datafusion_message(e: &datafusion::error::DataFusionError) -> String {
    use datafusion::error::DataFusionError as E;
    match e {
        E::External(inner) => match inner.downcast_ref::<E>() {
            Some(df) => datafusion_message(df),
            None => inner.to_string(),
        },
        E::Context(ctx, inner) => format!("{ctx}: {}", datafusion_message(inner)),
        E::Shared(inner) => datafusion_message(inner),
        E::Execution(msg) => msg.clone(),
        E::ArrowError(inner, _) => match inner.as_ref() {
            arrow::error::ArrowError::ExternalError(x) => match x.downcast_ref::<E>() {
                Some(df) => datafusion_message(df),
                None => x.to_string(),
            },
            other => other.to_string(),
        },
        E::Collection(errs) => errs.first().map(datafusion_message).unwrap_or_default(),
        other => other.strip_backtrace(),
    }
}
