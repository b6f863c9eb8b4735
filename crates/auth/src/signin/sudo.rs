//! Sudo mode, GitHub's model: every security change (adding or removing a
//! security key, an SSH key or an app password, new recovery codes, replacing
//! the device, turning two-step off) needs a proof made on this session within
//! the last `SUDO_TTL`: a code or recovery code while two-step is on (or a
//! security key registered before this session began), the account password
//! while it is off. A stolen session cookie alone changes nothing.
//!
//! The gate (`gate::begin_action`) asks for a fresh proof where the
//! requirement table says so; `prove` checks it here, once, for pages, API
//! and SSH.

use twostep_core::UnixTime;
use twostep_store::{sessions, Tx};

use super::SignIn;
use crate::factors::check::{FactorCheck, FactorUsed};
use crate::gate::{proof_opens_sudo, Action, ProofKind, WayIn, WeakProof};
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
    /// Verifies `proof` for a session not in sudo mode and opens the window:
    /// the proof must be as strong as the account's own sign-in
    /// (`gate::proof_opens_sudo`). A wrong proof is counted and refused.
    pub(crate) async fn prove(
        &self,
        session: &SessionInfo,
        user: User,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<(Tx, User)> {
        let two_step_on = user.two_step_enabled_at.is_some();
        let way = WayIn {
            two_step_on,
            has_password: user.password_hash.is_some(),
        };
        let kind = match proof {
            Proof::None => return Err(AuthError::SudoRequired { two_step_on }),
            Proof::Code(_) => ProofKind::SecondFactor,
            Proof::Password(_) => ProofKind::Password,
        };
        proof_opens_sudo(way, kind).map_err(weak_proof)?;
        let now = self.now();
        match proof {
            Proof::Password(pw) => {
                self.check_password(&user, pw, ctx).await?;
                let mut tx = self.store().begin().await?;
                self.open_sudo(&mut tx, session, &user, "password", now, ctx)
                    .await?;
                Ok((tx, user))
            }
            Proof::Code(code) => {
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
                        Ok((self.store().begin().await?, user))
                    }
                    FactorCheck::Refused(r) => self.refuse(tx, &user, r, ctx).await,
                }
            }
            Proof::None => Err(AuthError::SudoRequired { two_step_on }),
        }
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
}

impl SignIn<'_> {
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
        self.admit(Action::ConfirmIdentity, Some(session), None, true)
            .await?;
        let user = self.user_row(&session.user.id).await?;
        let (tx, _) = self.prove(&fresh, user, proof, ctx).await?;
        commit(tx).await?;
        Ok(self.now() + SUDO_TTL)
    }

    /// Whether this session may change security settings without a proof now.
    pub fn in_sudo(&self, session: &SessionInfo) -> bool {
        sudo_open(session, self.now())
    }
}

/// What to ask for instead of a proof too weak for this account.
pub(crate) fn weak_proof(w: WeakProof) -> AuthError {
    match w {
        WeakProof::SecondFactorNeeded => AuthError::invalid(
            "code_required",
            "code",
            "Two-step verification is on: confirm with a code from your authenticator app, a recovery code, or a security key.",
        ),
        WeakProof::PasswordNeeded => AuthError::invalid(
            "password_required",
            "password",
            "Two-step verification is off: confirm with your account password.",
        ),
        WeakProof::ProviderNeeded => AuthError::invalid(
            "provider_required",
            "",
            "This account has no password: confirm by signing in at your sign-in provider again.",
        ),
        WeakProof::KeyTooNew => AuthError::Forbidden(
            "A security key added during this session cannot confirm it is you: use a code, a recovery code, or a key you added before signing in.".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forms_fields_make_one_proof_the_code_first() {
        assert!(Proof::from_fields(Some("123 456"), Some("pw")) == Proof::Code("123 456".into()));
        assert!(Proof::from_fields(Some("  "), Some("pw")) == Proof::Password("pw".into()));
        assert!(Proof::from_fields(None, Some("")) == Proof::None);
    }
}
