//! The `missing_upload` rule: an object for each host and hour by a
//! deadline (the hour's end plus `grace`). Hosts are the rule's list, or
//! those with objects in the last `discover` span; objects are known by the
//! dialect's key template (Sakura: `{prefix}/{host}/YYYY/MM/DD/access-
//! YYYYMMDDTHH.log.gz`), so only the date folders of the hours checked are
//! listed. An empty object is present.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{TimeZone, Utc};

use super::eval::GroupRow;
use super::rules::{Rule, RuleKind};
use crate::config::{StorageOptions, TimeRange, one_line};
use crate::dialect::DialectSpec;
use crate::engine::LogSet;

const HOUR_MS: i64 = 3_600_000;

/// Hours checked back from the newest hour past its deadline.
const LOOKBACK_HOURS: i64 = 24;

/// What one evaluation says: a row for every host and hour that is missing
/// past its deadline (fire), and for every known group whose object is
/// there now (recover).
pub async fn evaluate(
    rule: &Rule,
    storage: &StorageOptions,
    at_ms: i64,
    known: &BTreeSet<String>,
    decided: Option<DialectSpec>,
) -> Result<Vec<GroupRow>, String> {
    let RuleKind::MissingUpload {
        grace_ms,
        hosts,
        discover_ms,
    } = &rule.kind
    else {
        return Ok(Vec::new());
    };
    // The newest hour whose deadline has passed, and the hours before it.
    let last_hour = (at_ms - grace_ms).div_euclid(HOUR_MS) * HOUR_MS - HOUR_MS;
    let mut hours: BTreeSet<i64> = (0..LOOKBACK_HOURS).map(|k| last_hour - k * HOUR_MS).collect();
    let known_groups: Vec<(String, i64)> = known.iter().filter_map(|k| parse_key(k)).collect();
    hours.extend(known_groups.iter().map(|(_, h)| *h));
    let first = hours.iter().next().copied().unwrap_or(last_hour);
    let since = if hosts.is_empty() {
        first.min(at_ms - discover_ms)
    } else {
        first
    };
    let range = TimeRange {
        since: Some(since),
        until: Some(at_ms.max(last_hour + HOUR_MS)),
    };
    let mut req = super::eval::request(rule, storage, range, at_ms);
    if let Some(spec) = decided {
        req.format = spec;
    }
    // Listing only: no margin beyond the hours themselves.
    req.prune_margin_ms = 0;
    let logs = LogSet::open(&req).await.map_err(|e| one_line(&e.to_string()))?;
    let template = logs.key_template();
    if template.period_ms != HOUR_MS || !template.date_folders {
        return Err(format!(
            "the {} format does not name one object per hour in date folders ({}); a missing_upload rule needs such keys (sakura)",
            logs.dialect_name(),
            template.describe
        ));
    }
    let objects = logs.list().await.map_err(|e| one_line(&e.to_string()))?;
    // Which hours each host has an object for.
    let mut seen: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for o in &objects {
        let key = o.object.path.as_ref();
        if let (Some(hour), Some(host)) = ((template.period_of)(key), host_of(key)) {
            seen.entry(host).or_default().insert(hour);
        }
    }
    let expected: BTreeSet<String> = if hosts.is_empty() {
        let discover_from = at_ms - discover_ms;
        seen.iter()
            .filter(|(_, hs)| hs.iter().any(|h| *h >= discover_from))
            .map(|(h, _)| h.clone())
            .collect()
    } else {
        hosts.iter().cloned().collect()
    };
    let mut rows = Vec::new();
    let mut row = |host: &str, hour: i64, missing: bool| {
        let hour_text = hour_text(hour);
        let mut group = serde_json::Map::new();
        group.insert("host".into(), host.into());
        group.insert("hour".into(), hour_text.clone().into());
        let mut values = group.clone();
        values.insert("deadline".into(), super::rfc3339(hour + HOUR_MS + grace_ms).into());
        values.insert("present".into(), (!missing).into());
        rows.push(GroupRow {
            key: format!("host={host},hour={hour_text}"),
            group,
            fire: missing,
            recover: !missing,
            values,
        });
    };
    let has = |host: &str, hour: i64| seen.get(host).is_some_and(|hs| hs.contains(&hour));
    let mut done = BTreeSet::new();
    for host in &expected {
        for &hour in (0..LOOKBACK_HOURS)
            .map(|k| last_hour - k * HOUR_MS)
            .collect::<Vec<_>>()
            .iter()
        {
            // A host is expected from its first object on, not before.
            let first_seen = seen.get(host).and_then(|hs| hs.iter().next().copied());
            if hosts.is_empty() && first_seen.is_none_or(|f| f > hour) {
                continue;
            }
            if !has(host, hour) {
                row(host, hour, true);
                done.insert((host.clone(), hour));
            }
        }
    }
    for (host, hour) in known_groups {
        if !done.contains(&(host.clone(), hour)) {
            row(&host, hour, !has(&host, hour));
        }
    }
    Ok(rows)
}

/// The host of a key `{prefix}/{host}/YYYY/MM/DD/{file}`: the folder above
/// the date folders.
fn host_of(key: &str) -> Option<String> {
    let parts: Vec<&str> = key.split('/').collect();
    let n = parts.len();
    if n < 5 {
        return None;
    }
    let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    (digits(parts[n - 4], 4) && digits(parts[n - 3], 2) && digits(parts[n - 2], 2)).then(|| parts[n - 5].to_string())
}

fn hour_text(hour_ms: i64) -> String {
    Utc.timestamp_millis_opt(hour_ms)
        .single()
        .map(|t| t.format("%Y-%m-%dT%H:00Z").to_string())
        .unwrap_or_default()
}

/// `host=H,hour=2024-11-27T13:00Z` back into its parts.
fn parse_key(key: &str) -> Option<(String, i64)> {
    let rest = key.strip_prefix("host=")?;
    let (host, hour) = rest.rsplit_once(",hour=")?;
    let t = chrono::NaiveDateTime::parse_from_str(hour, "%Y-%m-%dT%H:00Z")
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(&format!("{}:00", hour.trim_end_matches('Z')), "%Y-%m-%dT%H:%M:%S")
        })
        .ok()?;
    Some((host.to_string(), t.and_utc().timestamp_millis()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_host_and_hour() {
        assert_eq!(
            host_of("logs/sakura-webaccelerator/a.example/2024/11/27/access-20241127T13.log.gz").as_deref(),
            Some("a.example")
        );
        assert_eq!(host_of("x/access.log"), None);
        let hour = 1_732_712_400_000; // 2024-11-27T13:00Z
        let key = format!("host=a.example,hour={}", hour_text(hour));
        assert_eq!(parse_key(&key), Some(("a.example".to_string(), hour)));
    }
}
