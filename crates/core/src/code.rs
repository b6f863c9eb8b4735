//! What a person types into a "code" field, normalised.
//!
//! People paste codes with spaces (`123 456`), dashes or stray whitespace; an
//! authenticator code is 6 digits, a recovery code 16 letters and digits
//! (12 in the earlier format).

use crate::recovery::{LEGACY_CODE_LEN, RECOVERY_CODE_LEN};
use crate::totp::DIGITS;

/// Longest input we even look at; anything longer is refused unread.
pub const MAX_CODE_INPUT: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactorInput {
    /// Six digits from an authenticator app.
    Totp(String),
    /// A one-time recovery code, lower-cased, without separators.
    Recovery(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeInputError {
    #[error("Enter the 6-digit code from your authenticator app, or one of your recovery codes.")]
    Empty,
    #[error("That is not a code: enter the 6 digits from your authenticator app, or a recovery code like abcd-efgh-jkmn-pqrs.")]
    Malformed,
}

/// Strips spaces, dashes and the like, then tells a TOTP code from a recovery code.
pub fn parse_second_factor(raw: &str) -> Result<SecondFactorInput, CodeInputError> {
    if raw.len() > MAX_CODE_INPUT {
        return Err(CodeInputError::Malformed);
    }
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_' && *c != '.')
        .collect::<String>()
        .to_ascii_lowercase();
    if cleaned.is_empty() {
        return Err(CodeInputError::Empty);
    }
    if !cleaned.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(CodeInputError::Malformed);
    }
    // 6 digits from apps, 8 from some hardware tokens.
    if (cleaned.len() == DIGITS || cleaned.len() == 8)
        && cleaned.chars().all(|c| c.is_ascii_digit())
    {
        return Ok(SecondFactorInput::Totp(cleaned));
    }
    if cleaned.len() == RECOVERY_CODE_LEN || cleaned.len() == LEGACY_CODE_LEN {
        return Ok(SecondFactorInput::Recovery(cleaned));
    }
    Err(CodeInputError::Malformed)
}

/// Only an authenticator code (used when a recovery code makes no sense, e.g. setup).
pub fn parse_totp(raw: &str) -> Result<String, CodeInputError> {
    match parse_second_factor(raw)? {
        SecondFactorInput::Totp(c) => Ok(c),
        SecondFactorInput::Recovery(_) => Err(CodeInputError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_and_dashes_are_ignored() {
        assert_eq!(
            parse_second_factor(" 123 456 "),
            Ok(SecondFactorInput::Totp("123456".into()))
        );
        assert_eq!(
            parse_second_factor("123-456"),
            Ok(SecondFactorInput::Totp("123456".into()))
        );
        assert_eq!(
            parse_second_factor("ABCD-efgh-2345"),
            Ok(SecondFactorInput::Recovery("abcdefgh2345".into()))
        );
    }

    #[test]
    fn junk_is_refused_with_a_reason() {
        assert_eq!(parse_second_factor("   "), Err(CodeInputError::Empty));
        assert_eq!(parse_second_factor("12345"), Err(CodeInputError::Malformed));
        assert_eq!(
            parse_second_factor("12345é"),
            Err(CodeInputError::Malformed)
        );
        assert_eq!(
            parse_second_factor(&"1".repeat(100)),
            Err(CodeInputError::Malformed)
        );
        assert_eq!(parse_totp("abcd-efgh-2345"), Err(CodeInputError::Malformed));
    }
}
