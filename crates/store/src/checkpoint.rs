//! SQLite WAL checkpoints, off the request path.
//!
//! Every connection runs with `wal_autocheckpoint=0`: left on, SQLite
//! checkpoints inside whichever COMMIT takes the WAL past 1000 pages, and
//! that request (running its COMMIT inline on a runtime worker, see
//! `lite`) would wait for the copy and the sync of the database file.
//! Instead a task started with the store checkpoints on a blocking thread:
//!
//! - once a second when there were commits since the last pass, and at once
//!   after every `AFTER_COMMITS` commits (a sign-in writes about 18 WAL
//!   pages in 3 commits, so that is about 1500 pages, 6 MiB, under the
//!   heaviest load; the WAL file keeps its largest size and is reused
//!   from the start once all of it is checkpointed);
//! - `PASSIVE`: copies what no reader still needs, waits for nobody, and
//!   writers go on; if they appended meanwhile, a second `PASSIVE` copies
//!   the rest in the writers' turn (only what came during the first), so
//!   that the next writer starts the WAL file over instead of growing it
//!   (measured: 4000 back-to-back commits of 12 KB in 0.45 s grew the WAL
//!   file to 34 MiB with the first pass alone, kept there only by
//!   TRUNCATE, and to 3.4 MiB with both, in 62 passes; the test below
//!   waits for each pass instead of racing it, so a loaded machine cannot
//!   fail it);
//! - when the WAL file has grown past `TRUNCATE_OVER` anyway (a long reader
//!   held the copy back, or writers never let a pass catch up), `TRUNCATE`
//!   in the writers' turn, without waiting: if a reader still needs the WAL
//!   (a backup's `VACUUM INTO` in another process) it gives up at once and
//!   the next pass tries again, so writers never queue behind a reader;
//!   `journal_size_limit` cuts a WAL file started over back to 16 MiB.
//!
//! A connection is taken only if one is free (a busy pool tries next
//! time). The task stops with `Store::close`, or once the store is dropped.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::lite::Pool;
use crate::tx::WriteTurn;
use crate::Result;

/// How often the task looks for commits to checkpoint.
pub(crate) const EVERY: Duration = Duration::from_secs(1);
/// Commits after which it checkpoints without waiting for `EVERY`.
pub(crate) const AFTER_COMMITS: u64 = 256;
/// A WAL file larger than this is emptied (`TRUNCATE`).
pub(crate) const TRUNCATE_OVER: u64 = 32 << 20;

/// Starts the checkpointer of `pool`.
pub(crate) fn start(pool: &Arc<Pool>, writers: WriteTurn) {
    let weak = Arc::downgrade(pool);
    let wake = pool.wake.clone();
    let task = tokio::spawn(async move {
        let mut seen = 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = wake.notified() => {}
            }
            let Some(pool) = weak.upgrade() else {
                return;
            };
            if pool.is_closed() {
                return;
            }
            let commits = pool.commits();
            if commits == seen {
                continue;
            }
            match pass(&pool, &writers).await {
                Ok(true) => seen = commits,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "WAL checkpoint"),
            }
        }
    });
    pool.set_checkpointer(task.abort_handle());
}

/// One pass; false when no connection was free.
async fn pass(pool: &Arc<Pool>, writers: &WriteTurn) -> Result<bool> {
    let Some(mut c) = pool.try_lease()? else {
        return Ok(false);
    };
    let before = pool.commits();
    let whole = c.checkpoint(false).await?;
    drop(c);
    // (A PASSIVE checkpoint counts the WAL as it was when it started.)
    if !whole || pool.commits() != before {
        // Writers appended while it copied: the rest (short) in their turn,
        // so the next writer can start the WAL file over.
        let turn = writers.take().await?;
        let mut c = pool.lease().await?;
        c.hold_turn(turn);
        c.checkpoint(false).await?;
    }
    if pool.wal_size() > TRUNCATE_OVER {
        let turn = writers.take().await?;
        let mut c = pool.lease().await?;
        c.hold_turn(turn);
        c.checkpoint(true).await?;
        pool.truncates.fetch_add(1, Ordering::Relaxed);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::{db, Engine, Store};

    /// Many commits, one after another: every `AFTER_COMMITS` commits the
    /// background task checkpoints (no connection checkpoints by itself),
    /// and the WAL file is started over instead of growing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn background_checkpoints_keep_the_wal_bounded() {
        const COMMITS: usize = 4000;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::open(&url).await.unwrap();
        let Engine::Sqlite(pool, _) = &store.engine else {
            unreachable!("a sqlite URL")
        };
        let mut c = store.conn().await.unwrap();
        let auto: i64 = db::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(auto, 0, "no checkpoint inside a COMMIT");
        db::query("CREATE TABLE blobs (b BLOB)")
            .execute(&mut c)
            .await
            .unwrap();
        drop(c);

        let started = Instant::now();
        let mut largest = 0;
        for i in 1..=COMMITS {
            let mut tx = store.begin_unsynced().await.unwrap();
            db::query("INSERT INTO blobs VALUES (zeroblob(12000))")
                .execute(&mut tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            largest = largest.max(pool.wal_size());
            if i % AFTER_COMMITS as usize == 0 {
                // The checkpointer was woken; it runs off this task, when the
                // machine lets it: wait for its pass (however loaded the
                // machine is), then go on writing.
                let before = pool.checkpoints.load(Ordering::Relaxed);
                let mut waited = 0;
                while pool.checkpoints.load(Ordering::Relaxed) == before {
                    assert!(waited < 6000, "no checkpoint after {i} commits");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    waited += 1;
                }
            }
        }
        let checkpoints = pool.checkpoints.load(Ordering::Relaxed);
        let truncates = pool.truncates.load(Ordering::Relaxed);
        let written = std::fs::metadata(dir.path().join("t.db")).map_or(0, |m| m.len());
        eprintln!(
            "{COMMITS} commits in {:?}: largest WAL {} KiB, {checkpoints} checkpoints \
             ({truncates} TRUNCATE), database file {} KiB",
            started.elapsed(),
            largest >> 10,
            written >> 10
        );
        assert!(checkpoints > 0, "checkpoints ran in the background");
        // Started over after each pass, not only emptied by TRUNCATE.
        assert!(largest < 16 << 20, "WAL grew to {largest} bytes");
        assert!(
            u64::try_from(COMMITS * 12000).unwrap() > TRUNCATE_OVER,
            "more was committed than the WAL may hold"
        );
        store.close().await;
    }
}
