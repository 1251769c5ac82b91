//! The front door: logs are opened once per command, whatever it asks. A
//! report beside its previous window lists each folder once and samples
//! each object once, counted at a proxy in front of the real S3 server; the
//! scan's figures are plan metrics that `EXPLAIN ANALYZE` shows and that
//! agree with the summary line.

use std::collections::HashMap;

use crate::faults::fault_proxy::FaultProxy;
use crate::harness::{Cmd, fixture, generate};
use crate::s3::server::S3Server;

const KEY: &str = "AKIAEDGELOGFRONTDOOR1";
const SECRET: &str = "edgelog-frontdoor-secret-never-printed";

#[test]
fn report_compare_lists_each_folder_once_and_samples_each_object_once() {
    let root = tempfile::tempdir().unwrap();
    // Two sites, six hours from 2024-11-27T00:00+09:00; late records too.
    generate(&root.path().join("logs"), 2, 6, 300, 0.002, 0.01);
    let server = S3Server::start(root.path().to_path_buf(), KEY, SECRET, 0);
    let proxy = FaultProxy::start(server.addr, Vec::new());
    let run = Cmd::new([
        "report",
        "overview",
        "status",
        "--from",
        "s3://logs/sakura-webaccelerator/",
        "--since",
        "2024-11-27T03:00+09:00",
        "--until",
        "2024-11-27T05:00+09:00",
        "--compare",
        "previous",
        "-o",
        "json",
    ])
    .env("AWS_ACCESS_KEY_ID", KEY)
    .env("AWS_SECRET_ACCESS_KEY", SECRET)
    .env("AWS_ENDPOINT_URL", proxy.endpoint())
    .env("AWS_REGION", "jp-north-1")
    .run();
    let json: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert!(json["scan"]["rows"].as_u64().unwrap() > 0, "{json}");
    assert!(json["compare"].is_object(), "{json}");

    let seen = proxy.requests();
    let mut lists: HashMap<&str, usize> = HashMap::new();
    let mut samples: HashMap<&str, usize> = HashMap::new();
    let mut reads: HashMap<&str, usize> = HashMap::new();
    for r in &seen {
        if r.is_list() {
            *lists.entry(&r.target).or_default() += 1;
        } else if r.method == "GET" && r.ranged {
            *samples.entry(&r.target).or_default() += 1;
        } else if r.method == "GET" {
            *reads.entry(&r.target).or_default() += 1;
        }
    }
    assert!(
        !lists.is_empty() && !samples.is_empty() && !reads.is_empty(),
        "{seen:?}"
    );
    for (target, n) in &lists {
        assert_eq!(*n, 1, "listed {n} times: {target}");
    }
    for (target, n) in &samples {
        assert_eq!(*n, 1, "sampled {n} times: {target}");
    }
    // Each window reads its own objects (the margin makes them overlap),
    // so an object is read whole at most once per window.
    for (target, n) in &reads {
        assert!(*n <= 2, "read {n} times: {target}");
    }
}

/// The metrics of the `LogScanExec` line of an `EXPLAIN ANALYZE`
/// (`objects=3, rows=10, bytes=2.70 K, ...`), as written.
fn scan_metrics(plan: &str) -> HashMap<String, String> {
    let line = plan
        .lines()
        .find(|l| l.contains("LogScanExec"))
        .unwrap_or_else(|| panic!("no LogScanExec in {plan}"));
    let metrics = line
        .split("metrics=[")
        .nth(1)
        .unwrap_or_else(|| panic!("no metrics in {line}"));
    metrics
        .trim_end_matches(|c: char| c != ']')
        .trim_end_matches(']')
        .split(", ")
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn explain_analyze_shows_the_scan_figures_the_summary_line_gives() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 2, 3, 200, 0.01, 0.0);
    let from = dir.path().join("sakura-webaccelerator/");
    let from = from.to_str().unwrap();
    let explained = Cmd::new([
        "query",
        "-q",
        "--from",
        from,
        "-o",
        "tsv",
        "EXPLAIN ANALYZE SELECT count(*) FROM logs",
    ])
    .run();
    let m = scan_metrics(explained.ok());
    let summary = Cmd::new(["query", "--from", from, "-o", "csv", "SELECT count(*) FROM logs"]).run();
    let line = summary.stderr.lines().last().unwrap_or_default().to_string();
    assert!(
        line.starts_with(&format!(
            "{} rows from {} objects; {} malformed lines",
            m["rows"], m["objects"], m["malformed"]
        )),
        "summary {line:?} vs metrics {m:?}"
    );
    assert_eq!(m["objects"], "6", "{m:?}");
    assert_eq!(m["unreadable"], "0", "{m:?}");
    assert!(m["malformed"] != "0" && !m["bytes"].starts_with('0'), "{m:?}");
    // The fixture has a known shape too.
    let fixture = Cmd::new([
        "query",
        "-q",
        "--from",
        &fixture(),
        "-o",
        "tsv",
        "EXPLAIN ANALYZE SELECT count(*) FROM logs",
    ])
    .run();
    assert_eq!(scan_metrics(fixture.ok())["objects"], "3");
}
