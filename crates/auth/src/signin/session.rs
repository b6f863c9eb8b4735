//! Password sign-in, the second step, sessions and sign-out.

use twostep_core::lockout::LockState;
use twostep_core::policy::{self, AccountFactors, AfterPassword, Need};
use twostep_core::token;
use twostep_core::{UnixTime, UserId};
use twostep_store::{authenticators, recovery_codes, sessions, users, Conn};

use super::SignIn;
use crate::factors::check::{FactorCheck, FactorUsed};
use crate::notify::Event;
use crate::{commit, rng, Account, AuthError, AuthService, Ctx, Result};
use twostep_store::users::User;

/// Password given, second step owed: this long to finish it.
pub(crate) const SECOND_STEP_TTL: i64 = 10 * 60;
const MAX_LOGIN: usize = 254;

#[derive(Debug)]
#[must_use]
pub enum SignInOutcome {
    SignedIn {
        token: String,
        user: Account,
    },
    SecondStep {
        token: String,
        need: Need,
        user: Account,
        /// The second step is locked or closed now: say so before any code.
        lock: Option<SecondStepLock>,
    },
}

/// A second step that takes no code for now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondStepLock {
    /// After wrong codes, until then (the lock's mail was sent).
    Locked { until: UnixTime },
    /// After 100 wrong codes in a row, until the mailed unlock link is opened.
    Frozen,
}

impl SecondStepLock {
    pub(crate) fn of(user: &User, now: UnixTime) -> Option<SecondStepLock> {
        match crate::factors::check::lock_state(user, now) {
            LockState::Open => None,
            LockState::Locked { until } => Some(SecondStepLock::Locked { until }),
            LockState::Frozen => Some(SecondStepLock::Frozen),
        }
    }

    /// What the person is told, with the way to unlock: the refusal a code
    /// would get, said before one is typed.
    pub fn message(&self) -> String {
        match self {
            SecondStepLock::Locked { until } => AuthError::Locked {
                until: *until,
                until_utc: crate::error::utc(*until),
            }
            .to_string(),
            SecondStepLock::Frozen => AuthError::Frozen.to_string(),
        }
    }
}

/// Who is calling, and so what a request may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A session made by signing in (the cookie): its token, hashed.
    Session { token_hash: String },
    /// HTTP Basic with an app password: only its scopes, never a security change.
    AppPassword {
        scopes: Vec<twostep_core::app_password::Scope>,
    },
    /// An OAuth access token (`Authorization: Bearer`, or Git's
    /// `x-token-auth`): its grant's scopes, like an app password.
    OAuthToken {
        scopes: Vec<twostep_core::app_password::Scope>,
    },
    /// HTTP Basic with the account password (two-step off): no session, so
    /// no sudo window; each security change brings its own proof.
    Password,
    /// A registered SSH key (the SSH server's commands).
    SshKey(SshKeyUse),
    /// An SSH certificate signed by a workspace's authority: Git over SSH to
    /// that workspace, as the member its principal names.
    SshCertificate,
}

/// What the SSH key that signed in is, for a workspace's SSH rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SshKeyUse {
    /// A FIDO security key (`sk-…@openssh.com`).
    pub fido: bool,
    /// Marked `verify-required`: every signature checked a PIN or biometric.
    pub verify_required: bool,
}

/// A signed-in caller as front-ends see it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user: Account,
    pub caller: Caller,
    /// False while the second step is still owed.
    pub complete: bool,
    pub sudo_until: Option<UnixTime>,
    /// When this session began (a security key added after that never opens sudo).
    pub created_at: UnixTime,
    /// The security key or passkey (its id) the sign-in used, or a later
    /// confirmation with one: what a phishing-resistant workspace asks.
    pub signed_in_key: Option<String>,
}

impl SessionInfo {
    /// The session's token hash; `None` for HTTP Basic callers.
    pub fn token_hash(&self) -> Option<&str> {
        match &self.caller {
            Caller::Session { token_hash } => Some(token_hash),
            _ => None,
        }
    }

    /// An app password's or a token's scopes; `None` when the caller has every right.
    pub fn scopes(&self) -> Option<&[twostep_core::app_password::Scope]> {
        match &self.caller {
            Caller::AppPassword { scopes } | Caller::OAuthToken { scopes } => Some(scopes),
            _ => None,
        }
    }

    /// A caller with no session: HTTP Basic, a token, an SSH key (complete,
    /// never in sudo mode).
    pub fn sessionless(user: Account, caller: Caller) -> SessionInfo {
        SessionInfo {
            user,
            caller,
            complete: true,
            sudo_until: None,
            created_at: UnixTime::EPOCH,
            signed_in_key: None,
        }
    }
}

impl AuthService {
    async fn password_step(&self, login: &str, password: &str, ctx: &Ctx) -> Result<SignInOutcome> {
        let login = login.trim();
        if login.is_empty() || login.len() > MAX_LOGIN {
            return Err(AuthError::invalid(
                "invalid_login",
                "login",
                "Enter your username or email address.",
            ));
        }
        let user = {
            let mut c = self.store().conn().await?;
            match users::by_username(&mut c, &login.to_ascii_lowercase()).await? {
                Some(u) => Some(u),
                None => users::by_email(&mut c, login).await?,
            }
        };
        let mut tx = self
            .check_login_open(user.as_ref(), login, password, ctx)
            .await?;
        let Some(user) = user else {
            return Err(AuthError::BadCredentials);
        };
        // What the account has is read again in the transaction that acts on
        // it: two-step turned on while the password was being hashed counts.
        let user = users::by_id(&mut tx, &user.id)
            .await?
            .ok_or(AuthError::BadCredentials)?;
        let now = self.now();
        let factors = self.factors_of(&mut tx, &user).await?;
        let t = token::new_token(&mut rng());
        let outcome = match policy::after_password(factors) {
            AfterPassword::SignedIn => {
                self.insert_session(&mut tx, &t, &user.id, sessions::Stage::Full, now, ctx)
                    .await?;
                self.audit(&mut tx, &user.id, now, Event::SignedIn, "password", ctx)
                    .await?;
                SignInOutcome::SignedIn {
                    token: t,
                    user: user.into(),
                }
            }
            AfterPassword::SecondStep(need) => {
                self.insert_session(&mut tx, &t, &user.id, sessions::Stage::SecondStep, now, ctx)
                    .await?;
                SignInOutcome::SecondStep {
                    token: t,
                    need,
                    lock: SecondStepLock::of(&user, now),
                    user: user.into(),
                }
            }
        };
        commit(tx).await?;
        Ok(outcome)
    }

    async fn factors_of(&self, c: &mut Conn, user: &User) -> Result<AccountFactors> {
        let auths = authenticators::for_user(c, &user.id).await?;
        Ok(AccountFactors {
            two_step_on: user.two_step_enabled_at.is_some(),
            authenticators: auths
                .iter()
                .filter(|a| a.status == authenticators::Status::Active)
                .count(),
            unused_recovery_codes: recovery_codes::remaining(c, &user.id).await? as usize,
            security_keys: twostep_store::security_keys::for_user(c, &user.id)
                .await?
                .len(),
        })
    }

    pub(crate) async fn insert_session(
        &self,
        c: &mut Conn,
        t: &str,
        user_id: &UserId,
        stage: sessions::Stage,
        now: UnixTime,
        ctx: &Ctx,
    ) -> Result<()> {
        let ttl = match stage {
            sessions::Stage::Full => self.settings().sessions.absolute,
            sessions::Stage::SecondStep => SECOND_STEP_TTL,
        };
        sessions::insert(
            c,
            &sessions::Session {
                token_hash: token::token_hash(t),
                user_id: user_id.clone(),
                stage,
                created_at: now,
                expires_at: now + ttl,
                sudo_until: None,
                last_seen_at: now,
                signed_in_key: None,
            },
            &ctx.ip,
            ctx.user_agent.as_deref().unwrap_or(""),
        )
        .await?;
        Ok(())
    }

    async fn code_step(&self, token_in: &str, code: &str, ctx: &Ctx) -> Result<(String, User)> {
        let now = self.now();
        let hash = token::token_hash(token_in);
        let mut tx = self.store().begin().await?;
        let user = self.half_signed_in(&mut tx, &hash, now).await?;
        let used = match self.check_factor(&mut tx, &user.id, code, now, ctx).await? {
            FactorCheck::Passed(used) => used,
            FactorCheck::Refused(refusal) => return self.refuse(tx, &user, refusal, ctx).await,
        };
        let how = match &used {
            FactorUsed::Totp { .. } => "authenticator app".to_string(),
            FactorUsed::RecoveryCode { remaining } => format!("recovery code ({remaining} left)"),
        };
        let t = self
            .complete_second_step(&mut tx, &hash, &user, &how, now, ctx)
            .await?;
        commit(tx).await?;
        if let FactorUsed::RecoveryCode { remaining } = used {
            self.recovery_code_used_mail(
                &user,
                "A recovery code was used to sign in to your account.",
                remaining,
                ctx,
            )
            .await;
        }
        Ok((t, user))
    }

    /// The user of a live session that still owes the second step.
    pub(crate) async fn half_signed_in(
        &self,
        c: &mut Conn,
        hash: &str,
        now: UnixTime,
    ) -> Result<User> {
        let s = sessions::get(&mut *c, hash, now, now - self.settings().sessions.idle)
            .await?
            .filter(|s| s.stage == sessions::Stage::SecondStep)
            .ok_or(AuthError::SignInRequired)?;
        users::by_id(c, &s.user_id)
            .await?
            .ok_or(AuthError::SignInRequired)
    }

    /// Replaces the half-signed-in session by a full one (new token, no fixation).
    pub(crate) async fn complete_second_step(
        &self,
        c: &mut Conn,
        old_hash: &str,
        user: &User,
        how: &str,
        now: UnixTime,
        ctx: &Ctx,
    ) -> Result<String> {
        let t = token::new_token(&mut rng());
        sessions::delete(&mut *c, old_hash).await?;
        self.insert_session(c, &t, &user.id, sessions::Stage::Full, now, ctx)
            .await?;
        self.audit(c, &user.id, now, Event::SecondStepPassed, how, ctx)
            .await?;
        Ok(t)
    }

    /// The session as stored now (after this request opened its sudo window).
    pub(crate) async fn fresh_session(&self, session: &SessionInfo) -> Result<SessionInfo> {
        let hash = session.token_hash().ok_or(AuthError::SignInRequired)?;
        self.session_by_hash(hash)
            .await?
            .ok_or(AuthError::SignInRequired)
    }

    pub(crate) async fn session_by_hash(&self, hash: &str) -> Result<Option<SessionInfo>> {
        let now = self.now();
        let hash = hash.to_string();
        let mut c = self.store().conn().await?;
        let Some((s, user)) =
            sessions::get_with_user(&mut c, &hash, now, now - self.settings().sessions.idle)
                .await?
        else {
            return Ok(None);
        };
        // A shorter lifetime configured since the session began holds too.
        if s.stage == sessions::Stage::Full
            && s.created_at + self.settings().sessions.absolute <= now
        {
            return Ok(None);
        }
        if twostep_core::last_used::due(Some(s.last_seen_at), now) {
            sessions::touch(&mut c, &hash, now).await?;
        }
        drop(c);
        let mut user: Account = user.into();
        if s.stage == sessions::Stage::Full {
            user.two_step_required_by = self.workspaces().two_step_deadlines(&user).await?;
        }
        Ok(Some(SessionInfo {
            user,
            caller: Caller::Session { token_hash: hash },
            complete: s.stage == sessions::Stage::Full,
            sudo_until: s.sudo_until,
            created_at: s.created_at,
            signed_in_key: s.signed_in_key,
        }))
    }
}

impl SignIn<'_> {
    pub async fn sign_in(&self, login: &str, password: &str, ctx: &Ctx) -> Result<SignInOutcome> {
        let r = self.password_step(login, password, ctx).await;
        crate::metrics::password_step(ctx.channel, &r);
        r
    }

    /// Completes a sign-in with a code or recovery code. The session token is
    /// replaced (no fixation): use the returned one.
    pub async fn second_step(
        &self,
        token_in: &str,
        code: &str,
        ctx: &Ctx,
    ) -> Result<(String, Account)> {
        let r = self.code_step(token_in, code, ctx).await;
        crate::metrics::second_step(ctx.channel, &r);
        r.map(|(token, user)| (token, user.into()))
    }

    /// Whether this account's second step is locked or closed now.
    pub async fn second_step_lock(&self, user_id: &UserId) -> Result<Option<SecondStepLock>> {
        let user = self.user_row(user_id).await?;
        Ok(SecondStepLock::of(&user, self.now()))
    }

    /// The session behind a cookie, if it is live.
    pub async fn session(&self, token_in: &str) -> Result<Option<SessionInfo>> {
        if token_in.is_empty() || token_in.len() > 100 {
            return Ok(None);
        }
        self.session_by_hash(&token::token_hash(token_in)).await
    }

    pub async fn sign_out(&self, token_in: &str, ctx: &Ctx) -> Result<()> {
        let Some(s) = self.session(token_in).await? else {
            return Ok(());
        };
        let now = self.now();
        let mut tx = self.store().begin().await?;
        if let Some(hash) = s.token_hash() {
            sessions::delete(&mut tx, hash).await?;
        }
        if s.complete {
            self.audit(&mut tx, &s.user.id, now, Event::SignedOut, "", ctx)
                .await?;
        }
        commit(tx).await
    }
}
