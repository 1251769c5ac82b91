//! Listing objects under a source and selecting them by time.
//!
//! With a time range, the walk descends folder by folder and skips any
//! `YYYY`, `MM` or `DD` folder whose days cannot hold a wanted record, so a
//! question about one hour of a year lists a handful of folders, not the
//! bucket. Without one, a single recursive listing is cheapest. Selection by
//! time is conservative: an object is read when its hour, widened by the
//! margin for late records, touches the range. Rows are still filtered
//! exactly later, so a pruned answer equals the unpruned one.

use futures::{StreamExt, stream};
use object_store::ObjectMeta;
use object_store::path::Path;

use edgelog_parse::time::{DAY_MS, days_from_civil};

use super::{HeadError, Source, SourceError};
use crate::config::TimeRange;

/// How a dialect names its objects, as far as listing needs to know.
#[derive(Debug, Clone, Copy)]
pub struct KeyTemplate {
    /// Start of the period an object key covers (epoch ms), or `None` when
    /// the key is not one of the dialect's objects.
    pub period_of: fn(&str) -> Option<i64>,
    /// Length of that period in milliseconds (an hour for Sakura).
    pub period_ms: i64,
    /// The offset (seconds east of UTC) that date folders in keys are in.
    pub folder_offset_secs: i32,
    /// The template, for messages.
    pub describe: &'static str,
    /// Keys the template does not match are not the dialect's objects and
    /// are skipped (Sakura); otherwise they are read, with no known period.
    pub strict: bool,
    /// `YYYY/MM/DD` folders in keys are dates in `folder_offset_secs` and
    /// may be pruned by the time range.
    pub date_folders: bool,
}

impl KeyTemplate {
    /// A dialect whose objects may be named anything: every key is read,
    /// none is pruned by name.
    pub const fn any(describe: &'static str) -> Self {
        KeyTemplate {
            period_of: |_| None,
            period_ms: 0,
            folder_offset_secs: 0,
            describe,
            strict: false,
            date_folders: false,
        }
    }
}

/// One object chosen for reading.
#[derive(Debug, Clone)]
pub struct ListedObject {
    /// Its path in the store.
    pub path: Path,
    /// Its size in bytes.
    pub size: u64,
    /// How it is named to the user (`s3://bucket/key`, `/abs/path`).
    pub name: String,
    /// Its entity tag, when the store gives one: a re-upload changes it.
    pub etag: Option<String>,
}

/// What a listing found.
#[derive(Debug, Default)]
pub struct Listing {
    /// The objects to read, sorted by name.
    pub selected: Vec<ListedObject>,
    /// Objects that matched the location and template before time selection.
    pub candidates: usize,
    /// Objects under the location that are not the dialect's (a README, a manifest).
    pub skipped: Vec<String>,
    /// Date folders not listed because the time range excludes them.
    pub folders_pruned: usize,
}

/// How many folder listings run at once.
const LIST_CONCURRENCY: usize = 16;

#[derive(Debug, Clone, Copy)]
enum Level {
    Other,
    Year(i64),
    Month(i64, u32),
}

/// Lists the objects of `src` and selects those whose period, widened by
/// `margin_ms`, touches `range`.
pub async fn list_objects(
    src: &Source,
    template: &KeyTemplate,
    range: &TimeRange,
    margin_ms: i64,
) -> Result<Listing, SourceError> {
    let mut listing = Listing::default();
    let single = src.glob.is_none() && !src.base.as_ref().is_empty() && !src.location.ends_with('/');
    let local = src.display_prefix == "/";
    let metas = if !single {
        walk(src, template, range, margin_ms, &mut listing).await?
    } else {
        match src.reader.head(&src.base, &src.location).await {
            Ok(meta) => {
                vec![meta]
            }
            Err(HeadError::NotFound(_)) => walk(src, template, range, margin_ms, &mut listing).await?,
            // A local folder is not an object; list it.
            Err(HeadError::Other(_)) if local => walk(src, template, range, margin_ms, &mut listing).await?,
            Err(HeadError::Other(e)) => return Err(e),
        }
    };
    if metas.is_empty() && listing.folders_pruned == 0 {
        return Err(SourceError::NotFound {
            location: src.location.clone(),
        });
    }
    let explicit = single && metas.len() == 1 && metas[0].location == src.base;
    let base = src.base.as_ref();
    for meta in metas {
        let key = meta.location.as_ref();
        let name = src.display(&meta.location);
        let period = (template.period_of)(key);
        if let Some(glob) = &src.glob {
            let rel = key.strip_prefix(base).unwrap_or(key).trim_start_matches('/');
            if !glob.is_match(rel) {
                continue;
            }
        } else if period.is_none() && !explicit && template.strict {
            listing.skipped.push(name);
            continue;
        }
        listing.candidates += 1;
        let keep = match period {
            Some(start) => range.overlaps(start - margin_ms, start + template.period_ms + margin_ms),
            None => true,
        };
        if keep {
            listing.selected.push(ListedObject {
                path: meta.location,
                size: meta.size,
                name,
                etag: meta.e_tag,
            });
        }
    }
    if listing.candidates == 0 && listing.folders_pruned == 0 {
        let mut why = format!("no objects named like {}", template.describe);
        if let Some(first) = listing.skipped.first() {
            why.push_str(&format!(
                " ({} other objects skipped, e.g. {first})",
                listing.skipped.len()
            ));
        }
        return Err(SourceError::Storage {
            action: "use",
            location: src.location.clone(),
            why,
        });
    }
    listing.selected.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listing)
}

async fn walk(
    src: &Source,
    template: &KeyTemplate,
    range: &TimeRange,
    margin_ms: i64,
    listing: &mut Listing,
) -> Result<Vec<ObjectMeta>, SourceError> {
    let reader = &src.reader;
    let root = (!src.base.as_ref().is_empty()).then(|| src.base.clone());
    let shown = |dir: &Option<Path>| match dir {
        Some(d) if d.as_ref() != src.base.as_ref() => src.display(d),
        _ => src.location.clone(),
    };
    if range.is_unbounded() || !template.date_folders {
        return reader.list(root.as_ref(), &shown(&root)).await;
    }
    let offset_ms = i64::from(template.folder_offset_secs) * 1000;
    let touches = |start_day: i64, end_day: i64| {
        range.overlaps(
            start_day * DAY_MS - offset_ms - margin_ms,
            end_day * DAY_MS - offset_ms + margin_ms,
        )
    };
    let mut objects = Vec::new();
    let mut queue = vec![(root, Level::Other)];
    while !queue.is_empty() {
        let batch: Vec<_> = queue.drain(..queue.len().min(LIST_CONCURRENCY)).collect();
        let results: Vec<_> = stream::iter(batch)
            .map(|(dir, level)| async move {
                let r = reader.list_dir(dir.as_ref(), &shown(&dir)).await;
                (dir, level, r)
            })
            .buffer_unordered(LIST_CONCURRENCY)
            .collect()
            .await;
        for (_, level, result) in results {
            let (dirs, objs) = result?;
            objects.extend(objs);
            for child in dirs {
                let name = child.filename().unwrap_or_default();
                let next = match (level, date_number(name)) {
                    (Level::Other, Some((4, y))) if (1970..=9999).contains(&y) => {
                        if !touches(days_from_civil(y, 1, 1), days_from_civil(y + 1, 1, 1)) {
                            listing.folders_pruned += 1;
                            continue;
                        }
                        Level::Year(y)
                    }
                    (Level::Year(y), Some((2, m))) if (1..=12).contains(&m) => {
                        let m = m as u32;
                        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                        if !touches(days_from_civil(y, m, 1), days_from_civil(ny, nm, 1)) {
                            listing.folders_pruned += 1;
                            continue;
                        }
                        Level::Month(y, m)
                    }
                    (Level::Month(y, m), Some((2, d))) if (1..=31).contains(&d) => {
                        let day = days_from_civil(y, m, d as u32);
                        if !touches(day, day + 1) {
                            listing.folders_pruned += 1;
                            continue;
                        }
                        Level::Other
                    }
                    _ => Level::Other,
                };
                queue.push((Some(child), next));
            }
        }
    }
    Ok(objects)
}

/// A folder name made only of digits: its length and value.
fn date_number(name: &str) -> Option<(usize, i64)> {
    if name.is_empty() || name.len() > 4 || !name.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((name.len(), name.parse().ok()?))
}
