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

use subtle::ConstantTimeEq;
use twostep_core::lockout;
use twostep_core::token::{self, hmac_sha256};
use twostep_core::UserId;
use twostep_store::{password_failures, users, Tx};

use super::SignIn;
use crate::error::utc;
use crate::notify::Event;
use crate::{commit, rng, AuthError, AuthService, Ctx, Result};
use twostep_store::users::User;

const UNKNOWN: &str = "unknown";
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

    /// Checks `password` for `user` (or burns the same time when there is no
    /// such user). `Ok(())` only for the right password of an existing account.
    pub(crate) async fn check_password(
        &self,
        user: Option<&User>,
        password: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        commit(self.check_password_open(user, password, ctx).await?).await
    }

    /// As `check_password`, but a right password leaves its transaction open
    /// (this client's failures cleared) for the caller's own writes: one
    /// commit where two would do.
    pub(crate) async fn check_password_open(
        &self,
        user: Option<&User>,
        password: &str,
        ctx: &Ctx,
    ) -> Result<Tx> {
        let client = match user {
            Some(u) => self.client_key(&u.id, ctx),
            None => UNKNOWN.to_string(),
        };
        self.check_password_as_open(user, password, &client, ctx)
            .await
    }

    pub(crate) async fn check_password_as(
        &self,
        user: Option<&User>,
        password: &str,
        client: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        commit(
            self.check_password_as_open(user, password, client, ctx)
                .await?,
        )
        .await
    }

    async fn check_password_as_open(
        &self,
        user: Option<&User>,
        password: &str,
        client: &str,
        ctx: &Ctx,
    ) -> Result<Tx> {
        let Some(user) = user else {
            self.hasher().verify(password, None).await?;
            return Err(AuthError::BadCredentials);
        };
        let now = self.now();
        let reservation = token::new_id(&mut rng());
        // The reservation needs no disk wait of its own: whatever the check
        // decides is committed with one, which carries this row to the disk.
        let mut tx = self.store().begin_unsynced().await?;
        users::lock_row(&mut tx, &user.id).await?;
        let since = lockout::window_start(now);
        let (count, oldest) =
            password_failures::in_window(&mut tx, &user.id, client, since).await?;
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        if let Some(until) = lockout::password_paused_until(count, oldest, now) {
            return Err(AuthError::Throttled {
                until,
                until_utc: utc(until),
            });
        }
        password_failures::record(&mut tx, &reservation, &user.id, client, &ctx.ip, now).await?;
        commit(tx).await?;

        let right = match self
            .hasher()
            .verify(password, user.password_hash.as_deref())
            .await
        {
            Ok(right) => right,
            Err(e) => {
                let mut tx = self.store().begin().await?;
                password_failures::release(&mut tx, &reservation).await?;
                commit(tx).await?;
                return Err(e);
            }
        };
        let mut tx = self.store().begin().await?;
        if right {
            password_failures::clear(&mut tx, &user.id, client).await?;
            return Ok(tx);
        }
        let event = if ctx.channel == crate::Channel::Ssh {
            Event::SshPasswordFailed
        } else {
            Event::SignInFailed
        };
        self.audit(&mut tx, &user.id, now, event, "", ctx).await?;
        // Exactly one reservation is the last of the budget (the row lock
        // orders them): that one logs and mails the pause, once.
        let paused = count + 1 == lockout::PASSWORD_BUDGET;
        let until = lockout::password_paused_until(count + 1, Some(oldest.unwrap_or(now)), now)
            .unwrap_or(now);
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
        }
        commit(tx).await?;
        if paused {
            let who = if client == UNKNOWN {
                "browsers and programs that have not signed in to your account before".to_string()
            } else {
                "one of your own browsers or your SSH key".to_string()
            };
            let what = format!(
                "{} wrong passwords were entered for your account, so password sign-in from {who} is paused until {} UTC. \
                 Browsers where you signed in before are not affected, and app passwords keep working. \
                 If this was not you, someone knows your username: keep two-step verification on.",
                lockout::PASSWORD_BUDGET,
                utc(until)
            );
            self.notify(
                user,
                "Password sign-in paused after wrong passwords",
                &what,
                ctx,
            )
            .await;
            return Err(AuthError::Throttled {
                until,
                until_utc: utc(until),
            });
        }
        Err(AuthError::BadCredentials)
    }
}

impl SignIn<'_> {
    /// A device cookie value for a browser that just completed a sign-in.
    pub fn device_cookie(&self, user_id: &UserId) -> String {
        let nonce = token::new_id(&mut rng());
        let sig = device_signature(&self.keys().csrf, user_id, &nonce);
        format!("{nonce}.{user_id}.{sig}")
    }
}
