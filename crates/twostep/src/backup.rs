//! `twostep backup FILE`: one consistent archive while the server runs.
//!
//! A tar file holding `manifest.json` (versions, and the size and SHA-256 of
//! every other member), the database (`twostep.db` by SQLite's `VACUUM INTO`;
//! `database.pgdump` by `pg_dump` when it is on the PATH), `secret.key`,
//! `ssh_host_ed25519_key`, and one Git bundle per repository
//! (`repositories/OWNER/NAME.bundle`, or `NAME.empty` for a repository with
//! no commits yet). A bundle is a snapshot git itself makes consistent, so a
//! push or a repack running meanwhile cannot tear it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::config::Config;

pub const MANIFEST: &str = "manifest.json";
pub const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub twostep_version: String,
    pub created_at: i64,
    /// `sqlite` or `postgres`.
    pub database: String,
    pub schema_version: i64,
    pub files: Vec<Member>,
}

#[derive(Serialize, Deserialize)]
pub struct Member {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

pub async fn run(cfg: Config, file: PathBuf) -> anyhow::Result<()> {
    anyhow::ensure!(
        !file.exists(),
        "{} exists already: name a new file",
        file.display()
    );
    let staging = tempfile::Builder::new()
        .prefix(".twostep-backup-")
        .tempdir_in(
            file.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )
        .context("making a staging folder next to the backup file")?;
    let root = staging.path();
    let store = twostep_store::Store::connect(&cfg.database_url)
        .await
        .with_context(|| format!("opening the database {}", cfg.database_display()))?;
    let schema_version = store.schema_version().await?;
    let postgres = store.backend() == twostep_store::Backend::Postgres;
    let mut staged: Vec<String> = Vec::new();

    eprintln!("database: {}", cfg.database_display());
    if postgres {
        if pg_dump(&cfg.database_url, &root.join("database.pgdump"))? {
            staged.push("database.pgdump".into());
        } else {
            eprintln!(
                "pg_dump is not on the PATH: back the database up with\n  pg_dump --format=custom --file=twostep.pgdump '{}'\n(this archive holds the repositories and keys only)",
                cfg.database_display()
            );
        }
    } else {
        store
            .copy_into(&root.join("twostep.db"))
            .await
            .context("copying the SQLite database (VACUUM INTO)")?;
        staged.push("twostep.db".into());
    }
    store.close().await;

    let key = secret_key(&cfg)?;
    write_private(&root.join("secret.key"), format!("{key}\n").as_bytes())?;
    staged.push("secret.key".into());
    if cfg.host_key_path().is_file() {
        std::fs::copy(cfg.host_key_path(), root.join("ssh_host_ed25519_key"))?;
        staged.push("ssh_host_ed25519_key".into());
    }

    let repos = repositories(&cfg.repositories_dir)?;
    let bar = crate::progress::bar(repos.len() as u64, "repositories");
    for (owner, name) in &repos {
        bar.set_message(format!("{owner}/{name}"));
        let from = cfg.repositories_dir.join(owner).join(format!("{name}.git"));
        std::fs::create_dir_all(root.join("repositories").join(owner))?;
        let rel =
            bundle(&from, root, owner, name).with_context(|| format!("bundling {owner}/{name}"))?;
        staged.push(rel);
        bar.inc(1);
    }
    bar.finish_and_clear();

    let mut files = Vec::new();
    for rel in &staged {
        files.push(member(root, rel)?);
    }
    let manifest = Manifest {
        format: FORMAT,
        twostep_version: env!("CARGO_PKG_VERSION").into(),
        created_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
        database: if postgres { "postgres" } else { "sqlite" }.into(),
        schema_version,
        files,
    };
    std::fs::write(root.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;

    let partial = file.with_extension("partial");
    {
        let out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode_private()
            .open(&partial)
            .with_context(|| format!("creating {}", partial.display()))?;
        let mut tar = tar::Builder::new(std::io::BufWriter::new(out));
        tar.append_path_with_name(root.join(MANIFEST), MANIFEST)?;
        for rel in &staged {
            tar.append_path_with_name(root.join(rel), rel)?;
        }
        let mut out = tar.into_inner()?;
        out.flush()?;
        out.get_ref().sync_all()?;
    }
    std::fs::rename(&partial, &file)?;
    let total: u64 = manifest.files.iter().map(|m| m.size).sum();
    println!(
        "backed up {} repositories, the keys{} into {} ({:.1} MB); it holds the secret key: keep it private",
        repos.len(),
        if staged.iter().any(|s| s == "twostep.db" || s == "database.pgdump") {
            " and the database"
        } else {
            ""
        },
        file.display(),
        total as f64 / 1e6
    );
    Ok(())
}

/// The master key in hex: the configured one, or the data folder's file.
fn secret_key(cfg: &Config) -> anyhow::Result<String> {
    if let Some(k) = &cfg.secret_key {
        return Ok(k.trim().to_string());
    }
    let path = cfg.data_dir.join("secret.key");
    Ok(std::fs::read_to_string(&path)
        .with_context(|| format!("reading {}", path.display()))?
        .trim()
        .to_string())
}

/// `(owner, name)` of every `OWNER/NAME.git` folder.
fn repositories(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    let Ok(owners) = std::fs::read_dir(dir) else {
        return Ok(found);
    };
    for owner in owners.flatten() {
        if !owner.path().is_dir() {
            continue;
        }
        let owner_name = owner.file_name().to_string_lossy().into_owned();
        for repo in std::fs::read_dir(owner.path())?.flatten() {
            let file = repo.file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_suffix(".git") {
                if repo.path().is_dir() && !name.starts_with('.') {
                    found.push((owner_name.clone(), name.to_string()));
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Writes the repository's bundle (or an empty marker); its archive path.
fn bundle(repo: &Path, root: &Path, owner: &str, name: &str) -> anyhow::Result<String> {
    let refs = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["for-each-ref", "--count=1", "--format=%(refname)"])
        .output()?;
    anyhow::ensure!(
        refs.status.success(),
        "{} is not a git repository",
        repo.display()
    );
    if refs.stdout.is_empty() {
        let rel = format!("repositories/{owner}/{name}.empty");
        std::fs::write(root.join(&rel), b"")?;
        return Ok(rel);
    }
    let rel = format!("repositories/{owner}/{name}.bundle");
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["bundle", "create", "--quiet"])
        .arg(root.join(&rel))
        .arg("--all")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "git bundle: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(rel)
}

/// `pg_dump --format=custom` into `out`; false when pg_dump is not installed.
fn pg_dump(url: &str, out: &Path) -> anyhow::Result<bool> {
    let run = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(out)
        .arg(url)
        .output();
    match run {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).context("running pg_dump"),
        Ok(o) => {
            anyhow::ensure!(
                o.status.success(),
                "pg_dump failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            Ok(true)
        }
    }
}

pub fn sha256_file(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, data_encoding::HEXLOWER.encode(&hasher.finalize())))
}

fn member(root: &Path, rel: &str) -> anyhow::Result<Member> {
    let (size, sha256) = sha256_file(&root.join(rel))?;
    Ok(Member {
        path: rel.to_string(),
        size,
        sha256,
    })
}

pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode_private()
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// Files only their owner reads (the archive holds the secret key).
pub trait PrivateMode {
    fn mode_private(&mut self) -> &mut Self;
}

impl PrivateMode for std::fs::OpenOptions {
    fn mode_private(&mut self) -> &mut Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            self.mode(0o600);
        }
        self
    }
}
