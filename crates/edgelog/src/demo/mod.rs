//! `edgelog demo`: writes a day of realistic sample logs (with a few late
//! records and malformed lines) and answers example questions on them,
//! showing the command for each so it can be run by hand.

pub mod generate;

use std::io::Write;

use anyhow::Result;

use crate::config::{OutputFormat, TimeRange};
use crate::dialect::DialectSpec;
use crate::engine::{QueryService, ScanRequest};
use crate::output::write_stream;
use crate::report::html::render_html;
use crate::report::panels;
use crate::report::render::render_table;
use edgelog_parse::time::parse_iso8601;
pub use generate::{GenerateConfig, Generated, generate};

/// The example questions: a title, extra flags, and the SQL.
const QUESTIONS: &[(&str, &str, &str)] = &[
    (
        "Top requested paths",
        "",
        "SELECT path, count(*) AS requests FROM logs GROUP BY path ORDER BY requests DESC, path LIMIT 10",
    ),
    (
        "Status codes",
        "",
        "SELECT status, count(*) AS requests FROM logs GROUP BY status ORDER BY requests DESC",
    ),
    (
        "Cache hit ratio by host",
        "",
        "SELECT host, count(*) AS requests, round(avg(CASE WHEN cache_status = 'HIT' THEN 1.0 ELSE 0.0 END), 4) AS hit_ratio FROM logs GROUP BY host ORDER BY host",
    ),
    (
        "Heaviest clients by bytes",
        "",
        "SELECT client_ip, count(*) AS requests, sum(bytes) AS bytes FROM logs GROUP BY client_ip ORDER BY bytes DESC LIMIT 5",
    ),
    (
        "One hour only: reads that hour's objects (plus a margin for late records), not the whole day",
        "--since 2024-11-27T13:00+09:00 --until 2024-11-27T14:00+09:00",
        "SELECT count(*) AS requests, sum(bytes) AS bytes, min(time) AS first, max(time) AS last FROM logs",
    ),
    (
        "Latest server errors, traced back to their object and line",
        "",
        "SELECT time, status, request, _file, _line FROM logs WHERE status >= 500 ORDER BY time DESC LIMIT 5",
    ),
];

/// Generates the sample data described by `gen`, then answers the example
/// questions on it, writing tables to `out`.
pub async fn run_demo(gen_cfg: &GenerateConfig, out: &mut dyn Write) -> Result<()> {
    let started = std::time::Instant::now();
    let g = generate(gen_cfg)?;
    let dir = gen_cfg.out.display().to_string();
    writeln!(
        out,
        "Wrote {} hourly objects ({} lines, {:.1}s) to {dir}/sakura-webaccelerator/ ...\n",
        g.files,
        g.lines,
        started.elapsed().as_secs_f64()
    )?;
    let from = format!("{}/", dir.trim_end_matches('/'));
    // Opened once; the one-hour question re-scopes it.
    let all = QueryService::open(&ScanRequest::new(vec![from.clone()], DialectSpec::named("sakura"))).await?;
    for (i, (title, flags, sql)) in QUESTIONS.iter().enumerate() {
        let mut range = TimeRange::ALL;
        if !flags.is_empty() {
            range.since = parse_iso8601("2024-11-27T13:00+09:00", 0);
            range.until = parse_iso8601("2024-11-27T14:00+09:00", 0);
        }
        let sep = if flags.is_empty() { "" } else { " " };
        writeln!(out, "## {title}\n$ edgelog query --from {from}{sep}{flags} \"{sql}\"")?;
        out.flush()?;
        let service = QueryService::new(all.logs().with_range(range));
        let run = service.query(sql).await?;
        let mut buf = Vec::new();
        write_stream(run.stream, OutputFormat::Table, &mut buf).await?;
        let totals = run.scan.totals();
        out.write_all(&buf)?;
        if i == 0 || !flags.is_empty() {
            writeln!(
                out,
                "(read {} of {} objects; {} rows; {} malformed lines counted, none lost silently{})",
                totals.selected,
                totals.candidates,
                totals.rows,
                totals.malformed,
                totals
                    .samples
                    .first()
                    .map(|s| format!(", first: {s}"))
                    .unwrap_or_default()
            )?;
        }
        writeln!(out)?;
    }
    writeln!(out, "## The overview report\n$ edgelog report overview --from {from}")?;
    let report = all.report(&panels(), None).await?;
    let html_path = gen_cfg.out.join("report.html");
    crate::output::AtomicFile::write_all_to(&html_path, render_html(&report).as_bytes())?;
    let mut overview = report.clone();
    overview.panels.retain(|p| p.name == "overview" || p.name == "traffic");
    writeln!(out, "{}", render_table(&overview, false, crate::report::render::WIDTH))?;
    writeln!(
        out,
        "Every panel as one page (no script, works offline): {}",
        html_path.display()
    )?;
    lake_part(gen_cfg, &from, out).await?;
    writeln!(
        out,
        "Ask your own: edgelog query --from {from} \"SELECT ... FROM logs\"   (columns: edgelog formats sakura)"
    )?;
    writeln!(out, "Every panel: edgelog report --from {from}   (-o markdown | json)")?;
    Ok(())
}

/// Ingests the sample into a lake beside it, then asks one question of the
/// raw objects and of the lake, with both times.
async fn lake_part(gen_cfg: &GenerateConfig, from: &str, out: &mut dyn Write) -> Result<()> {
    // Beside the raw logs, not under them: the folder stays one format.
    let lake_at = format!("{}-lake", gen_cfg.out.display().to_string().trim_end_matches('/'));
    writeln!(
        out,
        "\n## The lake: ingest once, ask many times\n$ edgelog ingest --from {from} --lake {lake_at}"
    )?;
    out.flush()?;
    let started = std::time::Instant::now();
    let request = ScanRequest::new(vec![from.to_string()], DialectSpec::named("sakura"));
    let mut lake = crate::lake::Lake::open(&lake_at, &request.storage).await?;
    let logs = crate::engine::LogSet::open(&request).await?;
    let done = crate::ingest::ingest(&mut lake, &logs, None, &mut |_| {}).await?;
    writeln!(
        out,
        "(ingested {} objects, {} rows, in {:.2}s; run it again and it reads nothing: every object is noted in the lake's commits)\n",
        done.ingested.len(),
        done.ingested.iter().map(|e| e.rows).sum::<u64>(),
        started.elapsed().as_secs_f64()
    )?;
    let sql = QUESTIONS[1].2;
    let mut lake_request = request.clone();
    lake_request.locations.clear();
    lake_request.lake = Some(lake_at.clone());
    for (what, req, flags) in [
        ("raw objects", &request, format!("--from {from}")),
        ("lake", &lake_request, format!("--lake {lake_at}")),
    ] {
        let started = std::time::Instant::now();
        let service = QueryService::open(req).await?;
        let run = service.query(sql).await?;
        let mut buf = Vec::new();
        write_stream(run.stream, OutputFormat::Table, &mut buf).await?;
        writeln!(
            out,
            "$ edgelog query {flags} \"{sql}\"   # {what}: {:.3}s",
            started.elapsed().as_secs_f64()
        )?;
        out.write_all(&buf)?;
    }
    writeln!(out)?;
    Ok(())
}
