//! A local S3-compatible server for the benchmark:
//! `s3_server ROOT PORT KEY SECRET` serves ROOT (a folder per bucket) on
//! 127.0.0.1:PORT, checking signatures, until stdin closes.

#![allow(clippy::expect_used)]

#[path = "../../../../tests/support/s3_server.rs"]
mod server;

use std::io::Read;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: s3_server ROOT PORT KEY SECRET");
        std::process::exit(2);
    }
    let port: u16 = args[2].parse().expect("PORT is a number");
    let s = server::S3Server::start(args[1].clone().into(), &args[3], &args[4], port);
    println!("{}", s.endpoint());
    // Runs until whoever started it closes our stdin.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}
