//! `--format auto-per-object`: each object is read in the dialect its own
//! first lines show. Dialects differ in native columns, so the table has the
//! canonical columns only, plus `_format` (the dialect of the row's object).

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use edgelog_parse::ParseError;

use super::canonical::{CANONICAL, canonical_fields};
use super::detect::{SAMPLE_LINES, judge};
use super::spec::Sampled;
use super::{Dialect, LineDecoder, registry};
use crate::config::TimeRange;
use crate::source::KeyTemplate;

/// Reads each object in its own dialect.
#[derive(Debug, Clone, Copy)]
pub struct PerObject;

impl Dialect for PerObject {
    fn name(&self) -> &'static str {
        "auto-per-object"
    }

    fn description(&self) -> String {
        "each object in the format its first lines show; canonical columns and _format only".into()
    }

    fn default_tz(&self) -> String {
        "UTC".into()
    }

    fn template(&self) -> KeyTemplate {
        KeyTemplate::any("any name")
    }

    fn schema(&self, tz: &str) -> SchemaRef {
        let mut fields: Vec<Field> = canonical_fields(tz);
        fields.push(Field::new("_format", DataType::Utf8, false));
        fields.push(Field::new("_file", DataType::Utf8, false));
        fields.push(Field::new("_line", DataType::UInt64, false));
        Arc::new(Schema::new(fields))
    }

    fn column_docs(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = CANONICAL
            .iter()
            .map(|c| (c.name.to_string(), c.doc.to_string()))
            .collect();
        out.push(("_format".into(), "the format of the row's object".into()));
        out.push(("_file".into(), "object the row came from".into()));
        out.push(("_line".into(), "line number in that object".into()));
        out
    }

    fn rank(&self) -> u32 {
        0
    }

    fn with_sampled(&self, _sampled: &Sampled) -> Arc<dyn Dialect> {
        Arc::new(PerObject)
    }

    fn decoder(&self, schema: &SchemaRef, projection: &[usize], rows: TimeRange) -> Box<dyn LineDecoder> {
        Box::new(PerObjectDecoder {
            schema: schema.clone(),
            projection: projection.to_vec(),
            rows,
            pending: Vec::new(),
            inner: None,
            format: String::new(),
            errors: Vec::new(),
            failed: None,
        })
    }
}

struct PerObjectDecoder {
    schema: SchemaRef,
    projection: Vec<usize>,
    rows: TimeRange,
    /// Lines held until the dialect is known.
    pending: Vec<(String, u64)>,
    inner: Option<Box<dyn LineDecoder>>,
    format: String,
    errors: Vec<(u64, ParseError)>,
    /// Why no dialect reads this object: every line is malformed.
    failed: Option<String>,
}

impl PerObjectDecoder {
    fn decide(&mut self, unknown: &mut dyn FnMut(&str)) {
        let lines: Vec<String> = self.pending.iter().map(|(l, _)| l.clone()).collect();
        match judge("this object", &lines, &registry()) {
            Ok(v) => {
                let d = v.dialect;
                let tz = match self.schema.field(0).data_type() {
                    DataType::Timestamp(_, Some(tz)) => tz.to_string(),
                    _ => "UTC".into(),
                };
                let inner_schema = d.schema(&tz);
                let proj: Vec<usize> = self
                    .projection
                    .iter()
                    .map(|&i| self.schema.field(i).name())
                    .filter(|n| *n != "_format")
                    .filter_map(|n| inner_schema.index_of(n).ok())
                    .collect();
                self.format = d.name().to_string();
                let mut inner = d.decoder(&inner_schema, &proj, self.rows);
                for (line, no) in std::mem::take(&mut self.pending) {
                    if let Err(e) = inner.push_line(&line, no, unknown) {
                        self.errors.push((no, e));
                    }
                }
                self.inner = Some(inner);
            }
            Err(e) => {
                self.failed = Some(e.to_string());
                for (_, no) in std::mem::take(&mut self.pending) {
                    self.errors
                        .push((no, ParseError::Shape("no known format reads this object".into())));
                }
            }
        }
    }
}

impl LineDecoder for PerObjectDecoder {
    fn push_line(&mut self, line: &str, line_no: u64, unknown: &mut dyn FnMut(&str)) -> Result<(), ParseError> {
        if let Some(inner) = &mut self.inner {
            return inner.push_line(line, line_no, unknown);
        }
        if self.failed.is_some() {
            return Err(ParseError::Shape("no known format reads this object".into()));
        }
        self.pending.push((line.to_string(), line_no));
        if self.pending.len() >= SAMPLE_LINES {
            self.decide(unknown);
        }
        Ok(())
    }

    fn flush(&mut self, unknown: &mut dyn FnMut(&str)) {
        if self.inner.is_none() && self.failed.is_none() && !self.pending.is_empty() {
            self.decide(unknown);
        }
    }

    fn take_errors(&mut self) -> Vec<(u64, ParseError)> {
        std::mem::take(&mut self.errors)
    }

    fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.len())
    }

    fn finish_batch(&mut self, file: &str) -> datafusion::error::Result<RecordBatch> {
        let projected = Arc::new(self.schema.project(&self.projection)?);
        let inner = match &mut self.inner {
            Some(i) => i.finish_batch(file)?,
            // No dialect read this object: no rows.
            None => return Ok(RecordBatch::new_empty(projected)),
        };
        let len = inner.num_rows();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        let mut k = 0;
        for f in projected.fields() {
            if f.name() == "_format" {
                arrays.push(Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                    self.format.as_str(),
                    len,
                ))));
            } else {
                arrays.push(inner.column(k).clone());
                k += 1;
            }
        }
        Ok(RecordBatch::try_new_with_options(
            projected,
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(len)),
        )?)
    }
}
