//! Detection's reading half: the first lines of the first objects of each
//! location, fetched through the store reader (retries, timeouts) and
//! decoded by the scan's object reader, then judged by
//! [`crate::dialect::detect`]'s pure rules.

use crate::config::{StorageOptions, TimeRange};
use crate::dialect::detect::{
    NoVerdict, SAMPLE_BYTES, SAMPLE_LINES, SAMPLE_OBJECTS, Sample, Verdict, decide, judge, pool,
};
use crate::dialect::{DialectKind, DialectSpec};
use crate::scan::object::head_lines;
use crate::source::{KeyTemplate, ListedObject, Source, SourceError, list_objects, open_location};

/// Opens every location (no I/O yet: stores and credentials).
pub(super) fn open_sources(locations: &[String], storage: &StorageOptions) -> Result<Vec<Source>, Error> {
    if locations.is_empty() {
        return Err(Error::Request(
            "no location: give --from PATH, s3://BUCKET/PREFIX or https://...".into(),
        ));
    }
    Ok(locations
        .iter()
        .map(|l| open_location(l, storage))
        .collect::<Result<Vec<_>, _>>()?)
}

use super::Error;

/// Reads the first lines of up to [`SAMPLE_OBJECTS`] objects of each source
/// whose date folders touch `range`.
pub async fn sample(sources: &[Source], range: &TimeRange) -> Result<Vec<Sample>, SourceError> {
    let template = KeyTemplate {
        date_folders: true,
        ..KeyTemplate::any("any name")
    };
    let mut out = Vec::new();
    for src in sources {
        let listing = list_objects(src, &template, range, 24 * 3_600_000).await?;
        // The first bytes of each sampled object, fetched at once (in order):
        // over object storage each request is a round trip. (Picked into a
        // list first: the future then holds no closure over borrowed
        // objects, and stays `Send` for a server's tasks.)
        let picked: Vec<&ListedObject> = listing
            .selected
            .iter()
            .filter(|o| o.size > 0)
            .take(SAMPLE_OBJECTS)
            .collect();
        let heads: Vec<Sample> = futures::future::try_join_all(picked.into_iter().map(|obj| head_of(src, obj))).await?;
        out.extend(heads);
    }
    // A range that holds no objects still needs a format (the answer is
    // empty, not an error): look at the location as a whole.
    if out.is_empty() && !range.is_unbounded() {
        return Box::pin(sample(sources, &TimeRange::ALL)).await;
    }
    Ok(out)
}

/// The first lines of one object.
async fn head_of(src: &Source, obj: &ListedObject) -> Result<Sample, SourceError> {
    let len = obj.size.min(SAMPLE_BYTES);
    let bytes = src.reader.get_range(&obj.path, &obj.name, 0..len).await?;
    Ok(Sample {
        object: obj.name.clone(),
        lines: head_lines(&bytes, len < obj.size, SAMPLE_LINES),
    })
}

/// Each sampled object with the dialect its own lines show, or why none.
pub async fn detect_objects(
    sources: &[Source],
    range: &TimeRange,
) -> Result<Vec<(Sample, Result<Verdict, NoVerdict>)>, SourceError> {
    let samples = sample(sources, range).await?;
    let pool = pool();
    Ok(samples
        .into_iter()
        .map(|s| {
            let v = judge(&s.object, &s.lines, &pool);
            (s, v)
        })
        .collect())
}

/// What `edgelog detect` shows: each sampled object of `locations` with
/// the dialect its lines show, or why none.
pub async fn detect(
    locations: &[String],
    storage: &StorageOptions,
) -> Result<Vec<(Sample, Result<Verdict, NoVerdict>)>, Error> {
    let sources = open_sources(locations, storage)?;
    Ok(detect_objects(&sources, &TimeRange::ALL).await?)
}

/// The dialect `spec` asks for, settled for these sources, with how it was
/// chosen: detected for `auto`, set up from a sample for dialects that
/// need one (W3C fields, inferred JSON types, the zone of the times).
pub async fn resolve(
    spec: &DialectSpec,
    sources: &[Source],
    range: &TimeRange,
) -> Result<(DialectSpec, String), Error> {
    if spec.is_auto() {
        let verdicts = detect_objects(sources, range).await?;
        return decide(verdicts).map_err(Error::Request);
    }
    if spec.kind == DialectKind::AutoPerObject {
        return Ok((spec.clone(), "each object detected on its own".into()));
    }
    let base = spec.build().map_err(Error::Request)?;
    if spec.sampled.is_some() || !base.needs_sample() {
        return Ok((spec.clone(), "--format".into()));
    }
    let lines: Vec<String> = sample(sources, range)
        .await?
        .into_iter()
        .flat_map(|s| s.lines)
        .collect();
    Ok((spec.clone().with_sampled(base.sampled(&lines)), "--format".into()))
}
