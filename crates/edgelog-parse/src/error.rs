//! Why a line did not parse. Each reason says where (byte offset or field)
//! so that a sampled malformed line can be found and understood.

use std::fmt;

/// Why a line could not be turned into a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The line does not start with `{` (after leading blanks).
    NotAnObject,
    /// Something other than what JSON allows at this byte.
    Syntax {
        /// Byte offset in the line.
        offset: usize,
        /// What was expected there.
        expected: &'static str,
    },
    /// A string runs to the end of the line: typically a truncated line.
    UnterminatedString {
        /// Byte offset of the opening quote.
        offset: usize,
    },
    /// The object is not closed: typically a truncated line.
    Truncated,
    /// A backslash escape that JSON does not define, or a bad `\u` sequence.
    BadEscape {
        /// Byte offset of the backslash, relative to the start of the string's content.
        offset: usize,
    },
    /// Non-blank bytes after the closing `}`.
    TrailingData {
        /// Byte offset of the first such byte.
        offset: usize,
    },
    /// A known field whose value cannot be converted to the column's type.
    BadValue {
        /// The field's name in the dialect.
        field: &'static str,
        /// The value as written (cut to a readable length).
        value: String,
        /// What the column holds.
        expected: &'static str,
    },
    /// A text dialect's line does not have the dialect's shape; says where.
    Shape(String),
}

impl ParseError {
    /// Builds a [`ParseError::BadValue`], cutting long values so a sample stays one line.
    pub fn bad_value(field: &'static str, value: &str, expected: &'static str) -> Self {
        ParseError::BadValue {
            field,
            value: cut(value),
            expected,
        }
    }

    /// A [`ParseError::Shape`] about a named column: `field: expected .., got ..`.
    pub fn bad_column(field: &str, value: &str, expected: &str) -> Self {
        ParseError::Shape(format!("{field}: expected {expected}, got {:?}", cut(value)))
    }
}

/// Cuts long values so a sample stays one line.
fn cut(value: &str) -> String {
    const MAX: usize = 40;
    if value.len() > MAX {
        let mut end = MAX;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &value[..end])
    } else {
        value.to_string()
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotAnObject => write!(f, "not a JSON object"),
            ParseError::Syntax { offset, expected } => {
                write!(f, "expected {expected} at byte {offset}")
            }
            ParseError::UnterminatedString { offset } => {
                write!(f, "unterminated string starting at byte {offset} (truncated line?)")
            }
            ParseError::Truncated => write!(f, "object not closed (truncated line?)"),
            ParseError::BadEscape { offset } => write!(f, "invalid escape sequence at byte {offset}"),
            ParseError::TrailingData { offset } => {
                write!(f, "unexpected data after the object at byte {offset}")
            }
            ParseError::BadValue { field, value, expected } => write!(f, "{field}: expected {expected}, got {value:?}"),
            ParseError::Shape(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ParseError {}
