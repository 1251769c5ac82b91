//! Column types ([`Ty`]) and the canonical columns: the one definition of
//! the columns every dialect fills (DESIGN.md, "Schema"), so that reports,
//! per-object reading and every dialect's schema agree on their names,
//! order and types.

use arrow::datatypes::{DataType, Field, TimeUnit};
use serde::{Deserialize, Serialize};

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ty {
    /// Text.
    Str,
    /// Text with few distinct values (dictionary encoded).
    Dict,
    /// Ports and statuses.
    U16,
    /// Byte counts.
    U64,
    /// Signed integers.
    I64,
    /// Durations and fractions.
    F64,
    /// Timestamps (ms, shown in the table's zone).
    Time,
    /// Flags.
    Bool,
    /// A list of texts, written comma-separated in the line
    /// (`X-Forwarded-For`).
    List,
}

impl Ty {
    /// Its Arrow type, with times in `tz`.
    pub fn data_type(self, tz: &str) -> DataType {
        match self {
            Ty::Str => DataType::Utf8,
            Ty::Dict => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            Ty::U16 => DataType::UInt16,
            Ty::U64 => DataType::UInt64,
            Ty::I64 => DataType::Int64,
            Ty::F64 => DataType::Float64,
            Ty::Time => DataType::Timestamp(TimeUnit::Millisecond, Some(tz.into())),
            Ty::Bool => DataType::Boolean,
            Ty::List => DataType::List(std::sync::Arc::new(Field::new_list_field(DataType::Utf8, true))),
        }
    }

    /// What a value of this type looks like, for errors.
    pub(super) fn expected(self) -> &'static str {
        match self {
            Ty::Str | Ty::Dict => "text",
            Ty::U16 => "an integer 0-65535",
            Ty::U64 => "a non-negative integer",
            Ty::I64 => "an integer",
            Ty::F64 => "a number",
            Ty::Time => "a timestamp",
            Ty::Bool => "true or false",
            Ty::List => "a comma-separated list",
        }
    }
}

/// One canonical column.
#[derive(Debug, Clone, Copy)]
pub struct CanonicalColumn {
    /// Its SQL name.
    pub name: &'static str,
    /// Its type.
    pub ty: Ty,
    /// What it holds, for `edgelog formats`.
    pub doc: &'static str,
    /// Whether the report panels read it (their shared scan projects only these).
    pub reported: bool,
}

const fn col(name: &'static str, ty: Ty, doc: &'static str, reported: bool) -> CanonicalColumn {
    CanonicalColumn {
        name,
        ty,
        doc,
        reported,
    }
}

/// The canonical columns, in schema order.
pub const CANONICAL: &[CanonicalColumn] = &[
    col("time", Ty::Time, "canonical: request time", true),
    col("host", Ty::Str, "canonical: host the request was for", true),
    col("client_ip", Ty::Str, "canonical: client address", true),
    col("method", Ty::Str, "canonical: request method", true),
    col("path", Ty::Str, "canonical: path, before ?", true),
    col("query", Ty::Str, "canonical: query string, after ?", false),
    col("protocol", Ty::Str, "canonical: protocol, e.g. HTTP/1.1", false),
    col("status", Ty::U16, "canonical: response status", true),
    col("bytes", Ty::U64, "canonical: bytes sent to the client", true),
    col(
        "cache_status",
        Ty::Dict,
        "canonical: cache result as the service writes it",
        true,
    ),
    col("referer", Ty::Str, "canonical: Referer header", true),
    col("user_agent", Ty::Str, "canonical: User-Agent header", true),
    col("request_time", Ty::F64, "canonical: request duration in seconds", true),
];

/// Whether a native column of this name is covered by a canonical one.
pub fn is_canonical(name: &str) -> bool {
    CANONICAL.iter().any(|c| c.name == name)
}

/// The canonical columns as nullable Arrow fields, times in `tz`.
pub fn canonical_fields(tz: &str) -> Vec<Field> {
    CANONICAL
        .iter()
        .map(|c| Field::new(c.name, c.ty.data_type(tz), true))
        .collect()
}

/// The names of the columns the report panels read.
pub fn reported_columns() -> impl Iterator<Item = &'static str> {
    CANONICAL.iter().filter(|c| c.reported).map(|c| c.name)
}
