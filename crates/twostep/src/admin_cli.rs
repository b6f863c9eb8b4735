//! `twostep admin …`: the operator's commands, run on the server against the
//! data folder or the database (no server needs to run). They go through
//! the same auth service as the pages and the API, and land in the admin
//! audit log as "the server's command line".

use clap::{Args, Subcommand};
use twostep_auth::{
    Actor, AdminUserView, AuditEntry, Channel, Ctx, PskcUnlock, ResetOutcome, UserFilter,
};

use crate::cli::Options;
use crate::config::Config;

#[derive(Args, Debug)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Make USER an administrator (they must have two-step verification on).
    Grant {
        #[command(flatten)]
        options: Options,
        user: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Take administrator rights away from USER.
    Revoke {
        #[command(flatten)]
        options: Options,
        user: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Reset USER's two-step verification (lost phone, codes and keys): removes
    /// their authenticators, security keys, recovery codes, app passwords and
    /// sessions, mails them; their next sign-in sets two-step up again.
    ResetTwoStep {
        #[command(flatten)]
        options: Options,
        user: String,
        /// Why: mailed to the user and kept in the audit log (required).
        #[arg(long)]
        reason: String,
    },
    /// Reopen USER's two-step sign-in, locked after too many wrong codes.
    Unlock {
        #[command(flatten)]
        options: Options,
        user: String,
        /// Why: mailed to the user and kept in the audit log (required).
        #[arg(long)]
        reason: String,
    },
    /// Import hardware OATH tokens (TOTP) from a vendor's RFC 6030 PSKC seed
    /// file into the inventory, by serial number.
    ImportTokens {
        #[command(flatten)]
        options: Options,
        file: std::path::PathBuf,
        /// The file's password (PBKDF2-encrypted files).
        #[arg(long, conflicts_with = "key")]
        password: Option<String>,
        /// The pre-shared AES key, in hex (PSK-encrypted files).
        #[arg(long)]
        key: Option<String>,
    },
    /// Make the token with SERIAL one of USER's authenticators.
    AssignToken {
        #[command(flatten)]
        options: Options,
        serial: String,
        user: String,
    },
    /// Print the admin audit log as JSON lines, newest first.
    Audit {
        #[command(flatten)]
        options: Options,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Entries older than this sequence number.
        #[arg(long)]
        before: Option<i64>,
    },
    /// List accounts as JSON lines.
    Users {
        #[command(flatten)]
        options: Options,
        /// on or off
        #[arg(long, value_parser = ["on", "off"])]
        two_step: Option<String>,
        /// Second step locked only.
        #[arg(long)]
        locked: bool,
        /// Self-service recovery under way only.
        #[arg(long)]
        recovery_requested: bool,
    },
}

impl AdminCommand {
    pub fn log_format(&self) -> Option<String> {
        self.options().log_format.clone()
    }

    fn options(&self) -> &Options {
        match self {
            AdminCommand::Grant { options, .. }
            | AdminCommand::Revoke { options, .. }
            | AdminCommand::ResetTwoStep { options, .. }
            | AdminCommand::Unlock { options, .. }
            | AdminCommand::Audit { options, .. }
            | AdminCommand::ImportTokens { options, .. }
            | AdminCommand::AssignToken { options, .. }
            | AdminCommand::Users { options, .. } => options,
        }
    }
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let cfg = Config::load(args.command.options())?;
    cfg.prepare_data_dir()?;
    let wired = crate::serve::wire(&cfg).await?;
    let auth = &wired.auth;
    let ctx = Ctx::new(Channel::Cli, "local");
    let cli = Actor::CommandLine;
    let result = match args.command {
        AdminCommand::Grant { user, reason, .. } => auth
            .admin().grant_admin(&cli, &user, &reason, &ctx)
            .await
            .map(|u| println!("{} is now an administrator.", u.username)),
        AdminCommand::Revoke { user, reason, .. } => auth
            .admin().revoke_admin(&cli, &user, &reason, &ctx)
            .await
            .map(|u| println!("{} is no longer an administrator.", u.username)),
        AdminCommand::ResetTwoStep { user, reason, .. } => auth
            .admin().admin_reset_two_step(&cli, &user, &reason, &ctx)
            .await
            .map(|outcome| match outcome {
                ResetOutcome::Reset => println!(
                    "Two-step verification of {user} was reset; they were mailed, and their next sign-in sets it up again."
                ),
                ResetOutcome::AwaitingApproval { approval_id, .. } => {
                    println!("The reset waits for a second administrator (request {approval_id}).")
                }
            }),
        AdminCommand::Unlock { user, reason, .. } => auth
            .admin().admin_unlock(&cli, &user, &reason, &ctx)
            .await
            .map(|()| println!("Two-step sign-in of {user} is unlocked.")),
        AdminCommand::ImportTokens {
            file,
            password,
            key,
            ..
        } => import_tokens(auth, &file, password, key).await,
        AdminCommand::AssignToken { serial, user, .. } => auth
            .factors().assign_token(&cli, &serial, &user, &ctx)
            .await
            .map(|()| println!("The token {serial} is now one of {user}'s authenticators.")),
        AdminCommand::Audit { limit, before, .. } => {
            auth.admin().admin_audit(&cli, before, limit, &ctx).await.map(|rows| {
                for r in rows {
                    println!("{}", audit_json(&r));
                }
            })
        }
        AdminCommand::Users {
            two_step,
            locked,
            recovery_requested,
            ..
        } => {
            let mut filter = UserFilter {
                two_step: two_step.map(|v| v == "on"),
                locked,
                recovery_requested,
                ..UserFilter::default()
            };
            loop {
                let page = auth.admin().admin_users(&cli, &filter, &ctx).await?;
                for u in &page {
                    println!("{}", user_json(u));
                }
                match page.last() {
                    Some(last) if page.len() as i64 == twostep_auth::ADMIN_PAGE_SIZE => {
                        filter.after = last.username.clone();
                    }
                    _ => break Ok(()),
                }
            }
        }
    };
    wired.store.close().await;
    result.map_err(|e| anyhow::anyhow!("{e}"))
}

async fn import_tokens(
    auth: &twostep_auth::AuthService,
    file: &std::path::Path,
    password: Option<String>,
    key: Option<String>,
) -> Result<(), twostep_auth::AuthError> {
    let unlock = match (password, key) {
        (Some(p), _) => PskcUnlock::Password(p),
        (None, Some(k)) => PskcUnlock::Key(
            data_encoding::HEXLOWER_PERMISSIVE
                .decode(k.trim().as_bytes())
                .map_err(|_| {
                    twostep_auth::AuthError::invalid(
                        "invalid_key",
                        "key",
                        "--key is the AES key in hex.",
                    )
                })?,
        ),
        (None, None) => PskcUnlock::None,
    };
    let xml = std::fs::read_to_string(file).map_err(|e| {
        twostep_auth::AuthError::invalid(
            "unreadable_file",
            "file",
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    let bar = crate::progress::bar(0, "tokens");
    bar.set_message("importing");
    let report = auth
        .factors()
        .import_tokens(&file.display().to_string(), &xml, &unlock, |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .await?;
    bar.finish_and_clear();
    println!(
        "Imported {} tokens; {} were in the inventory already; {} skipped.",
        report.imported,
        report.duplicates,
        report.skipped.len()
    );
    for why in report.skipped.iter().take(20) {
        println!("  skipped {why}");
    }
    if report.skipped.len() > 20 {
        println!("  … and {} more", report.skipped.len() - 20);
    }
    Ok(())
}

pub fn audit_json(r: &AuditEntry) -> serde_json::Value {
    serde_json::json!({
        "seq": r.seq,
        "at": r.at.secs(),
        "at_utc": twostep_auth::utc(r.at),
        "actor": r.actor,
        "target": r.target,
        "action": r.action,
        "reason": r.reason,
        "channel": r.channel,
        "ip": r.ip,
    })
}

pub fn user_json(u: &AdminUserView) -> serde_json::Value {
    serde_json::json!({
        "username": u.username,
        "email": u.email,
        "email_confirmed": u.email_confirmed,
        "two_step": u.two_step_on,
        "admin": u.is_admin,
        "locked": u.locked,
        "recovery_ready_at": u.recovery_ready_at.map(|t| t.secs()),
        "two_step_reset_at": u.two_step_reset_at.map(|t| t.secs()),
        "created_at": u.created_at.secs(),
    })
}
