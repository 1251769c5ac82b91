//! The CLI through the real binary: output formats, exit codes, the
//! malformed-line summary, --strict, stdin and -f, BrokenPipe, errors.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::harness::{Cmd, edgelog, fixture, generate};

const BY_STATUS: &str =
    "SELECT status, count(*) AS n FROM logs WHERE status IS NOT NULL GROUP BY status ORDER BY status";

fn query(format: &str, sql: &str) -> String {
    edgelog(["query", "-q", "--from", &fixture(), "-o", format, sql])
        .ok()
        .to_string()
}

#[test]
fn csv_and_tsv() {
    assert_eq!(query("csv", BY_STATUS), "status,n\n200,5\n304,1\n404,1\n500,1\n503,1\n");
    assert_eq!(
        query("tsv", BY_STATUS),
        "status\tn\n200\t5\n304\t1\n404\t1\n500\t1\n503\t1\n"
    );
    // Piped without -o: CSV.
    let piped = edgelog(["query", "-q", "--from", &fixture(), BY_STATUS]);
    assert_eq!(piped.ok(), query("csv", BY_STATUS));
}

#[test]
fn json_and_ndjson_keep_types_and_nulls() {
    let sql = "SELECT _line, status, referer, time FROM logs WHERE _file LIKE '%T13.log' AND _line <= 2 ORDER BY _line";
    assert_eq!(
        query("json", sql),
        "[{\"_line\":1,\"status\":200,\"referer\":\"https://example.user.webaccel.jp/\",\"time\":\"2024-11-27T13:00:05+09:00\"},{\"_line\":2,\"status\":200,\"referer\":null,\"time\":\"2024-11-27T13:10:00+09:00\"}]\n"
    );
    assert_eq!(
        query("ndjson", sql),
        "{\"_line\":1,\"status\":200,\"referer\":\"https://example.user.webaccel.jp/\",\"time\":\"2024-11-27T13:00:05+09:00\"}\n{\"_line\":2,\"status\":200,\"referer\":null,\"time\":\"2024-11-27T13:10:00+09:00\"}\n"
    );
    assert_eq!(query("json", "SELECT status FROM logs WHERE status = 999"), "[]\n");
}

#[test]
fn markdown_and_table() {
    assert_eq!(
        query("markdown", BY_STATUS),
        "| status | n |\n|---|---|\n| 200 | 5 |\n| 304 | 1 |\n| 404 | 1 |\n| 500 | 1 |\n| 503 | 1 |\n"
    );
    let md = query("markdown", "SELECT user_agent FROM logs WHERE user_agent LIKE 'say%'");
    assert!(md.contains("| say \"hi\" \\ あ 😀 |"), "{md}");
    let table = query("table", BY_STATUS);
    assert!(
        table.contains("| status | n |") && table.contains("| 503    | 1 |"),
        "{table}"
    );
    let empty = query("table", "SELECT status FROM logs WHERE status = 999");
    assert!(
        empty.contains("| status |"),
        "an empty result still shows its columns: {empty}"
    );
}

#[test]
fn parquet_file_reads_back_with_types() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.parquet");
    let run = edgelog([
        "query",
        "-q",
        "--from",
        &fixture(),
        "-o",
        "parquet",
        "--out",
        out.to_str().unwrap(),
        "SELECT time, status, bytes, path FROM logs ORDER BY time",
    ]);
    assert_eq!(run.ok(), "");
    let file = std::fs::File::open(&out).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = reader.schema().clone();
    let rows: usize = reader.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 10);
    assert_eq!(schema.field(1).data_type(), &arrow::datatypes::DataType::UInt16);
    assert_eq!(schema.field(2).data_type(), &arrow::datatypes::DataType::UInt64);
}

#[test]
fn summary_counts_malformed_lines_and_unknown_fields_once() {
    let run = edgelog(["query", "--from", &fixture(), "SELECT count(*) FROM logs"]);
    assert_eq!(run.ok(), "count(*)\n10\n");
    let err = run.stderr.trim_end();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("10 rows from 3 objects; 2 malformed lines in 1 objects, first: /"),
        "{err}"
    );
    assert!(
        err.contains("access-20241127T13.log:7: status: expected an integer 0-65535, got \"abc\""),
        "{err}"
    );
    assert_eq!(err.matches("upstream_time").count(), 1, "{err}");
}

#[test]
fn quiet_silences_the_summary_but_never_the_error() {
    let run = edgelog(["query", "-q", "--from", &fixture(), "SELECT count(*) FROM logs"]);
    assert_eq!((run.ok(), run.stderr.as_str()), ("count(*)\n10\n", ""));
    let bad = edgelog(["query", "-q", "--from", &fixture(), "SELECT nosuchcolumn FROM logs"]);
    assert!(bad.error().contains("nosuchcolumn"));
}

#[test]
fn strict_turns_a_malformed_line_into_exit_2_naming_object_and_line() {
    let run = edgelog(["query", "--strict", "--from", &fixture(), "SELECT count(*) FROM logs"]);
    let err = run.error();
    assert!(
        err.contains("access-20241127T13.log:7): status: expected an integer"),
        "{err}"
    );
    assert!(err.contains("--strict"), "{err}");
}

#[test]
fn verbose_shows_selection_and_skipped_objects() {
    let run = edgelog(["query", "-v", "--from", &fixture(), "SELECT count(*) FROM logs"]);
    run.ok();
    assert!(run.stderr.contains("format: sakura (detected from"), "{}", run.stderr);
    let run = edgelog([
        "query",
        "-v",
        "--format",
        "sakura",
        "--from",
        &fixture(),
        "SELECT count(*) FROM logs",
    ]);
    run.ok();
    assert!(
        run.stderr.contains("selected 3 objects of 3 candidates"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("skipped (not a sakura object): /") && run.stderr.contains("README.md"));
    assert!(run.stderr.contains("malformed: /") && run.stderr.contains(":8: unterminated string"));
}

#[test]
fn explain_shows_objects_selected_out_of_candidates() {
    let run = edgelog([
        "query",
        "-q",
        "--from",
        &fixture(),
        "EXPLAIN SELECT count(*) FROM logs WHERE time >= '2024-11-28T09:00:00+09:00' AND time < '2024-11-28T09:30:00+09:00'",
    ]);
    let out = run.ok();
    assert!(
        out.contains("LogScanExec: format=sakura, objects=1 of 1 candidates, date folders pruned=1"),
        "{out}"
    );
}

#[test]
fn sql_from_stdin_and_from_file() {
    let run = Cmd::new(["query", "-q", "--from", &fixture()])
        .stdin("SELECT count(*) AS n FROM logs\n")
        .run();
    assert_eq!(run.ok(), "n\n10\n");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("q.sql");
    std::fs::write(&f, "-- a question\nSELECT max(status) AS m FROM logs").unwrap();
    let run = edgelog(["query", "-q", "--from", &fixture(), "-f", f.to_str().unwrap()]);
    assert_eq!(run.ok(), "m\n503\n");
    let missing = edgelog(["query", "--from", &fixture(), "-f", "/nonexistent/q.sql"]);
    assert!(missing.error().contains("cannot read SQL file /nonexistent/q.sql"));
}

#[test]
fn bad_input_is_a_one_line_error_with_exit_2() {
    let f = fixture();
    let cases: &[(&[&str], &str)] = &[
        (&["query", "--from", &f, "SELEC 1"], "SQL error"),
        (
            &["query", "--from", &f, "SELECT nosuchcolumn FROM logs"],
            "No field named nosuchcolumn",
        ),
        (
            &["query", "--from", "/nonexistent/logs/", "SELECT 1"],
            "bad location \"/nonexistent/logs/\": no such file or directory",
        ),
        (&["query", "SELECT count(*) FROM logs"], "no location"),
        (
            &["query", "--format", "apache9", "--from", &f, "SELECT 1"],
            "unknown format \"apache9\"",
        ),
        (
            &["query", "--since", "yesterday-ish", "--from", &f, "SELECT 1"],
            "bad --since \"yesterday-ish\"",
        ),
        (
            &["query", "--last", "3 fortnights", "--from", &f, "SELECT 1"],
            "bad --last",
        ),
        (
            &["query", "-o", "xml", "--from", &f, "SELECT 1"],
            "bad --output \"xml\"",
        ),
        (&["query", "--tz", "Mars/Olympus", "--from", &f, "SELECT 1"], "bad --tz"),
        (&["query", "--from", "gs://bucket/x", "SELECT 1"], "unknown scheme"),
        (
            &[
                "query",
                "--since",
                "2024-11-28",
                "--until",
                "2024-11-27",
                "--from",
                &f,
                "SELECT 1",
            ],
            "--since must be before --until",
        ),
        (
            &["query", "--no-such-flag", "SELECT 1"],
            "edgelog: unexpected argument '--no-such-flag' found (see --help)",
        ),
        (&["formats", "nginx9"], "unknown format"),
    ];
    for (args, expected) in cases {
        let run = edgelog(*args);
        let err = run.error();
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn a_location_without_log_objects_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "not logs").unwrap();
    let run = edgelog([
        "query",
        "--from",
        dir.path().to_str().unwrap(),
        "SELECT count(*) FROM logs",
    ]);
    let err = run.error();
    assert!(
        err.contains("cannot tell the format of") && err.contains("README.md"),
        "{err}"
    );
    let run = edgelog([
        "query",
        "--format",
        "sakura",
        "--from",
        dir.path().to_str().unwrap(),
        "SELECT count(*) FROM logs",
    ]);
    let err = run.error();
    assert!(
        err.contains("no objects named like") && err.contains("README.md"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let run = edgelog([
        "query",
        "--from",
        empty.path().to_str().unwrap(),
        "SELECT count(*) FROM logs",
    ]);
    assert!(run.error().contains("no objects found at"));
}

#[test]
fn broken_pipe_is_success() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 1, 3, 4000, 0.0, 0.0);
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgelog"))
        .args([
            "query",
            "--from",
            dir.path().to_str().unwrap(),
            "-o",
            "csv",
            "SELECT * FROM logs",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("time,http_host,"), "{first}");
    // The reader is dropped here, like `| head -1`.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("edgelog:"), "{stderr}");
}

#[test]
fn formats_lists_the_dialect_and_its_typed_columns() {
    let run = edgelog(["formats"]);
    let out = run.ok();
    assert!(out.starts_with("sakura\t"), "{out}");
    assert!(out.contains("access-{YYYYMMDD}T{HH}.log.gz"));
    for col in [
        "status           UInt16",
        "bytes            UInt64",
        "_line            UInt64",
        "cache_status",
    ] {
        assert!(out.contains(col), "{col} in {out}");
    }
    for name in [
        "combined",
        "combined_xff",
        "combined_request_time",
        "combined_usec",
        "vhost_combined",
        "common",
        "nginx-json",
        "cloudfront",
        "cloudfront-realtime",
        "alb",
        "elb",
        "s3-access",
        "cloudflare",
        "fastly",
        "gcp-lb",
        "akamai",
        "akamai-json",
        "w3c",
        "ndjson",
    ] {
        assert!(out.contains(&format!("\n{name}\t")), "{name} in {out}");
    }
    let alb = edgelog(["formats", "alb"]);
    assert!(
        alb.ok()
            .lines()
            .any(|l| l.trim_start().starts_with("elb_status_code ") && l.contains(" UInt16 ")),
        "{}",
        alb.stdout
    );
    assert!(
        alb.ok().contains("AWSLogs/{account}/elasticloadbalancing/"),
        "{}",
        alb.stdout
    );
}

#[test]
fn functions_lists_every_function_with_an_example() {
    let out = edgelog(["functions"]).ok().to_string();
    for name in [
        "url_path",
        "url_query_param",
        "url_decode",
        "url_host",
        "url_extension",
        "ip_in_cidr",
        "ip_prefix",
        "ip_version",
        "is_private_ip",
        "ua_family",
        "ua_os",
        "ua_device",
        "ua_is_bot",
        "status_class",
        "is_error",
        "parse_request",
    ] {
        assert!(out.contains(&format!("  {name}(")), "{name} in {out}");
    }
    assert_eq!(out.matches("e.g. ").count(), 16, "{out}");
    let ip = edgelog(["functions", "ip"]).ok().to_string();
    assert!(ip.starts_with("ip:\n") && !ip.contains("url_path"), "{ip}");
    let run = edgelog(["functions", "nosuch"]);
    assert!(run.error().contains("no function or family \"nosuch\""));
}

#[test]
fn detect_errors_are_one_line_with_exit_2() {
    let run = edgelog(["detect", "/nonexistent/edgelog/logs/"]);
    assert!(run.error().contains("/nonexistent/edgelog/logs/"), "{}", run.stderr);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello\nworld\n").unwrap();
    let run = edgelog(["query", "--from", dir.path().to_str().unwrap(), "SELECT 1"]);
    let err = run.error();
    assert!(
        err.contains("cannot tell the format of") && err.contains("notes.txt") && err.contains("--format"),
        "{err}"
    );
}

#[test]
fn version_and_help_need_nothing() {
    assert!(edgelog(["--version"]).ok().starts_with("edgelog "));
    assert!(edgelog(["query", "--help"]).ok().contains("--since"));
}

#[test]
fn demo_writes_logs_and_answers_questions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let run = edgelog([
        "demo",
        "--out",
        out.to_str().unwrap(),
        "--hours",
        "16",
        "--lines-per-hour",
        "200",
    ]);
    let text = run.ok();
    assert!(text.starts_with("Wrote 48 hourly objects"), "{text}");
    assert!(text.contains("$ edgelog query --from "), "{text}");
    assert!(text.contains("| path"), "{text}");
    assert!(text.contains("--since 2024-11-27T13:00+09:00"), "{text}");
    // The one-hour question reads 3 hours of 3 hosts, not all 48 objects.
    assert!(text.contains("(read 9 of 48 objects;"), "{text}");
    assert!(
        out.join("sakura-webaccelerator/site2.user.webaccel.jp/2024/11/27/access-20241127T15.log.gz")
            .exists()
    );
}
