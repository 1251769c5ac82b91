//! Realistic hourly Sakura-style logs, deterministic by seed: skewed path
//! and client popularity, realistic status, cache, method and user-agent
//! mixes, IPv4 and IPv6 clients, a day-shaped traffic curve, and on request
//! late records and malformed (truncated) lines.
//!
//! The shape follows `shared/bench/genlogs.py` (same layout, fields, value
//! sets, weights and per-hour volumes), so the benchmark can use either.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use edgelog_parse::time::{DAY_MS, HOUR_MS, civil_from_days};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    /// Folder to write `sakura-webaccelerator/...` under.
    pub out: PathBuf,
    /// Number of hosts (sites).
    pub hosts: usize,
    /// Number of hourly objects per host.
    pub hours: usize,
    /// Lines in the busiest hour of the first host.
    pub lines_per_hour: usize,
    /// Seed: the same seed gives the same bytes.
    pub seed: u64,
    /// Fraction of lines cut short (malformed).
    pub bad: f64,
    /// Fraction of records that arrive late, in the next hour's object.
    pub late: f64,
    /// Start of the first hour, epoch milliseconds.
    pub start_ms: i64,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Generated {
    /// Objects written.
    pub files: usize,
    /// Lines written.
    pub lines: usize,
}

const UAS: &[(&str, f64)] = &[
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        30.0,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
        15.0,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
        20.0,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        12.0,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
        6.0,
    ),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        4.0,
    ),
    (
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        2.0,
    ),
    ("curl/8.5.0", 3.0),
    ("Go-http-client/1.1", 3.0),
    ("python-requests/2.32.3", 2.0),
    ("Mozilla/5.0 (compatible; <script>alert(1)</script>)", 0.01),
];
const STATUS: &[(&str, f64)] = &[
    ("200", 80.0),
    ("304", 8.0),
    ("206", 2.0),
    ("301", 2.0),
    ("302", 1.5),
    ("404", 4.0),
    ("403", 0.5),
    ("500", 0.3),
    ("502", 0.3),
    ("503", 0.2),
    ("504", 0.2),
];
const XCACHE: &[(&str, f64)] = &[
    ("HIT", 70.0),
    ("MISS", 20.0),
    ("EXPIRED", 4.0),
    ("UPDATING", 0.5),
    ("STALE", 0.5),
    ("BYPASS", 4.0),
    ("REVALIDATED", 1.0),
];
const METHODS: &[(&str, f64)] = &[("GET", 93.0), ("HEAD", 3.0), ("POST", 3.0), ("OPTIONS", 1.0)];
const EXT: &[&str] = &[
    ".html", ".css", ".js", ".png", ".jpg", ".webp", ".svg", ".woff2", ".json", "",
];

fn pick<'a>(rng: &mut StdRng, choices: &[(&'a str, f64)]) -> &'a str {
    let total: f64 = choices.iter().map(|c| c.1).sum();
    let mut x = rng.random::<f64>() * total;
    for (v, w) in choices {
        if x < *w {
            return v;
        }
        x -= w;
    }
    choices[choices.len() - 1].0
}

fn make_paths(rng: &mut StdRng, n: usize) -> Vec<String> {
    let mut out: Vec<String> = ["/", "/index.html", "/favicon.ico", "/robots.txt", "/news/sp.php"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let dirs = ["news", "img", "assets", "blog", "api", "products", "static", "docs"];
    while out.len() < n {
        let mut p = format!("/{}", dirs[rng.random_range(0..dirs.len())]);
        for _ in 0..rng.random_range(1..=3) {
            let c = char::from(b'a' + rng.random_range(0..26u8));
            let reps = rng.random_range(2..=8);
            let _ = write!(p, "/{}{}", c.to_string().repeat(reps), rng.random_range(0..=999));
        }
        p.push_str(EXT[rng.random_range(0..EXT.len())]);
        if rng.random::<f64>() < 0.15 {
            let src = ["x", "twitter", "newsletter"][rng.random_range(0..3)];
            let _ = write!(p, "?id={}&utm_source={src}", rng.random_range(1..=1_000_000));
        }
        out.push(p);
    }
    out
}

fn make_ips(rng: &mut StdRng, n: usize) -> Vec<String> {
    let mut out: Vec<String> = (0..n)
        .map(|_| {
            format!(
                "{}.{}.{}.{}",
                rng.random_range(1..=223),
                rng.random_range(0..=255),
                rng.random_range(0..=255),
                rng.random_range(1..=254)
            )
        })
        .collect();
    for _ in 0..n / 10 {
        out.push(format!(
            "2001:db8:{:x}:{:x}::{:x}",
            rng.random_range(0..=65535),
            rng.random_range(0..=65535),
            rng.random_range(1..=65535)
        ));
    }
    out
}

/// `2024-11-27T13:28:34+09:00` for epoch milliseconds (seconds truncated).
fn jst_iso(ms: i64) -> String {
    let local = ms + 9 * HOUR_MS;
    let (y, m, d) = civil_from_days(local.div_euclid(DAY_MS));
    let s = local.rem_euclid(DAY_MS) / 1000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+09:00",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

struct Shared<'a> {
    paths: &'a [String],
    ips: &'a [String],
    cfg: &'a GenerateConfig,
}

struct Task {
    path: PathBuf,
    host: String,
    start_ms: i64,
    lines: usize,
    seed: u64,
}

fn lognormal(rng: &mut StdRng, mu: f64, sigma: f64) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    (mu + sigma * z).exp()
}

fn write_object(task: &Task, sh: &Shared) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(task.seed);
    let mut offsets: Vec<f64> = (0..task.lines).map(|_| rng.random::<f64>() * 3600.0).collect();
    for o in offsets.iter_mut() {
        if rng.random::<f64>() < sh.cfg.late {
            // Logged in the previous hour, uploaded with this one.
            *o = -(1.0 + rng.random::<f64>() * 600.0);
        }
    }
    offsets.sort_by(f64::total_cmp);
    if let Some(dir) = task.path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let file = std::fs::File::create(&task.path).with_context(|| format!("cannot create {}", task.path.display()))?;
    let mut gz = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::new(6));
    let mut line = String::with_capacity(512);
    let (paths, ips) = (sh.paths, sh.ips);
    for secs in offsets {
        let t_ms = task.start_ms + (secs * 1000.0).floor() as i64;
        let path = &paths[(paths.len() as f64 * rng.random::<f64>().powi(4)) as usize];
        let ip = &ips[(ips.len() as f64 * rng.random::<f64>().powi(3)) as usize];
        let status = pick(&mut rng, STATUS);
        let body: u64 = if matches!(status, "304" | "301" | "302") {
            0
        } else {
            lognormal(&mut rng, 8.5, 1.6) as u64
        };
        let scheme = if rng.random::<f64>() < 0.9 { "https" } else { "http" };
        let port = rng.random_range(1024..=65535u32);
        let method = pick(&mut rng, METHODS);
        let proto = ["1.1", "1.1", "2.0"][rng.random_range(0..3)];
        let sent = body + rng.random_range(200..=700u64);
        let referer = if rng.random::<f64>() < 0.5 {
            String::new()
        } else {
            format!(
                "https://{}{}",
                task.host,
                paths[(paths.len() as f64 * rng.random::<f64>().powi(4)) as usize]
            )
        };
        let xcache = pick(&mut rng, XCACHE);
        let rid: u128 = rng.random();
        let ua = pick(&mut rng, UAS);
        line.clear();
        let fields: [(&str, &str); 15] = [
            ("time", &jst_iso(t_ms)),
            ("http_host", &task.host),
            ("scheme", scheme),
            ("remote_addr", ip),
            ("remote_port", &port.to_string()),
            ("remote_user", ""),
            ("request", &format!("{method} {path} HTTP/{proto}")),
            ("status", status),
            ("bytes_sent", &sent.to_string()),
            ("body_bytes_sent", &body.to_string()),
            ("referer", &referer),
            ("x_cache", xcache),
            (
                "msec",
                &format!("{}.{:03}", t_ms.div_euclid(1000), t_ms.rem_euclid(1000)),
            ),
            ("request_id", &format!("{rid:032x}")),
            ("user_agent", ua),
        ];
        line.push('{');
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            push_json_str(&mut line, k);
            line.push(':');
            push_json_str(&mut line, v);
        }
        line.push('}');
        if sh.cfg.bad > 0.0 && rng.random::<f64>() < sh.cfg.bad {
            let mut cut = rng.random_range(1..line.len());
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
        }
        line.push('\n');
        gz.write_all(line.as_bytes())?;
    }
    gz.finish()?.flush()?;
    Ok(())
}

/// Writes the objects, using every core; the output does not depend on
/// how many there are.
pub fn generate(cfg: &GenerateConfig) -> Result<Generated> {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let paths = make_paths(&mut rng, 5000);
    let ips = make_ips(&mut rng, 20000);
    let hosts: Vec<String> = (0..cfg.hosts.max(1))
        .map(|i| {
            if i == 0 {
                "example.user.webaccel.jp".to_string()
            } else {
                format!("site{i}.user.webaccel.jp")
            }
        })
        .collect();
    let mut tasks = Vec::new();
    for (h, host) in hosts.iter().enumerate() {
        for k in 0..cfg.hours {
            let start_ms = cfg.start_ms + k as i64 * HOUR_MS;
            let local = start_ms + 9 * HOUR_MS;
            let (y, m, d) = civil_from_days(local.div_euclid(DAY_MS));
            let hour = local.rem_euclid(DAY_MS) / HOUR_MS;
            let curve = 0.5 + 0.5 * ((hour + 12) % 24 - 12).abs() as f64 / 12.0;
            let share = if h == 0 { 1.0 } else { 0.5 };
            let lines = ((cfg.lines_per_hour as f64 * curve * share) as usize).max(1);
            let path = object_path(&cfg.out, host, y, m, d, hour);
            let seed = cfg.seed.wrapping_mul(1_000_003).wrapping_add(tasks.len() as u64);
            tasks.push(Task {
                path,
                host: host.clone(),
                start_ms,
                lines,
                seed,
            });
        }
    }
    let shared = Shared {
        paths: &paths,
        ips: &ips,
        cfg,
    };
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(task) = tasks.get(i) else { return Ok(()) };
                        write_object(task, &shared)?;
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().map_err(|_| anyhow::anyhow!("a generator thread panicked"))?)
    })?;
    Ok(Generated {
        files: tasks.len(),
        lines: tasks.iter().map(|t| t.lines).sum(),
    })
}

fn object_path(out: &Path, host: &str, y: i64, m: u32, d: u32, hour: i64) -> PathBuf {
    out.join("sakura-webaccelerator")
        .join(host)
        .join(format!("{y:04}"))
        .join(format!("{m:02}"))
        .join(format!("{d:02}"))
        .join(format!("access-{y:04}{m:02}{d:02}T{hour:02}.log.gz"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_are_in_jst() {
        assert_eq!(jst_iso(1_732_681_714_282), "2024-11-27T13:28:34+09:00");
        assert_eq!(jst_iso(1_732_633_200_000), "2024-11-27T00:00:00+09:00");
    }

    #[test]
    fn same_seed_same_bytes_different_seed_different_bytes() {
        let run = |seed| {
            let dir = tempfile::tempdir().unwrap();
            let cfg = GenerateConfig {
                out: dir.path().to_path_buf(),
                hosts: 2,
                hours: 2,
                lines_per_hour: 50,
                seed,
                bad: 0.1,
                late: 0.1,
                start_ms: 1_732_633_200_000,
            };
            let g = generate(&cfg).unwrap();
            assert_eq!(g.files, 4);
            let p = object_path(dir.path(), "site1.user.webaccel.jp", 2024, 11, 27, 1);
            std::fs::read(p).unwrap()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
