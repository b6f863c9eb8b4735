//! Several second factors per account: more authenticators next to the
//! first (a second phone, a hardware TOTP token), and removal with the rule
//! that while two-step is on the last second factor stays.

use twostep_store::{authenticators, security_keys, users, Conn};

use super::Factors;
use crate::factors::two_step::SetupInfo;
use crate::gate::Action;
use crate::notify::Event;
use crate::signin::sudo::Proof;
use crate::{commit, AuthError, Ctx, Result, SessionInfo};
use twostep_core::UserId;

/// More would only be a place to hide one an intruder added.
pub const MAX_AUTHENTICATORS: usize = 10;
const MAX_NAME: usize = 60;

/// Authenticators in use plus security keys. Takes the account's row, so
/// two removals at once cannot both see a factor to spare.
pub(crate) async fn second_factors(c: &mut Conn, user_id: &UserId) -> Result<usize> {
    users::lock_row(c, user_id).await?;
    let apps = authenticators::for_user(c, user_id)
        .await?
        .into_iter()
        .filter(|a| a.status == authenticators::Status::Active)
        .count();
    let keys = security_keys::for_user(c, user_id).await?.len();
    Ok(apps + keys)
}

pub(crate) const LAST_FACTOR: &str = "This is the last second factor on your account: without it nobody could sign in. Add another authenticator or security key first, or turn two-step verification off instead.";

fn authenticator_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AuthError::invalid(
            "invalid_name",
            "name",
            "Give the authenticator a name, like \"work phone\" or \"blue token\".",
        ));
    }
    if name.chars().count() > MAX_NAME {
        return Err(AuthError::invalid(
            "invalid_name",
            "name",
            format!("A name has at most {MAX_NAME} characters."),
        ));
    }
    Ok(name.to_string())
}

impl Factors<'_> {
    /// Confirms a current factor, then starts the setup of one more
    /// authenticator (an app on another phone, or a hardware token
    /// programmed from the same QR code).
    pub async fn start_add_authenticator(
        &self,
        session: &SessionInfo,
        name: &str,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<SetupInfo> {
        let name = authenticator_name(name)?;
        if !session.user.two_step_on() {
            return Err(AuthError::Conflict(
                "Two-step verification is off. Set it up first; you can add more authenticators afterwards.".into(),
            ));
        }
        let (mut tx, user) = self
            .begin_action(Action::AddAuthenticator, session, proof, None, ctx)
            .await?;
        let active = authenticators::for_user(&mut tx, &user.id)
            .await?
            .into_iter()
            .filter(|a| a.status == authenticators::Status::Active)
            .count();
        commit(tx).await?;
        if active >= MAX_AUTHENTICATORS {
            return Err(AuthError::Conflict(format!(
                "An account can have at most {MAX_AUTHENTICATORS} authenticators. Remove one you no longer use first."
            )));
        }
        let fresh = self.fresh_session(session).await?;
        self.begin_setup_for(
            &fresh,
            twostep_store::authenticators::Purpose::Add,
            &name,
            ctx,
        )
        .await
    }

    /// Removes one authenticator, after a fresh second factor; never the last
    /// second factor while two-step is on.
    pub async fn remove_authenticator(
        &self,
        session: &SessionInfo,
        authenticator_id: &str,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<()> {
        let (mut tx, user) = self
            .begin_action(Action::RemoveAuthenticator, session, proof, None, ctx)
            .await?;
        let now = self.now();
        let gone = authenticators::get(&mut tx, &user.id, authenticator_id)
            .await?
            .filter(|a| a.status == authenticators::Status::Active)
            .ok_or(AuthError::NotFound)?;
        if user.two_step_enabled_at.is_some() && second_factors(&mut tx, &user.id).await? <= 1 {
            return Err(AuthError::Conflict(LAST_FACTOR.into()));
        }
        authenticators::delete(&mut tx, &user.id, &gone.id).await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::AuthenticatorRemoved,
            &gone.name,
            ctx,
        )
        .await?;
        commit(tx).await?;
        let what = format!(
            "The authenticator \"{}\" was removed from your account; its codes no longer work.",
            gone.name
        );
        self.notify(&user, "An authenticator was removed", &what, ctx)
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authenticator_has_a_name_of_reasonable_length() {
        assert_eq!(authenticator_name("  work phone ").unwrap(), "work phone");
        assert_eq!(authenticator_name("").unwrap_err().code(), "invalid_name");
        assert!(authenticator_name(&"n".repeat(MAX_NAME)).is_ok());
        assert!(authenticator_name(&"n".repeat(MAX_NAME + 1)).is_err());
    }
}
