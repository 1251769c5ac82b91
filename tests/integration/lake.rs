//! The lake: raw logs ingested once into a Delta Lake table. Over data made
//! by `shared/bench/genlogs.py` and by the binary's generator (with
//! malformed and late lines), every canonical question gives the same rows
//! over the lake as over the raw objects; a re-run ingests nothing; a
//! re-uploaded object's rows are replaced, not added; the lake plus the raw
//! objects it does not hold yet counts every row once; another engine
//! (chDB) reads the table edgelog wrote.

use std::path::Path;
use std::process::Command;

use crate::harness::{Cmd, Run, generate, shared_dir};

/// The six canonical questions (`bench/questions.tsv`).
fn questions() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/questions.tsv");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(n, sql)| (n.to_string(), sql.to_string())))
        .collect()
}

fn ask(source: &[&str], sql: &str) -> String {
    let mut args = vec!["query", "-q", "-o", "csv"];
    args.extend_from_slice(source);
    args.push(sql);
    Cmd::new(args).run().ok().to_string()
}

fn ingest(from: &str, lake: &str, extra: &[&str]) -> Run {
    let mut args = vec!["ingest", "--from", from, "--lake", lake];
    args.extend_from_slice(extra);
    Cmd::new(args).run()
}

fn status(lake: &str) -> std::collections::BTreeMap<String, String> {
    let run = Cmd::new(["lake", "status", lake]).run();
    run.ok()
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn genlogs(out: &Path, hosts: &str, hours: &str, lines: &str) {
    let status = Command::new("python3")
        .arg(shared_dir().join("bench/genlogs.py"))
        .arg(out)
        .args([
            "--hosts",
            hosts,
            "--hours",
            hours,
            "--lines-per-hour",
            lines,
            "--seed",
            "5",
            "--jobs",
            "2",
        ])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn every_question_is_answered_the_same_over_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("raw");
    genlogs(&data, "2", "30", "700");
    let data = data.to_str().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.to_str().unwrap();
    let first = ingest(data, lake, &[]);
    first.ok();
    assert!(first.stderr.contains("ingested 60 objects"), "{}", first.stderr);
    for (name, sql) in questions() {
        let raw = ask(&["--from", data], &sql);
        let lake_answer = ask(&["--lake", lake], &sql);
        assert!(raw.lines().count() > 1, "{name}: {raw}");
        assert_eq!(lake_answer, raw, "{name}");
    }
    // Time ranges and the log functions work on the lake as on raw objects.
    let sql = "SELECT status, count(*) n, sum(bytes) b, count(DISTINCT client_ip) ips FROM logs GROUP BY status ORDER BY status";
    let range = [
        "--since",
        "2024-11-27T05:30:00+09:00",
        "--until",
        "2024-11-27T11:00:00+09:00",
    ];
    let mut raw_args = vec!["--from", data];
    raw_args.extend_from_slice(&range);
    let mut lake_args = vec!["--lake", lake];
    lake_args.extend_from_slice(&range);
    assert_eq!(ask(&lake_args, sql), ask(&raw_args, sql));
    // A re-run reads nothing and commits nothing.
    let again = ingest(data, lake, &[]);
    assert!(again.stderr.contains("ingested 0 objects"), "{}", again.stderr);
    assert!(
        again.stderr.contains("60 of 60 listed were already in the lake"),
        "{}",
        again.stderr
    );
    let s = status(lake);
    assert_eq!(s["source_objects"], "60");
    assert_eq!(s["rows"], s["rows_in_files"]);
    assert_eq!(
        s["rows"],
        ask(&["--from", data], "SELECT count(*) FROM logs")
            .lines()
            .nth(1)
            .unwrap()
    );
}

#[test]
fn a_re_upload_replaces_its_rows_and_the_raw_rest_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("raw");
    generate(&data, 2, 4, 300, 0.01, 0.01);
    let lake = dir.path().join("lake");
    let (data_s, lake_s) = (data.to_str().unwrap(), lake.to_str().unwrap());
    let count = "SELECT count(*) n, sum(bytes_sent) b FROM logs";
    let raw_before = ask(&["--from", data_s], count);
    ingest(data_s, lake_s, &[]).ok();
    // One object is uploaded again with other contents.
    let objects: Vec<_> = walk(&data);
    assert_eq!(objects.len(), 8);
    let victim = &objects[3];
    let other = std::fs::read(&objects[4]).unwrap();
    std::fs::write(victim, &other).unwrap();
    let raw_after = ask(&["--from", data_s], count);
    assert_ne!(raw_after, raw_before);
    // Lake plus the raw objects it does not hold: the re-upload is read raw,
    // its old rows in the lake are not counted.
    let run = ingest(data_s, lake_s, &[]);
    assert!(run.stderr.contains("ingested 1 objects"), "{}", run.stderr);
    assert!(run.stderr.contains("1 re-uploaded objects replaced"), "{}", run.stderr);
    assert_eq!(ask(&["--lake", lake_s], count), raw_after);
    // New objects arrive, and the old ones are written again (a re-sync):
    // the lake and the raw location together count each row once.
    let extra = dir.path().join("extra");
    generate(&extra, 2, 6, 300, 0.01, 0.01);
    for f in walk(&extra) {
        let to = data.join(f.strip_prefix(&extra).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&f, &to).unwrap();
    }
    let raw_now = ask(&["--from", data_s], count);
    assert_eq!(ask(&["--lake", lake_s, "--from", data_s], count), raw_now);
    assert_ne!(ask(&["--lake", lake_s], count), raw_now);
    // Malformed lines are counted per object and kept in the lake's status.
    let s = status(lake_s);
    assert_ne!(s["malformed_lines"], "0");
}

#[test]
fn another_engine_reads_the_lake() {
    let python = std::env::var_os("EDGELOG_PEERS_PYTHON").map(std::path::PathBuf::from);
    let Some(python) = python.filter(|p| p.exists()) else {
        // peers.rs installs chDB when it is missing; this test runs where it is.
        panic!("EDGELOG_PEERS_PYTHON is not set: .ci/run sets it to a Python with chdb");
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("raw");
    generate(&data, 2, 3, 300, 0.0, 0.0);
    let lake = dir.path().join("lake");
    let (data_s, lake_s) = (data.to_str().unwrap(), lake.to_str().unwrap());
    ingest(data_s, lake_s, &[]).ok();
    let ours = ask(&["--lake", lake_s], "SELECT count(*), sum(bytes_sent) FROM logs");
    let ours = ours.lines().nth(1).unwrap().to_string();
    // chDB reads files below its working folder only, and wants an absolute path.
    let script = format!(
        "import chdb; print(chdb.query(\"SELECT count(), sum(bytes_sent) FROM deltaLakeLocal('{lake_s}') SETTINGS allow_experimental_delta_kernel_rs=1\", 'CSV'), end='')"
    );
    let out = Command::new(python)
        .args(["-c", &script])
        .current_dir("/")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), ours);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
