//! The report as one self-contained HTML page: inline CSS and SVG charts, no
//! script, no fonts, no external anything, so it opens offline and can be
//! mailed around. A Content-Security-Policy forbids every script and every
//! fetch; every string that came from a log is escaped.

use std::fmt::Write as _;

use super::model::{Cell, Kind, Report, TableResult, change, previous_of};
use super::render::{previous_range, report_range, text, zone_text};

/// The page's policy: nothing may load or run; inline styles and data:
/// images only.
pub const CSP: &str = "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                       base-uri 'none'; form-action 'none'";

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1d2330;\
background:#fff}h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d8dde6}\
h3{font-size:14px;margin:16px 0 6px;color:#3b4558}.meta{color:#5b6577;font-size:13px}table{border-collapse:collapse;\
width:100%}td,th{padding:3px 8px;text-align:left;border-bottom:1px solid #eef0f4;vertical-align:top}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.t{word-break:break-all}\
.bar{background:#4c78a8;height:10px;display:inline-block}.up{color:#b03030}.down{color:#2f7d32}\
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:8px}\
.fig{border:1px solid #e3e7ee;border-radius:6px;padding:8px}.fig b{display:block;font-size:18px}\
svg.chart{width:100%;height:140px;background:#fafbfd;border:1px solid #eef0f4}.legend{font-size:12px;color:#5b6577}";

const COLOURS: &[&str] = &["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b"];

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

fn cell_text(c: &Cell, tz: i32) -> String {
    text(c, tz, false)
}

fn change_html(now: &Cell, before: &Cell) -> String {
    match change(now, before) {
        Some(c) if c > 0.0 => format!("<span class=\"up\">+{:.1}%</span>", c * 100.0),
        Some(c) if c < 0.0 => format!("<span class=\"down\">{:.1}%</span>", c * 100.0),
        Some(_) => "0%".into(),
        None => "n/a".into(),
    }
}

/// The whole page.
pub fn render_html(report: &Report) -> String {
    let tz = report.offset_secs;
    let zone = zone_text(tz);
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
        escape(&zone)
    );
    if let Some(p) = previous_range(report) {
        let _ = write!(out, "<br>Compared with: {}", escape(&p));
    }
    let sources: Vec<String> = report.sources.iter().map(|s| escape(s)).collect();
    let _ = writeln!(
        out,
        "<br>Sources: {}<br>{} rows from {} objects, {} malformed lines{}</p>",
        sources.join(", "),
        report.rows,
        report.objects,
        report.malformed,
        report.unreadable.first().map_or(String::new(), |first| format!(
            "<br>{} unreadable objects skipped, first: {}",
            report.unreadable.len(),
            escape(first)
        ))
    );
    for panel in &report.panels {
        let _ = writeln!(
            out,
            "<section id=\"{}\"><h2>{}</h2>",
            escape(&panel.name),
            escape(panel.title.trim_end_matches('.'))
        );
        for t in &panel.tables {
            let _ = writeln!(out, "<h3>{}</h3>", escape(&t.title));
            if t.rows.is_empty() {
                out.push_str("<p class=\"meta\">Nothing in this range.</p>\n");
                continue;
            }
            match t.kind {
                Kind::Figures => figures(&mut out, t, tz),
                Kind::Series => series(&mut out, t, tz),
                Kind::Top => top(&mut out, t, tz),
            }
        }
        out.push_str("</section>\n");
    }
    out.push_str("<p class=\"meta\">Made by edgelog. This page runs no script and loads nothing.</p></body></html>\n");
    out
}

fn figures(out: &mut String, t: &TableResult, tz: i32) {
    out.push_str("<div class=\"figs\">");
    for (name, v, prev) in Report::figures(t) {
        let _ = write!(
            out,
            "<div class=\"fig\">{}<b>{}</b>",
            escape(&name),
            escape(&cell_text(&v, tz))
        );
        if let Some(p) = prev {
            let _ = write!(
                out,
                "<span class=\"meta\">prev {} ({})</span>",
                escape(&cell_text(&p, tz)),
                change_html(&v, &p)
            );
        }
        out.push_str("</div>");
    }
    out.push_str("</div>\n");
}

fn top(out: &mut String, t: &TableResult, tz: i32) {
    let numeric = |i: usize| {
        t.rows
            .iter()
            .all(|r| !matches!(r.get(i), Some(Cell::Text(_) | Cell::Time(_))))
    };
    let bar_col = t.bar_column();
    let max = bar_col.map_or(0.0, |b| t.column_max(b));
    out.push_str("<table><thead><tr>");
    for (i, c) in t.columns.iter().enumerate() {
        let class = if i > 0 && numeric(i) { " class=\"n\"" } else { "" };
        let _ = write!(out, "<th{class}>{}</th>", escape(c));
    }
    let compare = t.previous.as_deref().filter(|_| bar_col.is_some());
    if compare.is_some() {
        out.push_str("<th class=\"n\">prev</th><th class=\"n\">change</th>");
    }
    if bar_col.is_some() {
        out.push_str("<th></th>");
    }
    out.push_str("</tr></thead><tbody>\n");
    for r in &t.rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let class = if i > 0 && numeric(i) { "n" } else { "t" };
            let _ = write!(out, "<td class=\"{class}\">{}</td>", escape(&cell_text(c, tz)));
        }
        if let (Some(prev), Some(b), Some(key)) = (compare, bar_col, r.first()) {
            let p = previous_of(prev, key, b);
            let now = r.get(b).cloned().unwrap_or(Cell::Null);
            let _ = write!(
                out,
                "<td class=\"n\">{}</td><td class=\"n\">{}</td>",
                escape(&cell_text(&p, tz)),
                change_html(&now, &p)
            );
        }
        if let Some(b) = bar_col {
            let v = r.get(b).and_then(Cell::number).filter(|v| v.is_finite()).unwrap_or(0.0);
            let w = if max > 0.0 && max.is_finite() {
                (v / max * 120.0).round().clamp(0.0, 120.0)
            } else {
                0.0
            };
            let _ = write!(out, "<td><span class=\"bar\" style=\"width:{w}px\"></span></td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

/// One SVG line chart per series table: a polyline per value column, scaled
/// to its own maximum (so that small series stay visible), with a legend.
fn series(out: &mut String, t: &TableResult, tz: i32) {
    const W: f64 = 1000.0;
    const H: f64 = 120.0;
    let n = t.rows.len();
    let x = |i: usize| {
        if n > 1 {
            10.0 + (W - 20.0) * i as f64 / (n - 1) as f64
        } else {
            W / 2.0
        }
    };
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{}\">",
        escape(&t.title)
    );
    let mut legend = Vec::new();
    for (k, name) in t.columns.iter().enumerate().skip(1) {
        // A value that is not a finite number is drawn as 0, never as NaN.
        let values: Vec<f64> = t
            .rows
            .iter()
            .map(|r| r.get(k).and_then(Cell::number).filter(|v| v.is_finite()).unwrap_or(0.0))
            .collect();
        let max = values.iter().cloned().fold(0.0, f64::max);
        let colour = COLOURS[(k - 1) % COLOURS.len()];
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let y = if max > 0.0 {
                    H - 8.0 - (H - 16.0) * (v / max).clamp(0.0, 1.0)
                } else {
                    H - 8.0
                };
                format!("{:.1},{:.1}", x(i), y)
            })
            .collect();
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" vector-effect=\"non-scaling-stroke\" points=\"{}\"/>",
            points.join(" ")
        );
        legend.push(format!(
            "<span style=\"color:{colour}\">■</span> {} (max {})",
            escape(name),
            escape(&cell_text(&Cell::Float(max), tz))
        ));
    }
    out.push_str("</svg>\n");
    let bucket = |r: Option<&Vec<Cell>>| r.and_then(|r| r.first()).map_or("-".into(), |c| cell_text(c, tz));
    let _ = writeln!(
        out,
        "<div class=\"legend\">{} · {} buckets, {} .. {}</div>",
        legend.join(" "),
        n,
        escape(&bucket(t.rows.first())),
        escape(&bucket(t.rows.last()))
    );
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn log_text_cannot_open_markup() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(escape("a\u{1b}b"), "a\u{fffd}b");
    }
}
