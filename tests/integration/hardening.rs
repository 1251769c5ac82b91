//! Never crash, never hang: every report renderer on every data set the
//! project has, one-line internal errors, bad flags refused at the door,
//! `| head -1` on every command and output, Ctrl-C mid-scan, and damaged
//! objects named or (with `--skip-unreadable`) skipped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Cmd, edgelog, fixture, generate, shared_dir};

/// Logs from `../shared/bench/genlogs.py`, as a new user would make them.
pub fn genlogs(out: &Path, hosts: u32, hours: u32, lines: u32, bad: f64) {
    let script = shared_dir().join("bench/genlogs.py");
    let status = Command::new("python3")
        .arg(&script)
        .arg(out)
        .args(["--hosts", &hosts.to_string(), "--hours", &hours.to_string()])
        .args([
            "--lines-per-hour",
            &lines.to_string(),
            "--seed",
            "11",
            "--bad",
            &bad.to_string(),
        ])
        .stdout(Stdio::null())
        .status()
        .expect("python3 runs genlogs.py");
    assert!(status.success(), "genlogs.py failed");
}

/// The format of each hand-made fixture (two of them are ambiguous on
/// purpose: `%D` and `%T` look alike on whole numbers).
fn fixture_format(file: &str) -> Option<&'static str> {
    Some(match file {
        "combined_usec.log" => "combined_usec",
        "combined_request_time.log" => "combined_request_time",
        _ => return None,
    })
}

/// Every data set: each shared-corpus file, generated logs of both
/// generators, the Sakura fixture and the hand-made format fixtures.
fn data_sets(tmp: &Path) -> Vec<(String, Vec<String>)> {
    let mut sets = Vec::new();
    let gen_dir = tmp.join("genlogs");
    genlogs(&gen_dir, 3, 6, 2000, 0.002);
    sets.push(("genlogs".to_string(), vec![gen_dir.to_str().unwrap().to_string()]));
    let demo = tmp.join("demo");
    generate(&demo, 2, 6, 400, 0.01, 0.02);
    sets.push(("demo".to_string(), vec![demo.to_str().unwrap().to_string()]));
    sets.push(("fixture".to_string(), vec![fixture()]));
    let quirky_dir = tmp.join("quirky");
    quirky(&quirky_dir);
    sets.push(("quirky".to_string(), vec![quirky_dir.to_str().unwrap().to_string()]));
    let formats = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/formats");
    let corpus = shared_dir().join("corpus");
    for dir in [formats, corpus] {
        let mut files: Vec<PathBuf> = walk(&dir);
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            // Provenance notes and the Akamai stream's metadata are not logs.
            if name.ends_with(".md") || (name.ends_with(".json") && f.to_string_lossy().contains("akamai_ds2")) {
                continue;
            }
            let mut from = vec![f.to_str().unwrap().to_string()];
            if let Some(format) = fixture_format(&name) {
                from.push(format!("--format={format}"));
            }
            sets.push((name, from));
        }
    }
    sets
}

/// Sakura objects as nobody would write them on purpose: invalid UTF-8,
/// CRLF, a 200 KB path, terminal escapes and markup in the user agent, an
/// IPv6 client and a 32-character request id, multi-member gzip, an empty
/// object, a cut last line, wild status codes and byte counts.
fn quirky(dir: &Path) {
    let day = dir.join("q.example/2024/11/27");
    std::fs::create_dir_all(&day).unwrap();
    let line = |minute: u32, ip: &str, path: &str, status: &str, bytes: &str, ua: &str| {
        format!(
            "{{\"time\":\"2024-11-27T10:{minute:02}:00+09:00\",\"http_host\":\"q.example\",\"remote_addr\":\"{ip}\",\"request\":\"GET {path} HTTP/1.1\",\"status\":\"{status}\",\"bytes_sent\":\"{bytes}\",\"x_cache\":\"MISS\",\"request_id\":\"0123456789abcdef0123456789abcdef\",\"user_agent\":\"{ua}\"}}"
        )
    };
    let long_path = format!("/{}", "長い".repeat(50_000));
    let mut a = String::new();
    a += &line(
        1,
        "2001:db8:85a3:8d3:1319:8a2e:370:7348",
        &long_path,
        "503",
        "18446744073709551615",
        "<script>alert(1)</script>",
    );
    a += "\r\n";
    a += &line(
        2,
        "192.0.2.1",
        "/a",
        "599",
        "0",
        "\\u001b[31mred\\u001b[0m \\u202e evil",
    );
    a += "\n";
    a += &line(3, "::ffff:192.0.2.9", "/%00?x=%FF", "100", "1", "😀 あ");
    a += "\n{\"time\":\"2024-11-27T10:04:00+09:00\",\"status\":\"5";
    let mut bytes = a.into_bytes();
    bytes.extend_from_slice(b"\n\xff\xfe not utf-8 \xc3\n");
    std::fs::write(day.join("access-20241127T10.log"), &bytes).unwrap();
    let b = line(5, "198.51.100.7", "/b", "500", "7", "curl/8");
    let two_members = [gzip(b.as_bytes()), gzip(format!("\n{b}\n").as_bytes())].concat();
    std::fs::write(day.join("access-20241127T11.log.gz"), two_members).unwrap();
    std::fs::write(day.join("access-20241127T12.log.gz"), gzip(b"")).unwrap();
    std::fs::write(day.join("access-20241127T13.log"), b"").unwrap();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[track_caller]
fn no_panic(run: &crate::harness::Run, what: &str) {
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("internal error"),
        "{what}: {}",
        run.stderr
    );
    assert_eq!(run.code, 0, "{what}: {}", run.stderr);
}

#[test]
fn every_panel_in_every_renderer_on_every_data_set() {
    let tmp = tempfile::tempdir().unwrap();
    let sets = data_sets(tmp.path());
    assert!(sets.len() >= 20, "{} data sets", sets.len());
    for (name, from) in sets {
        let mut base = vec!["report".to_string(), "-q".to_string()];
        for f in &from {
            if f.starts_with("--") {
                base.push(f.clone());
            } else {
                base.extend(["--from".to_string(), f.clone()]);
            }
        }
        let html = tmp.path().join(format!("{name}.html"));
        let mut args = base.clone();
        args.extend(["--width", "40", "--html", html.to_str().unwrap()].map(String::from));
        no_panic(&edgelog(&args), &format!("{name} width 40 + html"));
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(page.ends_with("</html>\n"), "{name}: the page is whole");
        for width in ["80", "200"] {
            let mut args = base.clone();
            args.extend(["--width".to_string(), width.to_string()]);
            no_panic(&edgelog(&args), &format!("{name} width {width}"));
        }
        let mut args = base.clone();
        args.extend(["-o", "markdown"].map(String::from));
        no_panic(&edgelog(&args), &format!("{name} markdown"));
        let mut args = base.clone();
        args.extend(["-o", "json"].map(String::from));
        let run = edgelog(&args);
        no_panic(&run, &format!("{name} json"));
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(v["edgelog_report"], 1, "{name}");
        assert!(v["scan"]["rows"].as_u64().unwrap_or(0) > 0, "{name}: no rows read");
        if name == "quirky" {
            // Four whole records and the two-member object's two; the cut
            // line and the bytes that are not UTF-8 are malformed.
            assert_eq!(v["scan"]["rows"], 5, "{name}: {}", v["scan"]);
            assert_eq!(v["scan"]["malformed_lines"], 2, "{name}: {}", v["scan"]);
        }
    }
}

/// The issue's own reproduction: the default report and `--html` on
/// genlogs.py output ended in `capacity overflow`.
#[test]
fn default_report_on_genlogs_output_does_not_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    genlogs(&dir, 3, 6, 2000, 0.0);
    let from = dir.to_str().unwrap();
    let run = Cmd::new(["report", "--from", from]).env("COLUMNS", "80").run();
    no_panic(&run, "report");
    let errors = run.stdout.split("== Errors").nth(1).expect("an errors panel");
    // The errors table fits 80 columns, with cut text marked.
    for line in errors.lines().skip(1).take_while(|l| !l.starts_with("==")) {
        assert!(line.chars().count() <= 80, "{line}");
    }
    let html = tmp.path().join("out.html");
    let run = edgelog(["report", "--from", from, "--html", html.to_str().unwrap()]);
    no_panic(&run, "report --html");
    assert!(std::fs::metadata(&html).unwrap().len() > 10_000);
}

#[test]
fn an_internal_error_is_one_line_and_exit_2() {
    for args in [vec!["internal-panic"], vec!["internal-panic", "--in-task"]] {
        let run = Cmd::new(&args).env("RUST_BACKTRACE", "0").run();
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        let err = run.stderr.trim_end();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("edgelog: internal error at crates/edgelog/src/cli/mod.rs:")
                && err.contains("internal-panic asked for")
                && err.ends_with("(please report this with the command line)"),
            "{err}"
        );
        assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
        let traced = Cmd::new(&args).env("RUST_BACKTRACE", "1").run();
        assert_eq!(traced.code, 2);
        assert!(traced.stderr.lines().count() > 3, "a backtrace: {}", traced.stderr);
    }
}

#[test]
fn bad_flag_values_are_refused_at_the_door() {
    let dir = fixture();
    let empty = tempfile::tempdir().unwrap();
    let sql_dir = tempfile::tempdir().unwrap();
    let big = sql_dir.path().join("big.sql");
    std::fs::write(&big, "SELECT 1 AS x -- padding\n".repeat(420_000)).unwrap();
    let two = sql_dir.path().join("two.sql");
    std::fs::write(&two, "SELECT 1; SELECT 2").unwrap();
    let q = |extra: &[&str]| {
        let mut a = vec!["query", "--from", dir.as_str()];
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            q(&[
                "--since",
                "2024-11-28T00:00+09:00",
                "--until",
                "2024-11-27T00:00+09:00",
                "SELECT 1",
            ]),
            "--since must be before --until",
        ),
        (q(&["--last", "0s", "SELECT 1"]), "--last"),
        (q(&["--last", "soon", "SELECT 1"]), "--last"),
        (q(&["--prune-margin=-1h", "SELECT 1"]), "--prune-margin"),
        (q(&["--io-timeout", "0s", "SELECT 1"]), "--io-timeout"),
        (q(&["--retries", "1000", "SELECT 1"]), "--retries"),
        (q(&["--memory-limit", "0", "SELECT 1"]), "--memory-limit"),
        (q(&["--tz", "Mars/Olympus", "SELECT 1"]), "--tz"),
        (q(&["-o", "xml", "SELECT 1"]), "--output"),
        (q(&[""]), "empty"),
        (q(&["  ;  "]), "empty"),
        (q(&["SELECT 1; SELECT 2"]), "2 statements"),
        (q(&["-f", two.to_str().unwrap()]), "2 statements"),
        (q(&["-f", big.to_str().unwrap()]), "longer than"),
        (q(&["-f", "/nonexistent/q.sql"]), "cannot read SQL file"),
        (
            q(&["--out", sql_dir.path().to_str().unwrap(), "SELECT 1"]),
            "is a folder",
        ),
        (
            vec!["report".into(), "--from".into(), dir.clone(), "nopanel".into()],
            "unknown panel",
        ),
        (
            vec![
                "report".into(),
                "--from".into(),
                dir.clone(),
                "--width".into(),
                "3".into(),
            ],
            "--width",
        ),
        (
            vec![
                "report".into(),
                "--from".into(),
                dir.clone(),
                "--compare".into(),
                "7x".into(),
                "--last".into(),
                "1h".into(),
            ],
            "--compare",
        ),
        (
            vec![
                "query".into(),
                "--from".into(),
                empty.path().to_str().unwrap().into(),
                "SELECT 1".into(),
            ],
            empty.path().to_str().unwrap(),
        ),
        (
            vec![
                "query".into(),
                "--from".into(),
                dir.clone(),
                "--format".into(),
                "klingon".into(),
                "SELECT 1".into(),
            ],
            "klingon",
        ),
    ];
    for (args, expect) in cases {
        let run = edgelog(&args);
        let err = run.error();
        assert!(err.contains(expect), "{args:?}: expected {expect:?} in: {err}");
    }
}

/// Runs `edgelog ARGS | head -1`: the first line is read, the pipe closed.
fn head_1(args: &[String]) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgelog"))
        .args(args)
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = Vec::new();
    {
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let _ = out.read_until(b'\n', &mut first);
        // Dropping the reader closes the pipe, as `head` does.
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&first).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn head_1_ends_every_command_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("logs");
    generate(&data, 2, 4, 2000, 0.0, 0.0);
    let from = data.to_str().unwrap().to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut runs: Vec<Vec<String>> = Vec::new();
    for o in ["csv", "tsv", "json", "ndjson", "table", "markdown", "parquet"] {
        runs.push(s(&["query", "-q", "--from", &from, "-o", o, "SELECT * FROM logs"]));
    }
    for o in ["table", "markdown", "json", "html"] {
        runs.push(s(&["report", "-q", "--from", &from, "-o", o]));
    }
    runs.push(s(&["formats"]));
    runs.push(s(&["formats", "sakura"]));
    runs.push(s(&["functions"]));
    runs.push(s(&["detect", &from]));
    runs.push(s(&[
        "demo",
        "--generate-only",
        "--out",
        tmp.path().join("g").to_str().unwrap(),
        "--hours",
        "1",
    ]));
    runs.push(s(&[
        "demo",
        "--out",
        tmp.path().join("d").to_str().unwrap(),
        "--hosts",
        "1",
        "--hours",
        "2",
        "--lines-per-hour",
        "300",
    ]));
    runs.push(s(&["--help"]));
    for args in runs {
        let (code, first, stderr) = head_1(&args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(!first.is_empty(), "{args:?}: no first line");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("edgelog:"),
            "{args:?}: {stderr}"
        );
    }
}

/// Sends SIGINT to `child` after `after`, and returns the exit code, how
/// long the process took to end after the signal, stdout and stderr.
pub fn interrupt(mut cmd: Command, after: Duration) -> (i32, Duration, String, String) {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(after);
    let sent = Instant::now();
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        sent.elapsed(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A folder of good hourly objects plus one with a bad CRC and one cut
/// short; returns the folder, the damaged names and the good rows.
pub fn damaged_data(root: &Path) -> (PathBuf, Vec<String>, u64) {
    let data = root.join("logs");
    generate(&data, 1, 4, 500, 0.0, 0.0);
    let good = edgelog([
        "query",
        "-q",
        "--from",
        data.to_str().unwrap(),
        "SELECT count(*) FROM logs",
    ]);
    let rows: u64 = good.ok().lines().nth(1).unwrap().trim().parse().unwrap();
    let day = walk(&data).into_iter().next().unwrap().parent().unwrap().to_path_buf();
    let text = std::fs::read_to_string(
        fixture() + "sakura-webaccelerator/example.user.webaccel.jp/2024/11/27/access-20241127T13.log",
    )
    .unwrap();
    let mut bad_crc = gzip(text.as_bytes());
    let n = bad_crc.len();
    bad_crc[n - 6] ^= 0xff;
    let cut = gzip(text.as_bytes());
    let crc_name = day.join("access-20241127T20.log.gz");
    let cut_name = day.join("access-20241127T21.log.gz");
    std::fs::write(&crc_name, bad_crc).unwrap();
    std::fs::write(&cut_name, &cut[..cut.len() / 2]).unwrap();
    let names = [crc_name, cut_name].map(|p| p.to_str().unwrap().to_string()).to_vec();
    (data, names, rows)
}

/// `edgelog CMD --from FROM --format sakura EXTRA...`.
fn sakura(cmd: &str, from: &str, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec![cmd, "--from", from, "--format", "sakura"];
    args.extend_from_slice(extra);
    edgelog(args)
}

#[test]
fn damaged_objects_are_named_or_skipped_and_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, damaged, rows) = damaged_data(tmp.path());
    let from = data.to_str().unwrap();
    let run = sakura("query", from, &["SELECT count(*) FROM logs"]);
    let err = run.error();
    assert!(
        damaged.iter().any(|d| err.contains(d.as_str())) && err.contains("damaged or truncated gzip data"),
        "{err}"
    );
    let run = sakura("query", from, &["--skip-unreadable", "-v", "SELECT count(*) FROM logs"]);
    let out = run.ok();
    // A streamed object keeps the whole lines before its damage, and says so.
    let partial: u64 = run
        .stderr
        .split("(its first ")
        .skip(1)
        .map(|rest| rest.split(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        out.lines().nth(1).unwrap().trim(),
        (rows + partial).to_string(),
        "the good rows, all of them, and those read before the damage: {}",
        run.stderr
    );
    assert!(run.stderr.contains("2 unreadable objects skipped"), "{}", run.stderr);
    for d in &damaged {
        assert!(
            run.stderr.contains(&format!("unreadable, skipped: {d}")),
            "{}",
            run.stderr
        );
    }
    let run = sakura("report", from, &["--skip-unreadable", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(v["scan"]["unreadable_objects"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["scan"]["rows"], rows + partial);
    for output in ["table", "markdown", "html"] {
        let run = sakura("report", from, &["--skip-unreadable", "-o", output]);
        assert!(run.ok().contains("2 unreadable objects skipped"), "{output}");
    }
}

#[test]
fn output_files_appear_whole_or_not_at_all() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, _, _) = damaged_data(tmp.path());
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let csv = out_dir.join("r.csv");
    let html = out_dir.join("r.html");
    let from = data.to_str().unwrap();
    // The query fails on a damaged object after writing rows: no file.
    let run = sakura("query", from, &["--out", csv.to_str().unwrap(), "SELECT * FROM logs"]);
    run.error();
    let run = sakura("report", from, &["--html", html.to_str().unwrap()]);
    run.error();
    let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
    assert!(left.is_empty(), "nothing left behind: {left:?}");
}
