//! edgelog: SQL, reports and alerts over web/CDN access logs where they
//! live, on local disk or S3-compatible object storage.
//!
//! Follow the data: [`cli`] turns flags into a plain
//! [`engine::ScanRequest`]; the [`engine`] opens it once (stores from
//! [`source`], the dialect from [`dialect`], detected from a sample) and
//! answers SQL and reports through DataFusion ([`session`], the [`scan`]
//! of each object, [`functions`]); [`output`] and [`report`]'s renderers
//! turn the answers into text, files and pages. [`lake`] keeps logs as a
//! Delta Lake table that the engine reads like raw objects; [`ingest`]
//! fills it. [`config`]
//! holds the plain values every layer shares; [`demo`] makes sample data.
//! `server` answers the dashboard and the HTTP API; [`trace`] continues a
//! caller's trace and exports spans over OTLP.

pub mod alert;
pub mod cli;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod config;
pub mod demo;
pub mod dialect;
pub mod engine;
pub mod functions;
pub mod ingest;
pub mod lake;
pub mod output;
pub mod report;
pub mod scan;
#[cfg(feature = "server")]
pub mod server;
pub mod session;
pub mod source;
pub mod trace;

#[cfg(test)]
mod layout_tests;
