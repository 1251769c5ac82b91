//! W3C extended log file directives, as IIS, CloudFront and others write
//! them between entries: `#Fields:` (the columns of the entries that
//! follow, which may change mid-file), `#Date:` (the day of entries that log
//! only a time) and `#GMT-Offset:` (the zone of their times). Everything
//! else (`#Software:`, `#Version:`, `#Remark:`) is known but carries nothing
//! the reader needs.

use crate::time::{parse_iso8601, parse_offset};

/// One directive line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive<'a> {
    /// `#Fields: date time c-ip ...`: the field ids, in order.
    Fields(Vec<&'a str>),
    /// `#Date:` or `#Start-Date:`: its day as `YYYY-MM-DD`, when it has a
    /// valid one.
    Date(Option<&'a str>),
    /// `#GMT-Offset: -0800`: seconds east of UTC (0 when unreadable).
    GmtOffset(i32),
    /// Any other directive.
    Other,
}

/// The directive `line` holds, or `None` when it is not one (no leading `#`).
pub fn parse_directive(line: &str) -> Option<Directive<'_>> {
    let body = line.strip_prefix('#')?;
    if let Some(rest) = body.strip_prefix("Fields:") {
        return Some(Directive::Fields(rest.split_ascii_whitespace().collect()));
    }
    let (name, value) = body.split_once(':').unwrap_or((body, ""));
    let value = value.trim();
    Some(match name.trim() {
        "Date" | "Start-Date" => Directive::Date(value.get(..10).filter(|d| parse_iso8601(d, 0).is_some())),
        "GMT-Offset" => Directive::GmtOffset(parse_offset(value).unwrap_or(0)),
        _ => Directive::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_as_iis_and_cloudfront_write_them() {
        assert_eq!(
            parse_directive("#Fields: date time c-ip  cs-method\t"),
            Some(Directive::Fields(vec!["date", "time", "c-ip", "cs-method"]))
        );
        assert_eq!(parse_directive("#Fields:"), Some(Directive::Fields(vec![])));
        assert_eq!(
            parse_directive("#Date: 2002-05-24 20:18:01"),
            Some(Directive::Date(Some("2002-05-24")))
        );
        assert_eq!(parse_directive("#Start-Date: 24/05/2002"), Some(Directive::Date(None)));
        assert_eq!(
            parse_directive("#GMT-Offset: -0800"),
            Some(Directive::GmtOffset(-8 * 3600))
        );
        assert_eq!(parse_directive("#GMT-Offset: soon"), Some(Directive::GmtOffset(0)));
        assert_eq!(parse_directive("#Software: IIS 4.0"), Some(Directive::Other));
        assert_eq!(parse_directive("#"), Some(Directive::Other));
        assert_eq!(parse_directive("2002-05-24 20:18:01 GET"), None);
        // A multi-byte character where the date's tenth byte falls.
        assert_eq!(parse_directive("#Date: 2002-05-2\u{e9}"), Some(Directive::Date(None)));
    }
}
