//! Where logs live: turns a location (path, glob, `s3://`, `https://` URL)
//! into an object store, a base prefix and an optional glob, and lists the
//! objects under it, walking only the date folders a time range can touch.
//!
//! This module owns storage: credentials and endpoints are resolved here
//! (see [`credentials`]) and nowhere else, and never printed. It does not
//! read object contents; that is `scan/`'s job (`scan/object.rs`).

pub mod credentials;
mod listing;
mod location;
mod reader;

use object_store::path::Path;

pub use listing::{KeyTemplate, ListedObject, Listing, list_objects};
pub use location::{Location, parse_location};
pub use reader::{HeadError, MAX_EVENTS, RetryEvent, RetryLog, StoreReader, on_retry, retry_log};

use crate::config::StorageOptions;

/// Why a location could not be opened or listed. Every message names the
/// location or object at fault.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The location text is not one we understand.
    #[error("bad location {location:?}: {why}")]
    BadLocation {
        /// As the user wrote it.
        location: String,
        /// What is wrong with it.
        why: String,
    },
    /// Nothing exists at the location.
    #[error("no objects found at {location}")]
    NotFound {
        /// As shown to the user.
        location: String,
    },
    /// The storage answered with an error, or could not be reached.
    #[error("cannot {action} {location}: {why}")]
    Storage {
        /// `list`, `read`.
        action: &'static str,
        /// The location or object.
        location: String,
        /// The storage's answer, made readable.
        why: String,
    },
    /// The `~/.aws` files or environment are inconsistent.
    #[error("{0}")]
    Credentials(String),
}

/// An opened location: the store to read from and what part of it to read.
#[derive(Debug, Clone)]
pub struct Source {
    /// The location as the user wrote it.
    pub location: String,
    /// The store holding the objects, read with retries.
    pub reader: StoreReader,
    /// The folder (or single object) the location names.
    pub base: Path,
    /// Keys below `base` must match this, when the location has a glob.
    pub glob: Option<globset::GlobMatcher>,
    /// How object paths are shown: `s3://bucket/` or `/` for local files.
    pub display_prefix: String,
    /// A description of the settings used (endpoint, region, credential
    /// source), without secrets, for `--verbose`.
    pub settings: String,
}

impl Source {
    /// How an object of this source is named in output, `_file` and errors.
    pub fn display(&self, path: &Path) -> String {
        format!("{}{}", self.display_prefix, path)
    }
}

/// Opens a location: parses it and builds the object store for it.
pub fn open_location(raw: &str, opts: &StorageOptions) -> Result<Source, SourceError> {
    let loc = parse_location(raw)?;
    location::open(raw, loc, opts, &credentials::Environment::from_process())
}

/// Turns an object_store error into a readable reason, without secrets.
pub(crate) fn describe_store_error(e: &object_store::Error) -> String {
    use object_store::Error as E;
    match e {
        E::NotFound { .. } => "not found".into(),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
            format!("access denied: {}", one_line(&e.to_string()))
        }
        _ => {
            let text = one_line(&e.to_string());
            let hint = if text.contains("SignatureDoesNotMatch") || text.contains("InvalidAccessKeyId") {
                " (check the access key and secret)"
            } else if text.contains("NoSuchBucket") {
                " (the bucket does not exist)"
            } else if text.contains("Connection refused")
                || text.contains("error sending request")
                || text.contains("dns error")
                || text.contains("timed out")
            {
                " (is the endpoint right and reachable?)"
            } else {
                ""
            };
            format!("{text}{hint}")
        }
    }
}

/// Collapses whitespace and newlines so that a storage error fits one line.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    const MAX: usize = 400;
    if out.len() > MAX {
        let mut end = MAX;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str("...");
    }
    out
}
