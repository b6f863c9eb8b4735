//! twostep as an OAuth 2.0 provider (RFC 6749) for tools and integrations:
//! applications registered by users, the authorization code grant with PKCE
//! (RFC 7636, S256 only), refresh tokens rotated on every use with reuse
//! detection (a refresh token used twice revokes its whole grant: both
//! parties may hold a stolen copy), revocation (RFC 7009). Scopes are the
//! app-password scopes; an access token works where an app password does
//! (`Authorization: Bearer`, and Git over HTTPS as `x-token-auth` or
//! `oauth2`) and, like one, never changes a security setting. Consent needs a
//! fully signed-in session: two-step done.

use twostep_core::app_password::{parse_scopes, Scope};
use twostep_core::oauth::{
    self as rules, ACCESS_PREFIX, CLIENT_PREFIX, REFRESH_PREFIX, SECRET_PREFIX,
};
use twostep_core::{token, UnixTime, UserId};
use twostep_store::oauth::{self as store, App, Grant};

use super::OAuth;
use crate::gate::Action;
use crate::notify::Event;
use crate::signin::sudo::Proof;
use crate::{commit, rng, AuthError, AuthService, Ctx, Result, SessionInfo};

const CODE_TTL: i64 = 60;
pub const ACCESS_TTL: i64 = 3600;
const REFRESH_TTL: i64 = 30 * 86_400;
const MAX_APPS: usize = 20;
const MAX_REDIRECTS: usize = 5;
const MAX_NAME: usize = 60;

/// An application its owner registered, as the owner sees it.
#[derive(Debug, Clone)]
pub struct RegisteredApp {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// Holds a client secret (a server-side application).
    pub confidential: bool,
    pub created_at: UnixTime,
}

/// An application a user authorised: its grant, revocable.
#[derive(Debug, Clone)]
pub struct AuthorizedApp {
    pub grant_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// An application just registered: its secret is shown this once.
pub struct NewApp {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
}

/// The parameters of `GET /oauth/authorize`.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    pub response_type: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub code_challenge: String,
    pub code_challenge_method: String,
}

/// What the consent page shows.
pub struct Consent {
    pub app_name: String,
    pub owner: String,
    pub scopes: Vec<Scope>,
}

/// A refusal of an authorization request: shown on the page when the client
/// or its redirect URI cannot be trusted, else sent back to the client.
pub enum AuthorizeError {
    Show(AuthError),
    Redirect(String),
}

/// A token endpoint refusal, as RFC 6749 §5.2 names it.
#[derive(Debug)]
pub struct TokenError {
    pub code: &'static str,
    pub description: String,
}

pub(crate) fn token_error(code: &'static str, description: impl Into<String>) -> TokenError {
    TokenError {
        code,
        description: description.into(),
    }
}

impl From<twostep_store::StoreError> for TokenError {
    fn from(e: twostep_store::StoreError) -> Self {
        AuthError::from(e).into()
    }
}

impl From<AuthError> for TokenError {
    fn from(e: AuthError) -> Self {
        tracing::error!(error = %e, "OAuth token endpoint");
        token_error("server_error", "Something went wrong; try again.")
    }
}

/// What the token endpoint hands out.
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub scope: String,
}

/// The token endpoint's form (and the client's credentials, from HTTP Basic
/// or the form).
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub grant_type: String,
    pub code: String,
    pub redirect_uri: String,
    pub code_verifier: String,
    pub refresh_token: String,
    pub client_id: String,
    pub client_secret: String,
    pub device_code: String,
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = String::from(uri);
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        out.push(sep);
        out.push_str(k);
        out.push('=');
        out.push_str(&form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>());
        sep = '&';
    }
    out
}

/// The user said no: the client is told.
pub fn deny_authorize(req: &AuthorizeRequest) -> String {
    with_query(
        &req.redirect_uri,
        &[
            ("error", "access_denied"),
            (
                "error_description",
                "The user did not authorise the application.",
            ),
            ("state", &req.state),
        ],
    )
}

impl AuthService {
    pub(crate) async fn client(
        &self,
        c: &mut twostep_store::Conn,
        req: &TokenRequest,
    ) -> std::result::Result<App, TokenError> {
        let app = store::app(c, &req.client_id)
            .await?
            .ok_or_else(|| token_error("invalid_client", "Unknown client_id."))?;
        if let Some(hash) = &app.secret_hash {
            let given = token::token_hash(&req.client_secret);
            if req.client_secret.is_empty()
                || !token::constant_time_eq(given.as_bytes(), hash.as_bytes())
            {
                return Err(token_error(
                    "invalid_client",
                    "The client secret is wrong or missing.",
                ));
            }
        }
        Ok(app)
    }

    async fn code_for_tokens(&self, req: &TokenRequest) -> std::result::Result<Tokens, TokenError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let app = self.client(&mut tx, req).await?;
        let bad = || token_error("invalid_grant", "The code is invalid, expired or used.");
        let code_hash = token::token_hash(&req.code);
        let Some((grant_id, redirect_uri, challenge)) =
            store::take_code(&mut tx, &code_hash, now).await?
        else {
            // A code used twice: someone else holds a copy, so the tokens
            // issued from it end (RFC 6749 section 4.1.2).
            if let Some(grant_id) = store::used_code_grant(&mut tx, &code_hash).await? {
                if let Some(grant) = store::grant(&mut tx, &grant_id).await? {
                    if store::revoke_grant(&mut tx, &grant.id, now).await? {
                        self.audit(
                            &mut tx,
                            &grant.user_id,
                            now,
                            Event::OAuthCodeReused,
                            &app.name,
                            &Ctx::new(crate::Channel::Api, "oauth"),
                        )
                        .await?;
                    }
                    commit(tx).await?;
                    tracing::warn!(client = %app.id, "token request: a code used twice; its grant is revoked");
                }
                return Err(bad());
            }
            tracing::info!(client = %app.id, "token request: unknown, expired or used code");
            return Err(bad());
        };
        let grant = store::grant(&mut tx, &grant_id)
            .await?
            .filter(|g| g.revoked_at.is_none())
            .ok_or_else(bad)?;
        if grant.app_id != app.id || redirect_uri != req.redirect_uri {
            tracing::info!(client = %app.id, sent = %req.redirect_uri, "token request: another client's code, or another redirect_uri");
            return Err(bad());
        }
        if !rules::verifier_matches(&req.code_verifier, &challenge) {
            tracing::info!(client = %app.id, "token request: the code_verifier does not match");
            // Spent either way: a code is tried once.
            commit(tx).await?;
            return Err(token_error(
                "invalid_grant",
                "The code_verifier does not match the code_challenge.",
            ));
        }
        let tokens = self.new_tokens(&mut tx, &grant, now).await?;
        commit(tx).await?;
        Ok(tokens)
    }

    pub(crate) async fn new_tokens(
        &self,
        c: &mut twostep_store::Conn,
        grant: &Grant,
        now: twostep_core::UnixTime,
    ) -> std::result::Result<Tokens, TokenError> {
        let access = format!("{ACCESS_PREFIX}{}", token::new_token(&mut rng()));
        let refresh = format!("{REFRESH_PREFIX}{}", token::new_token(&mut rng()));
        store::insert_token(
            c,
            &token::token_hash(&access),
            &grant.id,
            "access",
            now + ACCESS_TTL,
        )
        .await?;
        store::insert_token(
            c,
            &token::token_hash(&refresh),
            &grant.id,
            "refresh",
            now + REFRESH_TTL,
        )
        .await?;
        Ok(Tokens {
            access_token: access,
            refresh_token: refresh,
            expires_in: ACCESS_TTL,
            scope: grant.scopes.clone(),
        })
    }

    async fn refresh_tokens(
        &self,
        req: &TokenRequest,
        ctx: &Ctx,
    ) -> std::result::Result<Tokens, TokenError> {
        let now = self.now();
        let hash = token::token_hash(&req.refresh_token);
        let mut tx = self.store().begin().await?;
        let app = self.client(&mut tx, req).await?;
        let bad = || {
            token_error(
                "invalid_grant",
                "The refresh token is invalid, expired or revoked.",
            )
        };
        let (grant_id, kind, expires_at, _) =
            store::token(&mut tx, &hash).await?.ok_or_else(bad)?;
        let grant = store::grant(&mut tx, &grant_id)
            .await?
            .filter(|g| g.revoked_at.is_none())
            .ok_or_else(bad)?;
        if kind != "refresh" || grant.app_id != app.id || expires_at <= now {
            return Err(bad());
        }
        if grant.expires_at <= now {
            return Err(token_error(
                "invalid_grant",
                "The authorisation expired: ask the user to authorise the application again.",
            ));
        }
        if !store::use_refresh(&mut tx, &hash, now).await? {
            // Used before: someone else holds a copy. The whole grant goes.
            store::revoke_grant(&mut tx, &grant.id, now).await?;
            self.audit(
                &mut tx,
                &grant.user_id,
                now,
                Event::OAuthTokenReused,
                &app.name,
                ctx,
            )
            .await?;
            commit(tx).await?;
            if let Ok(user) = self.accounts().user(&grant.user_id).await {
                self.notify(
                    &user,
                    "An application's access was revoked",
                    &format!("A refresh token of {} was used twice, which means someone copied it: every token of that application for your account was revoked. Authorise it again if you use it.", app.name),
                    ctx,
                )
                .await;
            }
            return Err(token_error(
                "invalid_grant",
                "This refresh token was used already: every token of this grant is revoked.",
            ));
        }
        let tokens = self.new_tokens(&mut tx, &grant, now).await?;
        commit(tx).await?;
        Ok(tokens)
    }
}

impl OAuth<'_> {
    /// Registers an application (a signed-in session, never an app password
    /// or a token): confidential ones get a secret, shown once.
    pub async fn register_oauth_app(
        &self,
        session: &SessionInfo,
        name: &str,
        redirect_uris: &[String],
        confidential: bool,
        ctx: &Ctx,
    ) -> Result<NewApp> {
        self.allowed(Action::RegisterOAuthApp, session, &Proof::None, None)
            .await?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(AuthError::invalid(
                "invalid_name",
                "name",
                "Name the application (up to 60 characters).",
            ));
        }
        let uris: Vec<String> = redirect_uris
            .iter()
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect();
        if uris.is_empty()
            || uris.len() > MAX_REDIRECTS
            || !uris.iter().all(|u| rules::valid_redirect_uri(u))
        {
            return Err(AuthError::invalid(
                "invalid_redirect_uri",
                "redirect_uris",
                "Give 1 to 5 redirect URIs, each https:// or http:// on a loopback address (127.0.0.1, localhost), with no #fragment.",
            ));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        if store::apps_of(&mut tx, &session.user.id).await?.len() >= MAX_APPS {
            return Err(AuthError::Conflict(format!(
                "An account can register at most {MAX_APPS} applications."
            )));
        }
        let client_id = format!("{CLIENT_PREFIX}{}", token::new_id(&mut rng()));
        let secret =
            confidential.then(|| format!("{SECRET_PREFIX}{}", token::new_token(&mut rng())));
        store::insert_app(
            &mut tx,
            &App {
                id: client_id.clone(),
                owner_id: session.user.id.clone(),
                name: name.to_string(),
                redirect_uris: uris.join("\n"),
                confidential,
                secret_hash: secret.as_deref().map(token::token_hash),
                created_at: now,
            },
        )
        .await?;
        self.audit(
            &mut tx,
            &session.user.id,
            now,
            Event::OAuthAppRegistered,
            name,
            ctx,
        )
        .await?;
        commit(tx).await?;
        Ok(NewApp {
            client_id,
            client_secret: secret,
            name: name.to_string(),
            redirect_uris: uris,
        })
    }

    /// The applications this user registered (never their secrets).
    pub async fn oauth_apps(&self, user_id: &UserId) -> Result<Vec<RegisteredApp>> {
        let mut c = self.store().conn().await?;
        let apps = store::apps_of(&mut c, user_id).await?;
        Ok(apps
            .into_iter()
            .map(|a| RegisteredApp {
                client_id: a.id,
                name: a.name,
                redirect_uris: a.redirect_uris.lines().map(str::to_string).collect(),
                confidential: a.confidential,
                created_at: a.created_at,
            })
            .collect())
    }

    /// Checks an authorization request before the consent page shows it.
    pub async fn check_authorize(
        &self,
        req: &AuthorizeRequest,
    ) -> std::result::Result<Consent, AuthorizeError> {
        let show = |m: &str| {
            AuthorizeError::Show(AuthError::invalid(
                "invalid_request",
                "client_id",
                m.to_string(),
            ))
        };
        let mut c = self
            .store()
            .conn()
            .await
            .map_err(|e| AuthorizeError::Show(e.into()))?;
        let app = store::app(&mut c, &req.client_id)
            .await
            .map_err(|e| AuthorizeError::Show(e.into()))?
            .ok_or_else(|| show("There is no application with that client_id."))?;
        // Exact (loopback: any port): a redirect URI decides where the code goes.
        if !app
            .redirect_uris
            .lines()
            .any(|u| rules::redirect_matches(u, &req.redirect_uri))
        {
            return Err(show(
                "That redirect_uri is not registered for this application.",
            ));
        }
        let back = |error: &str, description: &str| {
            AuthorizeError::Redirect(with_query(
                &req.redirect_uri,
                &[
                    ("error", error),
                    ("error_description", description),
                    ("state", &req.state),
                ],
            ))
        };
        if req.response_type != "code" {
            return Err(back(
                "unsupported_response_type",
                "Only response_type=code is served.",
            ));
        }
        if req.code_challenge_method != "S256" || !rules::valid_challenge(&req.code_challenge) {
            return Err(back(
                "invalid_request",
                "PKCE is required: code_challenge_method=S256 and a code_challenge.",
            ));
        }
        let scopes =
            parse_scopes(req.scope.split_whitespace()).map_err(|m| back("invalid_scope", &m))?;
        if scopes.is_empty() {
            return Err(back(
                "invalid_scope",
                "Ask for at least one scope: repository:read, repository:write, account:read.",
            ));
        }
        let owner = twostep_store::users::by_id(&mut c, &app.owner_id)
            .await
            .map_err(|e| AuthorizeError::Show(e.into()))?
            .map(|u| u.username)
            .unwrap_or_default();
        Ok(Consent {
            app_name: app.name,
            owner,
            scopes,
        })
    }

    /// The signed-in user approves: a grant and a one-minute code, sent back.
    pub async fn approve_authorize(
        &self,
        session: &SessionInfo,
        req: &AuthorizeRequest,
        proof: &Proof,
        ctx: &Ctx,
    ) -> std::result::Result<String, AuthorizeError> {
        let consent = self.check_authorize(req).await?;
        // A grant is a credential: a fresh proof and a confirmed email, as
        // for an app password. The proof's window commits on its own.
        let (tx, _) = self
            .begin_action(Action::AuthorizeOAuthApp, session, proof, None, ctx)
            .await
            .map_err(AuthorizeError::Show)?;
        drop(tx);
        let now = self.now();
        let code = token::new_token(&mut rng());
        let grant = Grant {
            id: token::new_id(&mut rng()),
            app_id: req.client_id.clone(),
            user_id: session.user.id.clone(),
            scopes: consent
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            created_at: now,
            revoked_at: None,
            expires_at: now + self.default_credential_lifetime(),
        };
        let stored = async {
            let mut tx = self.store().begin().await?;
            store::insert_grant(&mut tx, &grant).await?;
            store::insert_code(
                &mut tx,
                &token::token_hash(&code),
                &grant.id,
                &req.redirect_uri,
                &req.code_challenge,
                now + CODE_TTL,
            )
            .await?;
            self.audit(
                &mut tx,
                &session.user.id,
                now,
                Event::OAuthAppAuthorized,
                &format!("{} ({})", consent.app_name, grant.scopes),
                ctx,
            )
            .await?;
            commit(tx).await
        };
        stored.await.map_err(AuthorizeError::Show)?;
        self.notify(
            &session.user,
            "An application was authorised",
            &format!(
                "{} can now act for your account with: {}.",
                consent.app_name, grant.scopes
            ),
            ctx,
        )
        .await;
        Ok(with_query(
            &req.redirect_uri,
            &[("code", &code), ("state", &req.state)],
        ))
    }

    /// `POST /oauth/token`.
    pub async fn oauth_token(
        &self,
        req: &TokenRequest,
        ctx: &Ctx,
    ) -> std::result::Result<Tokens, TokenError> {
        match req.grant_type.as_str() {
            "authorization_code" => self.code_for_tokens(req).await,
            "refresh_token" => self.refresh_tokens(req, ctx).await,
            crate::oauth::device::DEVICE_GRANT => self.device_tokens(req).await,
            "" => Err(token_error("invalid_request", "grant_type is missing.")),
            _ => Err(token_error(
                "unsupported_grant_type",
                "grant_type is authorization_code or refresh_token.",
            )),
        }
    }

    /// `POST /oauth/revoke` (RFC 7009): a refresh token ends its grant, an
    /// access token itself; unknown tokens are no error.
    pub async fn oauth_revoke(
        &self,
        req: &TokenRequest,
        token_value: &str,
        ctx: &Ctx,
    ) -> std::result::Result<(), TokenError> {
        let now = self.now();
        let hash = token::token_hash(token_value);
        let mut tx = self.store().begin().await?;
        let app = self.client(&mut tx, req).await?;
        let Some((grant_id, kind, _, _)) = store::token(&mut tx, &hash).await? else {
            return Ok(());
        };
        let Some(grant) = store::grant(&mut tx, &grant_id)
            .await?
            .filter(|g| g.app_id == app.id)
        else {
            return Ok(());
        };
        if kind == "refresh" {
            store::revoke_grant(&mut tx, &grant.id, now).await?;
            self.audit(
                &mut tx,
                &grant.user_id,
                now,
                Event::OAuthAppRevoked,
                &app.name,
                ctx,
            )
            .await?;
        } else {
            store::delete_token(&mut tx, &hash).await?;
        }
        commit(tx).await?;
        Ok(())
    }

    /// An access token as a caller: its owner and its grant's scopes.
    pub async fn authenticate_bearer(&self, token_value: &str) -> Result<SessionInfo> {
        if !token_value.starts_with(ACCESS_PREFIX) || token_value.len() > 100 {
            return Err(AuthError::InvalidToken);
        }
        let mut c = self.store().conn().await?;
        let (hash, now) = (token::token_hash(token_value), self.now());
        let Some((scopes, user)) = store::access_with_user(&mut c, &hash, now).await? else {
            return match store::expired_grant_of_token(&mut c, &hash, now).await? {
                Some(at) => Err(AuthError::CredentialExpired {
                    what: "This application's access to your account".into(),
                    at_utc: crate::utc(at),
                }),
                None => Err(AuthError::InvalidToken),
            };
        };
        Ok(SessionInfo::sessionless(
            user.into(),
            crate::Caller::OAuthToken {
                scopes: parse_scopes(scopes.split_whitespace()).unwrap_or_default(),
            },
        ))
    }

    /// The applications this user authorised, with their names.
    pub async fn authorized_apps(&self, user_id: &UserId) -> Result<Vec<AuthorizedApp>> {
        let mut c = self.store().conn().await?;
        let grants = store::grants_of(&mut c, user_id).await?;
        Ok(grants
            .into_iter()
            .map(|(g, name)| AuthorizedApp {
                grant_id: g.id,
                name,
                scopes: g.scopes.split_whitespace().map(str::to_string).collect(),
                created_at: g.created_at,
                expires_at: g.expires_at,
            })
            .collect())
    }

    /// The user takes an application's access away (no sudo needed: it
    /// only ever removes access).
    pub async fn revoke_authorized_app(
        &self,
        session: &SessionInfo,
        grant_id: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        self.allowed(Action::RevokeOAuthApp, session, &Proof::None, None)
            .await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let grant = store::grant(&mut tx, grant_id)
            .await?
            .filter(|g| g.user_id == session.user.id && g.revoked_at.is_none())
            .ok_or(AuthError::NotFound)?;
        store::revoke_grant(&mut tx, &grant.id, now).await?;
        self.audit(
            &mut tx,
            &session.user.id,
            now,
            Event::OAuthAppRevoked,
            &grant.app_id,
            ctx,
        )
        .await?;
        commit(tx).await
    }
}
