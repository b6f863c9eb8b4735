//! Ending every credential of an account at once: a password reset, an
//! administrator's reset, a finished self-service recovery and "sign out
//! everywhere" all call `end_credentials`, so what dies together is decided
//! in one place (`twostep_store::credentials`).

use twostep_core::UnixTime;
use twostep_store::credentials::{self, Revoked};
use twostep_store::users::User;
use twostep_store::{app_passwords, oauth, Conn};

use super::Credentials;
use crate::gate::Action;
use crate::notify::Event;
use crate::signin::sudo::Proof;
use crate::{commit, Ctx, Result, SessionInfo};

/// What an account held before its credentials were ended, by name, so the
/// owner knows what to make again.
pub(crate) async fn held(c: &mut Conn, user: &User) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for a in app_passwords::for_user(&mut *c, &user.id).await? {
        out.push(format!("App password \"{}\" ({})", a.label, a.scopes));
    }
    for (g, app) in oauth::grants_of(&mut *c, &user.id).await? {
        if g.revoked_at.is_none() {
            out.push(format!("Application \"{app}\" ({})", g.scopes));
        }
    }
    Ok(out)
}

/// Ends every bearer credential of `user` (sessions but `keep`, app
/// passwords, OAuth grants and their tokens, mailed links in flight,
/// ceremonies) in the caller's transaction.
pub(crate) async fn end_credentials(
    c: &mut Conn,
    user: &User,
    now: UnixTime,
    keep: Option<&str>,
) -> Result<Revoked> {
    Ok(credentials::revoke_all(c, &user.id, now, keep).await?)
}

impl Credentials<'_> {
    /// Signs out every other session and ends every app password, OAuth
    /// grant and mailed link: for an owner who fears a credential leaked.
    pub async fn sign_out_everywhere(
        &self,
        session: &SessionInfo,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<Vec<String>> {
        let (mut tx, user) = self
            .begin_action(Action::SignOutEverywhere, session, proof, None, ctx)
            .await?;
        let now = self.now();
        let ended = held(&mut tx, &user).await?;
        end_credentials(&mut tx, &user, now, session.token_hash()).await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::SignedOutEverywhere,
            &format!("{} app passwords or applications", ended.len()),
            ctx,
        )
        .await?;
        commit(tx).await?;
        let list = if ended.is_empty() {
            String::new()
        } else {
            format!("\n\nThese stopped working:\n- {}", ended.join("\n- "))
        };
        self.notify(
            &user,
            "You signed out everywhere",
            &format!(
                "Every other session of your account was signed out, and its app passwords, \
                 authorised applications and mailed links were ended.{list}\n\n\
                 If this was not you, someone can confirm it is you on your account: reset your password now."
            ),
            ctx,
        )
        .await;
        Ok(ended)
    }
}
