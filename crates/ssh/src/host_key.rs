//! The server's host key: generated once into the data folder, then reused.

use std::path::Path;

use russh::keys::{HashAlg, PrivateKey};

pub fn load_or_create(path: &Path) -> std::io::Result<PrivateKey> {
    if path.exists() {
        return russh::keys::load_secret_key(path, None).map_err(|e| {
            std::io::Error::other(format!("reading the SSH host key {}: {e}", path.display()))
        });
    }
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
    let pair = russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&seed);
    let key = PrivateKey::from(pair);
    let text = key
        .to_openssh(russh::keys::ssh_key::LineEnding::LF)
        .map_err(|e| std::io::Error::other(format!("encoding the SSH host key: {e}")))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    std::io::Write::write_all(&mut opts.open(path)?, text.as_bytes())?;
    tracing::info!(path = %path.display(), fingerprint = %fingerprint(&key), "generated the SSH host key");
    Ok(key)
}

/// `SHA256:…`, as `ssh-keygen -lf` and OpenSSH's first-connection prompt show it.
pub fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}
