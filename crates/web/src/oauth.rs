//! The OAuth 2.0 endpoints that clients call without a browser: the token
//! endpoint (RFC 6749 §3.2), revocation (RFC 7009) and the server metadata
//! (RFC 8414). Form bodies in, JSON out, errors as RFC 6749 §5.2 shapes
//! them; no cookies, so no CSRF.

use crate::routes::{Routes, Surface};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use twostep_auth::Action;
use twostep_auth::{TokenError, TokenRequest};

use crate::session::Api;
use crate::AppState;

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .post("/oauth/token", Action::OAuthClient, token)
        .post("/oauth/revoke", Action::OAuthClient, revoke)
        .post("/oauth/device_authorization", Action::OAuthClient, device)
        .post("/oauth/introspect", Action::OAuthClient, introspect)
        .get(
            "/.well-known/oauth-authorization-server",
            Action::ReadPublic,
            metadata,
        )
}

fn no_store(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response()
}

fn refusal(e: TokenError) -> Response {
    let status = match e.code {
        "invalid_client" => StatusCode::UNAUTHORIZED,
        "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    no_store(
        status,
        json!({"error": e.code, "error_description": e.description}),
    )
}

/// A client's form: the grant's fields, with the client's credentials from
/// HTTP Basic if given there; `token` (revocation, introspection) and
/// `scope` (device authorization) beside them.
struct Form {
    req: TokenRequest,
    token: String,
    scope: String,
}

fn form(headers: &HeaderMap, body: &[u8]) -> Result<Form, TokenError> {
    let mut f = Form {
        req: TokenRequest::default(),
        token: String::new(),
        scope: String::new(),
    };
    for (k, v) in form_urlencoded::parse(body) {
        if v.chars().any(char::is_control) || v.len() > 2048 {
            return Err(TokenError {
                code: "invalid_request",
                description: format!("The parameter {k} is malformed."),
            });
        }
        let v = v.into_owned();
        let r = &mut f.req;
        match &*k {
            "grant_type" => r.grant_type = v,
            "code" => r.code = v,
            "redirect_uri" => r.redirect_uri = v,
            "code_verifier" => r.code_verifier = v,
            "refresh_token" => r.refresh_token = v,
            "client_id" => r.client_id = v,
            "client_secret" => r.client_secret = v,
            "device_code" => r.device_code = v,
            "token" => f.token = v,
            "scope" => f.scope = v,
            _ => {}
        }
    }
    if let Some((id, secret)) = crate::parse::basic_from_headers(headers) {
        // RFC 6749 §2.3.1: the Basic credentials are form-encoded first.
        let decode = |s: &str| {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        f.req.client_id = decode(&id);
        f.req.client_secret = decode(&secret);
    }
    Ok(f)
}

async fn token(
    State(state): State<AppState>,
    Api(ctx): Api,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let f = match form(&headers, &body) {
        Ok(f) => f,
        Err(e) => return refusal(e),
    };
    match state.auth.oauth().oauth_token(&f.req, &ctx).await {
        Ok(t) => no_store(
            StatusCode::OK,
            json!({
                "access_token": t.access_token,
                "token_type": "Bearer",
                "expires_in": t.expires_in,
                "refresh_token": t.refresh_token,
                "scope": t.scope,
            }),
        ),
        Err(e) => refusal(e),
    }
}

async fn revoke(
    State(state): State<AppState>,
    Api(ctx): Api,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let f = match form(&headers, &body) {
        Ok(f) => f,
        Err(e) => return refusal(e),
    };
    if f.token.is_empty() {
        return refusal(TokenError {
            code: "invalid_request",
            description: "token is missing.".into(),
        });
    }
    match state
        .auth
        .oauth()
        .oauth_revoke(&f.req, &f.token, &ctx)
        .await
    {
        Ok(()) => no_store(StatusCode::OK, json!({})),
        Err(e) => refusal(e),
    }
}

async fn device(
    State(state): State<AppState>,
    crate::session::Api(ctx): crate::session::Api,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let f = match form(&headers, &body) {
        Ok(f) => f,
        Err(e) => return refusal(e),
    };
    match state
        .auth
        .oauth()
        .begin_device(&f.req, &f.scope, &ctx)
        .await
    {
        Ok(d) => {
            let uri = format!("{}/oauth/device", state.auth.settings().public_url);
            no_store(
                StatusCode::OK,
                json!({
                    "device_code": d.device_code,
                    "user_code": d.user_code,
                    "verification_uri": uri,
                    "verification_uri_complete": format!("{uri}?user_code={}", d.user_code),
                    "expires_in": d.expires_in,
                    "interval": d.interval,
                }),
            )
        }
        Err(e) => refusal(e),
    }
}

async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let f = match form(&headers, &body) {
        Ok(f) => f,
        Err(e) => return refusal(e),
    };
    match state.auth.oauth().introspect(&f.req, &f.token).await {
        Ok(Some((scope, username, kind, exp))) => no_store(
            StatusCode::OK,
            json!({"active": true, "scope": scope, "client_id": f.req.client_id, "username": username,
                   "token_type": if kind == "access" { "Bearer" } else { "refresh_token" }, "exp": exp}),
        ),
        Ok(None) => no_store(StatusCode::OK, json!({"active": false})),
        Err(e) => refusal(e),
    }
}

async fn metadata(State(state): State<AppState>) -> Response {
    let base = state
        .auth
        .settings()
        .public_url
        .trim_end_matches('/')
        .to_string();
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "introspection_endpoint": format!("{base}/oauth/introspect"),
        "device_authorization_endpoint": format!("{base}/oauth/device_authorization"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "scopes_supported": twostep_auth::Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    }))
    .into_response()
}
