//! Parser throughput on an inflated Sakura file, without Arrow or I/O:
//! `cargo run --release -p edgelog-parse --example parse_throughput FILE`.
//! Prints MB/s of the structural parse alone (full scanner, then with the
//! remembered layout) and of the parse plus typing of every field, so that
//! changes to the scanner can be measured in isolation.

use std::time::Instant;

use edgelog_parse::sakura::{SakuraLine, SakuraParser, Scratch};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: parse_throughput FILE")?;
    let data = std::fs::read_to_string(path)?;
    let lines: Vec<&str> = data.lines().collect();
    let mb = data.len() as f64 / 1e6;

    let t = Instant::now();
    let mut ok = 0usize;
    for line in &lines {
        ok += SakuraLine::parse(line, |_| {}).is_ok() as usize;
    }
    let parse = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut parser = SakuraParser::default();
    let mut remembered = 0usize;
    for line in &lines {
        remembered += parser.parse(line, |_| {}).is_ok() as usize;
    }
    let layout = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut scratch = Scratch::default();
    let mut typed = 0usize;
    for line in &lines {
        if let Ok(l) = parser.parse(line, |_| {}) {
            typed += l.record(&mut scratch).is_ok() as usize;
        }
    }
    let full = t.elapsed().as_secs_f64();

    println!("{} lines, {mb:.0} MB", lines.len());
    println!("parse        {:>7.0} MB/s ({ok} ok)", mb / parse);
    println!("layout parse {:>7.0} MB/s ({remembered} ok)", mb / layout);
    println!("layout+record {:>6.0} MB/s ({typed} ok)", mb / full);
    Ok(())
}
