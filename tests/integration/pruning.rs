//! Time pruning by object key never changes an answer: for windows across
//! hour and day boundaries, with late records in the data, the pruned
//! answer equals the full scan, while fewer objects are read.

use crate::harness::{Cmd, generate};

const Q: &str = "SELECT count(*) n, sum(bytes) b, count(DISTINCT client_ip) c, min(time) lo, max(time) hi FROM logs";

fn epoch(s: &str) -> i64 {
    edgelog_parse::time::parse_iso8601(s, 0).unwrap() / 1000
}

#[test]
fn pruned_answers_equal_full_scans() {
    let dir = tempfile::tempdir().unwrap();
    // 2 hosts x 50 hours from 2024-11-27T00+09:00: three days of folders,
    // 2% of records late (written into the next hour's object).
    generate(dir.path(), 2, 50, 400, 0.0, 0.02);
    let from = dir.path().to_str().unwrap();
    let windows = [
        ("2024-11-28T13:00:00+09:00", "2024-11-28T14:00:00+09:00"),
        ("2024-11-27T23:30:00+09:00", "2024-11-28T00:30:00+09:00"),
        ("2024-11-27T00:00:00+09:00", "2024-11-27T00:10:00+09:00"),
        ("2024-11-29T01:00:00+09:00", "2024-11-29T02:00:00+09:00"),
        ("2024-11-28T05:59:00Z", "2024-11-28T07:01:00Z"),
    ];
    for (since, until) in windows {
        let full = Cmd::new([
            "query",
            "-q",
            "--from",
            from,
            &format!(
                "{Q} WHERE to_unixtime(time) >= {} AND to_unixtime(time) < {}",
                epoch(since),
                epoch(until)
            ),
        ])
        .run();
        let by_flags = Cmd::new(["query", "-v", "--from", from, "--since", since, "--until", until, Q]).run();
        let by_where = Cmd::new([
            "query",
            "-q",
            "--from",
            from,
            &format!("{Q} WHERE time >= '{since}' AND time < '{until}'"),
        ])
        .run();
        assert_eq!(by_flags.ok(), full.ok(), "--since {since} --until {until}");
        assert_eq!(by_where.ok(), full.ok(), "WHERE {since}..{until}");
        assert!(!full.ok().contains("\n0,"), "window {since} has data");
        let selected = by_flags
            .stderr
            .lines()
            .find(|l| l.contains("selected"))
            .unwrap()
            .to_string();
        let n: usize = selected.split_whitespace().nth(2).unwrap().parse().unwrap();
        // At most 3 hours of window plus an hour of margin each side, 2 hosts.
        assert!(n <= 10, "{selected}");
    }
}

#[test]
fn last_selects_recent_objects_only() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 1, 3, 50, 0.0, 0.0);
    // Data from 2024: nothing in the last hour, and no object is read.
    let run = Cmd::new([
        "query",
        "-v",
        "--from",
        dir.path().to_str().unwrap(),
        "--last",
        "1h",
        "SELECT count(*) n FROM logs",
    ])
    .run();
    assert_eq!(run.ok(), "n\n0\n");
    assert!(run.stderr.contains("selected 0 objects"), "{}", run.stderr);
}
