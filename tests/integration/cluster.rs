//! The cluster (feature `cluster`): a scheduler and two executors started
//! here as separate processes of the real binary on 127.0.0.1 (own ports,
//! own work folders), reading from the S3-compatible test server (SigV4
//! checked) with their own credentials. The benchmark's questions, log
//! functions and every report panel equal the local answers, over raw
//! objects and over a lake on S3; an executor killed mid-query, a wrong
//! scheduler address, a cluster without executors and executors without
//! credentials end as documented, in bounded time.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Cmd, Run, generate};
use crate::s3::server::S3Server;

const KEY: &str = "AKIAEDGELOGCLUSTER01";
const SECRET: &str = "edgelog-cluster-secret-never-printed";

/// The benchmark's questions (`bench/questions.tsv`) and the log functions.
const QUESTIONS: &[&str] = &[
    "SELECT count(*) FROM logs",
    "SELECT request, count(*) c FROM logs GROUP BY request ORDER BY c DESC, request LIMIT 10",
    "SELECT http_host, count(*) n, round(sum(CASE WHEN x_cache = 'HIT' THEN 1 ELSE 0 END) * 1.0 / count(*), 6) r FROM logs GROUP BY http_host ORDER BY http_host",
    "SELECT to_char(time, '%Y-%m-%dT%H') h, status s, count(*) n FROM logs GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT remote_addr, sum(bytes_sent) b FROM logs GROUP BY remote_addr ORDER BY b DESC, remote_addr LIMIT 10",
    "SELECT count(*) n, sum(bytes_sent) b FROM logs WHERE time >= '2024-11-28T13:00:00+09:00' AND time < '2024-11-28T14:00:00+09:00'",
    "SELECT url_extension(request) e, ua_device(user_agent) d, count(*) n FROM logs GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT ip_prefix(remote_addr, 16) p, count(*) n FROM logs WHERE NOT is_private_ip(remote_addr) GROUP BY 1 ORDER BY n DESC, p LIMIT 5",
    "SELECT _file, count(*) n FROM logs GROUP BY _file ORDER BY _file",
];

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A process of ours, killed when dropped.
struct Node {
    child: Child,
    _home: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scheduler and its executors on 127.0.0.1.
struct Cluster {
    port: u16,
    _scheduler: Node,
    executors: Vec<Node>,
    _work: tempfile::TempDir,
}

fn spawn(cmd: Cmd, log: &Path) -> Node {
    let (mut command, home) = cmd.into_parts();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    Node { child, _home: home }
}

impl Cluster {
    /// A scheduler and `executors` executors of one task each; executors
    /// get `env` (credentials, endpoint).
    fn start(executors: usize, env: &[(&str, String)]) -> Cluster {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let work = tempfile::tempdir().unwrap();
        let scheduler = spawn(
            Cmd::new(["cluster", "scheduler", "--listen", &listen, "--executor-timeout", "4s"]),
            &work.path().join("scheduler.log"),
        );
        let mut nodes = Vec::new();
        for i in 0..executors {
            let dir = work.path().join(format!("executor-{i}"));
            let mut cmd = Cmd::new([
                "cluster",
                "executor",
                "--scheduler",
                &listen,
                "--listen",
                &format!("127.0.0.1:{}", free_port()),
                "--concurrency",
                "1",
                "--work-dir",
                dir.to_str().unwrap(),
            ]);
            for (k, v) in env {
                cmd = cmd.env(k, v);
            }
            nodes.push(spawn(cmd, &work.path().join(format!("executor-{i}.log"))));
        }
        Cluster {
            port,
            _scheduler: scheduler,
            executors: nodes,
            _work: work,
        }
    }

    /// What the executors wrote on stderr.
    fn executor_logs(&self) -> String {
        (0..self.executors.len())
            .map(|i| std::fs::read_to_string(self._work.path().join(format!("executor-{i}.log"))).unwrap_or_default())
            .collect()
    }

    fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.port)
    }

    /// Waits until a question runs on the cluster (over the small fixture:
    /// readiness, not speed).
    fn wait_ready(&self, _dir: &Path) {
        let fixture = crate::harness::fixture();
        let dir = Path::new(&fixture);
        let start = Instant::now();
        loop {
            let run = Cmd::new([
                "query",
                "-q",
                "--cluster",
                &self.url(),
                "--cluster-timeout",
                "10s",
                "--from",
                dir.to_str().unwrap(),
                "SELECT count(*) FROM logs",
            ])
            .run();
            if run.code == 0 {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "the cluster never answered: {}",
                run.stderr
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// The S3 test server with two buckets' folders under `root`.
fn s3(root: &Path) -> (S3Server, Vec<(&'static str, String)>) {
    let server = S3Server::start(root.to_path_buf(), KEY, SECRET, 0);
    let env = vec![
        ("AWS_ACCESS_KEY_ID", KEY.to_string()),
        ("AWS_SECRET_ACCESS_KEY", SECRET.to_string()),
        ("AWS_ENDPOINT_URL", server.endpoint()),
        ("AWS_REGION", "jp-north-1".to_string()),
    ];
    (server, env)
}

fn with_env(mut cmd: Cmd, env: &[(&str, String)]) -> Cmd {
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd
}

/// Two reports' panels are equal: every cell the same, except the
/// approximate percentiles (t-digest, whose summary depends on how the rows
/// were split into partitions), which agree within 10% (p99 of a heavy tail over some thousand rows moves that much).
fn assert_same_panels(ours: &serde_json::Value, theirs: &serde_json::Value, what: &str) {
    let (a, b) = (ours.as_object().unwrap(), theirs.as_object().unwrap());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{what}");
    for (name, panel) in a {
        for (table, t) in panel["tables"].as_object().unwrap() {
            let u = &b[name]["tables"][table];
            assert_eq!(t["columns"], u["columns"], "{what}: {name}.{table}");
            let approx: Vec<bool> = t["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().contains("_p"))
                .collect();
            let (rows, other) = (t["rows"].as_array().unwrap(), u["rows"].as_array().unwrap());
            assert_eq!(rows.len(), other.len(), "{what}: {name}.{table}");
            for (r, o) in rows.iter().zip(other) {
                for ((x, y), approx) in r.as_array().unwrap().iter().zip(o.as_array().unwrap()).zip(&approx) {
                    match (x.as_f64(), y.as_f64()) {
                        (Some(x), Some(y)) if *approx => {
                            assert!(
                                (x - y).abs() <= 0.1 * x.abs().max(y.abs()),
                                "{what}: {name}.{table}: {x} vs {y}"
                            )
                        }
                        _ => assert_eq!(x, y, "{what}: {name}.{table}"),
                    }
                }
            }
        }
    }
}

/// The report's panels as JSON, without the figure a cluster does not
/// know (the malformed lines stay on the executors).
fn panels(run: &Run) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(run.ok()).unwrap();

    let mut panels = v["panels"].take();
    for p in panels.as_object_mut().unwrap().values_mut() {
        for t in p["tables"].as_object_mut().unwrap().values_mut() {
            let Some(at) = t["columns"]
                .as_array()
                .unwrap()
                .iter()
                .position(|c| c == "malformed_lines")
            else {
                continue;
            };
            t["columns"].as_array_mut().unwrap().remove(at);
            for r in t["rows"].as_array_mut().unwrap() {
                r.as_array_mut().unwrap().remove(at);
            }
        }
    }
    assert!(panels.as_object().unwrap().len() >= 10, "{panels}");
    panels
}

#[test]
fn questions_functions_and_panels_equal_local_answers_over_raw_objects_and_a_lake() {
    let root = tempfile::tempdir().unwrap();
    let logs = root.path().join("logs");
    generate(&logs, 2, 30, 300, 0.002, 0.01);
    std::fs::create_dir_all(root.path().join("lakes")).unwrap();
    let (_server, env) = s3(root.path());
    let from = "s3://logs/sakura-webaccelerator/";
    let lake = "s3://lakes/edge/";
    with_env(Cmd::new(["ingest", "--from", from, "--lake", lake]), &env)
        .run()
        .ok();
    let cluster = Cluster::start(2, &env);
    cluster.wait_ready(&logs);
    let url = cluster.url();
    for sql in QUESTIONS {
        // Here, over the same objects on S3.
        let local = with_env(Cmd::new(["query", "-q", "-o", "csv", "--from", from, sql]), &env).run();
        let raw = with_env(
            Cmd::new(["query", "-o", "csv", "--cluster", &url, "--from", from, sql]),
            &env,
        )
        .run();
        assert_eq!(raw.ok(), local.ok(), "raw objects on the cluster: {sql}");
        assert!(
            raw.stderr.contains("scanned on the cluster at df://127.0.0.1"),
            "{}",
            raw.stderr
        );
        if sql.contains("_file") {
            continue;
        }
        let on_lake = with_env(
            Cmd::new(["query", "-q", "-o", "csv", "--cluster", &url, "--lake", lake, sql]),
            &env,
        )
        .run();
        assert_eq!(on_lake.ok(), local.ok(), "the lake on the cluster: {sql}");
    }
    // A time range selects objects before planning: a day of 30 hours.
    let day = [
        "--since",
        "2024-11-28T00:00:00+09:00",
        "--until",
        "2024-11-29T00:00:00+09:00",
    ];
    let sql = "SELECT count(*), min(time), max(time) FROM logs";
    let local = with_env(Cmd::new(["query", "-q", "--from", from, sql]).args_from(&day), &env).run();
    let raw = with_env(
        Cmd::new(["query", "--cluster", &url, "--from", from, sql]).args_from(&day),
        &env,
    )
    .run();
    assert_eq!(raw.ok(), local.ok());
    let lake_day = with_env(
        Cmd::new(["query", "-q", "--cluster", &url, "--lake", lake, sql]).args_from(&day),
        &env,
    )
    .run();
    assert_eq!(lake_day.ok(), local.ok());
    // Every report panel.
    let local = with_env(Cmd::new(["report", "-o", "json", "--from", from]), &env).run();
    let raw = with_env(
        Cmd::new(["report", "-o", "json", "--cluster", &url, "--from", from]),
        &env,
    )
    .run();
    assert_same_panels(&panels(&raw), &panels(&local), "report panels over raw objects");
    let lake_report = with_env(
        Cmd::new(["report", "-o", "json", "--cluster", &url, "--lake", lake]),
        &env,
    )
    .run();
    assert_same_panels(&panels(&lake_report), &panels(&local), "report panels over the lake");
    for run in [&raw, &lake_report] {
        assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
        // Not counted here: unknown, never a false zero.
        assert!(
            run.stdout.contains("\"malformed_lines\":null"),
            "{}",
            &run.stdout[..300]
        );
    }
    assert!(
        local.stdout.contains("\"malformed_lines\":"),
        "{}",
        &local.stdout[..300]
    );
    let human = with_env(
        Cmd::new(["report", "overview", "--cluster", &url, "--from", from]),
        &env,
    )
    .run();
    assert!(
        human.ok().contains("malformed lines in the cluster executors' logs"),
        "{}",
        human.stdout
    );
    // Malformed lines the raw scans met are in the executors' logs, with
    // the object and line of the first.
    let logs = cluster.executor_logs();
    assert!(
        logs.contains("edgelog: executor task: ") && logs.contains("malformed lines in 1 objects, first: s3://logs/"),
        "{logs}"
    );
    assert!(!logs.contains(SECRET));
    drop(cluster);
}

#[test]
fn a_killed_executor_is_replaced_by_the_other() {
    let root = tempfile::tempdir().unwrap();
    let logs = root.path().join("logs");
    generate(&logs, 2, 24, 6000, 0.0, 0.0);
    let (_server, env) = s3(root.path());
    let mut cluster = Cluster::start(2, &env);
    cluster.wait_ready(&logs);
    let sql = "SELECT http_host, count(*), sum(bytes_sent) FROM logs GROUP BY 1 ORDER BY 1";
    let expected = Cmd::new(["query", "-q", "--from", logs.to_str().unwrap(), sql]).run();
    let (mut query, _home) = with_env(
        Cmd::new([
            "query",
            "-q",
            "--cluster",
            &cluster.url(),
            "--cluster-partitions",
            "8",
            "--cluster-timeout",
            "120s",
            "--from",
            "s3://logs/sakura-webaccelerator/",
            sql,
        ]),
        &env,
    )
    .into_parts();
    let start = Instant::now();
    let child = query.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let victim = cluster.executors.remove(0);
    drop(victim);
    let out = child.wait_with_output().unwrap();
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(took < Duration::from_secs(90), "took {took:?}");
    if out.status.code() == Some(0) {
        // Killed while the job ran: Ballista notices the lost executor (4 s
        // without word here) and runs its tasks on the other. The answer is
        // whole and right, only later.
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected.ok());
    } else {
        // Killed after the job ended, while the answer was being fetched
        // from it: Ballista does not run the job again; one line says so.
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("cannot fetch the answer from an executor of the cluster"),
            "{stderr}"
        );
    }
}

#[test]
fn a_wrong_scheduler_no_executors_and_no_credentials_are_one_line_errors_in_bounded_time() {
    let root = tempfile::tempdir().unwrap();
    let logs = root.path().join("logs");
    generate(&logs, 1, 2, 50, 0.0, 0.0);
    let dir = logs.to_str().unwrap();
    // Nobody listens there.
    let nobody = format!("df://127.0.0.1:{}", free_port());
    let start = Instant::now();
    let run = Cmd::new([
        "query",
        "--cluster",
        &nobody,
        "--from",
        dir,
        "SELECT count(*) FROM logs",
    ])
    .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        format!("edgelog: cannot reach the cluster scheduler at {nobody}: connection refused")
    );
    assert!(start.elapsed() < Duration::from_secs(30));
    let bad = Cmd::new(["query", "--cluster", "http://x:1", "--from", dir, "SELECT 1"]).run();
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("bad --cluster"), "{}", bad.stderr);

    // A scheduler without executors: the question waits, then gives up.
    let lonely = Cluster::start(0, &[]);
    let start = Instant::now();
    let run = Cmd::new([
        "query",
        "--cluster",
        &lonely.url(),
        "--cluster-timeout",
        "5s",
        "--from",
        dir,
        "SELECT count(*) FROM logs",
    ])
    .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("did not finish the query within 5 s"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(start.elapsed() < Duration::from_secs(30));
    drop(lonely);

    // Executors whose environment has the endpoint but no keys: the bucket
    // refuses them, and the error names the object and the executor.
    let root = tempfile::tempdir().unwrap();
    generate(&root.path().join("logs"), 1, 2, 50, 0.0, 0.0);
    let (server, env) = s3(root.path());
    let keyless = vec![
        ("AWS_ENDPOINT_URL", server.endpoint()),
        ("AWS_REGION", "jp-north-1".to_string()),
    ];
    let cluster = Cluster::start(1, &keyless);
    cluster.wait_ready(&logs);
    let start = Instant::now();
    let run = with_env(
        Cmd::new([
            "query",
            "--cluster",
            &cluster.url(),
            "--from",
            "s3://logs/sakura-webaccelerator/",
            "SELECT count(*) FROM logs",
        ]),
        &env,
    )
    .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    let line = run.stderr.trim();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.contains("on the cluster at df://127.0.0.1"), "{line}");
    assert!(line.contains("s3://logs/sakura-webaccelerator/"), "{line}");
    assert!(line.contains("(on executor 127.0.0.1:"), "{line}");
    assert!(!line.contains(SECRET) && !line.contains(KEY), "{line}");
    assert!(start.elapsed() < Duration::from_secs(60));
}
