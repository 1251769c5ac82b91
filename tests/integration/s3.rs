//! Object storage against a real S3-compatible server (s3s-fs) that this
//! test starts on 127.0.0.1 and that checks every request's SigV4
//! signature. Same answers as local files; clear one-line errors for a
//! wrong secret, a missing bucket, a missing key and a refused connection;
//! profiles read from a temporary HOME; secrets never printed.

use std::path::{Path, PathBuf};

use crate::harness::{Cmd, Run, generate};

#[path = "../support/s3_server.rs"]
pub mod server;

const KEY: &str = "AKIAEDGELOGTEST0001";
const SECRET: &str = "edgelog-test-secret-never-printed";
const BUCKET: &str = "logs-bucket";

/// The server and the folder it serves.
struct S3Server {
    server: server::S3Server,
    root: tempfile::TempDir,
}

impl S3Server {
    fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        let server = server::S3Server::start(root.path().to_path_buf(), KEY, SECRET, 0);
        S3Server { server, root }
    }

    fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    fn bucket_dir(&self) -> PathBuf {
        self.root.path().join(BUCKET)
    }

    /// `edgelog ARGS` with keys and endpoint in the environment.
    fn cmd(&self, args: &[&str]) -> Cmd {
        Cmd::new(args)
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_REGION", "jp-north-1")
    }
}

fn with_data() -> S3Server {
    let server = S3Server::start();
    generate(&server.bucket_dir(), 2, 40, 300, 0.001, 0.01);
    std::fs::write(server.bucket_dir().join("sakura-webaccelerator/manifest.json"), "{}").unwrap();
    server
}

const QUESTIONS: &[&str] = &[
    "SELECT count(*) FROM logs",
    "SELECT request, count(*) c FROM logs GROUP BY request ORDER BY c DESC, request LIMIT 10",
    "SELECT http_host, count(*) n, round(avg(CASE WHEN x_cache = 'HIT' THEN 1.0 ELSE 0.0 END), 6) r FROM logs GROUP BY http_host ORDER BY http_host",
    "SELECT to_char(time, '%Y-%m-%dT%H') h, status s, count(*) n FROM logs GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT remote_addr, sum(bytes_sent) b FROM logs GROUP BY remote_addr ORDER BY b DESC, remote_addr LIMIT 10",
    "SELECT count(*) n, sum(bytes_sent) b FROM logs WHERE time >= '2024-11-28T13:00:00+09:00' AND time < '2024-11-28T14:00:00+09:00'",
];

fn local(dir: &Path, sql: &str) -> String {
    Cmd::new(["query", "--from", dir.to_str().unwrap(), sql])
        .run()
        .ok()
        .to_string()
}

#[test]
fn s3_answers_equal_local_answers() {
    let server = with_data();
    let local_dir = server.bucket_dir();
    let url = format!("{}/{BUCKET}/sakura-webaccelerator/**.gz", server.endpoint());
    for sql in QUESTIONS {
        let expected = local(&local_dir, sql);
        let via_s3 = server
            .cmd(&["query", "--from", &format!("s3://{BUCKET}/sakura-webaccelerator/"), sql])
            .run();
        assert_eq!(via_s3.ok(), expected, "s3:// {sql}");
        assert!(via_s3.stderr.contains("malformed lines in"), "{}", via_s3.stderr);
        let via_url = server.cmd(&["query", "-q", "--from", &url, sql]).run();
        assert_eq!(via_url.ok(), expected, "{url} {sql}");
    }
}

#[test]
fn s3_time_pruning_lists_only_matching_folders_and_equals_local() {
    let server = with_data();
    let sql = "SELECT count(*) n, sum(bytes) b FROM logs";
    let args = ["--since", "2024-11-28T13:00+09:00", "--until", "2024-11-28T14:00+09:00"];
    let expected = Cmd::new(
        [
            ["query", "--from", server.bucket_dir().to_str().unwrap()].as_slice(),
            &args,
            &[sql],
        ]
        .concat(),
    )
    .run();
    let run = server
        .cmd(
            &[
                ["query", "-v", "--from", &format!("s3://{BUCKET}/")].as_slice(),
                &args,
                &[sql],
            ]
            .concat(),
        )
        .run();
    assert_eq!(run.ok(), expected.ok());
    // 2 hosts x 3 objects (the hour and a margin each side), and the
    // 2024/11/27 folders of both hosts never listed.
    assert!(
        run.stderr
            .contains("selected 6 objects of 32 candidates; 2 date folders not listed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("manifest.json") || !run.stderr.contains("skipped"),
        "{}",
        run.stderr
    );
}

#[test]
fn profiles_from_home_supply_endpoint_region_and_keys() {
    let server = with_data();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/config"),
        format!(
            "[default]\nregion = us-east-1\n\n[profile sakura]\nregion = jp-north-1\nendpoint_url = {}\n",
            server.endpoint()
        ),
    )
    .unwrap();
    std::fs::write(
        home.path().join(".aws/credentials"),
        format!("[sakura]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n"),
    )
    .unwrap();
    let sql = "SELECT count(*) n FROM logs";
    let expected = local(&server.bucket_dir(), sql);
    let from = format!("s3://{BUCKET}/sakura-webaccelerator/");
    let by_flag = Cmd::new(["query", "-q", "-v", "--profile", "sakura", "--from", &from, sql])
        .env("HOME", home.path())
        .run();
    assert_eq!(by_flag.ok(), expected);
    assert!(
        by_flag.stderr.contains("keys from profile sakura"),
        "{}",
        by_flag.stderr
    );
    assert!(by_flag.stderr.contains("region jp-north-1"), "{}", by_flag.stderr);
    assert!(!by_flag.stderr.contains(SECRET));
    let by_env = Cmd::new(["query", "-q", "--from", &from, sql])
        .env("HOME", home.path())
        .env("AWS_PROFILE", "sakura")
        .run();
    assert_eq!(by_env.ok(), expected);
    let unknown = Cmd::new(["query", "--profile", "nope", "--from", &from, sql])
        .env("HOME", home.path())
        .run();
    assert!(unknown.error().contains("profile \"nope\" not found"));
}

fn assert_clean_error(run: &Run, expected: &[&str]) {
    let err = run.error();
    for e in expected {
        assert!(err.contains(e), "expected {e:?} in: {err}");
    }
    assert!(
        !err.contains(SECRET) && !err.contains("wrong-secret"),
        "secret printed: {err}"
    );
}

#[test]
fn wrong_secret_missing_bucket_and_missing_key_are_clear_errors() {
    let server = with_data();
    let sql = "SELECT count(*) FROM logs";
    let wrong = Cmd::new(["query", "--from", &format!("s3://{BUCKET}/sakura-webaccelerator/"), sql])
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", "wrong-secret")
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .run_timed();
    assert_clean_error(
        &wrong.0,
        &[
            &format!("s3://{BUCKET}/sakura-webaccelerator/"),
            "SignatureDoesNotMatch",
        ],
    );
    assert!(wrong.1.as_secs() < 120, "gave up after {:?}", wrong.1);

    let bucket = server.cmd(&["query", "--from", "s3://no-such-bucket/logs/", sql]).run();
    assert_clean_error(&bucket, &["s3://no-such-bucket/logs/", "NoSuchBucket"]);

    let key = server
        .cmd(&[
            "query",
            "--from",
            &format!("s3://{BUCKET}/sakura-webaccelerator/nope/access-20241127T13.log.gz"),
            sql,
        ])
        .run();
    assert_clean_error(
        &key,
        &["no objects found at s3://logs-bucket/sakura-webaccelerator/nope/access-20241127T13.log.gz"],
    );
}

#[test]
fn refused_connections_end_in_a_clear_error_after_retries() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The listener is dropped: nothing accepts on that port now.
    let (run, took) = Cmd::new(["query", "--from", "s3://b/logs/", "SELECT count(*) FROM logs"])
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .run_timed();
    assert_clean_error(&run, &["s3://b/logs/", "is the endpoint right and reachable?"]);
    assert!(took.as_secs() < 120, "gave up after {took:?}");
}

#[test]
fn reports_over_s3_equal_reports_of_local_files() {
    let server = with_data();
    let local_dir = server.bucket_dir().join("sakura-webaccelerator");
    let s3 = format!("s3://{BUCKET}/sakura-webaccelerator/");
    // Exact panels only (the overview's percentiles are approximate and may
    // depend on the order rows arrive in).
    let args = |from: &str| {
        [
            "report",
            "traffic",
            "status",
            "cache",
            "paths",
            "hosts",
            "--from",
            from,
            "--since",
            "2024-11-28T10:00+09:00",
            "--until",
            "2024-11-28T16:00+09:00",
            "--compare",
            "previous",
            "-o",
            "json",
        ]
        .map(String::from)
    };
    let local = Cmd::new(args(local_dir.to_str().unwrap()))
        .run()
        .ok()
        .replace(local_dir.to_str().unwrap(), "SRC");
    let via_s3 = server
        .cmd(&args(&s3).each_ref().map(String::as_str))
        .run()
        .ok()
        .replace(&s3, "SRC");
    assert_eq!(via_s3, local);
    assert!(local.contains(r#""previous_rows""#), "{local}");
}
