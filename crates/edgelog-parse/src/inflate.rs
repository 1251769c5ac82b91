//! Whole-object gzip inflate with libdeflate, member by member.
//!
//! libdeflate is the fastest inflater we measured (about twice zlib-rs),
//! but it only works on whole buffers, and its safe Rust binding cannot say
//! how much input one member used, which multi-member files (made by
//! appending) need. So this module calls `libdeflate_gzip_decompress_ex`
//! itself: the project's only `unsafe`, kept to the three calls below.

#![allow(unsafe_code)]

use std::ptr::NonNull;

use libdeflate_sys as sys;

/// Why inflating failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflateError {
    /// The gzip data is damaged (bad header, checksum, or truncated).
    BadData,
    /// Bytes after the last member that are neither a member nor padding.
    TrailingGarbage,
    /// libdeflate could not allocate its state.
    NoMemory,
}

impl std::fmt::Display for InflateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InflateError::BadData => "damaged or truncated gzip data",
            InflateError::TrailingGarbage => "unexpected bytes after the last gzip member",
            InflateError::NoMemory => "out of memory for the gzip decompressor",
        })
    }
}

impl std::error::Error for InflateError {}

/// The size the last gzip member's trailer announces (mod 2^32); 0 when
/// the data is too short to have one.
pub fn trailer_size(gz: &[u8]) -> usize {
    gz.len().checked_sub(4).map_or(0, |at| {
        u32::from_le_bytes([gz[at], gz[at + 1], gz[at + 2], gz[at + 3]]) as usize
    })
}

/// The most bytes one byte of deflate data can stand for: a 258-byte match
/// coded in two bits.
const MAX_DEFLATE_RATIO: usize = 1032;

/// A libdeflate decompressor (reusable across objects of one thread).
pub struct Inflater {
    raw: NonNull<sys::libdeflate_decompressor>,
}

// SAFETY: a libdeflate decompressor has no thread affinity; it is only
// used through `&mut self`, so never from two threads at once.
unsafe impl Send for Inflater {}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: `raw` came from libdeflate_alloc_decompressor and is freed once.
        unsafe { sys::libdeflate_free_decompressor(self.raw.as_ptr()) }
    }
}

impl Inflater {
    /// A new decompressor.
    pub fn new() -> Result<Self, InflateError> {
        // SAFETY: no arguments; a null return is handled.
        let raw = unsafe { sys::libdeflate_alloc_decompressor() };
        NonNull::new(raw)
            .map(|raw| Inflater { raw })
            .ok_or(InflateError::NoMemory)
    }

    /// Inflates every member of `gz` into `out` (which is cleared first).
    /// Zero bytes after the last member (padding some writers add) are
    /// ignored; anything else there is an error.
    pub fn gunzip(&mut self, gz: &[u8], out: &mut Vec<u8>) -> Result<(), InflateError> {
        out.clear();
        let mut rest = gz;
        while !rest.is_empty() {
            if !rest.starts_with(&[0x1f, 0x8b]) {
                if rest.iter().all(|&b| b == 0) {
                    break;
                }
                return Err(InflateError::TrailingGarbage);
            }
            // The last member's trailer holds its size mod 2^32: a good first
            // guess for single-member objects; grow on demand otherwise.
            // Fuzzing found that the guess must be capped: four damaged or
            // hostile trailer bytes made a 20-byte input reserve up to 4 GiB
            // (`gunzip_does_not_trust_the_trailer_size`). Deflate expands at
            // most 1032:1, so no member in `rest` can need more than that;
            // real trailers are under the cap, so their guess is unchanged.
            let most = rest.len().saturating_mul(MAX_DEFLATE_RATIO);
            let mut want = trailer_size(gz).min(most).max(rest.len() * 4).max(64 * 1024);
            loop {
                out.reserve(want);
                let spare = out.spare_capacity_mut();
                let (mut used_in, mut made) = (0usize, 0usize);
                // SAFETY: input and output pointers and lengths describe live
                // buffers (the output is `out`'s spare capacity); libdeflate
                // writes at most `spare.len()` bytes and reports how many.
                let ret = unsafe {
                    sys::libdeflate_gzip_decompress_ex(
                        self.raw.as_ptr(),
                        rest.as_ptr().cast(),
                        rest.len(),
                        spare.as_mut_ptr().cast(),
                        spare.len(),
                        &mut used_in,
                        &mut made,
                    )
                };
                match ret {
                    sys::libdeflate_result_LIBDEFLATE_SUCCESS => {
                        // SAFETY: libdeflate initialised exactly `made` bytes of the spare capacity.
                        unsafe { out.set_len(out.len() + made) };
                        rest = &rest[used_in.min(rest.len())..];
                        break;
                    }
                    sys::libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => want = out.capacity().max(want) * 2,
                    _ => return Err(InflateError::BadData),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn single_multi_member_padded_and_empty() {
        let mut inf = Inflater::new().unwrap();
        let mut out = Vec::new();
        let a: Vec<u8> = (0..300_000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        inf.gunzip(&gzip(&a), &mut out).unwrap();
        assert_eq!(out, a);
        // The same content appended: both members, not one.
        inf.gunzip(&[gzip(&a), gzip(&a), gzip(b"tail")].concat(), &mut out)
            .unwrap();
        assert_eq!(out, [a.as_slice(), &a, b"tail"].concat());
        inf.gunzip(&[gzip(b"x"), vec![0; 16]].concat(), &mut out).unwrap();
        assert_eq!(out, b"x");
        inf.gunzip(&gzip(b""), &mut out).unwrap();
        assert!(out.is_empty());
    }

    /// Found by the `inflate` fuzz target: an input whose last four bytes
    /// claimed ~1.6 GiB (`1f 8b b3 63`, or a damaged trailer of a gzipped
    /// empty text) reserved that much before libdeflate saw the data was bad.
    #[test]
    fn gunzip_does_not_trust_the_trailer_size() {
        let mut inf = Inflater::new().unwrap();
        let mut out = Vec::new();
        assert_eq!(
            inf.gunzip(&[0x1f, 0x8b, 0xb3, 0x63], &mut out),
            Err(InflateError::BadData)
        );
        assert!(out.capacity() <= 64 * 1024, "reserved {}", out.capacity());
        let mut lying = gzip(b"");
        let n = lying.len();
        lying[n - 1] = 0xff; // the size: 4 GiB - 16 MiB
        assert_eq!(inf.gunzip(&lying, &mut out), Err(InflateError::BadData));
        assert!(out.capacity() <= 64 * 1024, "reserved {}", out.capacity());
        // A true trailer is still the first guess: one call, no regrowth.
        let big = vec![b'a'; 1 << 20];
        let mut out = Vec::new();
        inf.gunzip(&gzip(&big), &mut out).unwrap();
        assert_eq!(out, big);
        assert!(out.capacity() < 2 << 20, "reserved {}", out.capacity());
    }

    #[test]
    fn damage_is_an_error() {
        let mut inf = Inflater::new().unwrap();
        let mut out = Vec::new();
        let gz = gzip(&vec![b'a'; 100_000]);
        assert_eq!(inf.gunzip(&gz[..gz.len() / 2], &mut out), Err(InflateError::BadData));
        assert_eq!(
            inf.gunzip(&[gz.clone(), b"junk".to_vec()].concat(), &mut out),
            Err(InflateError::TrailingGarbage)
        );
        let mut bad = gz.clone();
        let n = bad.len();
        bad[n - 6] ^= 0xff; // the CRC
        assert_eq!(inf.gunzip(&bad, &mut out), Err(InflateError::BadData));
    }
}
