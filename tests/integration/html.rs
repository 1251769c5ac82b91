//! The HTML report in real headless Chromium (Debian's `chromium`, installed
//! by `.ci/run`): the page loads with no console message, makes no network
//! request (every fetch would go to a counting proxy on 127.0.0.1), every
//! chart has rendered, and a hostile user agent shows as text and runs
//! nothing. A screenshot is kept in `tests/artifacts/report.png`.

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
    edgelog([
        "report",
        "--from",
        logs.to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
        "-o",
        "json",
        "-q",
    ])
    .ok();
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
    assert!(
        dom.contains("/&lt;b&gt;bold&lt;/b&gt;"),
        "hostile path not shown as text"
    );
    assert!(!dom.contains("<img src=\"x\""), "a log string became an element");
    // Every chart rendered: each series table has an SVG with one line per value column.
    let charts: Vec<&str> = dom.split("<svg class=\"chart\"").skip(1).collect();
    assert_eq!(charts.len(), 2, "traffic and status over time");
    for c in &charts {
        let svg = c.split("</svg>").next().unwrap();
        assert_eq!(svg.matches("<polyline").count(), 4, "{svg}");
        assert!(svg.contains("points=\"10.0,"), "{svg}");
    }
    // It states the range, the zone and the sources.
    assert!(
        dom.contains("Range: all data, 2024-11-27 "),
        "range: the data's first time"
    );
    assert!(dom.contains(" (time zone +09:00)"), "zone");
    assert!(dom.contains(&format!("Sources: {}", logs.display())), "sources");

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
