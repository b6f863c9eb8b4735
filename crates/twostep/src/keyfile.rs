//! The master key for secrets at rest: from config, or generated once into
//! the data folder (mode 0600) and reused on every start.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

pub fn load_or_create(data_dir: &Path, configured: Option<&str>) -> anyhow::Result<[u8; 32]> {
    if let Some(hex) = configured {
        return parse(hex.trim()).context("secret_key must be 64 hex characters");
    }
    let path = data_dir.join("secret.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        return parse(text.trim()).with_context(|| {
            format!(
                "{} is damaged: it must hold 64 hex characters",
                path.display()
            )
        });
    }
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(f, "{}", data_encoding::HEXLOWER.encode(&key))?;
    f.sync_all()?;
    tracing::info!(path = %path.display(), "generated a new secret key; back it up with the database");
    Ok(key)
}

fn parse(hex: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = data_encoding::HEXLOWER_PERMISSIVE.decode(hex.as_bytes())?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("wrong length"))
}
