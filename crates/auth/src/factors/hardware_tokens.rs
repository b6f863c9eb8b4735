//! Hardware OATH tokens whose seeds come from the vendor as a PSKC file:
//! imported into an inventory by serial number (the server's command line),
//! then assigned to a user by an administrator or claimed by the user with
//! its serial number and two consecutive codes. Either way it becomes one of
//! the user's authenticators (SHA-1 or SHA-256, 6 or 8 digits, 30 or 60 s).

use twostep_core::drift;
use twostep_core::pskc::{self, PskcKey, Unlock};
use twostep_core::totp::{Hash, Params};
use twostep_core::{token, UnixTime};
use twostep_store::hardware_tokens::{self as inventory, Token};
use twostep_store::users::User;
use twostep_store::{authenticators, Conn};

use super::Factors;
use crate::admin::users::{Act, Actor, AdminAction};
use crate::factors::devices::MAX_AUTHENTICATORS;
use crate::gate::Action;
use crate::notify::Event;
use crate::Failure;
use crate::{commit, rng, AuthError, AuthService, Ctx, Proof, Result, SessionInfo};

/// Rows written per transaction while importing.
const BATCH: usize = 500;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: usize,
    /// Serial numbers in the inventory already (left as they were).
    pub duplicates: usize,
    /// Keys that are not usable TOTP tokens, with why (serial: reason).
    pub skipped: Vec<String>,
}

fn context(serial: &str) -> Vec<u8> {
    format!("token:{serial}").into_bytes()
}

/// Why a key from a file cannot be a sign-in token, if it cannot.
fn unusable(k: &PskcKey) -> Option<String> {
    if k.algorithm != pskc::TOTP {
        return Some(format!("{}: not a TOTP key ({})", k.serial, k.algorithm));
    }
    if k.digits != 6 && k.digits != 8 {
        return Some(format!(
            "{}: {} digits (6 or 8 are supported)",
            k.serial, k.digits
        ));
    }
    if k.period != 30 && k.period != 60 {
        return Some(format!(
            "{}: a {} s step (30 or 60 are supported)",
            k.serial, k.period
        ));
    }
    if k.hash == Hash::Sha512 {
        return Some(format!(
            "{}: SHA-512 (SHA-1 and SHA-256 are supported)",
            k.serial
        ));
    }
    if !(10..=64).contains(&k.secret.len()) {
        return Some(format!("{}: a {}-byte seed", k.serial, k.secret.len()));
    }
    None
}

fn params_of(t: &Token) -> Result<Params> {
    crate::factors::totp::stored_params(&t.hash, t.digits, t.period)
}

impl AuthService {
    /// Makes an unassigned token one of `user`'s authenticators, in `c`.
    async fn attach_token(
        &self,
        c: &mut Conn,
        token: &Token,
        user: &User,
        last_step: Option<u64>,
        drift: i64,
        now: UnixTime,
    ) -> Result<()> {
        if token.assigned_to.is_some() {
            return Err(AuthError::Conflict(format!(
                "The token {} is assigned to an account already.",
                token.serial
            )));
        }
        if user.two_step_enabled_at.is_none() {
            return Err(AuthError::Conflict(format!(
                "Two-step verification is off for {}: turn it on first (with an app), then add the token.",
                user.username
            )));
        }
        let active = authenticators::for_user(c, &user.id)
            .await?
            .into_iter()
            .filter(|a| a.status == authenticators::Status::Active)
            .count();
        if active >= MAX_AUTHENTICATORS {
            return Err(AuthError::Conflict(format!(
                "An account can have at most {MAX_AUTHENTICATORS} authenticators."
            )));
        }
        let seed = self.open_seed(token)?;
        let id = token::new_id(&mut rng());
        let row = authenticators::Authenticator {
            id: id.clone(),
            user_id: user.id.clone(),
            name: format!("Token {}", token.serial),
            secret_enc: self.keys().seal(&mut rng(), &seed, id.as_bytes()),
            status: authenticators::Status::Active,
            last_step: last_step.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
            created_at: now,
            activated_at: Some(now),
            last_used_at: None,
            purpose: authenticators::Purpose::Add,
            drift,
            resync_step: None,
            resync_at: None,
            hash: token.hash.clone(),
            digits: token.digits,
            period: token.period,
        };
        authenticators::insert(c, &row).await?;
        if !inventory::assign(c, &token.serial, &user.id, &id, now).await? {
            return Err(AuthError::Conflict(format!(
                "The token {} was just assigned to another account.",
                token.serial
            )));
        }
        Ok(())
    }

    fn open_seed(&self, token: &Token) -> Result<Vec<u8>> {
        self.keys()
            .open(&token.secret_enc, &context(&token.serial))
            .map_err(|e| Failure::Sealed(format!("token {}", token.serial), e).into())
    }

    async fn token_in(&self, c: &mut Conn, serial: &str) -> Result<Token> {
        let serial = serial.trim();
        if serial.is_empty() || serial.len() > 64 {
            return Err(AuthError::invalid(
                "unknown_token",
                "serial",
                "Type the serial number printed on the token.",
            ));
        }
        inventory::by_serial(c, serial).await?.ok_or_else(|| {
            AuthError::invalid(
                "unknown_token",
                "serial",
                format!("No token with the serial number {serial} was imported."),
            )
        })
    }
}

impl Factors<'_> {
    /// Reads a PSKC file into the inventory. `progress(done, total)` is told
    /// as rows are written (for a progress bar).
    pub async fn import_tokens(
        &self,
        source: &str,
        xml: &str,
        unlock: &Unlock,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<ImportReport> {
        let keys = pskc::parse(xml, unlock, |_| {})
            .map_err(|e| AuthError::invalid("invalid_pskc", "file", e.to_string()))?;
        let total = keys.len();
        let now = self.now();
        let mut report = ImportReport::default();
        for (n, batch) in keys.chunks(BATCH).enumerate() {
            let mut tx = self.store().begin().await?;
            for k in batch {
                if let Some(why) = unusable(k) {
                    report.skipped.push(why);
                    continue;
                }
                let row = Token {
                    serial: k.serial.clone(),
                    manufacturer: k.manufacturer.chars().take(100).collect(),
                    secret_enc: self.keys().seal(&mut rng(), &k.secret, &context(&k.serial)),
                    hash: k.hash.as_str().into(),
                    digits: k.digits as i64,
                    period: k.period as i64,
                    imported_at: now,
                    assigned_to: None,
                    assigned_at: None,
                };
                if inventory::insert(&mut tx, &row).await? {
                    report.imported += 1;
                } else {
                    report.duplicates += 1;
                }
            }
            commit(tx).await?;
            progress(((n + 1) * BATCH).min(total), total);
        }
        tracing::info!(
            imported = report.imported,
            duplicates = report.duplicates,
            skipped = report.skipped.len(),
            "hardware tokens imported"
        );
        // Who brought which seeds in: the admin audit log keeps it.
        let summary = format!(
            "{source}: {} imported, {} in the inventory already, {} skipped",
            report.imported,
            report.duplicates,
            report.skipped.len()
        );
        let mut tx = self.store().begin().await?;
        twostep_store::admin::append(
            &mut tx,
            twostep_store::admin::NewAuditEntry {
                at: now,
                actor_id: None,
                actor: "the server's command line",
                target_id: None,
                target: "hardware token inventory",
                action: AdminAction::TokensImported.as_str(),
                reason: &summary,
                channel: "cli",
                ip: "local",
            },
        )
        .await?;
        commit(tx).await?;
        Ok(report)
    }

    /// (in the inventory, not yet assigned).
    pub async fn token_counts(&self) -> Result<(i64, i64)> {
        let mut c = self.store().conn().await?;
        Ok(inventory::counts(&mut c).await?)
    }

    /// An administrator (or the command line) gives a token to a user.
    pub async fn assign_token(
        &self,
        actor: &Actor<'_>,
        serial: &str,
        username: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        let (mut tx, acting) = self.admin_tx(actor, Action::AdminAct, ctx).await?;
        let user = self.target_user(&mut tx, username).await?;
        twostep_store::users::lock_row(&mut tx, &user.id).await?;
        // Whoever handled the seed file could sign in as its holder: an
        // administrator's token comes from the operator or their own claim.
        let facts = self.admin_facts(&mut tx, &user.id).await?;
        if acting.id.is_some() && twostep_core::two_person::protected(&facts) {
            return Err(AuthError::Forbidden(format!(
                "{} is (or was) an administrator: a token is given to them only on the server's command line (`twostep admin assign-token`), or they claim it themselves with two codes.",
                user.username
            )));
        }
        let token = self.token_in(&mut tx, serial).await?;
        let now = self.now();
        self.attach_token(&mut tx, &token, &user, None, 0, now)
            .await?;
        let what = format!("hardware token {}", token.serial);
        self.record_admin_action(
            &mut tx,
            &Act {
                acting: &acting,
                now,
                ctx,
            },
            &user,
            AdminAction::TokenAssigned,
            &what,
            Event::AuthenticatorAdded,
            &format!("{what}, by {}", acting.name),
        )
        .await?;
        commit(tx).await?;
        self.notify(
            &user,
            "A hardware token was added to your account",
            &format!(
                "The hardware token with serial number {} is now one of your authenticators: its codes sign you in.",
                token.serial
            ),
            ctx,
        )
        .await;
        Ok(())
    }

    /// The user claims a token by its serial number and two consecutive
    /// codes, after a fresh factor (sudo); wrong codes count as guesses.
    pub async fn claim_token(
        &self,
        session: &SessionInfo,
        serial: &str,
        first: &str,
        second: &str,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<()> {
        let digits = |c: &str| -> String { c.chars().filter(char::is_ascii_digit).collect() };
        let (first, second) = (digits(first), digits(second));
        let (tx, user) = self
            .begin_action(Action::ClaimHardwareToken, session, proof, None, ctx)
            .await?;
        commit(tx).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // Wrong codes count toward the account's lock like any second factor.
        let user = match self.second_step_gate(&mut tx, &user.id, now).await? {
            Ok(u) => u,
            Err(refusal) => return self.refuse(tx, &user, refusal, ctx).await,
        };
        let token = self.token_in(&mut tx, serial).await?;
        if token.assigned_to.is_some() {
            return Err(AuthError::invalid(
                "token_taken",
                "serial",
                "That token is in use on an account already.",
            ));
        }
        let seed = self.open_seed(&token)?;
        let Some((step, drift)) =
            drift::consecutive(&seed, &params_of(&token)?, &first, &second, now)
        else {
            let refusal = self
                .count_failure(
                    &mut tx,
                    &user,
                    now,
                    ctx,
                    "Those are not two consecutive codes of that token. Press its button twice and type both codes in order.",
                )
                .await?;
            return self.refuse(tx, &user, refusal, ctx).await;
        };
        self.attach_token(&mut tx, &token, &user, Some(step), drift, now)
            .await?;
        let detail = format!("hardware token {} claimed", token.serial);
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::AuthenticatorAdded,
            &detail,
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.notify(
            &user,
            "A hardware token was added to your account",
            &format!(
                "The hardware token {} is now one of your authenticators.",
                token.serial
            ),
            ctx,
        )
        .await;
        Ok(())
    }
}
