//! Sudo mode, GitHub's model: every security change (adding or removing a
//! security key, an SSH key or an app password, new recovery codes, replacing
//! the device, turning two-step off) needs a proof made on this session within
//! the last `SUDO_TTL`: a code or recovery code while two-step is on (or a
//! security key registered before this session began), the account password
//! while it is off. A stolen session cookie alone changes nothing.
//!
//! `begin_security_change` is the one gate; pages, API and SSH go through it.

use twostep_core::UnixTime;
use twostep_store::{sessions, Tx};

use crate::factor::{FactorCheck, FactorUsed};
use crate::notify::Event;
use crate::{commit, AuthError, AuthService, Ctx, Result, SessionInfo};
use twostep_store::users::User;

/// How long a proof lets security settings change.
pub(crate) const SUDO_TTL: i64 = 10 * 60;

/// What the person typed to confirm it is them, if anything.
#[derive(Clone, PartialEq, Eq)]
pub enum Proof {
    None,
    /// A TOTP code or a recovery code.
    Code(String),
    Password(String),
}

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Proof::None => "Proof::None",
            Proof::Code(_) => "Proof::Code(..)",
            Proof::Password(_) => "Proof::Password(..)",
        })
    }
}

impl Proof {
    /// From optional form or JSON fields; blank ones count as absent.
    pub fn from_fields(code: Option<&str>, password: Option<&str>) -> Proof {
        let present = |v: Option<&str>| v.filter(|s| !s.trim().is_empty()).map(str::to_string);
        match (present(code), present(password)) {
            (Some(c), _) => Proof::Code(c),
            (None, Some(p)) => Proof::Password(p),
            (None, None) => Proof::None,
        }
    }
}

pub(crate) fn sudo_open(s: &SessionInfo, now: UnixTime) -> bool {
    s.sudo_until.is_some_and(|u| u > now)
}

impl AuthService {
    /// Opens the transaction of a security change once the session is in sudo
    /// mode, or `proof` puts it there (the window opens in the same
    /// transaction). A wrong proof is counted and refused.
    pub(crate) async fn begin_security_change(
        &self,
        session: &SessionInfo,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<(Tx, User)> {
        crate::app_passwords::require_full_session(session)?;
        let user = self.user_row(&session.user.id).await?;
        let two_step_on = user.two_step_enabled_at.is_some();
        let now = self.now();
        let how = match (proof, two_step_on) {
            (Proof::None, _) if sudo_open(session, now) => {
                return Ok((self.store().begin().await?, user));
            }
            (Proof::None, _) => return Err(AuthError::SudoRequired { two_step_on }),
            (Proof::Code(_), false) => {
                return Err(AuthError::invalid(
                    "password_required",
                    "password",
                    "Two-step verification is off: confirm with your account password.",
                ))
            }
            (Proof::Password(_), true) => {
                return Err(AuthError::invalid(
                    "code_required",
                    "code",
                    "Two-step verification is on: confirm with a code from your authenticator app, a recovery code, or a security key.",
                ))
            }
            (Proof::Password(pw), false) => {
                self.check_password(Some(&user), pw, ctx).await?;
                "password"
            }
            (Proof::Code(code), true) => {
                let mut tx = self.store().begin().await?;
                match self.check_factor(&mut tx, &user.id, code, now, ctx).await? {
                    FactorCheck::Passed(used) => {
                        // The proof and the window commit on their own: a
                        // change refused later keeps the window open.
                        self.open_sudo(&mut tx, session, &user, "code", now, ctx)
                            .await?;
                        commit(tx).await?;
                        if let FactorUsed::RecoveryCode { remaining } = used {
                            self.recovery_code_used_mail(
                                &user,
                                "A recovery code was used to confirm a security change on your account.",
                                remaining,
                                ctx,
                            )
                            .await;
                        }
                        return Ok((self.store().begin().await?, user));
                    }
                    FactorCheck::Refused(r) => return self.refuse(tx, &user, r, ctx).await,
                }
            }
        };
        let mut tx = self.store().begin().await?;
        self.open_sudo(&mut tx, session, &user, how, now, ctx)
            .await?;
        Ok((tx, user))
    }

    pub(crate) async fn open_sudo(
        &self,
        c: &mut twostep_store::Conn,
        session: &SessionInfo,
        user: &User,
        how: &str,
        now: UnixTime,
        ctx: &Ctx,
    ) -> Result<()> {
        // HTTP Basic callers have no session to keep a window in.
        if let Some(hash) = session.token_hash() {
            sessions::set_sudo(&mut *c, hash, now + SUDO_TTL).await?;
        }
        self.audit(c, &user.id, now, Event::SudoOpened, how, ctx)
            .await
    }

    /// Confirms it is the owner (the page's "confirm" form, `POST
    /// /api/v1/session/sudo`): security changes need no further proof for
    /// `SUDO_TTL` on this session.
    pub async fn confirm_identity(
        &self,
        session: &SessionInfo,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<UnixTime> {
        if *proof == Proof::None {
            let two_step_on = session.user.two_step_enabled_at.is_some();
            return Err(AuthError::SudoRequired { two_step_on });
        }
        let fresh = SessionInfo {
            sudo_until: None,
            ..session.clone()
        };
        let (tx, _) = self.begin_security_change(&fresh, proof, ctx).await?;
        commit(tx).await?;
        Ok(self.now() + SUDO_TTL)
    }

    /// Whether this session may change security settings without a proof now.
    pub fn in_sudo(&self, session: &SessionInfo) -> bool {
        sudo_open(session, self.now())
    }
}
