//! edgelog's integration tests: the real binary, real files, a real
//! S3-compatible server on 127.0.0.1 and the peers' answers.
//! One binary for all of them (link time is the cost on 2 cores).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod alerts;
mod cli;
#[cfg(feature = "cluster")]
mod cluster;
mod corpus;
mod faults;
mod formats;
mod frontdoor;
mod hardening;
mod html;
mod lake;
mod messy;
mod peers;
mod pruning;
mod report;
mod s3;
#[cfg(feature = "server")]
mod serve;
