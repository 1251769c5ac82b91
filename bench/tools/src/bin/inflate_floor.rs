//! The benchmark's floor: `inflate_floor DIR` inflates every `.gz` under DIR
//! with libdeflate (edgelog's own inflater) on all cores, keeps nothing, and prints the seconds it
//! took. No scan can be faster than this on the same machine.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

fn files(dir: PathBuf, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable folder") {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files(p, out);
        } else if p.extension().is_some_and(|e| e == "gz") {
            out.push(p);
        }
    }
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: inflate_floor DIR");
    let mut all = Vec::new();
    files(dir.into(), &mut all);
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let total = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut inflater = edgelog_parse::inflate::Inflater::new().unwrap();
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = all.get(i) else { break };
                    let gz = std::fs::read(p).unwrap();
                    inflater.gunzip(&gz, &mut out).expect("valid gzip");
                    total.fetch_add(out.len(), Ordering::Relaxed);
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{secs:.3} seconds to inflate {} objects, {} bytes",
        all.len(),
        total.load(Ordering::Relaxed)
    );
}
