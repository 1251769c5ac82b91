//! The lake's column types and the raw query's, one to one.
//!
//! Delta Lake has no unsigned integers, no dictionaries and only
//! microsecond timestamps. Each raw column is stored in the narrowest Delta
//! type that holds every value (`UInt16` in `Int32`, `UInt64` in `Int64`,
//! which refuses a value above `i64::MAX` with an error naming the column),
//! dictionaries as their values, times as microseconds in UTC; reading
//! casts back, so a query sees exactly the raw types. The partition column
//! `_day` (the UTC date of `time`) is the lake's own and not shown.

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The partition column: the UTC day of `time`, `YYYY-MM-DD`.
pub const DAY: &str = "_day";

/// The stored type of a raw column's type.
pub fn stored_type(raw: &DataType) -> DataType {
    match raw {
        DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        DataType::Dictionary(_, values) => stored_type(values),
        DataType::Timestamp(_, _) => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        other => other.clone(),
    }
}

/// The lake's schema for a raw schema: every raw column in its stored
/// type, then [`DAY`].
pub fn stored_schema(raw: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = raw
        .fields()
        .iter()
        .map(|f| Field::new(f.name(), stored_type(f.data_type()), f.is_nullable()))
        .collect();
    fields.push(Field::new(DAY, DataType::Utf8, true));
    std::sync::Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::DialectSpec;

    /// Every dialect's columns have a stored type Delta takes, and the
    /// stored type holds every value of the raw one.
    #[test]
    fn every_dialect_column_has_a_delta_type() {
        for name in crate::dialect::names() {
            let Ok(d) = DialectSpec::named(name).build() else {
                continue;
            };
            let raw = d.schema("+09:00");
            let stored = stored_schema(&raw);
            assert_eq!(stored.fields().len(), raw.fields().len() + 1, "{name}");
            for (r, s) in raw.fields().iter().zip(stored.fields()) {
                let t = s.data_type();
                assert!(
                    matches!(
                        t,
                        DataType::Utf8
                            | DataType::Int16
                            | DataType::Int32
                            | DataType::Int64
                            | DataType::Float64
                            | DataType::Boolean
                            | DataType::Timestamp(TimeUnit::Microsecond, _)
                    ) || matches!(t, DataType::List(item) if item.data_type() == &DataType::Utf8),
                    "{name}.{}: {t}",
                    r.name()
                );
                assert!(arrow::compute::can_cast_types(r.data_type(), t), "{name}.{}", r.name());
                assert!(arrow::compute::can_cast_types(t, r.data_type()), "{name}.{}", r.name());
            }
        }
    }
}
