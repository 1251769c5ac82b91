//! Formats, second round: detection judges a family (common lines among
//! combined ones), a lake made before derived columns keeps its columns,
//! the Envoy vocabulary stays Envoy's, and wild JSON times are errors.

use std::sync::Arc;

use super::detect::{NoVerdict, judge, pool};
use super::generic::FORWARDED_FOR;
use super::{Dialect, DialectSpec};
use crate::config::TimeRange;

const COMMON: &str = r#"1.2.3.4 - - [26/Dec/2016:16:16:29 +0200] "GET / HTTP/1.1" 200 1"#;
const COMBINED: &str = r#"1.2.3.4 - - [26/Dec/2016:16:16:29 +0200] "GET / HTTP/1.1" 200 1 "-" "curl/8""#;

fn verdict(lines: &[String]) -> Result<&'static str, NoVerdict> {
    judge("sample", lines, &pool()).map(|v| v.dialect.name())
}

fn lines(n_common: usize, n_combined: usize) -> Vec<String> {
    std::iter::repeat_n(COMMON.to_string(), n_common)
        .chain(std::iter::repeat_n(COMBINED.to_string(), n_combined))
        .collect()
}

#[test]
fn detection_judges_the_combined_family_by_its_longest_member_with_a_line_of_its_own() {
    assert_eq!(verdict(&lines(20, 0)).unwrap(), "common");
    assert_eq!(verdict(&lines(0, 20)).unwrap(), "combined");
    assert_eq!(verdict(&lines(2, 18)).unwrap(), "combined");
    assert_eq!(verdict(&lines(9, 1)).unwrap(), "combined");
    // A whole number after some combined lines is seconds (%T) or
    // microseconds (%D): for the user to say, as before.
    let mut mixed = lines(0, 7);
    mixed.extend((0..3).map(|i| format!("{COMBINED} {}", 100 + i)));
    let e = verdict(&mixed).unwrap_err().to_string();
    assert!(
        e.contains("combined_request_time") && e.contains("combined_usec"),
        "{e}"
    );
}

fn decode(d: &Arc<dyn Dialect>, line: &str) -> arrow::record_batch::RecordBatch {
    let schema = d.schema("UTC");
    let all: Vec<usize> = (0..schema.fields().len()).collect();
    let mut decoder = d.decoder(&schema, &all, TimeRange::ALL);
    decoder.push_line(line, 1, &mut |_| {}).unwrap();
    decoder.finish_batch("f").unwrap()
}

#[test]
fn a_lake_made_before_derived_columns_reads_without_them() {
    let line = format!("{COMBINED} \"10.0.0.9, 10.0.0.1\"");
    let now = DialectSpec::named("combined_xff").build().unwrap();
    let mut spec = DialectSpec::named("combined_xff");
    spec.legacy_columns = true;
    let legacy = spec.build().unwrap();
    let (a, b) = (now.schema("UTC"), legacy.schema("UTC"));
    assert!(a.column_with_name(FORWARDED_FOR).is_some());
    assert!(b.column_with_name(FORWARDED_FOR).is_none());
    assert_eq!(b.fields().len() + 1, a.fields().len());
    let batch = decode(&legacy, &line);
    assert_eq!(batch.schema(), b);
    let ip = batch.column_by_name("client_ip").unwrap();
    assert_eq!(arrow::util::display::array_value_to_string(ip, 0).unwrap(), "1.2.3.4");
    // A projection of the legacy schema maps onto the same columns.
    let at = b.index_of("http_x_forwarded_for").unwrap();
    let mut decoder = legacy.decoder(&b, &[at], TimeRange::ALL);
    decoder.push_line(&line, 1, &mut |_| {}).unwrap();
    let batch = decoder.finish_batch("f").unwrap();
    assert_eq!(batch.schema().field(0).name(), "http_x_forwarded_for");
    // The flag is plain data that survives a round trip, and absent when off.
    let text = serde_json::to_string(&spec).unwrap();
    assert_eq!(serde_json::from_str::<DialectSpec>(&text).unwrap(), spec);
    assert!(
        !serde_json::to_string(&DialectSpec::named("combined"))
            .unwrap()
            .contains("legacy")
    );
}

#[test]
fn envoy_names_type_only_envoy_fields_and_wild_json_times_are_bad_values() {
    // nginx JSON with a `duration` key of its own (seconds) still reads.
    let nginx = DialectSpec::named("nginx-json").build().unwrap();
    let line = r#"{"time_iso8601":"2024-11-27T01:02:03+00:00","remote_addr":"1.2.3.4","request":"GET / HTTP/1.1","status":"200","duration":0.25}"#;
    let sampled = nginx.sampled(&[line.to_string()]);
    let nginx = nginx.with_sampled(&sampled);
    assert_eq!(decode(&nginx, line).num_rows(), 1);
    // A fractional epoch beyond year 9999 is no time.
    let caddy = DialectSpec::named("caddy").build().unwrap();
    let schema = caddy.schema("UTC");
    let all: Vec<usize> = (0..schema.fields().len()).collect();
    let mut decoder = caddy.decoder(&schema, &all, TimeRange::ALL);
    let e = decoder
        .push_line(
            r#"{"ts":1e300,"request":{},"status":200,"duration":0.1}"#,
            1,
            &mut |_| {},
        )
        .unwrap_err();
    assert!(e.to_string().contains("ts"), "{e}");
    decoder
        .push_line(
            r#"{"ts":1646861401.524,"request":{},"status":200,"duration":0.1}"#,
            2,
            &mut |_| {},
        )
        .unwrap();
}
