//! Security log rows and the mails that go with security events.

use twostep_core::{UnixTime, UserId};
use twostep_mail::Mail;
use twostep_store::{security_log, Conn};

use crate::accounts::view::Addressee;
use crate::{AuthService, Ctx, Result};

pub use crate::events::{describe, Event};

impl AuthService {
    pub(crate) async fn audit(
        &self,
        c: &mut Conn,
        user_id: &UserId,
        now: UnixTime,
        event: Event,
        detail: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        crate::metrics::security_event(event.as_str());
        tracing::info!(user = %user_id, event = event.as_str(), channel = ctx.channel.as_str(), ip = %ctx.ip, "security event");
        security_log::append(
            c,
            security_log::NewEntry {
                user_id,
                at: now,
                event: event.as_str(),
                detail,
                channel: ctx.channel.as_str(),
                ip: &ctx.ip,
            },
        )
        .await?;
        Ok(())
    }

    /// Mail that must arrive for the flow to go on (a link): "[issuer]
    /// subject", a greeting, `text`, the signature. Errors surface.
    pub(crate) async fn send_link_mail(
        &self,
        to: &str,
        username: &str,
        subject: &str,
        text: &str,
    ) -> Result<()> {
        let issuer = &self.settings().issuer;
        let mail = Mail {
            to: to.to_string(),
            subject: format!("[{issuer}] {subject}"),
            body: format!("Hello {username},\n\n{text}\n\n-- {issuer}\n"),
        };
        self.inner
            .mailer
            .deliver(&mail)
            .await
            .map_err(crate::AuthError::MailFailed)
    }

    /// Notification of something that already happened: a failure is logged,
    /// never undoes the change.
    pub(crate) async fn notify(&self, user: &impl Addressee, subject: &str, what: &str, ctx: &Ctx) {
        let s = self.settings();
        let body = format!(
            "Hello {name},\n\n{what}\n\nWhen: {when} UTC\nFrom: {ip} ({channel})\n\n\
             If this was you, there is nothing to do.\n\
             If it was not, change your password now and review your security log:\n{log}\n\n\
             -- {issuer}\n",
            name = user.username(),
            when = crate::error::utc(self.now()),
            ip = ctx.ip,
            channel = ctx.channel.as_str(),
            log = self.link("/account/security-log"),
            issuer = s.issuer,
        );
        let mail = Mail {
            to: user.email().to_string(),
            subject: format!("[{}] {subject}", s.issuer),
            body,
        };
        if let Err(e) = self.inner.mailer.deliver(&mail).await {
            tracing::error!(user = %user.user_id(), error = %e, "could not send security notification");
        }
    }

    /// As `notify`, from a task of its own: the answer does not wait for
    /// the mail (its timing must not tell a real account from none).
    pub(crate) fn notify_later(
        &self,
        user: &impl Addressee,
        subject: &str,
        what: String,
        ctx: &Ctx,
    ) {
        let to = crate::accounts::view::Recipient::of(user);
        let (auth, subject, ctx) = (self.clone(), subject.to_string(), ctx.clone());
        tokio::spawn(async move { auth.notify(&to, &subject, &what, &ctx).await });
    }
}
