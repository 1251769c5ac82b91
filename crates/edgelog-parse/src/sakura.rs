//! The Sakura Cloud web-accelerator dialect: hourly JSON Lines, every value a
//! JSON string, nginx variable names, `time` in +09:00.
//!
//! [`SakuraLine::parse`] finds the known fields of one line; the typed
//! accessors convert them (`""`, `"-"`, `null` and a missing key are all
//! `None`). A value that is present but cannot be typed (`"status":"abc"`)
//! is an error, so that the line is counted as malformed rather than
//! silently becoming NULL.

use crate::ParseError;
use crate::json::{RawStr, Value, scan_object};
use crate::layout::LineLayout;
use crate::time::{DAY_MS, HOUR_MS, days_from_civil, parse_epoch_secs, parse_iso8601};

/// The offset, in seconds east of UTC, that the service writes times and
/// object keys in.
pub const SAKURA_OFFSET_SECS: i32 = 9 * 3600;

macro_rules! fields {
    ($($variant:ident => $name:literal,)*) => {
        /// A field of a Sakura log line, in the order of the published schema.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SakuraField {
            $(#[doc = concat!("`", $name, "`")] $variant,)*
        }

        impl SakuraField {
            /// Every field, in schema order.
            pub const ALL: &'static [SakuraField] = &[$(SakuraField::$variant,)*];

            /// The JSON key of the field.
            pub fn name(self) -> &'static str {
                match self {
                    $(SakuraField::$variant => $name,)*
                }
            }

            /// The field a JSON key names, if it is one of ours.
            pub fn from_key(key: &str) -> Option<Self> {
                match key {
                    $($name => Some(SakuraField::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

fields! {
    Time => "time",
    HttpHost => "http_host",
    Scheme => "scheme",
    RemoteAddr => "remote_addr",
    RemotePort => "remote_port",
    RemoteUser => "remote_user",
    Request => "request",
    Status => "status",
    BytesSent => "bytes_sent",
    BodyBytesSent => "body_bytes_sent",
    Referer => "referer",
    XCache => "x_cache",
    Msec => "msec",
    RequestId => "request_id",
    UserAgent => "user_agent",
}

/// Number of [`SakuraField`]s.
pub const FIELD_COUNT: usize = SakuraField::ALL.len();

/// The known fields of one parsed line, borrowed from it.
#[derive(Debug, Clone, PartialEq)]
pub struct SakuraLine<'a> {
    values: [Option<Value<'a>>; FIELD_COUNT],
}

impl<'a> SakuraLine<'a> {
    /// Parses one line. `on_unknown` is called with the name of every key the
    /// dialect does not know (such fields are otherwise ignored). When a key
    /// repeats, the last value wins, as in most JSON readers.
    pub fn parse(line: &'a str, on_unknown: impl FnMut(&str)) -> Result<Self, ParseError> {
        Self::parse_observing(line, on_unknown, |_, _, _| {})
    }

    /// [`parse`](Self::parse), also showing `observe` each member: its key,
    /// its value and the field the key names.
    fn parse_observing(
        line: &'a str,
        mut on_unknown: impl FnMut(&str),
        mut observe: impl FnMut(RawStr<'a>, &Value<'a>, Option<SakuraField>),
    ) -> Result<Self, ParseError> {
        let mut values = [None; FIELD_COUNT];
        let mut key_scratch = String::new();
        let mut key_err = None;
        // Lines almost always hold the fields in schema order: try the field
        // after the last one found before matching the name in full.
        let mut guess = 0;
        scan_object(line, |key, value| {
            let name = match key.decode(&mut key_scratch) {
                Ok(name) => name,
                Err(e) => {
                    key_err = Some(e);
                    return;
                }
            };
            let field = match SakuraField::ALL.get(guess) {
                Some(&f) if same(f.name(), name) => Some(f),
                _ => SakuraField::from_key(name),
            };
            observe(key, &value, field);
            match field {
                Some(f) => {
                    values[f as usize] = Some(value);
                    guess = f as usize + 1;
                }
                None => on_unknown(name),
            }
        })?;
        if let Some(e) = key_err {
            return Err(e);
        }
        Ok(SakuraLine { values })
    }

    /// Whether the line has none of the dialect's keys.
    pub fn has_no_known_key(&self) -> bool {
        self.values.iter().all(Option::is_none)
    }

    /// The raw value of a field, if the key was present.
    pub fn value(&self, field: SakuraField) -> Option<Value<'a>> {
        self.values[field as usize]
    }

    /// The text of a field: `None` when missing, `null`, `""` or `"-"`.
    /// Numbers and booleans are returned as written.
    pub fn text<'s>(&self, field: SakuraField, scratch: &'s mut String) -> Result<Option<&'s str>, ParseError>
    where
        'a: 's,
    {
        let text = match self.values[field as usize] {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Str(s)) => s.decode(scratch)?,
            Some(Value::Number(n)) | Some(Value::Nested(n)) => n,
            Some(Value::Bool(true)) => "true",
            Some(Value::Bool(false)) => "false",
        };
        Ok((!text.is_empty() && text != "-").then_some(text))
    }

    fn typed<T: std::str::FromStr>(
        &self,
        field: SakuraField,
        scratch: &mut String,
        expected: &'static str,
    ) -> Result<Option<T>, ParseError> {
        match self.text(field, scratch)? {
            None => Ok(None),
            Some(t) => t
                .parse::<T>()
                .map(Some)
                .map_err(|_| ParseError::bad_value(field.name(), t, expected)),
        }
    }

    /// A field as an unsigned 16-bit integer (`status`, `remote_port`).
    pub fn u16(&self, field: SakuraField, scratch: &mut String) -> Result<Option<u16>, ParseError> {
        self.typed(field, scratch, "an integer 0-65535")
    }

    /// A field as an unsigned 64-bit integer (`bytes_sent`, ...).
    pub fn u64(&self, field: SakuraField, scratch: &mut String) -> Result<Option<u64>, ParseError> {
        self.typed(field, scratch, "a non-negative integer")
    }

    /// A field as a float (`msec`).
    pub fn f64(&self, field: SakuraField, scratch: &mut String) -> Result<Option<f64>, ParseError> {
        self.typed(field, scratch, "a number")
    }

    /// The time of the request in epoch milliseconds, from `time`, or from
    /// `msec` when `time` is missing.
    pub fn time_ms(&self, scratch: &mut String) -> Result<Option<i64>, ParseError> {
        if let Some(t) = self.text(SakuraField::Time, scratch)? {
            return time_of(t).map(Some);
        }
        match self.text(SakuraField::Msec, scratch)? {
            None => Ok(None),
            Some(t) => parse_epoch_secs(t)
                .map(Some)
                .ok_or_else(|| ParseError::bad_value("msec", t, "epoch seconds")),
        }
    }
}

/// Parses the lines of one file as [`SakuraLine::parse`] does, remembering
/// the layout of the last line (see [`crate::layout`]): a line written like
/// the one before it is read by comparing its separators, any other by the
/// full scanner. The answer is the same either way.
#[derive(Debug, Clone)]
pub struct SakuraParser {
    layout: LineLayout,
    candidate: LineLayout,
}

impl Default for SakuraParser {
    fn default() -> Self {
        SakuraParser {
            // The published order, so that the first line is read fast too.
            layout: LineLayout::of_keys(SakuraField::ALL.iter().map(|f| f.name()), |k| {
                SakuraField::from_key(k).map(|f| f as usize)
            }),
            candidate: LineLayout::default(),
        }
    }
}

impl SakuraParser {
    /// Parses one line; see [`SakuraLine::parse`].
    pub fn parse<'a>(&mut self, line: &'a str, mut on_unknown: impl FnMut(&str)) -> Result<SakuraLine<'a>, ParseError> {
        let mut values = [None; FIELD_COUNT];
        if self.layout.read(line, &mut values, &mut on_unknown) {
            return Ok(SakuraLine { values });
        }
        let mut keys = Vec::new();
        let mut plain = true;
        let parsed = SakuraLine::parse_observing(line, on_unknown, |key, value, field| {
            keys.push((key, field.map(|f| f as usize)));
            plain &= matches!(value, Value::Str(s) if !s.has_escapes());
        })?;
        self.layout.learn(&keys, plain, line, &mut self.candidate);
        Ok(parsed)
    }
}

/// The instant a `time` text names (read in +09:00 when it has no offset).
fn time_of(t: &str) -> Result<i64, ParseError> {
    parse_iso8601(t, SAKURA_OFFSET_SECS).ok_or_else(|| ParseError::bad_value("time", t, "an ISO 8601 time"))
}

/// String equality without a call to `memcmp`, which costs more than the
/// comparison for keys this short.
#[inline]
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// `str::parse::<f64>`, with a shortcut for the common `digits[.digits]` of
/// at most 15 significant digits: both the digits and the power of ten are
/// then exact doubles, so their quotient is the correctly rounded value,
/// the very one the full parser returns.
pub fn parse_f64(t: &str) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let mut mantissa = 0u64;
    let mut digits = 0usize;
    let mut frac: Option<usize> = None;
    for (i, c) in t.bytes().enumerate() {
        match c {
            b'0'..=b'9' if digits < 15 => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                digits += 1;
                if let Some(f) = &mut frac {
                    *f += 1;
                }
            }
            b'.' if frac.is_none() && i > 0 => frac = Some(0),
            _ => return t.parse().ok(),
        }
    }
    match frac {
        _ if digits == 0 => t.parse().ok(),
        Some(0) => t.parse().ok(),
        Some(k) => Some(mantissa as f64 / POW10[k]),
        None => Some(mantissa as f64),
    }
}

/// Reusable buffers for decoding escaped values, one per field, so that a
/// record can borrow several decoded values at once, and the last `time`
/// read: lines come in time order, many in the same second, and the same
/// text always gives the same instant.
#[derive(Debug, Default)]
pub struct Scratch {
    fields: [String; FIELD_COUNT],
    time: String,
    last_time: String,
    last_time_ms: i64,
}

/// One line's values with their types, ready to append to columns.
#[derive(Debug, Clone, PartialEq)]
pub struct SakuraRecord<'s> {
    /// The text of every field, indexed by `SakuraField as usize`; `None`
    /// when missing, null, `""` or `"-"`.
    pub text: [Option<&'s str>; FIELD_COUNT],
    /// `time` (or `msec`) in epoch milliseconds.
    pub time_ms: Option<i64>,
    /// `remote_port`.
    pub remote_port: Option<u16>,
    /// `status`.
    pub status: Option<u16>,
    /// `bytes_sent`.
    pub bytes_sent: Option<u64>,
    /// `body_bytes_sent`.
    pub body_bytes_sent: Option<u64>,
    /// `msec`.
    pub msec: Option<f64>,
}

impl<'s> SakuraRecord<'s> {
    /// The text of one field.
    pub fn get(&self, field: SakuraField) -> Option<&'s str> {
        self.text[field as usize]
    }
}

impl<'a> SakuraLine<'a> {
    /// Decodes and types every field. Every field is checked, whatever a
    /// query uses, so that whether a line is malformed never depends on the
    /// question asked.
    pub fn record<'s>(&self, scratch: &'s mut Scratch) -> Result<SakuraRecord<'s>, ParseError>
    where
        'a: 's,
    {
        let time_ms = match self.text(SakuraField::Time, &mut scratch.time)? {
            // `text` never returns "", so the empty start matches no line.
            Some(t) if t == scratch.last_time => Some(scratch.last_time_ms),
            Some(t) => {
                let ms = time_of(t)?;
                scratch.last_time.clear();
                scratch.last_time.push_str(t);
                scratch.last_time_ms = ms;
                Some(ms)
            }
            None => self.time_ms(&mut scratch.time)?,
        };
        let mut text = [None; FIELD_COUNT];
        for ((slot, buf), &field) in text.iter_mut().zip(scratch.fields.iter_mut()).zip(SakuraField::ALL) {
            *slot = self.text(field, buf)?;
        }
        fn typed<T: std::str::FromStr>(
            text: &[Option<&str>; FIELD_COUNT],
            field: SakuraField,
            expected: &'static str,
        ) -> Result<Option<T>, ParseError> {
            text[field as usize]
                .map(|t| {
                    t.parse::<T>()
                        .map_err(|_| ParseError::bad_value(field.name(), t, expected))
                })
                .transpose()
        }
        Ok(SakuraRecord {
            time_ms,
            remote_port: typed(&text, SakuraField::RemotePort, "an integer 0-65535")?,
            status: typed(&text, SakuraField::Status, "an integer 0-65535")?,
            bytes_sent: typed(&text, SakuraField::BytesSent, "a non-negative integer")?,
            body_bytes_sent: typed(&text, SakuraField::BodyBytesSent, "a non-negative integer")?,
            msec: text[SakuraField::Msec as usize]
                .map(|t| parse_f64(t).ok_or_else(|| ParseError::bad_value("msec", t, "a number")))
                .transpose()?,
            text,
        })
    }
}

/// The start (epoch milliseconds) of the hour an object key covers, from its
/// file name `access-YYYYMMDDTHH.log[.gz|.zst]`, read in +09:00. `None` when
/// the key is not a Sakura hourly object.
pub fn key_hour(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?;
    let rest = name.strip_prefix("access-")?;
    let b = rest.as_bytes();
    // Bytes, not `&rest[11..]`: fuzzing found that a key with a non-ASCII
    // character across byte 11 panicked there (`key_hour_with_a_non_ascii_hour_is_none`).
    // Once `.log` is there, byte 15 starts a character.
    if b.len() < 15 || b[8] != b'T' || !b[11..].starts_with(b".log") {
        return None;
    }
    let suffix = &rest[15..];
    if !matches!(suffix, "" | ".gz" | ".zst") {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = rest.get(r)?;
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok())?
    };
    let (y, m, d, h) = (num(0..4)?, num(4..6)?, num(6..8)?, num(9..11)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 {
        return None;
    }
    let local = days_from_civil(i64::from(y), m, d) * DAY_MS + i64::from(h) * HOUR_MS;
    Some(local - i64::from(SAKURA_OFFSET_SECS) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"time":"2024-11-27T13:28:34+09:00","http_host":"example.user.webaccel.jp","scheme":"http","remote_addr":"192.0.2.1","remote_port":"46145","remote_user":"","request":"GET / HTTP/1.1","status":"200","bytes_sent":"3590","body_bytes_sent":"3068","referer":"-","x_cache":"MISS","msec":"1732681714.282","request_id":"abc","user_agent":"Mozilla/5.0 \"x\""}"#;

    #[test]
    fn parses_every_field() {
        let mut unknown = vec![];
        let l = SakuraLine::parse(LINE, |k| unknown.push(k.to_string())).unwrap();
        assert!(unknown.is_empty());
        let s = &mut String::new();
        assert_eq!(l.time_ms(s).unwrap(), Some(1_732_681_714_000));
        assert_eq!(
            l.text(SakuraField::HttpHost, s).unwrap(),
            Some("example.user.webaccel.jp")
        );
        assert_eq!(l.u16(SakuraField::RemotePort, s).unwrap(), Some(46145));
        assert_eq!(l.text(SakuraField::RemoteUser, s).unwrap(), None);
        assert_eq!(l.u16(SakuraField::Status, s).unwrap(), Some(200));
        assert_eq!(l.u64(SakuraField::BytesSent, s).unwrap(), Some(3590));
        assert_eq!(l.text(SakuraField::Referer, s).unwrap(), None);
        assert_eq!(l.f64(SakuraField::Msec, s).unwrap(), Some(1_732_681_714.282));
        assert_eq!(l.text(SakuraField::UserAgent, s).unwrap(), Some("Mozilla/5.0 \"x\""));
    }

    #[test]
    fn missing_null_and_numbers() {
        let line = r#"{"status":200,"bytes_sent":null,"msec":"1732681714.5","extra":"x","other":{"a":1}}"#;
        let mut unknown = vec![];
        let l = SakuraLine::parse(line, |k| unknown.push(k.to_string())).unwrap();
        assert_eq!(unknown, vec!["extra", "other"]);
        let s = &mut String::new();
        assert_eq!(l.u16(SakuraField::Status, s).unwrap(), Some(200));
        assert_eq!(l.u64(SakuraField::BytesSent, s).unwrap(), None);
        assert_eq!(l.text(SakuraField::Request, s).unwrap(), None);
        // time falls back to msec
        assert_eq!(l.time_ms(s).unwrap(), Some(1_732_681_714_500));
    }

    #[test]
    fn untypable_values_are_errors_naming_the_field() {
        let s = &mut String::new();
        let l = SakuraLine::parse(r#"{"status":"abc","remote_port":"70000","time":"yesterday"}"#, |_| {}).unwrap();
        let e = l.u16(SakuraField::Status, s).unwrap_err();
        assert_eq!(e.to_string(), r#"status: expected an integer 0-65535, got "abc""#);
        assert!(l.u16(SakuraField::RemotePort, s).is_err());
        assert!(l.time_ms(s).unwrap_err().to_string().starts_with("time:"));
    }

    #[test]
    fn record_types_every_field() {
        let mut scratch = Scratch::default();
        let l = SakuraLine::parse(LINE, |_| {}).unwrap();
        let r = l.record(&mut scratch).unwrap();
        assert_eq!(r.status, Some(200));
        assert_eq!(r.remote_port, Some(46145));
        assert_eq!(r.bytes_sent, Some(3590));
        assert_eq!(r.body_bytes_sent, Some(3068));
        assert_eq!(r.get(SakuraField::UserAgent), Some("Mozilla/5.0 \"x\""));
        assert_eq!(r.get(SakuraField::Referer), None);
        let bad = SakuraLine::parse(r#"{"bytes_sent":"-5"}"#, |_| {}).unwrap();
        assert!(bad.record(&mut scratch).is_err());
    }

    #[test]
    fn keys() {
        let base = parse_iso8601("2024-11-27T13:00:00+09:00", 0);
        assert_eq!(
            key_hour("sakura-webaccelerator/example.user.webaccel.jp/2024/11/27/access-20241127T13.log.gz"),
            base
        );
        assert_eq!(key_hour("access-20241127T13.log"), base);
        assert_eq!(key_hour("x/access-20241127T13.log.zst"), base);
        for bad in [
            "x/README.md",
            "x/access-20241127T13.log.gz.tmp",
            "x/access-20241327T13.log.gz",
            "x/access-20241127T24.log.gz",
            "x/access-2024112XT13.log.gz",
            "x/access-20241127T13.txt",
            "access-",
        ] {
            assert_eq!(key_hour(bad), None, "{bad}");
        }
    }

    /// Found by the `sakura_line` fuzz target: `x/access-20241127T\u{FFFD}3.log.zst`
    /// (a character of several bytes where the hour goes) panicked slicing
    /// the name at byte 11.
    #[test]
    fn key_hour_with_a_non_ascii_hour_is_none() {
        for bad in [
            "x/access-20241127T\u{FFFD}3.log.zst",
            "access-20241127T\u{e9}.log",
            "access-20241127T1\u{e9}.log",
            "access-\u{FFFD}\u{FFFD}gzT\u{FFFD}gzs",
        ] {
            assert_eq!(key_hour(bad), None, "{bad}");
        }
    }
}
