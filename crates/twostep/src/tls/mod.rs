//! HTTPS built in: the certificate comes from PEM files (read again on
//! SIGHUP) or from an ACME CA (RFC 8555), and is swapped under running
//! connections: a handshake takes whatever is current.

mod acme;
mod files;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;
use twostep_web::server::ACME_TLS_ALPN;

pub use acme::{Acme, LETS_ENCRYPT};

/// Where the certificate comes from.
#[derive(Debug, Clone)]
pub enum Source {
    Files { cert: PathBuf, key: PathBuf },
    Acme(Acme),
}

/// The acceptor for the HTTPS listener; its certificate is kept current by
/// a task of its own (SIGHUP for files, the renewal loop for ACME).
pub async fn start(source: &Source) -> anyhow::Result<TlsAcceptor> {
    let resolver = Arc::new(Current::default());
    let mut alpn = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    match source {
        Source::Files { cert, key } => {
            resolver.set(files::load(cert, key)?);
            files::reload_on_sighup(resolver.clone(), cert.clone(), key.clone())?;
        }
        Source::Acme(acme) => {
            acme.prepare()?;
            *resolver
                .challenges
                .write()
                .map_err(|_| anyhow::anyhow!("poisoned"))? = Some(acme.cache.clone());
            alpn.push(ACME_TLS_ALPN.to_vec());
            tokio::spawn(acme::keep_current(acme.clone(), resolver.clone()));
        }
    }
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = alpn;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate served now, and (ACME) the folder of pending challenge
/// certificates, shared by the nodes so any of them answers a validation.
#[derive(Debug, Default)]
pub(crate) struct Current {
    key: RwLock<Option<Arc<CertifiedKey>>>,
    challenges: RwLock<Option<PathBuf>>,
}

impl Current {
    pub(crate) fn set(&self, key: CertifiedKey) {
        if let Ok(mut k) = self.key.write() {
            *k = Some(Arc::new(key));
        }
    }

    fn has_key(&self) -> bool {
        self.key.read().map(|k| k.is_some()).unwrap_or(false)
    }
}

impl ResolvesServerCert for Current {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // RFC 8737: the validator offers acme-tls/1 alone.
        if hello.alpn().into_iter().flatten().eq([ACME_TLS_ALPN]) {
            let dir = self.challenges.read().ok()?.clone()?;
            let name = hello.server_name()?;
            let pem = std::fs::read(dir.join(acme::challenge_file(name))).ok()?;
            // Not `keys_match`: webpki cannot read the critical acmeIdentifier extension.
            return certified_key(&pem, false).ok().map(Arc::new);
        }
        self.key.read().ok()?.clone()
    }
}

/// A private key and its certificate chain from PEM (one text or two).
pub(crate) fn certified_key(pem: &[u8], check: bool) -> anyhow::Result<CertifiedKey> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .context("reading the certificates")?;
    anyhow::ensure!(!certs.is_empty(), "no certificate in it");
    let key = PrivateKeyDer::from_pem_slice(pem).context("no private key in it")?;
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .context("the private key")?;
    let key = CertifiedKey::new(certs, signing);
    if check {
        key.keys_match()
            .context("the private key does not belong to the certificate")?;
    }
    Ok(key)
}

/// The certificate's validity, seconds since the epoch.
pub(crate) fn validity(key: &CertifiedKey) -> anyhow::Result<(i64, i64)> {
    let leaf = key.cert.first().context("no certificate")?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| anyhow::anyhow!("reading the certificate: {e}"))?;
    let v = cert.validity();
    Ok((v.not_before.timestamp(), v.not_after.timestamp()))
}
