//! What every HTTP answer goes through: URLs with control characters are
//! refused before routing, security headers are set, and errors that did not
//! come from a handler (unknown paths, wrong methods, bodies too large,
//! unreadable paths or queries) are given the shape of their surface: JSON
//! under /api/v1, a page elsewhere. Git's smart-HTTP answers stay text, which
//! git shows the user.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{AppState, Error};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    Api,
    Git,
    Page,
}

fn surface(path: &str) -> Surface {
    if path == "/api/v1" || path.starts_with("/api/v1/") {
        Surface::Api
    } else if path.ends_with("/info/refs")
        || path.ends_with("/git-upload-pack")
        || path.ends_with("/git-receive-pack")
        // Health probes answer plain text too, for load balancers.
        || path == "/healthz"
        || path == "/readyz"
    {
        Surface::Git
    } else {
        Surface::Page
    }
}

/// True when the percent-decoded text holds a control character.
fn has_control(raw: &str) -> bool {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .chars()
        .any(char::is_control)
}

/// A write sent by a page of another site, by the browser's own account of
/// it: `Sec-Fetch-Site` when the browser sends it (pages with
/// `Referrer-Policy: no-referrer` post with `Origin: null`), else `Origin`,
/// which must be the public URL's origin or that of the host the request was
/// sent to.
fn cross_site(req: &Request, public_url: &str) -> Option<String> {
    if matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    ) {
        return None;
    }
    let h = req.headers();
    let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => None,
            other => Some(format!("Sec-Fetch-Site: {other}")),
        };
    }
    let origin = text("origin")?;
    let public = url::Url::parse(public_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let host = text("host").unwrap_or("");
    let same_host = origin
        .split_once("://")
        .is_some_and(|(_, rest)| !host.is_empty() && rest == host);
    if origin == public || same_host {
        None
    } else {
        Some(format!("Origin: {origin}"))
    }
}

pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let surface = surface(&path);
    let bad_url = has_control(&path) || req.uri().query().is_some_and(has_control);
    let foreign = match surface {
        Surface::Git => None,
        _ => cross_site(&req, &state.auth.settings().public_url),
    };
    let mut res = if bad_url {
        Error::bad_request("Control characters are not allowed in addresses.").into_response()
    } else if let Some(why) = foreign {
        tracing::warn!(%why, %path, "cross-site write refused");
        Error::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            format!(
                "This request came from another site ({why}), so it was refused. If you opened twostep at another address than {}, use that one.",
                state.auth.settings().public_url
            ),
        )
        .into_response()
    } else {
        next.run(req).await
    };
    if surface != Surface::Git && res.extensions().get::<Error>().is_none() {
        let status = res.status();
        let shaped = status.is_client_error() || status.is_server_error();
        let typed = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("text/html"));
        if shaped && !typed {
            res = reshape(res, surface, &state).await;
        }
    }
    secure_headers(res.headers_mut(), &path);
    res
}

/// Pages whose address carries a mailed token.
fn token_in_url(path: &str) -> bool {
    matches!(
        path,
        "/confirm-email" | "/password/reset" | "/unlock-second-step" | "/account/two-step/confirm"
    )
}

/// A bare error (axum's plain-text rejections, empty 404/405) as our error.
async fn reshape(res: Response, surface: Surface, state: &AppState) -> Response {
    let (parts, body) = res.into_parts();
    let status = parts.status;
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (code, message) = match status {
        StatusCode::NOT_FOUND if surface == Surface::Api => {
            ("not_found", "No such API endpoint.".to_string())
        }
        StatusCode::NOT_FOUND => ("not_found", "There is no page at this address.".into()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This address does not take that method.".into(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large",
            "The request is too large: 64 KiB at most.".into(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            if text.is_empty() {
                "Send the body as application/json.".into()
            } else {
                text
            },
        ),
        s if s.is_server_error() => (
            "internal",
            "Something went wrong on our side. Try again in a moment.".into(),
        ),
        _ => (
            "bad_request",
            if text.is_empty() {
                "The request could not be read.".into()
            } else {
                text
            },
        ),
    };
    let err = Error::new(status, code, message);
    let mut out = match surface {
        Surface::Page => crate::pages::error_page(state, &err),
        _ => err.into_response(),
    };
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

fn secure_headers(h: &mut axum::http::HeaderMap, path: &str) {
    let set = |h: &mut axum::http::HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // Links with tokens (email confirmation, password reset) leak nowhere;
    // other pages name themselves only to this server.
    let referrer = if token_in_url(path) {
        "no-referrer"
    } else {
        "same-origin"
    };
    set(h, header::REFERRER_POLICY, referrer);
    h.insert(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    // Account pages and API answers are never cached; static files say otherwise.
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
}

/// Used by tests of this module only: a body for a bare response.
#[cfg(test)]
fn bare(status: StatusCode) -> Response {
    let mut r = Response::new(axum::body::Body::empty());
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(headers: &[(&str, &str)]) -> Request {
        let mut b = axum::http::Request::builder().method("POST").uri("/signin");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn cross_site_writes_are_recognised() {
        let public = "https://git.example.org";
        let host = ("host", "git.example.org");
        assert!(cross_site(&post(&[host]), public).is_none());
        assert!(cross_site(
            &post(&[host, ("origin", "https://git.example.org")]),
            public
        )
        .is_none());
        assert!(cross_site(
            &post(&[
                ("host", "10.0.0.5:8080"),
                ("origin", "http://10.0.0.5:8080")
            ]),
            public
        )
        .is_none());
        assert!(cross_site(&post(&[host, ("sec-fetch-site", "same-origin")]), public).is_none());
        // A page without referrers posts `Origin: null`; the fetch metadata tells.
        assert!(cross_site(
            &post(&[host, ("origin", "null"), ("sec-fetch-site", "same-origin")]),
            public
        )
        .is_none());
        assert!(cross_site(&post(&[host, ("origin", "https://evil.example")]), public).is_some());
        assert!(cross_site(&post(&[host, ("origin", "null")]), public).is_some());
        assert!(cross_site(&post(&[host, ("sec-fetch-site", "cross-site")]), public).is_some());
        assert!(cross_site(&post(&[host, ("sec-fetch-site", "same-site")]), public).is_some());
        let get = axum::http::Request::builder()
            .uri("/")
            .header("origin", "https://evil.example")
            .body(axum::body::Body::empty())
            .unwrap();
        assert!(cross_site(&get, public).is_none());
    }

    #[test]
    fn surfaces() {
        assert!(surface("/api/v1/user") == Surface::Api);
        assert!(surface("/a/b.git/info/refs") == Surface::Git);
        assert!(surface("/readyz") == Surface::Git);
        assert!(surface("/account") == Surface::Page);
        assert!(surface("/api/v10") == Surface::Page);
    }

    #[test]
    fn control_characters_are_seen_through_percent_encoding() {
        assert!(has_control("/a%00b"));
        assert!(has_control("/a%0d%0ab"));
        assert!(has_control("next=%09"));
        assert!(!has_control("/a%20b"));
        assert!(!has_control("/caf%C3%A9"));
    }

    #[test]
    fn headers_are_set_and_cache_control_kept() {
        let mut r = bare(StatusCode::OK);
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
        secure_headers(r.headers_mut(), "/password/reset");
        assert_eq!(r.headers()[header::CACHE_CONTROL], "public");
        assert_eq!(r.headers()[header::REFERRER_POLICY], "no-referrer");
        assert!(r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        let mut r = bare(StatusCode::OK);
        secure_headers(r.headers_mut(), "/account");
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(r.headers()[header::REFERRER_POLICY], "same-origin");
    }
}
