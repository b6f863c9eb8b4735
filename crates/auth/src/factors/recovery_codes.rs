//! Making recovery codes, and keeping a fresh set briefly for download/print.

use twostep_core::{recovery, token};
use twostep_core::{UnixTime, UserId};
use twostep_store::{recovery_codes, sessions, users, Conn};

use super::Factors;
use crate::Failure;
use crate::{rng, AuthService, Result};

/// Fresh codes stay downloadable and printable from the session for this long.
const REVEAL_TTL: i64 = 15 * 60;

impl AuthService {
    /// Replaces the user's set; the plain codes exist only in the return value
    /// and, sealed, in the session that asked for them.
    pub(crate) async fn new_recovery_codes(
        &self,
        c: &mut Conn,
        user_id: &UserId,
        session_hash: Option<&str>,
        now: UnixTime,
    ) -> Result<Vec<recovery::RecoveryCode>> {
        let codes = recovery::generate(&mut rng());
        let rows: Vec<(String, String)> = codes
            .iter()
            .map(|code| (token::new_id(&mut rng()), code.hash(&self.keys().pepper)))
            .collect();
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
