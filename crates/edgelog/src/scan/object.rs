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
//! zstd) are streamed through a buffer of [`STREAM_CHUNK`] bytes, whose
//! whole lines take the same path, so memory stays bounded whatever the
//! object size.

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
/// from the compressed size) that is inflated in one piece. libdeflate is
/// about twice as fast as streaming, but holds the whole object: this
/// bounds what each scanning thread holds, so that ten times larger
/// objects do not take ten times the memory.
pub const WHOLE_OBJECT_LIMIT: usize = 32 * 1024 * 1024;

/// Bytes decompressed at a time from a streamed object; a longer line
/// grows the buffer to hold it.
pub const STREAM_CHUNK: usize = 4 * 1024 * 1024;

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
        }
        kind @ (Compression::Gzip | Compression::Zstd) => {
            // The bytes are in memory: any error of the stream is damage.
            // Say so in the words of the whole-object path, whichever path
            // an object takes (a cut gzip trailer announces a random size).
            let what = if matches!(kind, Compression::Gzip) {
                "gzip"
            } else {
                "zstd"
            };
            let damaged = |e: std::io::Error| std::io::Error::other(format!("damaged or truncated {what} data ({e})"));
            let reader = decompressed(data).map_err(|e| read_error(name, &damaged(e)))?;
            let reader = DamageNamed { reader, damaged };
            lines.scan_stream(reader, STREAM_CHUNK, &mut buffers.inflated)?;
        }
        Compression::Plain => lines.scan_buffer(data)?,
    }
    // A very long line can grow the stream buffer past the whole-object
    // limit: do not keep that between objects.
    if buffers.inflated.capacity() > WHOLE_OBJECT_LIMIT {
        buffers.inflated = Vec::new();
    }
    Ok(())
}

/// The decompressed bytes of an object (or of its start), streamed.
fn decompressed(data: &[u8]) -> std::io::Result<Box<dyn Read + '_>> {
    Ok(match Compression::detect(data) {
        // `bufread`: the decoder reads the slice in place, without a copy.
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(data)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(data)?),
        Compression::Plain => Box::new(data),
    })
}

/// A decompressing reader whose errors say the data is damaged.
struct DamageNamed<R, F> {
    reader: R,
    damaged: F,
}

impl<R: Read, F: Fn(std::io::Error) -> std::io::Error> Read for DamageNamed<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::Interrupted => e,
            _ => (self.damaged)(e),
        })
    }
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
        let line = if out.is_empty() {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
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

    /// Decompresses `reader` into `buf`, `chunk` bytes at a time, and scans
    /// the whole lines of each fill as one buffer; the cut line at its end
    /// moves to the front for the next fill. A read error ends the scan as
    /// unreadable after the lines before it.
    fn scan_stream<R: Read>(&mut self, mut reader: R, chunk: usize, buf: &mut Vec<u8>) -> Result<()> {
        buf.clear();
        buf.resize(chunk.max(2), 0);
        // Bytes held in `buf`, of which the first `whole` are whole lines.
        let mut filled = 0;
        let mut whole = 0;
        while !self.stopped {
            if filled == buf.len() {
                // One line longer than the buffer: make room for it.
                buf.resize(buf.len() * 2, 0);
            }
            let n = match reader.read(&mut buf[filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // The whole lines before the damage are rows.
                    self.scan_buffer(&buf[..whole])?;
                    return Err(read_error(self.name, &e));
                }
            };
            if n == 0 {
                return self.scan_buffer(&buf[..filled]);
            }
            if let Some(i) = memchr::memrchr(b'\n', &buf[filled..filled + n]) {
                whole = filled + i + 1;
            }
            filled += n;
            // Scan when the buffer is at least half full, not a few lines
            // at a time after each small read.
            if whole == 0 || filled < buf.len() / 2 {
                continue;
            }
            self.scan_buffer(&buf[..whole])?;
            buf.copy_within(whole..filled, 0);
            filled -= whole;
            whole = 0;
        }
        Ok(())
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
        let mut text = line.trim_end_matches('\r');
        if self.line_no == 1 {
            // A UTF-8 byte-order mark (Windows tools write one) is no part of the line.
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        if text.bytes().all(|c| c.is_ascii_whitespace()) {
            self.report.blank += 1;
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
            // A `#` line the dialect does not read (W3C dialects read their
            // directives) is a comment, counted apart from malformed lines.
            if text.starts_with('#') {
                self.report.comments += 1;
                return Ok(());
            }
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use arrow::compute::concat_batches;
    use proptest::prelude::*;

    use super::*;
    use crate::config::TimeRange;
    use crate::dialect::spec::DialectSpec;

    /// Lines a Sakura object may hold: good ones, a damaged one, invalid
    /// UTF-8, CRLF, blank, and one long enough to outgrow a small buffer.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        let good = (0u32..4000, 0usize..3).prop_map(|(n, k)| {
            format!(
                r#"{{"time":"2024-11-27T13:{:02}:{:02}+09:00","remote_addr":"192.0.2.{}","request":"GET /p{n} HTTP/1.1","status":"200","bytes_sent":"{n}","x_cache":"{}"}}"#,
                n / 60 % 60,
                n % 60,
                n % 250,
                ["HIT", "MISS", "-"][k]
            )
            .into_bytes()
        });
        prop_oneof![
            6 => good.clone(),
            1 => good.clone().prop_map(|mut l| { l.truncate(l.len() / 2); l }),
            1 => good.clone().prop_map(|mut l| { let at = l.len() / 3; l[at] = 0xff; l }),
            1 => good.clone().prop_map(|mut l| { l.push(b'\r'); l }),
            1 => Just(Vec::new()),
            1 => (100usize..600).prop_map(|n| format!(r#"{{"time":"2024-11-27T13:00:00+09:00","request":"GET /{} HTTP/1.1","status":"404"}}"#, "x".repeat(n)).into_bytes()),
        ]
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Everything a scan gives back, comparable: the rows as one batch and
    /// the report's counts and samples.
    type Seen = (RecordBatch, u64, u64, Vec<(u64, String)>, u64, Vec<String>, bool);

    fn scan(how: &dyn Fn(&mut LineScanner<'_>) -> Result<()>) -> Seen {
        let dialect = DialectSpec::named("sakura").build().unwrap();
        let schema = dialect.schema("UTC");
        let all: Vec<usize> = (0..schema.fields().len()).collect();
        let mut decoder = dialect.decoder(&schema, &all, TimeRange::ALL);
        let mut batches = Vec::new();
        let mut emit = |b: RecordBatch| {
            batches.push(b);
            true
        };
        let settings = ScanSettings {
            batch_size: 7,
            strict: false,
            skip_unreadable: false,
        };
        let mut lines = LineScanner {
            name: "o",
            decoder: decoder.as_mut(),
            settings,
            emit: &mut emit,
            report: ObjectReport::default(),
            line_no: 0,
            stopped: false,
        };
        let ok = how(&mut lines).and_then(|()| lines.finish()).is_ok();
        let r = lines.report;
        let rows = concat_batches(&schema, &batches).unwrap();
        let unknown = r.unknown_fields.into_iter().collect();
        (rows, r.rows, r.malformed, r.samples, r.invalid_utf8, unknown, ok)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The streamed path, with buffers small enough that lines cross
        /// fills and outgrow them, gives what one whole buffer gives.
        #[test]
        fn streamed_chunks_equal_one_buffer(
            lines in proptest::collection::vec(line(), 0..60),
            final_newline in any::<bool>(),
            chunk in 2usize..300,
        ) {
            let mut data = lines.join(&b'\n');
            if final_newline {
                data.push(b'\n');
            }
            let gz = gzip(&data);
            let whole = scan(&|l| l.scan_buffer(&data));
            let streamed = scan(&|l| {
                let mut buf = Vec::new();
                l.scan_stream(decompressed(&gz).unwrap(), chunk, &mut buf)
            });
            prop_assert_eq!(whole, streamed);
        }
    }

    /// A damaged stream gives the whole lines before the damage as rows,
    /// then says which object is unreadable.
    #[test]
    fn a_damaged_stream_keeps_the_lines_before_the_damage() {
        let line = r#"{"time":"2024-11-27T13:00:00+09:00","request":"GET / HTTP/1.1","status":"200"}"#;
        let data = format!("{line}\n").repeat(20_000);
        let mut gz = gzip(data.as_bytes());
        gz.truncate(gz.len() / 2);
        let mut buffers = ScanBuffers::new();
        let dialect = DialectSpec::named("sakura").build().unwrap();
        let schema = dialect.schema("UTC");
        let mut decoder = dialect.decoder(&schema, &[], TimeRange::ALL);
        let settings = ScanSettings {
            batch_size: 1000,
            strict: false,
            skip_unreadable: false,
        };
        let mut lines = LineScanner {
            name: "half.gz",
            decoder: decoder.as_mut(),
            settings,
            emit: &mut |_| true,
            report: ObjectReport::default(),
            line_no: 0,
            stopped: false,
        };
        let err = lines
            .scan_stream(decompressed(&gz).unwrap(), 4096, &mut buffers.inflated)
            .unwrap_err();
        assert!(Unreadable::of(&err).is_some_and(|u| u.object == "half.gz"), "{err}");
        let rows = lines.report.rows;
        assert!(rows > 1000 && rows < 20_000, "{rows} rows before the damage");
        assert_eq!(lines.report.malformed, 0);
    }

    /// A cut object is "damaged or truncated" whichever path it takes: the
    /// last four bytes of a cut gzip announce a random size, which may send
    /// it to the streamed path instead of the whole-object one.
    #[test]
    fn damage_is_named_alike_on_both_paths() {
        let line = r#"{"time":"2024-11-27T13:00:00+09:00","request":"GET / HTTP/1.1","status":"200"}"#;
        let gz = gzip(format!("{line}\n").repeat(2_000).as_bytes());
        let mut cut = gz[..gz.len() / 2].to_vec();
        for announced in [[0, 0, 1, 0], [0xff, 0xff, 0xff, 0xff]] {
            cut.extend_from_slice(&announced);
            let dialect = DialectSpec::named("sakura").build().unwrap();
            let schema = dialect.schema("UTC");
            let mut decoder = dialect.decoder(&schema, &[], TimeRange::ALL);
            let settings = ScanSettings {
                batch_size: 1000,
                strict: false,
                skip_unreadable: false,
            };
            let (_, outcome) = scan_object(
                Bytes::from(cut.clone()),
                "cut.gz",
                decoder.as_mut(),
                settings,
                &mut ScanBuffers::new(),
                &mut |_| true,
            );
            let err = outcome.unwrap_err();
            let why = &Unreadable::of(&err).unwrap().why;
            assert!(why.starts_with("damaged or truncated gzip data"), "{why}");
            cut.truncate(cut.len() - 4);
        }
    }
}
