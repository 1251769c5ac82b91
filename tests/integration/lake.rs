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
    status_of(Cmd::new(["lake", "status", lake]).run())
}

fn status_of(run: Run) -> std::collections::BTreeMap<String, String> {
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
    // Every report panel, over a window and its comparison, from the lake as
    // from the raw objects. The overview's byte percentiles are approximate
    // (t-digest) and depend on row order, so they are left out.
    let report = |source: &[&str]| {
        let mut args = vec![
            "report",
            "-q",
            "-o",
            "json",
            "--since",
            "2024-11-27T08:00:00+09:00",
            "--until",
            "2024-11-27T20:00:00+09:00",
            "--compare",
            "previous",
        ];
        args.extend_from_slice(source);
        let mut v: serde_json::Value = serde_json::from_str(Cmd::new(args).run().ok()).unwrap();
        for window in ["rows", "previous_rows"] {
            if let Some(rows) = v["panels"]["overview"]["tables"]["figures"][window].as_array_mut() {
                for row in rows {
                    for i in [8, 9, 10, 14] {
                        row[i] = serde_json::Value::Null;
                    }
                }
            }
        }
        v
    };
    let (raw_report, lake_report) = (report(&["--from", data]), report(&["--lake", lake]));
    assert_eq!(lake_report["panels"], raw_report["panels"]);
    assert_eq!(lake_report["scan"]["rows"], raw_report["scan"]["rows"]);
    // A re-run reads nothing and commits nothing; given the whole range, it
    // lists every object and still reads none.
    let again = ingest(data, lake, &[]);
    assert!(again.stderr.contains("ingested 0 objects"), "{}", again.stderr);
    let all = ingest(data, lake, &["--since", "2024-01-01T00:00:00Z"]);
    assert!(
        all.stderr.contains("60 of 60 listed were already in the lake"),
        "{}",
        all.stderr
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
    // One more hour arrives: the next ingest lists only the last hours (from
    // the newest row held, less the margin), reads the two new objects, and
    // rewrites no file of the old days.
    let more = dir.path().join("more");
    genlogs(&more, "2", "31", "700");
    let mut added = 0;
    for f in walk(&more) {
        let to = Path::new(data).join(f.strip_prefix(&more).unwrap());
        if !to.exists() {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&f, &to).unwrap();
            added += 1;
        }
    }
    assert_eq!(added, 2);
    let files_before: std::collections::BTreeSet<_> = walk(Path::new(lake)).into_iter().collect();
    let next = ingest(data, lake, &[]);
    assert!(next.stderr.contains("ingested 2 objects"), "{}", next.stderr);
    let listed: usize = next
        .stderr
        .split(" of ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(listed < 12, "listed {listed} objects: {}", next.stderr);
    let files_after: std::collections::BTreeSet<_> = walk(Path::new(lake)).into_iter().collect();
    assert!(files_before.is_subset(&files_after), "an old file went away");
    for (name, sql) in questions() {
        assert_eq!(
            ask(&["--lake", lake], &sql),
            ask(&["--from", data], &sql),
            "{name} after one more hour"
        );
    }
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
    // chDB, from the peers' virtualenv (made on first use).
    let python = crate::peers::peers_python();
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

const KEY: &str = "AKIAEDGELOGLAKE0001";
const SECRET: &str = "edgelog-lake-secret-never-printed";

/// A lake on the S3-compatible test server (SigV4 checked), fed from raw
/// objects on the same server: same answers as the raw objects; a re-run
/// ingests nothing; two ingests racing on one lake hold each object once
/// (the commit is a conditional put the server must refuse to repeat).
#[test]
fn a_lake_on_s3_answers_like_the_raw_objects_and_survives_a_race() {
    let root = tempfile::tempdir().unwrap();
    generate(&root.path().join("logs"), 2, 8, 300, 0.002, 0.01);
    let (_server, cmd) = s3_server(root.path());
    let from = "s3://logs/sakura-webaccelerator/";
    let lake = "s3://lakes/edge/";
    let first = cmd(&["ingest", "--from", from, "--lake", lake]).run();
    first.ok();
    assert!(first.stderr.contains("ingested 16 objects"), "{}", first.stderr);
    assert!(!first.stderr.contains(SECRET));
    for (name, sql) in questions() {
        let raw = cmd(&["query", "-q", "-o", "csv", "--from", from, &sql]).run();
        let ours = cmd(&["query", "-q", "-o", "csv", "--lake", lake, &sql]).run();
        assert_eq!(ours.ok(), raw.ok(), "{name}");
    }
    let again = cmd(&["ingest", "--from", from, "--lake", lake]).run();
    assert!(again.stderr.contains("ingested 0 objects"), "{}", again.stderr);

    // Two ingests at once into a new lake: both plan the same objects from
    // the same (empty) snapshot; only one commit may hold them.
    let race = "s3://lakes/race/";
    let spawn = || {
        let (mut c, _home) = cmd(&["ingest", "-q", "--from", from, "--lake", race]).into_parts();
        (c.spawn().unwrap(), _home)
    };
    let (mut a, _ha) = spawn();
    let (mut b, _hb) = spawn();
    let (sa, sb) = (a.wait().unwrap(), b.wait().unwrap());
    assert!(sa.success() || sb.success());
    // Whatever one of them could not commit, a third run finishes.
    cmd(&["ingest", "-q", "--from", from, "--lake", race]).run().ok();
    let count = "SELECT _file, count(*) n FROM logs GROUP BY _file ORDER BY _file";
    let raw = cmd(&["query", "-q", "-o", "csv", "--from", from, count]).run();
    let held = cmd(&["query", "-q", "-o", "csv", "--lake", race, count]).run();
    assert_eq!(held.ok(), raw.ok());
}

/// Odd objects: damaged gzip (bad CRC, cut short) is not committed with
/// `--skip-unreadable` (not even the rows before the damage) and is tried
/// again next time; an empty, a zero-byte and an all-malformed object are
/// held with no rows, so a re-run skips them; nothing is counted twice.
#[test]
fn odd_objects_are_held_once_and_damaged_ones_not_at_all() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, damaged, rows) = crate::hardening::damaged_data(tmp.path());
    let day = std::path::Path::new(&damaged[0]).parent().unwrap().to_path_buf();
    std::fs::write(day.join("access-20241127T22.log.gz"), gzip_of(b"")).unwrap();
    std::fs::write(day.join("access-20241127T23.log.gz"), b"").unwrap();
    std::fs::write(
        day.join("access-20241127T19.log.gz"),
        gzip_of(b"not json\n{\"time\":\n"),
    )
    .unwrap();
    let lake = tmp.path().join("lake");
    let (from, lake) = (data.to_str().unwrap(), lake.to_str().unwrap());
    let refused = Cmd::new(["ingest", "--from", from, "--lake", lake, "--format", "sakura"]).run();
    assert!(
        refused.error().contains("damaged or truncated gzip data"),
        "{}",
        refused.stderr
    );
    for _ in 0..2 {
        let run = Cmd::new([
            "ingest",
            "--from",
            from,
            "--lake",
            lake,
            "--format",
            "sakura",
            "--skip-unreadable",
        ])
        .run();
        run.ok();
        assert!(run.stderr.contains("2 unreadable objects skipped"), "{}", run.stderr);
    }
    assert_eq!(
        ask(&["--lake", lake], "SELECT count(*) FROM logs"),
        format!("count(*)\n{rows}\n")
    );
    let s = status(lake);
    assert_eq!(s["source_objects"], "7");
    assert_eq!(s["malformed_lines"], "2");
    assert_eq!(s["rows"], rows.to_string());
}

fn gzip_of(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The commit of a lake on S3 is a put that must not replace an existing
/// commit file: the test server refuses a second `If-None-Match: *` put of
/// one key, as real S3 does (else the race test above would prove nothing).
#[test]
fn the_test_server_refuses_a_second_create_of_one_key() {
    use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, path::Path as Key};
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("lakes")).unwrap();
    let server = crate::s3::server::S3Server::start(root.path().to_path_buf(), KEY, SECRET, 0);
    let store = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name("lakes")
        .with_region("jp-north-1")
        .with_endpoint(server.endpoint())
        .with_allow_http(true)
        .with_access_key_id(KEY)
        .with_secret_access_key(SECRET)
        .build()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let key = Key::from("t/_delta_log/00000000000000000001.json");
    let create = || PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    rt.block_on(async {
        store.put_opts(&key, "first".into(), create()).await.unwrap();
        let second = store.put_opts(&key, "second".into(), create()).await;
        assert!(
            matches!(second, Err(object_store::Error::AlreadyExists { .. })),
            "{second:?}"
        );
        let kept = store.get(&key).await.unwrap().bytes().await.unwrap();
        assert_eq!(&kept[..], b"first");
    });
}

/// `kill -9` of an ingest at ten moments, each followed by the next try:
/// in the end every source object's rows are in the lake exactly once, and
/// the lake's notes agree with its files.
#[test]
fn an_ingest_killed_at_any_moment_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("raw");
    genlogs(&data, "2", "30", "700");
    let lake = dir.path().join("lake");
    let (data_s, lake_s) = (data.to_str().unwrap(), lake.to_str().unwrap());
    // Small commits (about four objects each), so a kill can fall between them.
    let args = [
        "ingest",
        "-q",
        "--from",
        data_s,
        "--lake",
        lake_s,
        "--commit-kib",
        "100",
    ];
    let whole = std::time::Instant::now();
    let scratch = tempfile::tempdir().unwrap();
    let lake_probe = scratch.path().join("probe");
    let mut probe = args.to_vec();
    probe[5] = lake_probe.to_str().unwrap();
    Cmd::new(probe).run().ok();
    let took = whole.elapsed();
    for k in 0..10u32 {
        let (mut c, _home) = Cmd::new(args).into_parts();
        let mut child = c.spawn().unwrap();
        std::thread::sleep(took * k / 10);
        let _ = child.kill();
        let _ = child.wait();
    }
    let last = Cmd::new(["ingest", "--from", data_s, "--lake", lake_s]).run();
    last.ok();
    let per_object = "SELECT _file, count(*) n, sum(bytes_sent) b FROM logs GROUP BY _file ORDER BY _file";
    assert_eq!(
        ask(&["--lake", lake_s], per_object),
        ask(&["--from", data_s], per_object)
    );
    let s = status(lake_s);
    assert_eq!(s["source_objects"], "60");
    assert_eq!(s["rows"], s["rows_in_files"]);
    let verify = Cmd::new(["lake", "verify", lake_s]).run();
    assert!(
        verify.ok().contains("ok: every source object's rows"),
        "{}",
        verify.stdout
    );
    // The small commits' files merge into a few; rows and notes stay.
    let files_before: usize = status(lake_s)["files"].parse().unwrap();
    Cmd::new(["lake", "compact", lake_s]).run().ok();
    let files_after: usize = status(lake_s)["files"].parse().unwrap();
    assert!(files_after < files_before, "{files_before} -> {files_after} files");
    assert_eq!(
        ask(&["--lake", lake_s], per_object),
        ask(&["--from", data_s], per_object)
    );
    assert!(Cmd::new(["lake", "verify", lake_s]).run().ok().contains("ok:"));
    let after = Cmd::new(["ingest", "--from", data_s, "--lake", lake_s]).run();
    assert!(after.stderr.contains("ingested 0 objects"), "{}", after.stderr);
}

/// Every row and column of every dialect in the shared corpus (real logs
/// written by others) comes back from the lake exactly as from the raw
/// files: types, NULLs, times and the trace columns.
#[test]
fn every_corpus_format_round_trips_through_the_lake() {
    let corpus = shared_dir().join("corpus");
    let mut checked = 0;
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        let lake = tmp.path().join("lake");
        let (from, lake) = (dir.to_str().unwrap(), lake.to_str().unwrap());
        ingest(from, lake, &["-q"]).ok();
        let all = "SELECT * FROM logs ORDER BY _file, _line";
        let raw = ask(&["--from", from], all);
        assert!(raw.lines().count() > 1, "{from}: no rows");
        assert_eq!(ask(&["--lake", lake], all), raw, "{from}");
        checked += 1;
    }
    assert!(checked >= 10, "{checked} corpus folders");
}

/// From the review: a re-upload that turns out damaged keeps its old rows
/// (and stays held) until a good version arrives; a batch of only empty
/// objects commits; a watermark set by one location does not hide another
/// location's history.
#[test]
fn damaged_re_uploads_empty_batches_and_two_locations() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("raw");
    generate(&data, 2, 3, 300, 0.0, 0.0);
    let lake = dir.path().join("lake");
    let (data_s, lake_s) = (data.to_str().unwrap(), lake.to_str().unwrap());
    let count = "SELECT count(*) n, sum(bytes_sent) b FROM logs";
    let sites: Vec<_> = std::fs::read_dir(data.join("sakura-webaccelerator"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(sites.len(), 2);
    // One site, then the other: the second's history is read in full.
    for site in &sites {
        ingest(site.to_str().unwrap(), lake_s, &[]).ok();
    }
    let before = ask(&["--from", data_s], count);
    assert_eq!(ask(&["--lake", lake_s], count), before);
    // A re-upload cut short: skipped, the old rows stay and stay held.
    let objects = walk(&data);
    let victim = &objects[1];
    let good = std::fs::read(victim).unwrap();
    std::fs::write(victim, &good[..good.len() / 2]).unwrap();
    let run = ingest(data_s, lake_s, &["--skip-unreadable"]);
    assert!(
        run.ok().is_empty() && run.stderr.contains("1 unreadable objects skipped"),
        "{}",
        run.stderr
    );
    assert_eq!(ask(&["--lake", lake_s], count), before);
    assert!(Cmd::new(["lake", "verify", lake_s]).run().ok().contains("ok:"));
    // The good version comes back (new etag): replaced, once.
    std::fs::write(victim, &good).unwrap();
    ingest(data_s, lake_s, &[]).ok();
    assert_eq!(ask(&["--lake", lake_s], count), before);
    // A batch of nothing but an empty object still commits, and is held.
    let day = victim.parent().unwrap();
    std::fs::write(day.join("access-20241127T22.log.gz"), gzip_of(b"")).unwrap();
    let run = ingest(data_s, lake_s, &[]);
    assert!(run.stderr.contains("ingested 1 objects (0 rows"), "{}", run.stderr);
    let again = ingest(data_s, lake_s, &["--since", "2024-01-01T00:00:00Z"]);
    assert!(again.stderr.contains("ingested 0 objects"), "{}", again.stderr);
    assert!(Cmd::new(["lake", "verify", lake_s]).run().ok().contains("ok:"));
}

/// The S3 test server on `root` (one folder per bucket, `lakes` made for
/// lakes and cold tiers), and a command maker that carries its credentials.
fn s3_server(root: &Path) -> (crate::s3::server::S3Server, impl Fn(&[&str]) -> Cmd) {
    std::fs::create_dir_all(root.join("lakes")).unwrap();
    let server = crate::s3::server::S3Server::start(root.to_path_buf(), KEY, SECRET, 0);
    let endpoint = server.endpoint();
    let cmd = move |args: &[&str]| {
        Cmd::new(args)
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_REGION", "jp-north-1")
    };
    (server, cmd)
}

fn lines_of(run: &Run) -> Vec<String> {
    run.stdout.lines().map(str::to_string).collect()
}

/// What the raw objects say from `since` (UTC, a day's start) on.
fn ask_since(data: &str, since: Option<&str>, sql: &str) -> String {
    match since {
        Some(s) => ask(&["--from", data, "--since", s], sql),
        None => ask(&["--from", data], sql),
    }
}

/// The first day a lake still shows, from `lake status`'s `deleted_through`.
fn shown_from(deleted_through: &str) -> Option<String> {
    let day = chrono::NaiveDate::parse_from_str(deleted_through, "%Y-%m-%d").ok()?;
    Some(format!("{}T00:00:00Z", day.succ_opt()?))
}

const PER_OBJECT: &str = "SELECT _file, count(*) n, sum(bytes_sent) b FROM logs GROUP BY _file ORDER BY _file";

/// Hot days on local disk, old days moved to S3 and older ones deleted, by
/// the data's time: the dry run changes nothing; after `retain` every
/// question over both tiers equals the raw objects' answer over the days
/// kept; a re-upload of an object whose rows moved replaces them in the
/// cold tier too; a second run later deletes cold days and moves more.
#[test]
fn old_days_move_to_s3_and_older_ones_go_by_the_data_time() {
    let root = tempfile::tempdir().unwrap();
    let (_server, cmd) = s3_server(root.path());
    let data = root.path().join("raw");
    // 2024-11-26T15:00Z .. 2024-12-01T15:00Z: six UTC days.
    genlogs(&data, "2", "120", "300");
    let (data_s, lake) = (data.to_str().unwrap(), root.path().join("lake"));
    let lake = lake.to_str().unwrap();
    ingest(data_s, lake, &[]).ok();
    let init = cmd(&[
        "lake",
        "init",
        lake,
        "--cold",
        "s3://lakes/cold/",
        "--move-after",
        "2d",
        "--delete-after",
        "4d",
    ])
    .run();
    assert!(init.ok().contains("cold at s3://lakes/cold/"), "{}", init.stdout);
    let before = status_of(cmd(&["lake", "status", lake]).run());
    let retain = |now: &str, extra: &[&str]| {
        let mut args = vec!["lake", "retain", lake, "--now", now];
        args.extend_from_slice(extra);
        cmd(&args).run()
    };
    let dry = retain("2024-12-02T00:00:00Z", &["--dry-run"]);
    let plan: Vec<String> = lines_of(&dry)
        .iter()
        .skip(1)
        .map(|l| l.split('\t').take(3).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        plan,
        [
            "delete hot 2024-11-26",
            "delete hot 2024-11-27",
            "move hot 2024-11-28",
            "move hot 2024-11-29"
        ],
        "{}",
        dry.stdout
    );
    assert!(dry.stderr.contains("nothing changed"), "{}", dry.stderr);
    assert_eq!(
        status_of(cmd(&["lake", "status", lake]).run()),
        before,
        "a dry run changed the lake"
    );

    retain("2024-12-02T00:00:00Z", &[]).ok();
    let s = status_of(cmd(&["lake", "status", lake]).run());
    assert_eq!(s["deleted_through"], "2024-11-27");
    assert_eq!(
        (s["first_day"].as_str(), s["last_day"].as_str()),
        ("2024-11-28", "2024-12-01")
    );
    assert_eq!((s["hot_files"].as_str(), s["cold_files"].as_str()), ("2", "2"), "{s:?}");
    assert_eq!(s["rows"], s["rows_in_files"]);
    assert!(!walk(Path::new(lake)).iter().any(|p| {
        let p = p.to_string_lossy();
        p.contains("_day=2024-11-2") && p.ends_with(".parquet")
    }));
    let since = Some("2024-11-28T00:00:00Z");
    let over_lake = |sql: &str| {
        cmd(&["query", "-q", "-o", "csv", "--lake", lake, sql])
            .run()
            .ok()
            .to_string()
    };
    for (name, sql) in questions() {
        assert_eq!(over_lake(&sql), ask_since(data_s, since, &sql), "{name}");
    }
    assert_eq!(over_lake(PER_OBJECT), ask_since(data_s, since, PER_OBJECT));
    let verify = cmd(&["lake", "verify", lake]).run();
    assert!(verify.ok().contains("ok:"), "{}", verify.stdout);
    // Deleted and moved objects stay held: nothing is read again.
    let ingest_all = || {
        cmd(&[
            "ingest",
            "--from",
            data_s,
            "--lake",
            lake,
            "--since",
            "2024-01-01T00:00:00Z",
        ])
        .run()
    };
    let again = ingest_all();
    assert!(again.stderr.contains("ingested 0 objects"), "{}", again.stderr);

    // A late re-upload of an hour whose rows are now in the cold tier.
    let hour = walk(&data)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with("access-20241129T10.log.gz"))
        .unwrap();
    let text = {
        use std::io::Read;
        let mut s = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&hour).unwrap())
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    let half: String = text.lines().take(100).map(|l| format!("{l}\n")).collect();
    std::fs::write(&hour, gzip_of(half.as_bytes())).unwrap();
    let re = ingest_all();
    assert!(re.stderr.contains("ingested 1 objects"), "{}", re.stderr);
    assert_eq!(
        over_lake(PER_OBJECT),
        ask_since(data_s, since, PER_OBJECT),
        "after a re-upload"
    );

    // Two days later: the cold days pass delete-after, two more move.
    retain("2024-12-04T00:00:00Z", &[]).ok();
    let s = status_of(cmd(&["lake", "status", lake]).run());
    assert_eq!(s["deleted_through"], "2024-11-29");
    assert_eq!(s["hot_files"], "0", "{s:?}");
    let since = Some("2024-11-30T00:00:00Z");
    for (name, sql) in questions() {
        assert_eq!(over_lake(&sql), ask_since(data_s, since, &sql), "{name} later");
    }
    assert_eq!(over_lake(PER_OBJECT), ask_since(data_s, since, PER_OBJECT));
    assert!(cmd(&["lake", "verify", lake]).run().ok().contains("ok:"));
    // Bad policies and a lake without one get a one-line error.
    let bad = cmd(&["lake", "init", lake, "--move-after", "3d"]).run();
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--cold"), "{}", bad.stderr);
    let other = root.path().join("other");
    ingest(data_s, other.to_str().unwrap(), &[]).ok();
    let none = cmd(&["lake", "retain", other.to_str().unwrap()]).run();
    assert_eq!(none.code, 2);
    assert!(none.stderr.contains("no tier policy"), "{}", none.stderr);
    // Another lake may not share this one's cold location.
    let shared = cmd(&[
        "lake",
        "init",
        other.to_str().unwrap(),
        "--cold",
        "s3://lakes/cold/",
        "--move-after",
        "2d",
    ])
    .run();
    assert_eq!(shared.code, 2, "{}", shared.stdout);
    assert!(shared.stderr.contains("another lake's cold tier"), "{}", shared.stderr);
}

/// `kill -9` of `lake retain` at ten moments (deleting, copying to S3,
/// committing, vacuuming): after each, the lake shows every kept row once;
/// a last run finishes the job and `lake verify` passes.
#[test]
fn a_retain_killed_at_any_moment_loses_and_doubles_nothing() {
    let root = tempfile::tempdir().unwrap();
    let (_server, cmd) = s3_server(root.path());
    let data = root.path().join("raw");
    genlogs(&data, "2", "120", "200");
    let data_s = data.to_str().unwrap();
    let make = |name: &str| {
        let lake = root.path().join(name).to_str().unwrap().to_string();
        // Small commits: many files per day, so a kill can fall mid-move.
        ingest(data_s, &lake, &["-q", "--commit-kib", "64"]).ok();
        let cold = format!("s3://lakes/{name}-cold/");
        cmd(&[
            "lake",
            "init",
            &lake,
            "--cold",
            &cold,
            "--move-after",
            "2d",
            "--delete-after",
            "4d",
        ])
        .run()
        .ok();
        lake
    };
    let args = |lake: &str| {
        vec![
            "lake".to_string(),
            "retain".into(),
            "-q".into(),
            lake.into(),
            "--now".into(),
            "2024-12-02T00:00:00Z".into(),
        ]
    };
    let probe = make("probe");
    let started = std::time::Instant::now();
    cmd(&args(&probe).iter().map(String::as_str).collect::<Vec<_>>())
        .run()
        .ok();
    let took = started.elapsed();
    let lake = make("lake");
    let lake_args = args(&lake);
    let lake_args: Vec<&str> = lake_args.iter().map(String::as_str).collect();
    for k in 0..10u32 {
        let (mut c, _home) = cmd(&lake_args).into_parts();
        let mut child = c.stdout(std::process::Stdio::null()).spawn().unwrap();
        std::thread::sleep(took * k / 10);
        let _ = child.kill();
        let _ = child.wait();
        let st = status_of(cmd(&["lake", "status", &lake]).run());
        let since = shown_from(&st["deleted_through"]);
        let over_lake = cmd(&["query", "-q", "-o", "csv", "--lake", &lake, PER_OBJECT]).run();
        assert_eq!(
            over_lake.ok(),
            ask_since(data_s, since.as_deref(), PER_OBJECT),
            "after a kill at {k}/10 of {took:?}"
        );
    }
    cmd(&lake_args).run().ok();
    let s = status_of(cmd(&["lake", "status", &lake]).run());
    assert_eq!(s["deleted_through"], "2024-11-27");
    assert_eq!(s["rows"], s["rows_in_files"]);
    let since = Some("2024-11-28T00:00:00Z");
    let over_lake = cmd(&["query", "-q", "-o", "csv", "--lake", &lake, PER_OBJECT]).run();
    assert_eq!(over_lake.ok(), ask_since(data_s, since, PER_OBJECT));
    let verify = cmd(&["lake", "verify", &lake]).run();
    assert!(verify.ok().contains("ok:"), "{}", verify.stdout);
    // Nothing of the moved or deleted days is left on the hot disk.
    let left: Vec<_> = walk(Path::new(&lake))
        .into_iter()
        .filter(|p| {
            let p = p.to_string_lossy();
            p.ends_with(".parquet") && ["_day=2024-11-2"].iter().any(|d| p.contains(d))
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A lake of 72 hours of three hosts' objects on S3; one more hour
/// arrives: the next ingest GETs exactly the three new objects (counted on
/// the test server), lists only recent date folders, and adds files for
/// the new hour's day only, rewriting none.
#[test]
fn one_more_hour_reads_its_three_objects_and_rewrites_no_old_file() {
    let root = tempfile::tempdir().unwrap();
    generate(&root.path().join("logs"), 3, 72, 60, 0.002, 0.01);
    let (server, cmd) = s3_server(root.path());
    let from = "s3://logs/sakura-webaccelerator/";
    let lake = root.path().join("lake");
    let lake_s = lake.to_str().unwrap();
    let first = cmd(&["ingest", "--from", from, "--lake", lake_s]).run();
    first.ok();
    assert!(first.stderr.contains("ingested 216 objects"), "{}", first.stderr);
    let more = tempfile::tempdir().unwrap();
    generate(more.path(), 3, 73, 60, 0.002, 0.01);
    let mut added = 0;
    for f in walk(more.path()) {
        let to = root.path().join("logs").join(f.strip_prefix(more.path()).unwrap());
        if !to.exists() {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&f, &to).unwrap();
            added += 1;
        }
    }
    assert_eq!(added, 3);
    let before: std::collections::BTreeSet<_> = walk(&lake).into_iter().collect();
    server.take_requests();
    let next = cmd(&["ingest", "--from", from, "--lake", lake_s]).run();
    let requests = server.take_requests();
    next.ok();
    assert!(next.stderr.contains("ingested 3 objects"), "{}", next.stderr);
    let gets: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("GET /logs/") && !r.contains("list-type"))
        .collect();
    assert_eq!(gets.len(), 3, "{requests:#?}");
    // The walk down to each host's newest date folders (the new day and
    // the one before, for the late-arrival margin): no older date folder.
    let lists: Vec<&String> = requests.iter().filter(|r| r.contains("list-type")).collect();
    assert!(lists.len() <= 16, "{lists:#?}");
    for old in ["27", "28"] {
        assert!(
            !lists.iter().any(|r| r.contains(&format!("%2F11%2F{old}%2F"))),
            "{lists:#?}"
        );
    }
    let after: std::collections::BTreeSet<_> = walk(&lake).into_iter().collect();
    assert!(before.is_subset(&after), "an old file went away");
    let day = status(lake_s)["last_day"].clone();
    let new_data: Vec<_> = after
        .difference(&before)
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    assert!(!new_data.is_empty());
    for p in &new_data {
        assert!(
            p.to_string_lossy().contains(&format!("_day={day}")),
            "{p:?} is not of {day}"
        );
    }
    for (name, sql) in questions() {
        let raw = cmd(&["query", "-q", "-o", "csv", "--from", from, &sql]).run();
        let ours = cmd(&["query", "-q", "-o", "csv", "--lake", lake_s, &sql]).run();
        assert_eq!(ours.ok(), raw.ok(), "{name}");
    }
}

/// Two retains and an ingest of late objects at once: every commit edgelog
/// makes carries one application transaction, so a writer that planned
/// from a snapshot another one has passed plans again. Without it, two
/// retains both subtracted the deleted days' rows from the count, and an
/// ingest planned before the delete wrote rows of a deleted day.
#[test]
fn two_retains_and_an_ingest_at_once_show_every_row_once() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("raw");
    genlogs(&data, "2", "120", "200");
    let data_s = data.to_str().unwrap();
    let first = data.join("sakura-webaccelerator/example.user.webaccel.jp");
    let lake = root.path().join("lake");
    let cold = root.path().join("cold");
    let (lake, cold) = (lake.to_str().unwrap(), cold.to_str().unwrap());
    ingest(first.to_str().unwrap(), lake, &["-q", "--commit-kib", "64"]).ok();
    let init = [
        "lake",
        "init",
        lake,
        "--cold",
        cold,
        "--move-after",
        "2d",
        "--delete-after",
        "4d",
    ];
    Cmd::new(init).run().ok();
    // Days up to the 27th move to the cold tier; two days later they are
    // deleted there, and the hot commit that says so removes no file.
    let moved = Cmd::new(["lake", "retain", "-q", lake, "--now", "2024-11-30T00:00:00Z"]).run();
    assert!(moved.ok().contains("move\thot\t2024-11-27"), "{}", moved.stdout);
    let retain = ["lake", "retain", "-q", lake, "--now", "2024-12-02T00:00:00Z"];
    // The second host's objects, all days of them, arrive as retain runs.
    let late = ["ingest", "-q", "--from", data_s, "--lake", lake, "--commit-kib", "64"];
    let spawn = |args: &[&str]| {
        let (mut c, home) = Cmd::new(args).into_parts();
        let c = c
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        (c.spawn().unwrap(), home)
    };
    let runs = [spawn(&late), spawn(&retain), spawn(&retain)];
    for (child, _home) in runs {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let s = status(lake);
    assert_eq!(s["deleted_through"], "2024-11-27");
    assert_eq!(s["rows"], s["rows_in_files"], "{s:?}");
    let since = Some("2024-11-28T00:00:00Z");
    assert_eq!(ask(&["--lake", lake], PER_OBJECT), ask_since(data_s, since, PER_OBJECT));
    let verify = Cmd::new(["lake", "verify", lake]).run();
    assert!(verify.ok().contains("ok:"), "{}", verify.stdout);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A lake written by an edgelog before `forwarded_for` (tests/data/lake-v1)
/// keeps its columns: queries read it as it was, raw objects beside it are
/// read without the derived column too, and ingests into it still commit.
#[test]
fn a_lake_made_before_forwarded_for_keeps_its_columns() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/lake-v1");
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    copy_dir(&fixture.join("combined_xff"), &lake);
    let lake = lake.to_str().unwrap();
    let columns = ask(&["--lake", lake], "SELECT * FROM logs LIMIT 0");
    assert!(
        columns.contains("http_x_forwarded_for") && !columns.contains(",forwarded_for"),
        "{columns}"
    );
    let fields = "client_ip, time, path, status, bytes, http_x_forwarded_for";
    let sql = format!("SELECT {fields} FROM logs ORDER BY time, _line");
    let raw_a = fixture.join("shop-a.log");
    let raw = ask(&["--from", raw_a.to_str().unwrap()], &sql);
    assert_eq!(ask(&["--lake", lake], &sql), raw);
    assert_eq!(raw.lines().count(), 41);

    // More objects: ingested in the lake's columns, and read beside it.
    let more = dir.path().join("more");
    std::fs::create_dir_all(&more).unwrap();
    let shop =
        std::fs::read_to_string(shared_dir().join("corpus/nginx_combined_xff/lnav_logfile_shop_access_log.0")).unwrap();
    let next: String = shop.lines().skip(40).take(60).map(|l| format!("{l}\n")).collect();
    std::fs::write(more.join("shop-b.log"), next).unwrap();
    let more = more.to_str().unwrap();
    let beside = ask(&["--lake", lake, "--from", more], "SELECT count(*) FROM logs");
    assert_eq!(beside, "count(*)\n100\n");
    ingest(more, lake, &["-q"]).ok();
    assert_eq!(ask(&["--lake", lake], "SELECT count(*) FROM logs"), "count(*)\n100\n");
    let columns = ask(&["--lake", lake], "SELECT * FROM logs LIMIT 0");
    assert!(!columns.contains(",forwarded_for"), "{columns}");
    // A new lake of the same files has the column.
    let fresh = dir.path().join("fresh");
    let fresh = fresh.to_str().unwrap();
    ingest(more, fresh, &["-q"]).ok();
    let columns = ask(&["--lake", fresh], "SELECT * FROM logs LIMIT 0");
    assert!(columns.contains(",forwarded_for"), "{columns}");
}
