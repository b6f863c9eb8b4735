//! Parsers for what attackers send: HTTP Basic credentials, the `service`
//! of a Git smart-HTTP request, the CGI head `git http-backend` answers with,
//! and the `next` target after sign-in. Pure functions, unit-tested here and
//! fuzzed (fuzz/).

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};

/// Longest `Authorization` value looked at.
const MAX_BASIC: usize = 4096;

/// `Basic base64(user:secret)` → (user, secret).
pub fn basic_credentials(value: &str) -> Option<(String, String)> {
    use base64::Engine;
    if value.len() > MAX_BASIC {
        return None;
    }
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    if user.chars().chain(pass.chars()).any(char::is_control) {
        return None;
    }
    Some((user.to_string(), pass.to_string()))
}

/// The credentials of a request's `Authorization` header, if it is Basic.
pub fn basic_from_headers(headers: &HeaderMap) -> Option<(String, String)> {
    basic_credentials(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The token of a request's `Authorization: Bearer` header, if any.
pub fn bearer_from_headers(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 200)
        .then(|| token.to_string())
}

pub use twostep_core::repo::GitService;

/// The `service` of `info/refs?service=…`, decoded as `git http-backend`
/// decodes it. Exactly one known service, or an error message: any other
/// parameter, a repeated `service`, or the dumb protocol (no service) is refused.
pub fn git_service(query: &str) -> Result<GitService, &'static str> {
    let mut service = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k != "service" || service.is_some() {
            return Err("Unexpected query: only ?service=git-upload-pack or ?service=git-receive-pack is served.");
        }
        service = Some(match v.as_ref() {
            "git-upload-pack" => GitService::UploadPack,
            "git-receive-pack" => GitService::ReceivePack,
            _ => return Err("Unknown Git service: use git-upload-pack or git-receive-pack."),
        });
    }
    service.ok_or("This server speaks Git's smart HTTP protocol only: use a current git client.")
}

/// The head of a CGI response (`Status:` and header lines up to a blank line).
#[derive(Debug)]
pub struct CgiHead {
    pub status: StatusCode,
    pub headers: HeaderMap,
    lines: usize,
}

/// A CGI head longer than this is not git's.
pub const MAX_CGI_LINES: usize = 64;
pub const MAX_CGI_LINE: usize = 8192;

impl Default for CgiHead {
    fn default() -> Self {
        CgiHead {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            lines: 0,
        }
    }
}

impl CgiHead {
    /// Takes one line (with or without its line end). `Ok(true)` at the blank
    /// line that ends the head; an error for a head that is not CGI.
    pub fn line(&mut self, raw: &[u8]) -> Result<bool, &'static str> {
        self.lines += 1;
        if self.lines > MAX_CGI_LINES || raw.len() > MAX_CGI_LINE {
            return Err("CGI head too long");
        }
        let line = std::str::from_utf8(raw).map_err(|_| "CGI head is not UTF-8")?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Ok(true);
        }
        let (k, v) = line.split_once(':').ok_or("CGI header without a colon")?;
        let v = v.trim();
        if k.eq_ignore_ascii_case("status") {
            self.status = v
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u16>().ok())
                .and_then(|c| StatusCode::from_u16(c).ok())
                .ok_or("CGI status is not a status code")?;
        } else {
            let name = HeaderName::try_from(k).map_err(|_| "CGI header name is invalid")?;
            let value = HeaderValue::from_str(v).map_err(|_| "CGI header value is invalid")?;
            self.headers.append(name, value);
        }
        Ok(false)
    }

    /// A whole head; the remaining bytes are the body.
    pub fn parse(bytes: &[u8]) -> Result<(CgiHead, &[u8]), &'static str> {
        let mut head = CgiHead::default();
        let mut rest = bytes;
        loop {
            let end = rest
                .iter()
                .position(|b| *b == b'\n')
                .ok_or("CGI head ends early")?;
            let (line, tail) = rest.split_at(end + 1);
            rest = tail;
            if head.line(line)? {
                return Ok((head, rest));
            }
        }
    }
}

/// Where to go after sign-in: `next` resolved against the public URL, kept
/// only when it stays on that origin. Returns a path (with query), or "/".
pub fn resolve_next(public_url: &str, next: Option<&str>) -> String {
    let Some(next) = next else {
        return "/".into();
    };
    if next.is_empty()
        || next.len() > 512
        || next.chars().any(|c| c.is_control() || c == '\\')
        || !next.starts_with('/')
    {
        return "/".into();
    }
    let (Ok(base), Ok(joined)) = (
        url::Url::parse(public_url),
        url::Url::parse(public_url).and_then(|b| b.join(next)),
    ) else {
        return "/".into();
    };
    if joined.origin() != base.origin() || joined.username() != "" || joined.password().is_some() {
        return "/".into();
    }
    let mut out = joined.path().to_string();
    if out.starts_with("//") {
        return "/".into();
    }
    if let Some(q) = joined.query() {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn basic(s: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    }

    #[test]
    fn basic_credentials_split_at_the_first_colon() {
        assert_eq!(
            basic_credentials(&basic("alice:pa:ss")),
            Some(("alice".into(), "pa:ss".into()))
        );
        assert_eq!(
            basic_credentials(&basic("alice:pw").replace("Basic", "basic")),
            Some(("alice".into(), "pw".into()))
        );
        assert_eq!(basic_credentials(&basic("nocolon")), None);
        assert_eq!(basic_credentials(&basic("a\0b:pw")), None);
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(basic_credentials(&"Basic ".repeat(1000)), None);
    }

    #[test]
    fn git_service_is_read_decoded_and_exact() {
        assert_eq!(
            git_service("service=git-upload-pack"),
            Ok(GitService::UploadPack)
        );
        assert_eq!(
            git_service("service=git-receive%2Dpack"),
            Ok(GitService::ReceivePack)
        );
        assert_eq!(
            git_service("service=git%2dreceive-pack"),
            Ok(GitService::ReceivePack)
        );
        assert!(git_service("").is_err());
        assert!(git_service("service=git-upload-pack&service=git-receive-pack").is_err());
        assert!(git_service("x=1&service=git-upload-pack").is_err());
        assert!(git_service("service=git-upload-archive").is_err());
    }

    #[test]
    fn cgi_head_status_headers_and_body() {
        let raw = b"Status: 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nbody";
        let (head, body) = CgiHead::parse(raw).unwrap();
        assert_eq!(head.status, StatusCode::FORBIDDEN);
        assert_eq!(head.headers["content-type"], "text/plain");
        assert_eq!(body, b"body");
        let (head, _) = CgiHead::parse(b"Expires: Fri, 01 Jan 1980\n\n").unwrap();
        assert_eq!(head.status, StatusCode::OK);
        assert!(CgiHead::parse(b"Status: abc\n\n").is_err());
        assert!(CgiHead::parse(b"no colon\n\n").is_err());
        assert!(CgiHead::parse(b"X-A: b\n").is_err());
        assert!(CgiHead::parse(b"Bad Name: x\n\n").is_err());
        assert!(CgiHead::parse("X: a\n".repeat(100).as_bytes()).is_err());
    }

    #[test]
    fn next_stays_on_the_public_origin() {
        let base = "https://git.example.org";
        let ok = |n: &str| resolve_next(base, Some(n));
        assert_eq!(ok("/account"), "/account");
        assert_eq!(ok("/repos?tab=x"), "/repos?tab=x");
        assert_eq!(ok("/a/../b"), "/b");
        for evil in [
            "//evil.example",
            "/%09/evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "evil.example",
            "/\r\nSet-Cookie: x=y",
            "/a\0b",
            "",
            "/ /evil.example",
            "http://git.example.org/",
        ] {
            let r = ok(evil);
            let landed = url::Url::parse(base).unwrap().join(&r).unwrap();
            assert!(
                landed.host_str() == Some("git.example.org")
                    && !r.starts_with("//")
                    && !r.chars().any(char::is_control),
                "{evil:?} -> {r:?}"
            );
        }
        assert_eq!(resolve_next(base, None), "/");
        assert_eq!(ok("/%2F%2Fevil.example"), "/%2F%2Fevil.example");
    }
}
