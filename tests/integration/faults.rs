//! Storage that misbehaves: a fault-injecting proxy in front of the real
//! S3-compatible test server (SigV4 checked) answers 5xx/SlowDown, resets
//! or cuts bodies short, stalls, and fails LIST pages. Below the retry
//! budget every answer equals the fault-free one; above it the command ends
//! in bounded time with one line naming the object and the fault. Ctrl-C
//! ends a stalled scan at once, leaving no partial output.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{Cmd, Run, generate};
use crate::s3::server::S3Server;

#[path = "../support/fault_proxy.rs"]
pub(crate) mod fault_proxy;

use fault_proxy::{Fault, FaultProxy, Rule, Target};

const KEY: &str = "AKIAEDGELOGFAULTS001";
const SECRET: &str = "edgelog-faults-secret-never-printed";
const BUCKET: &str = "faulty";
const FROM: &str = "s3://faulty/sakura-webaccelerator/";
/// The per-read timeout the tests give edgelog, so that a stall is a fault
/// within a second rather than 30.
const IO_TIMEOUT: &str = "1s";

/// The six canonical questions (`bench/questions.tsv`).
fn questions() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/questions.tsv");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(_, sql)| sql.to_string()))
        .collect()
}

struct Storage {
    server: S3Server,
    _root: tempfile::TempDir,
}

/// Two sites, three hours each: six objects.
fn storage() -> Storage {
    let root = tempfile::tempdir().unwrap();
    generate(&root.path().join(BUCKET), 2, 3, 400, 0.002, 0.01);
    let server = S3Server::start(root.path().to_path_buf(), KEY, SECRET, 0);
    Storage { server, _root: root }
}

/// `edgelog ARGS` against `endpoint` with the test keys.
fn cmd(endpoint: &str, args: &[&str]) -> Cmd {
    Cmd::new(args)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "jp-north-1")
}

fn ask(endpoint: &str, sql: &str, extra: &[&str]) -> Run {
    let mut args = vec!["query", "-q", "--from", FROM, "--io-timeout", IO_TIMEOUT, "-o", "csv"];
    args.extend_from_slice(extra);
    args.push(sql);
    cmd(endpoint, &args).run()
}

fn rule(target: Target, fault: Fault, times: usize) -> Rule {
    Rule { target, fault, times }
}

fn every_get() -> Target {
    Target::Get(String::new())
}

/// One object of each site: the hour-01 objects.
fn hour_01() -> Target {
    Target::Get("T01.log.gz".into())
}

#[test]
fn faults_below_the_retry_budget_change_no_answer() {
    let s = storage();
    let questions = questions();
    assert_eq!(questions.len(), 6);
    let expected: Vec<String> = questions
        .iter()
        .map(|q| ask(&s.server.endpoint(), q, &[]).ok().to_string())
        .collect();
    // The default budget is 3 retries; each fault happens at most twice per
    // object (once for the stalls, which each cost a timeout).
    let cases = [
        (
            "500 InternalError",
            rule(every_get(), Fault::Status(500, "InternalError"), 2),
        ),
        ("503 SlowDown", rule(every_get(), Fault::Status(503, "SlowDown"), 2)),
        (
            "503 ServiceUnavailable",
            rule(every_get(), Fault::Status(503, "ServiceUnavailable"), 1),
        ),
        ("reset mid-body", rule(every_get(), Fault::ResetMidBody, 2)),
        ("short body", rule(every_get(), Fault::ShortBody, 2)),
        (
            "stall before the first byte",
            rule(hour_01(), Fault::StallBeforeFirstByte, 1),
        ),
        ("stall mid-body", rule(hour_01(), Fault::StallMidBody, 1)),
        (
            "LIST page error",
            rule(Target::List, Fault::Status(500, "InternalError"), 2),
        ),
    ];
    for (name, r) in cases {
        for (q, want) in questions.iter().zip(&expected) {
            let proxy = FaultProxy::start(s.server.addr, vec![r.clone()]);
            let run = ask(&proxy.endpoint(), q, &[]);
            assert_eq!(run.code, 0, "{name}: {q}: {}", run.stderr);
            assert_eq!(&run.stdout, want, "{name}: {q}");
            assert!(proxy.faults_injected() > 0, "{name}: no fault was injected");
        }
    }
}

#[test]
fn retries_show_under_verbose() {
    let s = storage();
    let proxy = FaultProxy::start(
        s.server.addr,
        vec![rule(every_get(), Fault::Status(503, "SlowDown"), 1)],
    );
    let run = ask(&proxy.endpoint(), "SELECT count(*) FROM logs", &["-v"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("retrying read of s3://faulty/sakura-webaccelerator/")
            && run.stderr.contains("503 SlowDown"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("storage retries") && run.stderr.contains("s lost"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(SECRET), "the secret is never shown");
}

#[test]
fn faults_beyond_the_budget_end_in_bounded_time_naming_object_and_fault() {
    let s = storage();
    let forever = 1000;
    let cases: [(Rule, &[&str]); 6] = [
        (
            rule(every_get(), Fault::Status(503, "SlowDown"), forever),
            &["503 SlowDown"],
        ),
        (rule(every_get(), Fault::ResetMidBody, forever), &["the transfer broke"]),
        (
            rule(every_get(), Fault::ShortBody, forever),
            &["the transfer broke", "the body ended"],
        ),
        (
            rule(every_get(), Fault::StallBeforeFirstByte, forever),
            &["no answer within 1.0 s"],
        ),
        (
            rule(hour_01(), Fault::StallMidBody, forever),
            &["stalled: no data for 1.0 s", "no answer within 1.0 s"],
        ),
        (
            rule(Target::List, Fault::Status(500, "InternalError"), forever),
            &["cannot list", "500 InternalError"],
        ),
    ];
    for (r, expect) in cases {
        let proxy = FaultProxy::start(s.server.addr, vec![r.clone()]);
        let started = Instant::now();
        let run = ask(&proxy.endpoint(), "SELECT count(*) FROM logs", &[]);
        let took = started.elapsed();
        let err = run.error();
        // 4 attempts of at most 1 s each plus under 1 s of backoff, per
        // object; partitions fail in parallel.
        assert!(took < Duration::from_secs(20), "{r:?} took {took:?}");
        assert!(err.contains("s3://faulty/sakura-webaccelerator"), "{r:?}: {err}");
        let named = if matches!(r.target, Target::List) {
            expect.iter().all(|e| err.contains(e))
        } else {
            expect.iter().any(|e| err.contains(e))
        };
        assert!(named, "{r:?}: {err}");
        assert!(err.contains("gave up after 4 attempts"), "{r:?}: {err}");
    }
}

#[test]
fn an_object_beyond_the_budget_is_skipped_when_asked() {
    let s = storage();
    let all = ask(
        &s.server.endpoint(),
        "SELECT count(*) FROM logs",
        &["--format", "sakura"],
    );
    let all: u64 = all.ok().lines().nth(1).unwrap().parse().unwrap();
    let proxy = FaultProxy::start(
        s.server.addr,
        vec![rule(hour_01(), Fault::Status(503, "SlowDown"), 1000)],
    );
    let mut args = vec![
        "query",
        "--from",
        FROM,
        "--io-timeout",
        IO_TIMEOUT,
        "--format",
        "sakura",
    ];
    args.extend(["--skip-unreadable", "SELECT count(*) FROM logs"]);
    let run = cmd(&proxy.endpoint(), &args).run();
    let rows: u64 = run.ok().lines().nth(1).unwrap().parse().unwrap();
    assert!(rows > 0 && rows < all, "{rows} of {all}");
    assert!(run.stderr.contains("2 unreadable objects skipped"), "{}", run.stderr);
    assert!(
        run.stderr.contains("T01.log.gz: the storage answered 503 SlowDown"),
        "{}",
        run.stderr
    );
}

/// Sends SIGINT after `after` and returns (exit code, time to exit, stdout).
fn interrupted(cmd: Cmd, after: Duration) -> (i32, Duration, String) {
    let (command, _home) = cmd.into_parts();
    let (code, took, out, _err) = crate::hardening::interrupt(command, after);
    (code, took, out)
}

#[test]
fn ctrl_c_ends_a_stalled_scan_at_once_and_leaves_no_file() {
    let s = storage();
    let proxy = FaultProxy::start(s.server.addr, vec![rule(every_get(), Fault::StallMidBody, 1000)]);
    let out_dir = tempfile::tempdir().unwrap();
    let csv = out_dir.path().join("rows.csv");
    let html = out_dir.path().join("report.html");
    let base = ["--from", FROM, "--format", "sakura", "--io-timeout", "60s"];
    let runs: Vec<Vec<String>> = vec![
        [
            "query",
            "-o",
            "table",
            "SELECT status, count(*) FROM logs GROUP BY status",
        ]
        .iter()
        .chain(base.iter())
        .map(|s| s.to_string())
        .collect(),
        ["query", "--out", csv.to_str().unwrap(), "SELECT * FROM logs"]
            .iter()
            .chain(base.iter())
            .map(|s| s.to_string())
            .collect(),
        ["report", "--html", html.to_str().unwrap()]
            .iter()
            .chain(base.iter())
            .map(|s| s.to_string())
            .collect(),
    ];
    for args in runs {
        let (code, took, stdout) = interrupted(
            cmd(&proxy.endpoint(), &args.iter().map(String::as_str).collect::<Vec<_>>()),
            Duration::from_millis(1500),
        );
        assert_eq!(code, 130, "{args:?}");
        assert!(took < Duration::from_secs(1), "{args:?} took {took:?} to stop");
        assert!(stdout.is_empty(), "{args:?}: no partial table: {stdout}");
    }
    let left: Vec<_> = std::fs::read_dir(out_dir.path()).unwrap().collect();
    assert!(left.is_empty(), "no partial file: {left:?}");
    drop(proxy);
    // The same scans complete without the stall (the interrupt was the only fault).
    let run = cmd(
        &s.server.endpoint(),
        &["query", "-q", "--from", FROM, "SELECT count(*) FROM logs"],
    )
    .run();
    run.ok();
}
