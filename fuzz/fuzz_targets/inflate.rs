//! `Inflater::gunzip` (libdeflate through the project's only `unsafe`) on
//! arbitrary bytes, against flate2's `MultiGzDecoder` as the reference.
//!
//! - no input panics it or makes it read or write out of bounds (ASan);
//! - it never reserves much more than the input could inflate to (deflate
//!   expands at most 1032:1), whatever the gzip trailer claims (a few times
//!   that, for the growth of its buffer);
//! - when it succeeds and flate2 also reads the same gzip members, both
//!   give the same bytes.
//!
//! Where they may rightly differ, nothing is asserted: gunzip skips zero
//! padding after the last member (flate2 calls it a bad header), libdeflate
//! does not check the optional header CRC (FHCRC) that flate2 checks, and
//! the two may disagree on which malformed headers to reject. So success of
//! one does not require success of the other; only their outputs, when both
//! succeed, must agree. For the padding, flate2 is also given the input
//! without it: the last member ends somewhere in the first 8 zero bytes of
//! the trailing run (its CRC and size may themselves end in zeros).

#![no_main]

use std::cell::RefCell;
use std::io::Read;

use edgelog_parse::inflate::Inflater;
use libfuzzer_sys::fuzz_target;

thread_local! {
    static INFLATER: RefCell<(Inflater, Vec<u8>)> =
        RefCell::new((Inflater::new().expect("libdeflate decompressor"), Vec::new()));
}

fn flate2(gz: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(gz).read_to_end(&mut out).ok()?;
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    INFLATER.with_borrow_mut(|(inflater, out)| {
        // A fresh buffer each time, so that its capacity is this input's doing.
        *out = Vec::new();
        let result = inflater.gunzip(data, out);
        let bound = data.len().saturating_mul(1032).max(64 * 1024);
        assert!(
            out.capacity() <= 4 * bound,
            "{} bytes of input made gunzip reserve {} bytes",
            data.len(),
            out.capacity()
        );
        if result.is_err() {
            return;
        }
        let zeros = data.iter().rev().take_while(|&&b| b == 0).count();
        for keep in 0..=zeros.min(8) {
            let cut = &data[..data.len() - zeros + keep];
            if cut.is_empty() {
                continue;
            }
            if let Some(reference) = flate2(cut) {
                assert!(
                    *out == reference,
                    "gunzip and flate2 disagree ({} and {} bytes)",
                    out.len(),
                    reference.len()
                );
            }
        }
    });
});
