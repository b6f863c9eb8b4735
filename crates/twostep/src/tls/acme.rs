//! Certificates over ACME (RFC 8555) with the TLS-ALPN-01 challenge
//! (RFC 8737), kept in a cache folder several nodes may share: whoever holds
//! the folder's lock orders, writes the challenge certificate where every
//! node reads it (the CA may reach any of them), and the new certificate by
//! rename; the others pick it up from the folder. Renewed once two thirds of
//! its lifetime have passed; on errors the old one stays and the order is
//! tried again later (1 s, doubling to 5 minutes).

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};

use super::Current;

pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// How often the cache folder is read again for another node's renewal.
const POLL: Duration = Duration::from_secs(60);
const LONGEST_BACKOFF: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct Acme {
    pub domains: Vec<String>,
    pub directory: String,
    /// `mailto:` addresses the CA writes to about expiry.
    pub contact: Vec<String>,
    /// A root to trust for the directory (a private or test CA) instead of the system's.
    pub ca: Option<PathBuf>,
    pub cache: PathBuf,
}

impl Acme {
    pub fn prepare(&self) -> anyhow::Result<()> {
        crate::files::create_private_dir(&self.cache)
            .with_context(|| format!("creating the ACME cache {}", self.cache.display()))
    }

    /// The certificate's file: named after the domains and the CA, so a
    /// changed list or directory orders anew.
    fn cert_path(&self) -> PathBuf {
        let key = format!("{}|{}", self.domains.join(","), self.directory);
        self.cache.join(format!("cert-{}.pem", short_hash(&key)))
    }

    fn account_path(&self) -> PathBuf {
        self.cache
            .join(format!("account-{}.json", short_hash(&self.directory)))
    }
}

/// 16 hex digits of SHA-256: a file name that changes with `text`.
fn short_hash(text: &str) -> String {
    use sha2::Digest;
    data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(text.as_bytes())[..8])
}

/// The file of a pending TLS-ALPN-01 certificate for `name`.
pub fn challenge_file(name: &str) -> String {
    format!("tls-alpn-01-{name}.pem")
}

pub async fn keep_current(acme: Acme, current: Arc<Current>) {
    let path = acme.cert_path();
    let mut deployed: Option<Vec<u8>> = None;
    let mut backoff = Duration::from_secs(1);
    loop {
        let cached = std::fs::read(&path).ok();
        let mut renew_at = 0;
        if let Some(pem) = &cached {
            match super::certified_key(pem, true).and_then(|k| Ok((super::validity(&k)?, k))) {
                Ok(((not_before, not_after), key)) => {
                    if deployed.as_ref() != Some(pem) {
                        current.set(key);
                        deployed = Some(pem.clone());
                        tracing::info!(domains = ?acme.domains, not_after, "TLS certificate from the ACME cache in use");
                    }
                    renew_at = not_before + (not_after - not_before) * 2 / 3;
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = format!("{e:#}"), "the cached certificate is unusable; ordering a new one")
                }
            }
        }
        let now = now();
        if now < renew_at {
            let wait = u64::try_from(renew_at - now).unwrap_or(0).max(1);
            tokio::time::sleep(POLL.min(Duration::from_secs(wait))).await;
            continue;
        }
        let lock = match lock(&acme.cache) {
            Ok(Some(lock)) => lock,
            // Another node is ordering: its certificate will be in the folder.
            Ok(None) => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "the ACME cache cannot be locked");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(LONGEST_BACKOFF);
                continue;
            }
        };
        if std::fs::read(&path).ok() != cached {
            continue; // renewed by another node meanwhile
        }
        if !current.has_key() {
            tracing::info!(domains = ?acme.domains, directory = %acme.directory, "ordering the first TLS certificate");
        } else {
            tracing::info!(domains = ?acme.domains, "renewing the TLS certificate");
        }
        match order(&acme)
            .await
            .and_then(|pem| write_atomic(&path, pem.as_bytes()))
        {
            Ok(()) => {
                tracing::info!(domains = ?acme.domains, "new TLS certificate obtained");
                backoff = Duration::from_secs(1);
            }
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), retry_in = ?backoff, "ordering a TLS certificate failed");
                drop(lock);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(LONGEST_BACKOFF);
            }
        }
    }
}

fn lock(dir: &Path) -> anyhow::Result<Option<File>> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e.into()),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Readers never see half a file (0600: the umask is 077).
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

fn builder(acme: &Acme) -> anyhow::Result<instant_acme::AccountBuilder> {
    Ok(match &acme.ca {
        Some(root) => Account::builder_with_root(root)?,
        None => Account::builder()?,
    })
}

async fn account(acme: &Acme) -> anyhow::Result<Account> {
    let path = acme.account_path();
    if let Ok(json) = std::fs::read(&path) {
        let credentials: AccountCredentials =
            serde_json::from_slice(&json).context("the stored ACME account")?;
        return Ok(builder(acme)?.from_credentials(credentials).await?);
    }
    let contact: Vec<&str> = acme.contact.iter().map(String::as_str).collect();
    let new = NewAccount {
        contact: &contact,
        terms_of_service_agreed: true,
        only_return_existing: false,
    };
    let (account, credentials) = builder(acme)?
        .create(&new, acme.directory.clone(), None)
        .await
        .context("creating the ACME account")?;
    write_atomic(&path, &serde_json::to_vec(&credentials)?)?;
    tracing::info!(directory = %acme.directory, "ACME account created");
    Ok(account)
}

/// A new certificate: the key and the chain, PEM.
async fn order(acme: &Acme) -> anyhow::Result<String> {
    let account = match account(acme).await {
        Ok(a) => a,
        Err(e) => {
            // A CA that forgot the account (a test CA restarted): a new one next time.
            let _ = std::fs::remove_file(acme.account_path());
            return Err(e);
        }
    };
    let ids: Vec<Identifier> = acme.domains.iter().cloned().map(Identifier::Dns).collect();
    let mut order = account
        .new_order(&NewOrder::new(&ids))
        .await
        .context("new order")?;
    let mut written = Vec::new();
    let outcome = async {
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz?;
            match authz.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                status => anyhow::bail!("authorization {status:?}"),
            }
            let mut challenge = authz
                .challenge(ChallengeType::TlsAlpn01)
                .context("the CA offers no tls-alpn-01 challenge")?;
            let name = challenge.identifier().to_string();
            let mut params = rcgen::CertificateParams::new(vec![name.clone()])?;
            params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(
                challenge.key_authorization().digest().as_ref(),
            )];
            let key = rcgen::KeyPair::generate()?;
            let cert = params.self_signed(&key)?;
            let path = acme.cache.join(challenge_file(&name));
            write_atomic(
                &path,
                format!("{}{}", key.serialize_pem(), cert.pem()).as_bytes(),
            )?;
            written.push(path);
            challenge.set_ready().await?;
        }
        match order.poll_ready(&RetryPolicy::default()).await? {
            OrderStatus::Ready => {}
            status => anyhow::bail!("order {status:?}: {:?}", order.state().error),
        }
        let key = order.finalize().await?;
        let chain = order.poll_certificate(&RetryPolicy::default()).await?;
        Ok(key + &chain)
    }
    .await;
    for path in written {
        let _ = std::fs::remove_file(path);
    }
    outcome
}
