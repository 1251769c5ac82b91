//! Every dialect's decoder, fed random and damaged lines: no panic, every
//! line is a row, a directive or an error, and detection never panics.

use proptest::prelude::*;

use super::detect::judge;
use super::{Dialect, registry as dialects};
use crate::config::TimeRange;

/// Real-looking lines of each family, damaged by the property tests.
const SEEDS: &[&str] = &[
    r#"93.180.71.3 - - [17/May/2015:08:05:32 +0000] "GET /downloads/product_1 HTTP/1.1" 304 0 "-" "Debian APT-HTTP/1.3""#,
    "#Fields: date time c-ip cs-method cs-uri-stem sc-status cs(User-Agent)",
    "2015-01-13 00:32:17 100.79.192.81 GET /robots.txt 404 Mozilla/5.0+(compatible)",
    "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td1.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(X)",
    r#"https 2018-07-02T22:23:00.186641Z app/lb/50dc 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" - -"#,
    r#"{"ClientIP":"1.2.3.4","EdgeStartTimestamp":1712790000100000000,"EdgeResponseStatus":200,"ClientRequestURI":"/a?b"}"#,
    r#"{"httpRequest":{"requestUrl":"http://a/b","status":200,"latency":"0.1s"},"timestamp":"2024-05-01T17:27:08Z"}"#,
    r#"{"time":"2024-11-27T13:28:34+09:00","remote_addr":"192.0.2.1","request":"GET / HTTP/1.1","status":"200"}"#,
    "1 80765 3d6ab88.1.1 1606768511 3241 3241 127.0.0.1 200 HTTP h GET p 80 0 text/plain UA - - - - - 2 0 2 - - ^ 0 TLSv1.2 10 100 - - - 1234 - 1 -",
    r#"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in~ static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu|curl/8} {} "GET https://a/index.html HTTP/2.0" 0/0/0/0/1 a/TLSv1.3"#,
    "10.0.1.2:1 [06/Feb/2009:12:12:51.443] fnt/b1: SSL handshake failure",
    "1286536309.450    211 192.168.0.68 TCP_MISS/200 1645 GET http://www.example.com/ - HIER_DIRECT/93.184.216.34 text/html",
    r#"[2019-04-08T16:16:55.931Z] "GET /service/1 HTTP/1.1" 200 - 0 89 5 4 "-" "curl/7.54.0" "id" "localhost:8000" "172.18.0.3:80""#,
    r#"172.17.0.1 - - [08/Dec/2021:09:16:05 +0000] "GET /a HTTP/1.1" 200 414 "-" "-" 500 "test@docker" "http://172.17.0.3:80" 0ms"#,
    r#"{"ClientHost":"1.2.3.4","StartUTC":"2021-12-08T14:02:43.587782192Z","DownstreamStatus":200,"RequestMethod":"GET","Duration":357313}"#,
    r#"caddy  | {"ts":1693840791.75,"request":{"remote_ip":"1.2.3.4","headers":{"User-Agent":["curl"]}},"status":200,"duration":0.1}"#,
    r#"{"time":"2021-12-15T03:10:11Z","category":"FrontdoorAccessLog","properties":{"clientIp":"1.2.3.4","httpStatusCode":"200","timeTaken":"0.1"}}"#,
];

fn feed(d: &dyn Dialect, lines: &[String]) {
    let schema = d.schema("UTC");
    let all: Vec<usize> = (0..schema.fields().len()).collect();
    let mut decoder = d.decoder(&schema, &all, TimeRange::ALL);
    for (i, l) in lines.iter().enumerate() {
        let _ = decoder.push_line(l, i as u64 + 1, &mut |_| {});
    }
    decoder.flush(&mut |_| {});
    let _ = decoder.take_errors();
    let batch = decoder.finish_batch("f").unwrap();
    assert_eq!(batch.num_columns(), schema.fields().len());
}

/// A seed with one byte range replaced by `noise`.
fn damage(seed: &str, at: usize, len: usize, noise: &str) -> String {
    let mut cut = at.min(seed.len());
    while !seed.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut end = (cut + len).min(seed.len());
    while !seed.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{noise}{}", &seed[..cut], &seed[end..])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_dialect_survives_random_lines(lines in proptest::collection::vec("\\PC{0,120}", 1..6)) {
        for d in dialects() {
            let d = d.with_sampled(&d.sampled(&lines));
            feed(d.as_ref(), &lines);
        }
        feed(&super::perobject::PerObject, &lines);
        let _ = judge("fuzz", &lines, &dialects());
    }

    #[test]
    fn every_dialect_survives_damaged_real_lines(
        seed in 0..SEEDS.len(),
        at in 0usize..200,
        len in 0usize..20,
        noise in "[\"\\[\\]{}\\\\\t ,:#%+-]{0,6}",
    ) {
        let lines = vec![SEEDS[1].to_string(), damage(SEEDS[seed], at, len, &noise)];
        for d in dialects() {
            let d = d.with_sampled(&d.sampled(&lines));
            feed(d.as_ref(), &lines);
        }
        let _ = judge("fuzz", &lines, &dialects());
    }
}
