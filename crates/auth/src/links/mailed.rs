//! Mailed links, the only reader of their table. A link is made for one
//! account and one purpose (an account's older unused link of that purpose
//! stops working), its token stored as a hash; `redeem` checks, in one
//! call, that it is of the purpose asked, live, unused and held by the
//! account that may use it, then marks it used (a second use, even a
//! concurrent one, finds it used).

use twostep_core::{token, UnixTime, UserId};
use twostep_store::email_tokens::{self, EmailToken};
use twostep_store::Conn;

pub(crate) use twostep_store::email_tokens::Purpose;

use crate::{rng, AuthError, Result};

/// Longer input is cut before hashing: no token is this long, and the hash
/// of a megabyte costs more than it should.
const MAX_TOKEN: usize = 100;

/// A link that checked out: whose it is and what it is about (an address,
/// an authenticator's id, a recovery request, what an SSH command asks).
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub user_id: UserId,
    pub subject: String,
}

/// Who may use a link.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Holder<'a> {
    /// Whoever has it (the mailbox is the proof).
    Anyone,
    /// Only a session of this account: in another account's browser it is
    /// refused and stays usable for its owner.
    Account(&'a UserId),
}

/// Where following a link lands.
fn path(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::ConfirmEmail => "/confirm-email",
        Purpose::ResetPassword => "/password/reset",
        Purpose::EnableTwoStep => "/account/two-step/confirm",
        Purpose::UnlockSecondStep => "/unlock-second-step",
        Purpose::UnlockPasswordSignIn => "/unlock-password-sign-in",
        Purpose::ChangeEmail => "/account/email/confirm",
        Purpose::StartRecovery => "/recover/start",
        Purpose::FinishRecovery => "/recover/finish",
        // Carried by the review page's forms, never mailed.
        Purpose::ReviewCredentials => "/password/reset",
        Purpose::ApproveSsh => "/account/approve-ssh",
    }
}

/// The stored form of a token as given (in a URL, a form, a handle).
pub(crate) fn hash(raw: &str) -> String {
    token::token_hash(raw.get(..MAX_TOKEN).unwrap_or(raw))
}

/// Makes a link for `user_id` that lasts `ttl` seconds; returns its token
/// (only its hash is stored). The account's unused links of the same
/// purpose stop working.
pub(crate) async fn issue(
    c: &mut Conn,
    user_id: &UserId,
    purpose: Purpose,
    subject: &str,
    now: UnixTime,
    ttl: i64,
) -> Result<String> {
    let raw = token::new_token(&mut rng());
    email_tokens::void_unused(c, user_id, purpose, now).await?;
    email_tokens::insert(
        c,
        &EmailToken {
            token_hash: token::token_hash(&raw),
            user_id: user_id.clone(),
            purpose,
            subject: subject.to_string(),
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
        },
    )
    .await?;
    Ok(raw)
}

/// The address a mail carries: `base` + the purpose's page + the token.
pub(crate) fn url(base: &str, purpose: Purpose, raw: &str) -> String {
    format!(
        "{}{}?token={raw}",
        base.trim_end_matches('/'),
        path(purpose)
    )
}

/// A live, unused link of `purpose` that `holder` may use, left unused (a
/// page shows its form; a review page reads it while it lasts).
pub(crate) async fn peek(
    c: &mut Conn,
    raw: &str,
    purpose: Purpose,
    holder: Holder<'_>,
    now: UnixTime,
) -> Result<Link> {
    let t = email_tokens::get(c, &hash(raw), purpose)
        .await?
        .filter(|t| t.used_at.is_none() && t.expires_at > now)
        .ok_or(AuthError::LinkInvalid)?;
    if let Holder::Account(id) = holder {
        if t.user_id != *id {
            return Err(AuthError::Forbidden(
                "This link belongs to another account. Sign in as the account that asked for it."
                    .into(),
            ));
        }
    }
    Ok(Link {
        user_id: t.user_id,
        subject: t.subject,
    })
}

/// Uses a link: of `purpose`, live, unused, usable by `holder`, all checked
/// here; then marked used. Inside the caller's transaction, so a later
/// refusal of the caller's own leaves it unused.
pub(crate) async fn redeem(
    c: &mut Conn,
    raw: &str,
    purpose: Purpose,
    holder: Holder<'_>,
    now: UnixTime,
) -> Result<Link> {
    let link = peek(c, raw, purpose, holder, now).await?;
    if !email_tokens::consume(c, &hash(raw), purpose, now).await? {
        return Err(AuthError::LinkInvalid);
    }
    Ok(link)
}

/// When the newest link of `purpose` (and `subject`, if given) was made
/// for the account: mail throttles ask.
pub(crate) async fn last_made(
    c: &mut Conn,
    user_id: &UserId,
    purpose: Purpose,
    subject: Option<&str>,
) -> Result<Option<UnixTime>> {
    Ok(match subject {
        Some(s) => email_tokens::newest_about(c, user_id, purpose, s).await?,
        None => email_tokens::newest(c, user_id, purpose).await?,
    })
}

/// Deletes links that expired before `now`; how many.
pub(crate) async fn purge(c: &mut Conn, now: UnixTime) -> Result<u64> {
    Ok(email_tokens::delete_expired(c, now).await?)
}

/// Where an SSH command's approval stands, by its handle (the hash the
/// waiting command holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    Waiting,
    Approved,
    /// Expired, taken, or never made.
    Gone,
}

pub(crate) async fn approval(c: &mut Conn, handle: &str, now: UnixTime) -> Result<Approval> {
    let Some(t) = email_tokens::get(c, handle, Purpose::ApproveSsh).await? else {
        return Ok(Approval::Gone);
    };
    Ok(if t.expires_at <= now {
        Approval::Gone
    } else if t.used_at.is_some() {
        Approval::Approved
    } else {
        Approval::Waiting
    })
}

/// Takes an approved SSH link made for `user_id` and `what`: true once.
pub(crate) async fn take_approved(
    c: &mut Conn,
    handle: &str,
    user_id: &UserId,
    what: &str,
    now: UnixTime,
) -> Result<bool> {
    let Some(t) = email_tokens::get(c, handle, Purpose::ApproveSsh).await? else {
        return Ok(false);
    };
    if t.expires_at <= now || t.used_at.is_none() || t.user_id != *user_id || t.subject != what {
        return Ok(false);
    }
    Ok(email_tokens::delete(c, handle).await?)
}

impl crate::AuthService {
    /// Makes a link for the account and returns the address to mail.
    pub(crate) async fn new_link(
        &self,
        c: &mut Conn,
        user_id: &UserId,
        purpose: Purpose,
        subject: &str,
        now: UnixTime,
        ttl: i64,
    ) -> Result<String> {
        let raw = issue(c, user_id, purpose, subject, now, ttl).await?;
        Ok(url(&self.settings().public_url, purpose, &raw))
    }
}

#[cfg(test)]
mod tests {
    /// The links table has one reader: a new caller goes through `redeem`
    /// and cannot forget a check.
    #[test]
    fn no_other_code_reads_the_links_table() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for crate_dir in ["src", "../web/src", "../ssh/src", "../twostep/src"] {
            walk(&root.join(crate_dir), &mut files);
        }
        assert!(files.len() > 50, "the sources were found");
        let readers: Vec<_> = files
            .iter()
            .filter(|p| !p.ends_with("links/mailed.rs"))
            .filter(|p| {
                std::fs::read_to_string(p)
                    .unwrap_or_default()
                    .contains("email_tokens")
            })
            .collect();
        assert!(readers.is_empty(), "{readers:?} read the links table");
    }
}
