//! Whether this node can serve: the database answers and the repositories
//! folder takes writes (for load balancers' readiness checks).

use crate::{AuthError, AuthService, Failure, Result};

/// How long each readiness check may take.
const CHECK_WAIT: std::time::Duration = std::time::Duration::from_millis(800);

impl AuthService {
    /// `Ok` when ready; otherwise what is wrong, in a sentence for operators.
    pub async fn readiness(&self) -> Result<()> {
        // A balancer's check gives up after 2 to 5 s: a database that does
        // not answer in time is as good as gone (the pool alone would wait
        // 10 s for a connection that never comes).
        let ping = tokio::time::timeout(CHECK_WAIT, self.store().ping()).await;
        let ping = ping.unwrap_or_else(|_| Err(twostep_store::StoreError::PoolTimedOut));
        ping.map_err(|e| {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            AuthError::Internal(Failure::Unready("the database does not answer"))
        })?;
        let dir = &self.settings().repos_dir;
        let probe = dir.join(format!(".ready-{}", std::process::id()));
        let written = async {
            tokio::fs::create_dir_all(dir).await?;
            tokio::fs::write(&probe, b"ok").await?;
            tokio::fs::remove_file(&probe).await
        };
        let written = tokio::time::timeout(CHECK_WAIT, written)
            .await
            .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()));
        written.map_err(|e| {
            tracing::warn!(error = %e, dir = %dir.display(), "readiness: the repositories folder takes no writes");
            AuthError::Internal(Failure::Unready("the repositories folder takes no writes"))
        })
    }
}

impl AuthService {
    /// Whether this node's master key is the one the database was written
    /// with (the first node to start records it).
    pub async fn secret_key_matches_database(&self) -> Result<bool> {
        let mut c = self.store().conn().await?;
        let check = data_encoding::HEXLOWER.encode(&self.keys().check);
        Ok(twostep_store::key_checks::agree(&mut c, "secret_key", &check).await?)
    }
}
