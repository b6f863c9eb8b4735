//! Confirming an SSH command by a mailed link, for accounts that have no
//! password (made through a sign-in provider): the SSH key says who asks,
//! and the owner approves in a browser where they are signed in. The
//! command waits, asking now and then, until the link is approved or
//! expires; the approval is used once.

use twostep_core::{token, UserId};
use twostep_store::email_tokens;

use super::Links;
use crate::gate::Action;
use crate::notify::Event;
use crate::signin::sudo::Proof;
use crate::{commit, AuthError, AuthService, Ctx, Result, SessionInfo};

pub(crate) const SSH_CONFIRM: &str = "ssh_confirm";
/// How long the link (and the waiting command) lasts.
pub const SSH_CONFIRM_TTL: i64 = 10 * 60;
/// One mailed approval a minute at most, per account.
const MAIL_EVERY: i64 = 60;

/// Where a mailed approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    Waiting,
    Approved,
    /// Expired, used, or never made.
    Gone,
}

impl AuthService {
    /// Uses an approval made for `user_id` and `what`: true once.
    pub(crate) async fn use_ssh_approval(
        &self,
        c: &mut twostep_store::Conn,
        handle: &str,
        user_id: &UserId,
        what: &str,
    ) -> Result<bool> {
        let Some(t) = email_tokens::get(c, handle, SSH_CONFIRM).await? else {
            return Ok(false);
        };
        let live = t.expires_at > self.now() && t.used_at.is_some();
        if !live || t.user_id != *user_id || t.subject != what {
            return Ok(false);
        }
        Ok(email_tokens::delete(c, handle).await?)
    }
}

impl Links<'_> {
    /// Whether the account confirms SSH commands by a mailed link (it has no password).
    pub async fn confirms_by_mail(&self, user_id: &UserId) -> Result<bool> {
        Ok(self.user_row(user_id).await?.password_hash.is_none())
    }

    /// Mails the owner a link to approve `what` (e.g. "new recovery codes");
    /// returns the handle the waiting command asks about.
    pub async fn mail_ssh_approval(
        &self,
        user_id: &UserId,
        what: &str,
        ctx: &Ctx,
    ) -> Result<String> {
        let user = self.user_row(user_id).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // A stolen SSH key must not make a mail cannon of the owner's inbox.
        if email_tokens::newest_about(&mut tx, &user.id, SSH_CONFIRM, what)
            .await?
            .is_some_and(|t| now - t < MAIL_EVERY)
        {
            return Err(AuthError::TooSoon(
                "A link was mailed less than a minute ago: approve that one, or try again in a minute.".into(),
            ));
        }
        let raw = self
            .new_token_row(&mut tx, &user.id, SSH_CONFIRM, what, now, SSH_CONFIRM_TTL)
            .await?;
        commit(tx).await?;
        let link = self.link(&format!("/account/approve-ssh?token={raw}"));
        self.send_link_mail(
            &user.email,
            &user.username,
            "Approve a request made over SSH",
            &format!(
                "Someone with one of your SSH keys asked for {what} over SSH, from {ip}.\n\n\
                 If it was you, open this link in a browser where you are signed in, and approve \
                 (valid for 10 minutes):\n\n{link}\n\n\
                 If it was not you, do not open it, and remove that SSH key from your account.",
                ip = ctx.ip
            ),
        )
        .await?;
        Ok(token::token_hash(&raw))
    }

    pub async fn ssh_approval(&self, handle: &str) -> Result<Approval> {
        let mut c = self.store().conn().await?;
        let Some(t) = email_tokens::get(&mut c, handle, SSH_CONFIRM).await? else {
            return Ok(Approval::Gone);
        };
        Ok(if t.expires_at <= self.now() {
            Approval::Gone
        } else if t.used_at.is_some() {
            Approval::Approved
        } else {
            Approval::Waiting
        })
    }

    /// What the mailed link asks to approve (for the page), if it is live
    /// and belongs to this session's user.
    pub async fn ssh_approval_request(&self, session: &SessionInfo, raw: &str) -> Result<String> {
        let mut c = self.store().conn().await?;
        let t = email_tokens::get(&mut c, &token::token_hash(raw), SSH_CONFIRM)
            .await?
            .filter(|t| t.expires_at > self.now() && t.used_at.is_none())
            .ok_or(AuthError::LinkInvalid)?;
        if t.user_id != session.user.id {
            return Err(AuthError::Forbidden(
                "This link is for another account: sign in as its owner to approve.".into(),
            ));
        }
        Ok(t.subject)
    }

    /// The signed-in owner approves; the waiting command may go on (once).
    pub async fn approve_ssh(&self, session: &SessionInfo, raw: &str, ctx: &Ctx) -> Result<String> {
        self.allowed(Action::ApproveSshCommand, session, &Proof::None, None)
            .await?;
        let what = self.ssh_approval_request(session, raw).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        if !email_tokens::consume(&mut tx, &token::token_hash(raw), now).await? {
            return Err(AuthError::LinkInvalid);
        }
        self.audit(
            &mut tx,
            &session.user.id,
            now,
            Event::SshApproved,
            &what,
            ctx,
        )
        .await?;
        commit(tx).await?;
        Ok(what)
    }
}
