//! Self-service recovery for an owner who lost every second factor: the
//! password and a mailed link start a request, which is ready after a wait
//! (`recovery_wait`, or `recovery_wait_with_proof` with an SSH key or a known
//! browser). Meanwhile the owner is mailed at the start and every day, every
//! signed-in page shows a banner, and any second factor, the link in every
//! mail or `ssh … recover --cancel` cancels it. Once ready, the next sign-in
//! with the password and a fresh mailed link removes the old factors
//! (recovery_finish.rs).

use twostep_core::{token, UnixTime, UserId};
use twostep_store::recovery_requests::{self as requests, Outcome, Proof, Request};
use twostep_store::users::User;
use twostep_store::{users, Conn};

use super::Recovery;
use crate::error::utc;
use crate::links::mailed::{self as links, Holder, Purpose};
use crate::notify::Event;
use crate::{commit, rng, AuthError, AuthService, Ctx, Result, SessionInfo};

pub(crate) const LINK_TTL: i64 = 3600;
/// At most this many requests may start per account per day.
const STARTS_PER_DAY: i64 = 3;
pub(crate) const REMIND_EVERY: i64 = 24 * 3600;
/// One mailed link of each kind per this many seconds, so a password thief
/// cannot flood the owner's mailbox.
const MAIL_EVERY: i64 = 10 * 60;

/// The open request as the person waiting for it sees it.
#[derive(Debug, Clone)]
pub struct RecoveryStatus {
    pub started_at: UnixTime,
    pub ready_at: UnixTime,
    pub ready_utc: String,
    pub ready: bool,
    pub with_proof: bool,
}

fn status_of(r: &Request, now: UnixTime) -> RecoveryStatus {
    RecoveryStatus {
        started_at: r.started_at,
        ready_at: r.ready_at,
        ready_utc: utc(r.ready_at),
        ready: now >= r.ready_at,
        with_proof: r.proof != Proof::None,
    }
}

pub(crate) fn half_signed_in(session: &SessionInfo) -> Result<()> {
    if session.complete || session.token_hash().is_none() {
        return Err(AuthError::Forbidden(
            "Account recovery starts from the sign-in page, after your password.".into(),
        ));
    }
    Ok(())
}

impl AuthService {
    fn wait_for(&self, proof: Proof) -> i64 {
        let s = self.settings();
        match proof {
            Proof::None => s.recovery_wait,
            Proof::Device | Proof::SshKey => s.recovery_wait_with_proof,
        }
    }

    /// A cancel link for one request: an HMAC of its id, so every mail can
    /// carry one without storing it.
    pub(crate) fn cancel_link(&self, request_id: &str) -> String {
        let t = cancel_token(&self.keys().pepper, request_id);
        self.link(&format!("/recover/cancel?request={request_id}&token={t}"))
    }

    /// The account, if a request may start for it now (row held).
    async fn recovery_candidate(
        &self,
        c: &mut Conn,
        user_id: &UserId,
        now: UnixTime,
    ) -> Result<User> {
        users::lock_row(c, user_id).await?;
        let user = self.user_in(c, user_id).await?;
        if user.two_step_enabled_at.is_none() {
            return Err(AuthError::Conflict(format!(
                "Two-step verification is off for {}: your password alone signs you in, there is nothing to recover.",
                user.username
            )));
        }
        if let Some(r) = requests::open_for(c, user_id).await? {
            return Err(AuthError::Conflict(format!(
                "A recovery request for this account is under way already; it is ready on {} UTC.",
                utc(r.ready_at)
            )));
        }
        if requests::started_since(c, user_id, now - 24 * 3600).await? >= STARTS_PER_DAY {
            return Err(AuthError::TooSoon(
                "Account recovery was started too often today. Try again tomorrow.".into(),
            ));
        }
        Ok(user)
    }

    pub(crate) async fn user_in(&self, c: &mut Conn, user_id: &UserId) -> Result<User> {
        users::by_id(c, user_id).await?.ok_or(AuthError::NotFound)
    }

    async fn open_request(
        &self,
        c: &mut Conn,
        user: &User,
        proof: Proof,
        now: UnixTime,
        ctx: &Ctx,
    ) -> Result<Request> {
        let r = Request {
            id: token::new_id(&mut rng()),
            user_id: user.id.clone(),
            proof,
            started_at: now,
            ready_at: now + self.wait_for(proof),
            reminded_at: now,
        };
        requests::insert(c, &r).await?;
        let detail = format!("{}, ready {} UTC", proof.as_str(), utc(r.ready_at));
        self.audit(c, &user.id, now, Event::RecoveryStarted, &detail, ctx)
            .await?;
        Ok(r)
    }

    async fn mail_started(&self, user: &User, r: &Request, ctx: &Ctx) {
        let what = format!(
            "A request to recover your account without its second factors was started. \
             On {} UTC, whoever knows your password and can read this mailbox can remove your \
             authenticators, security keys and recovery codes and set up new ones.\n\n\
             If this is you, sign in after that time and follow the instructions.\n\
             If it is NOT you, cancel it now with this link:\n{}\n\n\
             Signing in with any authenticator code, recovery code or security key also cancels it.",
            utc(r.ready_at),
            self.cancel_link(&r.id)
        );
        self.notify(user, "Account recovery started", &what, ctx)
            .await;
    }

    async fn cancel(&self, user_id: &UserId, how: &str, ctx: &Ctx) -> Result<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        users::lock_row(&mut tx, user_id).await?;
        let user = self.user_in(&mut tx, user_id).await?;
        let r = requests::open_for(&mut tx, user_id)
            .await?
            .ok_or_else(|| AuthError::Conflict("No account recovery is under way.".into()))?;
        if !requests::end(&mut tx, &r, Outcome::Cancelled, how, now).await? {
            return Err(AuthError::Conflict(
                "No account recovery is under way.".into(),
            ));
        }
        self.audit(&mut tx, &user.id, now, Event::RecoveryCancelled, how, ctx)
            .await?;
        commit(tx).await?;
        self.notify(
            &user,
            "Account recovery cancelled",
            &format!(
                "The request to recover your account was cancelled {how}. Nothing was changed."
            ),
            ctx,
        )
        .await;
        Ok(())
    }

    /// A second factor was just accepted inside `c`: an open request is
    /// cancelled (its owner still has a factor). The mail goes out in the
    /// background.
    pub(crate) async fn cancel_recovery_on_factor(
        &self,
        c: &mut Conn,
        user: &User,
        now: UnixTime,
        ctx: &Ctx,
    ) -> Result<()> {
        let Some(r) = requests::open_for(c, &user.id).await? else {
            return Ok(());
        };
        let how = "by signing in with a second factor";
        if requests::end(c, &r, Outcome::Cancelled, how, now).await? {
            self.audit(c, &user.id, now, Event::RecoveryCancelled, how, ctx)
                .await?;
            let (me, user, ctx) = (self.clone(), user.clone(), ctx.clone());
            tokio::spawn(async move {
                me.notify(
                    &user,
                    "Account recovery cancelled",
                    "A second factor (an authenticator code, a recovery code or a security key) was used on your account, \
                     so the request to recover it without one was cancelled. Nothing was changed.",
                    &ctx,
                )
                .await;
            });
        }
        Ok(())
    }
}

impl AuthService {
    /// Refused when the operator turned self-service recovery off.
    pub(crate) fn self_service_allowed(&self) -> Result<()> {
        if self.settings().self_service_recovery {
            return Ok(());
        }
        Err(AuthError::Forbidden(
            "Recovering an account without its second factor is turned off on this server: \
             ask an administrator to reset your two-step verification."
                .into(),
        ))
    }
}

impl Recovery<'_> {
    /// The open request of the account signed in with its password only.
    pub async fn recovery_status(&self, user_id: &UserId) -> Result<Option<RecoveryStatus>> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        Ok(requests::open_for(&mut c, user_id)
            .await?
            .map(|r| status_of(&r, now)))
    }

    /// "I lost my authenticator and my recovery codes", after the password:
    /// mails the link that starts a request. A browser that signed in to this
    /// account before counts as a second proof.
    pub async fn mail_recovery_link(&self, session: &SessionInfo, ctx: &Ctx) -> Result<String> {
        self.self_service_allowed()?;
        half_signed_in(session)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let user = self
            .recovery_candidate(&mut tx, &session.user.id, now)
            .await?;
        not_mailed_lately(&mut tx, &user.id, Purpose::StartRecovery, now).await?;
        let proof = if self.holds_device_cookie(&user.id, ctx) {
            Proof::Device
        } else {
            Proof::None
        };
        let link = self
            .new_link(
                &mut tx,
                &user.id,
                Purpose::StartRecovery,
                proof.as_str(),
                now,
                LINK_TTL,
            )
            .await?;
        self.audit(&mut tx, &user.id, now, Event::RecoveryMailSent, "", ctx)
            .await?;
        commit(tx).await?;
        let wait = twostep_core::words::span(self.wait_for(proof));
        self.send_link_mail(
            &user.email,
            &user.username,
            "Start recovering your account",
            &format!(
                "Someone who knows your password asked to recover your account without its two-step \
                 authenticator and recovery codes. To start, open this link within one hour:\n\n{link}\n\n\
                 The account can then be recovered after a waiting period of {wait}, during which \
                 we will remind you every day. If this was not you, do nothing, and change your password."
            ),
        )
        .await?;
        Ok(user.email)
    }

    /// Follows the mailed link: the request starts and its wait begins.
    pub async fn start_recovery(&self, raw_token: &str, ctx: &Ctx) -> Result<RecoveryStatus> {
        self.self_service_allowed()?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let t = links::redeem(
            &mut tx,
            raw_token,
            Purpose::StartRecovery,
            Holder::Anyone,
            now,
        )
        .await?;
        let user = self.recovery_candidate(&mut tx, &t.user_id, now).await?;
        let proof = t.subject.parse().unwrap_or(Proof::None);
        let r = self.open_request(&mut tx, &user, proof, now, ctx).await?;
        commit(tx).await?;
        self.mail_started(&user, &r, ctx).await;
        Ok(status_of(&r, now))
    }

    /// `ssh git@HOST recover`: the SSH key is the second proof. Starts a
    /// request, or shortens the wait of the one under way.
    pub async fn recover_over_ssh(&self, user_id: &UserId, ctx: &Ctx) -> Result<RecoveryStatus> {
        self.self_service_allowed()?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        users::lock_row(&mut tx, user_id).await?;
        if let Some(r) = requests::open_for(&mut tx, user_id).await? {
            let user = self.user_in(&mut tx, user_id).await?;
            if r.proof == Proof::SshKey {
                return Ok(status_of(&r, now));
            }
            let ready_at = r.ready_at.min(r.started_at + self.wait_for(Proof::SshKey));
            requests::strengthen(&mut tx, &r, Proof::SshKey, ready_at).await?;
            let detail = format!("ready {} UTC", utc(ready_at));
            self.audit(
                &mut tx,
                &user.id,
                now,
                Event::RecoveryProofAdded,
                &detail,
                ctx,
            )
            .await?;
            commit(tx).await?;
            let r = Request {
                proof: Proof::SshKey,
                ready_at,
                ..r
            };
            self.mail_started(&user, &r, ctx).await;
            return Ok(status_of(&r, now));
        }
        let user = self.recovery_candidate(&mut tx, user_id, now).await?;
        let r = self
            .open_request(&mut tx, &user, Proof::SshKey, now, ctx)
            .await?;
        commit(tx).await?;
        self.mail_started(&user, &r, ctx).await;
        Ok(status_of(&r, now))
    }

    /// Cancels by the link in a mail (the request's id and its HMAC).
    pub async fn cancel_recovery_by_link(
        &self,
        request_id: &str,
        raw_token: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        let expected = cancel_token(&self.keys().pepper, request_id);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            raw_token.as_bytes(),
        )) {
            return Err(AuthError::LinkInvalid);
        }
        let mut c = self.store().conn().await?;
        let r = requests::get(&mut c, request_id)
            .await?
            .ok_or(AuthError::LinkInvalid)?;
        drop(c);
        self.cancel(&r.user_id, "by the link in a mail", ctx).await
    }

    /// `ssh git@HOST recover --cancel`.
    pub async fn cancel_recovery_over_ssh(&self, user_id: &UserId, ctx: &Ctx) -> Result<()> {
        self.cancel(user_id, "over SSH", ctx).await
    }
}

pub(crate) async fn not_mailed_lately(
    c: &mut Conn,
    user_id: &UserId,
    purpose: Purpose,
    now: UnixTime,
) -> Result<()> {
    if let Some(at) = links::last_made(c, user_id, purpose, None).await? {
        if now - at < MAIL_EVERY {
            return Err(AuthError::TooSoon(format!(
                "We mailed you that link at {} UTC. Check your mailbox (and its spam folder); a new link can be sent 10 minutes after the last.",
                utc(at)
            )));
        }
    }
    Ok(())
}

fn cancel_token(pepper: &[u8; 32], request_id: &str) -> String {
    let mac = twostep_core::token::hmac_sha256(
        pepper,
        format!("cancel-recovery|{request_id}").as_bytes(),
    );
    data_encoding::HEXLOWER.encode(&mac)
}
