//! A certificate and key from PEM files, read again on SIGHUP (a renewal by
//! certbot or another tool): new handshakes get the new pair, connections
//! open keep theirs, and a pair that does not load leaves the old in place.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rustls::sign::CertifiedKey;

use super::Current;

pub fn load(cert: &Path, key: &Path) -> anyhow::Result<CertifiedKey> {
    let mut pem = std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
    pem.extend_from_slice(b"\n");
    pem.extend(std::fs::read(key).with_context(|| format!("reading {}", key.display()))?);
    let pair = super::certified_key(&pem, true)
        .with_context(|| format!("tls_cert {} and tls_key {}", cert.display(), key.display()))?;
    if let Ok((_, not_after)) = super::validity(&pair) {
        tracing::info!(cert = %cert.display(), not_after, "TLS certificate loaded");
    }
    Ok(pair)
}

pub fn reload_on_sighup(current: Arc<Current>, cert: PathBuf, key: PathBuf) -> anyhow::Result<()> {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("listening for SIGHUP")?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            match load(&cert, &key) {
                Ok(pair) => {
                    current.set(pair);
                    tracing::info!("SIGHUP: TLS certificate reloaded");
                }
                Err(e) => {
                    tracing::error!(
                        error = format!("{e:#}"),
                        "SIGHUP: the new TLS certificate did not load; still serving the old one"
                    )
                }
            }
        }
    });
    Ok(())
}
