//! The two-step lifecycle: checklist, setup by QR code, mailed confirmation,
//! recovery codes, replacing the device, turning it off.

use twostep_core::code::parse_totp;
use twostep_core::policy::SetupChecklist;
use twostep_core::recovery::RecoveryCode;
use twostep_core::UnixTime;
use twostep_core::UserId;
use twostep_core::{token, totp};
use twostep_store::{authenticators, recovery_codes, sessions, ssh_keys, users};

use super::Factors;
use crate::gate::Action;
use crate::links::mailed::{self as links, Holder, Purpose as LinkPurpose};
use crate::notify::Event;
use crate::signin::sudo::Proof;
use crate::{commit, rng, Account, AuthError, AuthService, Ctx, Result, SessionInfo};
use twostep_store::users::User;

const ENABLE_TTL: i64 = 3600;
const DEFAULT_NAME: &str = "Authenticator app";

#[derive(Debug, Clone)]
pub struct AuthenticatorSummary {
    pub id: String,
    pub name: String,
    pub activated_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
}

#[derive(Debug, Clone)]
pub struct TwoStepStatus {
    pub enabled_at: Option<UnixTime>,
    pub checklist: SetupChecklist,
    pub authenticators: Vec<AuthenticatorSummary>,
    pub recovery_codes_remaining: i64,
    /// A setup was started (and not finished): the QR code can be shown again.
    pub setup_in_progress: bool,
    /// A code was checked and the confirmation mail is out.
    pub awaiting_confirmation: bool,
    pub locked_until: Option<UnixTime>,
}

/// What an authenticator app needs: the QR code's URI, or Account and Key typed by hand.
#[derive(Debug, Clone)]
pub struct SetupInfo {
    pub authenticator_id: String,
    pub otpauth_uri: String,
    pub issuer: String,
    pub account: String,
    /// Base32, in groups of four.
    pub key: String,
    /// The name the new authenticator will have.
    pub name: String,
    pub purpose: SetupPurpose,
}

use twostep_core::lockout::LockState;
use twostep_store::authenticators::Purpose;

/// What finishing a setup does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupPurpose {
    /// The first authenticator: two-step turns on after the mailed link.
    Enable,
    /// A new device: every other authenticator is removed.
    Replace,
    /// One more authenticator next to the others.
    Add,
}

/// The table's action for starting or finishing a setup of this purpose.
fn setup_action(purpose: Purpose) -> Action {
    match purpose {
        Purpose::Enable => Action::SetUpTwoStep,
        Purpose::Replace => Action::ReplaceDevice,
        Purpose::Add => Action::AddAuthenticator,
    }
}

impl SetupPurpose {
    /// As the API names it: `enable`, `replace`, `add`.
    pub fn as_str(self) -> &'static str {
        match self {
            SetupPurpose::Enable => "enable",
            SetupPurpose::Replace => "replace",
            SetupPurpose::Add => "add",
        }
    }
}

impl From<Purpose> for SetupPurpose {
    fn from(p: Purpose) -> SetupPurpose {
        match p {
            Purpose::Enable => SetupPurpose::Enable,
            Purpose::Replace => SetupPurpose::Replace,
            Purpose::Add => SetupPurpose::Add,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum VerifyOutcome {
    /// Two-step turns on when the mailed link is followed.
    ConfirmationSent { email: String },
    /// The new app replaced the old one(s) at once.
    Replaced,
    /// The new authenticator works next to the others.
    Added,
}

impl AuthService {
    pub(crate) async fn begin_setup_for(
        &self,
        session: &SessionInfo,
        purpose: Purpose,
        name: &str,
        ctx: &Ctx,
    ) -> Result<SetupInfo> {
        // Replacing or adding needs the fresh proof the table asks of those
        // actions; the first authenticator needs none.
        let user = self
            .allowed(setup_action(purpose), session, &Proof::None, None)
            .await?;
        let now = self.now();
        let on = user.two_step_enabled_at.is_some();
        if on != (purpose != Purpose::Enable) {
            return Err(AuthError::Conflict(if on {
                "Two-step verification is on already. Add another authenticator or replace your device instead.".into()
            } else {
                "Two-step verification is off. Set it up first.".into()
            }));
        }
        if !on {
            let status = self.factors().two_step_status(&user.id).await?;
            if !status.checklist.ready() {
                return Err(AuthError::Forbidden(
                    "Finish the checklist first: a confirmed email address, a password (or a linked sign-in provider) and at least one SSH key.".into(),
                ));
            }
        }
        let id = token::new_id(&mut rng());
        let secret = totp::new_secret(&mut rng());
        let row = authenticators::Authenticator {
            id: id.clone(),
            user_id: user.id.clone(),
            name: name.to_string(),
            secret_enc: self.keys().seal(&mut rng(), &secret, id.as_bytes()),
            status: authenticators::Status::Pending,
            last_step: None,
            created_at: now,
            activated_at: None,
            last_used_at: None,
            purpose,
            drift: 0,
            resync_step: None,
            resync_at: None,
            hash: authenticators::Authenticator::APP_HASH.into(),
            digits: 6,
            period: 30,
        };
        let mut tx = self.store().begin().await?;
        authenticators::delete_inactive(&mut tx, &user.id, "").await?;
        authenticators::insert(&mut tx, &row).await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::TwoStepSetupStarted,
            name,
            ctx,
        )
        .await?;
        commit(tx).await?;
        Ok(self.setup_info(&user.username, &row, &secret))
    }

    fn setup_info(
        &self,
        username: &str,
        a: &authenticators::Authenticator,
        secret: &[u8],
    ) -> SetupInfo {
        let issuer = self.settings().issuer.clone();
        SetupInfo {
            authenticator_id: a.id.clone(),
            otpauth_uri: totp::otpauth_uri(&issuer, username, secret),
            issuer,
            account: username.to_string(),
            key: totp::secret_grouped(secret),
            name: a.name.clone(),
            purpose: a.purpose.into(),
        }
    }

    /// The first second factor is in place (`subject`: the authenticator
    /// or security key): commits `tx` with the link that turns two-step on,
    /// then mails it. `ready` says what is ready, as the mail's first line.
    pub(crate) async fn mail_enable_confirmation(
        &self,
        mut tx: twostep_store::Tx,
        user: &User,
        subject: &str,
        ready: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        let now = self.now();
        let link = self
            .new_link(
                &mut tx,
                &user.id,
                LinkPurpose::EnableTwoStep,
                subject,
                now,
                ENABLE_TTL,
            )
            .await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::TwoStepConfirmationSent,
            &user.email,
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.send_link_mail(
            &user.email,
            &user.username,
            "Confirm turning on two-step verification",
            &format!(
                "{ready} To turn on two-step verification, open this link \
                 within one hour, signed in as {}:\n\n{link}\n\n\
                 You will then see your recovery codes: save them.\n\
                 If you did not ask for this, change your password.",
                user.username
            ),
        )
        .await
    }

    async fn require_on(&self, user_id: &UserId) -> Result<User> {
        let user = self.user_row(user_id).await?;
        if user.two_step_enabled_at.is_none() {
            return Err(AuthError::Conflict(
                "Two-step verification is off for this account.".into(),
            ));
        }
        Ok(user)
    }
}

impl Factors<'_> {
    pub async fn two_step_status(&self, user_id: &UserId) -> Result<TwoStepStatus> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let user = users::by_id(&mut c, user_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        let all = authenticators::for_user(&mut c, &user.id).await?;
        let checklist = SetupChecklist {
            email_confirmed: user.email_confirmed_at.is_some(),
            // An account made through a provider signs in there instead.
            password_set: user.password_hash.is_some()
                || !twostep_store::identities::for_user(&mut c, &user.id)
                    .await?
                    .is_empty(),
            has_ssh_key: ssh_keys::count_for_user(&mut c, &user.id).await? > 0,
        };
        Ok(TwoStepStatus {
            enabled_at: user.two_step_enabled_at,
            checklist,
            authenticators: all
                .iter()
                .filter(|a| a.status == authenticators::Status::Active)
                .map(|a| AuthenticatorSummary {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    activated_at: a.activated_at,
                    last_used_at: a.last_used_at,
                })
                .collect(),
            recovery_codes_remaining: recovery_codes::remaining(&mut c, &user.id).await?,
            setup_in_progress: all
                .iter()
                .any(|a| a.status == authenticators::Status::Pending),
            awaiting_confirmation: all
                .iter()
                .any(|a| a.status == authenticators::Status::Verified),
            // A lock still running is shown, frozen or not.
            locked_until: match LockState::of(user.second_step_locked_until, None, now) {
                LockState::Locked { until } => Some(until),
                _ => None,
            },
        })
    }

    /// Starts a setup with a new 160-bit secret (any earlier unfinished setup
    /// is dropped): the first authenticator while two-step is off, a
    /// replacement of every authenticator while it is on (in sudo mode).
    pub async fn begin_setup(&self, session: &SessionInfo, ctx: &Ctx) -> Result<SetupInfo> {
        let on = session.user.two_step_on();
        let purpose = if on {
            Purpose::Replace
        } else {
            Purpose::Enable
        };
        self.begin_setup_for(session, purpose, DEFAULT_NAME, ctx)
            .await
    }

    /// The setup in progress, to show its QR code again.
    pub async fn current_setup(&self, user: &Account) -> Result<Option<SetupInfo>> {
        let mut c = self.store().conn().await?;
        let pending = authenticators::for_user(&mut c, &user.id)
            .await?
            .into_iter()
            .rfind(|a| a.status == authenticators::Status::Pending);
        let Some(a) = pending else { return Ok(None) };
        let secret = self.open_secret(&a)?;
        Ok(Some(self.setup_info(&user.username, &a, &secret)))
    }

    /// Checks the first code from the new app.
    pub async fn verify_setup(
        &self,
        session: &SessionInfo,
        code: &str,
        ctx: &Ctx,
    ) -> Result<VerifyOutcome> {
        self.allowed(Action::SetUpTwoStep, session, &Proof::None, None)
            .await?;
        let now = self.now();
        let code = parse_totp(code)
            .map_err(|e| AuthError::invalid("malformed_code", "code", e.to_string()))?;
        // Finishing a replacement or an addition needs the fresh proof its
        // start needed (it may have expired since). Asked before the
        // transaction: the gate reads with a connection of its own.
        let pending = |user: &users::User, all: Vec<authenticators::Authenticator>| {
            let on = user.two_step_enabled_at.is_some();
            all.into_iter()
                .rfind(|a| {
                    a.status == authenticators::Status::Pending
                        && (a.purpose != Purpose::Enable) == on
                })
                .ok_or_else(|| {
                    AuthError::Conflict("No setup is in progress. Start the setup again.".into())
                })
        };
        let user = self.user_row(&session.user.id).await?;
        let mut c = self.store().conn().await?;
        let first = pending(&user, authenticators::for_user(&mut c, &user.id).await?)?;
        drop(c);
        if first.purpose != Purpose::Enable {
            self.allowed(setup_action(first.purpose), session, &Proof::None, None)
                .await?;
        }
        // Read again in the transaction that acts: the same setup, or none.
        let mut tx = self.store().begin().await?;
        let user = users::by_id(&mut tx, &session.user.id)
            .await?
            .ok_or(AuthError::NotFound)?;
        let a = pending(&user, authenticators::for_user(&mut tx, &user.id).await?)?;
        if a.id != first.id {
            return Err(AuthError::Conflict(
                "The setup changed meanwhile. Start the setup again.".into(),
            ));
        }
        let secret = self.open_secret(&a)?;
        let last = a.last_step.and_then(|s| u64::try_from(s).ok());
        let step = totp::verify(&secret, &code, now, last).map_err(|_| {
            AuthError::invalid(
                "wrong_code",
                "code",
                "That code does not match. Check that the key was entered exactly and that your phone sets its clock automatically, then enter the newest code.",
            )
        })?;
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        if !authenticators::advance_step(&mut tx, &a.id, step, None, now).await? {
            return Err(AuthError::invalid(
                "code_used",
                "code",
                "That code was used already. Wait for the next one.",
            ));
        }
        match a.purpose {
            Purpose::Replace => {
                authenticators::set_status(&mut tx, &a.id, authenticators::Status::Active, now)
                    .await?;
                let old = authenticators::for_user(&mut tx, &user.id).await?;
                for o in old.iter().filter(|o| o.id != a.id) {
                    authenticators::delete(&mut tx, &user.id, &o.id).await?;
                }
                if let Some(hash) = session.token_hash() {
                    sessions::end_sudo(&mut tx, hash).await?;
                }
                self.audit(
                    &mut tx,
                    &user.id,
                    now,
                    Event::AuthenticatorReplaced,
                    "",
                    ctx,
                )
                .await?;
                commit(tx).await?;
                self.notify(&user, "Your authenticator app was replaced", "A new authenticator app was set up for two-step verification; codes from the old one no longer work.", ctx).await;
                return Ok(VerifyOutcome::Replaced);
            }
            Purpose::Add => {
                authenticators::set_status(&mut tx, &a.id, authenticators::Status::Active, now)
                    .await?;
                self.audit(
                    &mut tx,
                    &user.id,
                    now,
                    Event::AuthenticatorAdded,
                    &a.name,
                    ctx,
                )
                .await?;
                commit(tx).await?;
                let what = format!(
                    "An authenticator named \"{}\" was added to your account. Codes from it and from your other authenticators now work.",
                    a.name
                );
                self.notify(&user, "An authenticator was added", &what, ctx)
                    .await;
                return Ok(VerifyOutcome::Added);
            }
            Purpose::Enable => {}
        }
        authenticators::set_status(&mut tx, &a.id, authenticators::Status::Verified, now).await?;
        self.mail_enable_confirmation(tx, &user, &a.id, "Your authenticator app is ready.", ctx)
            .await?;
        Ok(VerifyOutcome::ConfirmationSent {
            email: user.email.clone(),
        })
    }

    /// Follows the mailed link: turns two-step on and returns the recovery codes (shown once).
    pub async fn confirm_two_step(
        &self,
        session: &SessionInfo,
        raw_token: &str,
        ctx: &Ctx,
    ) -> Result<Vec<RecoveryCode>> {
        self.allowed(Action::SetUpTwoStep, session, &Proof::None, None)
            .await?;
        let fresh = self.fresh_recovery_codes().await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let t = links::redeem(
            &mut tx,
            raw_token,
            LinkPurpose::EnableTwoStep,
            Holder::Account(&session.user.id),
            now,
        )
        .await?;
        let user = users::by_id(&mut tx, &t.user_id)
            .await?
            .ok_or(AuthError::LinkInvalid)?;
        if user.two_step_enabled_at.is_some() {
            return Err(AuthError::Conflict(
                "Two-step verification is on already.".into(),
            ));
        }
        // The link names the first factor: an authenticator checked with a
        // code, or a security key or passkey registered while two-step was off.
        match authenticators::get(&mut tx, &user.id, &t.subject)
            .await?
            .filter(|a| a.status == authenticators::Status::Verified)
        {
            Some(a) => {
                authenticators::set_status(&mut tx, &a.id, authenticators::Status::Active, now)
                    .await?;
                authenticators::delete_inactive(&mut tx, &user.id, &a.id).await?;
            }
            None => {
                twostep_store::security_keys::for_user(&mut tx, &user.id)
                    .await?
                    .iter()
                    .find(|k| k.id == t.subject)
                    .ok_or(AuthError::LinkInvalid)?;
                authenticators::delete_inactive(&mut tx, &user.id, "").await?;
            }
        }
        // Keys registered while two-step was off whose link was not the one
        // opened go: only the confirmed factor turns on with it (a key
        // planted by someone else while it was off never becomes live).
        for k in twostep_store::security_keys::for_user(&mut tx, &user.id).await? {
            if k.id != t.subject {
                twostep_store::security_keys::delete(&mut tx, &user.id, &k.id).await?;
            }
        }
        users::set_two_step(&mut tx, &user.id, Some(now)).await?;
        let codes = self
            .new_recovery_codes(&mut tx, &user.id, fresh, session.token_hash(), now)
            .await?;
        // Sessions opened with the password alone end here, and this one's
        // sudo window (opened with the password) closes: from now on a
        // proof includes a second factor.
        sessions::delete_for_user(&mut tx, &user.id, session.token_hash()).await?;
        if let Some(hash) = session.token_hash() {
            sessions::end_sudo(&mut tx, hash).await?;
        }
        self.audit(&mut tx, &user.id, now, Event::TwoStepEnabled, "", ctx)
            .await?;
        commit(tx).await?;
        self.notify(&user, "Two-step verification is on", "Two-step verification was turned on for your account. Signing in now needs your second factor (a code from your authenticator app, your security key or passkey) or a recovery code. Other sessions were signed out.", ctx).await;
        Ok(codes)
    }

    /// New recovery codes (old ones stop working), after a fresh second factor.
    pub async fn regenerate_recovery_codes(
        &self,
        session: &SessionInfo,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<Vec<RecoveryCode>> {
        self.require_on(&session.user.id).await?;
        let (tx, user) = self
            .begin_action(Action::NewRecoveryCodes, session, proof, None, ctx)
            .await?;
        // The proof first, then the hashes, outside any transaction.
        commit(tx).await?;
        let fresh = self.fresh_recovery_codes().await?;
        let mut tx = self.store().begin().await?;
        let now = self.now();
        let codes = self
            .new_recovery_codes(&mut tx, &user.id, fresh, session.token_hash(), now)
            .await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::RecoveryCodesRegenerated,
            "",
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.notify(
            &user,
            "New recovery codes were generated",
            "New recovery codes were generated for your account; the previous ones no longer work.",
            ctx,
        )
        .await;
        Ok(codes)
    }

    /// Confirms a current code, then starts the setup of the new device.
    pub async fn start_replace(
        &self,
        session: &SessionInfo,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<SetupInfo> {
        self.require_on(&session.user.id).await?;
        let (tx, _) = self
            .begin_action(Action::ReplaceDevice, session, proof, None, ctx)
            .await?;
        commit(tx).await?;
        let fresh = self.fresh_session(session).await?;
        self.begin_setup(&fresh, ctx).await
    }

    /// Turns two-step off after a fresh second factor; authenticators and codes are deleted.
    pub async fn disable_two_step(
        &self,
        session: &SessionInfo,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<()> {
        self.require_on(&session.user.id).await?;
        let (mut tx, user) = self
            .begin_action(Action::DisableTwoStep, session, proof, None, ctx)
            .await?;
        let now = self.now();
        users::set_two_step(&mut tx, &user.id, None).await?;
        authenticators::delete_all(&mut tx, &user.id).await?;
        recovery_codes::delete_all(&mut tx, &user.id).await?;
        twostep_store::security_keys::delete_all(&mut tx, &user.id).await?;
        self.audit(&mut tx, &user.id, now, Event::TwoStepDisabled, "", ctx)
            .await?;
        commit(tx).await?;
        self.notify(&user, "Two-step verification is off", "Two-step verification was turned off for your account. Signing in now needs only your password. If this was not you, change your password and turn it back on.", ctx).await;
        Ok(())
    }
}
