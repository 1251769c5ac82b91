//! Built-in functions evaluated once per run of equal rows.
//!
//! DataFusion's `to_char` formats every row through chrono: in a question
//! that groups by hour (`to_char(time, '%Y-%m-%dT%H')`) it was the dearest
//! step after the scan. Log rows come in time order, several per second,
//! so a batch holds long runs of the same timestamp. [`EachRun`] wraps a
//! built-in function: it finds the runs of equal consecutive argument rows,
//! calls the function on the first row of each run, and repeats each result
//! over its run. The answer is the built-in's own, row for row, by
//! construction; only the number of calls changes.

use std::sync::Arc;

use arrow::array::{ArrayRef, UInt32Array};
use arrow::compute::kernels::partition::partition;
use arrow::compute::take;
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

/// Batches shorter than this are passed straight through.
const MIN_ROWS: usize = 64;

/// `inner`, called once per run of equal consecutive rows of its arguments.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct EachRun {
    inner: Arc<ScalarUDF>,
}

impl EachRun {
    /// Wraps `inner`; registered under its name (and aliases), it replaces it.
    pub fn udf(inner: Arc<ScalarUDF>) -> ScalarUDF {
        ScalarUDF::new_from_impl(EachRun { inner })
    }
}

/// The functions worth it: `to_char` (alias `date_format`).
pub fn functions() -> Vec<ScalarUDF> {
    vec![EachRun::udf(datafusion::functions::datetime::to_char())]
}

impl ScalarUDFImpl for EachRun {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }

    fn with_updated_config(&self, config: &ConfigOptions) -> Option<ScalarUDF> {
        self.inner
            .inner()
            .with_updated_config(config)
            .map(|updated| EachRun::udf(Arc::new(updated)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let columns: Vec<ArrayRef> = args
            .args
            .iter()
            .filter_map(|a| match a {
                ColumnarValue::Array(a) => Some(a.clone()),
                ColumnarValue::Scalar(_) => None,
            })
            .collect();
        let n = args.number_rows;
        if columns.is_empty() || n < MIN_ROWS || columns.iter().any(|c| c.len() != n) {
            return self.inner.invoke_with_args(args);
        }
        // A type the kernel cannot compare: every row, as the built-in does.
        let Ok(runs) = partition(&columns) else {
            return self.inner.invoke_with_args(args);
        };
        let ranges = runs.ranges();
        // Fewer than two rows per run on average: not worth the copies.
        if ranges.len() * 2 > n {
            return self.inner.invoke_with_args(args);
        }
        let firsts = UInt32Array::from_iter_values(ranges.iter().map(|r| r.start as u32));
        let firsts_args = args
            .args
            .iter()
            .map(|a| match a {
                ColumnarValue::Array(a) => Ok(ColumnarValue::Array(take(a, &firsts, None)?)),
                ColumnarValue::Scalar(s) => Ok(ColumnarValue::Scalar(s.clone())),
            })
            .collect::<Result<Vec<_>>>()?;
        let per_run = self
            .inner
            .invoke_with_args(ScalarFunctionArgs {
                args: firsts_args,
                arg_fields: args.arg_fields.clone(),
                number_rows: ranges.len(),
                return_field: args.return_field.clone(),
                config_options: args.config_options.clone(),
            })?
            .into_array(ranges.len())?;
        let mut each = Vec::with_capacity(n);
        for (k, r) in ranges.iter().enumerate() {
            each.extend(std::iter::repeat_n(k as u32, r.len()));
        }
        Ok(ColumnarValue::Array(take(&per_run, &UInt32Array::from(each), None)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, StringArray, TimestampMillisecondArray};
    use datafusion::prelude::SessionContext;
    use proptest::prelude::*;

    /// Runs `to_char` over `ms` (in +09:00) with `format`, built-in and wrapped.
    async fn both(ms: Vec<Option<i64>>, format: &str) -> (Vec<Option<String>>, Vec<Option<String>>) {
        let array = TimestampMillisecondArray::from(ms).with_timezone("+09:00");
        let batch = arrow::record_batch::RecordBatch::try_from_iter([("t", Arc::new(array) as ArrayRef)]).unwrap();
        let sql = format!("SELECT to_char(t, '{format}') s FROM b");
        let mut out = vec![];
        for wrapped in [false, true] {
            let ctx = SessionContext::new();
            if wrapped {
                for f in functions() {
                    ctx.register_udf(f);
                }
            }
            ctx.register_batch("b", batch.clone()).unwrap();
            let rows = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
            let mut v = vec![];
            for b in rows {
                let s = b.column(0).as_any().downcast_ref::<StringArray>().unwrap().clone();
                v.extend((0..s.len()).map(|i| s.is_valid(i).then(|| s.value(i).to_string())));
            }
            out.push(v);
        }
        let wrapped = out.pop().unwrap();
        (out.pop().unwrap(), wrapped)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]
        /// Whatever the runs (long, short, nulls), the wrapped function answers
        /// as the built-in does, row for row.
        #[test]
        fn each_run_answers_as_the_builtin(
            runs in proptest::collection::vec((proptest::option::of(0i64..4_000_000_000_000), 1usize..40), 1..60),
            format in prop_oneof![Just("%Y-%m-%dT%H"), Just("%Y-%m-%d %H:%M:%S%.3f %z"), Just("%a %b %e")],
        ) {
            let ms: Vec<Option<i64>> = runs.iter().flat_map(|(v, k)| std::iter::repeat_n(*v, *k)).collect();
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let (builtin, wrapped) = rt.block_on(both(ms, format));
            prop_assert_eq!(builtin, wrapped);
        }
    }

    #[test]
    fn replaces_the_builtin_under_its_name_and_alias() {
        let ctx = SessionContext::new();
        crate::functions::register_all(&ctx);
        for name in ["to_char", "date_format"] {
            let udf = ctx.state().scalar_functions().get(name).cloned().unwrap();
            let inner: &dyn std::any::Any = udf.inner().as_ref();
            assert!(inner.downcast_ref::<EachRun>().is_some(), "{name} is not wrapped");
        }
    }
}
