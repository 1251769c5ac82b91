//! [`RowFn`]: a scalar function whose arguments are read as text and which
//! is computed row by row by a plain Rust function. Most log functions are
//! of this shape; those that need more (structs, integers) implement
//! `ScalarUDFImpl` themselves.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanBuilder, StringArray, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use super::output;

/// One row's arguments (`None` for NULL).
pub type Args<'a> = [Option<&'a str>];

/// What a [`RowFn`] computes from its text arguments (NULL arguments are
/// passed as `None`); `Err` fails the query with the function's name.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// Returns text.
    Text(fn(&Args<'_>) -> Result<Option<String>, String>),
    /// Returns a flag.
    Bool(fn(&Args<'_>) -> Result<Option<bool>, String>),
}

/// A row-by-row function over text arguments.
#[derive(Debug)]
pub struct RowFn {
    name: &'static str,
    signature: Signature,
    body: Body,
}

impl PartialEq for RowFn {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for RowFn {}

impl std::hash::Hash for RowFn {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

/// A function `name` of `arity` arguments, any type (read as text).
pub fn row_fn(name: &'static str, arity: usize, body: Body) -> ScalarUDF {
    ScalarUDF::from(RowFn {
        name,
        signature: Signature::any(arity, Volatility::Immutable),
        body,
    })
}

impl ScalarUDFImpl for RowFn {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.body {
            Body::Text(_) => DataType::Utf8,
            Body::Bool(_) => DataType::Boolean,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let texts: Vec<StringArray> = args
            .args
            .iter()
            .map(|a| {
                let array = a.to_array(rows)?;
                let cast = arrow::compute::cast(&array, &DataType::Utf8).map_err(|_| {
                    DataFusionError::Plan(format!(
                        "{}: cannot read a {} argument as text",
                        self.name,
                        array.data_type()
                    ))
                })?;
                Ok(cast
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .cloned()
                    .unwrap_or_else(|| StringArray::new_null(rows)))
            })
            .collect::<Result<_>>()?;
        let fail = |e: String| DataFusionError::Execution(format!("{}: {e}", self.name));
        let mut row: Vec<Option<&str>> = Vec::with_capacity(texts.len());
        let array: ArrayRef = match self.body {
            // One argument: each distinct value is computed once per batch
            // (user agents and paths repeat a lot).
            Body::Text(f) if texts.len() == 1 => {
                let mut memo: HashMap<&str, Option<String>> = HashMap::new();
                let mut b = StringBuilder::new();
                let t = &texts[0];
                for i in 0..rows {
                    if t.is_null(i) {
                        b.append_option(f(&[None]).map_err(fail)?);
                        continue;
                    }
                    let v = t.value(i);
                    let out = match memo.get(v) {
                        Some(out) => out,
                        None => memo.entry(v).or_insert(f(&[Some(v)]).map_err(fail)?),
                    };
                    b.append_option(out.as_deref());
                }
                Arc::new(b.finish())
            }
            Body::Text(f) => {
                let mut b = StringBuilder::new();
                for i in 0..rows {
                    row.clear();
                    row.extend(texts.iter().map(|t| t.is_valid(i).then(|| t.value(i))));
                    b.append_option(f(&row).map_err(fail)?);
                }
                Arc::new(b.finish())
            }
            Body::Bool(f) => {
                let mut b = BooleanBuilder::new();
                for i in 0..rows {
                    row.clear();
                    row.extend(texts.iter().map(|t| t.is_valid(i).then(|| t.value(i))));
                    b.append_option(f(&row).map_err(fail)?);
                }
                Arc::new(b.finish())
            }
        };
        output(&args.args, array)
    }
}
