//! The HTML report in real headless Chromium (Debian's `chromium`, installed
//! by `.ci/run`): the page loads with no console message, makes no network
//! request (every fetch would go to a counting proxy on 127.0.0.1), numbers
//! are shown for people (grouped, percentages, sizes with units), the range
//! is the data's when none was given, every chart has rendered with its axes
//! in one unit, and a hostile user agent shows as text and runs nothing. A
//! screenshot is kept in `tests/artifacts/report.png`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::harness::{edgelog, generate};

const HOSTILE: &str = r#"<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"#;

fn find_chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = Command::new("which").arg(name).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
}

/// Debian's chromium; installed with apt-get (as root, or with sudo that
/// asks no password) when missing, as `.ci/run` does.
fn chromium() -> PathBuf {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    if let Some(p) = find_chromium() {
        return p;
    }
    INSTALL.call_once(|| {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0"));
        let apt = |args: &[&str]| {
            let mut c = if root {
                Command::new("apt-get")
            } else {
                Command::new("sudo")
            };
            if !root {
                c.args(["-n", "apt-get"]);
            }
            c.args(args).env("DEBIAN_FRONTEND", "noninteractive").status()
        };
        let _ = apt(&["update", "-q"]);
        let _ = apt(&["install", "-y", "-q", "chromium"]);
    });
    find_chromium().expect("no chromium on PATH and `apt-get install chromium` failed; install Debian's chromium")
}

/// Hosts Chromium itself talks to in the background (time, updates,
/// accounts), whatever the page does; they are not the page's requests.
const BROWSER_HOSTS: &[&str] = &["google.com", "gvt1.com", "googleapis.com", "gstatic.com"];

/// Whether a proxied request line is the browser's own, not the page's.
fn browser_request(head: &str) -> bool {
    let target = head.split_whitespace().nth(1).unwrap_or_default();
    let host = target
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    BROWSER_HOSTS
        .iter()
        .any(|h| host == *h || host.ends_with(&format!(".{h}")))
}

/// A proxy that counts the requests made through it, except the browser's
/// own background ones, and answers each with 502.
fn counting_proxy() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let counter = counter.clone();
            // Each connection on its own thread: a preconnected socket that
            // sends nothing must not hold up the next one.
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                let mut buf = [0u8; 1024];
                let n = conn.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                if n > 0 && !browser_request(&head) {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                let _ = conn.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            });
        }
    });
    (port, hits)
}

/// Runs headless Chromium on `page` with networking sent to the proxy;
/// returns (DOM after load, stderr).
fn load(page: &Path, proxy: u16, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    // Output goes to files, not pipes: Chromium's crash handler outlives the
    // browser and would hold a pipe open, so reading it to the end would hang.
    let out_path = profile.path().join("stdout");
    let err_path = profile.path().join("stderr");
    let status = Command::new("timeout")
        .arg("120")
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-domain-reliability",
            "--no-pings",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().join("profile").display()))
        .arg(format!("--proxy-server=http://127.0.0.1:{proxy}"))
        .arg("--proxy-bypass-list=<-loopback>")
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .status()
        .expect("chromium runs");
    let stdout = std::fs::read_to_string(&out_path).unwrap();
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    assert!(status.success(), "chromium failed: {stderr}");
    (stdout, stderr)
}

/// `n` digit-grouped, as the page shows counts.
fn grouped(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

#[test]
fn html_report_renders_offline_in_chromium_and_hostile_text_stays_text() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    generate(&logs, 2, 6, 300, 0.002, 0.0);
    // One more hour with a hostile user agent and path.
    let day = logs.join("sakura-webaccelerator/evil.example/2024/11/27");
    std::fs::create_dir_all(&day).unwrap();
    let line = format!(
        r#"{{"time":"2024-11-27T03:10:00+09:00","http_host":"evil.example","remote_addr":"203.0.113.9","request":"GET /<b>bold</b> HTTP/1.1","status":"500","bytes_sent":"10","x_cache":"MISS","request_id":"evil","user_agent":"{HOSTILE}"}}"#
    );
    std::fs::write(day.join("access-20241127T03.log"), format!("{line}\n")).unwrap();
    let page = dir.path().join("report.html");
    let json = edgelog([
        "report",
        "--from",
        logs.to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
        "-o",
        "json",
        "-q",
    ])
    .ok()
    .to_string();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("Content-Security-Policy"), "no CSP");
    assert!(!html.contains("<script"), "the page must carry no script");

    let (proxy, hits) = counting_proxy();
    // The detector works: a page that fetches something reaches the proxy.
    let control = dir.path().join("control.html");
    std::fs::write(
        &control,
        "<!doctype html><title>c</title><img src=\"http://example.invalid/x.png\">",
    )
    .unwrap();
    load(&control, proxy, &["--dump-dom".to_string()]);
    assert!(
        hits.load(Ordering::SeqCst) > 0,
        "the counting proxy saw nothing from a page that fetches"
    );
    hits.store(0, Ordering::SeqCst);

    let (dom, stderr) = load(&page, proxy, &["--dump-dom".to_string()]);
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the report made a network request");
    assert!(
        console_lines(&stderr).is_empty(),
        "console messages: {:?}",
        console_lines(&stderr)
    );
    assert!(
        dom.contains("<title>edgelog report</title>"),
        "a script changed the title or the page did not load"
    );
    assert!(!dom.contains("pwned</title>"));
    // The hostile text is there, as text.
    assert!(
        dom.contains("&lt;script&gt;document.title="),
        "hostile user agent not shown as text"
    );
    assert!(dom.contains("&lt;b&gt;bold&lt;/"), "hostile path not shown as text");
    assert!(!dom.contains("<img src=\"x\""), "a log string became an element");
    assert!(!dom.contains("<b>bold</b>"), "a log string became markup");

    // Numbers for people: the request count digit-grouped, ratios as
    // percentages, bytes with a unit (the exact count on hover), labels with
    // the column's name on hover.
    let figures = &json["panels"]["overview"]["tables"]["figures"];
    let figure = |name: &str| {
        let i = figures["columns"]
            .as_array()
            .unwrap()
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no figure {name}"));
        figures["rows"][0][i].clone()
    };
    let requests = figure("requests").as_i64().unwrap();
    assert!(requests >= 1000, "{requests}");
    let tile = |name: &str| {
        let at = dom
            .find(&format!("title=\"{name}\">"))
            .unwrap_or_else(|| panic!("no tile {name}"));
        dom[at..].split("</div>").next().unwrap().to_string()
    };
    assert!(
        tile("requests").contains(&format!("Requests</span><b>{}</b>", grouped(requests))),
        "{}",
        tile("requests")
    );
    let hit = figure("hit_ratio_requests").as_f64().unwrap();
    assert!(
        tile("hit_ratio_requests").contains(&format!(
            "Cache hit ratio (requests)</span><b title=\"{hit}\">{:.1}%</b>",
            hit * 100.0
        )),
        "{}",
        tile("hit_ratio_requests")
    );
    let bytes = figure("bytes").as_i64().unwrap();
    let bytes_tile = tile("bytes");
    assert!(
        bytes_tile.contains(&format!("title=\"{} bytes\"", grouped(bytes))),
        "{bytes_tile}"
    );
    assert!(
        [" KB</b>", " MB</b>", " GB</b>"].iter().any(|u| bytes_tile.contains(u)),
        "{bytes_tile}"
    );
    assert!(!dom.contains(&format!(">{bytes}<")), "a raw byte count is shown");
    assert!(
        dom.contains("title=\"client_ip\">Client IP</th>"),
        "human column labels"
    );

    // It states the range, as the data's first and last time when none was
    // given, the zone and the sources.
    let minute = |v: &serde_json::Value| {
        let t = v.as_str().unwrap();
        format!("{} {}", &t[..10], &t[11..16])
    };
    let range = format!(
        "Range: all data, {} .. {} (time zone +09:00)",
        minute(&figure("first_time")),
        minute(&figure("last_time"))
    );
    assert!(dom.contains(&range), "{range}");
    assert!(!dom.contains("open .. open"));
    assert!(dom.contains(&format!("Sources: {}", logs.display())), "sources");

    // Every chart rendered, wide and narrow: traffic as counts and as bytes,
    // status classes as counts. Each has gridlines, 3 to 5 value ticks in one
    // unit, time ticks, and a line per value column of its unit on one axis.
    for class in ["wide", "narrow"] {
        let charts: Vec<&str> = dom
            .split(&format!("<svg class=\"chart {class}\""))
            .skip(1)
            .map(|c| c.split("</svg>").next().unwrap())
            .collect();
        assert_eq!(charts.len(), 3, "traffic counts and bytes, status classes");
        for (svg, (lines, bytes)) in charts.iter().zip([(3, false), (1, true), (4, false)]) {
            assert_eq!(svg.matches("<polyline").count(), lines, "{svg}");
            assert!(svg.contains("class=\"grid\""), "no gridlines: {svg}");
            let labels = |axis: &str| -> Vec<String> {
                svg.split(&format!("<text class=\"{axis}\""))
                    .skip(1)
                    .map(|t| t.split('>').nth(1).unwrap().split('<').next().unwrap().to_string())
                    .collect()
            };
            let y = labels("y");
            assert!((3..=5).contains(&y.len()), "{y:?}");
            assert_eq!(y[0], "0", "{y:?}");
            let units: Vec<Option<&str>> = y[1..]
                .iter()
                .map(|l| [" B", " KB", " MB", " GB"].into_iter().find(|u| l.ends_with(u)))
                .collect();
            assert!(units.windows(2).all(|w| w[0] == w[1]), "one unit per chart: {y:?}");
            assert_eq!(units[0].is_some(), bytes, "bytes and only bytes have a unit: {y:?}");
            let x = labels("x");
            assert!(x.len() >= 2, "time ticks: {x:?}");
            assert!(x.iter().all(|l| l.contains(':') || l.starts_with("Nov")), "{x:?}");
        }
    }
    // Each chart says what it counts per bucket, and the bucket is the one
    // the series was summed in.
    let bucket = dom.split(" buckets of ").nth(1).unwrap().split(',').next().unwrap();
    for heading in ["Requests", "Bytes"] {
        assert!(
            dom.contains(&format!("<h4>{heading} per {bucket}</h4>")),
            "{heading} per {bucket}"
        );
    }

    // Keep a screenshot to look at.
    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/artifacts/report.png");
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    let (_, stderr) = load(
        &page,
        proxy,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,3200".to_string(),
        ],
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    assert!(console_lines(&stderr).is_empty(), "{stderr}");
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "screenshot is empty");
}
