//! CSRF protection for every form: a signed double-submit cookie. The cookie
//! holds a random value; forms carry HMAC(key, value), which another site can
//! neither read nor compute.

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

#[derive(Clone)]
struct CsrfSeed(String);

/// The token to put in this page's forms.
#[derive(Clone)]
pub struct Csrf {
    pub token: String,
    key: [u8; 32],
    seed: String,
}

fn sign(key: &[u8; 32], seed: &str) -> String {
    data_encoding::HEXLOWER.encode(&hmac_sha256(key, seed.as_bytes()))
}

impl Csrf {
    /// Refuses a form whose token does not match this browser's cookie.
    pub fn check(&self, submitted: &str) -> Result<(), Error> {
        let expected = sign(&self.key, &self.seed);
        if submitted.len() == expected.len()
            && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
        {
            Ok(())
        } else {
            Err(Error::new(
                StatusCode::FORBIDDEN,
                "csrf",
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
    let existing = jar
        .get(CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 43);
    let (seed, fresh) = match existing {
        Some(v) => (v, false),
        None => (twostep_core::token::new_token(&mut rand::rngs::OsRng), true),
    };
    req.extensions_mut().insert(CsrfSeed(seed.clone()));
    let mut res = next.run(req).await;
    if fresh {
        let cookie = Cookie::build((CSRF_COOKIE, seed))
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

impl FromRequestParts<AppState> for Csrf {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let seed = parts
            .extensions
            .get::<CsrfSeed>()
            .map(|s| s.0.clone())
            .ok_or_else(|| Error::bad_request("missing CSRF cookie"))?;
        let key = *state.auth.csrf_key();
        Ok(Csrf {
            token: sign(&key, &seed),
            key,
            seed,
        })
    }
}
