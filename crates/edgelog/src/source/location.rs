//! Location text -> [`Location`] -> [`Source`](super::Source).
//!
//! Accepted forms: a local file or folder (`./logs/`, `/var/log/x.gz`,
//! `file:///...`), any of those with a glob (`*`, `**`, `?`, `[..]`, `{a,b}`),
//! `s3://BUCKET/PREFIX`, a virtual-host URL `https://BUCKET.ENDPOINT/PREFIX`
//! and a path-style URL `https://ENDPOINT/BUCKET/PREFIX`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientOptions, RetryConfig};

use super::credentials::{Environment, resolve};
use super::{Source, SourceError, StoreReader};
use crate::config::StorageOptions;

/// A parsed location, before any store is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Files on this machine.
    Local {
        /// The file or folder, as an absolute path, up to any glob.
        base: PathBuf,
        /// The glob below `base`, if any.
        glob: Option<String>,
    },
    /// Objects in an S3-compatible bucket.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix up to any glob, without a leading or trailing `/`.
        prefix: String,
        /// The glob below `prefix`, if any.
        glob: Option<String>,
        /// The endpoint the URL names (`https://s3.isk01.sakurastorage.jp`), if any.
        endpoint: Option<String>,
        /// Whether requests go to `BUCKET.ENDPOINT` rather than `ENDPOINT/BUCKET`.
        virtual_hosted: bool,
    },
}

/// Parses a location's text.
pub fn parse_location(raw: &str) -> Result<Location, SourceError> {
    let bad = |why: &str| SourceError::BadLocation {
        location: raw.to_string(),
        why: why.to_string(),
    };
    if let Some(rest) = raw.strip_prefix("s3://") {
        let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket after s3://"));
        }
        let (prefix, glob) = split_glob(path);
        return Ok(Location::S3 {
            bucket: bucket.to_string(),
            prefix,
            glob,
            endpoint: None,
            virtual_hosted: false,
        });
    }
    for scheme in ["https://", "http://"] {
        let Some(rest) = raw.strip_prefix(scheme) else {
            continue;
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() {
            return Err(bad("no host in URL"));
        }
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        // BUCKET.s3.REGION.example / BUCKET.s3-REGION.amazonaws.com name the
        // bucket first; any other host (an endpoint, an IP) is path style.
        let labels: Vec<&str> = host.split('.').collect();
        let virtual_host =
            labels.len() >= 3 && labels[1].starts_with("s3") && host.parse::<std::net::Ipv4Addr>().is_err();
        if !virtual_host {
            let (bucket, key_path) = path.split_once('/').unwrap_or((path, ""));
            if bucket.is_empty() {
                return Err(bad(
                    "no bucket in the URL path (path-style URL https://ENDPOINT/BUCKET/PREFIX)",
                ));
            }
            let (prefix, glob) = split_glob(key_path);
            return Ok(Location::S3 {
                bucket: bucket.to_string(),
                prefix,
                glob,
                endpoint: Some(format!("{scheme}{authority}")),
                virtual_hosted: false,
            });
        }
        let (bucket, _) = authority.split_once('.').unwrap_or((authority, ""));
        let (prefix, glob) = split_glob(path);
        return Ok(Location::S3 {
            bucket: bucket.to_string(),
            prefix,
            glob,
            endpoint: Some(format!("{scheme}{authority}")),
            virtual_hosted: true,
        });
    }
    if raw.contains("://") && !raw.starts_with("file://") {
        return Err(bad("unknown scheme: use a path, s3://BUCKET/PREFIX or https://"));
    }
    let path = raw.strip_prefix("file://").unwrap_or(raw);
    if path.is_empty() {
        return Err(bad("empty path"));
    }
    let (base, glob) = split_glob(path);
    let base = if base.is_empty() && !path.starts_with('/') {
        ".".to_string()
    } else {
        base
    };
    let base = if path.starts_with('/') && !base.starts_with('/') {
        format!("/{base}")
    } else {
        base
    };
    let cwd = std::env::current_dir().map_err(|e| bad(&format!("cannot read the current directory: {e}")))?;
    Ok(Location::Local {
        base: normalize(&cwd.join(base)),
        glob,
    })
}

/// Resolves `.` and `..` without touching the file system (the object
/// store's paths admit neither).
fn normalize(path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Splits a path at its first glob character into the folder before it
/// (without trailing `/`) and the pattern below that folder. A `**` that is
/// not a whole path component (`logs/**.gz`, as ClickHouse users write it)
/// means "any file at any depth" (`**/*.gz`).
fn split_glob(path: &str) -> (String, Option<String>) {
    let Some(first) = path.find(['*', '?', '[', '{']) else {
        return (path.trim_end_matches('/').to_string(), None);
    };
    let cut = path[..first].rfind('/');
    let (base, pattern) = match cut {
        Some(c) => (&path[..c], &path[c + 1..]),
        None => ("", path),
    };
    let mut glob = String::with_capacity(pattern.len() + 4);
    let mut rest = pattern;
    while let Some(i) = rest.find("**") {
        glob.push_str(&rest[..i + 2]);
        rest = &rest[i + 2..];
        if !rest.is_empty() && !rest.starts_with('/') {
            glob.push_str("/*");
        }
    }
    glob.push_str(rest);
    (base.to_string(), Some(glob))
}

fn compile_glob(raw: &str, glob: Option<String>) -> Result<Option<globset::GlobMatcher>, SourceError> {
    glob.map(|g| {
        globset::GlobBuilder::new(&g)
            .literal_separator(true)
            .build()
            .map(|g| g.compile_matcher())
            .map_err(|e| SourceError::BadLocation {
                location: raw.to_string(),
                why: format!("bad glob: {e}"),
            })
    })
    .transpose()
}

/// Builds the store for a parsed location.
pub(super) fn open(raw: &str, loc: Location, opts: &StorageOptions, env: &Environment) -> Result<Source, SourceError> {
    match loc {
        Location::Local { base, glob } => {
            if std::fs::metadata(&base).is_err() {
                return Err(SourceError::BadLocation {
                    location: raw.to_string(),
                    why: "no such file or directory".into(),
                });
            }
            let base_path = Path::from_absolute_path(&base).map_err(|e| SourceError::BadLocation {
                location: raw.to_string(),
                why: e.to_string(),
            })?;
            Ok(Source {
                location: raw.to_string(),
                reader: StoreReader::new(Arc::new(LocalFileSystem::new()), opts.io),
                base: base_path,
                glob: compile_glob(raw, glob)?,
                display_prefix: "/".into(),
                settings: "local files".into(),
            })
        }
        Location::S3 {
            bucket,
            prefix,
            glob,
            endpoint,
            virtual_hosted,
        } => {
            let s = resolve(opts, env, endpoint.as_deref())?;
            let mut b = AmazonS3Builder::new()
                .with_bucket_name(&bucket)
                .with_region(&s.region)
                // Every retry and timeout is ours (reader.rs), where it is
                // counted and explained; a body is timed per piece there, not
                // as a whole, so a large object on a slow link is not cut.
                .with_retry(RetryConfig {
                    max_retries: 0,
                    ..RetryConfig::default()
                })
                .with_client_options(
                    ClientOptions::new()
                        .with_connect_timeout(Duration::from_secs(5).min(opts.io.io_timeout))
                        .with_timeout_disabled()
                        .with_allow_http(s.allow_http),
                )
                .with_allow_http(s.allow_http);
            if let Some(ep) = &s.endpoint {
                // A virtual-host URL names BUCKET.ENDPOINT: requests go there as given.
                b = b.with_endpoint(ep).with_virtual_hosted_style_request(virtual_hosted);
            }
            b = match &s.credentials {
                Some(c) => {
                    let b = b
                        .with_access_key_id(&c.access_key_id)
                        .with_secret_access_key(&c.secret_access_key);
                    match &c.session_token {
                        Some(t) => b.with_token(t),
                        None => b,
                    }
                }
                // Without credentials, sign nothing rather than ask the
                // cloud metadata service: public buckets still work.
                None => b.with_skip_signature(true),
            };
            let store = b.build().map_err(|e| SourceError::BadLocation {
                location: raw.to_string(),
                why: super::describe_store_error(&e),
            })?;
            Ok(Source {
                location: raw.to_string(),
                reader: StoreReader::new(Arc::new(store), opts.io),
                base: Path::from(prefix.as_str()),
                glob: compile_glob(raw, glob)?,
                display_prefix: format!("s3://{bucket}/"),
                settings: s.describe(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(raw: &str) -> (String, String, Option<String>, Option<String>, bool) {
        match parse_location(raw).unwrap() {
            Location::S3 {
                bucket,
                prefix,
                glob,
                endpoint,
                virtual_hosted,
            } => (bucket, prefix, glob, endpoint, virtual_hosted),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn s3_urls() {
        assert_eq!(
            s3("s3://example/sakura-webaccelerator/"),
            ("example".into(), "sakura-webaccelerator".into(), None, None, false)
        );
        assert_eq!(s3("s3://example"), ("example".into(), "".into(), None, None, false));
        assert_eq!(
            s3("https://example.s3.isk01.sakurastorage.jp/sakura-webaccelerator/**.gz"),
            (
                "example".into(),
                "sakura-webaccelerator".into(),
                Some("**/*.gz".into()),
                Some("https://example.s3.isk01.sakurastorage.jp".into()),
                true
            )
        );
        assert_eq!(
            s3("https://s3.isk01.sakurastorage.jp/example/logs/2024/*/*.gz"),
            (
                "example".into(),
                "logs/2024".into(),
                Some("*/*.gz".into()),
                Some("https://s3.isk01.sakurastorage.jp".into()),
                false
            )
        );
        assert_eq!(
            s3("http://127.0.0.1:9000/bucket/p"),
            (
                "bucket".into(),
                "p".into(),
                None,
                Some("http://127.0.0.1:9000".into()),
                false
            )
        );
        assert_eq!(
            s3("https://s3logs.s3.isk01.sakurastorage.jp/x/"),
            (
                "s3logs".into(),
                "x".into(),
                None,
                Some("https://s3logs.s3.isk01.sakurastorage.jp".into()),
                true
            )
        );
        assert_eq!(
            s3("https://minio.example.com:9000/b/x"),
            (
                "b".into(),
                "x".into(),
                None,
                Some("https://minio.example.com:9000".into()),
                false
            )
        );
        assert!(parse_location("s3:///x").is_err());
        assert!(parse_location("gs://x/y").is_err());
        assert!(parse_location("https://s3.example.com/").is_err());
    }

    #[test]
    fn globs_split_at_the_first_wildcard() {
        assert_eq!(split_glob("a/b/**.gz"), ("a/b".into(), Some("**/*.gz".into())));
        assert_eq!(split_glob("a/b/**/x.gz"), ("a/b".into(), Some("**/x.gz".into())));
        assert_eq!(split_glob("a/b/**"), ("a/b".into(), Some("**".into())));
        assert_eq!(split_glob("a/{x,y}/*.gz"), ("a".into(), Some("{x,y}/*.gz".into())));
        assert_eq!(split_glob("*.gz"), ("".into(), Some("*.gz".into())));
        assert_eq!(split_glob("a/b/"), ("a/b".into(), None));
    }

    #[test]
    fn local_paths_are_absolute() {
        match parse_location("logs/*.gz").unwrap() {
            Location::Local { base, glob } => {
                assert!(base.is_absolute() && base.ends_with("logs"));
                assert_eq!(glob.as_deref(), Some("*.gz"));
            }
            other => panic!("{other:?}"),
        }
        match parse_location("/var/log/../log/./x.gz").unwrap() {
            Location::Local { base, glob } => {
                assert_eq!(base, PathBuf::from("/var/log/x.gz"));
                assert_eq!(glob, None);
            }
            other => panic!("{other:?}"),
        }
    }
}
