//! Log-aware SQL functions, one family per file, registered once on every
//! session by [`register_all`].
//!
//! So far: `ip_prefix`, `ip_version` ([`ip`]) and `ua_is_bot`
//! ([`useragent`]), which the report panels use.

pub mod ip;
pub mod useragent;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF};
use datafusion::prelude::SessionContext;

/// Registers every function on `ctx`.
pub fn register_all(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(ip::ip_prefix()));
    ctx.register_udf(ScalarUDF::from(ip::ip_version()));
    ctx.register_udf(ScalarUDF::from(useragent::ua_is_bot()));
}

/// The arguments as arrays of one length, strings cast to `Utf8`.
fn arrays(args: &[ColumnarValue], rows: usize) -> Result<Vec<ArrayRef>> {
    args.iter()
        .map(|a| {
            let array = a.to_array(rows)?;
            match array.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 | DataType::Dictionary(..) => {
                    Ok(arrow::compute::cast(&array, &DataType::Utf8)?)
                }
                _ => Ok(array),
            }
        })
        .collect()
}

/// Argument `i` as a string array.
fn strings(arrays: &[ArrayRef], i: usize, func: &str) -> Result<arrow::array::StringArray> {
    arrays
        .get(i)
        .and_then(|a| a.as_string_opt::<i32>())
        .cloned()
        .ok_or_else(|| DataFusionError::Plan(format!("{func}: argument {} must be text", i + 1)))
}

/// The result: a scalar when every argument was one.
fn output(args: &[ColumnarValue], array: ArrayRef) -> Result<ColumnarValue> {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        Ok(ColumnarValue::Scalar(datafusion::scalar::ScalarValue::try_from_array(
            &array, 0,
        )?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}
