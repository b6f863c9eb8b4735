//! Usernames and email addresses.

pub const MAX_EMAIL: usize = 254;

/// Names that would collide with routes (`/OWNER/REPO.git` lives at the root).
const RESERVED: &[&str] = &[
    "admin",
    "api",
    "account",
    "assets",
    "confirm",
    "git",
    "help",
    "login",
    "logout",
    "new",
    "password",
    "recovery",
    "repositories",
    "root",
    "settings",
    "signin",
    "signout",
    "signup",
    "static",
    "two-step",
    "twostep",
    "users",
    "www",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("Usernames are 2 to 39 characters: lowercase letters, digits and dashes, starting with a letter or digit.")]
    Invalid,
    #[error("The username \"{0}\" is reserved. Choose another.")]
    Reserved(String),
    #[error("Enter a valid email address, like you@example.com.")]
    InvalidEmail,
}

pub fn username(raw: &str) -> Result<String, NameError> {
    let name = raw.trim().to_ascii_lowercase();
    let ok = (2..=39).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && !name.ends_with('-')
        && !name.contains("--");
    if !ok {
        return Err(NameError::Invalid);
    }
    if RESERVED.contains(&name.as_str()) {
        return Err(NameError::Reserved(name));
    }
    Ok(name)
}

/// A deliberately plain check: one `@`, a dotted domain, no spaces; the
/// confirmation mail is the real test.
pub fn email(raw: &str) -> Result<String, NameError> {
    let e = raw.trim();
    if e.len() > MAX_EMAIL || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(NameError::InvalidEmail);
    }
    let (local, domain) = e.split_once('@').ok_or(NameError::InvalidEmail)?;
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || e.contains(['<', '>', ',', ';', '"', '\\'])
    {
        return Err(NameError::InvalidEmail);
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// A `GIT_PROTOCOL` value safe to hand to git (`version=2` and the like), for
/// SSH's environment request and HTTP's `Git-Protocol` header alike.
pub fn git_protocol(value: &str) -> Option<&str> {
    (value.len() < 100
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "=:._-".contains(c)))
    .then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_protocol_values() {
        assert_eq!(git_protocol("version=2"), Some("version=2"));
        assert_eq!(
            git_protocol("version=2:object-format=sha256"),
            Some("version=2:object-format=sha256")
        );
        assert_eq!(git_protocol("version=2;rm -rf"), None);
        assert_eq!(git_protocol(&"a".repeat(100)), None);
    }

    #[test]
    fn usernames() {
        assert_eq!(username(" Alice "), Ok("alice".into()));
        assert_eq!(username("a"), Err(NameError::Invalid));
        assert_eq!(username("../etc"), Err(NameError::Invalid));
        assert_eq!(username("-bob"), Err(NameError::Invalid));
        assert_eq!(username("api"), Err(NameError::Reserved("api".into())));
        assert!(matches!(
            username("repositories"),
            Err(NameError::Reserved(_))
        ));
    }

    #[test]
    fn emails() {
        assert_eq!(email("Bob@Example.COM"), Ok("Bob@example.com".into()));
        for bad in [
            "bob",
            "bob@",
            "@x.io",
            "bob@localhost",
            "a b@x.io",
            "a@b@x.io",
            "a<b>@x.io",
        ] {
            assert_eq!(email(bad), Err(NameError::InvalidEmail), "{bad}");
        }
    }
}
