//! The report as one self-contained HTML page: inline CSS and SVG charts, no
//! script, no fonts, no external anything, so it opens offline and can be
//! mailed around. A Content-Security-Policy forbids every script and every
//! fetch; every string that came from a log is escaped.
//!
//! Made for people: labels, units and number formats come from
//! [`super::human`] (the column's name shows on hover), an open end of the
//! range is shown as the data's first or last time, and each series table
//! becomes one chart per unit (counts, bytes, ...) with its own value axis,
//! time axis, gridlines and legend. Every chart is drawn twice, wide and
//! narrow, and CSS shows the one that suits the screen, so that its text
//! stays readable on a phone without a script.

use std::fmt::Write as _;

use super::human::{self, Unit};
use super::model::{Cell, Kind, Report, TableResult, previous_of};
use super::render::{previous_range, report_range, zone_text};

/// The page's policy: nothing may load or run; inline styles and data:
/// images only.
pub const CSP: &str = "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                       base-uri 'none'; form-action 'none'";

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;padding:16px 20px;max-width:1100px;\
color:#1d2330;background:#fff}h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:30px 0 2px;\
border-bottom:1px solid #d8dde6}h3{font-size:14px;margin:18px 0 6px;color:#3b4558}\
h4{font-size:13px;margin:12px 0 4px;color:#3b4558;font-weight:600}.meta{color:#5b6577;font-size:13px;margin:4px 0}\
.desc{color:#5b6577;margin:2px 0 8px}.tw{overflow-x:auto;background:linear-gradient(90deg,#fff 30%,#fff0) left/32px 100% no-repeat local,\
linear-gradient(270deg,#fff 30%,#fff0) right/32px 100% no-repeat local,\
radial-gradient(farthest-side at 0 50%,#0002,#0000) left/10px 100% no-repeat scroll,\
radial-gradient(farthest-side at 100% 50%,#0002,#0000) right/10px 100% no-repeat scroll}table{border-collapse:collapse;width:100%}\
td,th{padding:3px 8px;text-align:left;border-bottom:1px solid #eef0f4;vertical-align:top}th{font-weight:600}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td.n{white-space:nowrap}\
td.t{overflow-wrap:anywhere;min-width:7em}td.b{width:120px;padding-left:4px}\
.bar{background:#4c78a8;height:10px;display:block;margin-top:5px}.bad{color:#b03030}.good{color:#2f7d32}.up,.down{white-space:nowrap}\
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:8px;margin:10px 0}\
.fig{border:1px solid #e3e7ee;border-radius:6px;padding:8px 10px}.fig .k{color:#3b4558;font-size:13px}\
.fig b{display:block;font-size:20px;font-variant-numeric:tabular-nums}.fig.na b{color:#8a93a3}.fig.time b{font-size:15px;padding:3px 0}.fig .meta{margin:0}\
.chart{width:100%;height:auto;display:block;background:#fafbfd;border:1px solid #eef0f4}\
.chart text{font-size:12px;fill:#5b6577;font-variant-numeric:tabular-nums}.chart .grid{stroke:#e3e7ee}\
.chart .axis{stroke:#8a93a3}.chart polyline{fill:none;stroke-width:2;stroke-linejoin:round}\
.chart polyline.prev{stroke-width:1.5;stroke-dasharray:6 4;opacity:.75}.narrow{display:none}\
.chart.narrow text{font-size:13px}\
.legend{font-size:12px;color:#5b6577;margin:4px 0 0;display:flex;flex-wrap:wrap;gap:2px 16px}\
.key i{display:inline-block;width:14px;height:3px;margin-right:5px;vertical-align:middle}\
.key i.dash{background:repeating-linear-gradient(90deg,#5b6577 0 5px,transparent 5px 8px)}\
@media (max-width:640px){body{padding:10px 12px}.wide{display:none}.narrow{display:block}\
.figs{grid-template-columns:repeat(2,minmax(0,1fr))}.fig b{font-size:17px}td.b{width:48px}\
td,th{padding:3px 5px}}";

/// Colours of lines by column, so that a column keeps its colour in every
/// chart; other columns take [`PALETTE`] in turn.
const COLOURS: &[(&str, &str)] = &[
    ("requests", "#4c78a8"),
    ("bytes", "#4c78a8"),
    ("errors_4xx", "#f58518"),
    ("errors_5xx", "#e45756"),
    ("s2xx", "#54a24b"),
    ("s3xx", "#4c78a8"),
    ("s4xx", "#f58518"),
    ("s5xx", "#e45756"),
];
const PALETTE: &[&str] = &["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#b279a2"];

/// `s` safe as HTML text or attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// ` title="..."` for a hover text, or nothing.
fn title_attr(text: Option<&str>) -> String {
    text.map_or(String::new(), |t| format!(" title=\"{}\"", escape(t)))
}

/// The change of column `name` from `before` to `now`, marked up: red when
/// it is bad news, green when good, plain when it is neither.
fn change_html(name: &str, now: &Cell, before: &Cell) -> String {
    match human::change(now, before, human::unit_of(name)) {
        Some((d, text)) if d != 0.0 => {
            let class = match (human::more_is_better(name), d > 0.0) {
                (Some(good), up) if good == up => "up good",
                (Some(_), _) => "up bad",
                (None, _) => "up",
            };
            let class = if d < 0.0 {
                class.replacen("up", "down", 1)
            } else {
                class.to_string()
            };
            format!("<span class=\"{class}\">{}</span>", escape(&text))
        }
        Some((_, text)) => escape(&text),
        None => "n/a".into(),
    }
}

/// `s` escaped, with a place to break the line after each `/`, `?` and `&`
/// (paths, URLs) so that a long one wraps between its parts.
fn breakable(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut part = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        part.push(c);
        if matches!(c, '/' | '?' | '&') && chars.peek().is_some_and(|n| *n != '/') {
            out.push_str(&escape(&part));
            out.push_str("<wbr>");
            part.clear();
        }
    }
    out.push_str(&escape(&part));
    out
}

/// A cell for people, escaped, with its exact value on hover when the
/// shown one is rounded.
fn cell_html(c: &Cell, unit: Unit, tz: i32) -> (String, String) {
    (
        escape(&human::value(c, unit, tz)),
        title_attr(human::exact(c, unit, tz).as_deref()),
    )
}

/// The whole page.
pub fn render_html(report: &Report) -> String {
    let tz = report.offset_secs;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>edgelog report</title><style>{STYLE}</style></head><body>\n"
    );
    let _ = write!(
        out,
        "<h1>edgelog report</h1>\n<p class=\"meta\">Range: {} (time zone {})",
        escape(&report_range(report)),
        escape(&zone_text(tz))
    );
    if let Some(p) = previous_range(report) {
        let _ = write!(out, "<br>Compared with: {}", escape(&p));
    }
    let sources: Vec<String> = report.sources.iter().map(|s| escape(s)).collect();
    let count = |n: u64| human::group(i64::try_from(n).unwrap_or(i64::MAX));
    let _ = writeln!(
        out,
        "<br>Sources: {}<br>{} rows from {} objects, {}{}</p>",
        sources.join(", "),
        count(report.rows),
        count(report.objects),
        match report.malformed {
            Some(n) => format!("{} malformed lines", count(n)),
            None => escape(&super::render::malformed_text(None)),
        },
        report.unreadable.first().map_or(String::new(), |first| format!(
            "<br>{} unreadable objects skipped, first: {}",
            count(report.unreadable.len() as u64),
            escape(first)
        ))
    );
    // The data's first and last time are in the range line when an end of
    // the range is open; otherwise they are figures like the others.
    let span_shown = (report.range.since.is_none() || report.range.until.is_none()) && report.data_span().is_some();
    for panel in &report.panels {
        let title = panel.title.trim_end_matches('.');
        let (head, desc) = match title.split_once(": ") {
            Some((h, d)) if !h.is_empty() => (h, Some(d)),
            _ => (title, None),
        };
        let _ = write!(out, "<section id=\"{}\"><h2>{}</h2>", escape(&panel.name), escape(head));
        if let Some(d) = desc {
            let mut chars = d.chars();
            let d: String = chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            let _ = write!(out, "<p class=\"desc\">{}.</p>", escape(&d));
        }
        out.push('\n');
        // Figures of consecutive tables share one grid.
        let mut in_grid = false;
        for t in &panel.tables {
            if t.kind == Kind::Figures && !t.rows.is_empty() {
                if !in_grid {
                    out.push_str("<div class=\"figs\">");
                    in_grid = true;
                }
                let skip: &[&str] = if span_shown && panel.name == "overview" {
                    &["first_time", "last_time"]
                } else {
                    &[]
                };
                figures(&mut out, t, tz, skip);
                continue;
            }
            if in_grid {
                out.push_str("</div>\n");
                in_grid = false;
            }
            let _ = writeln!(out, "<h3>{}</h3>", escape(&t.title));
            if t.rows.is_empty() {
                out.push_str("<p class=\"meta\">Nothing in this range.</p>\n");
                continue;
            }
            match t.kind {
                Kind::Series => series(&mut out, t, tz),
                _ => top(&mut out, t, tz),
            }
        }
        if in_grid {
            out.push_str("</div>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("<p class=\"meta\">Made by edgelog. This page runs no script and loads nothing.</p></body></html>\n");
    out
}

/// One tile per figure of `t`, but those named in `skip`.
fn figures(out: &mut String, t: &TableResult, tz: i32, skip: &[&str]) {
    for (name, v, prev) in Report::figures(t) {
        if skip.contains(&name.as_str()) {
            continue;
        }
        let unit = human::unit_of(&name);
        let (shown, exact) = cell_html(&v, unit, tz);
        let (class, exact) = match v {
            Cell::Null => (" na", title_attr(Some("not in these logs"))),
            Cell::Time(_) => (" time", exact),
            _ => ("", exact),
        };
        let _ = write!(
            out,
            "<div class=\"fig{class}\"><span class=\"k\" title=\"{}\">{}</span><b{exact}>{shown}</b>",
            escape(&name),
            escape(&human::label(&name))
        );
        // Nothing to compare when neither window has the figure.
        if let Some(p) = prev.filter(|p| !(v == Cell::Null && *p == Cell::Null)) {
            let (before, before_exact) = cell_html(&p, unit, tz);
            let change = if matches!(v, Cell::Time(_)) {
                String::new()
            } else {
                format!(" ({})", change_html(&name, &v, &p))
            };
            let _ = write!(
                out,
                "<span class=\"meta\">previous <span{before_exact}>{before}</span>{change}</span>"
            );
        }
        out.push_str("</div>");
    }
}

fn top(out: &mut String, t: &TableResult, tz: i32) {
    let numeric = |i: usize| {
        t.rows
            .iter()
            .all(|r| !matches!(r.get(i), Some(Cell::Text(_) | Cell::Time(_))))
    };
    let units: Vec<Unit> = t.columns.iter().map(|c| human::unit_of(c)).collect();
    let unit = |i: usize| units.get(i).copied().unwrap_or(Unit::Count);
    let bar_col = t.bar_column();
    let max = bar_col.map_or(0.0, |b| t.column_max(b));
    out.push_str("<div class=\"tw\"><table><thead><tr>");
    for (i, c) in t.columns.iter().enumerate() {
        let class = if i > 0 && numeric(i) { " class=\"n\"" } else { "" };
        let _ = write!(
            out,
            "<th{class} title=\"{}\">{}</th>",
            escape(c),
            escape(&human::label(c))
        );
    }
    let compare = t.previous.as_deref().zip(bar_col);
    if let Some((_, b)) = compare {
        let name = t.columns.get(b).map_or("", String::as_str);
        let _ = write!(
            out,
            "<th class=\"n\" title=\"{} in the comparison window\">Previous</th><th class=\"n\">Change</th>",
            escape(name)
        );
    }
    if bar_col.is_some() {
        out.push_str("<th class=\"b\"></th>");
    }
    out.push_str("</tr></thead><tbody>\n");
    for r in &t.rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let class = if i > 0 && numeric(i) { "n" } else { "t" };
            let (shown, exact) = match c {
                Cell::Text(s) => (breakable(s), String::new()),
                c => cell_html(c, unit(i), tz),
            };
            let _ = write!(out, "<td class=\"{class}\"{exact}>{shown}</td>");
        }
        if let (Some((prev, b)), Some(key)) = (compare, r.first()) {
            let p = previous_of(prev, key, b);
            let now = r.get(b).cloned().unwrap_or(Cell::Null);
            let (before, exact) = cell_html(&p, unit(b), tz);
            let name = t.columns.get(b).map_or("", String::as_str);
            let _ = write!(
                out,
                "<td class=\"n\"{exact}>{before}</td><td class=\"n\">{}</td>",
                change_html(name, &now, &p)
            );
        }
        if let Some(b) = bar_col {
            let v = r.get(b).and_then(Cell::number).filter(|v| v.is_finite()).unwrap_or(0.0);
            let w = if max > 0.0 && max.is_finite() {
                (v / max * 100.0).round().clamp(0.0, 100.0)
            } else {
                0.0
            };
            let _ = write!(
                out,
                "<td class=\"b\"><span class=\"bar\" style=\"width:{w}%\"></span></td>"
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

/// What a chart of a unit counts, for its heading.
fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Count | Unit::Code => "Requests",
        Unit::Bytes => "Bytes",
        Unit::Ratio => "Ratios",
        Unit::Rate => "Requests/s",
        Unit::Seconds => "Time",
    }
}

fn colour_of(name: &str, k: usize) -> &'static str {
    COLOURS
        .iter()
        .find(|(c, _)| *c == name)
        .map_or(PALETTE[k % PALETTE.len()], |(_, colour)| colour)
}

/// The x axis of a series: the bucket times when every row has one, else
/// the row order.
struct XAxis {
    /// Each row's place, 0..=1.
    at: Vec<f64>,
    /// Time span drawn `(from, to)` and the bucket width, for a time axis.
    time: Option<(i64, i64, i64)>,
}

fn x_axis(t: &TableResult) -> XAxis {
    let n = t.rows.len();
    let times: Option<Vec<i64>> = t
        .rows
        .iter()
        .map(|r| match r.first() {
            Some(Cell::Time(ms)) => Some(*ms),
            _ => None,
        })
        .collect();
    if let Some(times) = times.filter(|t| !t.is_empty()) {
        let mut sorted = times.clone();
        sorted.sort_unstable();
        sorted.dedup();
        // The bucket: the narrowest gap between two buckets (a minute for one).
        let bucket = sorted
            .windows(2)
            .map(|w| i128::from(w[1]) - i128::from(w[0]))
            .min()
            .map_or(60_000, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let lo = i128::from(sorted[0]);
        let hi = i128::from(sorted[sorted.len() - 1]) + i128::from(bucket);
        let width = (hi - lo) as f64;
        // Each value is drawn at the middle of its bucket.
        let at = times
            .iter()
            .map(|&t| ((i128::from(t) - lo) as f64 + bucket as f64 / 2.0) / width)
            .map(|x| if x.is_finite() { x.clamp(0.0, 1.0) } else { 0.5 })
            .collect();
        let clamp = |v: i128| i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX });
        return XAxis {
            at,
            time: Some((clamp(lo), clamp(hi), bucket)),
        };
    }
    let at = (0..n)
        .map(|i| if n > 1 { i as f64 / (n - 1) as f64 } else { 0.5 })
        .collect();
    XAxis { at, time: None }
}

/// Sizes of one drawing of a chart.
struct Frame {
    /// `wide` or `narrow`: which screens show it.
    class: &'static str,
    width: f64,
    height: f64,
    /// Most time ticks.
    ticks: usize,
    /// Width of a character of its text (12px wide, 13px narrow).
    char_width: f64,
}

const FRAMES: [Frame; 2] = [
    Frame {
        class: "wide",
        width: 1000.0,
        height: 250.0,
        ticks: 10,
        char_width: 7.0,
    },
    Frame {
        class: "narrow",
        width: 400.0,
        height: 230.0,
        ticks: 5,
        char_width: 7.6,
    },
];

/// A series table as charts: one per unit among its value columns (counts
/// apart from bytes), all lines of a chart on one value axis, the previous
/// window dashed when there is one.
fn series(out: &mut String, t: &TableResult, tz: i32) {
    let mut groups: Vec<(Unit, Vec<usize>)> = Vec::new();
    for (k, name) in t.columns.iter().enumerate().skip(1) {
        let unit = human::unit_of(name);
        match groups.iter_mut().find(|(u, _)| *u == unit) {
            Some((_, cols)) => cols.push(k),
            None => groups.push((unit, vec![k])),
        }
    }
    let x = x_axis(t);
    let per = x.time.map_or("per bucket".to_string(), |(_, _, b)| {
        format!("per {}", human::duration(b))
    });
    for (unit, cols) in &groups {
        chart(out, t, &x, *unit, cols, tz, &per);
    }
    let bucket = |r: Option<&Vec<Cell>>| {
        r.and_then(|r| r.first())
            .map_or("-".into(), |c| human::value(c, Unit::Count, tz))
    };
    let _ = writeln!(
        out,
        "<p class=\"meta\">{} buckets{}, {} .. {}</p>",
        human::group(t.rows.len() as i64),
        x.time
            .map_or(String::new(), |(_, _, b)| format!(" of {}", human::duration(b))),
        escape(&bucket(t.rows.first())),
        escape(&bucket(t.rows.last()))
    );
}

/// The value of column `k` of each row as drawn: not a finite number is 0.
fn column_values(rows: &[Vec<Cell>], k: usize) -> Vec<f64> {
    rows.iter()
        .map(|r| r.get(k).and_then(Cell::number).filter(|v| v.is_finite()).unwrap_or(0.0))
        .collect()
}

fn chart(out: &mut String, t: &TableResult, x: &XAxis, unit: Unit, cols: &[usize], tz: i32, per: &str) {
    let lines: Vec<(usize, Vec<f64>)> = cols.iter().map(|&k| (k, column_values(&t.rows, k))).collect();
    let previous: Vec<Vec<f64>> = t
        .previous
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| cols.iter().map(|&k| column_values(p, k)).collect())
        .unwrap_or_default();
    let max = lines
        .iter()
        .map(|(_, v)| v)
        .chain(&previous)
        .flatten()
        .copied()
        .fold(0.0, f64::max);
    let ticks = human::nice_ticks(max, matches!(unit, Unit::Count | Unit::Bytes));
    let labels = human::tick_labels(&ticks, unit);
    let top = ticks.last().copied().filter(|t| *t > 0.0).unwrap_or(1.0);
    let names: Vec<String> = cols
        .iter()
        .map(|&k| human::label(t.columns.get(k).map_or("", String::as_str)))
        .collect();
    let heading = format!("{} {per}", unit_name(unit));
    let _ = writeln!(out, "<h4>{}</h4>", escape(&heading));
    for f in &FRAMES {
        let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
        let (left, right, above, below) = (12.0 + f.char_width * widest as f64, 14.0, 12.0, 26.0);
        let (w, h) = (f.width - left - right, f.height - above - below);
        let px = |at: f64| left + w * at;
        let py = |v: f64| above + h * (1.0 - (v / top).clamp(0.0, 1.0));
        let _ = write!(
            out,
            "<svg class=\"chart {}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}: {}\">",
            f.class,
            f.width,
            f.height,
            escape(&heading),
            escape(&names.join(", "))
        );
        // Value axis: gridlines and labels.
        for (v, label) in ticks.iter().zip(&labels) {
            let y = py(*v);
            let _ = write!(
                out,
                "<line class=\"grid\" x1=\"{left:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
                 <text class=\"y\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                left + w,
                left - 6.0,
                y + 4.0,
                escape(label)
            );
        }
        // Time axis: ticks on round times of the zone.
        if let Some((from, to, _)) = x.time {
            let (step, times) = human::time_ticks(from, to, tz, f.ticks);
            let span = (i128::from(to) - i128::from(from)) as f64;
            for at in times {
                let xpos = px((i128::from(at) - i128::from(from)) as f64 / span);
                let anchor = if xpos - left < 20.0 {
                    "start"
                } else if left + w - xpos < 20.0 {
                    "end"
                } else {
                    "middle"
                };
                let _ = write!(
                    out,
                    "<line class=\"grid\" x1=\"{xpos:.1}\" x2=\"{xpos:.1}\" y1=\"{above:.1}\" y2=\"{:.1}\"/>\
                     <line class=\"axis\" x1=\"{xpos:.1}\" x2=\"{xpos:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
                     <text class=\"x\" x=\"{xpos:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
                    above + h,
                    above + h,
                    above + h + 4.0,
                    above + h + 18.0,
                    escape(&human::time_tick_label(at, step, tz))
                );
            }
        }
        let _ = write!(
            out,
            "<line class=\"axis\" x1=\"{left:.1}\" x2=\"{left:.1}\" y1=\"{above:.1}\" y2=\"{:.1}\"/>\
             <line class=\"axis\" x1=\"{left:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
            above + h,
            left + w,
            above + h,
            above + h
        );
        let points = |values: &[f64]| {
            values
                .iter()
                .zip(&x.at)
                .map(|(v, at)| format!("{:.1},{:.1}", px(*at), py(*v)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        for (j, values) in previous.iter().enumerate() {
            let colour = colour_of(t.columns.get(cols[j]).map_or("", String::as_str), j);
            let _ = write!(
                out,
                "<polyline class=\"prev\" stroke=\"{colour}\" points=\"{}\"/>",
                points(values)
            );
        }
        for (j, (k, values)) in lines.iter().enumerate() {
            let colour = colour_of(t.columns.get(*k).map_or("", String::as_str), j);
            let _ = write!(out, "<polyline stroke=\"{colour}\" points=\"{}\"/>", points(values));
            if values.len() == 1 {
                let _ = write!(
                    out,
                    "<circle r=\"3\" fill=\"{colour}\" cx=\"{:.1}\" cy=\"{:.1}\"/>",
                    px(x.at.first().copied().unwrap_or(0.5)),
                    py(values[0])
                );
            }
        }
        out.push_str("</svg>");
    }
    out.push_str("\n<div class=\"legend\">");
    let total_makes_sense = matches!(unit, Unit::Count | Unit::Bytes);
    for (j, (k, values)) in lines.iter().enumerate() {
        let name = t.columns.get(*k).map_or("", String::as_str);
        let max = values.iter().copied().fold(0.0, f64::max);
        let mut text = format!("{}: max {}", names[j], human::in_unit(max, unit));
        if total_makes_sense {
            let _ = write!(text, ", total {}", human::in_unit(values.iter().sum(), unit));
        }
        let _ = write!(
            out,
            "<span class=\"key\" title=\"{}\"><i style=\"background:{}\"></i>{}</span>",
            escape(name),
            colour_of(name, j),
            escape(&text)
        );
    }
    if !previous.is_empty() {
        out.push_str("<span class=\"key\"><i class=\"dash\"></i>dashed: the comparison window</span>");
    }
    out.push_str("</div>\n");
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn paths_may_break_between_their_parts_and_stay_escaped() {
        assert_eq!(
            super::breakable("/a/<b>?x=1&y=2"),
            "/<wbr>a/<wbr>&lt;b&gt;?<wbr>x=1&amp;<wbr>y=2"
        );
        assert_eq!(super::breakable("https://h/"), "https://<wbr>h/");
        assert_eq!(super::breakable(""), "");
    }

    #[test]
    fn log_text_cannot_open_markup() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(escape("a\u{1b}b"), "a\u{fffd}b");
    }
}
