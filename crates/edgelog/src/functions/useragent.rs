//! User-agent functions. `ua_is_bot(ua)` says whether a user agent names a
//! crawler, monitor, or HTTP library rather than a person's browser: true
//! when it carries one of the self-declared markers such clients use.
//! NULL in, NULL out.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray};
use arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::{arrays, output, strings};

/// Lower-case markers of automated clients.
const BOT_MARKERS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww",
    "httpclient",
    "headless",
    "facebookexternalhit",
    "monitor",
    "pingdom",
    "uptime",
    "scrapy",
    "axios/",
    "node-fetch",
    "feedfetcher",
    "lighthouse",
];

/// Whether `ua` is an automated client.
pub fn is_bot(ua: &str) -> bool {
    let lower = ua.to_ascii_lowercase();
    BOT_MARKERS.iter().any(|m| lower.contains(m))
}

/// `ua_is_bot(user_agent)`.
pub fn ua_is_bot() -> UaIsBot {
    UaIsBot {
        signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
    }
}

/// See [`ua_is_bot`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct UaIsBot {
    signature: Signature,
}

impl ScalarUDFImpl for UaIsBot {
    fn name(&self) -> &str {
        "ua_is_bot"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arrays(&args.args, args.number_rows)?;
        let uas = strings(&arrays, 0, "ua_is_bot")?;
        let out: BooleanArray = uas.iter().map(|ua| ua.map(is_bot)).collect();
        output(&args.args, Arc::new(out) as ArrayRef)
    }
}

#[cfg(test)]
mod tests {
    use super::is_bot;

    #[test]
    fn bots_and_browsers() {
        assert!(is_bot(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        ));
        assert!(is_bot("curl/8.5.0"));
        assert!(is_bot("Go-http-client/1.1"));
        assert!(!is_bot(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
        ));
        assert!(!is_bot(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
        ));
    }
}
