//! The server's counters, shown at `/metrics` in the Prometheus text
//! exposition format (version 0.0.4): requests and their durations by route
//! and status, scans and what they read, malformed lines, errors, queries
//! running and waiting, cache hits; alert states are added at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the request-duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Every counter the server keeps.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    durations: Mutex<BTreeMap<String, Histogram>>,
    /// Scans run, by what asked (`report`, `query`).
    scans: Mutex<BTreeMap<&'static str, u64>>,
    /// Reports answered from the cache.
    pub cache_hits: AtomicU64,
    /// Stored bytes read by scans.
    pub bytes_scanned: AtomicU64,
    /// Objects read by scans.
    pub objects_scanned: AtomicU64,
    /// Rows read by scans.
    pub rows_scanned: AtomicU64,
    /// Malformed lines met by scans.
    pub malformed_lines: AtomicU64,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    /// Queries and reports running now.
    pub running: AtomicU64,
    /// Queries stopped before their end (timeout, the client went away).
    pub cancelled: AtomicU64,
}

/// A label value escaped as the format asks (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    /// One request answered.
    pub fn request(&self, route: &str, status: u16, took: Duration) {
        let mut r = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *r.entry((route.to_string(), status)).or_default() += 1;
        drop(r);
        let secs = took.as_secs_f64();
        let mut d = self.durations.lock().unwrap_or_else(|e| e.into_inner());
        let h = d.entry(route.to_string()).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// One scan run for `what`.
    pub fn scan(&self, what: &'static str) {
        *self
            .scans
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(what)
            .or_default() += 1;
    }

    /// Scans run so far for `what`.
    pub fn scans(&self, what: &'static str) -> u64 {
        self.scans
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(what)
            .copied()
            .unwrap_or(0)
    }

    /// One error answered, by kind (`bad_request`, `timeout`, `busy`, ...).
    pub fn error(&self, kind: &'static str) {
        *self
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(kind)
            .or_default() += 1;
    }

    /// The exposition text; `alerts` are (rule, state, groups) gauges and
    /// `waiting` the queue's length now.
    pub fn render(&self, alerts: &[(String, String, u64)], waiting: u64) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        out.push_str("# HELP edgelog_http_requests_total HTTP requests answered, by route and status.\n");
        out.push_str("# TYPE edgelog_http_requests_total counter\n");
        for ((route, status), n) in self.requests.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "edgelog_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                label(route)
            );
        }
        out.push_str("# HELP edgelog_http_request_duration_seconds Time to answer a request (to its first byte for streamed answers).\n");
        out.push_str("# TYPE edgelog_http_request_duration_seconds histogram\n");
        for (route, h) in self.durations.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let route = label(route);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "edgelog_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "edgelog_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "edgelog_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "edgelog_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP edgelog_scans_total Scans of the logs, by what asked for them.\n");
        out.push_str("# TYPE edgelog_scans_total counter\n");
        let scans = self.scans.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for what in ["report", "query"] {
            let _ = writeln!(
                out,
                "edgelog_scans_total{{what=\"{what}\"}} {}",
                scans.get(what).copied().unwrap_or(0)
            );
        }
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            &mut out,
            "edgelog_report_cache_hits_total",
            "Reports answered from a computation already made or under way.",
            get(&self.cache_hits),
        );
        counter(
            &mut out,
            "edgelog_scanned_bytes_total",
            "Stored bytes read by scans.",
            get(&self.bytes_scanned),
        );
        counter(
            &mut out,
            "edgelog_scanned_objects_total",
            "Objects read by scans.",
            get(&self.objects_scanned),
        );
        counter(
            &mut out,
            "edgelog_scanned_rows_total",
            "Rows read by scans.",
            get(&self.rows_scanned),
        );
        counter(
            &mut out,
            "edgelog_malformed_lines_total",
            "Malformed lines met by scans.",
            get(&self.malformed_lines),
        );
        counter(
            &mut out,
            "edgelog_queries_cancelled_total",
            "Queries stopped by a timeout or a client that went away.",
            get(&self.cancelled),
        );
        out.push_str("# HELP edgelog_errors_total Error answers, by kind.\n# TYPE edgelog_errors_total counter\n");
        for (kind, n) in self.errors.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(out, "edgelog_errors_total{{kind=\"{kind}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP edgelog_queries_running Queries and reports running now.\n# TYPE edgelog_queries_running gauge\nedgelog_queries_running {}",
            get(&self.running)
        );
        let _ = writeln!(
            out,
            "# HELP edgelog_queries_waiting Requests waiting for a turn.\n# TYPE edgelog_queries_waiting gauge\nedgelog_queries_waiting {waiting}"
        );
        out.push_str(
            "# HELP edgelog_alert_groups Alert groups by rule and state.\n# TYPE edgelog_alert_groups gauge\n",
        );
        for (rule, state, n) in alerts {
            let _ = writeln!(
                out,
                "edgelog_alert_groups{{rule=\"{}\",state=\"{state}\"}} {n}",
                label(rule)
            );
        }
        out
    }
}
