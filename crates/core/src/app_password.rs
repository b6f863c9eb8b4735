//! App passwords: prefixed, high-entropy tokens (checked by SHA-256, no Argon2
//! needed) with scopes. They never change security settings.

pub const PREFIX: &str = "tsap_";
pub const MAX_LABEL: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    RepoRead,
    RepoWrite,
    AccountRead,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::RepoRead, Scope::RepoWrite, Scope::AccountRead];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::RepoRead => "repository:read",
            Scope::RepoWrite => "repository:write",
            Scope::AccountRead => "account:read",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scope::RepoRead => "Repositories: read (clone, fetch)",
            Scope::RepoWrite => "Repositories: write (push, create, delete)",
            Scope::AccountRead => "Account: read (profile, keys, security log through the API)",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Parses a stored or submitted list; unknown names are an error.
pub fn parse_scopes<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Vec<Scope>, String> {
    let mut out = Vec::new();
    for i in items {
        let s = Scope::parse(i.trim()).ok_or_else(|| format!("Unknown scope \"{}\".", i.trim()))?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.sort();
    Ok(out)
}

pub fn join_scopes(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Write implies read.
pub fn grants(scopes: &[Scope], needed: Scope) -> bool {
    scopes.contains(&needed) || (needed == Scope::RepoRead && scopes.contains(&Scope::RepoWrite))
}

/// A new token: `tsap_` and 32 random bytes in base32 (about 256 bits).
pub fn new_token(rng: &mut dyn rand::RngCore) -> String {
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    format!(
        "{PREFIX}{}",
        data_encoding::BASE32_NOPAD.encode(&b).to_lowercase()
    )
}

pub fn looks_like_token(s: &str) -> bool {
    s.starts_with(PREFIX) && s.len() == PREFIX.len() + 52
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn tokens_and_scopes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let t = new_token(&mut rng);
        assert!(looks_like_token(&t), "{t}");
        assert!(!looks_like_token("tsap_short"));
        let s = parse_scopes(["repository:write", "account:read", "repository:write"]).unwrap();
        assert_eq!(join_scopes(&s), "repository:write account:read");
        assert!(grants(&s, Scope::RepoRead));
        assert!(!grants(&[Scope::RepoRead], Scope::RepoWrite));
        assert!(parse_scopes(["admin"]).is_err());
    }
}
