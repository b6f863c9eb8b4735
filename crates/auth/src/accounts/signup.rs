//! Sign-up and email confirmation.

use twostep_core::UserId;
use twostep_core::{password, token, validate};
use twostep_store::users;

use super::Accounts;
use crate::accounts::view::Addressee;
use crate::links::mailed::{self as links, Holder, Purpose};
use crate::notify::Event;
use crate::{commit, rng, Account, AuthError, AuthService, Ctx, Failure, Result};
use twostep_store::users::User;

pub(crate) const CONFIRM_TTL: i64 = 24 * 3600;

/// An address for an account: plain enough for us, and one the mailer can
/// write to (its own parser decides).
pub(crate) fn mail_address(raw: &str) -> Result<String> {
    let email = validate::email(raw)
        .map_err(|e| AuthError::invalid("invalid_email", "email", e.to_string()))?;
    if !twostep_mail::deliverable(&email) {
        return Err(AuthError::invalid(
            "invalid_email",
            "email",
            "We cannot send mail to that address: check it for typos (like name@example.org).",
        ));
    }
    Ok(email)
}

/// The code of a password the policy refuses.
pub const WEAK_PASSWORD: &str = "weak_password";

pub(crate) fn password_policy(pw: &str, username: &str, email: &str, site: &str) -> Result<()> {
    password::check_policy(pw, username, email, site).map_err(weak)
}

fn weak(e: password::PasswordPolicyError) -> AuthError {
    AuthError::invalid(WEAK_PASSWORD, "password", e.to_string())
}

impl AuthService {
    /// The whole policy for a new password: length, context words, common
    /// passwords, and the operator's breached-password file when there is one.
    pub(crate) async fn check_new_password(
        &self,
        pw: &str,
        username: &str,
        email: &str,
    ) -> Result<()> {
        password_policy(pw, username, email, &self.settings().issuer)?;
        let Some(list) = self.settings().breached_passwords.clone() else {
            return Ok(());
        };
        let pw = pw.to_string();
        let found = tokio::task::spawn_blocking(move || list.contains(&pw))
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r)
            .map_err(Failure::Breached)?;
        if found {
            return Err(weak(password::PasswordPolicyError::Breached));
        }
        Ok(())
    }

    async fn send_confirmation(&self, user: &impl Addressee, link: &str) -> Result<()> {
        self.send_link_mail(
            user.email(),
            user.username(),
            "Confirm your email address",
            &format!(
                "Confirm your email address by opening this link (valid for 24 hours):\n\n{link}\n\n\
                 If you did not sign up, ignore this mail."
            ),
        )
        .await
    }

    /// The stored row, for decisions that need the hash or the lock state.
    pub(crate) async fn user_row(&self, id: &UserId) -> Result<User> {
        let mut c = self.store().conn().await?;
        users::by_id(&mut c, id).await?.ok_or(AuthError::NotFound)
    }
}

impl Accounts<'_> {
    pub async fn sign_up(
        &self,
        username: &str,
        email: &str,
        password: &str,
        ctx: &Ctx,
    ) -> Result<Account> {
        let username = self
            .valid_name(username)
            .map_err(|e| AuthError::invalid("invalid_username", "username", e.to_string()))?;
        let email = mail_address(email)?;
        self.check_new_password(password, &username, &email).await?;
        let hash = self.hasher().hash(password).await?;
        let now = self.now();
        let id = UserId::new(token::new_id(&mut rng()));
        let mut tx = self.store().begin().await?;
        users::lock_name(&mut tx, &username).await?;
        if users::by_username(&mut tx, &username).await?.is_some()
            || twostep_store::workspaces::by_name(&mut tx, &username)
                .await?
                .is_some()
        {
            return Err(AuthError::invalid(
                "username_taken",
                "username",
                format!("The username \"{username}\" is taken. Choose another."),
            ));
        }
        if users::by_email(&mut tx, &email).await?.is_some() {
            return Err(AuthError::invalid(
                "email_taken",
                "email",
                "An account with that email address exists already. Sign in, or reset your password.",
            ));
        }
        users::insert(
            &mut tx,
            users::NewUser {
                id: &id,
                username: &username,
                email: &email,
                password_hash: Some(&hash),
                now,
            },
        )
        .await?;
        self.audit(&mut tx, &id, now, Event::AccountCreated, "", ctx)
            .await?;
        let link = self
            .new_link(
                &mut tx,
                &id,
                Purpose::ConfirmEmail,
                &email,
                now,
                CONFIRM_TTL,
            )
            .await?;
        commit(tx).await?;
        let user = self.user(&id).await?;
        if let Err(e) = self.send_confirmation(&user, &link).await {
            tracing::error!(error = %e, "confirmation mail not sent; the user can ask again");
        }
        Ok(user)
    }

    pub async fn resend_confirmation(&self, user_id: &UserId) -> Result<()> {
        let user = self.user_row(user_id).await?;
        if user.email_confirmed_at.is_some() {
            return Err(AuthError::Conflict(
                "Your email address is confirmed already.".into(),
            ));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let link = self
            .new_link(
                &mut tx,
                &user.id,
                Purpose::ConfirmEmail,
                &user.email,
                now,
                CONFIRM_TTL,
            )
            .await?;
        commit(tx).await?;
        self.send_confirmation(&user, &link).await
    }

    pub async fn confirm_email(&self, raw_token: &str, ctx: &Ctx) -> Result<Account> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let t = links::redeem(
            &mut tx,
            raw_token,
            Purpose::ConfirmEmail,
            Holder::Anyone,
            now,
        )
        .await?;
        let user = users::by_id(&mut tx, &t.user_id)
            .await?
            .ok_or(AuthError::LinkInvalid)?;
        // A link mailed to an address the account no longer uses confirms nothing.
        if user.email != t.subject {
            return Err(AuthError::LinkInvalid);
        }
        users::confirm_email(&mut tx, &user.id, now).await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::EmailConfirmed,
            &user.email,
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.user(&user.id).await
    }

    pub async fn user(&self, id: &UserId) -> Result<Account> {
        self.user_row(id).await.map(Account::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_must_be_one_mail_can_reach() {
        assert_eq!(
            mail_address(" Dora@Example.org ").unwrap().to_lowercase(),
            "dora@example.org"
        );
        for bad in [
            "",
            "dora",
            "dora@",
            "dora..x@example.org",
            "a b@example.org",
        ] {
            let e = mail_address(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_email", "{bad:?}");
            assert_eq!(e.field(), Some("email"));
        }
    }

    #[test]
    fn a_weak_password_is_refused_next_to_its_field() {
        let e = password_policy("dora", "dora", "dora@example.org", "twostep").unwrap_err();
        assert_eq!((e.code(), e.field()), (WEAK_PASSWORD, Some("password")));
        password_policy("violet-harbour-2931", "dora", "dora@example.org", "twostep").unwrap();
    }
}
