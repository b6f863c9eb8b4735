//! The server's host key: generated once (DATA/ssh_host_ed25519_key or
//! --ssh-host-key), then reused.

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
    // Written whole under a temporary name, then linked into place: nodes
    // starting at once on a shared folder agree on the one that got there first.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    std::io::Write::write_all(&mut opts.open(&tmp)?, text.as_bytes())?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return load_or_create(path),
        Err(e) => return Err(e),
    }
    tracing::info!(path = %path.display(), fingerprint = %fingerprint(&key), "generated the SSH host key");
    Ok(key)
}

/// `SHA256:…`, as `ssh-keygen -lf` and OpenSSH's first-connection prompt show it.
pub fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}
