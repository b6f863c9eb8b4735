//! Confirming an SSH command by a mailed link, for accounts that have no
//! password (made through a sign-in provider): the SSH key says who asks,
//! and the owner approves in a browser where they are signed in. The
//! command waits, asking now and then, until the link is approved or
//! expires; the approval is used once.

use twostep_core::UserId;

use super::mailed::{self as links, Holder, Purpose};
use super::Links;
use crate::gate::Action;
use crate::notify::Event;
use crate::signin::sudo::Proof;
use crate::{commit, AuthError, AuthService, Ctx, Result, SessionInfo};

/// How long the link (and the waiting command) lasts.
pub const SSH_CONFIRM_TTL: i64 = 10 * 60;
/// One mailed approval a minute at most, per account.
const MAIL_EVERY: i64 = 60;

pub use super::mailed::Approval;

impl AuthService {
    /// Uses an approval made for `user_id` and `what`: true once.
    pub(crate) async fn use_ssh_approval(
        &self,
        c: &mut twostep_store::Conn,
        handle: &str,
        user_id: &UserId,
        what: &str,
    ) -> Result<bool> {
        links::take_approved(c, handle, user_id, what, self.now()).await
    }
}

impl Links<'_> {
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
        if links::last_made(&mut tx, &user.id, Purpose::ApproveSsh, Some(what))
            .await?
            .is_some_and(|t| now - t < MAIL_EVERY)
        {
            return Err(AuthError::TooSoon(
                "A link was mailed less than a minute ago: approve that one, or try again in a minute.".into(),
            ));
        }
        let raw = links::issue(
            &mut tx,
            &user.id,
            Purpose::ApproveSsh,
            what,
            now,
            SSH_CONFIRM_TTL,
        )
        .await?;
        commit(tx).await?;
        let link = links::url(&self.settings().public_url, Purpose::ApproveSsh, &raw);
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
        Ok(links::hash(&raw))
    }

    pub async fn ssh_approval(&self, handle: &str) -> Result<Approval> {
        let mut c = self.store().conn().await?;
        links::approval(&mut c, handle, self.now()).await
    }

    /// What the mailed link asks to approve (for the page), if it is live
    /// and belongs to this session's user.
    pub async fn ssh_approval_request(&self, session: &SessionInfo, raw: &str) -> Result<String> {
        let mut c = self.store().conn().await?;
        let holder = Holder::Account(&session.user.id);
        let t = links::peek(&mut c, raw, Purpose::ApproveSsh, holder, self.now()).await?;
        Ok(t.subject)
    }

    /// The signed-in owner approves; the waiting command may go on (once).
    pub async fn approve_ssh(&self, session: &SessionInfo, raw: &str, ctx: &Ctx) -> Result<String> {
        self.allowed(Action::ApproveSshCommand, session, &Proof::None, None)
            .await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let holder = Holder::Account(&session.user.id);
        let what = links::redeem(&mut tx, raw, Purpose::ApproveSsh, holder, now)
            .await?
            .subject;
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
