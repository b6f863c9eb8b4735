//! What an SSH client asked to run.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Git {
        service: GitService,
        owner: String,
        repo: String,
    },
    RecoveryCodes,
    /// `password`: a new account password with a two-step code.
    Password,
    /// `recover`: start (or, with `--cancel`, cancel) self-service recovery.
    Recover {
        cancel: bool,
    },
    Unknown(String),
}

pub use twostep_core::repo::GitService;

/// `git-upload-pack '/alice/repo.git'` and friends, `recovery_codes` or `password`.
pub fn parse(raw: &str) -> Command {
    let line = raw.trim();
    if line.chars().any(char::is_control) {
        return Command::Unknown(truncate(line));
    }
    if line == "recovery_codes" || line == "recovery-codes" {
        return Command::RecoveryCodes;
    }
    if line == "password" {
        return Command::Password;
    }
    match line.split_whitespace().collect::<Vec<_>>().as_slice() {
        ["recover"] => return Command::Recover { cancel: false },
        ["recover", "--cancel"] => return Command::Recover { cancel: true },
        _ => {}
    }
    let (prog, arg) = match line.split_once(' ') {
        Some((p, a)) => (p, a.trim()),
        None => return Command::Unknown(truncate(line)),
    };
    let (prog, arg) = if prog == "git" {
        match arg.split_once(' ') {
            Some((sub, rest)) => (format!("git-{sub}"), rest.trim()),
            None => return Command::Unknown(truncate(line)),
        }
    } else {
        (prog.to_string(), arg)
    };
    let service = match prog.as_str() {
        "git-upload-pack" => GitService::UploadPack,
        "git-receive-pack" => GitService::ReceivePack,
        "git-upload-archive" => GitService::UploadArchive,
        _ => return Command::Unknown(truncate(line)),
    };
    let path = arg.trim_matches(|c| c == '\'' || c == '"');
    let path = path.trim_start_matches('/');
    let Some((owner, repo)) = path.split_once('/') else {
        return Command::Unknown(truncate(line));
    };
    if owner.is_empty() || repo.is_empty() || repo.contains('/') {
        return Command::Unknown(truncate(line));
    }
    Command::Git {
        service,
        owner: owner.to_string(),
        repo: repo.trim_end_matches(".git").to_string(),
    }
}

/// For echoing a command back: 80 characters, control characters escaped.
fn truncate(s: &str) -> String {
    s.chars()
        .take(80)
        .map(|c| {
            if c.is_control() {
                c.escape_debug().collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_commands() {
        let want = Command::Git {
            service: GitService::UploadPack,
            owner: "alice".into(),
            repo: "proj".into(),
        };
        assert_eq!(parse("git-upload-pack '/alice/proj.git'"), want);
        assert_eq!(parse("git-upload-pack 'alice/proj.git'"), want);
        assert_eq!(parse("git upload-pack '/alice/proj'"), want);
        assert!(matches!(
            parse("git-receive-pack '/a/b.git'"),
            Command::Git {
                service: GitService::ReceivePack,
                ..
            }
        ));
        assert_eq!(parse("recovery_codes"), Command::RecoveryCodes);
        assert_eq!(parse(" password "), Command::Password);
        assert!(matches!(parse("password alice"), Command::Unknown(_)));
        assert_eq!(parse("recover"), Command::Recover { cancel: false });
        assert_eq!(
            parse("recover  --cancel"),
            Command::Recover { cancel: true }
        );
        assert!(matches!(parse("recover --now"), Command::Unknown(_)));
        assert!(matches!(
            parse("git-upload-pack '/a/b/c.git'"),
            Command::Unknown(_)
        ));
        assert!(matches!(parse("rm -rf /"), Command::Unknown(_)));
        assert!(matches!(parse("bash"), Command::Unknown(_)));
        assert_eq!(
            parse("git-upload-pack '/a\0/b.git'"),
            Command::Unknown("git-upload-pack '/a\\0/b.git'".into())
        );
        assert_eq!(parse("x\x1b[2J"), Command::Unknown("x\\u{1b}[2J".into()));
    }
}
