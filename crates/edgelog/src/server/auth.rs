//! Who may ask: the bearer token (`Authorization: Bearer TOKEN`), or the
//! session cookie the login form sets for a browser. Both are compared in
//! constant time, as digests of equal length, so neither the token's
//! length nor its first differing byte shows in the answer's timing.

use ring::digest::{SHA256, digest};
use ring::hmac;

/// The cookie that carries a browser's session.
pub const COOKIE: &str = "edgelog_session";

/// The token's digest and the session cookie's value; nothing when the
/// server runs without a token (loopback only).
pub struct Auth {
    token: Option<[u8; 32]>,
    session: Option<String>,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// Equal, looking at every byte whatever the first difference.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    /// For `token` (none: everyone may ask).
    pub fn new(token: Option<&str>) -> Auth {
        let Some(token) = token else {
            return Auth {
                token: None,
                session: None,
            };
        };
        // The cookie is a MAC of the token under a key made at start: it
        // is not the token, and a restart ends every session.
        let rng = ring::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .unwrap_or_else(|_| hmac::Key::new(hmac::HMAC_SHA256, &sha256(&rand::random::<[u8; 32]>())));
        let tag = hmac::sign(&key, token.as_bytes());
        Auth {
            token: Some(sha256(token.as_bytes())),
            session: Some(tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()),
        }
    }

    /// Whether a token is asked for at all.
    pub fn required(&self) -> bool {
        self.token.is_some()
    }

    /// Whether `given` is the token.
    pub fn token_matches(&self, given: &str) -> bool {
        self.token.as_ref().is_some_and(|t| same(t, &sha256(given.as_bytes())))
    }

    /// The cookie value a browser gets after giving the right token.
    pub fn session_value(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// Whether a request with these headers may ask.
    pub fn allows(&self, headers: &axum::http::HeaderMap) -> bool {
        if !self.required() {
            return true;
        }
        for value in headers.get_all(axum::http::header::AUTHORIZATION) {
            if let Some(token) = value.to_str().ok().and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
                    .map(str::trim)
            }) && self.token_matches(token)
            {
                return true;
            }
        }
        let Some(session) = &self.session else { return false };
        let want = sha256(session.as_bytes());
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .any(|(k, v)| k == COOKIE && same(&want, &sha256(v.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn with(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn the_token_or_the_session_cookie_and_nothing_else() {
        let auth = Auth::new(Some("s3cret-token"));
        assert!(!auth.allows(&HeaderMap::new()));
        assert!(auth.allows(&with("authorization", "Bearer s3cret-token")));
        assert!(!auth.allows(&with("authorization", "Bearer s3cret-toke")));
        assert!(!auth.allows(&with("authorization", "Bearer s3cret-token2")));
        assert!(!auth.allows(&with("authorization", "Basic s3cret-token")));
        let cookie = format!("a=b; {COOKIE}={}", auth.session_value().unwrap());
        assert!(auth.allows(&with("cookie", &cookie)));
        assert!(!auth.allows(&with("cookie", &format!("{COOKIE}=s3cret-token"))));
        assert_ne!(auth.session_value(), Some("s3cret-token"));
        let open = Auth::new(None);
        assert!(open.allows(&HeaderMap::new()));
    }
}
