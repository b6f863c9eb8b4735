//! A write transaction: one decision, one commit. On SQLite, writers of one
//! process take turns in process (a fair queue) before `BEGIN IMMEDIATE`, so
//! they never meet SQLite's busy handler, which sleeps between tries while
//! the cores sit idle; another process's writer is waited for on a blocking
//! thread.

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
    // Dropped after `conn`, so the turn ends with the transaction.
    _turn: Option<OwnedMutexGuard<()>>,
}

impl Tx {
    pub(crate) fn new(conn: Conn, turn: Option<OwnedMutexGuard<()>>) -> Tx {
        Tx { conn, _turn: turn }
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
