//! Telling the dialect from the first lines of the first objects.
//!
//! Every dialect reads the sample; among those that turn nearly as many
//! lines into rows as the best one (80%), the most specific (highest rank)
//! wins. Equal rank and equal rows is an ambiguity, reported with the candidates and
//! how to choose. Objects of different dialects under one location are an
//! error naming them, unless `--format auto-per-object`.

use std::collections::BTreeSet;
use std::io::{BufRead, Read};
use std::sync::Arc;

use anyhow::{Result, bail};
use edgelog_parse::ParseError;

use super::scan::Compression;
use super::{Dialect, dialect, dialects};
use crate::config::TimeRange;
use crate::source::{KeyTemplate, Source, list_objects};

/// Lines read from the start of each sampled object.
pub const SAMPLE_LINES: usize = 64;
/// Objects sampled per location.
pub const SAMPLE_OBJECTS: usize = 8;
/// Bytes fetched from the start of each sampled object.
const SAMPLE_BYTES: u64 = 128 << 10;

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
    /// The dialect, set up from the sample.
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
    for l in lines.iter().filter(|l| l.trim_start().starts_with('{')) {
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

/// How `dialect` reads `lines` (whose JSON keys are `seen`): rows and errors.
fn try_dialect(d: &Arc<dyn Dialect>, lines: &[String], seen: &BTreeSet<String>) -> (Arc<dyn Dialect>, Candidate) {
    let foreign = foreign_share(d, seen);
    let d = d.configure(lines);
    let schema = d.schema("UTC");
    let all: Vec<usize> = (0..schema.fields().len()).collect();
    let mut decoder = d.decoder(&schema, &all, TimeRange::ALL);
    let (mut errors, mut first_error) = (0, None);
    for (i, line) in lines.iter().enumerate() {
        let r: Result<(), ParseError> = decoder.push_line(line.trim_end_matches('\r'), i as u64 + 1, &mut |_| {});
        if let Err(e) = r {
            errors += 1;
            first_error.get_or_insert((i + 1, e.to_string()));
        }
    }
    let c = Candidate {
        name: d.name(),
        // More than a quarter of the keys unknown: not this dialect.
        rows: if foreign > 0.25 { 0 } else { decoder.len() },
        errors,
        rank: d.rank(),
        first_error,
    };
    (d, c)
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

/// Chooses the dialect of `lines` (the sample of `object`) among `pool`.
pub fn judge(object: &str, lines: &[String], pool: &[Arc<dyn Dialect>]) -> Result<Verdict, NoVerdict> {
    let seen = json_keys(lines);
    let mut tried: Vec<(Arc<dyn Dialect>, Candidate)> = pool
        .iter()
        .map(|d| try_dialect(d, lines, &seen))
        .filter(|(_, c)| c.rows > 0 && c.rows >= c.errors)
        .collect();
    // A dialect that reads nearly as many lines as the best (80%) competes
    // on rank: a generic reader (ndjson, w3c) must not beat the specific
    // one because the specific one rightly rejects a bad value.
    let most = tried.iter().map(|(_, c)| c.rows).max().unwrap_or(0);
    tried.retain(|(_, c)| c.rows * 10 >= most * 8);
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
    Ok(Verdict {
        dialect: best,
        candidates: tried.into_iter().map(|(_, c)| c).collect(),
        lines: lines.len(),
        directives: lines.iter().filter(|l| l.starts_with('#')).count(),
    })
}

fn cut(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Reads the first lines of up to [`SAMPLE_OBJECTS`] objects of each source
/// whose date folders touch `range`.
pub async fn sample(sources: &[Source], range: &TimeRange) -> Result<Vec<Sample>> {
    let template = KeyTemplate {
        date_folders: true,
        ..KeyTemplate::any("any name")
    };
    let mut out = Vec::new();
    for src in sources {
        let listing = list_objects(src, &template, range, 24 * 3_600_000).await?;
        for obj in listing.selected.iter().filter(|o| o.size > 0).take(SAMPLE_OBJECTS) {
            let len = obj.size.min(SAMPLE_BYTES);
            let bytes = src.reader.get_range(&obj.path, &obj.name, 0..len).await?;
            out.push(Sample {
                object: obj.name.clone(),
                lines: first_lines(&bytes, len < obj.size),
            });
        }
    }
    // A range that holds no objects still needs a format (the answer is
    // empty, not an error): look at the location as a whole.
    if out.is_empty() && !range.is_unbounded() {
        return Box::pin(sample(sources, &TimeRange::ALL)).await;
    }
    Ok(out)
}

/// The first non-blank lines of the start of an object (decompressed as
/// far as they need); the last line is dropped when the bytes were cut.
pub fn first_lines(head: &[u8], cut_short: bool) -> Vec<String> {
    let reader: Box<dyn Read + '_> = match Compression::detect(head) {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(head)),
        Compression::Zstd => match zstd::stream::read::Decoder::new(head) {
            Ok(d) => Box::new(d),
            Err(_) => return Vec::new(),
        },
        Compression::Plain => Box::new(head),
    };
    let mut reader = std::io::BufReader::new(reader.take(4 << 20));
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while out.len() < SAMPLE_LINES {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            // A cut compressed stream ends the sample; its last line may be partial.
            Err(_) => break,
        }
        // Without a newline this is the object's last line, unless the
        // bytes were cut (then it may be partial).
        if !buf.ends_with(b"\n") && cut_short {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if !line.trim().is_empty() {
            out.push(line.to_string());
        }
    }
    out
}

/// Per-object verdicts of a location.
pub async fn detect_objects(
    sources: &[Source],
    range: &TimeRange,
) -> Result<Vec<(Sample, Result<Verdict, NoVerdict>)>> {
    let samples = sample(sources, range).await?;
    let pool = dialects();
    Ok(samples
        .into_iter()
        .map(|s| {
            let v = judge(&s.object, &s.lines, &pool);
            (s, v)
        })
        .collect())
}

/// The dialect `spec` names for these sources, with how it was chosen:
/// detected for `auto`, set up from a sample for dialects that need one
/// (W3C fields, inferred JSON types).
pub async fn resolve(spec: &str, sources: &[Source], range: &TimeRange) -> Result<(Arc<dyn Dialect>, String)> {
    if spec == "auto-per-object" {
        return Ok((
            Arc::new(super::perobject::PerObject),
            "each object detected on its own".into(),
        ));
    }
    if spec != "auto" {
        let d = dialect(spec).map_err(anyhow::Error::msg)?;
        if !d.needs_sample() {
            return Ok((d, "--format".into()));
        }
        let lines: Vec<String> = sample(sources, range)
            .await?
            .into_iter()
            .flat_map(|s| s.lines)
            .collect();
        return Ok((d.configure(&lines), "--format".into()));
    }
    decide(detect_objects(sources, range).await?)
}

/// The dialect of a location from its objects' verdicts, with the evidence.
pub fn decide(verdicts: Vec<(Sample, Result<Verdict, NoVerdict>)>) -> Result<(Arc<dyn Dialect>, String)> {
    let mut chosen: Vec<(String, &'static str)> = Vec::new();
    let mut unreadable = Vec::new();
    for (s, v) in &verdicts {
        match v {
            Ok(v) => chosen.push((s.object.clone(), v.dialect.name())),
            // An ambiguity is for the user to settle; an object no format
            // reads (a README among logs) does not decide anything.
            Err(e @ NoVerdict::Ambiguous(_)) => bail!("{e}"),
            Err(e @ NoVerdict::Unreadable(_)) => unreadable.push(e.to_string()),
        }
    }
    if chosen.is_empty()
        && let Some(e) = unreadable.first()
    {
        bail!("{e}");
    }
    let Some((_, first)) = chosen.first().cloned() else {
        bail!("no log objects to detect the format from");
    };
    if let Some((other_obj, other)) = chosen.iter().find(|(_, n)| *n != first) {
        let first_obj = &chosen[0].0;
        bail!(
            "different formats under one location: {first_obj} is {first}, {other_obj} is {other}; \
             split the location, give --format, or read each object in its own format with --format auto-per-object"
        );
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
    let base = dialects()
        .into_iter()
        .find(|d| d.name() == first)
        .ok_or_else(|| anyhow::anyhow!("format {first} vanished"))?;
    Ok((base.configure(&lines), evidence))
}
