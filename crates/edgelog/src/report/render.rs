//! Report renderers: `table` for a terminal (80 columns, bars and
//! sparklines, colour only when asked), `markdown`, and `json` (schema in
//! the README: `panels.NAME.tables.NAME.{title,kind,columns,rows,previous_rows}`).

use std::fmt::Write as _;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::human::{self, group};
use super::model::{Cell, Kind, Report, TableResult, change, previous_of};
use crate::config::TimeRange;

/// Width the terminal renderer fits in when the terminal's is not known.
pub const WIDTH: usize = 80;
const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub use super::human::format_time;

/// A cell as text, numbers grouped for reading when `human`.
pub(super) fn text(cell: &Cell, offset_secs: i32, human: bool) -> String {
    match cell {
        Cell::Null => "-".into(),
        Cell::Int(i) if human => group(*i),
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 && human => group(*f as i64),
        Cell::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Cell::Float(f) => format!("{f:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string(),
        Cell::Text(s) => s.clone(),
        Cell::Time(ms) => format_time(*ms, offset_secs),
    }
}

fn group_u64(n: u64) -> String {
    group(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A float as a grouped whole number (saturating; `-` when not finite).
fn group_f64(v: f64) -> String {
    if v.is_finite() { group(v as i64) } else { "-".into() }
}

fn percent(change: Option<f64>) -> String {
    match change {
        Some(c) => format!("{:+.1}%", c * 100.0),
        None => "n/a".into(),
    }
}

/// The report's range; an open end is shown as the data's first or last
/// time when the report has them.
pub(super) fn report_range(report: &Report) -> String {
    human::range_text(&report.range, report.data_span(), report.offset_secs)
}

/// The comparison window, when there is one.
pub(super) fn previous_range(report: &Report) -> Option<String> {
    report
        .previous_range
        .as_ref()
        .map(|p| human::range_text(p, None, report.offset_secs))
}

pub(super) fn zone_text(offset_secs: i32) -> String {
    format_time(0, offset_secs).get(19..).unwrap_or("+00:00").to_string()
}

/// Cuts `s` to `width` terminal columns (wide characters count two),
/// marking the cut.
fn fit(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `s` padded with spaces to `width` terminal columns, on the right or left.
fn pad(s: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(s.width()));
    if right {
        format!("{s}{fill}")
    } else {
        format!("{fill}{s}")
    }
}

/// Text made safe for one terminal line: control characters and bidi
/// overrides shown as `?`, so that a log line cannot move the cursor,
/// recolour the screen or reorder what is shown around it.
pub(crate) fn clean(s: &str) -> String {
    let unsafe_char = |c: char| {
        c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(unsafe_char) {
        return s.to_string();
    }
    s.chars().map(|c| if unsafe_char(c) { '?' } else { c }).collect()
}

/// Narrowest width the terminal renderer lays tables out for; a narrower
/// request is treated as this.
pub const MIN_WIDTH: usize = 20;
/// Text columns of a ranked table give way down to this width first...
const SOFT_FLOOR: usize = 12;
/// ...and then, if the table is still too wide, down to this.
const HARD_FLOOR: usize = 4;
/// Width of the bars beside ranked tables.
const BAR_WIDTH: usize = 10;
/// Most characters of a sparkline.
const SPARK_MAX: usize = 48;

/// The report for a terminal `width` columns wide (80 when unknown).
pub fn render_table(report: &Report, colour: bool, width: usize) -> String {
    let width = width.max(MIN_WIDTH);
    let (bold, dim, reset) = if colour {
        ("\x1b[1m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let tz = report.offset_secs;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{bold}edgelog report{reset}  {}  (zone {})",
        report_range(report),
        zone_text(tz)
    );
    if let Some(p) = previous_range(report) {
        let _ = writeln!(out, "compared with  {p}");
    }
    let _ = writeln!(
        out,
        "{dim}{} rows from {} objects, {}; sources: {}{reset}",
        group_u64(report.rows),
        report.objects,
        malformed_text(report.malformed),
        clean(&report.sources.join(", "))
    );
    if let Some(first) = report.unreadable.first() {
        let _ = writeln!(
            out,
            "{} unreadable objects skipped, first: {}",
            report.unreadable.len(),
            clean(first)
        );
    }
    for panel in &report.panels {
        let _ = writeln!(out, "\n{bold}== {} =={reset}", clean(panel.title.trim_end_matches('.')));
        for t in &panel.tables {
            if panel.tables.len() > 1 || t.kind != Kind::Figures {
                let _ = writeln!(out, "{bold}{}{reset}", clean(&t.title));
            }
            if t.rows.is_empty() {
                let _ = writeln!(out, "  (nothing in this range)");
                continue;
            }
            match t.kind {
                Kind::Figures => figures_text(&mut out, t, tz, width),
                Kind::Series => series_text(&mut out, t, tz, width),
                Kind::Top => top_text(&mut out, t, tz, width),
            }
        }
    }
    out
}

fn figures_text(out: &mut String, t: &TableResult, tz: i32, width: usize) {
    // The name column gives way on a narrow terminal; figures are never cut.
    let name_w = 22.min(width.saturating_sub(20)).max(HARD_FLOOR);
    for (name, v, prev) in Report::figures(t) {
        let name = pad(&fit(&clean(&name), name_w), name_w, true);
        let mut line = format!("  {name} {:>16}", clean(&text(&v, tz, true)));
        if let Some(p) = prev {
            let _ = write!(
                line,
                "  prev {:>14}  {:>8}",
                clean(&text(&p, tz, true)),
                percent(change(&v, &p))
            );
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// One character per value, scaled to the largest; more values than
/// `width` are drawn in `width` groups, each showing its largest value.
fn sparkline(values: &[f64], width: usize) -> String {
    let finite = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
    let max = values.iter().map(|v| finite(*v)).fold(0.0, f64::max);
    let per = values.len().div_ceil(width.max(1)).max(1);
    values
        .chunks(per)
        .map(|group| {
            let v = group.iter().map(|v| finite(*v)).fold(0.0, f64::max);
            if max > 0.0 {
                // v / max is within 0..=1, so the index is within 0..=7.
                SPARKS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize]
            } else {
                SPARKS[0]
            }
        })
        .collect()
}

fn series_text(out: &mut String, t: &TableResult, tz: i32, width: usize) {
    let cell0 = |r: Option<&Vec<Cell>>| r.and_then(|r| r.first()).map_or("-".into(), |c| text(c, tz, false));
    let (from, to) = (cell0(t.rows.first()), cell0(t.rows.last()));
    let _ = writeln!(out, "  {} buckets, {} .. {}", t.rows.len(), clean(&from), clean(&to));
    let spark_w = SPARK_MAX.min(width.saturating_sub(32)).max(8);
    for (i, name) in t.columns.iter().enumerate().skip(1) {
        let values: Vec<f64> = t
            .rows
            .iter()
            .map(|r| r.get(i).and_then(Cell::number).unwrap_or(0.0))
            .collect();
        let max = values.iter().cloned().fold(0.0, f64::max);
        let total: f64 = values.iter().filter(|v| v.is_finite()).sum();
        let _ = writeln!(
            out,
            "  {:<11} {} max {} total {}",
            fit(&clean(name), 11),
            sparkline(&values, spark_w),
            group_f64(max),
            group_f64(total)
        );
    }
}

/// Column widths that fit `budget` terminal columns (each column takes two
/// more for its gap) where they can: the widest shrinkable column gives way
/// first, never below `floor`. Returns whether the result fits.
fn fit_widths(widths: &mut [usize], shrinkable: &[bool], budget: usize, floor: usize) -> bool {
    loop {
        let total: usize = widths.iter().map(|w| w + 2).sum();
        if total <= budget {
            return true;
        }
        let over = total - budget;
        let candidates: Vec<usize> = (0..widths.len())
            .filter(|&i| shrinkable.get(i).copied().unwrap_or(false) && widths[i] > floor)
            .collect();
        let Some(&widest) = candidates.iter().max_by_key(|&&i| widths[i]) else {
            return false;
        };
        let next = candidates
            .iter()
            .filter(|&&i| i != widest)
            .map(|&i| widths[i])
            .max()
            .unwrap_or(floor);
        let w = widths[widest];
        // Cut by the overflow, but not below the next widest column, so
        // that wide columns shrink together; always by at least one.
        let target = w.saturating_sub(over).max(next).max(floor);
        widths[widest] = if target < w { target } else { w - 1 };
    }
}

fn top_text(out: &mut String, t: &TableResult, tz: i32, width: usize) {
    let compare = t.previous.as_deref();
    let ncols = t.columns.len();
    let mut header: Vec<String> = t.columns.iter().map(|c| clean(c)).collect();
    let bar_col = t.bar_column();
    if compare.is_some() && bar_col.is_some() {
        header.push("prev".into());
        header.push("change".into());
    }
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            let mut cells: Vec<String> = (0..ncols)
                .map(|i| r.get(i).map_or_else(|| "-".into(), |c| clean(&text(c, tz, true))))
                .collect();
            if let (Some(prev), Some(b), Some(key)) = (compare, bar_col, r.first()) {
                let p = previous_of(prev, key, b);
                cells.push(clean(&text(&p, tz, true)));
                cells.push(percent(r.get(b).and_then(|v| change(v, &p))));
            }
            cells
        })
        .collect();
    let mut natural: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for r in &rows {
        for (w, c) in natural.iter_mut().zip(r) {
            *w = (*w).max(c.width());
        }
    }
    // Too wide for the terminal: text columns give way (the widest first,
    // down to 12, then down to 4), then the bars go; numbers are never cut.
    let text_col = |i: usize| t.rows.iter().any(|r| matches!(r.get(i), Some(Cell::Text(_))));
    let shrinkable: Vec<bool> = (0..natural.len()).map(|i| i < ncols && text_col(i)).collect();
    let layout = |bar: usize| {
        let budget = width.saturating_sub(if bar > 0 { bar + 1 } else { 0 });
        let mut widths = natural.clone();
        let fits = fit_widths(&mut widths, &shrinkable, budget, SOFT_FLOOR)
            || fit_widths(&mut widths, &shrinkable, budget, HARD_FLOOR);
        (widths, fits)
    };
    let (widths, bar_width) = match bar_col.map(|_| layout(BAR_WIDTH)) {
        Some((w, true)) => (w, BAR_WIDTH),
        _ => (layout(0).0, 0),
    };
    let max = bar_col.map_or(0.0, |b| t.column_max(b));
    let line = |cells: &[String], bar: &str| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            // Text on the left, numbers on the right.
            let _ = write!(s, "  {}", pad(&fit(c, *w), *w, i == 0 || shrinkable[i]));
        }
        if !bar.is_empty() {
            let _ = write!(s, " {bar}");
        }
        s.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(&header, ""));
    for (r, cells) in t.rows.iter().zip(&rows) {
        let bar = match bar_col.and_then(|b| r.get(b)).and_then(Cell::number) {
            Some(v) if max > 0.0 && bar_width > 0 && v.is_finite() => {
                // v / max is at most 1 for finite values, so the bar fits.
                let n = ((v / max) * bar_width as f64).round().clamp(0.0, bar_width as f64);
                "█".repeat(n as usize)
            }
            _ => String::new(),
        };
        let _ = writeln!(out, "{}", line(cells, &bar));
    }
}

/// Escapes `|` and line breaks for a Markdown table cell.
fn md(s: &str) -> String {
    clean(s).replace('\\', "\\\\").replace('|', "\\|")
}

/// The report as Markdown.
pub fn render_markdown(report: &Report) -> String {
    let tz = report.offset_secs;
    let mut out = String::new();
    let _ = writeln!(out, "# edgelog report\n");
    let _ = writeln!(out, "- range: {} (zone {})", report_range(report), zone_text(tz));
    if let Some(p) = previous_range(report) {
        let _ = writeln!(out, "- compared with: {p}");
    }
    let _ = writeln!(out, "- sources: {}", md(&report.sources.join(", ")));
    let _ = writeln!(
        out,
        "- {} rows from {} objects, {}",
        report.rows,
        report.objects,
        malformed_text(report.malformed)
    );
    if let Some(first) = report.unreadable.first() {
        let _ = writeln!(
            out,
            "- {} unreadable objects skipped, first: {}",
            report.unreadable.len(),
            md(first)
        );
    }
    for panel in &report.panels {
        let _ = writeln!(out, "\n## {}\n", clean(panel.title.trim_end_matches('.')));
        for t in &panel.tables {
            let _ = writeln!(out, "### {}\n", clean(&t.title));
            if t.rows.is_empty() {
                let _ = writeln!(out, "Nothing in this range.\n");
                continue;
            }
            if t.kind == Kind::Figures {
                let compare = t.previous.is_some();
                let _ = writeln!(
                    out,
                    "| figure | value |{}",
                    if compare { " previous | change |" } else { "" }
                );
                let _ = writeln!(out, "|---|---:|{}", if compare { "---:|---:|" } else { "" });
                for (name, v, prev) in Report::figures(t) {
                    let _ = write!(out, "| {} | {} |", md(&name), md(&text(&v, tz, false)));
                    if let Some(p) = prev {
                        let _ = write!(out, " {} | {} |", md(&text(&p, tz, false)), percent(change(&v, &p)));
                    }
                    out.push('\n');
                }
            } else {
                let _ = writeln!(
                    out,
                    "| {} |",
                    t.columns.iter().map(|c| md(c)).collect::<Vec<_>>().join(" | ")
                );
                let _ = writeln!(out, "|{}", "---|".repeat(t.columns.len()));
                for r in &t.rows {
                    let cells: Vec<String> = (0..t.columns.len())
                        .map(|i| r.get(i).map_or_else(String::new, |c| md(&text(c, tz, false))))
                        .collect();
                    let _ = writeln!(out, "| {} |", cells.join(" | "));
                }
            }
            out.push('\n');
        }
    }
    out
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_cell(c: &Cell, tz: i32) -> String {
    match c {
        Cell::Null => "null".into(),
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) if f.is_finite() => format!("{f}"),
        Cell::Float(_) => "null".into(),
        Cell::Text(s) => json_str(s),
        Cell::Time(ms) => json_str(&format_time(*ms, tz)),
    }
}

fn json_rows(rows: &[Vec<Cell>], tz: i32) -> String {
    let rows: Vec<String> = rows
        .iter()
        .map(|r| format!("[{}]", r.iter().map(|c| json_cell(c, tz)).collect::<Vec<_>>().join(",")))
        .collect();
    format!("[{}]", rows.join(","))
}

fn json_range(r: &TimeRange, tz: i32) -> String {
    let end = |v: Option<i64>| v.map_or("null".to_string(), |ms| json_str(&format_time(ms, tz)));
    format!("{{\"since\":{},\"until\":{}}}", end(r.since), end(r.until))
}

/// `N malformed lines`, or where they are when they were not counted here.
pub fn malformed_text(malformed: Option<u64>) -> String {
    match malformed {
        Some(n) => format!("{n} malformed lines"),
        None => "malformed lines in the cluster executors' logs".into(),
    }
}

/// The report as JSON, one object (schema version 1).
pub fn render_json(report: &Report) -> String {
    let tz = report.offset_secs;
    let mut out = String::new();
    let _ = write!(
        out,
        "{{\"edgelog_report\":1,\"range\":{},\"tz\":{}",
        json_range(&report.range, tz),
        json_str(&zone_text(tz))
    );
    let _ = write!(
        out,
        ",\"compare\":{}",
        report
            .previous_range
            .as_ref()
            .map_or("null".into(), |p| json_range(p, tz))
    );
    let sources: Vec<String> = report.sources.iter().map(|s| json_str(s)).collect();
    let _ = write!(out, ",\"sources\":[{}]", sources.join(","));
    let _ = write!(
        out,
        ",\"scan\":{{\"rows\":{},\"objects\":{},\"malformed_lines\":{}",
        report.rows,
        report.objects,
        report.malformed.map_or("null".to_string(), |n| n.to_string())
    );
    if !report.unreadable.is_empty() {
        let skipped: Vec<String> = report.unreadable.iter().map(|s| json_str(s)).collect();
        let _ = write!(out, ",\"unreadable_objects\":[{}]", skipped.join(","));
    }
    out.push('}');
    out.push_str(",\"panels\":{");
    for (i, panel) in report.panels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{}:{{\"title\":{},\"tables\":{{",
            json_str(&panel.name),
            json_str(&panel.title)
        );
        for (j, t) in panel.tables.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let cols: Vec<String> = t.columns.iter().map(|c| json_str(c)).collect();
            let _ = write!(
                out,
                "{}:{{\"title\":{},\"kind\":{},\"columns\":[{}],\"rows\":{}",
                json_str(&t.name),
                json_str(&t.title),
                json_str(t.kind.name()),
                cols.join(","),
                json_rows(&t.rows, tz)
            );
            if let Some(p) = &t.previous {
                let _ = write!(out, ",\"previous_rows\":{}", json_rows(p, tz));
            }
            out.push('}');
        }
        out.push_str("}}");
    }
    out.push_str("}}\n");
    out
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
