//! OAuth 2.0 rules that need no I/O: PKCE (RFC 7636, S256 only), redirect
//! URIs (registered exactly, compared exactly), and the token prefixes.

use sha2::{Digest, Sha256};

/// Access tokens (an hour) and refresh tokens (rotated on every use).
pub const ACCESS_PREFIX: &str = "tsat_";
pub const REFRESH_PREFIX: &str = "tsrt_";
/// Client ids and secrets of registered applications.
pub const CLIENT_PREFIX: &str = "tsoa_";
pub const SECRET_PREFIX: &str = "tsos_";

/// The S256 challenge of a verifier: BASE64URL(SHA-256(verifier)).
pub fn s256(verifier: &str) -> String {
    data_encoding::BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()))
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters; standard base64's `+`,
/// `/` and `=` are let in too, since git-credential-oauth 0.4 (Debian 12's)
/// sends such a verifier. The length, not the alphabet, carries the entropy.
pub fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| unreserved(b) || matches!(b, b'+' | b'/' | b'='))
}

/// An S256 challenge: 43 base64url characters.
pub fn valid_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` answers `challenge`, in constant time.
pub fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    valid_verifier(verifier)
        && crate::token::constant_time_eq(s256(verifier).as_bytes(), challenge.as_bytes())
}

/// A redirect URI an application may register: absolute https, or http on
/// a loopback address (native apps, RFC 8252), no fragment, bounded.
pub fn valid_redirect_uri(uri: &str) -> bool {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    uri.len() <= 500
        && !uri.contains('#')
        && !uri.chars().any(|c| c.is_control() || c.is_whitespace())
        && (uri.starts_with("https://")
            || loopback.iter().any(|p| {
                uri.strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
            }))
}

/// Whether a request's redirect URI is the registered one: exactly, except
/// that a loopback one may name any port (RFC 8252 §7.3: native apps listen
/// on whatever port is free).
pub fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let split = |u: &str| -> Option<(String, String)> {
        let rest = u.strip_prefix("http://")?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let host = match authority.rsplit_once(':') {
            Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => authority,
        };
        ["127.0.0.1", "localhost", "[::1]"]
            .contains(&host)
            .then(|| {
                (
                    host.to_string(),
                    if path.is_empty() {
                        "/".into()
                    } else {
                        path.to_string()
                    },
                )
            })
    };
    matches!((split(registered), split(requested)), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(verifier_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!verifier_matches("short", &s256("short")));
        let base64 = "+a3NzJdTAWcsCah5gEAuRxHwUS3tCpGCTkdC1Lj2pS0=";
        assert!(verifier_matches(base64, &s256(base64)));
        assert!(!verifier_matches(
            "a b c d e f g h i j k l m n o p q r s t u v w",
            "x"
        ));
        assert!(valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!valid_challenge("plain-text-challenge"));
    }

    #[test]
    fn loopback_redirects_may_name_any_port() {
        assert!(redirect_matches(
            "http://127.0.0.1/",
            "http://127.0.0.1:53117/"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1",
            "http://127.0.0.1:53117"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1:9/cb",
            "http://127.0.0.1:4000/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:4000/other"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/",
            "http://localhost:4000/"
        ));
        assert!(!redirect_matches(
            "https://ci.example.com/cb",
            "https://ci.example.com:8443/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/",
            "http://127.0.0.1.evil.test:80/"
        ));
    }

    #[test]
    fn redirect_uris_are_https_or_loopback() {
        assert!(valid_redirect_uri("https://ci.example.com/callback"));
        assert!(valid_redirect_uri("http://127.0.0.1:8400/"));
        assert!(valid_redirect_uri("http://localhost/cb"));
        assert!(!valid_redirect_uri("http://example.com/cb"));
        assert!(!valid_redirect_uri("http://localhost.evil.test/cb"));
        assert!(!valid_redirect_uri("https://ci.example.com/cb#frag"));
        assert!(!valid_redirect_uri("javascript:alert(1)"));
    }
}
