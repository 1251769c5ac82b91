//! edgelog: SQL, reports and alerts over web/CDN access logs where they
//! live, on local disk or S3-compatible object storage.
//!
//! Follow the data: a location is opened by [`source`], its objects are
//! listed and pruned by time, each object is decoded and parsed by
//! [`mod@format`] into Arrow batches, DataFusion runs the SQL ([`session`],
//! [`query`]), and [`output`] writes the rows
//! ([`progress`] draws a bar on a terminal meanwhile). [`cli`] turns flags into the
//! plain structs of [`config`]; [`demo`] makes sample data and answers.

pub mod cli;
pub mod config;
pub mod demo;
pub mod format;
pub mod functions;
pub mod output;
pub mod progress;
pub mod query;
pub mod report;
pub mod session;
pub mod source;
