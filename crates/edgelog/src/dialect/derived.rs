//! A dialect without its derived columns (`forwarded_for`): the columns a
//! lake made before they existed stores (`DialectSpec::legacy_columns`).

use std::sync::Arc;

use arrow::datatypes::{DataType, Schema, SchemaRef};

use super::generic::FORWARDED_FOR;
use super::spec::Sampled;
use super::{Dialect, LineDecoder};
use crate::config::TimeRange;
use crate::source::KeyTemplate;

/// A dialect without its derived columns (`forwarded_for`): the columns a
/// lake made before they existed stores (`DialectSpec::legacy_columns`).
#[derive(Debug)]
pub struct WithoutDerived(pub Arc<dyn Dialect>);

impl WithoutDerived {
    /// The inner schema's column indices this one keeps.
    fn kept(&self, inner: &Schema) -> Vec<usize> {
        (0..inner.fields().len())
            .filter(|&i| inner.field(i).name() != FORWARDED_FOR)
            .collect()
    }
}

impl Dialect for WithoutDerived {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn description(&self) -> String {
        self.0.description()
    }
    fn default_tz(&self) -> String {
        self.0.default_tz()
    }
    fn template(&self) -> KeyTemplate {
        self.0.template()
    }
    fn schema(&self, tz: &str) -> SchemaRef {
        let inner = self.0.schema(tz);
        Arc::new(inner.project(&self.kept(&inner)).unwrap_or_else(|_| Schema::empty()))
    }
    fn column_docs(&self) -> Vec<(String, String)> {
        self.0
            .column_docs()
            .into_iter()
            .filter(|(n, _)| n != FORWARDED_FOR)
            .collect()
    }
    fn rank(&self) -> u32 {
        self.0.rank()
    }
    fn sampled(&self, sample: &[String]) -> Sampled {
        self.0.sampled(sample)
    }
    fn with_sampled(&self, sampled: &Sampled) -> Arc<dyn Dialect> {
        Arc::new(WithoutDerived(self.0.with_sampled(sampled)))
    }
    fn needs_sample(&self) -> bool {
        self.0.needs_sample()
    }
    fn knows_key(&self, key: &str) -> Option<bool> {
        self.0.knows_key(key)
    }
    fn decoder(&self, schema: &SchemaRef, projection: &[usize], rows: TimeRange) -> Box<dyn LineDecoder> {
        let tz = schema
            .fields()
            .iter()
            .find_map(|f| match f.data_type() {
                DataType::Timestamp(_, Some(tz)) => Some(tz.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "UTC".into());
        let inner = self.0.schema(&tz);
        let kept = self.kept(&inner);
        let mapped: Vec<usize> = projection.iter().filter_map(|&i| kept.get(i).copied()).collect();
        self.0.decoder(&inner, &mapped, rows)
    }
}
