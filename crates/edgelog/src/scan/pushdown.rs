//! Time bounds from `WHERE` predicates on `time`, for pruning objects by key.
//!
//! Only ranges are read here (`>=`, `>`, `<`, `<=`, `=`, `BETWEEN`, joined
//! by `AND`); anything else gives no bound. Bounds are widened to whole
//! milliseconds outwards, so pruning can only read more, never less. The
//! predicates themselves still run on every row (pushdown is `Inexact`).

use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::scalar::ScalarValue;
use edgelog_parse::time::{DAY_MS, parse_iso8601};

use crate::config::TimeRange;

/// The time range all of `filters` on `time` imply together (times
/// without a zone read at `offset_secs`).
pub fn time_range(filters: &[Expr], offset_secs: i32) -> TimeRange {
    filters
        .iter()
        .filter_map(|f| time_bounds(f, "time", offset_secs))
        .fold(TimeRange::ALL, |acc, r| acc.intersect(&r))
}

/// How a log table takes each filter: the ones on `time` prune (and still
/// run on every row), the rest run above the scan.
pub fn time_pushdown(filters: &[&Expr], offset_secs: i32) -> Vec<TableProviderFilterPushDown> {
    filters
        .iter()
        .map(|f| match time_bounds(f, "time", offset_secs) {
            Some(_) => TableProviderFilterPushDown::Inexact,
            None => TableProviderFilterPushDown::Unsupported,
        })
        .collect()
}

/// The time range a predicate on `column` implies, if it implies one.
pub fn time_bounds(expr: &Expr, column: &str, default_offset_secs: i32) -> Option<TimeRange> {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => {
                let l = time_bounds(left, column, default_offset_secs);
                let r = time_bounds(right, column, default_offset_secs);
                match (l, r) {
                    (Some(a), Some(b)) => Some(a.intersect(&b)),
                    (a, b) => a.or(b),
                }
            }
            Operator::Eq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq => {
                if is_column(left, column) {
                    bound(*op, literal_ms(right, default_offset_secs)?)
                } else if is_column(right, column) {
                    bound(op.swap()?, literal_ms(left, default_offset_secs)?)
                } else {
                    None
                }
            }
            _ => None,
        },
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) if is_column(expr, column) => {
            let (lo, _) = literal_ms(low, default_offset_secs)?;
            let (_, hi) = literal_ms(high, default_offset_secs)?;
            Some(TimeRange {
                since: Some(lo),
                until: Some(hi + 1),
            })
        }
        _ => None,
    }
}

fn is_column(expr: &Expr, column: &str) -> bool {
    matches!(expr, Expr::Column(c) if c.name == column)
}

/// A bound for `time OP value`, with `value` as (floor, ceil) milliseconds.
fn bound(op: Operator, (lo, hi): (i64, i64)) -> Option<TimeRange> {
    let (since, until) = match op {
        Operator::Eq => (Some(lo), Some(hi + 1)),
        Operator::Gt | Operator::GtEq => (Some(lo), None),
        Operator::Lt => (None, Some(hi)),
        Operator::LtEq => (None, Some(hi + 1)),
        _ => return None,
    };
    Some(TimeRange { since, until })
}

/// A literal time as (floor, ceil) epoch milliseconds.
fn literal_ms(expr: &Expr, default_offset_secs: i32) -> Option<(i64, i64)> {
    let scaled = |v: i64, per_ms: i64| {
        (
            v.div_euclid(per_ms),
            v.div_euclid(per_ms) + i64::from(v.rem_euclid(per_ms) != 0),
        )
    };
    match expr {
        Expr::Literal(v, _) => match v {
            ScalarValue::TimestampSecond(Some(s), _) => Some((s * 1000, s * 1000)),
            ScalarValue::TimestampMillisecond(Some(ms), _) => Some((*ms, *ms)),
            ScalarValue::TimestampMicrosecond(Some(us), _) => Some(scaled(*us, 1000)),
            ScalarValue::TimestampNanosecond(Some(ns), _) => Some(scaled(*ns, 1_000_000)),
            ScalarValue::Date32(Some(d)) => Some((i64::from(*d) * DAY_MS, i64::from(*d) * DAY_MS)),
            ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
                let ms = parse_iso8601(s.trim(), default_offset_secs)?;
                Some((ms, ms + 1))
            }
            _ => None,
        },
        Expr::Cast(c) => literal_ms(&c.expr, default_offset_secs),
        Expr::TryCast(c) => literal_ms(&c.expr, default_offset_secs),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    fn ts(s: &str) -> Expr {
        lit(ScalarValue::TimestampMillisecond(
            parse_iso8601(s, 0),
            Some("+09:00".into()),
        ))
    }

    fn ms(s: &str) -> i64 {
        parse_iso8601(s, 0).unwrap()
    }

    #[test]
    fn ranges_from_comparisons() {
        let e = col("time")
            .gt_eq(ts("2024-11-28T13:00:00+09:00"))
            .and(col("time").lt(ts("2024-11-28T14:00:00+09:00")));
        assert_eq!(
            time_bounds(&e, "time", 0),
            Some(TimeRange {
                since: Some(ms("2024-11-28T13:00:00+09:00")),
                until: Some(ms("2024-11-28T14:00:00+09:00"))
            })
        );
        let e = ts("2024-11-28T13:00:00+09:00").lt(col("time"));
        assert_eq!(
            time_bounds(&e, "time", 0).unwrap().since,
            Some(ms("2024-11-28T13:00:00+09:00"))
        );
        let e = col("time").between(lit("2024-11-28T13:00:00+09:00"), lit("2024-11-28T13:59:59+09:00"));
        let r = time_bounds(&e, "time", 0).unwrap();
        assert_eq!(r.since, Some(ms("2024-11-28T13:00:00+09:00")));
        assert!(r.contains(ms("2024-11-28T13:59:59+09:00")) && !r.contains(ms("2024-11-28T14:00:00+09:00")));
    }

    #[test]
    fn and_with_other_predicates_keeps_the_bound_but_or_does_not() {
        let t = col("time").gt_eq(ts("2024-11-28T13:00:00Z"));
        let e = t.clone().and(col("status").eq(lit(500)));
        assert_eq!(
            time_bounds(&e, "time", 0).unwrap().since,
            Some(ms("2024-11-28T13:00:00Z"))
        );
        assert_eq!(time_bounds(&t.or(col("status").eq(lit(500))), "time", 0), None);
        assert_eq!(time_bounds(&col("status").gt(lit(5)), "time", 0), None);
        let neg = Expr::Between(Between::new(
            Box::new(col("time")),
            true,
            Box::new(ts("2024-11-28T13:00:00Z")),
            Box::new(ts("2024-11-28T14:00:00Z")),
        ));
        assert_eq!(time_bounds(&neg, "time", 0), None);
    }
}
