//! Sign-up and email confirmation.

use twostep_core::{password, token, validate};
use twostep_core::{UnixTime, UserId};
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

/// Whether an account or a workspace has the name (they share one namespace).
async fn name_taken(c: &mut twostep_store::Conn, name: &str) -> Result<bool> {
    Ok(users::by_username(&mut *c, name).await?.is_some()
        || twostep_store::workspaces::by_name(c, name).await?.is_some())
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
        // zxcvbn may take milliseconds on long inputs: off the async workers.
        let (p, u, e, site) = (
            pw.to_string(),
            username.to_string(),
            email.to_string(),
            self.settings().issuer.clone(),
        );
        tokio::task::spawn_blocking(move || password_policy(&p, &u, &e, &site))
            .await
            .map_err(|_| Failure::Hashing("the password policy check stopped"))??;
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

/// A new account's address may be mailed this many times an hour (sign-ups
/// of it, or notices to its owner): the same cap whether or not an account
/// has it, so neither the answer nor its timing tells.
const SIGNUP_MAILS_PER_HOUR: i64 = 3;

/// What opening a confirmation link did.
#[derive(Debug)]
pub struct Confirmed {
    pub account: Account,
    /// A new account was made by the link: a session for the browser that
    /// opened it (it proved the mailbox; the password was given at sign-up).
    pub new_session: Option<String>,
}

impl Accounts<'_> {
    /// Starts a sign-up: the account is made when the link mailed to `email`
    /// is opened. When an account has the address already, the answer is the
    /// same and its owner is mailed instead (ASVS 6.3.8). A taken username
    /// is said (usernames are public: they are in every repository's URL).
    pub async fn sign_up(
        &self,
        username: &str,
        email: &str,
        password: &str,
        _ctx: &Ctx,
    ) -> Result<()> {
        let username = self
            .valid_name(username)
            .map_err(|e| AuthError::invalid("invalid_username", "username", e.to_string()))?;
        let email = mail_address(email)?;
        self.check_new_password(password, &username, &email).await?;
        let hash = self.hasher().hash(password).await?;
        let now = self.now();
        let raw = token::new_token(&mut rng());
        let mut tx = self.store().begin().await?;
        users::lock_name(&mut tx, &username).await?;
        if name_taken(&mut tx, &username).await? {
            return Err(AuthError::invalid(
                "username_taken",
                "username",
                format!("The username \"{username}\" is taken. Choose another."),
            ));
        }
        let owner = users::by_email(&mut tx, &email).await?;
        let key = format!(
            "signup-mail:{}",
            token::keyed_hash(&self.keys().csrf, email.to_lowercase().as_bytes())
        );
        let window = UnixTime::from_secs(now.secs() - now.secs() % 3600);
        let may_mail =
            twostep_store::throttles::take(&mut tx, &key, window, SIGNUP_MAILS_PER_HOUR).await?;
        if owner.is_none() {
            twostep_store::signups::insert(
                &mut tx,
                &twostep_store::signups::Signup {
                    token_hash: links::hash(&raw),
                    username: username.clone(),
                    email: email.clone(),
                    password_hash: hash,
                    created_at: now,
                    expires_at: now + CONFIRM_TTL,
                },
            )
            .await?;
        }
        commit(tx).await?;
        if !may_mail {
            return Ok(());
        }
        let sent = match owner {
            None => {
                let link = self.link(&format!("/confirm-email?token={raw}"));
                self.send_link_mail(
                    &email,
                    &username,
                    "Confirm your email address",
                    &format!(
                        "Open this link to confirm your address and finish creating the account {username} \
                         (valid for 24 hours):\n\n{link}\n\nIf you did not sign up, ignore this mail: no account is made."
                    ),
                )
                .await
            }
            Some(owner) => {
                let what = format!(
                    "Someone tried to create a new account with your email address (as \"{username}\"). \
                     Your address already has the account {}, so nothing was made.\n\n\
                     If it was you: sign in at {}, or reset your password at {} if you forgot it. \
                     If it was not you, there is nothing to do.",
                    owner.username,
                    self.link("/signin"),
                    self.link("/password/forgot")
                );
                self.send_link_mail(
                    &owner.email,
                    &owner.username,
                    "Someone tried to sign up with your address",
                    &what,
                )
                .await
            }
        };
        if let Err(e) = sent {
            tracing::error!(error = %e, "sign-up mail not sent; the person can sign up again");
        }
        Ok(())
    }

    /// The username of the sign-up this link would finish, if it is one.
    pub async fn pending_sign_up(&self, raw_token: &str) -> Result<Option<String>> {
        let mut c = self.store().conn().await?;
        Ok(
            twostep_store::signups::peek(&mut c, &links::hash(raw_token), self.now())
                .await?
                .map(|s| s.username),
        )
    }

    /// Makes the account of a sign-up whose mailed link was opened.
    async fn finish_sign_up(
        &self,
        s: twostep_store::signups::Signup,
        sign_in: bool,
        ctx: &Ctx,
    ) -> Result<Confirmed> {
        let now = self.now();
        let id = UserId::new(token::new_id(&mut rng()));
        let mut tx = self.store().begin().await?;
        users::lock_name(&mut tx, &s.username).await?;
        if name_taken(&mut tx, &s.username).await? {
            return Err(AuthError::Conflict(format!(
                "The username \"{}\" was taken meanwhile: sign up again with another.",
                s.username
            )));
        }
        if users::by_email(&mut tx, &s.email).await?.is_some() {
            return Err(AuthError::Conflict(
                "An account with this address was made meanwhile: sign in, or reset its password."
                    .into(),
            ));
        }
        users::insert(
            &mut tx,
            users::NewUser {
                id: &id,
                username: &s.username,
                email: &s.email,
                password_hash: Some(&s.password_hash),
                now,
            },
        )
        .await?;
        users::confirm_email(&mut tx, &id, now).await?;
        self.audit(&mut tx, &id, now, Event::AccountCreated, "", ctx)
            .await?;
        self.audit(&mut tx, &id, now, Event::EmailConfirmed, &s.email, ctx)
            .await?;
        let session = if sign_in {
            let t = token::new_token(&mut rng());
            self.insert_session(
                &mut tx,
                &t,
                &id,
                twostep_store::sessions::Stage::Full,
                now,
                ctx,
            )
            .await?;
            Some(t)
        } else {
            None
        };
        commit(tx).await?;
        Ok(Confirmed {
            account: self.user(&id).await?,
            new_session: session,
        })
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

    /// Opens a confirmation link: a sign-up's (the account is made), or an
    /// existing account's address.
    /// Opens a confirmation link: an existing account's address, or a
    /// sign-up's, whose account is made only with the password chosen at
    /// sign-up (so neither a link sent to someone else's browser nor a
    /// stranger's sign-up with their address makes an account for them);
    /// `sign_in`: the browser that finished it gets a session.
    pub async fn confirm_email(
        &self,
        raw_token: &str,
        password: Option<&str>,
        sign_in: bool,
        ctx: &Ctx,
    ) -> Result<Confirmed> {
        let now = self.now();
        let hash = links::hash(raw_token);
        let pending = {
            let mut c = self.store().conn().await?;
            twostep_store::signups::peek(&mut c, &hash, now).await?
        };
        if let Some(s) = pending {
            let Some(password) = password.filter(|p| !p.is_empty()) else {
                return Err(AuthError::invalid(
                    "password_required",
                    "password",
                    "Enter the password you chose when you signed up.",
                ));
            };
            if !self
                .hasher()
                .verify(password, Some(&s.password_hash))
                .await?
            {
                return Err(AuthError::invalid(
                    "wrong_password",
                    "password",
                    "That is not the password chosen at sign-up.",
                ));
            }
            let mut tx = self.store().begin().await?;
            let taken = twostep_store::signups::take(&mut tx, &hash, now).await?;
            commit(tx).await?;
            let s = taken.ok_or(AuthError::LinkInvalid)?;
            return self.finish_sign_up(s, sign_in, ctx).await;
        }
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
        Ok(Confirmed {
            account: self.user(&user.id).await?,
            new_session: None,
        })
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
