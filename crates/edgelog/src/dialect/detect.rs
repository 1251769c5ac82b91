//! Telling the dialect from the first lines of the first objects.
//!
//! Every dialect reads the sample; among those that turn nearly as many
//! lines into rows as the best one (80%), the most specific (highest rank)
//! wins. Equal rank and equal rows is an ambiguity, reported with the candidates and
//! how to choose. Objects of different dialects under one location are an
//! error naming them, unless `--format auto-per-object`.
//!
//! These are pure rules over sample lines; reading the samples (listing,
//! fetching the first bytes, decompressing) is the engine's, through the
//! scan's object reader.

use std::collections::BTreeSet;
use std::sync::Arc;

use edgelog_parse::ParseError;

use super::{Dialect, DialectSpec, registry};
use crate::config::TimeRange;

/// Lines read from the start of each sampled object.
pub const SAMPLE_LINES: usize = 64;
/// Objects sampled per location.
pub const SAMPLE_OBJECTS: usize = 8;
/// Bytes fetched from the start of each sampled object.
pub const SAMPLE_BYTES: u64 = 128 << 10;

/// The first lines of one object.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The object, as shown to the user.
    pub object: String,
    /// Its first non-blank lines.
    pub lines: Vec<String>,
}

/// How one dialect read a sample.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Dialect name.
    pub name: &'static str,
    /// Lines that became rows.
    pub rows: usize,
    /// Lines that did not parse.
    pub errors: usize,
    /// Its rank.
    pub rank: u32,
    /// The first error, for the evidence.
    pub first_error: Option<(usize, String)>,
}

/// The dialect chosen for a sample and why.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The dialect and what the sample settled, as plain data.
    pub spec: DialectSpec,
    /// The dialect built from `spec`.
    pub dialect: Arc<dyn Dialect>,
    /// Every dialect that read at least one row, best first.
    pub candidates: Vec<Candidate>,
    /// Non-blank lines in the sample.
    pub lines: usize,
    /// Of those, `#` directives (W3C headers), which are not rows.
    pub directives: usize,
}

impl Verdict {
    /// One line of evidence: `combined: 64 of 64 sample lines are rows; also: common (0)`.
    pub fn evidence(&self) -> String {
        let best = &self.candidates[0];
        let mut s = format!("{} of {} sample lines read as rows", best.rows, self.lines);
        if self.directives > 0 {
            s.push_str(&format!(" ({} # directives)", self.directives));
        }
        if best.errors > 0 {
            s.push_str(&format!(", {} malformed", best.errors));
            if let Some((line, why)) = &best.first_error {
                s.push_str(&format!(" (line {line}: {why})"));
            }
        }
        let others: Vec<String> = self.candidates[1..]
            .iter()
            .take(3)
            .map(|c| format!("{} {} rows", c.name, c.rows))
            .collect();
        if !others.is_empty() {
            s.push_str(&format!("; runners-up: {}", others.join(", ")));
        }
        s
    }
}

/// The top-level keys of the JSON objects among `lines`.
fn json_keys(lines: &[String]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for l in lines.iter().map(|l| super::jsonl::json_start(l)) {
        if !l.trim_start().starts_with('{') {
            continue;
        }
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(l) {
            seen.extend(m.keys().cloned());
        }
    }
    seen
}

/// The share of the sample's JSON keys (`seen`) a keyed JSON dialect does
/// not know: a dialect that knows few of a line's keys is not it, even when
/// the keys it knows parse.
fn foreign_share(d: &Arc<dyn Dialect>, seen: &BTreeSet<String>) -> f64 {
    let foreign = seen.iter().filter(|k| d.knows_key(k) == Some(false)).count();
    if seen.is_empty() {
        0.0
    } else {
        foreign as f64 / seen.len() as f64
    }
}

/// A dialect set up from a sample: as plain data, and built.
type Settled = (DialectSpec, Arc<dyn Dialect>);

/// How `dialect` reads `lines` (whose JSON keys are `seen`): rows and errors.
fn try_dialect(d: &Arc<dyn Dialect>, lines: &[String], seen: &BTreeSet<String>) -> (Settled, Candidate) {
    let foreign = foreign_share(d, seen);
    let sampled = d.sampled(lines);
    let spec = DialectSpec::named(d.name()).with_sampled(sampled.clone());
    let d = d.with_sampled(&sampled);
    let schema = d.schema("UTC");
    let all: Vec<usize> = (0..schema.fields().len()).collect();
    let mut decoder = d.decoder(&schema, &all, TimeRange::ALL);
    let (mut errors, mut first_error) = (0, None);
    for (i, line) in lines.iter().enumerate() {
        let r: Result<(), ParseError> = decoder.push_line(line.trim_end_matches('\r'), i as u64 + 1, &mut |_| {});
        // A `#` line no dialect reads is a comment, not evidence against it.
        if let Err(e) = r
            && !line.starts_with('#')
        {
            errors += 1;
            first_error.get_or_insert((i + 1, e.to_string()));
        }
    }
    let partial = decoder.partial_rows();
    let c = Candidate {
        name: d.name(),
        // More than a quarter of the keys unknown: not this dialect. A
        // family member that reads no line in its own form is not it
        // either (combined reads a common file only as common lines).
        rows: if foreign > 0.25 || partial >= decoder.len() {
            0
        } else {
            decoder.len()
        },
        errors,
        rank: d.rank(),
        first_error,
    };
    ((spec, d), c)
}

/// Why a sample has no verdict.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NoVerdict {
    /// No dialect reads it (a README among logs).
    #[error("{0}")]
    Unreadable(String),
    /// Two dialects read it equally well: for the user to settle.
    #[error("{0}")]
    Ambiguous(String),
}

/// Every known dialect, for [`judge`] to choose among.
pub(crate) fn pool() -> Vec<Arc<dyn Dialect>> {
    registry()
}

/// Chooses the dialect of `lines` (the sample of `object`) among `pool`.
pub fn judge(object: &str, lines: &[String], pool: &[Arc<dyn Dialect>]) -> Result<Verdict, NoVerdict> {
    let seen = json_keys(lines);
    let mut tried: Vec<(Settled, Candidate)> = pool
        .iter()
        .map(|d| try_dialect(d, lines, &seen))
        .filter(|(_, c)| c.rows > 0 && c.rows >= c.errors)
        .collect();
    // A dialect that reads nearly as many lines as the best (80%) competes
    // on rank: a generic reader (ndjson, w3c) must not beat the specific
    // one because the specific one rightly rejects a bad value.
    let most = tried.iter().map(|(_, c)| c.rows).max().unwrap_or(0);
    tried.retain(|(_, c)| c.rows * 10 >= most * 8);
    // Family members count the shorter lines they read (common lines in a
    // combined file), so the most specific member with a line of its own
    // form reads the whole file: combined + common lines is `combined`.
    tried.sort_by_key(|(_, c)| std::cmp::Reverse((c.rank, c.rows)));
    let Some((best, top)) = tried.first().cloned() else {
        let first = lines.first().map(|l| cut(l)).unwrap_or_default();
        return Err(NoVerdict::Unreadable(format!(
            "cannot tell the format of {object}: no known format reads its first lines (line 1: {first:?}); \
             give --format (see `edgelog formats`), nginx:'LOG_FORMAT', apache:'LOGFORMAT' or regex:'...'"
        )));
    };
    let tied: Vec<&'static str> = tried
        .iter()
        .filter(|(_, c)| c.rows == top.rows && c.rank == top.rank)
        .map(|(_, c)| c.name)
        .collect();
    if tied.len() > 1 {
        return Err(NoVerdict::Ambiguous(format!(
            "the format of {object} is ambiguous: {} each read {} of {} sample lines; choose one with {}",
            tied.join(" and "),
            top.rows,
            lines.len(),
            tied.iter()
                .map(|n| format!("--format {n}"))
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    let (spec, dialect) = best;
    Ok(Verdict {
        spec,
        dialect,
        candidates: tried.into_iter().map(|(_, c)| c).collect(),
        lines: lines.len(),
        directives: lines.iter().filter(|l| l.starts_with('#')).count(),
    })
}

fn cut(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The dialect of a location from its objects' verdicts, with the evidence.
pub fn decide(verdicts: Vec<(Sample, Result<Verdict, NoVerdict>)>) -> Result<(DialectSpec, String), String> {
    let mut chosen: Vec<(String, &'static str)> = Vec::new();
    let mut unreadable = Vec::new();
    for (s, v) in &verdicts {
        match v {
            Ok(v) => chosen.push((s.object.clone(), v.dialect.name())),
            // An ambiguity is for the user to settle; an object no format
            // reads (a README among logs) does not decide anything.
            Err(e @ NoVerdict::Ambiguous(_)) => return Err(e.to_string()),
            Err(e @ NoVerdict::Unreadable(_)) => unreadable.push(e.to_string()),
        }
    }
    if chosen.is_empty()
        && let Some(e) = unreadable.first()
    {
        return Err(e.clone());
    }
    let Some((_, first)) = chosen.first().cloned() else {
        return Err("no log objects to detect the format from".into());
    };
    if let Some((other_obj, other)) = chosen.iter().find(|(_, n)| *n != first) {
        let first_obj = &chosen[0].0;
        return Err(format!(
            "different formats under one location: {first_obj} is {first}, {other_obj} is {other}; \
             split the location, give --format, or read each object in its own format with --format auto-per-object"
        ));
    }
    let mut evidence = match verdicts.iter().find(|(_, v)| v.is_ok()) {
        Some((s, Ok(v))) => format!(
            "detected from {} object(s); {}: {}",
            chosen.len(),
            s.object,
            v.evidence()
        ),
        _ => String::new(),
    };
    if !unreadable.is_empty() {
        evidence.push_str(&format!(
            "; {} object(s) no format reads, e.g. {}",
            unreadable.len(),
            unreadable[0]
        ));
    }
    let lines: Vec<String> = verdicts
        .into_iter()
        .filter(|(_, v)| v.is_ok())
        .flat_map(|(s, _)| s.lines)
        .collect();
    let spec = DialectSpec::named(first);
    let base = spec.build()?;
    Ok((spec.with_sampled(base.sampled(&lines)), evidence))
}
