//! `Inflater::gunzip` on gzip data made from the input, then damaged.
//!
//! The input is a small header and then plain text. The text is gzipped
//! (as one to four members, at a chosen level, with or without a file name,
//! comment or extra field, maybe followed by zero padding), one byte at a
//! chosen position is XORed with a chosen value, and gunzip must then either
//! fail or give back exactly the text, or else read what flate2 reads (see
//! below: damage in a gzip header can fool any decoder). Undamaged data
//! (XOR 0) must inflate.
//!
//! Header: `[members-1 (2 bits) | level (4 bits) | name, extra (2 bits)]`,
//! `[padding]`, `[position: u32 LE]`, `[xor]`.

#![no_main]

use std::cell::RefCell;
use std::io::{Read, Write};

use edgelog_parse::inflate::Inflater;
use flate2::{Compression, GzBuilder};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static INFLATER: RefCell<(Inflater, Vec<u8>)> =
        RefCell::new((Inflater::new().expect("libdeflate decompressor"), Vec::new()));
}

fn gzip(part: &[u8], level: u32, named: bool, extra: bool) -> Vec<u8> {
    let mut b = GzBuilder::new();
    if named {
        b = b.filename("access.log").comment("edgelog fuzz");
    }
    if extra {
        b = b.extra(vec![b'E', b'L', 2, 0, 1, 2]);
    }
    let mut e = b.write(Vec::new(), Compression::new(level));
    e.write_all(part).expect("write to a Vec");
    e.finish().expect("write to a Vec")
}

fn flate2(gz: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(gz).read_to_end(&mut out).ok()?;
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((head, text)) = data.split_first_chunk::<7>() else {
        return;
    };
    let members = usize::from(head[0] & 3) + 1;
    let level = u32::from(head[0] >> 2 & 15).min(9);
    let (named, extra) = (head[0] & 64 != 0, head[0] & 128 != 0);
    let padding = usize::from(head[1] % 8) * 4;
    let at = u32::from_le_bytes([head[2], head[3], head[4], head[5]]) as usize;
    let xor = head[6];

    // Members cut at evenly spaced points of the text.
    let mut gz = Vec::new();
    for k in 0..members {
        let part = &text[text.len() * k / members..text.len() * (k + 1) / members];
        gz.extend_from_slice(&gzip(part, level, named, extra));
    }
    gz.resize(gz.len() + padding, 0);
    let at = at % gz.len();
    gz[at] ^= xor;

    INFLATER.with_borrow_mut(|(inflater, out)| match inflater.gunzip(&gz, out) {
        Ok(()) if out == text => {}
        Ok(()) => {
            // Wrong text without an error. The gzip header has no check
            // (FHCRC is optional), so damage there can make a member's extra
            // field or name swallow the rest of the member and end exactly
            // where the next member's own fields go on: the skipped member
            // is lost and every CRC still holds. That is the format's doing,
            // not gunzip's, only when the reference decoder reads the same.
            let reference = flate2(&gz[..gz.len() - padding]);
            assert!(
                reference.as_deref() == Some(&out[..]),
                "gunzip gave {} wrong bytes ({} expected; flate2: {:?} bytes), byte {at} of {} XOR {xor:#04x}",
                out.len(),
                text.len(),
                reference.map(|r| r.len()),
                gz.len()
            );
        }
        Err(e) => assert!(xor != 0, "undamaged gzip data failed: {e}"),
    });
});
