//! Every dialect through the binary: each file of the shared corpus is
//! detected as its format and every data line is either a row or a
//! malformed line reported with its number; user-defined formats;
//! ambiguity and mixed-format errors; `auto-per-object`; reports on every
//! dialect; detection, query and key-template pruning over S3.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::harness::{Cmd, edgelog, shared_dir};

use crate::s3::server;

fn corpus(rel: &str) -> PathBuf {
    shared_dir().join("corpus").join(rel)
}

fn formats_dir(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/formats")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// Line numbers of data lines: not blank, not a `#` directive.
pub(crate) fn data_lines(path: &Path) -> BTreeSet<u64> {
    let raw = std::fs::read(path).unwrap();
    let mut bytes = Vec::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut bytes)
            .unwrap();
    } else {
        bytes = raw;
    }
    let text = String::from_utf8_lossy(&bytes);
    text.split('\n')
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

/// The `_line` of every row edgelog reads from `path`.
pub(crate) fn row_lines(path: &str, format: &str) -> BTreeSet<u64> {
    let run = edgelog([
        "query",
        "-q",
        "--format",
        format,
        "--from",
        path,
        "-o",
        "csv",
        "SELECT _line FROM logs",
    ]);
    run.ok().lines().skip(1).map(|l| l.parse().unwrap()).collect()
}

pub(crate) fn detected(path: &str) -> String {
    let run = edgelog(["detect", path]);
    let out = run.ok();
    let last = out.lines().last().unwrap_or_default();
    last.strip_prefix("format: ")
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("no verdict in {out}"))
        .to_string()
}

/// The NASA copy is wrapped every ~8 KB, not only cut at the end: each
/// wrap leaves one or two pieces that are not log lines.
const NASA_MALFORMED: &[u64] = &[
    38, 39, 77, 78, 116, 117, 154, 155, 193, 194, 231, 232, 269, 270, 307, 308, 344, 345, 382, 383, 421, 422, 460, 500,
    501, 540, 541, 579, 580, 619, 620, 659, 660, 698, 699, 737, 738, 776, 813, 814, 852, 853, 889, 890, 927, 968, 1006,
    1007, 1045, 1084, 1085, 1122, 1123, 1160, 1161, 1198, 1199, 1237, 1238, 1275, 1314, 1352, 1353, 1392, 1429, 1430,
    1468, 1505, 1506, 1543, 1544, 1582, 1583, 1620, 1621, 1658, 1659, 1697, 1698, 1737, 1738, 1776, 1777, 1815, 1853,
    1854, 1892, 1893, 1930,
];

/// (corpus file, detected format, rows, malformed line numbers).
const CORPUS: &[(&str, &str, usize, &[u64])] = &[
    (
        "akamai_ds2_structured/akamai_datastream-sdk_test-data-custom.gz",
        "akamai",
        30,
        &[],
    ),
    (
        "apache_combined/elastic_examples_apache_logs",
        "combined",
        9999,
        &[8899],
    ),
    ("apache_combined/lnav_logfile_access_log.0", "combined", 3, &[]),
    ("apache_combined/lnav_logfile_bad_access_log.0", "combined", 2, &[2]),
    ("aws_alb/logq_AWSALB.log", "alb", 7, &[]),
    ("aws_elb_classic/logq_AWSELB.log", "elb", 668, &[]),
    ("aws_s3_access/logq_S3.log", "s3-access", 5, &[]),
    ("clf_nasa/NASA_access_log_Aug95_head", "common", 1841, NASA_MALFORMED),
    ("cloudflare_logpush/lnav_logfile_cloudflare.1", "cloudflare", 15, &[]),
    ("cloudflare_logpush/lnav_logfile_cloudflare.json", "cloudflare", 1, &[]),
    (
        "cloudfront_realtime/claygregory_kinesis-1-0.txt",
        "cloudfront-realtime",
        1,
        &[],
    ),
    (
        "cloudfront_standard/claygregory_web-1-0-2019-12.txt",
        "cloudfront",
        3,
        &[],
    ),
    ("cloudfront_standard/claygregory_web-1-0.txt", "cloudfront", 2, &[]),
    (
        "nginx_combined/nginx_logs_elastic_demo_prefix.txt",
        "combined",
        28021,
        &[],
    ),
    (
        "nginx_combined_xff/lnav_logfile_shop_access_log.0",
        "combined_xff",
        1000,
        &[],
    ),
    ("w3c_iis/lnav_logfile_w3c.0", "w3c", 1, &[]),
    ("w3c_iis/lnav_logfile_w3c.1", "w3c", 1, &[]),
    ("w3c_iis/lnav_logfile_w3c.2", "w3c", 14, &[]),
    ("w3c_iis/lnav_logfile_w3c.3", "w3c", 3, &[]),
    ("w3c_iis/lnav_logfile_w3c.4", "w3c", 2, &[]),
    ("w3c_iis/lnav_logfile_w3c.5", "w3c", 1, &[]),
    ("w3c_iis/lnav_logfile_w3c.6", "w3c", 1, &[]),
    ("w3c_iis/lnav_logfile_w3c_big.0", "w3c", 210, &[]),
];

/// `path` is detected as `format`, reads `rows` rows, and its data lines that
/// are not rows are exactly `malformed`: the summary counts them and `-v`
/// names the first.
pub(crate) fn check_file(path: &Path, format: &str, rows: usize, malformed: &[u64]) {
    let p = path.to_str().unwrap();
    assert_eq!(detected(p), format, "{p}");
    let got = row_lines(p, "auto");
    assert_eq!(got.len(), rows, "{p}: rows");
    let missing: Vec<u64> = data_lines(path).difference(&got).copied().collect();
    assert_eq!(missing, malformed, "{p}: data lines that are not rows");
    let run = edgelog(["query", "-v", "--from", p, "SELECT count(*) FROM logs"]);
    run.ok();
    if malformed.is_empty() {
        assert!(run.stderr.contains("no malformed lines"), "{p}: {}", run.stderr);
    } else {
        assert!(
            run.stderr.contains(&format!("{} malformed lines", malformed.len())),
            "{p}: {}",
            run.stderr
        );
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(
            run.stderr.contains(&format!("{name}:{}:", malformed[0])),
            "{p}: {}",
            run.stderr
        );
    }
}

#[test]
fn every_corpus_file_is_detected_and_each_data_line_is_a_row_or_a_numbered_malformed_line() {
    let mut seen = 0;
    for (rel, format, rows, malformed) in CORPUS {
        check_file(&corpus(rel), format, *rows, malformed);
        seen += 1;
    }
    // Every log file of the corpus is in the table (the two Akamai JSON
    // files are the stream's metadata, not logs).
    let mut files = 0;
    for dir in std::fs::read_dir(shared_dir().join("corpus")).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            files += std::fs::read_dir(&dir)
                .unwrap()
                .filter(|f| {
                    !f.as_ref().unwrap().file_name().to_string_lossy().ends_with(".json")
                        || f.as_ref().unwrap().file_name().to_string_lossy().contains("cloudflare")
                })
                .count();
        }
    }
    assert_eq!(files, seen, "corpus files without an entry");
}

#[test]
fn hand_made_fixtures_are_detected_as_their_dialect() {
    for (file, format) in [
        ("nginx_json.log", "nginx-json"),
        ("fastly.log", "fastly"),
        ("gcp_lb.json", "gcp-lb"),
        ("akamai.json", "akamai-json"),
        ("generic.ndjson", "ndjson"),
        ("combined_request_time.log", "combined_request_time"),
        ("vhost_combined.log", "vhost_combined"),
    ] {
        assert_eq!(detected(&formats_dir(file)), format, "{file}");
    }
    let sakura = crate::harness::fixture();
    assert_eq!(detected(&sakura), "sakura");
}

#[test]
fn an_ambiguous_sample_is_an_error_naming_the_candidates_and_the_flag() {
    let f = formats_dir("combined_usec.log");
    let run = edgelog(["query", "--from", &f, "SELECT count(*) FROM logs"]);
    let err = run.error();
    assert!(
        err.contains("ambiguous")
            && err.contains("combined_request_time")
            && err.contains("combined_usec")
            && err.contains("--format combined_usec"),
        "{err}"
    );
    let run = edgelog([
        "query",
        "--format",
        "combined_usec",
        "-o",
        "csv",
        "--from",
        &f,
        "SELECT sum(request_time) FROM logs",
    ]);
    assert_eq!(run.ok().lines().nth(1), Some("1.512"));
}

#[test]
fn different_formats_in_one_location_are_an_error_unless_read_per_object() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        corpus("apache_combined/lnav_logfile_access_log.0"),
        dir.path().join("a.log"),
    )
    .unwrap();
    std::fs::copy(corpus("w3c_iis/lnav_logfile_w3c_big.0"), dir.path().join("b.log")).unwrap();
    let d = dir.path().to_str().unwrap();
    let run = edgelog(["query", "--from", d, "SELECT count(*) FROM logs"]);
    let err = run.error();
    assert!(
        err.contains("different formats")
            && err.contains("a.log is combined")
            && err.contains("b.log is w3c")
            && err.contains("auto-per-object"),
        "{err}"
    );
    let run = edgelog([
        "query",
        "--format",
        "auto-per-object",
        "-o",
        "csv",
        "--from",
        d,
        "SELECT _format, count(*) n, count(time) t, count(status) s FROM logs GROUP BY _format ORDER BY _format",
    ]);
    assert_eq!(run.ok(), "_format,n,t,s\ncombined,3,3,3\nw3c,210,210,210\n");
    // A short object is decided when it ends; its unknown fields are still reported.
    std::fs::write(
        dir.path().join("c.log"),
        r#"{"time":"2024-11-27T13:00:00+09:00","remote_addr":"192.0.2.1","request":"GET / HTTP/1.1","status":"200","surprise":"x"}"#,
    )
    .unwrap();
    let run = edgelog([
        "query",
        "--format",
        "auto-per-object",
        "-o",
        "csv",
        "--from",
        d,
        "SELECT _format, count(*) n FROM logs GROUP BY _format ORDER BY _format",
    ]);
    assert_eq!(run.ok(), "_format,n\ncombined,3\nsakura,1\nw3c,210\n");
    assert!(run.stderr.contains("surprise"), "{}", run.stderr);
}

#[test]
fn user_defined_formats_read_like_the_presets() {
    let xff = corpus("nginx_combined_xff/lnav_logfile_shop_access_log.0");
    let xff = xff.to_str().unwrap();
    let sql = "SELECT count(*), sum(bytes), count(DISTINCT client_ip), sum(status) FROM logs";
    let preset = edgelog(["query", "-o", "csv", "--from", xff, sql]).ok().to_string();
    let nginx = r#"nginx:$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for""#;
    let apache = r#"apache:%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{X-Forwarded-For}i""#;
    let regex = r#"regex:^(?P<remote_addr>\S+) \S+ (?P<remote_user>\S+) \[(?P<time_local>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d+) (?P<body_bytes_sent>\d+) "(?P<http_referer>[^"]*)" "(?P<http_user_agent>[^"]*)" "(?P<http_x_forwarded_for>[^"]*)"$"#;
    let conf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        conf.path(),
        "log_format main '$remote_addr - $remote_user [$time_local] \"$request\" '\n    '$status $body_bytes_sent \"$http_referer\" '\n    '\"$http_user_agent\" \"$http_x_forwarded_for\"';\n",
    )
    .unwrap();
    let file = format!("@{}", conf.path().display());
    for spec in [nginx, apache, regex, file.as_str()] {
        let run = edgelog(["query", "-o", "csv", "--format", spec, "--from", xff, sql]);
        assert_eq!(run.ok(), preset, "{spec}");
    }
    for (spec, want) in [
        ("nginx:$a$b", "nothing between them"),
        ("apache:%h %Z", "unsupported LogFormat directive %Z"),
        ("regex:(unclosed", "bad regex"),
        ("regex:\\S+", "no named groups"),
        ("nginx9", "unknown format \"nginx9\""),
    ] {
        let run = edgelog(["query", "--format", spec, "--from", xff, "SELECT 1"]);
        let err = run.error();
        assert!(err.contains(want), "{spec}: {err}");
    }
}

#[test]
fn reports_run_on_every_dialect() {
    let mut inputs: Vec<(String, &str)> = CORPUS
        .iter()
        .map(|(rel, ..)| (corpus(rel).to_string_lossy().into_owned(), "auto"))
        .collect();
    for f in [
        "nginx_json.log",
        "fastly.log",
        "gcp_lb.json",
        "akamai.json",
        "generic.ndjson",
        "combined_request_time.log",
        "vhost_combined.log",
    ] {
        inputs.push((formats_dir(f), "auto"));
    }
    inputs.push((formats_dir("combined_usec.log"), "combined_usec"));
    for (path, format) in &inputs {
        let rows = row_lines(path, format).len();
        let run = edgelog(["report", "-q", "-o", "json", "--format", format, "--from", path]);
        let json: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
        let panels = json["panels"].as_object().unwrap();
        assert_eq!(panels.len(), 11, "{path}");
        let figures = &panels["overview"]["tables"]["figures"];
        assert_eq!(figures["columns"][0], "requests", "{path}");
        let requests = &figures["rows"][0][0];
        assert_eq!(requests.as_u64(), Some(rows as u64), "{path}: {figures}");
    }
}

const KEY: &str = "AKIAEDGELOGTEST0002";
const SECRET: &str = "edgelog-formats-secret";

/// `edgelog ARGS` against the test's S3 server.
fn s3_run(s3: &server::S3Server, args: &[&str]) -> crate::harness::Run {
    Cmd::new(args)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_ENDPOINT_URL", s3.endpoint())
        .env("AWS_REGION", "us-east-2")
        .run()
}

#[test]
fn detection_queries_and_key_pruning_work_over_s3() {
    let root = tempfile::tempdir().unwrap();
    let s3 = server::S3Server::start(root.path().to_path_buf(), KEY, SECRET, 0);
    let bucket = root.path().join("cdn");
    // CloudFront: two objects named for two hours; ALB under AWSLogs/.
    let cf = bucket.join("cf");
    std::fs::create_dir_all(&cf).unwrap();
    std::fs::copy(
        corpus("cloudfront_standard/claygregory_web-1-0-2019-12.txt"),
        cf.join("E2ABC.2019-12-04-21.a1.gz.txt"),
    )
    .unwrap();
    std::fs::copy(
        corpus("cloudfront_standard/claygregory_web-1-0.txt"),
        cf.join("E2ABC.2014-05-23-01.b2.gz.txt"),
    )
    .unwrap();
    let alb = bucket.join("AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/07/02");
    std::fs::create_dir_all(&alb).unwrap();
    std::fs::copy(
        corpus("aws_alb/logq_AWSALB.log"),
        alb.join(
            "123456789012_elasticloadbalancing_us-east-2_app.my-lb.50dc6c495c0c9188_20180702T2225Z_192.0.2.1_2abc.log",
        ),
    )
    .unwrap();
    let cmd = |args: &[&str]| s3_run(&s3, args);
    let run = cmd(&["detect", "s3://cdn/cf/"]);
    assert!(run.ok().contains("format: cloudfront ("), "{}", run.stdout);
    let run = cmd(&["detect", "s3://cdn/AWSLogs/"]);
    assert!(run.ok().contains("format: alb ("), "{}", run.stdout);

    let sql = "SELECT count(*), sum(bytes), min(time) FROM logs";
    let local = edgelog(["query", "-o", "csv", "--from", cf.to_str().unwrap(), sql])
        .ok()
        .to_string();
    let remote = cmd(&["query", "-o", "csv", "--from", "s3://cdn/cf/", sql]);
    assert_eq!(remote.ok(), local);
    // One hour of CloudFront reads one object: the key names its hour.
    let run = cmd(&[
        "query",
        "-v",
        "-o",
        "csv",
        "--from",
        "s3://cdn/cf/",
        "--since",
        "2019-12-04T21:00Z",
        "--until",
        "2019-12-04T22:00Z",
        "--prune-margin",
        "0s",
        "SELECT count(*) FROM logs",
    ]);
    assert_eq!(run.ok(), "count(*)\n3\n");
    assert!(
        run.stderr.contains("selected 1 objects of 2 candidates"),
        "{}",
        run.stderr
    );
    // ALB: the date folders outside the range are not listed.
    let run = cmd(&[
        "query",
        "-v",
        "-o",
        "csv",
        "--from",
        "s3://cdn/AWSLogs/",
        "--since",
        "2018-07-05T00:00Z",
        "SELECT count(*) FROM logs",
    ]);
    assert_eq!(run.ok(), "count(*)\n0\n");
    assert!(
        run.stderr
            .contains("selected 0 objects of 0 candidates; 1 date folders not listed"),
        "{}",
        run.stderr
    );
    let run = cmd(&["report", "overview", "-q", "-o", "json", "--from", "s3://cdn/AWSLogs/"]);
    assert!(run.ok().contains("\"requests\""), "{}", run.stdout);
}

#[test]
fn every_corpus_dialect_is_detected_and_read_the_same_over_s3() {
    let root = tempfile::tempdir().unwrap();
    let s3 = server::S3Server::start(root.path().to_path_buf(), KEY, SECRET, 0);
    let bucket = root.path().join("corpus");
    for (i, (rel, ..)) in CORPUS.iter().enumerate() {
        let dir = bucket.join(format!("c{i:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        let name = Path::new(rel).file_name().unwrap();
        std::fs::copy(corpus(rel), dir.join(name)).unwrap();
    }
    let cmd = |args: &[&str]| s3_run(&s3, args);
    let sql =
        "SELECT count(*), count(time), count(status), sum(bytes), count(DISTINCT client_ip), count(path) FROM logs";
    for (i, (rel, format, ..)) in CORPUS.iter().enumerate() {
        let url = format!("s3://corpus/c{i:02}/");
        let run = cmd(&["detect", &url]);
        assert!(
            run.ok().contains(&format!("format: {format} (")),
            "{rel}: {}",
            run.stdout
        );
        let local = edgelog(["query", "-q", "-o", "csv", "--from", corpus(rel).to_str().unwrap(), sql]);
        let remote = cmd(&["query", "-q", "-o", "csv", "--from", &url, sql]);
        assert_eq!(remote.ok(), local.ok(), "{rel}");
        let report = cmd(&["report", "overview", "status", "-q", "-o", "json", "--from", &url]);
        let json: serde_json::Value = serde_json::from_str(report.ok()).unwrap();
        let rows: u64 = local
            .ok()
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            json["panels"]["overview"]["tables"]["figures"]["rows"][0][0].as_u64(),
            Some(rows),
            "{rel}"
        );
    }
}

#[test]
fn cloudfront_realtime_records_without_a_header_follow_the_declared_fields() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("kinesis.txt");
    // A distribution set up to log five fields, not a prefix of the order.
    std::fs::write(
        &f,
        "1607374321.541\t127.0.0.1\t200\t/i\tMozilla/5.0%20(X11)\n1607374322.002\t2001:db8::1\t503\t/j\t-\n",
    )
    .unwrap();
    let p = f.to_str().unwrap();
    let spec = "cloudfront-realtime:timestamp,c-ip,sc-status,cs-uri-stem,cs-user-agent";
    let run = edgelog([
        "query",
        "-o",
        "csv",
        "--format",
        spec,
        "--from",
        p,
        "SELECT time, client_ip, status, path, user_agent FROM logs ORDER BY _line",
    ]);
    assert_eq!(
        run.ok(),
        "time,client_ip,status,path,user_agent\n2020-12-07T20:52:01.541Z,127.0.0.1,200,/i,Mozilla/5.0 (X11)\n2020-12-07T20:52:02.002Z,2001:db8::1,503,/j,\n"
    );
    let run = edgelog([
        "query",
        "--format",
        "cloudfront-realtime:timestamp,nope",
        "--from",
        p,
        "SELECT 1",
    ]);
    assert!(
        run.error().contains("unknown CloudFront real-time field \"nope\""),
        "{}",
        run.stderr
    );
}
