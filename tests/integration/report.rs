//! `edgelog report`: snapshots of every renderer on the fixture, the
//! comparison window on data whose answer is known, one pass per report,
//! and hostile log text kept inert.

use std::path::Path;

use crate::harness::{edgelog, fixture, generate};

const SNAPSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/snapshots");

/// Compares `actual` with the stored snapshot `name`; with
/// `EDGELOG_UPDATE_SNAPSHOTS=1` the snapshot is rewritten instead.
#[track_caller]
fn snapshot(name: &str, actual: &str) {
    let path = Path::new(SNAPSHOTS).join(name);
    if std::env::var_os("EDGELOG_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(SNAPSHOTS).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("no snapshot {}; run with EDGELOG_UPDATE_SNAPSHOTS=1", path.display()));
    assert_eq!(actual, expected, "snapshot {name} differs");
}

fn report_of_fixture(output: &str) -> String {
    let dir = fixture();
    let run = edgelog(["report", "--from", &dir, "--tz", "UTC", "-o", output]);
    run.ok().replace(&dir, "FIXTURE/")
}

#[test]
fn table_markdown_and_json_snapshots() {
    snapshot("report.txt", &report_of_fixture("table"));
    snapshot("report.md", &report_of_fixture("markdown"));
    snapshot("report.json", &report_of_fixture("json"));
}

/// One Sakura line.
fn line(time: &str, path: &str, status: u16, cache: &str, ua: &str) -> String {
    format!(
        r#"{{"time":"{time}","http_host":"h.example","scheme":"https","remote_addr":"192.0.2.1","remote_port":"1","remote_user":"","request":"GET {path} HTTP/1.1","status":"{status}","bytes_sent":"100","body_bytes_sent":"90","referer":"","x_cache":"{cache}","msec":"","request_id":"r","user_agent":"{ua}"}}"#
    ) + "\n"
}

/// Writes an hour object of the Sakura layout holding `lines`.
fn hour_object(root: &Path, day: &str, hour: &str, lines: &str) {
    let (y, m, d) = (&day[0..4], &day[4..6], &day[6..8]);
    let dir = root.join(format!("h.example/{y}/{m}/{d}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("access-{day}T{hour}.log")), lines).unwrap();
}

#[test]
fn compare_previous_puts_each_figure_beside_the_window_before() {
    let dir = tempfile::tempdir().unwrap();
    // 10:00-11:00 +09:00: 2 requests (1 hit); 11:00-12:00: 4 requests (3 hits, one 503).
    let before = line("2024-11-27T10:05:00+09:00", "/a", 200, "HIT", "ua")
        + &line("2024-11-27T10:06:00+09:00", "/b", 200, "MISS", "ua");
    let now = line("2024-11-27T11:05:00+09:00", "/a", 200, "HIT", "ua")
        + &line("2024-11-27T11:06:00+09:00", "/a", 200, "HIT", "ua")
        + &line("2024-11-27T11:07:00+09:00", "/a", 503, "HIT", "ua")
        + &line("2024-11-27T11:08:00+09:00", "/c", 200, "MISS", "ua");
    hour_object(dir.path(), "20241127", "10", &before);
    hour_object(dir.path(), "20241127", "11", &now);
    let from = dir.path().to_str().unwrap();
    let args = |output: &str, compare: &str| {
        let mut a = vec![
            "report",
            "overview",
            "paths",
            "--from",
            from,
            "--since",
            "2024-11-27T11:00+09:00",
        ];
        a.extend_from_slice(&["--until", "2024-11-27T12:00+09:00", "-o", output, "--compare", compare]);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let json = edgelog(args("json", "previous")).ok().to_string();
    assert!(
        json.contains(r#""compare":{"since":"2024-11-27T10:00:00+09:00","until":"2024-11-27T11:00:00+09:00"}"#),
        "{json}"
    );
    // requests 4 against 2, hit ratio 0.75 against 0.5, 5xx ratio 0.25 against 0.
    let figures = json.split(r#""figures":"#).nth(1).unwrap();
    assert!(figures.contains(r#""rows":[[4,1,400,"#), "{figures}");
    assert!(figures.contains(r#""previous_rows":[[2,1,200,"#), "{figures}");
    assert!(figures.contains(",0.75,0.75,0,0.25,"), "{figures}");
    assert!(figures.contains(",0.5,0.5,0,0,"), "{figures}");
    // Top paths now and before.
    let by_requests = json.split(r#""by_requests":"#).nth(1).unwrap();
    assert!(
        by_requests.contains(r#""rows":[["/a",3,300],["/c",1,100]]"#),
        "{by_requests}"
    );
    assert!(
        by_requests.contains(r#""previous_rows":[["/a",1,100],["/b",1,100]]"#),
        "{by_requests}"
    );
    // The table renderer shows the change: 4 against 2 is +100%.
    let table = edgelog(args("table", "previous")).ok().to_string();
    let requests = table.lines().find(|l| l.trim_start().starts_with("requests ")).unwrap();
    assert!(requests.contains("prev") && requests.contains("+100.0%"), "{requests}");
    // A shift of one hour is the same window here.
    assert_eq!(edgelog(args("json", "1h")).ok(), json);
    // A comparison window with no logs at all is shown as empty, not an error.
    let empty = edgelog(args("json", "2h")).ok().to_string();
    let figures = empty.split(r#""figures":"#).nth(1).unwrap();
    assert!(figures.contains(r#""rows":[[4,1,400,"#), "{figures}");
    assert!(figures.contains(r#""previous_rows":[[0,0,null,"#), "{figures}");
}

#[test]
fn a_report_reads_every_object_once_whatever_the_panels() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 2, 3, 400, 0.01, 0.0);
    let from = dir.path().to_str().unwrap();
    let objects = |panels: &[&str]| {
        let mut a = vec!["report", "--from", from, "-o", "json"];
        a.extend_from_slice(panels);
        let json = edgelog(a).ok().to_string();
        json.split(r#""scan":"#)
            .nth(1)
            .unwrap()
            .split('}')
            .next()
            .unwrap()
            .to_string()
    };
    let one = objects(&["overview"]);
    let all = objects(&[]);
    assert_eq!(one, all, "the full report must scan as much as one panel");
    assert!(one.contains(r#""objects":6"#), "{one}");
    // The overview's request count equals a plain count.
    let count = edgelog(["query", "--from", from, "-q", "SELECT count(*) FROM logs"])
        .ok()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    assert!(one.contains(&format!(r#""rows":{count}"#)), "{one} vs {count}");
}

#[test]
fn hostile_log_text_stays_text_in_every_renderer() {
    let dir = tempfile::tempdir().unwrap();
    let ua = r#"<script>alert(1)</script>\u001b[31m|x"#;
    hour_object(
        dir.path(),
        "20241127",
        "10",
        &line("2024-11-27T10:05:00+09:00", "/a", 200, "HIT", ua),
    );
    let from = dir.path().to_str().unwrap();
    let table = edgelog(["report", "agents", "--from", from, "-o", "table"])
        .ok()
        .to_string();
    assert!(table.contains("<script>alert(1)</script>?[31m"), "{table}");
    assert!(
        !table.contains('\u{1b}'),
        "an escape sequence from a log reached the terminal"
    );
    let md = edgelog(["report", "agents", "--from", from, "-o", "markdown"])
        .ok()
        .to_string();
    assert!(md.contains(r"<script>alert(1)</script>?[31m\|x"), "{md}");
    let json = edgelog(["report", "agents", "--from", from, "-o", "json"])
        .ok()
        .to_string();
    assert!(json.contains(r#""<script>alert(1)</script>\u001b[31m|x""#), "{json}");
}

#[test]
fn bad_report_options_are_one_line_errors() {
    let dir = fixture();
    let e = edgelog(["report", "nope", "--from", &dir]).error().to_string();
    assert!(e.contains("unknown panel \"nope\"") && e.contains("overview"), "{e}");
    let e = edgelog(["report", "--from", &dir, "-o", "xml"]).error().to_string();
    assert!(e.contains("bad --output \"xml\""), "{e}");
    let e = edgelog(["report", "--from", &dir, "--compare", "previous"])
        .error()
        .to_string();
    assert!(e.contains("--compare needs a time range"), "{e}");
    let e = edgelog(["report", "--from", &dir, "--last", "1h", "--compare", "soon"])
        .error()
        .to_string();
    assert!(e.contains("bad --compare \"soon\""), "{e}");
}
