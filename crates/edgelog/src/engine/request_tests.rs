//! Requests and dialect specs are plain data: each survives a JSON round
//! trip, and the dialect built from the round-tripped spec reads every file
//! of the shared corpus and of `tests/data/` to the same rows as the one
//! detection built, for detected dialects (W3C `#Fields`, CloudFront
//! real-time fields, JSON keys and types, sampled zones) and user formats.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::record_batch::RecordBatch;

use super::request::{Compare, RangeSpec, ScanRequest, TimeArg};
use crate::config::{IoPolicy, StorageOptions};
use crate::dialect::detect::{SAMPLE_LINES, judge, pool};
use crate::dialect::names;
use crate::dialect::{Dialect, DialectKind, DialectSpec, Sampled};
use crate::scan::object::{ScanBuffers, ScanSettings, head_lines, scan_object};

fn shared_dir() -> PathBuf {
    match std::env::var_os("EDGELOG_SHARED") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// Every file of the shared corpus and of the repository's format fixtures.
fn log_files() -> Vec<PathBuf> {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(shared_dir().join("corpus"))
        .unwrap()
        .map(|d| d.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.push(tests.join("formats"));
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|f| f.unwrap().path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Every row `dialect` reads from `bytes`, with all columns.
fn decode(dialect: &Arc<dyn Dialect>, bytes: &[u8]) -> (Vec<RecordBatch>, u64) {
    let schema = dialect.schema("UTC");
    let all: Vec<usize> = (0..schema.fields().len()).collect();
    let mut decoder = dialect.decoder(&schema, &all, crate::config::TimeRange::ALL);
    let settings = ScanSettings {
        batch_size: 1024,
        strict: false,
        skip_unreadable: false,
    };
    let mut batches = Vec::new();
    let (report, outcome) = scan_object(
        bytes::Bytes::copy_from_slice(bytes),
        "f",
        decoder.as_mut(),
        settings,
        &mut ScanBuffers::new(),
        &mut |b| {
            batches.push(b);
            true
        },
    );
    outcome.unwrap();
    (batches, report.malformed)
}

fn round_trip(spec: &DialectSpec) -> DialectSpec {
    let text = serde_json::to_string(spec).unwrap();
    let back: DialectSpec = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, spec, "{text}");
    back
}

/// The spec round-trips and its dialect reads `bytes` as the original does.
fn same_rows(spec: &DialectSpec, bytes: &[u8], what: &str) -> usize {
    let built = spec.build().unwrap();
    let rebuilt = round_trip(spec).build().unwrap();
    assert_eq!(built.schema("UTC"), rebuilt.schema("UTC"), "{what}");
    let (a, bad_a) = decode(&built, bytes);
    let (b, bad_b) = decode(&rebuilt, bytes);
    assert_eq!(a, b, "{what}");
    assert_eq!(bad_a, bad_b, "{what}");
    a.iter().map(RecordBatch::num_rows).sum()
}

#[test]
fn every_detected_dialect_round_trips_and_reads_the_corpus_to_the_same_rows() {
    let pool = pool();
    let mut kinds = std::collections::BTreeSet::new();
    let mut sampled = (false, false, false);
    for path in log_files() {
        let bytes = std::fs::read(&path).unwrap();
        let lines = head_lines(&bytes, false, SAMPLE_LINES);
        let what = path.display().to_string();
        let Ok(verdict) = judge(&what, &lines, &pool) else {
            continue;
        };
        let spec = verdict.spec;
        let s = spec.sampled.clone().unwrap_or_default();
        sampled.0 |= !s.fields.is_empty();
        sampled.1 |= !s.keys.is_empty();
        sampled.2 |= s.tz.is_some();
        let rows = same_rows(&spec, &bytes, &what);
        assert!(rows > 0, "{what}: no rows");
        kinds.insert(verdict.dialect.name());
    }
    // The corpus and fixtures cover the families and what samples settle.
    for name in [
        "combined",
        "common",
        "w3c",
        "cloudfront",
        "cloudfront-realtime",
        "alb",
        "ndjson",
    ] {
        assert!(kinds.contains(name), "no {name} file among {kinds:?}");
    }
    assert_eq!(sampled, (true, true, true), "fields, keys and zones were all sampled");
}

#[test]
fn user_formats_round_trip_and_read_the_same_rows() {
    let corpus = shared_dir().join("corpus");
    let cases: &[(&str, &str)] = &[
        (
            "nginx_combined/nginx_logs_elastic_demo_prefix.txt",
            "nginx:$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"",
        ),
        (
            "clf_nasa/NASA_access_log_Aug95_head",
            "apache:%h %l %u %t \"%r\" %>s %b",
        ),
        (
            "apache_combined/lnav_logfile_access_log.0",
            r#"regex:^(?P<client_ip>\S+) \S+ \S+ \[(?P<time_local>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d+) (?P<bytes>\S+)"#,
        ),
        (
            "cloudfront_realtime/claygregory_kinesis-1-0.txt",
            "cloudfront-realtime:timestamp,c-ip,time-to-first-byte,sc-status,sc-bytes,cs-method,cs-protocol,cs-host,cs-uri-stem,cs-bytes,x-edge-location,x-edge-request-id,x-host-header,time-taken,cs-protocol-version,c-ip-version,cs-user-agent,cs-referer,cs-cookie,cs-uri-query,x-edge-response-result-type,x-forwarded-for,ssl-protocol,ssl-cipher,x-edge-result-type,fle-encrypted-fields,fle-status,sc-content-type,sc-content-len,sc-range-start,sc-range-end,c-port,x-edge-detailed-result-type,c-country,cs-accept-encoding,cs-accept,cache-behavior-path-pattern,cs-headers,cs-header-names,cs-headers-count",
        ),
        (
            "nginx_combined/nginx_logs_elastic_demo_prefix.txt",
            "log_format main '$remote_addr - $remote_user [$time_local] \"$request\" ' '$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"';",
        ),
    ];
    for (rel, text) in cases {
        let bytes = std::fs::read(corpus.join(rel)).unwrap();
        // An nginx.conf directive comes from a format file (`--format @FILE`).
        let spec = match text.strip_prefix("log_format") {
            Some(_) => DialectSpec::new(DialectKind::Nginx(text.to_string())),
            None => DialectSpec::parse(text),
        };
        assert!(!matches!(spec.kind, DialectKind::Named(_)), "{text}");
        let base = spec.build().unwrap_or_else(|e| panic!("{text}: {e}"));
        // As the engine does for a `--format` that needs a sample.
        let lines = head_lines(&bytes, false, SAMPLE_LINES);
        let spec = spec.with_sampled(base.sampled(&lines));
        let rows = same_rows(&spec, &bytes, text);
        assert!(rows > 0, "{rel} in {text}: no rows");
    }
}

#[test]
fn every_known_dialect_is_a_spec_that_round_trips() {
    for name in names() {
        let spec = DialectSpec::named(name);
        assert_eq!(round_trip(&spec).build().unwrap().name(), name);
    }
    for text in ["auto", "auto-per-object"] {
        round_trip(&DialectSpec::parse(text));
    }
    assert_eq!(
        DialectSpec::parse("auto-per-object").build().unwrap().name(),
        "auto-per-object"
    );
    let unknown = DialectSpec::parse("nosuch").build().unwrap_err();
    assert!(unknown.contains("unknown format \"nosuch\""), "{unknown}");
    assert!(DialectSpec::parse("regex:(unclosed").build().is_err());
}

#[test]
fn a_scan_request_round_trips_whole() {
    let mut request = ScanRequest::new(
        vec!["s3://bucket/prefix/".into(), "/var/log/nginx/".into()],
        DialectSpec::named("ndjson").with_sampled(Sampled {
            tz: Some("+09:00".into()),
            fields: vec!["date".into(), "time".into()],
            keys: vec![crate::dialect::SampledKey {
                key: "EdgeStartTimestamp".into(),
                ty: crate::dialect::generic::Ty::Time,
            }],
        }),
    );
    request.range = RangeSpec {
        since: Some(TimeArg::Text("2024-11-27T13:00".into())),
        until: Some(TimeArg::Ms(1_732_683_600_000)),
        last_ms: Some(3_600_000),
        now_ms: Some(1_732_700_000_000),
    };
    request.tz = Some("UTC".into());
    request.strict = true;
    request.skip_unreadable = true;
    request.prune_margin_ms = 120_000;
    request.memory_limit = Some(1 << 30);
    request.storage = StorageOptions {
        endpoint: Some("https://s3.isk01.sakurastorage.jp".into()),
        region: Some("jp-north-1".into()),
        profile: Some("logs".into()),
        allow_http: true,
        io: IoPolicy {
            retries: 5,
            io_timeout: std::time::Duration::from_millis(2500),
        },
    };
    let text = serde_json::to_string(&request).unwrap();
    let back: ScanRequest = serde_json::from_str(&text).unwrap();
    assert_eq!(back, request, "{text}");
    // The smallest request a server could take.
    let small: ScanRequest = serde_json::from_str(r#"{"locations":["/logs/"],"format":{"kind":"auto"}}"#).unwrap();
    assert_eq!(small, ScanRequest::new(vec!["/logs/".into()], DialectSpec::auto()));
    for c in [Compare::Previous, Compare::Earlier(86_400_000)] {
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Compare>(&text).unwrap(), c);
    }
}

#[test]
fn ranges_resolve_in_the_zone_and_say_which_bound_is_wrong() {
    let now = 1_732_700_000_000;
    let spec = RangeSpec {
        since: Some(TimeArg::Text("2024-11-27T13:00".into())),
        until: Some(TimeArg::Text("2024-11-27T14:00+09:00".into())),
        last_ms: None,
        now_ms: Some(now),
    };
    let r = spec.resolve(9 * 3600).unwrap();
    assert_eq!(r.until.unwrap() - r.since.unwrap(), 3_600_000);
    let bad = RangeSpec {
        until: Some(TimeArg::Text("yesterday".into())),
        ..spec.clone()
    };
    assert!(bad.resolve(0).unwrap_err().starts_with("bad --until \"yesterday\""));
    let last = RangeSpec {
        last_ms: Some(60_000),
        now_ms: Some(now),
        ..RangeSpec::default()
    };
    assert_eq!(last.resolve(0).unwrap().since, Some(now - 60_000));
    assert_eq!(last.hint(), crate::config::TimeRange::ALL);
    let window = Compare::Previous.window(last.resolve(0).unwrap(), now).unwrap();
    assert_eq!(window.until, Some(now - 60_000));
    assert!(Compare::parse("fortnight").is_err());
    let both = RangeSpec {
        since: Some(TimeArg::Ms(0)),
        ..last
    };
    assert!(both.resolve(0).unwrap_err().contains("not both"));
}

#[test]
fn requests_a_server_could_send_are_checked_before_anything_is_read() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let open = |r: ScanRequest| rt.block_on(super::LogSet::open(&r)).unwrap_err().to_string();
    let base = ScanRequest::new(vec!["/nonexistent/edgelog/".into()], DialectSpec::named("sakura"));
    let negative = ScanRequest {
        prune_margin_ms: -1,
        ..base.clone()
    };
    assert!(open(negative).starts_with("bad prune margin -1 ms"));
    let no_memory = ScanRequest {
        memory_limit: Some(0),
        ..base.clone()
    };
    assert!(open(no_memory).starts_with("bad memory limit 0"));
    let nowhere = ScanRequest {
        locations: Vec::new(),
        ..base
    };
    assert!(open(nowhere).starts_with("no location"));
}
