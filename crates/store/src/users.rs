use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

row_struct! {
    /// An account. Its `Debug` leaves out the password hash.
    #[derive(Clone)]
    pub struct User {
        pub id: UserId,
        pub username: String,
        pub email: String,
        pub password_hash: Option<String>,
        pub email_confirmed_at: Option<UnixTime>,
        pub two_step_enabled_at: Option<UnixTime>,
        pub second_step_locked_until: Option<UnixTime>,
        pub created_at: UnixTime,
        pub factor_failures_in_row: i64,
        pub second_step_frozen_at: Option<UnixTime>,
        /// Which recovery code (1..6) must be typed back to show the list was saved.
        pub codes_check_position: Option<i64>,
        /// When the open self-service recovery request is ready, if one is open.
        pub recovery_ready_at: Option<UnixTime>,
        /// An administrator (stored as 1; 0 for everyone else).
        pub is_admin: bool,
        /// When an administrator reset two-step verification, until it is on again.
        pub two_step_reset_at: Option<UnixTime>,
    }
}

impl User {
    pub fn admin(&self) -> bool {
        self.is_admin
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("email_confirmed_at", &self.email_confirmed_at)
            .field("two_step_enabled_at", &self.two_step_enabled_at)
            .field("second_step_locked_until", &self.second_step_locked_until)
            .field("created_at", &self.created_at)
            .field("factor_failures_in_row", &self.factor_failures_in_row)
            .field("second_step_frozen_at", &self.second_step_frozen_at)
            .field("codes_check_position", &self.codes_check_position)
            .field("recovery_ready_at", &self.recovery_ready_at)
            .field("is_admin", &self.is_admin)
            .field("two_step_reset_at", &self.two_step_reset_at)
            .finish()
    }
}

pub struct NewUser<'a> {
    pub id: &'a UserId,
    pub username: &'a str,
    pub email: &'a str,
    /// None: an account made through a sign-in provider, with no password.
    pub password_hash: Option<&'a str>,
    pub now: UnixTime,
}

pub async fn insert(c: &mut Conn, u: NewUser<'_>) -> Result<()> {
    db::query(
        "INSERT INTO users (id, username, email, email_lower, password_hash, is_admin, created_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6)",
    )
    .bind(u.id)
    .bind(u.username)
    .bind(u.email)
    .bind(u.email.to_lowercase())
    .bind(u.password_hash)
    .bind(u.now)
    .execute(c)
    .await?;
    Ok(())
}

/// The columns of `User`, for queries that read a user along with a row
/// that points at it (one lookup where two would do).
macro_rules! user_columns {
    () => {
        "id, username, email, password_hash, email_confirmed_at, two_step_enabled_at, second_step_locked_until, created_at, factor_failures_in_row, second_step_frozen_at, codes_check_position, recovery_ready_at, is_admin, two_step_reset_at"
    };
}
pub(crate) use user_columns;

macro_rules! select_user {
    ($where:literal) => {
        concat!("SELECT ", user_columns!(), " FROM users WHERE ", $where)
    };
}

pub async fn by_id(c: &mut Conn, id: &UserId) -> Result<Option<User>> {
    db::query_as(select_user!("id = $1"))
        .bind(id)
        .fetch_optional(c)
        .await
}

pub async fn by_username(c: &mut Conn, username: &str) -> Result<Option<User>> {
    db::query_as(select_user!("username = $1"))
        .bind(username)
        .fetch_optional(c)
        .await
}

pub async fn by_email(c: &mut Conn, email: &str) -> Result<Option<User>> {
    db::query_as(select_user!("email_lower = $1"))
        .bind(email.to_lowercase())
        .fetch_optional(c)
        .await
}

pub async fn confirm_email(c: &mut Conn, id: &UserId, now: UnixTime) -> Result<()> {
    db::query("UPDATE users SET email_confirmed_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// A new, confirmed address (unique: a taken one is a conflict).
pub async fn set_email(c: &mut Conn, id: &UserId, email: &str, now: UnixTime) -> Result<()> {
    db::query(
        "UPDATE users SET email = $1, email_lower = $2, email_confirmed_at = $3 WHERE id = $4",
    )
    .bind(email)
    .bind(email.to_lowercase())
    .bind(now)
    .bind(id)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn set_password(c: &mut Conn, id: &UserId, hash: &str) -> Result<()> {
    db::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// `Some(now)` turns two-step verification on (which also clears an
/// administrator's reset mark), `None` off.
pub async fn set_two_step(c: &mut Conn, id: &UserId, enabled_at: Option<UnixTime>) -> Result<()> {
    let sql = match enabled_at {
        Some(_) => {
            "UPDATE users SET two_step_enabled_at = $1, two_step_reset_at = NULL WHERE id = $2"
        }
        None => "UPDATE users SET two_step_enabled_at = $1 WHERE id = $2",
    };
    db::query(sql).bind(enabled_at).bind(id).execute(c).await?;
    Ok(())
}

/// An administrator reset two-step verification: the next sign-in goes into setup.
pub async fn mark_two_step_reset(c: &mut Conn, id: &UserId, now: UnixTime) -> Result<()> {
    db::query("UPDATE users SET two_step_reset_at = $1, codes_check_position = NULL WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// Grants administrator rights (`by`: the granting administrator, `None`
/// for the server's command line) or, with `grant` false, removes them.
pub async fn set_admin(
    c: &mut Conn,
    id: &UserId,
    grant: bool,
    by: Option<&UserId>,
    now: UnixTime,
) -> Result<()> {
    if grant {
        db::query(
            "UPDATE users SET is_admin = 1, admin_since = $2, admin_granted_by = $3,
                    admin_first_at = COALESCE(admin_first_at, $2)
             WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(by)
        .execute(&mut *c)
        .await?;
        db::query("INSERT INTO admin_grants (grantee_id, granted_by, at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(by)
            .bind(now)
            .execute(c)
            .await?;
    } else {
        db::query(
            "UPDATE users SET is_admin = 0, admin_since = NULL, admin_granted_by = NULL WHERE id = $1",
        )
        .bind(id)
        .execute(c)
        .await?;
    }
    Ok(())
}

row_struct! {
    /// Where an account's administrator right came from.
    #[derive(Debug, Clone)]
    pub struct AdminRecord {
        pub is_admin: bool,
        pub admin_since: Option<UnixTime>,
        pub admin_granted_by: Option<UserId>,
        pub admin_first_at: Option<UnixTime>,
    }
}

/// Everyone who ever granted `id` administrator rights (the command line,
/// which has no id, left out).
pub async fn admin_granters(c: &mut Conn, id: &UserId) -> Result<Vec<UserId>> {
    db::query_scalar(
        "SELECT DISTINCT granted_by FROM admin_grants WHERE grantee_id = $1 AND granted_by IS NOT NULL",
    )
    .bind(id)
    .fetch_all(c)
    .await
}

pub async fn admin_record(c: &mut Conn, id: &UserId) -> Result<Option<AdminRecord>> {
    db::query_as(
        "SELECT is_admin, admin_since, admin_granted_by, admin_first_at FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await
}

/// The administrators, by username.
pub async fn admins(c: &mut Conn) -> Result<Vec<User>> {
    db::query_as(select_user!("is_admin = 1 ORDER BY username"))
        .fetch_all(c)
        .await
}

/// Which accounts the administrators' list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `Some(true)`: two-step on only; `Some(false)`: off only.
    pub two_step: Option<bool>,
    /// Second step locked or closed only.
    pub locked: bool,
    /// A self-service recovery under way only.
    pub recovery_requested: bool,
    /// Usernames starting with this (lowercase).
    pub prefix: String,
    /// Usernames after this one (the page before ended there).
    pub after: String,
}

/// One page of accounts by username (`limit` at most).
pub async fn list(c: &mut Conn, f: &Filter, now: UnixTime, limit: i64) -> Result<Vec<User>> {
    let two_step = match f.two_step {
        None => -1_i64,
        Some(false) => 0,
        Some(true) => 1,
    };
    // LIKE's wildcards in the prefix are matched as themselves.
    let prefix: String = f
        .prefix
        .chars()
        .flat_map(|ch| match ch {
            '%' | '_' | '\\' => vec!['\\', ch],
            _ => vec![ch],
        })
        .collect();
    db::query_as(select_user!(
        "($1 < 0 OR (CASE WHEN two_step_enabled_at IS NULL THEN 0 ELSE 1 END) = $1)
         AND ($2 = 0 OR second_step_frozen_at IS NOT NULL OR second_step_locked_until > $3)
         AND ($4 = 0 OR recovery_ready_at IS NOT NULL)
         AND username LIKE $5 ESCAPE '\\'
         AND username > $6
         ORDER BY username LIMIT $7"
    ))
    .bind(two_step)
    .bind(i64::from(f.locked))
    .bind(now)
    .bind(i64::from(f.recovery_requested))
    .bind(format!("{prefix}%"))
    .bind(&f.after)
    .bind(limit)
    .fetch_all(c)
    .await
}

/// `Some(position)`: the code to type back; `None`: the list is known saved.
pub async fn set_codes_check(c: &mut Conn, id: &UserId, position: Option<i64>) -> Result<()> {
    db::query("UPDATE users SET codes_check_position = $1 WHERE id = $2")
        .bind(position)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn set_locked_until(c: &mut Conn, id: &UserId, until: Option<UnixTime>) -> Result<()> {
    db::query("UPDATE users SET second_step_locked_until = $1 WHERE id = $2")
        .bind(until)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn count(c: &mut Conn) -> Result<i64> {
    db::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(c)
        .await
}

/// Holds the account's row until the transaction ends, so that decisions
/// about one account (attempt budgets) run one at a time on every node.
/// SQLite's `BEGIN IMMEDIATE` holds the whole database already.
pub async fn lock_row(c: &mut Conn, id: &UserId) -> Result<()> {
    if c.is_postgres() {
        db::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(c)
            .await?;
    }
    Ok(())
}

/// Holds a name (a username or a workspace name, one namespace) until the
/// transaction ends, so a user and a workspace cannot take it at once on two
/// nodes. SQLite's `BEGIN IMMEDIATE` holds the whole database already.
pub async fn lock_name(c: &mut Conn, name: &str) -> Result<()> {
    if c.is_postgres() {
        db::query("SELECT pg_advisory_xact_lock(hashtext($1))::text")
            .bind(name)
            .fetch_optional(c)
            .await?;
    }
    Ok(())
}

/// One more wrong second factor in a row; returns the new count.
pub async fn add_factor_failure(c: &mut Conn, id: &UserId) -> Result<i64> {
    db::query_scalar(
        "UPDATE users SET factor_failures_in_row = factor_failures_in_row + 1 WHERE id = $1
         RETURNING factor_failures_in_row",
    )
    .bind(id)
    .fetch_one(c)
    .await
}

/// A right second factor, or the owner's unlock: the count starts again.
pub async fn reset_factor_failures(c: &mut Conn, id: &UserId) -> Result<()> {
    db::query(
        "UPDATE users SET factor_failures_in_row = 0, second_step_frozen_at = NULL,
         second_step_locked_until = NULL
         WHERE id = $1 AND (factor_failures_in_row <> 0 OR second_step_frozen_at IS NOT NULL
                            OR second_step_locked_until IS NOT NULL)",
    )
    .bind(id)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn freeze_second_step(c: &mut Conn, id: &UserId, now: UnixTime) -> Result<()> {
    db::query("UPDATE users SET second_step_frozen_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}
