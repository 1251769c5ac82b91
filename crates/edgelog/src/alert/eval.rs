//! One evaluation of a query rule: its SQL over the window, through the
//! engine's front door, with `fire` and `recover` computed by DataFusion
//! beside each result row, then rows folded into groups.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use futures::TryStreamExt;

use super::rules::{Rule, RuleKind};
use crate::config::{DEFAULT_PRUNE_MARGIN_MS, StorageOptions, TimeRange, one_line};
use crate::dialect::DialectSpec;
use crate::engine::{LogSet, QueryService, RangeSpec, ScanRequest};

/// The columns edgelog adds to a rule's result.
const FIRE: &str = "__edgelog_fire";
const RECOVER: &str = "__edgelog_recover";

/// What one evaluation says of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    /// `host=a.example` (`*` without `group_by`).
    pub key: String,
    /// The `group_by` columns' values.
    pub group: serde_json::Map<String, serde_json::Value>,
    /// `fire` is true for one of the group's rows.
    pub fire: bool,
    /// `recover` is true for all of them.
    pub recover: bool,
    /// The group's (first) result row.
    pub values: serde_json::Map<String, serde_json::Value>,
}

/// The window an evaluation at `at_ms` reads: `window` long, ending
/// `delay` before it.
pub fn window(rule: &Rule, at_ms: i64) -> TimeRange {
    let until = at_ms - rule.delay_ms;
    TimeRange {
        since: Some(until - rule.window_ms),
        until: Some(until),
    }
}

/// The request that reads `rule`'s source over `range`, evaluated as of
/// `now_ms`.
pub fn request(rule: &Rule, storage: &StorageOptions, range: TimeRange, now_ms: i64) -> ScanRequest {
    let mut req = ScanRequest::new(rule.from.clone(), DialectSpec::parse(&rule.format));
    req.lake = rule.lake.clone();
    req.storage = storage.clone();
    req.prune_margin_ms = DEFAULT_PRUNE_MARGIN_MS;
    req.range = RangeSpec {
        now_ms: Some(now_ms),
        ..RangeSpec::absolute(range)
    };
    req
}

/// The SQL DataFusion runs: the rule's query with its two conditions as
/// columns.
fn wrapped(query: &str, fire: &str, recover: &str) -> String {
    let query = query.trim().trim_end_matches(';');
    format!("SELECT *, ({fire}) AS \"{FIRE}\", ({recover}) AS \"{RECOVER}\" FROM ({query}) AS \"__edgelog_rows\"")
}

/// Plans `rule`'s query over `logs` and checks what must hold of its
/// result: the `group_by` columns are there, `fire` and `recover` are
/// boolean. The error names the rule and the key.
pub async fn check(rule: &Rule, logs: &LogSet) -> Result<(), String> {
    let RuleKind::Query {
        query,
        group_by,
        fire,
        recover,
    } = &rule.kind
    else {
        return Ok(());
    };
    let at = format!("rule {:?}", rule.name);
    let service = QueryService::new(logs.clone());
    let prepared = match service.prepare(&wrapped(query, fire, recover)).await {
        Ok(p) => p,
        Err(e) => {
            // Which key is at fault: the query alone, else a condition.
            let own = service.prepare(query.trim().trim_end_matches(';')).await;
            return Err(match own {
                Err(q) => format!("{at}: key \"query\": {}", one_line(&q.to_string())),
                Ok(_) => format!("{at}: key \"fire\" or \"recover\": {}", one_line(&e.to_string())),
            });
        }
    };
    for g in group_by {
        if matches!(g.as_str(), FIRE | RECOVER) || prepared.schema().field_with_unqualified_name(g).is_err() {
            let names: Vec<&str> = prepared
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .filter(|n| !matches!(*n, FIRE | RECOVER))
                .collect();
            return Err(format!(
                "{at}: key \"group_by\": {g:?} is not a column of the query's result ({})",
                names.join(", ")
            ));
        }
    }
    for (key, col) in [("fire", FIRE), ("recover", RECOVER)] {
        let field = prepared
            .schema()
            .field_with_unqualified_name(col)
            .map_err(|e| format!("{at}: key {key:?}: {e}"))?;
        if !matches!(field.data_type(), DataType::Boolean | DataType::Null) {
            return Err(format!(
                "{at}: key {key:?}: the condition is {}, not boolean (write a comparison such as ratio > 0.05)",
                field.data_type()
            ));
        }
    }
    Ok(())
}

/// Runs `rule`'s query over `logs` (already scoped to the window) and
/// folds the rows into groups ([`check`] it once first).
pub async fn evaluate(rule: &Rule, logs: &LogSet) -> Result<Vec<GroupRow>, String> {
    let RuleKind::Query {
        query,
        group_by,
        fire,
        recover,
    } = &rule.kind
    else {
        return Ok(Vec::new());
    };
    let service = QueryService::new(logs.clone());
    let run = service
        .query(&wrapped(query, fire, recover))
        .await
        .map_err(|e| one_line(&e.to_string()))?;
    let batches: Vec<RecordBatch> = run.stream.try_collect().await.map_err(|e| one_line(&e.to_string()))?;
    fold(&batches, group_by)
}

/// The SQL a query rule runs: its query with its conditions as columns.
pub fn sql_of(rule: &Rule) -> Option<String> {
    match &rule.kind {
        RuleKind::Query {
            query, fire, recover, ..
        } => Some(wrapped(query, fire, recover)),
        RuleKind::MissingUpload { .. } => None,
    }
}

/// A query rule's result rows folded into its groups: a group fires if
/// one of its rows does, and recovers if all of them do.
pub fn fold(batches: &[RecordBatch], group_by: &[String]) -> Result<Vec<GroupRow>, String> {
    let mut groups: BTreeMap<String, GroupRow> = BTreeMap::new();
    for batch in batches {
        for row in rows(batch, group_by)? {
            match groups.get_mut(&row.key) {
                Some(g) => {
                    g.fire |= row.fire;
                    g.recover &= row.recover;
                }
                None => {
                    groups.insert(row.key.clone(), row);
                }
            }
        }
    }
    Ok(groups.into_values().collect())
}

/// One batch's rows as groups' rows.
fn rows(batch: &RecordBatch, group_by: &[String]) -> Result<Vec<GroupRow>, String> {
    let schema = batch.schema();
    let cond = |name: &str| -> Result<Vec<bool>, String> {
        let i = schema.index_of(name).map_err(|e| e.to_string())?;
        let col = batch.column(i);
        Ok(match col.data_type() {
            DataType::Boolean => {
                let b = col.as_boolean();
                (0..b.len()).map(|r| b.is_valid(r) && b.value(r)).collect()
            }
            DataType::Null => vec![false; batch.num_rows()],
            other => {
                let key = if name == FIRE { "fire" } else { "recover" };
                return Err(format!("key {key:?}: the condition is {other}, not boolean"));
            }
        })
    };
    for g in group_by {
        if matches!(g.as_str(), FIRE | RECOVER) || schema.index_of(g).is_err() {
            return Err(format!("key \"group_by\": {g:?} is not a column of the query's result"));
        }
    }
    let (fire, recover) = (cond(FIRE)?, cond(RECOVER)?);
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !matches!(schema.field(i).name().as_str(), FIRE | RECOVER))
        .collect();
    let values = batch.project(&keep).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(batch.num_rows());
    for (r, values) in json_rows(&values)?.into_iter().enumerate() {
        let mut group = serde_json::Map::new();
        let mut key = Vec::new();
        for g in group_by {
            let v = values.get(g).cloned().unwrap_or(serde_json::Value::Null);
            key.push(format!("{g}={}", shown(&v)));
            group.insert(g.clone(), v);
        }
        out.push(GroupRow {
            key: if key.is_empty() { "*".into() } else { key.join(",") },
            group,
            fire: fire[r],
            recover: recover[r],
            values,
        });
    }
    Ok(out)
}

/// A batch's rows as JSON objects (NULLs kept as `null`).
fn json_rows(batch: &RecordBatch) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, String> {
    if batch.num_rows() == 0 {
        return Ok(Vec::new());
    }
    let mut buf = Vec::new();
    let mut writer = arrow::json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow::json::writer::JsonArray>(&mut buf);
    writer.write(batch).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    drop(writer);
    serde_json::from_slice(&buf).map_err(|e| e.to_string())
}

/// A value as text in a group key or a message.
pub fn shown(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => {
                let s = format!("{f:.4}");
                let s = s.trim_end_matches('0').trim_end_matches('.');
                if s.is_empty() || s == "-" {
                    "0".into()
                } else {
                    s.to_string()
                }
            }
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_show_briefly() {
        assert_eq!(shown(&serde_json::json!(0.0625)), "0.0625");
        assert_eq!(shown(&serde_json::json!(0.333333)), "0.3333");
        assert_eq!(shown(&serde_json::json!(12)), "12");
        assert_eq!(shown(&serde_json::json!(2.0)), "2");
        assert_eq!(shown(&serde_json::json!("a")), "a");
    }
}
