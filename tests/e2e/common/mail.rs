//! Reading what twostep mailed: the outbox folder, or the maildir of a real
//! SMTP server (aiosmtpd) that we run.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub enum MailSource {
    Outbox(PathBuf),
    Maildir(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub raw: String,
}

impl Mail {
    /// The first link in the body that contains `path`.
    pub fn link(&self, path: &str) -> String {
        let start = self
            .raw
            .find(path)
            .unwrap_or_else(|| panic!("no {path} link in mail:\n{}", self.raw));
        let begin = self.raw[..start].rfind("http").unwrap();
        let end = self.raw[start..]
            .find(char::is_whitespace)
            .map(|e| e + start)
            .unwrap_or(self.raw.len());
        self.raw[begin..end].to_string()
    }
}

impl MailSource {
    pub fn all(&self) -> Vec<Mail> {
        let dir = match self {
            MailSource::Outbox(d) => d.clone(),
            MailSource::Maildir(d) => d.join("new"),
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_none_or(|e| e != "tmp"));
        let mut mails: Vec<(std::time::SystemTime, String, Mail)> = files
            .into_iter()
            .map(|p| {
                let raw = std::fs::read_to_string(&p).unwrap();
                let header = |name: &str| {
                    raw.lines()
                        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                        .unwrap_or("")
                        .trim()
                        .to_string()
                };
                let mtime = std::fs::metadata(&p).and_then(|m| m.modified()).unwrap();
                (
                    mtime,
                    p.display().to_string(),
                    Mail {
                        to: header("To"),
                        subject: header("Subject"),
                        raw: raw.clone(),
                    },
                )
            })
            .collect();
        mails.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        mails.into_iter().map(|m| m.2).collect()
    }

    /// Waits for the newest mail to `to` whose subject contains `subject`.
    pub fn wait_for(&self, to: &str, subject: &str) -> Mail {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(m) = self
                .all()
                .into_iter()
                .rev()
                .find(|m| m.to.contains(to) && m.subject.contains(subject))
            {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {to} about {subject:?}; have: {:?}",
                self.all().iter().map(|m| &m.subject).collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `n` mails to `to` about `subject` arrived; returns the newest.
    pub fn wait_for_nth(&self, to: &str, subject: &str, n: usize) -> Mail {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.count(to, subject) < n {
            assert!(
                Instant::now() < deadline,
                "fewer than {n} mails to {to} about {subject:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        self.wait_for(to, subject)
    }

    pub fn count(&self, to: &str, subject: &str) -> usize {
        self.all()
            .iter()
            .filter(|m| m.to.contains(to) && m.subject.contains(subject))
            .count()
    }
}

/// aiosmtpd delivering into a maildir.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let port = super::free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (the test script installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        SmtpServer {
            child,
            port,
            maildir,
            _dir: dir,
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
