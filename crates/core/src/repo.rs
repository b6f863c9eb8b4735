//! Repository names and who may do what with a repository.

use crate::UserId;

/// A Git service a client asks for, over SSH or HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitService {
    UploadPack,
    ReceivePack,
    /// `git archive --remote` (SSH only).
    UploadArchive,
}

impl GitService {
    /// As clients name it: `git-upload-pack`.
    pub fn name(self) -> &'static str {
        match self {
            GitService::UploadPack => "git-upload-pack",
            GitService::ReceivePack => "git-receive-pack",
            GitService::UploadArchive => "git-upload-archive",
        }
    }

    /// As `git` runs it: `git upload-pack`.
    pub fn program(self) -> &'static str {
        match self {
            GitService::UploadPack => "upload-pack",
            GitService::ReceivePack => "receive-pack",
            GitService::UploadArchive => "upload-archive",
        }
    }

    /// Whether it changes the repository (needs write access).
    pub fn writes(self) -> bool {
        self == GitService::ReceivePack
    }
}

pub const MAX_REPO_NAME: usize = 100;
pub const MAX_DESCRIPTION: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoNameError {
    #[error("Repository names are 1 to 100 characters: letters, digits, '.', '-' and '_', not starting with '.' or '-'.")]
    Invalid,
}

/// Normalises a repository name (`Repo.git` → `Repo`) and refuses path tricks.
pub fn name(raw: &str) -> Result<String, RepoNameError> {
    let n = raw.trim();
    let n = n.strip_suffix(".git").unwrap_or(n);
    let ok = !n.is_empty()
        && n.len() <= MAX_REPO_NAME
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !n.starts_with(['.', '-'])
        && !n.contains("..")
        && !n.ends_with('.');
    if ok {
        Ok(n.to_string())
    } else {
        Err(RepoNameError::Invalid)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    None,
    Read,
    Write,
    /// The owner: write, plus settings and deletion.
    Admin,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Admin => "admin",
            Access::Write => "write",
            Access::Read => "read",
            Access::None => "none",
        }
    }

    /// What a collaborator may be given: `read` or `write`.
    pub fn parse(s: &str) -> Option<Access> {
        match s {
            "read" => Some(Access::Read),
            "write" => Some(Access::Write),
            _ => None,
        }
    }
}

/// What `viewer` may do: owners administer, collaborators get what they were
/// given, anyone signed in reads a public repository, nobody else anything.
pub fn access(
    owner_id: &UserId,
    is_private: bool,
    viewer: &UserId,
    collaborator: Option<Access>,
) -> Access {
    if owner_id == viewer {
        return Access::Admin;
    }
    let public = if is_private {
        Access::None
    } else {
        Access::Read
    };
    collaborator.unwrap_or(Access::None).max(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> UserId {
        UserId::new(s.to_string())
    }

    #[test]
    fn names() {
        assert_eq!(name("hello.git"), Ok("hello".into()));
        assert_eq!(name(" My_Repo-2 "), Ok("My_Repo-2".into()));
        for bad in [
            "",
            "..",
            "../x",
            "a/b",
            "/abs",
            ".hidden",
            "-opt",
            "a..b",
            "a b",
            "x.",
            "é",
            &"a".repeat(101),
        ] {
            assert_eq!(name(bad), Err(RepoNameError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn access_rules() {
        assert_eq!(access(&id("o"), true, &id("o"), None), Access::Admin);
        assert_eq!(access(&id("o"), true, &id("x"), None), Access::None);
        assert_eq!(access(&id("o"), false, &id("x"), None), Access::Read);
        assert_eq!(
            access(&id("o"), true, &id("x"), Some(Access::Read)),
            Access::Read
        );
        assert_eq!(
            access(&id("o"), false, &id("x"), Some(Access::Write)),
            Access::Write
        );
    }
}
