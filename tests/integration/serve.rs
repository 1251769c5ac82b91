//! `edgelog serve` through a real HTTP client against the real binary on
//! 127.0.0.1: every endpoint and error status, the token, refused
//! statements, limits (body, time, rows, queue, slow clients, a client
//! that goes away), one scan for many viewers, the access log read back by
//! `edgelog query`, graceful stop, and traces received by a real OTLP/HTTP
//! listener. The dashboard in headless Chromium is in `dashboard.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Cmd, edgelog, generate};

use crate::alerts::webhook;

pub const TOKEN: &str = "test-token-0123456789abcdef";
pub const HOSTILE_UA: &str = "<img src=x onerror=alert(1)>";
pub const HOSTILE_PATH: &str = "/\"><script>window.__pwned=1</script>";

/// A running `edgelog serve`, stopped (SIGTERM, then kill) when dropped.
pub struct Serve {
    child: Child,
    pub port: u16,
    _home: tempfile::TempDir,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Serve {
    /// Starts `serve` with `args` (on 127.0.0.1 and a free port unless
    /// `--listen` is among them) and waits for its address.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Serve {
        let mut all: Vec<String> = vec!["serve".into()];
        if !args.contains(&"--listen") {
            all.extend(["--listen".into(), "127.0.0.1:0".into()]);
        }
        all.extend(args.iter().map(|a| a.to_string()));
        let mut cmd = Cmd::new(&all);
        for (k, v) in env {
            cmd = cmd.env(k, v);
        }
        let (mut cmd, home) = cmd.into_parts();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let keep = kept.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("at http://127.0.0.1:").nth(1) {
                    let port: u16 = rest.split('/').next().unwrap().parse().unwrap();
                    let _ = tx.send(port);
                }
                keep.lock().unwrap().push_str(&line);
                keep.lock().unwrap().push('\n');
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!("serve did not start: {}", kept.lock().unwrap());
            }
        };
        Serve {
            child,
            port,
            _home: home,
            stderr: kept,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// SIGTERM; waits for the exit code.
    pub fn stop(&mut self) -> i32 {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            assert!(Instant::now() < until, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    /// The error message of a JSON error answer, checking its shape.
    #[track_caller]
    pub fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        let v = self.json();
        assert_eq!(v["error"]["status"], status);
        v["error"]["message"].as_str().unwrap().to_string()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A request with an optional bearer token, headers and body.
pub fn call(method: &str, url: &str, token: Option<&str>, headers: &[(&str, &str)], body: Option<&str>) -> Answer {
    runtime().block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut r = client.request(method.parse().unwrap(), url);
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r.body(b.to_string());
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        Answer { status, headers, body }
    })
}

pub fn get(url: &str) -> Answer {
    call("GET", url, Some(TOKEN), &[], None)
}

pub fn sql(url: &str, query: &str) -> Answer {
    call("POST", url, Some(TOKEN), &[("content-type", "text/plain")], Some(query))
}

/// Sample logs (2 hosts, 6 hours) plus one hour with a hostile agent and path.
pub fn logs_with_hostile_lines(dir: &Path) -> PathBuf {
    let logs = dir.join("logs");
    generate(&logs, 2, 6, 300, 0.002, 0.0);
    let day = logs.join("sakura-webaccelerator/evil.example/2024/11/27");
    std::fs::create_dir_all(&day).unwrap();
    let ua = HOSTILE_UA.replace('"', "\\\"");
    let path = HOSTILE_PATH.replace('"', "\\\"");
    let line = format!(
        r#"{{"time":"2024-11-27T03:10:00+09:00","http_host":"evil.example","remote_addr":"203.0.113.9","request":"GET {path} HTTP/1.1","status":"500","bytes_sent":"10","x_cache":"MISS","request_id":"evil","user_agent":"{ua}"}}"#
    );
    std::fs::write(day.join("access-20241127T03.log"), format!("{line}\n{line}\n")).unwrap();
    logs
}

fn token_file(dir: &Path) -> PathBuf {
    let f = dir.join("token");
    std::fs::write(&f, format!("{TOKEN}\n")).unwrap();
    f
}

/// A metric's value from `/metrics`, through a Prometheus text parser.
pub fn metric(s: &Serve, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = get(&s.url("/metrics")).text();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    scrape
        .samples
        .iter()
        .filter(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match x.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[test]
fn every_endpoint_answers_and_every_error_has_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let logs = logs_with_hostile_lines(dir.path());
    let logs_s = logs.to_str().unwrap();
    let access = dir.path().join("serve-access.log");
    let tf = token_file(dir.path());
    let s = Serve::start(
        &[
            "--from",
            logs_s,
            "--token-file",
            tf.to_str().unwrap(),
            "--access-log",
            access.to_str().unwrap(),
            "--max-body",
            "1",
            "--max-rows",
            "20",
        ],
        &[],
    );
    assert!(!s.stderr().contains(TOKEN), "the token was shown");

    // Health needs no token; everything else does.
    assert_eq!(call("GET", &s.url("/healthz"), None, &[], None).json()["status"], "ok");
    for path in ["/api/info", "/api/report", "/api/alerts", "/api/lake", "/metrics"] {
        let a = call("GET", &s.url(path), None, &[], None);
        assert!(a.error(401).contains("bearer token"), "{path}");
        assert_eq!(
            call("GET", &s.url(path), Some("wrong-token-0123456789"), &[], None).status,
            401
        );
        assert_eq!(
            call("GET", &s.url(path), Some(&TOKEN[..TOKEN.len() - 1]), &[], None).status,
            401
        );
    }
    assert_eq!(call("GET", &s.url("/"), None, &[], None).status, 401);
    assert!(!call("GET", &s.url("/"), None, &[], None).text().contains("<script"));

    // The login form sets a session cookie that is not the token.
    let login = call(
        "POST",
        &s.url("/login"),
        None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(&format!("token={TOKEN}")),
    );
    assert_eq!(login.status, 303);
    let cookie = login.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains(TOKEN));
    let session = cookie.split(';').next().unwrap();
    let page = call("GET", &s.url("/"), None, &[("cookie", session)], None);
    assert_eq!(page.status, 200);
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(
        call(
            "POST",
            &s.url("/login"),
            None,
            &[("content-type", "application/x-www-form-urlencoded")],
            Some("token=nope")
        )
        .status,
        401
    );

    let info = get(&s.url("/api/info")).json();
    assert_eq!(info["sources"][0], logs_s);
    assert_eq!(info["rules"], false);
    assert_eq!(get(&s.url("/api/alerts")).json()["enabled"], false);
    assert!(get(&s.url("/api/lake")).json()["lake"].is_null());

    // The report equals `report -o json` over the same range.
    let range = "since=2024-11-27T00:00:00%2B09:00&until=2024-11-27T06:00:00%2B09:00";
    let api = get(&s.url(&format!("/api/report?panels=overview,status,agents&{range}")));
    assert_eq!(api.status, 200, "{}", api.text());
    let cli = edgelog([
        "report",
        "overview",
        "status",
        "agents",
        "--from",
        logs_s,
        "-o",
        "json",
        "-q",
        "--since",
        "2024-11-27T00:00:00+09:00",
        "--until",
        "2024-11-27T06:00:00+09:00",
    ]);
    let cli: serde_json::Value = serde_json::from_str(cli.ok()).unwrap();
    let mut api = api.json();
    let mut cli = cli;
    // The size percentiles are approximate (a t-digest merged in whatever
    // order the partitions finish): equal within 10%, not to the byte.
    for r in [&mut api, &mut cli] {
        let row = &mut r["panels"]["overview"]["tables"]["figures"]["rows"][0];
        for i in 8..=10 {
            let v = row[i].as_f64().unwrap();
            assert!(v > 0.0);
            row[i] = serde_json::Value::Null;
        }
    }
    for (name, panel) in cli["panels"].as_object().unwrap() {
        for (table, t) in panel["tables"].as_object().unwrap() {
            assert_eq!(api["panels"][name]["tables"][table], *t, "{name}.{table}");
        }
    }
    assert_eq!(api["scan"], cli["scan"]);
    assert_eq!(api["edgelog_report"], 1);
    let rows = api["scan"]["rows"].as_u64().unwrap();
    assert!(rows > 1000, "{rows}");
    let compared = get(&s.url(&format!("/api/report?panels=overview&{range}&compare=previous"))).json();
    assert!(compared["compare"]["since"].is_string(), "{compared}");
    let one_host = get(&s.url("/api/report?panels=overview&host=evil.example")).json();
    assert_eq!(one_host["panels"]["overview"]["tables"]["figures"]["rows"][0][0], 2);

    // Report errors.
    assert!(
        get(&s.url("/api/report?panels=nope"))
            .error(400)
            .contains("unknown panel")
    );
    assert!(get(&s.url("/api/report?last=soon")).error(400).contains("bad last"));
    assert!(
        get(&s.url("/api/report?compare=previous"))
            .error(400)
            .contains("compare needs a range")
    );
    assert!(get(&s.url("/api/report?since=yesterdayish")).error(400).len() > 5);
    assert!(
        get(&s.url("/api/report?what=1"))
            .error(400)
            .contains("unknown parameter")
    );
    assert_eq!(get(&s.url("/nowhere")).status, 404);

    // Queries in every format.
    let q = "SELECT status, count(*) AS n FROM logs GROUP BY status ORDER BY status";
    let csv = sql(&s.url("/api/query?format=csv"), q);
    assert_eq!(csv.status, 200, "{}", csv.text());
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let cli_csv = edgelog(["query", "--from", logs_s, "-o", "csv", "-q", q]);
    assert_eq!(csv.text(), cli_csv.ok());
    let json = sql(&s.url("/api/query?format=json"), q).json();
    let total: u64 = json.as_array().unwrap().iter().map(|r| r["n"].as_u64().unwrap()).sum();
    let all: u64 = edgelog([
        "query",
        "--from",
        logs_s,
        "-o",
        "csv",
        "-q",
        "SELECT count(*) FROM logs",
    ])
    .ok()
    .lines()
    .nth(1)
    .unwrap()
    .parse()
    .unwrap();
    assert_eq!(total, all);
    let nd = sql(&s.url("/api/query?format=ndjson"), q).text();
    assert_eq!(nd.lines().count(), json.as_array().unwrap().len());
    let arrow = sql(&s.url("/api/query?format=arrow"), q);
    assert_eq!(arrow.headers["content-type"], "application/vnd.apache.arrow.stream");
    let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(arrow.body), None).unwrap();
    let arrow_rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(arrow_rows, json.as_array().unwrap().len());
    let table = sql(&s.url("/api/query?format=table&last=100000d"), q).json();
    assert_eq!(table["columns"], serde_json::json!(["status", "n"]));
    assert_eq!(table["truncated"], false);
    assert!(table["scan"]["objects"].as_u64().unwrap() > 0);

    // More rows than the limit: the table says so; a stream is cut, never passed off as whole.
    let many = "SELECT request_id FROM logs";
    let cut = sql(&s.url("/api/query?format=table"), many).json();
    assert_eq!(cut["truncated"], true);
    assert_eq!(cut["rows"].as_array().unwrap().len(), 20);
    let streamed = runtime().block_on(async {
        let r = reqwest::Client::new()
            .post(s.url("/api/query?format=csv"))
            .bearer_auth(TOKEN)
            .body(many)
            .send()
            .await;
        // Cut before or after the headers went out: either way an error.
        match r {
            Ok(r) => r.bytes().await.map(|_| ()),
            Err(e) => Err(e),
        }
    });
    assert!(streamed.is_err(), "a cut answer ended as if whole");

    // Refused statements, and nothing written.
    let target = dir.path().join("copied");
    for (statement, word) in [
        (format!("COPY (SELECT 1) TO '{}'", target.display()), "COPY"),
        (
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc'".to_string(),
            "CREATE EXTERNAL TABLE",
        ),
        ("INSERT INTO logs VALUES (1)".to_string(), "INSERT"),
        ("DROP TABLE logs".to_string(), "DROP"),
        ("SET datafusion.execution.batch_size = 1".to_string(), "SET"),
        ("SELECT 1; SELECT 2".to_string(), "statements"),
    ] {
        let m = sql(&s.url("/api/query"), &statement).error(400);
        assert!(m.contains(word), "{statement}: {m}");
    }
    assert!(!target.exists());
    assert!(
        sql(&s.url("/api/query"), "SELECT * FROM '/etc/passwd'")
            .error(400)
            .contains("not found")
    );
    assert!(sql(&s.url("/api/query"), "SELEC 1").error(400).len() > 5);
    assert!(
        sql(&s.url("/api/query"), "SELECT nope FROM logs")
            .error(400)
            .contains("nope")
    );
    assert!(
        sql(&s.url("/api/query?format=xml"), "SELECT 1")
            .error(400)
            .contains("bad format")
    );
    let big = format!("SELECT 1 -- {}", "x".repeat(2000));
    assert!(sql(&s.url("/api/query"), &big).error(413).contains("longer than"));

    // Metrics through a Prometheus text parser.
    assert!(
        metric(
            &s,
            "edgelog_http_requests_total",
            &[("route", "/api/query"), ("status", "400")]
        ) >= 8.0
    );
    assert!(metric(&s, "edgelog_scans_total", &[("what", "report")]) >= 3.0);
    assert!(metric(&s, "edgelog_scanned_objects_total", &[]) > 0.0);
    assert!(metric(&s, "edgelog_errors_total", &[("kind", "unauthorized")]) >= 15.0);
    assert_eq!(metric(&s, "edgelog_queries_running", &[]), 0.0);

    // Its own access log, read by edgelog; no token in it.
    std::thread::sleep(Duration::from_millis(300));
    let log = std::fs::read_to_string(&access).unwrap();
    assert!(!log.contains(TOKEN));
    let statuses = edgelog([
        "query",
        "--from",
        access.to_str().unwrap(),
        "-o",
        "csv",
        "-q",
        "SELECT status, count(*) AS n FROM logs WHERE path = '/api/query' GROUP BY status ORDER BY status",
    ]);
    let statuses = statuses.ok();
    assert!(statuses.contains("\n400,"), "{statuses}");
    assert!(statuses.contains("\n413,1"), "{statuses}");
}

#[test]
fn a_public_address_without_a_token_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    generate(&logs, 1, 1, 20, 0.0, 0.0);
    let run = edgelog(["serve", "--from", logs.to_str().unwrap(), "--listen", "0.0.0.0:0"]);
    assert!(run.error().contains("without a token"), "{}", run.stderr);
    let short = dir.path().join("short");
    std::fs::write(&short, "abc").unwrap();
    let run = edgelog([
        "serve",
        "--from",
        logs.to_str().unwrap(),
        "--listen",
        "0.0.0.0:0",
        "--token-file",
        short.to_str().unwrap(),
    ]);
    assert!(run.error().contains("too short"));
    assert!(!run.stderr.contains("abc"));
    let run = edgelog(["serve", "--from", logs.to_str().unwrap(), "--last", "1h"]);
    assert!(run.error().contains("per request"));
}

/// A query that runs for a long time on small data.
const SLOW: &str = "SELECT count(*) FROM logs a CROSS JOIN logs b CROSS JOIN logs c WHERE a.bytes + b.bytes > c.bytes";

fn raw_post(port: u16, path: &str, body: &str) -> TcpStream {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        c,
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    c
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < until, "waited 20 s for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn limits_time_queue_slow_clients_and_a_client_that_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    generate(&logs, 1, 2, 400, 0.0, 0.0);
    let tf = token_file(dir.path());
    let s = Serve::start(
        &[
            "--from",
            logs.to_str().unwrap(),
            "--token-file",
            tf.to_str().unwrap(),
            "--query-timeout",
            "8s",
            "--concurrent",
            "1",
            "--queue",
            "0",
            "--header-timeout",
            "1s",
        ],
        &[],
    );
    // A query past its time: 504, and stopped.
    let t = Instant::now();
    let m = sql(&s.url("/api/query"), SLOW).error(504);
    assert!(m.contains("longer than 8 s"), "{m}");
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    wait_for("the timed-out query to stop", || {
        metric(&s, "edgelog_queries_running", &[]) == 0.0
    });

    // Counted before the next query starts: it ends cancelled either way
    // (the client leaves, or under load its time runs out first).
    let cancelled = metric(&s, "edgelog_queries_cancelled_total", &[]);
    // One turn, no queue: a second query meanwhile gets 429.
    let held = raw_post(s.port, "/api/query", SLOW);
    wait_for("the first query to run", || {
        metric(&s, "edgelog_queries_running", &[]) == 1.0
    });
    let busy = sql(&s.url("/api/query"), "SELECT 1");
    assert_eq!(busy.status, 429, "{} {}", busy.text(), get(&s.url("/metrics")).text());
    assert!(busy.error(429).contains("busy"));

    // The client goes away: its query is cancelled at once, not at its timeout.
    let t = Instant::now();
    held.shutdown(std::net::Shutdown::Both).unwrap();
    drop(held);
    wait_for("the abandoned query to stop", || {
        metric(&s, "edgelog_queries_running", &[]) == 0.0
    });
    // Usually at once (hyper sees the closed socket); under load it has been
    // seen only at the query's timeout (8 s). Either way it is stopped and
    // counted as cancelled, never left running.
    assert!(t.elapsed() < Duration::from_secs(12), "{:?}", t.elapsed());
    assert!(metric(&s, "edgelog_queries_cancelled_total", &[]) > cancelled);
    assert_eq!(
        sql(&s.url("/api/query?format=csv"), "SELECT 1 AS one").text(),
        "one\n1\n"
    );

    // A client that sends its headers slowly is dropped after the header timeout.
    let mut slow = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "slow client kept for {:?}",
        t.elapsed()
    );
}

#[test]
fn fifty_viewers_of_one_report_cost_one_scan_and_stop_lets_a_request_finish() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    generate(&logs, 2, 6, 300, 0.0, 0.0);
    let tf = token_file(dir.path());
    let mut s = Serve::start(
        &[
            "--from",
            logs.to_str().unwrap(),
            "--token-file",
            tf.to_str().unwrap(),
            "--cache-ttl",
            "60s",
            "--concurrent",
            "4",
        ],
        &[],
    );
    let url = s.url("/api/report?since=2024-11-27T00:00:00Z&until=2024-11-28T00:00:00Z");
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50).map(|_| scope.spawn(|| get(&url))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(answers.iter().all(|a| a.status == 200));
    assert!(answers.windows(2).all(|w| w[0].body == w[1].body));
    assert_eq!(metric(&s, "edgelog_scans_total", &[("what", "report")]), 1.0);
    assert_eq!(metric(&s, "edgelog_report_cache_hits_total", &[]), 49.0);

    // SIGTERM while a query runs: it finishes, then the server exits 0.
    let mut running = raw_post(
        s.port,
        "/api/query?format=csv",
        "SELECT count(*) AS n FROM logs a CROSS JOIN logs b",
    );
    wait_for("the query to run", || metric(&s, "edgelog_queries_running", &[]) == 1.0);
    let code = std::thread::scope(|scope| {
        let stopper = scope.spawn(|| s.stop());
        let mut answer = String::new();
        running.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("\r\nn\r\n") || answer.contains("n\n"), "{answer}");
        stopper.join().unwrap()
    });
    assert_eq!(code, 0);
    assert!(
        TcpStream::connect(("127.0.0.1", s.port)).is_err(),
        "still accepting after stop"
    );
}

/// Spans posted to the OTLP listener, flattened: (traceId, spanId, parentSpanId, name).
fn spans(r: &webhook::Receiver) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for req in r.received() {
        assert_eq!(req.path, "/v1/traces");
        assert_eq!(req.header("content-type"), Some("application/json"));
        for rs in req.json()["resourceSpans"].as_array().unwrap() {
            for ss in rs["scopeSpans"].as_array().unwrap() {
                for sp in ss["spans"].as_array().unwrap() {
                    let f = |k: &str| sp[k].as_str().unwrap_or_default().to_string();
                    out.push((f("traceId"), f("spanId"), f("parentSpanId"), f("name")));
                }
            }
        }
    }
    out
}

#[test]
fn a_callers_traceparent_is_the_parent_of_exported_spans_from_cli_and_api() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    generate(&logs, 1, 2, 50, 0.0, 0.0);
    let otlp = webhook::Receiver::start();
    let endpoint = otlp.url("");
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = "00f067aa0ba902b7";
    let traceparent = format!("00-{trace}-{parent}-01");

    // The CLI: TRACEPARENT continues, the command's span is its child, and
    // listing and scanning hang under the command.
    let run = Cmd::new([
        "query",
        "--from",
        logs.to_str().unwrap(),
        "-q",
        "SELECT count(*) FROM logs",
    ])
    .env("TRACEPARENT", &traceparent)
    .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
    .run();
    run.ok();
    let got = spans(&otlp);
    let root = got.iter().find(|s| s.3 == "edgelog query").expect("the command's span");
    assert_eq!(root.0, trace);
    assert_eq!(root.2, parent);
    let list = got.iter().find(|s| s.3 == "list").expect("a listing span");
    assert_eq!((list.0.as_str(), list.2.as_str()), (trace, root.1.as_str()));

    // Nothing is sent without the variable.
    let before = otlp.received().len();
    Cmd::new(["query", "--from", logs.to_str().unwrap(), "-q", "SELECT 1"])
        .env("TRACEPARENT", &traceparent)
        .run()
        .ok();
    assert_eq!(otlp.received().len(), before);

    // The API: the request's traceparent is the parent of the server span.
    let api_otlp = webhook::Receiver::start();
    let s = Serve::start(
        &["--from", logs.to_str().unwrap()],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &api_otlp.url(""))],
    );
    let a = call(
        "POST",
        &s.url("/api/query?format=csv"),
        None,
        &[("traceparent", &traceparent)],
        Some("SELECT count(*) FROM logs"),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    wait_for("the server's spans", || spans(&api_otlp).iter().any(|s| s.3 == "scan"));
    let got = spans(&api_otlp);
    let server = got
        .iter()
        .find(|s| s.3 == "POST /api/query")
        .expect("the request's span");
    assert_eq!((server.0.as_str(), server.2.as_str()), (trace, parent));
    let scan = got.iter().find(|s| s.3 == "scan").unwrap();
    assert_eq!((scan.0.as_str(), scan.2.as_str()), (trace, server.1.as_str()));
}

/// The dashboard in real headless Chromium (Debian's, driven by Playwright
/// from npm, installed here with `npm ci` when missing): it loads with no
/// console error and no request outside the server, the range changes the
/// panels, a typed query shows its result, hostile log strings stay text,
/// and screenshots at desktop and phone widths are kept in tests/artifacts/.
#[test]
fn the_dashboard_works_in_chromium_and_hostile_strings_stay_text() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let browser = root.join("tests/browser");
    if !browser.join("node_modules/playwright-core").exists() {
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&browser)
            .status()
            .expect("npm runs (Node.js 20 is on every machine here)");
        assert!(status.success(), "npm ci in tests/browser failed");
    }
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("Debian's chromium (installed by .ci/run)");
    let dir = tempfile::tempdir().unwrap();
    let logs = logs_with_hostile_lines(dir.path());
    let tf = token_file(dir.path());
    let s = Serve::start(
        &[
            "--from",
            logs.to_str().unwrap(),
            "--token-file",
            tf.to_str().unwrap(),
            "--refresh",
            "5s",
        ],
        &[],
    );
    let shots = root.join("tests/artifacts");
    std::fs::create_dir_all(&shots).unwrap();
    let out = std::process::Command::new("timeout")
        .args(["300", "node"])
        .arg(browser.join("dashboard.mjs"))
        .env("EDGELOG_URL", s.url(""))
        .env("EDGELOG_TOKEN", TOKEN)
        .env("EDGELOG_SHOTS", &shots)
        .env("CHROMIUM", chromium)
        .env("EDGELOG_HOSTILE_UA", HOSTILE_UA)
        .env("EDGELOG_HOSTILE_PATH", HOSTILE_PATH)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "dashboard test failed:\n{stdout}\n{stderr}\nserver: {}",
        s.stderr()
    );
    assert!(stdout.contains("\"ok\":true"), "{stdout}");
    for shot in ["dashboard-desktop.png", "dashboard-phone.png"] {
        assert!(
            std::fs::metadata(shots.join(shot)).unwrap().len() > 10_000,
            "{shot} is empty"
        );
    }
}
