//! The scan of one object: bytes -> decompressed stream -> lines -> rows.
//!
//! This is the one place to replace with a faster scanner: everything above
//! it (listing, partitions, DataFusion) only sees record batches and an
//! [`ObjectReport`]. Compression is told by magic bytes, never by name:
//! gzip (all members of a multi-member file), zstd, or plain text.

use std::io::{BufRead, BufReader, Read};

use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use datafusion::error::{DataFusionError, Result};

use super::LineDecoder;
use super::stats::{MAX_SAMPLES, ObjectReport};

/// What compression an object's first bytes announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `1f 8b`.
    Gzip,
    /// `28 b5 2f fd`.
    Zstd,
    /// Anything else is read as text.
    Plain,
}

impl Compression {
    /// Looks at the magic bytes.
    pub fn detect(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::Plain
        }
    }
}

/// How the scan of one object behaves.
#[derive(Debug, Clone, Copy)]
pub struct ScanSettings {
    /// Rows per record batch.
    pub batch_size: usize,
    /// A malformed line ends the scan with an error.
    pub strict: bool,
}

/// Scans one whole object held in memory. `emit` receives each batch and
/// returns `false` when nobody wants more (a `LIMIT` was met), which ends the
/// scan early without error.
pub fn scan_object(
    bytes: Bytes,
    name: &str,
    decoder: &mut dyn LineDecoder,
    settings: ScanSettings,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<ObjectReport> {
    let data: &[u8] = &bytes;
    match Compression::detect(data) {
        Compression::Gzip => scan_reader(flate2::read::MultiGzDecoder::new(data), name, decoder, settings, emit),
        Compression::Zstd => {
            let reader = zstd::stream::read::Decoder::with_buffer(data).map_err(|e| read_error(name, &e))?;
            scan_reader(reader, name, decoder, settings, emit)
        }
        Compression::Plain => scan_reader(data, name, decoder, settings, emit),
    }
}

fn read_error(name: &str, e: &std::io::Error) -> DataFusionError {
    DataFusionError::Execution(format!("cannot read {name}: {e}"))
}

fn scan_reader<R: Read>(
    reader: R,
    name: &str,
    decoder: &mut dyn LineDecoder,
    settings: ScanSettings,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<ObjectReport> {
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let mut report = ObjectReport::default();
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| read_error(name, &e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let mut line: &[u8] = &buf;
        while let [rest @ .., b'\n' | b'\r'] = line {
            line = rest;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let lossy;
        let text = match std::str::from_utf8(line) {
            Ok(t) => t,
            Err(_) => {
                report.invalid_utf8 += 1;
                lossy = String::from_utf8_lossy(line);
                &lossy
            }
        };
        let before = decoder.len();
        let unknown = &mut report.unknown_fields;
        let pushed = decoder.push_line(text, line_no, &mut |k| {
            if !unknown.contains(k) {
                unknown.insert(k.to_string());
            }
        });
        if let Err(why) = pushed {
            if settings.strict {
                return Err(DataFusionError::Execution(format!(
                    "malformed line ({name}:{line_no}): {why} (--strict)"
                )));
            }
            report.malformed += 1;
            if report.samples.len() < MAX_SAMPLES {
                report.samples.push((line_no, why.to_string()));
            }
            continue;
        }
        report.rows += (decoder.len() - before) as u64;
        if decoder.len() >= settings.batch_size && !emit(decoder.finish_batch(name)?) {
            return Ok(report);
        }
    }
    if !decoder.is_empty() {
        emit(decoder.finish_batch(name)?);
    }
    Ok(report)
}
