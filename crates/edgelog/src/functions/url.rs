//! URL functions: `url_path`, `url_query_param(url, name)`, `url_decode`,
//! `url_host`, `url_extension`. They take absolute URLs
//! (`https://h:443/p?q`) and request targets (`/p?q`) alike; text that has
//! no such part gives NULL.

use datafusion::logical_expr::ScalarUDF;
use edgelog_parse::text::percent_decode;

use super::rowfn::{Body, row_fn};

/// Scheme and authority split off: (`Some(authority)`, rest).
fn split_authority(url: &str) -> (Option<&str>, &str) {
    match url.split_once("://") {
        Some((scheme, rest))
            if !scheme.is_empty() && scheme.bytes().all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c)) =>
        {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            (Some(&rest[..end]), &rest[end..])
        }
        _ => (None, url),
    }
}

/// The path of a URL or request target, without query or fragment.
pub fn path_of(url: &str) -> &str {
    let (_, rest) = split_authority(url);
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    &rest[..end]
}

/// The host of an absolute URL, lower-cased, without user info or port.
pub fn host_of(url: &str) -> Option<String> {
    let (auth, _) = split_authority(url);
    let auth = auth?;
    let host = crate::dialect::generic::strip_port(auth);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The first value of query parameter `name`, decoded (`+` is a space).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = match url.split_once('?') {
        Some((_, q)) => q,
        None if !url.contains('/') && url.contains('=') => url,
        None => return None,
    };
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(&k.replace('+', " ")).into_owned();
        (k == name).then(|| percent_decode(&v.replace('+', " ")).into_owned())
    })
}

/// The extension of the last path segment, lower-cased (`png`).
pub fn extension_of(url: &str) -> Option<String> {
    let last = path_of(url).rsplit('/').next()?;
    let (stem, ext) = last.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty() && ext.len() <= 10 && ext.bytes().all(|c| c.is_ascii_alphanumeric()))
        .then(|| ext.to_ascii_lowercase())
}

/// Every URL function.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        row_fn(
            "url_path",
            1,
            Body::Text(|a| Ok(a[0].map(path_of).filter(|p| !p.is_empty()).map(str::to_string))),
        ),
        row_fn(
            "url_query_param",
            2,
            Body::Text(|a| {
                let name = a[1].ok_or("the parameter name must not be NULL")?;
                Ok(a[0].and_then(|u| query_param(u, name)))
            }),
        ),
        row_fn(
            "url_decode",
            1,
            Body::Text(|a| Ok(a[0].map(|u| percent_decode(u).into_owned()))),
        ),
        row_fn("url_host", 1, Body::Text(|a| Ok(a[0].and_then(host_of)))),
        row_fn("url_extension", 1, Body::Text(|a| Ok(a[0].and_then(extension_of)))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_urls_and_targets() {
        assert_eq!(path_of("https://Example.com:443/a/b.PNG?x=1#f"), "/a/b.PNG");
        assert_eq!(path_of("/a?b"), "/a");
        assert_eq!(
            host_of("https://user@Example.com:443/a").as_deref(),
            Some("example.com")
        );
        assert_eq!(host_of("http://[2001:db8::1]:80/").as_deref(), Some("2001:db8::1"));
        assert_eq!(host_of("/a"), None);
        assert_eq!(query_param("/s?q=a+b%21&q=2&x", "q").as_deref(), Some("a b!"));
        assert_eq!(query_param("/s?x", "x").as_deref(), Some(""));
        assert_eq!(query_param("/s", "q"), None);
        assert_eq!(extension_of("/a/b.PNG?x").as_deref(), Some("png"));
        assert_eq!(extension_of("/a/.hidden"), None);
        assert_eq!(extension_of("/a/b"), None);
    }
}
