//! Every renderer on tables nobody tidied: random cells (empty and 10 KB
//! strings, wide CJK and emoji, control characters, NULLs, NaN and
//! infinities, extreme integers and times), 0-50 rows of 1-12 columns,
//! series of one and of 10,000 buckets. None may panic; the table must fit
//! its width wherever text columns can give way, and the JSON must parse.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use unicode_width::UnicodeWidthStr;

use super::super::html::render_html;
use super::super::model::{Cell, Kind, PanelResult, Report, TableResult, change, previous_of};
use super::*;
use crate::config::TimeRange;

fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z/._-]{0,40}",
        "\\PC{0,30}",
        // Wide characters, emoji and combining marks.
        "[日本語テキスト🙂👍🏽é́\u{200d}]{0,30}",
        // Control characters, escapes and bidi overrides from a hostile line.
        "[a\u{1b}\u{7}\n\r\t\u{0}\u{202e}\u{2066}|<>&\"']{0,30}",
        (1usize..4).prop_map(|k| "x".repeat(k * 10 * 1024 / 3)),
        any::<u16>().prop_map(|n| format!("2001:db8::{n:x}:ffff:ffff:ffff:ffff")),
        Just("<script>alert(1)</script>".to_string()),
    ]
}

fn cell_strategy() -> BoxedStrategy<Cell> {
    prop_oneof![
        Just(Cell::Null),
        any::<i64>().prop_map(Cell::Int),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(-1), Just(0)].prop_map(Cell::Int),
        any::<f64>().prop_map(Cell::Float),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(u64::MAX as f64),
            Just(-0.0),
            Just(1e300)
        ]
        .prop_map(Cell::Float),
        text_strategy().prop_map(Cell::Text),
        any::<i64>().prop_map(Cell::Time),
        (1_600_000_000_000i64..1_800_000_000_000).prop_map(Cell::Time),
    ]
    .boxed()
}

fn kind_strategy() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Figures), Just(Kind::Series), Just(Kind::Top)]
}

fn column_names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            Just("requests".to_string()),
            Just("bytes".to_string()),
            Just("errors_5xx".to_string()),
            text_strategy()
        ],
        1..=12,
    )
}

fn table_strategy() -> impl Strategy<Value = TableResult> {
    (kind_strategy(), column_names(), text_strategy())
        .prop_flat_map(|(kind, columns, title)| {
            let n = columns.len();
            // Mostly full rows; sometimes a row is short or long.
            let row = prop::collection::vec(cell_strategy(), n.saturating_sub(1)..=n + 1);
            let rows = prop::collection::vec(row.clone(), 0..=50);
            let previous = prop::option::of(prop::collection::vec(row, 0..=10));
            (Just(kind), Just(columns), Just(title), rows, previous)
        })
        .prop_map(|(kind, columns, title, rows, previous)| TableResult {
            name: "t".into(),
            title,
            kind,
            columns,
            rows,
            previous,
        })
}

fn report_strategy() -> impl Strategy<Value = Report> {
    (
        prop::collection::vec((text_strategy(), prop::collection::vec(table_strategy(), 1..4)), 1..4),
        prop::option::of(any::<i64>()),
        prop::option::of(any::<i64>()),
        -100_000i32..100_000,
        prop::collection::vec(text_strategy(), 0..3),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(|(panels, since, until, offset_secs, sources, count, compare)| Report {
            range: TimeRange { since, until },
            offset_secs,
            sources,
            rows: count,
            objects: count / 3,
            malformed: Some(count / 7),
            unreadable: Vec::new(),
            panels: panels
                .into_iter()
                .enumerate()
                .map(|(i, (title, tables))| PanelResult {
                    name: if i == 0 { "overview".into() } else { format!("p{i}") },
                    title,
                    tables,
                })
                .collect(),
            previous_range: compare.then_some(TimeRange::ALL),
        })
}

/// Renders `report` every way, checking what must hold of each.
fn render_every_way(report: &Report) {
    for width in [0, 40, 80, 200] {
        let text = render_table(report, width % 80 == 0, width);
        assert!(!text.contains('\u{1b}') || width % 80 == 0, "escape from the data");
    }
    let md = render_markdown(report);
    assert!(!md.contains('\u{1b}'), "escape in markdown");
    let json = render_json(report);
    serde_json::from_str::<serde_json::Value>(&json).unwrap_or_else(|e| panic!("invalid JSON ({e}): {json}"));
    let html = render_html(report);
    assert!(!html.contains("<script"), "markup from the data");
}

/// The narrowest a ranked table can be: text columns cut to the hard
/// floor, numbers whole, no bars.
fn narrowest(t: &TableResult, tz: i32) -> usize {
    let ncols = t.columns.len();
    let mut header: Vec<String> = t.columns.iter().map(|c| clean(c)).collect();
    let compare = t.previous.is_some() && t.bar_column().is_some();
    if compare {
        header.push("prev".into());
        header.push("change".into());
    }
    let mut natural: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for r in &t.rows {
        for (i, w) in natural.iter_mut().enumerate().take(ncols) {
            let cell = r.get(i).map_or("-".into(), |c| clean(&text(c, tz, true)));
            *w = (*w).max(cell.width());
        }
        if let (true, Some(prev), Some(b), Some(key)) = (compare, &t.previous, t.bar_column(), r.first()) {
            let p = previous_of(prev, key, b);
            let change = percent(r.get(b).and_then(|v| change(v, &p)));
            natural[ncols] = natural[ncols].max(clean(&text(&p, tz, true)).width());
            natural[ncols + 1] = natural[ncols + 1].max(change.width());
        }
    }
    let text_col = |i: usize| t.rows.iter().any(|r| matches!(r.get(i), Some(Cell::Text(_))));
    natural
        .iter()
        .enumerate()
        .map(|(i, w)| {
            2 + if i < ncols && text_col(i) {
                (*w).min(HARD_FLOOR)
            } else {
                *w
            }
        })
        .sum()
}

proptest! {
    // Each case renders a whole report of up to 12 tables eight ways.
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn no_renderer_panics_on_any_report(mut report in report_strategy()) {
        render_every_way(&report);
        // The model's own arithmetic on the same data.
        report.finish_series();
        report.add_malformed_figure();
        let previous = report.clone();
        report.attach_previous(previous);
        render_every_way(&report);
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn ranked_tables_fit_their_width_when_text_can_give_way(
        mut t in table_strategy(),
        width in 20usize..240,
        tz in -50_000i32..50_000,
    ) {
        t.kind = Kind::Top;
        if t.rows.is_empty() {
            return Ok(());
        }
        let mut out = String::new();
        top_text(&mut out, &t, tz, width);
        let floor = narrowest(&t, tz);
        for line in out.lines() {
            prop_assert!(
                line.width() <= width.max(floor),
                "line of {} columns at width {width} (narrowest {floor}): {line:?}", line.width()
            );
        }
    }
}

fn errors_like_table() -> TableResult {
    // The shape that panicked: a 32-character request id and an IPv6 client.
    let row = |i: i64| {
        vec![
            Cell::Time(1_732_681_714_000 + i),
            Cell::Int(503),
            Cell::Text("GET".into()),
            Cell::Text(format!("/api/v1/items/{i}/details?expand=all&lang=ja")),
            Cell::Text("2001:db8:85a3:8d3:1319:8a2e:370:7348".into()),
            Cell::Text(format!("{:032x}", i * 7919)),
        ]
    };
    TableResult {
        name: "recent".into(),
        title: "Recent errors".into(),
        kind: Kind::Top,
        columns: ["time", "status", "method", "path", "client_ip", "request_id"]
            .map(String::from)
            .to_vec(),
        rows: (0..20).map(row).collect(),
        previous: None,
    }
}

#[test]
fn a_wide_errors_table_fits_40_80_and_200_columns() {
    let t = errors_like_table();
    for width in [40, 80, 200] {
        let mut out = String::new();
        top_text(&mut out, &t, 9 * 3600, width);
        let floor = narrowest(&t, 9 * 3600);
        for line in out.lines() {
            assert!(line.width() <= width.max(floor), "{width}: {line}");
        }
        if width == 80 {
            assert!(out.lines().all(|l| l.width() <= 80), "{out}");
            // Cut text is marked, numbers are whole.
            assert!(out.contains('…'), "{out}");
            assert!(out.contains("503"), "{out}");
        }
        if width == 200 {
            assert!(!out.contains('…'), "nothing needs cutting at 200: {out}");
        }
    }
}

/// A report of one traffic panel holding `table`.
fn traffic_report(table: TableResult, offset_secs: i32) -> Report {
    Report {
        range: TimeRange::ALL,
        offset_secs,
        sources: vec!["s".into()],
        rows: 1,
        objects: 1,
        malformed: Some(0),
        unreadable: Vec::new(),
        panels: vec![PanelResult {
            name: "traffic".into(),
            title: "Traffic".into(),
            tables: vec![table],
        }],
        previous_range: None,
    }
}

#[test]
fn series_of_one_and_ten_thousand_buckets() {
    for n in [1usize, 10_000] {
        let t = TableResult {
            name: "per_minute".into(),
            title: "Requests".into(),
            kind: Kind::Series,
            columns: vec!["minute".into(), "requests".into(), "bytes".into()],
            rows: (0..n)
                .map(|i| {
                    vec![
                        Cell::Time(1_732_681_714_000 + i as i64 * 60_000),
                        Cell::Int(i as i64),
                        Cell::Float(if i % 7 == 0 { f64::NAN } else { i as f64 }),
                    ]
                })
                .collect(),
            previous: None,
        };
        let mut report = traffic_report(t, 0);
        render_every_way(&report);
        report.finish_series();
        let buckets = report.panels[0].tables[0].rows.len();
        assert!((1..=49).contains(&buckets), "{n} minutes gave {buckets} buckets");
        render_every_way(&report);
    }
}

#[test]
fn wild_times_do_not_make_a_huge_series() {
    let rows = [i64::MIN, -1, 0, 1_732_681_714_000, i64::MAX]
        .iter()
        .map(|t| vec![Cell::Time(*t), Cell::Int(1)])
        .collect();
    let mut report = traffic_report(
        TableResult {
            name: "m".into(),
            title: "m".into(),
            kind: Kind::Series,
            columns: vec!["minute".into(), "requests".into()],
            rows,
            previous: None,
        },
        50_400,
    );
    report.finish_series();
    let rows = &report.panels[0].tables[0].rows;
    assert!(rows.len() <= 49, "{} buckets", rows.len());
    let total: i64 = rows.iter().map(|r| if let Cell::Int(n) = r[1] { n } else { 0 }).sum();
    assert_eq!(total, 5, "every row lands in some bucket");
    render_every_way(&report);
}

/// A traffic series of `n` hourly buckets, as the traffic panel gives it.
fn traffic_table(n: i64) -> TableResult {
    TableResult {
        name: "over_time".into(),
        title: "Over time".into(),
        kind: Kind::Series,
        columns: ["time", "requests", "bytes", "errors_4xx", "errors_5xx"]
            .map(String::from)
            .to_vec(),
        rows: (0..n)
            .map(|i| {
                vec![
                    Cell::Time(1_764_460_800_000 + i * 3_600_000),
                    Cell::Int(1000 + i * 40),
                    Cell::Int(30_000_000 + i * 500_000),
                    Cell::Int(i),
                    Cell::Int(0),
                ]
            })
            .collect(),
        previous: None,
    }
}

#[test]
fn html_draws_one_chart_per_unit_with_axes() {
    let html = render_html(&traffic_report(traffic_table(48), 9 * 3600));
    let charts: Vec<&str> = html
        .split("<svg class=\"chart wide\"")
        .skip(1)
        .map(|c| c.split("</svg>").next().unwrap())
        .collect();
    assert_eq!(charts.len(), 2, "counts and bytes apart");
    assert_eq!(charts[0].matches("<polyline").count(), 3, "requests, 4xx, 5xx");
    assert_eq!(charts[1].matches("<polyline").count(), 1, "bytes");
    let labels = |svg: &str, axis: &str| -> Vec<String> {
        svg.split(&format!("<text class=\"{axis}\""))
            .skip(1)
            .map(|t| t.split('>').nth(1).unwrap().split('<').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(labels(charts[0], "y"), ["0", "1,000", "2,000", "3,000"]);
    assert_eq!(labels(charts[1], "y"), ["0", "20 MB", "40 MB", "60 MB"]);
    // 48 hours from 09:00 +09:00: a tick every 6 hours, days at midnight.
    let x = labels(charts[0], "x");
    assert_eq!(x.first().map(String::as_str), Some("12:00"), "{x:?}");
    assert!(x.contains(&"Dec 1".to_string()), "{x:?}");
    assert!(html.contains("<h4>Requests per 1 h</h4>") && html.contains("<h4>Bytes per 1 h</h4>"));
    // The legend names each line, its column on hover, in the chart's unit.
    assert!(html.contains("title=\"bytes\"><i style=\"background:#4c78a8\"></i>Bytes: max 53.5 MB, total 2.0 GB"));
    assert!(html.contains("title=\"errors_4xx\""));
    // A phone gets its own drawing, with fewer time ticks.
    let narrow = html.split("<svg class=\"chart narrow\"").nth(1).unwrap();
    let narrow = narrow.split("</svg>").next().unwrap();
    assert!(labels(narrow, "x").len() < x.len());
}

#[test]
fn html_figures_are_for_people() {
    let figures = TableResult {
        name: "figures".into(),
        title: "Figures".into(),
        kind: Kind::Figures,
        columns: [
            "requests",
            "bytes",
            "hit_ratio_requests",
            "bytes_p50",
            "request_time_p50",
            "first_time",
            "last_time",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![vec![
            Cell::Int(35_936),
            Cell::Int(2_334_745_109),
            Cell::Float(0.6984),
            Cell::Float(4267.6757),
            Cell::Null,
            Cell::Time(1_764_460_812_000),
            Cell::Time(1_764_633_598_000),
        ]],
        previous: Some(vec![vec![
            Cell::Int(40_000),
            Cell::Int(2_000_000_000),
            Cell::Float(0.7184),
            Cell::Float(4000.0),
            Cell::Null,
            Cell::Time(1_764_374_412_000),
            Cell::Time(1_764_460_798_000),
        ]]),
    };
    let mut report = traffic_report(figures, 9 * 3600);
    report.panels[0].name = "overview".into();
    report.add_malformed_figure();
    let html = render_html(&report);
    assert!(
        html.contains("title=\"requests\">Requests</span><b>35,936</b>"),
        "{html}"
    );
    assert!(html.contains("<b title=\"2,334,745,109 bytes\">2.3 GB</b>"), "{html}");
    assert!(
        html.contains("Cache hit ratio (requests)</span><b title=\"0.6984\">69.8%</b>"),
        "{html}"
    );
    assert!(html.contains(">4.3 KB</b>"), "{html}");
    // Changes: relative for counts, in points for ratios; a lower hit ratio
    // is bad news, fewer requests are neither.
    assert!(html.contains("(<span class=\"down\">−10.2%</span>)"), "{html}");
    assert!(html.contains("(<span class=\"down bad\">−2.0 pp</span>)"), "{html}");
    // A figure neither window has is not compared.
    assert!(html.contains("title=\"not in these logs\">-</b></div>"), "{html}");
    // The open range is the data's; its first and last time are not tiles.
    assert!(html.contains("Range: all data, 2025-11-30 09:00 .. 2025-12-02 08:59 (time zone +09:00)"));
    assert!(!html.contains("First request"));
    assert!(!html.contains("open .. open"));
}

#[test]
fn the_malformed_count_keeps_its_place_before_the_data_span() {
    let mut report = traffic_report(
        TableResult {
            name: "figures".into(),
            title: "Figures".into(),
            kind: Kind::Figures,
            columns: ["requests", "first_time", "last_time"].map(String::from).to_vec(),
            rows: vec![vec![Cell::Int(3), Cell::Time(1), Cell::Time(2)]],
            previous: None,
        },
        0,
    );
    report.panels[0].name = "overview".into();
    report.malformed = Some(5);
    report.add_malformed_figure();
    let t = &report.panels[0].tables[0];
    assert_eq!(t.columns, ["requests", "malformed_lines", "first_time", "last_time"]);
    assert_eq!(t.rows[0], [Cell::Int(3), Cell::Int(5), Cell::Time(1), Cell::Time(2)]);
    assert_eq!(report.data_span(), Some((1, 2)));
    assert!(
        render_table(&report, false, 80).starts_with("edgelog report  all data, 1970-01-01 00:00 .. 1970-01-01 00:00")
    );
}
