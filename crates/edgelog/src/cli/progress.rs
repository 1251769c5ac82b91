//! The progress bar on stderr while a scan runs: stored bytes read of the
//! total listed, objects, rows and an ETA. Drawn only when stderr is a
//! terminal, the user did not ask for quiet, and the scan has run longer
//! than a moment; a piped run never sees it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::scan::stats::{Progress, ScanStats};

/// Scans shorter than this show no bar.
const DELAY: Duration = Duration::from_millis(700);
/// How often the bar is refreshed.
const TICK: Duration = Duration::from_millis(100);

/// Shows the bar until dropped.
pub struct ProgressBarGuard {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ProgressBarGuard {
    /// Starts watching `stats`; does nothing unless `enabled`.
    pub fn start(stats: Arc<ScanStats>, enabled: bool) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = enabled.then(|| {
            let stop = stop.clone();
            std::thread::spawn(move || draw(&stats, &stop))
        });
        ProgressBarGuard { stop, thread }
    }
}

impl Drop for ProgressBarGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // The drawing thread cannot fail in a way worth reporting.
            let _ = t.join();
        }
    }
}

fn draw(stats: &ScanStats, stop: &AtomicBool) {
    let started = Instant::now();
    while started.elapsed() < DELAY {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(TICK / 2);
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr()).with_elapsed(started.elapsed());
    bar.set_style(
        ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {binary_bytes}/{binary_total_bytes} {msg} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    while !stop.load(Ordering::Relaxed) {
        let p = stats.progress();
        bar.set_length(p.bytes_total);
        bar.set_position(p.bytes_done);
        bar.set_message(message(&p));
        std::thread::sleep(TICK);
    }
    bar.finish_and_clear();
}

/// The figures beside the bar: `12/216 objects, 180000 rows`.
fn message(p: &Progress) -> String {
    format!("{}/{} objects, {} rows", p.objects_done, p.objects_total, p.rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_counts_objects_and_rows() {
        let p = Progress {
            bytes_total: 10,
            bytes_done: 5,
            objects_total: 216,
            objects_done: 12,
            rows: 180_000,
        };
        assert_eq!(message(&p), "12/216 objects, 180000 rows");
    }
}
