//! Formats, second round, through the binary: real files from other
//! projects' test suites (`tests/data/real/*/`, provenance in each folder's
//! SOURCES.md) are detected as their dialect and every data line is a row
//! or a numbered malformed line; every new dialect's report panels have
//! data; messy files (mixed common and combined lines, BOM, CRLF, blank and
//! comment lines, no final newline, X-Forwarded-For lists) read whole; JSON
//! of any shape fills the canonical columns, or the user's mapping does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::formats::{check_file, detected};
use crate::harness::edgelog;

fn real(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/real")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// (file under tests/data/real, detected format, rows, malformed line numbers).
const REAL: &[(&str, &str, usize, &[u64])] = &[
    // Apache error-log lines among the access lines.
    ("apache_mixed/crowdsec_apache2-logs.log", "combined", 7, &[8, 9]),
    (
        "apache_mixed/crowdsec_apache2-malformed_apache2-logs.log",
        "combined",
        11,
        &[],
    ),
    (
        "apache_mixed/elastic-beats_apache_access_darwin-2.4.23.log",
        "common",
        6,
        &[],
    ),
    // Common, combined, `"-" 408 -`, combined + XFF and a vhost line in one file.
    (
        "apache_mixed/elastic-beats_apache_access_test.log",
        "combined_xff",
        7,
        &[],
    ),
    ("apache_mixed/lnav_logfile_access_log.1", "combined", 1, &[]),
    // Line 8 is cut inside the user agent.
    ("apache_mixed/plaso_apache_access.log", "combined", 14, &[8]),
    // Line 7 is not JSON (on purpose, in Elastic's suite).
    (
        "azure_frontdoor/elastic-integrations_azure_frontdoor_test-fdaccess.log",
        "azure-frontdoor",
        6,
        &[7],
    ),
    (
        "azure_frontdoor/msdocs_waf-front-door-tuning_access-log-examples.extracted.ndjson",
        "azure-frontdoor",
        2,
        &[],
    ),
    ("caddy/crowdsec_caddy-basic-auth-bf_caddy-logs.log", "caddy", 6, &[]),
    // Line 11 is a Caddy runtime message, not an access entry.
    ("caddy/crowdsec_caddy-logs.log", "caddy", 10, &[11]),
    // `docker compose logs` output: 35 runtime messages and 4 access entries.
    ("caddy/lnav_logfile_caddy_log.0", "ndjson", 39, &[]),
    ("caddy/lnav_logfile_caddy_log.1", "caddy", 4, &[]),
    // Envoy JSON (Envoy Gateway's keys).
    ("envoy/crowdsec_envoy-http-bad-user-agent.log", "envoy-json", 2, &[]),
    ("envoy/crowdsec_envoy-http-crawl-non_statics.log", "envoy-json", 41, &[]),
    // CRI-prefixed JSON; 4 text lines in another format.
    ("envoy/crowdsec_envoy.log", "envoy-json", 6, &[4, 5, 9, 10]),
    ("envoy/elastic-beats_envoy-json.log", "ndjson", 2, &[]),
    ("envoy/elastic-beats_envoy.log", "envoy", 4, &[]),
    // Lines 6 and 7 are Docker JSON records wrapping an Envoy line.
    ("envoy/elastic-integrations_test-log.log", "envoy", 5, &[6, 7]),
    (
        "gcp_cdn/elastic-integrations_gcp_test-load-balancer.log",
        "gcp-lb",
        3,
        &[],
    ),
    ("gcp_cdn/foxsec-pipeline_httpreq_errorrate1.txt", "gcp-lb", 55, &[]),
    // HTTP lines and the error format (SSL handshake failures).
    ("haproxy/crowdsec_haproxy-logs.log", "haproxy", 5, &[]),
    (
        "haproxy/crowdsec_haproxy-nextcloud-whitelist_haproxy-logs.log",
        "haproxy",
        1,
        &[],
    ),
    ("haproxy/elastic-beats_httplog-no-headers.log", "haproxy", 3, &[]),
    ("haproxy/elastic-beats_tcplog.log", "haproxy", 1, &[]),
    ("haproxy/elastic-integrations_test-error.log", "haproxy", 1, &[]),
    (
        "haproxy/elastic-integrations_test-haproxy-bad-req.log",
        "haproxy",
        1,
        &[],
    ),
    // Line 2 is a custom log-format (a host name before the timers).
    ("haproxy/elastic-integrations_test-haproxy.log", "haproxy", 3, &[2]),
    // option httpslog: TLS fields after the request.
    ("haproxy/elastic-integrations_test-https.log", "haproxy", 1, &[]),
    ("haproxy/elastic-integrations_test-tcplog.log", "haproxy", 5, &[]),
    ("haproxy/fail2ban_haproxy-http-auth", "haproxy", 4, &[]),
    // Lines 1-3: `Proxy ... started.`
    ("haproxy/lnav_logfile_haproxy.0", "haproxy", 14, &[1, 2, 3]),
    ("json_custom/lnav_logfile_json3.json", "ndjson", 3, &[]),
    (
        "json_custom/plaso_azure_application_gateway_access.json",
        "ndjson",
        2,
        &[],
    ),
    // Lines 8 and 9: nginx error-log lines.
    ("nginx_xff_list/crowdsec_nginx_http-logs.log", "combined", 7, &[8, 9]),
    (
        "nginx_xff_list/elastic-beats_nginx_access_test-with-host.log",
        "combined_xff",
        10,
        &[],
    ),
    // Line 2 has an X-Forwarded-For field more than the combined lines:
    // combined_xff reads them all.
    (
        "nginx_xff_list/elastic-beats_nginx_access_test.log",
        "combined_xff",
        7,
        &[],
    ),
    ("squid/elastic-beats_squid_access2.log", "squid", 100, &[]),
    ("squid/elastic-beats_squid_access3.log", "squid", 100, &[]),
    ("squid/elastic-beats_squid_access4.log", "squid", 100, &[]),
    ("squid/elastic-integrations_squid_test-access.log", "squid", 100, &[]),
    // Netdata's generated file has 16 junk lines on purpose.
    (
        "squid/netdata-go.d_squidlog_access.log",
        "squid",
        484,
        &[
            1, 26, 45, 118, 152, 167, 179, 220, 229, 328, 362, 382, 405, 451, 472, 489,
        ],
    ),
    ("traefik/crowdsec_traefik_clf.log", "traefik", 7, &[]),
    // Line 6: a plugin's DEBUG line.
    ("traefik/crowdsec_traefik_json.log", "traefik-json", 6, &[6]),
    // Traefik 1.x (bare - referer) and a plain common line.
    ("traefik/elastic-beats_test.log", "traefik", 7, &[]),
    ("traefik/elastic-integrations_test-format-common.log", "traefik", 8, &[]),
    (
        "traefik/elastic-integrations_test-format-json.log",
        "traefik-json",
        7,
        &[],
    ),
    ("traefik/fail2ban_traefik-auth", "traefik", 6, &[]),
    // varnishncsa's default output is the combined format.
    (
        "varnish/varnishevent-vsl_varnishncsa-7.1.1_default.derived.log",
        "combined",
        294,
        &[],
    ),
    ("varnish/varnishfoo_chapter-3_extract.log", "combined", 2, &[]),
];

/// Files no format reads by itself: what they are is in SOURCES.md.
const UNREADABLE: &[&str] = &[
    // Pretty-printed JSON documents (`{"records": [...]}` over many lines).
    "azure_frontdoor/otel-contrib_azurelogs_azurecdnaccesslog_valid_3.json",
    "azure_frontdoor/otel-contrib_azurelogs_cdnaccesslog_valid_2.json",
    "azure_frontdoor/otel-contrib_azurelogs_log-azurecdnaccesslog.json",
    "azure_frontdoor/otel-contrib_azurelogs_log-frontdooraccesslog.json",
    // HAProxy's old `Connect from` message only.
    "haproxy/elastic-beats_default.log",
    // A custom HAProxy log-format (10 of 11 lines).
    "haproxy/elastic-beats_haproxy.log",
    // A custom Squid logformat.
    "squid/elastic-integrations_squid_test-access-extensive.log",
    // varnishncsa -F with extended fields: read with --format varnish:'...'.
    "varnish/varnishevent-vsl_varnishncsa-7.1.1_extended.derived.log",
];

#[test]
fn every_real_file_is_detected_and_each_data_line_is_a_row_or_a_numbered_malformed_line() {
    let mut seen = BTreeSet::new();
    for (rel, format, rows, malformed) in REAL {
        check_file(Path::new(&real(rel)), format, *rows, malformed);
        seen.insert(rel.to_string());
    }
    for rel in UNREADABLE {
        let run = edgelog(["detect", &real(rel)]);
        assert_eq!(run.code, 2, "{rel}: {}", run.stdout);
        assert!(
            run.stderr.contains("cannot tell the format of") && run.stderr.contains(rel.rsplit('/').next().unwrap()),
            "{rel}: {}",
            run.stderr
        );
        seen.insert(rel.to_string());
    }
    // Every file of tests/data/real is in one of the tables.
    let mut files = BTreeSet::new();
    for dir in std::fs::read_dir(real("")).unwrap() {
        let dir = dir.unwrap();
        for f in std::fs::read_dir(dir.path()).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            if name != "SOURCES.md" {
                files.insert(format!("{}/{name}", dir.file_name().to_string_lossy()));
            }
        }
    }
    assert_eq!(files, seen, "files of tests/data/real without an entry");
}

/// Each new dialect: the report's requests equal the rows, and every
/// column a report panel reads has values in the dialect's files.
#[test]
fn every_new_dialect_fills_the_report_panels() {
    let sql = "SELECT count(*), count(time), count(host), count(client_ip), count(method), count(path), \
               count(status), count(bytes), count(user_agent), count(request_time) FROM logs";
    let mut filled: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (rel, format, rows, _) in REAL {
        if ![
            "haproxy",
            "squid",
            "envoy",
            "envoy-json",
            "traefik",
            "traefik-json",
            "caddy",
            "azure-frontdoor",
        ]
        .contains(format)
        {
            continue;
        }
        let path = real(rel);
        let run = edgelog(["report", "-q", "-o", "json", "--from", &path]);
        let json: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
        assert_eq!(json["panels"].as_object().unwrap().len(), 11, "{rel}");
        let figures = &json["panels"]["overview"]["tables"]["figures"];
        assert_eq!(figures["rows"][0][0].as_u64(), Some(*rows as u64), "{rel}: {figures}");
        let counts: Vec<u64> = edgelog(["query", "-q", "-o", "csv", "--from", &path, sql])
            .ok()
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(counts[1], counts[0], "{rel}: every row has its time");
        let sums = filled.entry(format).or_insert_with(|| vec![0; counts.len()]);
        for (s, c) in sums.iter_mut().zip(counts) {
            *s += c;
        }
    }
    let names = [
        "rows",
        "time",
        "host",
        "client_ip",
        "method",
        "path",
        "status",
        "bytes",
        "user_agent",
        "request_time",
    ];
    for (format, sums) in &filled {
        for (name, n) in names.iter().zip(sums) {
            // Squid's native format logs no user agent.
            if *format == "squid" && *name == "user_agent" {
                continue;
            }
            // Traefik's CLF logs no request host (its JSON does).
            if *format == "traefik" && *name == "host" {
                continue;
            }
            assert!(*n > 0, "{format}: no {name} in any file");
        }
    }
    assert_eq!(filled.len(), 8, "{filled:?}");
}

/// Formats that are not detected because they are the user's: varnishncsa
/// `-F`, an Envoy format string, HAProxy's custom lines stay malformed.
#[test]
fn user_formats_of_the_new_dialects_read_their_lines() {
    let varnish = real("varnish/varnishevent-vsl_varnishncsa-7.1.1_extended.derived.log");
    let format = r#"varnish:-F %h %l %u %t "%r" %s %b "%{Referer}i" "%{User-agent}i" %D %T %{Varnish:hitmiss}x %{Varnish:handling}x %{Varnish:time_firstbyte}x"#;
    let run = edgelog([
        "query",
        "-q",
        "-o",
        "csv",
        "--format",
        format,
        "--from",
        &varnish,
        "SELECT count(*), count(cache_status), bool_and(request_time = request_time_us / 1e6), max(request_time) > 0, \
         count(DISTINCT varnish_handling) > 0 FROM logs",
    ]);
    // %D (microseconds) is the request time, not the whole seconds of %T.
    assert_eq!(
        run.ok().lines().nth(1),
        Some("294,294,true,true,true"),
        "{}",
        run.stdout
    );
    // An Envoy format string of the user's.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("envoy.log");
    std::fs::write(
        &log,
        "2024-11-27T01:02:03.004Z 10.0.0.7:5555 GET /a?b=1 200 12 7\n\
         2024-11-27T01:02:04.000Z [2001:db8::9]:443 POST /c 503 0 1500\n",
    )
    .unwrap();
    let run = edgelog([
        "query",
        "-q",
        "-o",
        "csv",
        "--format",
        "envoy:%START_TIME% %DOWNSTREAM_REMOTE_ADDRESS% %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %BYTES_SENT% %DURATION%\\n",
        "--from",
        log.to_str().unwrap(),
        "SELECT client_ip, method, path, query, status, bytes, request_time FROM logs ORDER BY time",
    ]);
    assert_eq!(
        run.ok(),
        "client_ip,method,path,query,status,bytes,request_time\n10.0.0.7,GET,/a,b=1,200,12,0.007\n2001:db8::9,POST,/c,,503,0,1.5\n"
    );
    let run = edgelog([
        "query",
        "--format",
        "envoy:%NOPE(",
        "--from",
        log.to_str().unwrap(),
        "SELECT 1",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad Envoy format"), "{}", run.stderr);
    // HAProxy lines of a custom log-format are malformed, naming the field.
    let run = edgelog([
        "query",
        "-v",
        "--format",
        "haproxy",
        "--from",
        &real("haproxy/elastic-beats_haproxy.log"),
        "SELECT count(*) FROM logs",
    ]);
    run.ok();
    // Line 1 is the documented error format, read; the other 9 are custom.
    assert!(run.stderr.contains("9 malformed lines"), "{}", run.stderr);
    assert!(
        run.stderr.contains("haproxy: timers: expected 5 numbers"),
        "{}",
        run.stderr
    );
}

/// A file as real servers and editors leave them: a BOM, CRLF line ends,
/// common lines among combined ones (a 408 before the headers), blank and
/// comment lines and no final newline; every request line is a row and
/// the summary counts what was skipped.
#[test]
fn a_messy_combined_file_reads_every_request_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let text = "\u{feff}::1 - - [26/Dec/2016:16:16:29 +0200] \"GET /favicon.ico HTTP/1.1\" 404 209\r\n\
                # rotated by logrotate\r\n\
                \r\n\
                192.168.33.1 - - [26/Dec/2016:16:22:13 +0000] \"GET /hello HTTP/1.1\" 404 499 \"-\" \"Mozilla/5.0\"\r\n\
                ::1 - - [26/Dec/2016:16:16:48 +0200] \"-\" 408 -\r\n\
                10.0.0.2, 10.0.0.1, 127.0.0.1 - - [26/Dec/2016:16:22:14 +0000] \"GET /x HTTP/1.1\" 200 5 \"http://r/\" \"curl/8\"\r\n\
                \n\
                10.0.0.9 - - [26/Dec/2016:16:22:15 +0000] \"GET /y?z=1 HTTP/1.1\" 200 7 \"-\" \"curl/8\"";
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap();
    assert_eq!(detected(p), "combined");
    let run = edgelog([
        "query",
        "-v",
        "-o",
        "csv",
        "--from",
        p,
        "SELECT _line, client_ip, path, status, bytes, referer, user_agent FROM logs ORDER BY _line",
    ]);
    assert_eq!(
        run.ok(),
        "_line,client_ip,path,status,bytes,referer,user_agent\n\
         1,::1,/favicon.ico,404,209,,\n\
         4,192.168.33.1,/hello,404,499,,Mozilla/5.0\n\
         5,::1,,408,,,\n\
         6,10.0.0.2,/x,200,5,http://r/,curl/8\n\
         8,10.0.0.9,/y,200,7,,curl/8\n"
    );
    assert!(run.stderr.contains("no malformed lines"), "{}", run.stderr);
    assert!(
        run.stderr.contains("2 blank and 1 # comment lines skipped"),
        "{}",
        run.stderr
    );
    // The address field keeps the list as written.
    let run = edgelog([
        "query",
        "-q",
        "-o",
        "csv",
        "--from",
        p,
        "SELECT remote_addr FROM logs WHERE _line = 6",
    ]);
    assert_eq!(run.ok(), "remote_addr\n\"10.0.0.2, 10.0.0.1, 127.0.0.1\"\n");
    // A pure common file is still `common`, not combined.
    let common = dir.path().join("common.log");
    std::fs::write(
        &common,
        "1.2.3.4 - - [26/Dec/2016:16:16:29 +0200] \"GET / HTTP/1.1\" 200 1\n5.6.7.8 - u [26/Dec/2016:16:16:30 +0200] \"GET /a HTTP/1.1\" 404 -\n",
    )
    .unwrap();
    assert_eq!(detected(common.to_str().unwrap()), "common");
}

/// The canonical client is the leftmost address of an address field that
/// holds an X-Forwarded-For list (the native column keeps the text), and
/// `forwarded_for` lists the addresses of a dialect's X-Forwarded-For field.
#[test]
fn x_forwarded_for_lists_give_the_first_address_and_a_list_column() {
    let path = real("nginx_xff_list/elastic-beats_nginx_access_test.log");
    let run = edgelog([
        "query",
        "-q",
        "-o",
        "csv",
        "--from",
        &path,
        "SELECT _line, client_ip FROM logs WHERE _line IN (1, 3, 5, 6) ORDER BY _line",
    ]);
    assert_eq!(
        run.ok(),
        "_line,client_ip\n1,10.0.0.2\n3,10.0.0.2\n5,10.5.102.222\n6,2a03:0000:10ff:f00f:0000:0000:0:8000\n"
    );
    let run = edgelog([
        "query",
        "-q",
        "-o",
        "csv",
        "--from",
        &path,
        "SELECT remote_addr FROM logs WHERE _line = 1",
    ]);
    assert_eq!(run.ok(), "remote_addr\n\"10.0.0.2, 10.0.0.1, 127.0.0.1\"\n");
    // A virtual host before the address (`$host $remote_addr ...` read as
    // combined_xff): the host, and the list's first address.
    let run = edgelog([
        "query",
        "-q",
        "-o",
        "csv",
        "--from",
        &real("nginx_xff_list/elastic-beats_nginx_access_test-with-host.log"),
        "SELECT DISTINCT host, client_ip FROM logs WHERE _line IN (1, 2) ORDER BY client_ip",
    ]);
    assert_eq!(
        run.ok(),
        "host,client_ip\nexample.com,10.0.0.2\nexample.com,172.17.0.1\n"
    );
    let run = edgelog([
        "query",
        "-q",
        "-o",
        "csv",
        "--from",
        &real("apache_mixed/elastic-beats_apache_access_test.log"),
        "SELECT host, client_ip FROM logs WHERE _line = 7",
    ]);
    assert_eq!(run.ok(), "host,client_ip\nvhost1.domaine.fr,123.123.123.123\n");

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("xff.log");
    std::fs::write(
        &log,
        "10.0.0.1 - - [26/Dec/2016:16:22:13 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\" \"203.0.113.9, 10.0.0.7\"\n\
         10.0.0.1 - - [26/Dec/2016:16:22:14 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\" \"-\"\n",
    )
    .unwrap();
    let p = log.to_str().unwrap();
    assert_eq!(detected(p), "combined_xff");
    let run = edgelog([
        "query",
        "-q",
        "-o",
        "csv",
        "--from",
        p,
        "SELECT _line, array_length(forwarded_for) n, forwarded_for[1] first, forwarded_for[2] second, \
         http_x_forwarded_for FROM logs ORDER BY _line",
    ]);
    assert_eq!(
        run.ok(),
        "_line,n,first,second,http_x_forwarded_for\n1,2,203.0.113.9,10.0.0.7,\"203.0.113.9, 10.0.0.7\"\n2,,,,\n"
    );
    // CSV writes the list as the log does (a lone empty cell is quoted).
    let run = edgelog([
        "query",
        "-q",
        "-o",
        "csv",
        "--from",
        p,
        "SELECT forwarded_for FROM logs ORDER BY _line",
    ]);
    assert_eq!(run.ok(), "forwarded_for\n\"203.0.113.9, 10.0.0.7\"\n\"\"\n");
}

/// JSON of any shape: vendor key names and one level of nesting fill the
/// canonical columns; a declared mapping reads anything else; a bad one is
/// a one-line error naming it.
#[test]
fn json_of_any_shape_fills_the_canonical_columns_or_the_users_mapping_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.ndjson");
    std::fs::write(
        &path,
        concat!(
            r#"{"ip":"198.51.100.1","length":"512","date":"2024-11-27T01:02:03Z","url":"/a?b=1","code":404,"src":"10.1.1.1","resp":{"size":7},"@t":1732669323000}"#,
            "\n",
            r#"{"ip":"198.51.100.2","length":12,"date":"2024-11-27T01:02:04Z","url":"https://ex.org/c","code":200,"src":"10.1.1.2","resp":{"size":"9"},"@t":1732669324500}"#,
            "\n",
        ),
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let sql = "SELECT time, host, client_ip, path, query, status, bytes FROM logs ORDER BY time";
    let run = edgelog(["query", "-q", "-o", "csv", "--from", p, sql]);
    assert_eq!(
        run.ok(),
        "time,host,client_ip,path,query,status,bytes\n\
         2024-11-27T01:02:03Z,,198.51.100.1,/a,b=1,404,512\n\
         2024-11-27T01:02:04Z,ex.org,198.51.100.2,/c,,200,12\n"
    );
    let run = edgelog([
        "query",
        "-q",
        "-o",
        "csv",
        "--format",
        "ndjson:client_ip=src,bytes=resp.size,time=@t",
        "--from",
        p,
        "SELECT time, client_ip, bytes FROM logs ORDER BY time",
    ]);
    assert_eq!(
        run.ok(),
        "time,client_ip,bytes\n2024-11-27T01:02:03Z,10.1.1.1,7\n2024-11-27T01:02:04.500Z,10.1.1.2,9\n"
    );
    let run = edgelog(["query", "--format", "ndjson:clientip=src", "--from", p, "SELECT 1"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("\"clientip\" is not a canonical column"),
        "{}",
        run.stderr
    );
}
