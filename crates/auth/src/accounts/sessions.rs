//! The owner's sessions (ASVS 7.5.2): each signed-in session with its
//! browser, address, start and last use; ended one by one, or all but the
//! one in use. Ending a session protects the account, so it needs no fresh
//! proof; listing one names addresses, so it is for a browser session only.

use twostep_core::token::hmac_sha256;
use twostep_core::UnixTime;
use twostep_store::sessions;

use super::Accounts;
use crate::gate::Action;
use crate::notify::Event;
use crate::signin::browser;
use crate::signin::sudo::Proof;
use crate::{commit, AuthError, AuthService, Ctx, Result, SessionInfo};

/// A session as its owner's sessions page shows it.
#[derive(Debug, Clone)]
pub struct SessionEntry {
    /// Names the session in "end" requests; not the session's secret.
    pub handle: String,
    /// "Firefox 128 on Linux".
    pub browser: String,
    pub ip: String,
    pub created_at: UnixTime,
    pub last_seen_at: UnixTime,
    /// The session this page is looked at in.
    pub current: bool,
}

impl AuthService {
    /// The public name of a session: a keyed hash of its stored token hash.
    fn session_handle(&self, token_hash: &str) -> String {
        let mac = hmac_sha256(
            &self.keys().csrf,
            format!("session-handle|{token_hash}").as_bytes(),
        );
        data_encoding::HEXLOWER.encode(&mac[..12])
    }

    pub(crate) async fn session_entries(
        &self,
        c: &mut twostep_store::Conn,
        user_id: &twostep_core::UserId,
        current: Option<&str>,
    ) -> Result<Vec<SessionEntry>> {
        let now = self.now();
        let rows =
            sessions::list_for_user(c, user_id, now, now - self.settings().sessions.idle).await?;
        Ok(rows
            .into_iter()
            .map(|r| SessionEntry {
                handle: self.session_handle(&r.token_hash),
                browser: browser::described(
                    Some(&r.user_agent)
                        .filter(|u| !u.is_empty())
                        .map(String::as_str),
                ),
                ip: if r.ip.is_empty() {
                    "unknown".into()
                } else {
                    r.ip
                },
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
                current: current == Some(r.token_hash.as_str()),
            })
            .collect())
    }

    /// The stored token hash of the user's session named by `handle`.
    pub(crate) async fn session_by_handle(
        &self,
        c: &mut twostep_store::Conn,
        user_id: &twostep_core::UserId,
        handle: &str,
    ) -> Result<String> {
        let now = self.now();
        let rows =
            sessions::list_for_user(c, user_id, now, now - self.settings().sessions.idle).await?;
        rows.into_iter()
            .map(|r| r.token_hash)
            .find(|h| {
                bool::from(subtle::ConstantTimeEq::ct_eq(
                    self.session_handle(h).as_bytes(),
                    handle.as_bytes(),
                ))
            })
            .ok_or(AuthError::NotFound)
    }
}

impl Accounts<'_> {
    pub async fn sessions(&self, session: &SessionInfo) -> Result<Vec<SessionEntry>> {
        self.allowed(Action::ListSessions, session, &Proof::None, None)
            .await?;
        let mut c = self.store().conn().await?;
        self.session_entries(&mut c, &session.user.id, session.token_hash())
            .await
    }

    /// Ends one of the owner's other sessions.
    pub async fn end_session(&self, session: &SessionInfo, handle: &str, ctx: &Ctx) -> Result<()> {
        let (mut tx, user) = self
            .begin_action(Action::EndSession, session, &Proof::None, None, ctx)
            .await?;
        let hash = self.session_by_handle(&mut tx, &user.id, handle).await?;
        if Some(hash.as_str()) == session.token_hash() {
            return Err(AuthError::Conflict(
                "That is the session you are using: sign out instead.".into(),
            ));
        }
        sessions::delete_of_user(&mut tx, &user.id, &hash).await?;
        self.audit(
            &mut tx,
            &user.id,
            self.now(),
            Event::SessionEnded,
            "one session",
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.sessions_ended_mail(&user, "One of your sessions was ended", ctx);
        Ok(())
    }

    /// Ends every session of the owner but this one; how many ended.
    pub async fn end_other_sessions(&self, session: &SessionInfo, ctx: &Ctx) -> Result<u64> {
        let (mut tx, user) = self
            .begin_action(Action::EndSession, session, &Proof::None, None, ctx)
            .await?;
        let n = sessions::delete_for_user(&mut tx, &user.id, session.token_hash()).await?;
        self.audit(
            &mut tx,
            &user.id,
            self.now(),
            Event::SessionEnded,
            &format!("all others ({n})"),
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.sessions_ended_mail(&user, "Your other sessions were ended", ctx);
        Ok(n)
    }

    /// Every ending is mailed: a thief holding a copied cookie could end
    /// the owner's own sessions, and the owner must hear of it.
    fn sessions_ended_mail(&self, user: &twostep_store::users::User, subject: &str, ctx: &Ctx) {
        let what = format!(
            "{subject} from {} (a signed-in session of your account). If this was not you, \
             someone holds one of your sessions: sign in, end every other session at {}, and \
             change your password.",
            browser::described(ctx.user_agent.as_deref()),
            self.link("/account/sessions")
        );
        self.notify_later(user, subject, what, ctx);
    }
}
