//! Access-log dialect parsers: bytes in, borrowed fields out.
//!
//! This crate owns everything that turns one log line (or one object key) into
//! values: the flat JSON-line scanner, the Sakura web-accelerator dialect,
//! the HAProxy and Squid line formats, patterns compiled from nginx, Apache,
//! varnishncsa and Envoy format strings,
//! request-line splitting, timestamp parsing and whole-buffer gzip inflate
//! (the one FFI call, to libdeflate). It must not know about Arrow,
//! DataFusion or I/O: every function here is a pure function of its input, so
//! that it can be unit-tested and fuzzed in seconds.
//!
//! Fields are borrowed from the line; escapes are decoded only when a value
//! has any, into a scratch buffer the caller owns.

mod error;
pub mod haproxy;
pub mod inflate;
pub mod json;
pub mod layout;
pub mod pattern;
pub mod request;
pub mod sakura;
pub mod squid;
pub mod text;
pub mod time;
pub mod w3c;

pub use error::ParseError;

#[cfg(test)]
mod fuzz_tests;
