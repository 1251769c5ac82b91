//! Log-aware SQL functions, one family per file, registered once on every
//! session by [`register_all`].
//!
//! Families: [`url`], [`ip`], [`useragent`], [`http`]. [`FUNCTIONS`] lists
//! every one with its signature and an example, for `edgelog functions`;
//! a new function needs an entry there (a test checks they match).

pub mod http;
pub mod ip;
pub mod rowfn;
pub mod runs;
pub mod url;
pub mod useragent;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF};
use datafusion::prelude::SessionContext;

/// Registers every function on `ctx`.
pub fn register_all(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(ip::ip_prefix()));
    ctx.register_udf(ScalarUDF::from(ip::ip_version()));
    ctx.register_udf(ScalarUDF::from(useragent::ua_is_bot()));
    for f in url::functions()
        .into_iter()
        .chain(http::functions())
        .chain(ip::more_functions())
        .chain(useragent::more_functions())
        // Built-ins replaced by the same function called once per run.
        .chain(runs::functions())
    {
        ctx.register_udf(f);
    }
}

/// One function as `edgelog functions` shows it.
#[derive(Debug, Clone, Copy)]
pub struct FunctionDoc {
    /// Family (the file it lives in).
    pub family: &'static str,
    /// Name.
    pub name: &'static str,
    /// Signature with the return type.
    pub signature: &'static str,
    /// What it does.
    pub doc: &'static str,
    /// An example call and its result.
    pub example: &'static str,
}

const fn f(
    family: &'static str,
    name: &'static str,
    signature: &'static str,
    doc: &'static str,
    example: &'static str,
) -> FunctionDoc {
    FunctionDoc {
        family,
        name,
        signature,
        doc,
        example,
    }
}

/// Every function edgelog adds to SQL.
pub const FUNCTIONS: &[FunctionDoc] = &[
    f(
        "url",
        "url_path",
        "url_path(url) -> text",
        "path of a URL or request target, without query",
        "url_path('https://a.jp/x/y.png?s=1') = '/x/y.png'",
    ),
    f(
        "url",
        "url_query_param",
        "url_query_param(url, name) -> text",
        "first value of a query parameter, decoded; NULL when absent",
        "url_query_param('/s?q=edge+log', 'q') = 'edge log'",
    ),
    f(
        "url",
        "url_decode",
        "url_decode(text) -> text",
        "undo %XX escapes once",
        "url_decode('Mozilla/5.0%20(X11)') = 'Mozilla/5.0 (X11)'",
    ),
    f(
        "url",
        "url_host",
        "url_host(url) -> text",
        "host of an absolute URL, lower case, no port",
        "url_host('https://WWW.a.jp:443/') = 'www.a.jp'",
    ),
    f(
        "url",
        "url_extension",
        "url_extension(url) -> text",
        "extension of the last path segment, lower case",
        "url_extension('/img/logo.PNG?v=2') = 'png'",
    ),
    f(
        "ip",
        "ip_in_cidr",
        "ip_in_cidr(ip, cidr) -> boolean",
        "whether an IPv4/IPv6 address lies in a network",
        "ip_in_cidr('10.1.2.3', '10.0.0.0/8') = true",
    ),
    f(
        "ip",
        "ip_prefix",
        "ip_prefix(ip, bits) -> text",
        "the network of an address with its first bits",
        "ip_prefix('2001:db8:1:2::9', 48) = '2001:db8:1::/48'",
    ),
    f(
        "ip",
        "ip_version",
        "ip_version(ip) -> uint8",
        "4 or 6; NULL when not an address",
        "ip_version('::1') = 6",
    ),
    f(
        "ip",
        "is_private_ip",
        "is_private_ip(ip) -> boolean",
        "private, loopback, link-local, CGNAT or unique-local",
        "is_private_ip('192.168.1.10') = true",
    ),
    f(
        "useragent",
        "ua_family",
        "ua_family(user_agent) -> text",
        "browser or crawler name (woothee)",
        "ua_family('Mozilla/5.0 (compatible; Googlebot/2.1; ...)') = 'Googlebot'",
    ),
    f(
        "useragent",
        "ua_os",
        "ua_os(user_agent) -> text",
        "operating system (woothee)",
        "ua_os('Mozilla/5.0 (Windows NT 10.0; Win64; x64) ... Chrome/120.0 ...') = 'Windows 10'",
    ),
    f(
        "useragent",
        "ua_device",
        "ua_device(user_agent) -> text",
        "pc, smartphone, mobilephone, appliance, crawler or misc (woothee)",
        "ua_device('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) ...') = 'smartphone'",
    ),
    f(
        "useragent",
        "ua_is_bot",
        "ua_is_bot(user_agent) -> boolean",
        "crawler (woothee) or HTTP library/monitor (curl/, python-requests, ...)",
        "ua_is_bot('curl/8.5.0') = true",
    ),
    f(
        "http",
        "status_class",
        "status_class(status) -> text",
        "1xx ... 5xx; NULL outside 100-599",
        "status_class(404) = '4xx'",
    ),
    f(
        "http",
        "is_error",
        "is_error(status) -> boolean",
        "status 400 or above",
        "is_error(503) = true",
    ),
    f(
        "http",
        "parse_request",
        "parse_request(request_line) -> struct<method, path, query, protocol>",
        "split a request line",
        "parse_request('GET /a?b=1 HTTP/1.1')['path'] = '/a'",
    ),
];

/// The arguments as arrays of one length, strings cast to `Utf8`.
fn arrays(args: &[ColumnarValue], rows: usize) -> Result<Vec<ArrayRef>> {
    args.iter()
        .map(|a| {
            let array = a.to_array(rows)?;
            match array.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 | DataType::Dictionary(..) => {
                    Ok(arrow::compute::cast(&array, &DataType::Utf8)?)
                }
                _ => Ok(array),
            }
        })
        .collect()
}

/// Argument `i` as a string array.
fn strings(arrays: &[ArrayRef], i: usize, func: &str) -> Result<arrow::array::StringArray> {
    arrays
        .get(i)
        .and_then(|a| a.as_string_opt::<i32>())
        .cloned()
        .ok_or_else(|| DataFusionError::Plan(format!("{func}: argument {} must be text", i + 1)))
}

/// The result: a scalar when every argument was one.
fn output(args: &[ColumnarValue], array: ArrayRef) -> Result<ColumnarValue> {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        Ok(ColumnarValue::Scalar(datafusion::scalar::ScalarValue::try_from_array(
            &array, 0,
        )?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `FUNCTIONS` (what `edgelog functions` shows) and `register_all` (what
    /// SQL can call) name the same functions.
    #[test]
    fn the_documented_functions_are_the_registered_ones() {
        let before: std::collections::BTreeSet<String> = SessionContext::new()
            .state()
            .scalar_functions()
            .keys()
            .cloned()
            .collect();
        let ctx = SessionContext::new();
        register_all(&ctx);
        let ours: std::collections::BTreeSet<String> = ctx
            .state()
            .scalar_functions()
            .keys()
            .filter(|k| !before.contains(*k))
            .cloned()
            .collect();
        let documented: std::collections::BTreeSet<String> = FUNCTIONS.iter().map(|f| f.name.to_string()).collect();
        assert_eq!(ours, documented);
        for f in FUNCTIONS {
            assert!(f.signature.starts_with(&format!("{}(", f.name)), "{}", f.signature);
            assert!(f.example.starts_with(f.name), "{}", f.example);
        }
    }
}
