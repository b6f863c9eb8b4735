//! The one password check: web and API sign-in, HTTP Basic, SSH
//! `recovery_codes`, and sudo while two-step verification is off.
//!
//! The attempt is reserved before Argon2 runs: a transaction that holds the
//! account's row counts this client's failures in the window, refuses when the
//! budget is spent, and writes a failure row; Argon2 runs after commit, and a
//! right password deletes the row. A burst of parallel guesses evaluates at
//! most the budget that was left, on every node.
//!
//! Clients: a browser holding this account's signed device cookie (issued
//! after a complete sign-in) has a budget of its own; everyone else shares the
//! "unknown" budget, so an attacker can pause only unknown clients.
//!
//! The ceiling: `lockout::PASSWORD_CEILING` wrong passwords in a row, over
//! every client and window, close password sign-in to unknown clients until
//! the owner signs in from a known one or opens the mailed unlock link.
//!
//! A login that names no account is a subject too (a keyed hash of it):
//! reserved, counted, paused and closed by the same statements, hashed with
//! the same work, so its answers tell nothing of whether the account exists.

use subtle::ConstantTimeEq;
use twostep_core::lockout;
use twostep_core::token::{self, hmac_sha256};
use twostep_core::UserId;
use twostep_store::{login_failures, users, Tx};

use super::SignIn;
use crate::error::utc;
use crate::links::mailed::{self as links, Holder, Purpose};
use crate::notify::Event;
use crate::{commit, rng, AuthError, AuthService, Ctx, Result};
use twostep_store::users::User;

const UNKNOWN: &str = "unknown";
const UNLOCK_TTL: i64 = 7 * 24 * 3600;
/// Recovery codes over SSH: the caller proved a registered key already.
pub(crate) const SSH_KEY: &str = "ssh-key";

fn device_signature(key: &[u8; 32], user_id: &UserId, nonce: &str) -> String {
    let mac = hmac_sha256(key, format!("device|{user_id}|{nonce}").as_bytes());
    data_encoding::BASE64URL_NOPAD.encode(&mac)
}

impl AuthService {
    /// The client's throttling key: its device nonce when the cookie is this
    /// account's and genuine.
    fn client_key(&self, user_id: &UserId, ctx: &Ctx) -> String {
        let device = ctx
            .device
            .as_deref()
            .filter(|d| d.len() <= 200)
            .and_then(|d| {
                let mut parts = d.splitn(3, '.');
                let (nonce, uid, sig) = (parts.next()?, parts.next()?, parts.next()?);
                let expected = device_signature(&self.keys().csrf, user_id, nonce);
                (uid == user_id.as_str() && bool::from(expected.as_bytes().ct_eq(sig.as_bytes())))
                    .then(|| format!("device:{nonce}"))
            });
        device.unwrap_or_else(|| UNKNOWN.to_string())
    }

    /// Whether this browser holds the account's genuine device cookie (a
    /// browser that completed a sign-in to this account before).
    pub(crate) fn holds_device_cookie(&self, user_id: &UserId, ctx: &Ctx) -> bool {
        self.client_key(user_id, ctx) != UNKNOWN
    }

    /// The keyed hash of a login as typed (never stored itself: it may be
    /// a mistyped password).
    fn login_key(&self, login: &str) -> String {
        let mac = hmac_sha256(
            &self.keys().csrf,
            format!("unknown-login|{}", login.trim().to_lowercase()).as_bytes(),
        );
        format!("?{}", data_encoding::HEXLOWER.encode(&mac[..16]))
    }

    /// The subject of the ceiling: the account, or the login that names none.
    fn subject(&self, user: Option<&User>, login: &str) -> String {
        match user {
            Some(u) => u.id.to_string(),
            None => self.login_key(login),
        }
    }

    /// The subject of the pause per window: the login as typed, for a real
    /// account too (its username and its address are budgets of their own,
    /// as two logins that name no account are, so spending one tells nothing
    /// of which address is whose); the account when nothing was typed (a
    /// signed-in person's or an SSH key's proof).
    fn window_subject(&self, user: Option<&User>, login: &str) -> String {
        if login.trim().is_empty() {
            return self.subject(user, login);
        }
        self.login_key(login)
    }

    /// A new password (`everyone`: every client's counts), or the owner's
    /// unlock (unknown clients'): the counts of the account, its username
    /// and its address start again.
    pub(crate) async fn clear_login_counts(
        &self,
        tx: &mut twostep_store::Conn,
        user: &User,
        everyone: bool,
    ) -> Result<()> {
        login_failures::clear_in_row(tx, user.id.as_str()).await?;
        for subject in [
            user.id.to_string(),
            self.login_key(&user.username),
            self.login_key(&user.email),
        ] {
            if everyone {
                login_failures::clear_subject(tx, &subject).await?;
            } else {
                login_failures::clear(tx, &subject, UNKNOWN).await?;
            }
        }
        Ok(())
    }

    /// Checks `password` for `user`. `Ok(())` only for the right password.
    pub(crate) async fn check_password(
        &self,
        user: &User,
        password: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        commit(self.check_login_open(Some(user), "", password, ctx).await?).await
    }

    /// Checks `password` for the account `login` named (`user`, or none:
    /// then the same work and answers, and never `Ok`), leaving a right
    /// password's transaction open (this client's failures cleared) for the
    /// caller's own writes: one commit where two would do.
    pub(crate) async fn check_login_open(
        &self,
        user: Option<&User>,
        login: &str,
        password: &str,
        ctx: &Ctx,
    ) -> Result<Tx> {
        let client = match user {
            Some(u) => self.client_key(&u.id, ctx),
            None => UNKNOWN.to_string(),
        };
        self.check_password_as_open(user, login, password, &client, ctx)
            .await
    }

    pub(crate) async fn check_password_as(
        &self,
        user: &User,
        password: &str,
        client: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        commit(
            self.check_password_as_open(Some(user), "", password, client, ctx)
                .await?,
        )
        .await
    }

    async fn check_password_as_open(
        &self,
        user: Option<&User>,
        login: &str,
        password: &str,
        client: &str,
        ctx: &Ctx,
    ) -> Result<Tx> {
        let subject = self.subject(user, login);
        let window = self.window_subject(user, login);
        let now = self.now();
        let reservation = token::new_id(&mut rng());
        // The reservation needs no disk wait of its own: whatever the check
        // decides is committed with one, which carries this row to the disk.
        let mut tx = self.store().begin_unsynced().await?;
        // Parallel attempts are counted one after the other, for a login
        // that names no account too (an advisory lock on PostgreSQL).
        match user {
            Some(u) => users::lock_row(&mut tx, &u.id).await?,
            None => users::lock_name(&mut tx, &subject).await?,
        }
        let since = lockout::window_start(now);
        let (count, oldest) = login_failures::in_window(&mut tx, &window, client, since).await?;
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        if let Some(until) = lockout::password_paused_until(count, oldest, now) {
            return Err(AuthError::Throttled {
                until,
                until_utc: utc(until),
            });
        }
        if client == UNKNOWN
            && lockout::password_ceiling_reached(login_failures::in_row(&mut tx, &subject).await?)
        {
            return Err(AuthError::PasswordSignInClosed);
        }
        login_failures::record(&mut tx, &reservation, &window, client, &ctx.ip, now).await?;
        commit(tx).await?;

        let stored = user.and_then(|u| u.password_hash.as_deref());
        let right = match self.hasher().verify(password, stored).await {
            Ok(right) => right && user.is_some(),
            Err(e) => {
                let mut tx = self.store().begin().await?;
                login_failures::release(&mut tx, &reservation).await?;
                commit(tx).await?;
                return Err(e);
            }
        };
        let mut tx = self.store().begin().await?;
        if right {
            login_failures::clear(&mut tx, &window, client).await?;
            login_failures::clear_in_row(&mut tx, &subject).await?;
            return Ok(tx);
        }
        let in_row = login_failures::add_in_row(&mut tx, &subject, now).await?;
        // Exactly one reservation is the last of the budget (the row lock
        // orders them): that one logs and mails the pause, once.
        let paused = count + 1 == lockout::PASSWORD_BUDGET;
        let closed = in_row == lockout::PASSWORD_CEILING;
        let until = lockout::password_paused_until(count + 1, Some(oldest.unwrap_or(now)), now)
            .unwrap_or(now);
        let mut mails = Vec::new();
        if let Some(user) = user {
            let event = if ctx.channel == crate::Channel::Ssh {
                Event::SshPasswordFailed
            } else {
                Event::SignInFailed
            };
            self.audit(&mut tx, &user.id, now, event, "", ctx).await?;
            if paused {
                let detail = format!("{client} until {} UTC", utc(until));
                self.audit(
                    &mut tx,
                    &user.id,
                    now,
                    Event::PasswordThrottled,
                    &detail,
                    ctx,
                )
                .await?;
                mails.push(paused_mail(client, until));
            }
            if closed {
                let link = self
                    .new_link(
                        &mut tx,
                        &user.id,
                        Purpose::UnlockPasswordSignIn,
                        "",
                        now,
                        UNLOCK_TTL,
                    )
                    .await?;
                self.audit(&mut tx, &user.id, now, Event::PasswordSignInClosed, "", ctx)
                    .await?;
                mails.push(closed_mail(&link));
            }
        }
        commit(tx).await?;
        // Mail leaves after the answer, so a real account answers as fast as
        // a login that names none.
        if let Some(user) = user {
            for (subject, what) in mails {
                self.notify_later(user, subject, what, ctx);
            }
        }
        if paused {
            return Err(AuthError::Throttled {
                until,
                until_utc: utc(until),
            });
        }
        Err(AuthError::BadCredentials)
    }
}

fn paused_mail(client: &str, until: twostep_core::UnixTime) -> (&'static str, String) {
    let who = if client == UNKNOWN {
        "browsers and programs that have not signed in to your account before".to_string()
    } else {
        "one of your own browsers or your SSH key".to_string()
    };
    (
        "Password sign-in paused after wrong passwords",
        format!(
            "{} wrong passwords were entered for your account, so password sign-in from {who} is paused until {} UTC. \
             Browsers where you signed in before are not affected, and app passwords keep working. \
             If this was not you, someone knows your username: keep two-step verification on.",
            lockout::PASSWORD_BUDGET,
            utc(until)
        ),
    )
}

fn closed_mail(link: &str) -> (&'static str, String) {
    (
        "Password sign-in closed after 100 wrong passwords",
        format!(
            "{} wrong passwords in a row were entered for your account, so password sign-in from browsers and programs \
             that have not signed in to your account before is closed. A browser where you signed in before still \
             signs in (and reopens it), and app passwords keep working. To reopen it from anywhere, open this link \
             (valid for {} days):\n\n{link}\n\nIf this was not you, someone is guessing your password: keep \
             two-step verification on and choose a password nobody could guess.",
            lockout::PASSWORD_CEILING,
            UNLOCK_TTL / 86400
        ),
    )
}

impl SignIn<'_> {
    /// Reopens password sign-in from unknown clients (the mailed link).
    pub async fn unlock_password_sign_in(
        &self,
        raw_token: &str,
        ctx: &Ctx,
    ) -> Result<crate::Account> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let t = links::redeem(
            &mut tx,
            raw_token,
            Purpose::UnlockPasswordSignIn,
            Holder::Anyone,
            now,
        )
        .await?;
        users::lock_row(&mut tx, &t.user_id).await?;
        let user = users::by_id(&mut tx, &t.user_id)
            .await?
            .ok_or(AuthError::LinkInvalid)?;
        self.clear_login_counts(&mut tx, &user, false).await?;
        self.audit(
            &mut tx,
            &t.user_id,
            now,
            Event::PasswordSignInReopened,
            "",
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.accounts().user(&t.user_id).await
    }
}

/// A sign-in within this long of the account's creation mails nothing: it
/// is the new account's own first browser.
const NEW_ACCOUNT_GRACE: i64 = 3600;

impl SignIn<'_> {
    /// A sign-in completed in a browser that held no device cookie of this
    /// account: the owner is mailed (browser, address, time, and where to end
    /// the session), from a task of its own.
    pub fn completed_in_browser(&self, user_id: &UserId, ctx: &Ctx) {
        if self.holds_device_cookie(user_id, ctx) {
            return;
        }
        let (auth, id, ctx) = (AuthService::clone(self), user_id.clone(), ctx.clone());
        tokio::spawn(async move {
            let Ok(user) = auth.user_row(&id).await else {
                return;
            };
            if user.created_at > auth.now() - NEW_ACCOUNT_GRACE {
                return;
            }
            let what = format!(
                "Your account was signed in to from a browser it had not been used in before: {}.\n\n\
                 If this was you, there is nothing to do. If not, end that session and change your password \
                 (and keep two-step verification on):\n{}",
                super::browser::described(ctx.user_agent.as_deref()),
                auth.link("/account/sessions")
            );
            auth.notify(&user, "New sign-in from a new browser", &what, &ctx)
                .await;
        });
    }

    /// A device cookie value for a browser that just completed a sign-in.
    pub fn device_cookie(&self, user_id: &UserId) -> String {
        let nonce = token::new_id(&mut rng());
        let sig = device_signature(&self.keys().csrf, user_id, &nonce);
        format!("{nonce}.{user_id}.{sig}")
    }
}
