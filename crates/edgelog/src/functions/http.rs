//! HTTP functions: `status_class(status)` (`2xx` ... `5xx`), `is_error(status)`
//! (4xx and 5xx) and `parse_request(line)`, a struct of method, path, query
//! and protocol (`parse_request(request)['path']`).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringBuilder, StructArray};
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use edgelog_parse::request::split_request;

use super::rowfn::{Body, row_fn};
use super::{arrays, output, strings};

fn status(text: &str) -> Result<Option<u16>, String> {
    match text.trim().parse::<i64>() {
        Ok(s) if (100..=599).contains(&s) => Ok(Some(s as u16)),
        Ok(_) => Ok(None),
        Err(_) => Err(format!("not a status code: {text:?}")),
    }
}

/// Every HTTP function.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        row_fn(
            "status_class",
            1,
            Body::Text(|a| {
                Ok(match a[0] {
                    Some(t) => status(t)?.map(|s| format!("{}xx", s / 100)),
                    None => None,
                })
            }),
        ),
        row_fn(
            "is_error",
            1,
            Body::Bool(|a| {
                Ok(match a[0] {
                    Some(t) => status(t)?.map(|s| s >= 400),
                    None => None,
                })
            }),
        ),
        ScalarUDF::from(ParseRequest {
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        }),
    ]
}

fn request_fields() -> Fields {
    Fields::from(
        ["method", "path", "query", "protocol"]
            .map(|n| Field::new(n, DataType::Utf8, true))
            .to_vec(),
    )
}

/// `parse_request(line)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ParseRequest {
    signature: Signature,
}

impl ScalarUDFImpl for ParseRequest {
    fn name(&self) -> &str {
        "parse_request"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(request_fields()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arrays(&args.args, args.number_rows)?;
        let lines = strings(&arrays, 0, "parse_request")?;
        let mut parts: [StringBuilder; 4] = std::array::from_fn(|_| StringBuilder::new());
        for line in lines.iter() {
            let r = line.map(split_request).unwrap_or_default();
            for (b, v) in parts.iter_mut().zip([r.method, r.path, r.query, r.protocol]) {
                b.append_option(v);
            }
        }
        let columns: Vec<ArrayRef> = parts.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
        let nulls = lines.logical_nulls();
        let array = StructArray::try_new(request_fields(), columns, nulls)?;
        output(&args.args, Arc::new(array))
    }
}
