//! Making recovery codes, and keeping a fresh set briefly for download/print.

use twostep_core::{recovery, token};
use twostep_core::{UnixTime, UserId};
use twostep_store::{recovery_codes, sessions, users, Conn};

use super::Factors;
use crate::Failure;
use crate::{rng, AuthService, Result};

/// Fresh codes stay downloadable and printable from the session for this long.
const REVEAL_TTL: i64 = 15 * 60;

/// A new set, hashed and not yet stored: made before the transaction that
/// stores it, so the six Argon2 hashes hold no lock.
pub(crate) struct FreshCodes {
    codes: Vec<recovery::RecoveryCode>,
    rows: Vec<recovery_codes::NewCode>,
}

impl AuthService {
    pub(crate) async fn fresh_recovery_codes(&self) -> Result<FreshCodes> {
        let codes = recovery::generate(&mut rng());
        let mut rows = Vec::with_capacity(codes.len());
        for code in &codes {
            rows.push(recovery_codes::NewCode {
                id: token::new_id(&mut rng()),
                lookup: code.lookup().to_string(),
                hash: self.hasher().hash(&code.normalised()).await?,
            });
        }
        Ok(FreshCodes { codes, rows })
    }

    /// Replaces the user's set with `fresh`; the plain codes exist only in
    /// the return value and, sealed, in the session that asked for them.
    pub(crate) async fn new_recovery_codes(
        &self,
        c: &mut Conn,
        user_id: &UserId,
        fresh: FreshCodes,
        session_hash: Option<&str>,
        now: UnixTime,
    ) -> Result<Vec<recovery::RecoveryCode>> {
        let FreshCodes { codes, rows } = fresh;
        recovery_codes::replace(c, user_id, &rows, now).await?;
        // One code, picked here, must be typed back to show the list was saved.
        let position = rand::Rng::gen_range(&mut rng(), 1..=rows.len());
        users::set_codes_check(c, user_id, i64::try_from(position).ok()).await?;
        if let Some(h) = session_hash {
            let plain = codes
                .iter()
                .map(|c| c.display())
                .collect::<Vec<_>>()
                .join("\n");
            let sealed = self.keys().seal(&mut rng(), plain.as_bytes(), h.as_bytes());
            sessions::set_revealed(c, h, &sealed, now + REVEAL_TTL).await?;
        }
        Ok(codes)
    }

    /// Whether a typed code (normalised) is the one `stored` was made from:
    /// one Argon2 hash for this format, a keyed hash for the earlier one.
    pub(crate) async fn recovery_code_matches(&self, typed: &str, stored: &str) -> Result<bool> {
        if recovery::is_legacy_hash(stored) {
            let hash = recovery::hash_normalised(&self.keys().pepper, typed);
            return Ok(bool::from(subtle::ConstantTimeEq::ct_eq(
                hash.as_bytes(),
                stored.as_bytes(),
            )));
        }
        self.hasher().verify(typed, Some(stored)).await
    }
}

impl Factors<'_> {
    /// The codes made in this session during the last minutes, for the .txt
    /// download and the print page; `None` once that window has passed.
    pub async fn revealed_codes(&self, session_hash: &str) -> Result<Option<Vec<String>>> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let Some(sealed) = sessions::revealed(&mut c, session_hash, now).await? else {
            return Ok(None);
        };
        let plain = self
            .keys()
            .open(&sealed, session_hash.as_bytes())
            .map_err(|e| Failure::Sealed("the revealed recovery codes".into(), e))?;
        Ok(Some(
            String::from_utf8_lossy(&plain)
                .lines()
                .map(str::to_string)
                .collect(),
        ))
    }

    pub async fn recovery_codes_remaining(&self, user_id: &UserId) -> Result<i64> {
        let mut c = self.store().conn().await?;
        Ok(recovery_codes::remaining(&mut c, user_id).await?)
    }

    /// The downloadable file, from the revealed codes.
    pub fn recovery_text_file(&self, username: &str, codes: &[String]) -> String {
        let s = self.settings();
        recovery::text_file(&s.issuer, username, &s.public_url, codes)
    }
}
