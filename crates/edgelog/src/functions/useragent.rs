//! User-agent functions, backed by the woothee parser and its rule data:
//! `ua_family` (Chrome, Safari, Googlebot, ...), `ua_os` (Windows 10, iOS,
//! ...), `ua_device` (pc, smartphone, mobilephone, appliance, crawler, misc) and
//! `ua_is_bot`: woothee's crawler category, or one of the self-declared
//! markers of HTTP libraries and monitors (curl/, python-requests, ...)
//! that woothee does not class as crawlers. Parses are cached per distinct
//! user agent. NULL in, NULL out; what woothee cannot name is NULL.

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

/// What the parser says about one user agent.
#[derive(Debug, Clone, Default)]
pub struct UaInfo {
    /// Browser or crawler name.
    pub family: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// Device category.
    pub device: Option<String>,
    /// An automated client.
    pub bot: bool,
}

/// Distinct user agents kept parsed; beyond this the cache starts over.
const CACHE_LIMIT: usize = 100_000;

static CACHE: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Arc<UaInfo>>>> =
    std::sync::LazyLock::new(Default::default);

/// Parses `ua` (cached).
pub fn info(ua: &str) -> Arc<UaInfo> {
    if let Some(hit) = CACHE.lock().ok().and_then(|c| c.get(ua).cloned()) {
        return hit;
    }
    let known = |s: &str| (!s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN).then(|| s.to_string());
    let parsed = woothee::parser::Parser::new().parse(ua);
    let lower = ua.to_ascii_lowercase();
    let marker = BOT_MARKERS.iter().any(|m| lower.contains(m));
    let info = Arc::new(match parsed {
        Some(r) => UaInfo {
            family: known(r.name),
            os: known(r.os),
            device: known(r.category),
            bot: r.category == "crawler" || marker,
        },
        None => UaInfo {
            bot: marker,
            ..UaInfo::default()
        },
    });
    if let Ok(mut c) = CACHE.lock() {
        if c.len() >= CACHE_LIMIT {
            c.clear();
        }
        c.insert(ua.to_string(), info.clone());
    }
    info
}

/// Whether `ua` is an automated client.
pub fn is_bot(ua: &str) -> bool {
    info(ua).bot
}

/// `ua_family`, `ua_os` and `ua_device`.
pub fn more_functions() -> Vec<datafusion::logical_expr::ScalarUDF> {
    use super::rowfn::{Body, row_fn};
    vec![
        row_fn(
            "ua_family",
            1,
            Body::Text(|a| Ok(a[0].and_then(|u| info(u).family.clone()))),
        ),
        row_fn("ua_os", 1, Body::Text(|a| Ok(a[0].and_then(|u| info(u).os.clone())))),
        row_fn(
            "ua_device",
            1,
            Body::Text(|a| Ok(a[0].and_then(|u| info(u).device.clone()))),
        ),
    ]
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
        let mut memo: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
        let out: BooleanArray = uas
            .iter()
            .map(|ua| ua.map(|u| *memo.entry(u).or_insert_with(|| is_bot(u))))
            .collect();
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
