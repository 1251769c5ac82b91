//! The scan: how the objects of a log set become Arrow batches inside
//! DataFusion. [`table`] is the `logs` table (time bounds from `WHERE` ->
//! listing -> [`exec`]); [`exec`] spreads objects over partitions and reads
//! ahead; [`object`] is the one reader of object bytes (decompression, line
//! splitting, the line decoder) used by the scan and by detection's sample;
//! [`pushdown`] finds time bounds in filters; [`stats`] counts what was read
//! and what was malformed, and the scan's plan metrics carry the same figures.
//!
//! It knows dialects only through the [`crate::dialect::Dialect`] and
//! [`crate::dialect::LineDecoder`] traits, and storage only through
//! [`crate::source`]. It never prints.

pub mod exec;
pub mod object;
pub mod plain;
pub mod pushdown;
pub mod stats;
pub mod table;
