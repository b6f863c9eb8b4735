//! Mail delivery: SMTP when configured, otherwise an outbox folder of `.eml`
//! files (the embedded default, so the main job needs no mail server). The
//! auth service sends through the [`Deliver`] trait: the binary gives it a
//! [`Mailer`]; tests of the service's rules give it an [`InMemory`] outbox.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address {0:?}")]
    Address(String),
    #[error("invalid SMTP URL: {0}")]
    SmtpUrl(String),
    #[error("could not build the message: {0}")]
    Build(String),
    #[error("SMTP delivery failed: {0}")]
    Smtp(String),
    #[error("could not write to the outbox: {0}")]
    Outbox(#[from] std::io::Error),
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    /// `smtp://[user:pass@]host:port[?tls=required]` or `smtps://…` (lettre's URL form).
    pub fn smtp(url: &str, from: &str) -> Result<Mailer, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::SmtpUrl(e.to_string()))?
            .build();
        Ok(Mailer {
            from: parse_mailbox(from)?,
            transport: Transport::Smtp(transport),
        })
    }

    pub fn outbox(dir: PathBuf, from: &str) -> Result<Mailer, MailError> {
        std::fs::create_dir_all(&dir)?;
        Ok(Mailer {
            from: parse_mailbox(from)?,
            transport: Transport::Outbox(dir),
        })
    }

    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP".into(),
            Transport::Outbox(dir) => format!("outbox folder {}", dir.display()),
        }
    }

    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(parse_mailbox(&mail.to)?)
            .subject(mail.subject.clone())
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(plain_body(&mail.body)),
            )
            .map_err(|e| MailError::Build(e.to_string()))?;
        match &self.transport {
            Transport::Smtp(t) => {
                t.send(message)
                    .await
                    .map_err(|e| MailError::Smtp(e.to_string()))?;
                tracing::info!(to = %mail.to, subject = %mail.subject, "mail sent over SMTP");
            }
            Transport::Outbox(dir) => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis();
                let path = dir.join(format!("{now:013}-{:08x}.eml", rand::random::<u32>()));
                let tmp = path.with_extension("tmp");
                tokio::fs::write(&tmp, message.formatted()).await?;
                // Rename so a reader never sees half a message.
                tokio::fs::rename(&tmp, &path).await?;
                tracing::info!(to = %mail.to, subject = %mail.subject, path = %path.display(), "mail written to the outbox");
            }
        }
        Ok(())
    }
}

/// A mail on its way.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;

/// Where the auth service's mail goes.
pub trait Deliver: Send + Sync {
    fn deliver<'a>(&'a self, mail: &'a Mail) -> Sending<'a>;
    /// For the startup line: "SMTP", "outbox folder …".
    fn describe(&self) -> String;
}

impl Deliver for Mailer {
    fn deliver<'a>(&'a self, mail: &'a Mail) -> Sending<'a> {
        Box::pin(self.send(mail))
    }

    fn describe(&self) -> String {
        Mailer::describe(self)
    }
}

/// Mail kept in memory, in the order sent, with the same refusal of an
/// address SMTP could not take.
#[derive(Default)]
pub struct InMemory {
    sent: Mutex<Vec<Mail>>,
}

impl InMemory {
    /// Everything sent so far, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.sent.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Deliver for InMemory {
    fn deliver<'a>(&'a self, mail: &'a Mail) -> Sending<'a> {
        Box::pin(async move {
            parse_mailbox(&mail.to)?;
            if let Ok(mut sent) = self.sent.lock() {
                sent.push(mail.clone());
            }
            Ok(())
        })
    }

    fn describe(&self) -> String {
        "in memory".into()
    }
}

/// 7bit when the text allows it (ASCII, lines within RFC 5322's 998), so links
/// stay whole and readable in the raw message; lettre's own choice otherwise.
fn plain_body(text: &str) -> Body {
    let fits_7bit = text.is_ascii() && !text.contains('\0') && text.lines().all(|l| l.len() <= 900);
    if fits_7bit {
        let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text.to_string())
    }
}

/// Whether mail can be addressed to `address` (the mailer's own parser).
pub fn deliverable(address: &str) -> bool {
    address.parse::<lettre::Address>().is_ok()
}

fn parse_mailbox(s: &str) -> Result<Mailbox, MailError> {
    s.parse().map_err(|_| MailError::Address(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliverable_follows_the_mailers_parser() {
        assert!(deliverable("dora@example.org"));
        assert!(!deliverable("dora..x@example.org"));
        assert!(!deliverable("(dora)@example.org"));
    }

    #[tokio::test]
    async fn in_memory_keeps_mail_in_order_and_refuses_bad_addresses() {
        let m = InMemory::default();
        for subject in ["one", "two"] {
            let mail = Mail {
                to: "alice@example.com".into(),
                subject: subject.into(),
                body: "b".into(),
            };
            m.deliver(&mail).await.unwrap();
        }
        let bad = Mail {
            to: "not an address".into(),
            subject: "x".into(),
            body: "y".into(),
        };
        assert!(matches!(m.deliver(&bad).await, Err(MailError::Address(_))));
        let subjects: Vec<_> = m.sent().into_iter().map(|m| m.subject).collect();
        assert_eq!(subjects, ["one", "two"]);
    }

    #[tokio::test]
    async fn outbox_writes_one_eml_per_mail() {
        let dir = std::env::temp_dir().join(format!("twostep-outbox-{}", rand::random::<u64>()));
        let m = Mailer::outbox(dir.clone(), "twostep <noreply@twostep.localhost>").unwrap();
        m.send(&Mail {
            to: "alice@example.com".into(),
            subject: "Confirm".into(),
            body: format!(
                "Follow http://127.0.0.1:8080/confirm-email?token={}",
                "a".repeat(43)
            ),
        })
        .await
        .unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(text.contains("To: alice@example.com"));
        assert!(text.contains("Subject: Confirm"));
        assert!(text.contains(&format!("confirm-email?token={}\r\n", "a".repeat(43))));
        let bad = m
            .send(&Mail {
                to: "not an address".into(),
                subject: "x".into(),
                body: "y".into(),
            })
            .await;
        assert!(matches!(bad, Err(MailError::Address(_))));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
