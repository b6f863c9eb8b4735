//! A write transaction: one decision, one commit. On SQLite, writers of one
//! process take turns in process (a fair queue) before `BEGIN IMMEDIATE`, so
//! they never meet SQLite's busy handler, which sleeps between tries while
//! the cores sit idle; another process's writer is waited for on a blocking
//! thread. The turn is held by the transaction's lease (`lite::Leased`), so
//! it ends with the transaction, or, if the transaction's COMMIT or a
//! statement runs on a blocking thread when the caller is cancelled, when
//! that work has ended.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::lite::WAIT;
use crate::{Conn, Result, StoreError};

/// The turn of this process's SQLite writers.
#[derive(Clone, Default)]
pub(crate) struct WriteTurn(Arc<Mutex<()>>);

impl WriteTurn {
    pub(crate) async fn take(&self) -> Result<OwnedMutexGuard<()>> {
        tokio::time::timeout(WAIT, self.0.clone().lock_owned())
            .await
            .map_err(|_| StoreError::PoolTimedOut)
    }
}

/// Rolled back if dropped before `commit`.
pub struct Tx {
    conn: Conn,
}

impl Tx {
    pub(crate) fn new(conn: Conn) -> Tx {
        Tx { conn }
    }

    pub async fn commit(self) -> Result<()> {
        self.conn.commit().await
    }

    pub async fn rollback(self) -> Result<()> {
        self.conn.rollback().await
    }
}

impl Deref for Tx {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{db, Store};

    /// COMMIT on a blocking thread (one runtime worker), kept waiting by a
    /// reader of another connection (rollback journal: COMMIT needs every
    /// reader gone); the caller is cancelled meanwhile.
    #[tokio::test(flavor = "current_thread")]
    async fn a_cancelled_commit_keeps_the_writers_turn_until_it_has_ended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        db::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let reader = rusqlite::Connection::open(&path).unwrap();
        reader
            .execute_batch("BEGIN; SELECT COUNT(*) FROM t;")
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        db::query("INSERT INTO t VALUES (1)")
            .execute(&mut tx)
            .await
            .unwrap();
        let cancelled = tokio::time::timeout(Duration::from_millis(300), tx.commit()).await;
        assert!(cancelled.is_err(), "COMMIT waits for the reader");

        assert!(
            store.writers.0.try_lock().is_err(),
            "the turn is held while COMMIT runs"
        );
        let next = tokio::time::timeout(Duration::from_millis(300), store.begin()).await;
        assert!(next.is_err(), "the next writer waits");

        reader.execute_batch("COMMIT").unwrap();
        let mut next = tokio::time::timeout(Duration::from_secs(5), store.begin())
            .await
            .expect("the turn comes once COMMIT has ended")
            .unwrap();
        let n: i64 = db::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&mut next)
            .await
            .unwrap();
        assert_eq!(n, 1, "the cancelled COMMIT went through");
        next.rollback().await.unwrap();
        store.close().await;
    }
}
