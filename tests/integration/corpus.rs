//! Objects as the world writes them: every compression (told by magic
//! bytes, not by name), multi-member gzip, empty and zero-byte objects,
//! invalid UTF-8, huge lines, damaged streams and garbage.

use std::io::Write;
use std::path::Path;

use crate::harness::{edgelog, fixture};

fn line(minute: u32, path: &str, ua: &str) -> String {
    format!(
        "{{\"time\":\"2024-11-27T10:{minute:02}:00+09:00\",\"http_host\":\"h.example\",\"remote_addr\":\"192.0.2.{minute}\",\"request\":\"GET {path} HTTP/1.1\",\"status\":\"200\",\"bytes_sent\":\"{}\",\"x_cache\":\"HIT\",\"user_agent\":\"{ua}\"}}\n",
        100 + minute
    )
}

fn lines(n: u32) -> String {
    (0..n).map(|m| line(m, &format!("/p{m}"), "ua")).collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn put(dir: &Path, hour: u32, ext: &str, bytes: &[u8]) {
    let p = dir.join(format!("h.example/2024/11/27/access-20241127T{hour:02}.log{ext}"));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn answer(dir: &Path, sql: &str) -> (String, String) {
    let run = edgelog(["query", "--from", dir.to_str().unwrap(), sql]);
    (run.ok().to_string(), run.stderr)
}

#[test]
fn every_compression_gives_the_same_rows() {
    let text = lines(50);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    put(d, 0, "", text.as_bytes());
    put(d, 1, ".gz", &gzip(text.as_bytes()));
    // Appending gzip files makes a multi-member file: every member is read.
    let (a, b) = text.split_at(text.len() / 3);
    put(d, 2, ".gz", &[gzip(a.as_bytes()), gzip(b.as_bytes())].concat());
    put(d, 3, ".zst", &zstd::encode_all(text.as_bytes(), 3).unwrap());
    // Magic bytes, not names: gzip named .log, plain text named .log.gz.
    put(d, 4, "", &gzip(text.as_bytes()));
    put(d, 5, ".gz", text.as_bytes());
    // Empty objects: zero bytes, and a gzip of nothing.
    put(d, 6, ".gz", b"");
    put(d, 7, ".gz", &gzip(b""));
    let (out, err) = answer(
        d,
        "SELECT regexp_replace(_file, '.*access-', '') f, count(*) n, sum(bytes) b, count(DISTINCT path) p FROM logs GROUP BY f ORDER BY f",
    );
    let expected_row = |f: &str| format!("{f},50,{},50", (100..150).sum::<u32>());
    let expected: Vec<String> = [
        "20241127T00.log",
        "20241127T01.log.gz",
        "20241127T02.log.gz",
        "20241127T03.log.zst",
        "20241127T04.log",
        "20241127T05.log.gz",
    ]
    .iter()
    .map(|f| expected_row(f))
    .collect();
    assert_eq!(out, format!("f,n,b,p\n{}\n", expected.join("\n")));
    assert!(err.starts_with("300 rows from 8 objects; no malformed lines"), "{err}");
}

#[test]
fn invalid_utf8_is_kept_and_counted_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = line(1, "/ok", "fine").into_bytes();
    bytes.extend_from_slice(
        b"{\"time\":\"2024-11-27T10:02:00+09:00\",\"request\":\"GET /bad HTTP/1.1\",\"user_agent\":\"x\xff\xfey\"}\n",
    );
    put(dir.path(), 0, ".gz", &gzip(&bytes));
    let (out, err) = answer(dir.path(), "SELECT path, user_agent FROM logs ORDER BY path");
    assert_eq!(out, "path,user_agent\n/bad,x\u{fffd}\u{fffd}y\n/ok,fine\n");
    assert!(err.contains("1 lines with invalid UTF-8"), "{err}");
}

#[test]
fn huge_lines_and_crlf_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    let big = "A".repeat(2 * 1024 * 1024);
    let text = format!(
        "{}{}",
        line(1, "/big", &big).replace('\n', "\r\n"),
        line(2, "/small", "s")
    );
    put(dir.path(), 0, ".gz", &gzip(text.as_bytes()));
    let (out, _) = answer(dir.path(), "SELECT path, length(user_agent) l FROM logs ORDER BY path");
    assert_eq!(out, format!("path,l\n/big,{}\n/small,1\n", big.len()));
}

#[test]
fn malformed_lines_are_counted_per_object_with_samples() {
    let dir = tempfile::tempdir().unwrap();
    let good = lines(3);
    put(
        dir.path(),
        0,
        ".gz",
        &gzip(format!("{good}{{\"time\":\"2024-11-27T10:0\n").as_bytes()),
    );
    put(
        dir.path(),
        1,
        ".gz",
        &gzip(format!("not json at all\n{good}[1,2]\n").as_bytes()),
    );
    let run = edgelog([
        "query",
        "-v",
        "--from",
        dir.path().to_str().unwrap(),
        "SELECT count(*) n FROM logs",
    ]);
    assert_eq!(run.ok(), "n\n6\n");
    let summary = run.stderr.lines().last().unwrap();
    assert!(
        summary.starts_with("6 rows from 2 objects; 3 malformed lines in 2 objects, first: /"),
        "{summary}"
    );
    assert!(run.stderr.contains("access-20241127T00.log.gz:4: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("access-20241127T01.log.gz:1: not a JSON object"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("access-20241127T01.log.gz:5: not a JSON object"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_damaged_gzip_stream_is_an_error_naming_the_object() {
    let dir = tempfile::tempdir().unwrap();
    let gz = gzip(lines(2000).as_bytes());
    put(dir.path(), 0, ".gz", &gz[..gz.len() / 2]);
    let run = edgelog([
        "query",
        "--from",
        dir.path().to_str().unwrap(),
        "SELECT count(*) FROM logs",
    ]);
    let err = run.error();
    assert!(
        err.contains("cannot read /") && err.contains("access-20241127T00.log.gz"),
        "{err}"
    );
}

#[test]
fn garbage_objects_never_crash() {
    let dir = tempfile::tempdir().unwrap();
    const PALETTE: &[u8] = b"{}[]\":,\\u0123456789abcdef tn-\n\xff";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let garbage: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mostly JSON punctuation and newlines, to reach deep parser states.
            PALETTE[(x % PALETTE.len() as u64) as usize]
        })
        .collect();
    put(dir.path(), 0, "", &garbage);
    put(dir.path(), 1, ".gz", &gzip(&garbage));
    let run = edgelog([
        "query",
        "--format",
        "sakura",
        "--from",
        dir.path().to_str().unwrap(),
        "SELECT count(*) n FROM logs",
    ]);
    run.ok();
    assert!(run.stderr.contains("malformed lines in 2 objects"), "{}", run.stderr);
}

#[test]
fn a_single_object_can_be_named_directly_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("downloaded.json.gz");
    std::fs::write(&p, gzip(lines(4).as_bytes())).unwrap();
    let run = edgelog([
        "query",
        "-q",
        "--from",
        p.to_str().unwrap(),
        "SELECT count(*) n FROM logs",
    ]);
    assert_eq!(run.ok(), "n\n4\n");
    // And globs select by name, across folders with `**`.
    let run = edgelog([
        "query",
        "-q",
        "--from",
        &format!("{}**.gz", fixture()),
        "SELECT count(*) n FROM logs",
    ]);
    assert_eq!(run.ok(), "n\n4\n");
    let run = edgelog([
        "query",
        "-q",
        "--from",
        &format!(
            "{}sakura-webaccelerator/{{example,site1}}.user.webaccel.jp/**/*.log",
            fixture()
        ),
        "SELECT count(*) n FROM logs",
    ]);
    assert_eq!(run.ok(), "n\n6\n");
}
