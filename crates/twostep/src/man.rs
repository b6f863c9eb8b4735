//! `twostep man DIR` (hidden): the man pages, made from the command line's
//! own definitions by clap_mangen, for packagers: twostep.1 and one page per
//! command (twostep-serve.1, twostep-admin-grant.1, …).

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

pub fn write(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // NAME reads "twostep - self-hosted Git server …", not the --help line
    // that repeats the name.
    let cmd = crate::cli::Cli::command()
        .about("self-hosted Git server built around two-step verification and account recovery");
    clap_mangen::generate_to(cmd, dir)
        .with_context(|| format!("writing the man pages into {}", dir.display()))?;
    // The process umask is 077 (files::private_umask): pages are for everyone.
    #[cfg(unix)]
    for entry in std::fs::read_dir(dir)?.flatten() {
        use std::os::unix::fs::PermissionsExt;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("twostep") && name.ends_with(".1") {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o644))?;
        }
    }
    Ok(())
}
