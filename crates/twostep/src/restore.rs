//! `twostep restore FILE --data-dir NEW`: a backup into a new data folder.
//! Refuses to write over anything; checks every member against the
//! manifest's SHA-256 before any of it is used; builds the folder under a
//! temporary name and renames it into place, so a failed restore leaves
//! nothing half-made.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::backup::{sha256_file, Manifest, FORMAT, MANIFEST};

pub fn run(file: &Path, data_dir: &Path, repositories_dir: Option<&Path>) -> anyhow::Result<()> {
    refuse_if_used(data_dir)?;
    if let Some(r) = repositories_dir {
        refuse_if_used(r)?;
    }
    let parent = data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // Folders made for the staging area go again if the restore fails.
    let made = first_missing(parent);
    std::fs::create_dir_all(parent)?;
    let restored = restore_into(file, parent, data_dir, repositories_dir);
    if let (Err(_), Some(made)) = (&restored, made) {
        let _ = std::fs::remove_dir_all(made);
    }
    restored
}

/// The outermost ancestor of `dir` (itself included) that does not exist.
fn first_missing(dir: &Path) -> Option<PathBuf> {
    let mut missing = None;
    for a in dir.ancestors().filter(|a| !a.as_os_str().is_empty()) {
        if a.exists() {
            break;
        }
        missing = Some(a.to_path_buf());
    }
    missing
}

fn restore_into(
    file: &Path,
    parent: &Path,
    data_dir: &Path,
    repositories_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let staging = tempfile::Builder::new()
        .prefix(".twostep-restore-")
        .tempdir_in(parent)
        .context("making a staging folder next to the new data folder")?;
    let root = staging.path();
    let manifest = unpack(file, root)?;

    let bundles = root.join("repositories");
    let repos_root = root.join("restored-repositories");
    let mut restored = 0;
    let members: Vec<&str> = manifest
        .files
        .iter()
        .map(|m| m.path.as_str())
        .filter(|p| p.starts_with("repositories/"))
        .collect();
    let bar = crate::progress::bar(members.len() as u64, "repositories");
    for rel in members {
        let (owner, file_name) = rel
            .trim_start_matches("repositories/")
            .split_once('/')
            .with_context(|| format!("unexpected member {rel}"))?;
        let (name, bundle) = match file_name.rsplit_once('.') {
            Some((n, "bundle")) => (n, true),
            Some((n, "empty")) => (n, false),
            _ => anyhow::bail!("unexpected member {rel}"),
        };
        bar.set_message(format!("{owner}/{name}"));
        let target = repos_root.join(owner).join(format!("{name}.git"));
        std::fs::create_dir_all(target.parent().unwrap_or(&repos_root))?;
        git(&[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            &target.to_string_lossy(),
        ])?;
        if bundle {
            let from = root.join(rel);
            git(&[
                "-C",
                &target.to_string_lossy(),
                "fetch",
                "--quiet",
                &from.to_string_lossy(),
                "+refs/*:refs/*",
            ])
            .with_context(|| format!("restoring {owner}/{name}"))?;
        }
        restored += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let _ = std::fs::remove_dir_all(&bundles);
    std::fs::remove_file(root.join(MANIFEST))?;
    for private in ["secret.key", "ssh_host_ed25519_key", "twostep.db"] {
        set_private(&root.join(private));
    }

    let repos_to = repositories_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| data_dir.join("repositories"));
    if repositories_dir.is_some() {
        if repos_root.exists() {
            std::fs::rename(&repos_root, &repos_to)
                .or_else(|_| copy_tree(&repos_root, &repos_to))
                .with_context(|| format!("moving the repositories to {}", repos_to.display()))?;
        }
    } else if repos_root.exists() {
        std::fs::rename(&repos_root, root.join("repositories"))?;
    }
    set_private(root);
    let kept = staging.keep();
    std::fs::rename(&kept, data_dir)
        .with_context(|| format!("moving the restored folder to {}", data_dir.display()))?;

    println!(
        "restored {restored} repositories and the keys of a {} backup made by twostep {} into {}",
        manifest.database,
        manifest.twostep_version,
        data_dir.display()
    );
    if manifest.database == "postgres" {
        if data_dir.join("database.pgdump").exists() {
            println!(
                "restore the database into an empty PostgreSQL database:\n  pg_restore --no-owner --dbname=URL {}",
                data_dir.join("database.pgdump").display()
            );
        } else {
            println!("this backup holds no database: restore it from your pg_dump");
        }
        println!(
            "then: twostep serve --data-dir {} --database-url URL",
            data_dir.display()
        );
    } else {
        println!(
            "start it with: twostep serve --data-dir {}",
            data_dir.display()
        );
    }
    if repositories_dir.is_some() {
        println!("(with --repositories-dir {})", repos_to.display());
    }
    Ok(())
}

fn refuse_if_used(dir: &Path) -> anyhow::Result<()> {
    let used = std::fs::read_dir(dir).map(|mut d| d.next().is_some());
    anyhow::ensure!(
        !matches!(used, Ok(true)),
        "{} is not empty: restore into a new folder (nothing was written)",
        dir.display()
    );
    anyhow::ensure!(
        !dir.exists() || dir.is_dir(),
        "{} is a file: restore into a new folder",
        dir.display()
    );
    Ok(())
}

/// Unpacks the archive into `root` and checks every member against the manifest.
fn unpack(file: &Path, root: &Path) -> anyhow::Result<Manifest> {
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(f));
    let mut seen: Vec<String> = Vec::new();
    // tar's own errors name the staging folder; say what is wrong instead.
    let broken = |after: Option<&String>| {
        let at = after.map(|p| format!(" (after {p})")).unwrap_or_default();
        anyhow::anyhow!(
            "{} is truncated or damaged{at}: it is not a whole backup archive (nothing was restored)",
            file.display()
        )
    };
    for entry in archive.entries().map_err(|_| broken(None))? {
        let mut entry = entry.map_err(|_| broken(seen.last()))?;
        let path = entry
            .path()
            .map_err(|_| broken(seen.last()))?
            .to_string_lossy()
            .into_owned();
        anyhow::ensure!(
            entry.header().entry_type().is_file(),
            "unexpected member {path} in the backup"
        );
        anyhow::ensure!(
            entry.unpack_in(root).map_err(|_| broken(seen.last()))?,
            "unsafe path {path} in the backup"
        );
        seen.push(path);
    }
    let text = std::fs::read(root.join(MANIFEST)).context("the backup has no manifest.json")?;
    let manifest: Manifest =
        serde_json::from_slice(&text).context("the backup's manifest.json is damaged")?;
    anyhow::ensure!(
        manifest.format <= FORMAT,
        "this backup was made by a newer twostep ({}); restore it with that version",
        manifest.twostep_version
    );
    for m in &manifest.files {
        let (size, sha) = sha256_file(&root.join(&m.path))
            .with_context(|| format!("the backup lacks {}", m.path))?;
        anyhow::ensure!(
            size == m.size && sha == m.sha256,
            "{} in the backup does not match its checksum: the file is damaged (nothing was restored)",
            m.path
        );
    }
    for path in seen.iter().filter(|p| *p != MANIFEST) {
        anyhow::ensure!(
            manifest.files.iter().any(|m| &m.path == path),
            "{path} in the backup is not in its manifest"
        );
    }
    Ok(manifest)
}

fn git(args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new("git").args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "git {}: {}",
        args.first().unwrap_or(&""),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

fn set_private(path: &Path) {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = if meta.is_dir() { 0o700 } else { 0o600 };
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
    }
}

/// For a repositories folder on another filesystem (rename cannot cross).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
