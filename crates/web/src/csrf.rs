//! CSRF protection for every form. A signed-in browser's forms carry
//! HMAC(key, "session|" + session cookie): a token is good only with the
//! session it was made for, so a token planted before sign-in is worthless
//! after. A browser without a session gets a random cookie and forms carry
//! HMAC(key, "anonymous|" + cookie), which another site can neither read nor
//! compute. The guard (guard.rs) also refuses cross-site writes by their
//! `Origin` / `Sec-Fetch-Site` headers.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use subtle::ConstantTimeEq;
use twostep_core::token::hmac_sha256;

use crate::{AppState, Error};

const CSRF_COOKIE: &str = "twostep_csrf";
/// The error code of a refused token.
pub const CSRF_CODE: &str = "csrf";

#[derive(Clone)]
struct CsrfSeed(String);

/// The token to put in this page's forms.
#[derive(Clone)]
pub struct Csrf {
    pub token: String,
    key: [u8; 32],
    bound_to: String,
}

/// What a token is bound to: the session cookie when there is one.
fn binding(session: Option<&str>, seed: &str) -> String {
    match session {
        Some(s) if !s.is_empty() => format!("session|{s}"),
        _ => format!("anonymous|{seed}"),
    }
}

fn sign(key: &[u8; 32], bound_to: &str) -> String {
    data_encoding::HEXLOWER.encode(&hmac_sha256(key, bound_to.as_bytes()))
}

impl Csrf {
    /// Refuses a form whose token does not match this browser's cookie.
    pub fn check(&self, submitted: &str) -> Result<(), Error> {
        let expected = sign(&self.key, &self.bound_to);
        if submitted.len() == expected.len()
            && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
        {
            Ok(())
        } else {
            Err(Error::new(
                StatusCode::FORBIDDEN,
                CSRF_CODE,
                "This form has expired or came from another site. Go back, reload the page and try again.",
            ))
        }
    }
}

/// Makes sure every browser has a CSRF cookie before a page renders.
pub async fn ensure_cookie(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let jar = CookieJar::from_headers(req.headers());
    let name = crate::session::cookie_name(CSRF_COOKIE, state.secure_cookies);
    let existing = jar
        .get(name)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 43);
    let (seed, fresh) = match existing {
        Some(v) => (v, false),
        None => (twostep_core::token::new_token(&mut rand::rngs::OsRng), true),
    };
    req.extensions_mut().insert(CsrfSeed(seed.clone()));
    let mut res = next.run(req).await;
    if fresh {
        let cookie = Cookie::build((name, seed))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(state.secure_cookies)
            .build();
        if let Ok(v) = cookie.to_string().parse() {
            res.headers_mut().append(axum::http::header::SET_COOKIE, v);
        }
    }
    res
}

/// The form token of a signed-in browser, from its session cookie (for a
/// page drawn outside a handler, such as an error page).
pub fn token_for_session(state: &AppState, session_cookie: &str) -> String {
    sign(state.auth.csrf_key(), &binding(Some(session_cookie), ""))
}

impl FromRequestParts<AppState> for Csrf {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let seed = parts
            .extensions
            .get::<CsrfSeed>()
            .map(|s| s.0.clone())
            .ok_or_else(|| Error::bad_request("missing CSRF cookie"))?;
        let key = *state.auth.csrf_key();
        let jar = CookieJar::from_headers(&parts.headers);
        let bound_to = binding(crate::session::token_of(state, &jar).as_deref(), &seed);
        Ok(Csrf {
            token: sign(&key, &bound_to),
            key,
            bound_to,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_bound_to_its_session() {
        let key = [7u8; 32];
        let anonymous = sign(&key, &binding(None, "seed"));
        let signed_in = sign(&key, &binding(Some("session-token"), "seed"));
        assert_ne!(anonymous, signed_in);
        assert_ne!(
            signed_in,
            sign(&key, &binding(Some("other-session"), "seed"))
        );
        assert_eq!(anonymous, sign(&key, &binding(Some(""), "seed")));
    }
}
