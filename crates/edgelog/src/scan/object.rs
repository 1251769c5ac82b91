//! The one reader of object bytes: bytes -> decompressed bytes -> lines ->
//! rows for the scan ([`scan_object`]), and the first lines for
//! detection's sample ([`head_lines`]).
//!
//! This is the one place to make faster: everything above it (listing,
//! partitions, DataFusion) only sees record batches and an
//! [`ObjectReport`]. Compression is told by magic bytes, never by name:
//! gzip (every member of a multi-member file), zstd, or plain text.
//! Objects that inflate to at most [`WHOLE_OBJECT_LIMIT`] are inflated in
//! one call with libdeflate and split into lines in place; larger ones (and
//! zstd) are streamed, so memory stays bounded whatever the object size.

use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;

use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use datafusion::common::exec_err;
use datafusion::error::{DataFusionError, Result};
use edgelog_parse::ParseError;
use memchr::memchr;

use super::stats::{MAX_SAMPLES, ObjectReport};
use crate::dialect::LineDecoder;
use edgelog_parse::inflate::{Inflater, trailer_size};

/// Largest decompressed size (as announced by the gzip trailer, or guessed
/// from the compressed size) that is inflated in one piece.
pub const WHOLE_OBJECT_LIMIT: usize = 256 * 1024 * 1024;

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
    /// An object that cannot be read (a storage fault after the retries,
    /// damaged compression) is listed in the summary and skipped rather
    /// than an error.
    pub skip_unreadable: bool,
}

/// Why an object could not be read to its end: the storage failed, or its
/// bytes are not what their compression says. Distinct from a malformed
/// line, which is counted, and from `--strict`, which is an error.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {object}: {why}")]
pub struct Unreadable {
    /// The object, as shown to the user.
    pub object: String,
    /// What is wrong with it.
    pub why: String,
}

impl Unreadable {
    /// The unreadable object `err` is about, if it is one.
    pub fn of(err: &DataFusionError) -> Option<&Unreadable> {
        match err {
            DataFusionError::External(e) => e.downcast_ref::<Unreadable>(),
            DataFusionError::Shared(e) => Unreadable::of(e),
            DataFusionError::Context(_, e) => Unreadable::of(e),
            _ => None,
        }
    }
}

/// Buffers a scanning thread keeps between objects.
pub struct ScanBuffers {
    inflater: Option<Inflater>,
    inflated: Vec<u8>,
}

impl ScanBuffers {
    /// Empty buffers; the inflater is made on first use.
    pub fn new() -> Self {
        ScanBuffers {
            inflater: None,
            inflated: Vec::new(),
        }
    }
}

impl Default for ScanBuffers {
    fn default() -> Self {
        Self::new()
    }
}

/// Scans one whole object held in memory. `emit` receives each batch and
/// returns `false` when nobody wants more (a `LIMIT` was met), which ends the
/// scan early without error. The report comes back even when the scan
/// fails: a streamed object that turns out damaged has emitted the rows
/// before the damage, and they are counted.
pub fn scan_object(
    bytes: Bytes,
    name: &str,
    decoder: &mut dyn LineDecoder,
    settings: ScanSettings,
    buffers: &mut ScanBuffers,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> (ObjectReport, Result<()>) {
    let mut lines = LineScanner {
        name,
        decoder,
        settings,
        emit,
        report: ObjectReport::default(),
        line_no: 0,
        stopped: false,
    };
    let outcome = match scan_data(&bytes, &mut lines, buffers) {
        Ok(()) => lines.finish(),
        // The rows before the damage were counted: they are emitted too.
        Err(e) if Unreadable::of(&e).is_some() => lines.finish().and(Err(e)),
        Err(e) => Err(e),
    };
    (lines.report, outcome)
}

fn scan_data(data: &[u8], lines: &mut LineScanner<'_>, buffers: &mut ScanBuffers) -> Result<()> {
    let name = lines.name;
    match Compression::detect(data) {
        Compression::Gzip if announced_size(data) <= WHOLE_OBJECT_LIMIT => {
            let inflater = match &mut buffers.inflater {
                Some(i) => i,
                slot => slot.insert(Inflater::new().map_err(|e| read_error(name, &e))?),
            };
            inflater
                .gunzip(data, &mut buffers.inflated)
                .map_err(|e| read_error(name, &e))?;
            lines.scan_buffer(&buffers.inflated)?;
            // Do not keep a large buffer alive between objects.
            if buffers.inflated.capacity() > 64 * 1024 * 1024 {
                buffers.inflated = Vec::new();
            }
        }
        Compression::Gzip | Compression::Zstd => {
            let reader = decompressed(data).map_err(|e| read_error(name, &e))?;
            lines.scan_reader(reader)?;
        }
        Compression::Plain => lines.scan_buffer(data)?,
    }
    Ok(())
}

/// The decompressed bytes of an object (or of its start), streamed.
fn decompressed(data: &[u8]) -> std::io::Result<Box<dyn Read + '_>> {
    Ok(match Compression::detect(data) {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(data)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(data)?),
        Compression::Plain => Box::new(data),
    })
}

/// Hands each line of `reader` (without its `\n`) to `f`, with whether it
/// ended in a newline, until `f` breaks or the bytes end.
fn for_each_line<R: Read>(reader: R, f: &mut dyn FnMut(&[u8], bool) -> ControlFlow<()>) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        let (line, complete) = match buf.strip_suffix(b"\n") {
            Some(line) => (line, true),
            None => (&buf[..], false),
        };
        if f(line, complete).is_break() {
            return Ok(());
        }
    }
}

/// The first `max` non-blank lines of the start of an object, decompressed
/// as far as they need: detection's sample. When `cut_short` (the bytes
/// are a prefix of the object) a last line without a newline may be
/// partial and is dropped; damaged or cut compression ends the sample.
pub fn head_lines(head: &[u8], cut_short: bool, max: usize) -> Vec<String> {
    let Ok(reader) = decompressed(head) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // An error is the end of a cut compressed stream: the sample ends there.
    let _ = for_each_line(reader.take(4 << 20), &mut |line, complete| {
        if !complete && cut_short {
            return ControlFlow::Break(());
        }
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches('\r');
        if !line.trim().is_empty() {
            out.push(line.to_string());
        }
        if out.len() >= max {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    out
}

/// The larger of the last gzip trailer's size and four times the
/// compressed size: what one-piece inflating would need at least.
fn announced_size(gz: &[u8]) -> usize {
    trailer_size(gz).max(gz.len().saturating_mul(4))
}

fn read_error(name: &str, e: &dyn std::fmt::Display) -> DataFusionError {
    DataFusionError::External(Box::new(Unreadable {
        object: name.to_string(),
        why: e.to_string(),
    }))
}

/// Feeds lines to a decoder, counting and sampling the malformed ones.
struct LineScanner<'a> {
    name: &'a str,
    decoder: &'a mut dyn LineDecoder,
    settings: ScanSettings,
    emit: &'a mut dyn FnMut(RecordBatch) -> bool,
    report: ObjectReport,
    line_no: u64,
    /// The consumer wants no more rows.
    stopped: bool,
}

impl LineScanner<'_> {
    fn scan_buffer(&mut self, data: &[u8]) -> Result<()> {
        // One UTF-8 check for the whole buffer (SIMD) is much cheaper than one
        // per line; only a buffer with some invalid byte is checked line by line.
        if let Ok(text) = simdutf8::basic::from_utf8(data) {
            let mut rest = text;
            while !rest.is_empty() && !self.stopped {
                let (line, next) = match memchr(b'\n', rest.as_bytes()) {
                    Some(i) => (&rest[..i], &rest[i + 1..]),
                    None => (rest, ""),
                };
                self.text_line(line)?;
                rest = next;
            }
            return Ok(());
        }
        let mut rest = data;
        while !rest.is_empty() && !self.stopped {
            let (line, next) = match memchr(b'\n', rest) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            self.line(line)?;
            rest = next;
        }
        Ok(())
    }

    fn scan_reader<R: Read>(&mut self, reader: R) -> Result<()> {
        let name = self.name;
        let mut failed = None;
        for_each_line(reader, &mut |line, _| match self.line(line) {
            Ok(()) if !self.stopped => ControlFlow::Continue(()),
            Ok(()) => ControlFlow::Break(()),
            Err(e) => {
                failed = Some(e);
                ControlFlow::Break(())
            }
        })
        .map_err(|e| read_error(name, &e))?;
        failed.map_or(Ok(()), Err)
    }

    /// One line of bytes that may not be UTF-8: invalid sequences become
    /// U+FFFD and are counted.
    fn line(&mut self, line: &[u8]) -> Result<()> {
        match std::str::from_utf8(line) {
            Ok(text) => self.text_line(text),
            Err(_) => {
                self.report.invalid_utf8 += 1;
                self.text_line(&String::from_utf8_lossy(line))
            }
        }
    }

    fn text_line(&mut self, line: &str) -> Result<()> {
        self.line_no += 1;
        let text = line.trim_end_matches('\r');
        if text.bytes().all(|c| c.is_ascii_whitespace()) {
            return Ok(());
        }
        let before = self.decoder.len();
        let unknown = &mut self.report.unknown_fields;
        let pushed = self.decoder.push_line(text, self.line_no, &mut |k| {
            if !unknown.contains(k) {
                unknown.insert(k.to_string());
            }
        });
        if let Err(why) = pushed {
            return self.malformed(self.line_no, why);
        }
        for (line_no, why) in self.decoder.take_errors() {
            self.malformed(line_no, why)?;
        }
        self.report.rows += (self.decoder.len() - before) as u64;
        if self.decoder.len() >= self.settings.batch_size {
            let batch = self.decoder.finish_batch(self.name)?;
            self.stopped = !(self.emit)(batch);
        }
        Ok(())
    }

    fn malformed(&mut self, line_no: u64, why: ParseError) -> Result<()> {
        if self.settings.strict {
            return exec_err!("malformed line ({}:{line_no}): {why} (--strict)", self.name);
        }
        self.report.malformed += 1;
        if self.report.samples.len() < MAX_SAMPLES {
            self.report.samples.push((line_no, why.to_string()));
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let before = self.decoder.len();
        let unknown = &mut self.report.unknown_fields;
        self.decoder.flush(&mut |k| {
            if !unknown.contains(k) {
                unknown.insert(k.to_string());
            }
        });
        for (line_no, why) in self.decoder.take_errors() {
            self.malformed(line_no, why)?;
        }
        self.report.rows += (self.decoder.len() - before) as u64;
        if !self.stopped && !self.decoder.is_empty() {
            let batch = self.decoder.finish_batch(self.name)?;
            (self.emit)(batch);
        }
        Ok(())
    }
}
