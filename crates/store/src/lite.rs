//! SQLite, run on the caller's thread through rusqlite.
//!
//! sqlx's SQLite driver gives every connection a worker thread and hands each
//! statement over to it and the rows back: about 45 µs and 90 µs of CPU per
//! statement on a 2-core machine, against 7 µs and 8 µs for the same
//! statement run here (measured; see docs/ARCHITECTURE.md). A statement on a
//! page-cached file is short, so it runs inline, and so does COMMIT while the
//! runtime has another worker (see `Leased::commit`); what else can wait on
//! the disk or on another process goes to a blocking thread: a write outside
//! a transaction (it commits by itself), and a statement that found the
//! database locked (retried there with a busy timeout).
//!
//! No connection checkpoints the WAL by itself (`wal_autocheckpoint=0`), so
//! an inline COMMIT never turns into a checkpoint: a task started with the
//! store does it on a blocking thread (`checkpoint`: after 256 commits, or
//! each second when there were any; `TRUNCATE` over 32 MiB).
//!
//! Arguments come in as the store's own [`Value`]s and rows go out as its
//! own [`Row`]s, each value by the type SQLite stored it as, so the one set
//! of row types reads both backends.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{ffi, Connection, OpenFlags};
use tokio::sync::{Notify, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;

use crate::row::{Kind, Row, Value};
use crate::{Result, StoreError};

/// How long a statement waits for another process's lock (the busy timeout
/// of the blocking retry), and a caller for a free connection.
pub(crate) const WAIT: Duration = Duration::from_secs(10);
const STATEMENT_CACHE: usize = 128;
/// Bytes a WAL file is cut back to once it is started over.
const JOURNAL_SIZE_LIMIT: i64 = 16 << 20;
/// Column lists kept per connection, one per distinct SQL text.
const COLUMN_CACHE: usize = 512;

/// Where the database is and how to open it, from a `sqlite:` URL.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    path: PathBuf,
    flags: OpenFlags,
}

impl Target {
    /// `sqlite://PATH`, `sqlite:PATH`, with `?mode=ro|rw|rwc` (default rw).
    pub(crate) fn parse(url: &str) -> Result<Target> {
        let rest = url
            .strip_prefix("sqlite:")
            .ok_or(StoreError::UnsupportedUrl)?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let path = percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .map_err(|_| StoreError::UnsupportedUrl)?;
        if path.is_empty() || path == ":memory:" {
            // Each connection would get its own empty database.
            return Err(StoreError::UnsupportedUrl);
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("mode", "rwc")) => flags |= OpenFlags::SQLITE_OPEN_CREATE,
                Some(("mode", "rw")) => {}
                Some(("mode", "ro")) => {
                    flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
                }
                _ => return Err(StoreError::UnsupportedUrl),
            }
        }
        Ok(Target {
            path: PathBuf::from(path.as_ref()),
            flags,
        })
    }

    fn open(&self) -> Result<Link> {
        let conn = Connection::open_with_flags(&self.path, self.flags)?;
        conn.busy_timeout(Duration::ZERO)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Checkpoints run in the background (`checkpoint`), never inside a
        // COMMIT.
        conn.pragma_update_and_check(None, "wal_autocheckpoint", 0, |r| r.get::<_, i64>(0))?;
        // A WAL file started over is cut back to this size, so one burst
        // does not keep its disk space for good.
        conn.pragma_update_and_check(None, "journal_size_limit", JOURNAL_SIZE_LIMIT, |r| {
            r.get::<_, i64>(0)
        })?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Link {
            conn,
            columns: HashMap::new(),
            unsynced: false,
        })
    }
}

/// One open connection and the column lists of the statements it ran.
pub(crate) struct Link {
    conn: Connection,
    columns: HashMap<Box<str>, Columns>,
    /// `synchronous=NORMAL` until the lease ends (`unsynced`).
    unsynced: bool,
}

/// A statement's column names, shared by its rows.
type Columns = Arc<[Box<str>]>;

/// Connections kept open for reuse, at most `max` in use at once.
pub(crate) struct Pool {
    target: Target,
    idle: Mutex<Vec<Link>>,
    permits: Arc<Semaphore>,
    /// Commits so far (a write outside a transaction counts too).
    commits: AtomicU64,
    /// Wakes the checkpointer early (`checkpoint::AFTER_COMMITS`).
    pub(crate) wake: Arc<Notify>,
    /// Checkpoints run, and of them TRUNCATEs (for tests).
    pub(crate) checkpoints: AtomicU64,
    pub(crate) truncates: AtomicU64,
    checkpointer: Mutex<Option<AbortHandle>>,
}

impl Pool {
    pub(crate) fn new(target: Target, max: usize) -> Pool {
        Pool {
            target,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max)),
            commits: AtomicU64::new(0),
            wake: Arc::new(Notify::new()),
            checkpoints: AtomicU64::new(0),
            truncates: AtomicU64::new(0),
            checkpointer: Mutex::new(None),
        }
    }

    pub(crate) async fn lease(self: &Arc<Pool>) -> Result<Leased> {
        let permit = tokio::time::timeout(WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| StoreError::PoolTimedOut)?
            .map_err(|_| StoreError::PoolClosed)?;
        self.leased(permit)
    }

    /// A connection if one is free now (the checkpointer does not queue
    /// behind requests).
    pub(crate) fn try_lease(self: &Arc<Pool>) -> Result<Option<Leased>> {
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => self.leased(permit).map(Some),
            Err(tokio::sync::TryAcquireError::Closed) => Err(StoreError::PoolClosed),
            Err(tokio::sync::TryAcquireError::NoPermits) => Ok(None),
        }
    }

    fn leased(self: &Arc<Pool>, permit: OwnedSemaphorePermit) -> Result<Leased> {
        let kept = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let link = match kept {
            Some(link) => link,
            None => self.target.open()?,
        };
        Ok(Leased {
            link: Some(link),
            pool: self.clone(),
            held: Held {
                _permit: Some(permit),
                _turn: None,
            },
        })
    }

    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    fn committed(&self) {
        let n = self.commits.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(crate::checkpoint::AFTER_COMMITS) {
            self.wake.notify_one();
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.permits.is_closed()
    }

    /// The WAL file's size (0 if there is none).
    pub(crate) fn wal_size(&self) -> u64 {
        let mut wal = self.target.path.clone().into_os_string();
        wal.push("-wal");
        std::fs::metadata(wal).map_or(0, |m| m.len())
    }

    /// The background checkpointer, stopped by `close`.
    pub(crate) fn set_checkpointer(&self, task: AbortHandle) {
        if let Ok(mut slot) = self.checkpointer.lock() {
            if let Some(old) = slot.replace(task) {
                old.abort();
            }
        }
    }

    /// Closes the idle connections; leased ones close when given back.
    pub(crate) fn close(&self) {
        if let Some(task) = self.checkpointer.lock().ok().and_then(|mut t| t.take()) {
            task.abort();
        }
        self.permits.close();
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

/// A connection taken from the pool; back to it when dropped, with any
/// transaction left open rolled back.
pub(crate) struct Leased {
    // None only while a blocking thread holds it, or if that thread's caller
    // went away (then the connection is closed with the thread's work).
    link: Option<Link>,
    pool: Arc<Pool>,
    held: Held,
}

/// What a lease holds besides the connection: its place in the pool and, in
/// a write transaction, the writers' turn (`tx`). Both go with the
/// connection onto a blocking thread, so if the caller is cancelled while a
/// statement or COMMIT runs there, the next writer waits until it has ended,
/// not only until the caller went away.
#[derive(Default)]
struct Held {
    _permit: Option<OwnedSemaphorePermit>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl Drop for Leased {
    fn drop(&mut self) {
        let Some(link) = self.link.take() else {
            return;
        };
        if !link.conn.is_autocommit() && link.conn.execute_batch("ROLLBACK").is_err() {
            return; // closed rather than handed out mid-transaction
        }
        if link.unsynced
            && link
                .conn
                .pragma_update(None, "synchronous", "FULL")
                .is_err()
        {
            return; // closed rather than handed out with commits that do not wait
        }
        if self.pool.permits.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.pool.idle.lock() {
            idle.push(link);
        }
    }
}

/// What a statement gave: its first rows (up to the limit asked for; none
/// for 0) and the rows it changed.
pub(crate) struct Ran {
    pub(crate) rows: Vec<Row>,
    pub(crate) changed: u64,
}

impl Leased {
    fn link(&mut self) -> Result<&mut Link> {
        self.link.as_mut().ok_or(StoreError::WorkerLost(None))
    }

    /// Runs one statement here; on a blocking thread if it commits by
    /// itself (a write outside a transaction waits for the disk), and again
    /// there if another process holds the lock it needs.
    pub(crate) async fn run(&mut self, sql: &str, args: &[Value], limit: usize) -> Result<Ran> {
        let link = self.link()?;
        let commits = link.commits_by_itself(sql)?;
        if !commits {
            match link.run(sql, args, limit) {
                Err(e) if is_busy(&e) => {}
                other => return other,
            }
        }
        let (sql, args) = (sql.to_string(), args.to_vec());
        let ran = self
            .blocking(move |link| link.waiting(|l| l.run(&sql, &args, limit)))
            .await?;
        if commits {
            self.pool.committed();
        }
        Ok(ran)
    }

    /// One checkpoint on a blocking thread: `PASSIVE` (copies what it can
    /// without waiting for anyone) or `TRUNCATE` (empties the WAL file).
    /// Neither waits: the connection has no busy timeout, so a reader that
    /// still needs the WAL (a backup's long `VACUUM INTO` in another
    /// process) makes a `TRUNCATE` give up at once instead of holding the
    /// writers' turn while it waits; the next pass tries again. Whether it
    /// copied the whole WAL (then the next writer starts the WAL file over).
    pub(crate) async fn checkpoint(&mut self, truncate: bool) -> Result<bool> {
        let sql = if truncate {
            "PRAGMA wal_checkpoint(TRUNCATE)"
        } else {
            "PRAGMA wal_checkpoint(PASSIVE)"
        };
        // (busy, frames in the WAL, frames copied)
        let (busy, log, copied) = self
            .blocking(move |link| {
                Ok(link.conn.query_row(sql, [], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?)
            })
            .await?;
        self.pool.checkpoints.fetch_add(1, Ordering::Relaxed);
        Ok(busy == 0 && copied >= log)
    }

    /// A long statement (`VACUUM INTO`) with one text argument, on a blocking
    /// thread.
    pub(crate) async fn run_blocking(&mut self, sql: &'static str, arg: String) -> Result<()> {
        let arg = [Value::Text(arg)];
        self.blocking(move |link| link.waiting(|l| l.run(sql, &arg, 0)))
            .await
            .map(|_| ())
    }

    /// COMMIT, which waits for the disk (`synchronous=FULL`). A process's
    /// writers commit one at a time (their turn, see `tx`), so when the
    /// runtime has another worker it runs here: the other workers go on
    /// serving, and a hand-off to a blocking thread and back costs more CPU
    /// than the wait (three per sign-in; bench/sign-ins). With one worker, or
    /// when another process holds a lock, it runs on a blocking thread.
    pub(crate) async fn commit(&mut self) -> Result<()> {
        if tokio::runtime::Handle::current().metrics().num_workers() > 1 {
            match self
                .link()?
                .conn
                .execute_batch("COMMIT")
                .map_err(StoreError::from)
            {
                Err(e) if is_busy(&e) => {}
                Err(e) => return Err(e),
                Ok(()) => {
                    self.pool.committed();
                    return Ok(());
                }
            }
        }
        self.blocking(|link| link.waiting(|l| Ok(l.conn.execute_batch("COMMIT")?)))
            .await?;
        self.pool.committed();
        Ok(())
    }

    /// The writers' turn, held until the lease ends (the transaction's end).
    pub(crate) fn hold_turn(&mut self, turn: OwnedMutexGuard<()>) {
        self.held._turn = Some(turn);
    }

    /// This lease's transaction commits without waiting for the disk (SQLite
    /// allows the change only between transactions); `synchronous=FULL` is
    /// back before the connection returns to the pool.
    pub(crate) fn unsynced(&mut self) -> Result<()> {
        let link = self.link()?;
        link.conn.pragma_update(None, "synchronous", "NORMAL")?;
        link.unsynced = true;
        Ok(())
    }

    async fn blocking<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut Link) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let mut link = self.link.take().ok_or(StoreError::WorkerLost(None))?;
        let held = std::mem::take(&mut self.held);
        // Dropped here, the connection first (closed, any transaction rolled
        // back), then what it held, when the work ends.
        let (link, held, out) = tokio::task::spawn_blocking(move || {
            let out = work(&mut link);
            (link, held, out)
        })
        .await
        .map_err(|e| StoreError::WorkerLost(Some(e)))?;
        self.link = Some(link);
        self.held = held;
        out
    }
}

impl Link {
    /// `work` with a busy timeout, so it waits for another process's lock.
    fn waiting<T>(&mut self, work: impl FnOnce(&mut Link) -> Result<T>) -> Result<T> {
        self.conn.busy_timeout(WAIT)?;
        let out = work(self);
        self.conn.busy_timeout(Duration::ZERO)?;
        out
    }

    fn commits_by_itself(&self, sql: &str) -> rusqlite::Result<bool> {
        Ok(self.conn.is_autocommit() && !self.conn.prepare_cached(sql)?.readonly())
    }

    fn run(&mut self, sql: &str, args: &[Value], limit: usize) -> Result<Ran> {
        let mut st = self.conn.prepare_cached(sql)?;
        for i in 1..=st.parameter_count() {
            let n = match st.parameter_name(i) {
                // `$1` names the first argument wherever it appears, as in
                // sqlx and PostgreSQL.
                Some(name) => name
                    .strip_prefix('$')
                    .or_else(|| name.strip_prefix('?'))
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| bad_parameter(name))?,
                None => i,
            };
            let value = args
                .get(n.wrapping_sub(1))
                .ok_or_else(|| bad_parameter(&format!("${n}")))?;
            st.raw_bind_parameter(i, Arg(value))?;
        }
        let columns = match self.columns.get(sql) {
            Some(c) => c.clone(),
            None => {
                let c = columns_of(&st);
                if self.columns.len() >= COLUMN_CACHE {
                    self.columns.clear();
                }
                self.columns.insert(sql.into(), c.clone());
                c
            }
        };
        let mut rows = Vec::new();
        let mut stepping = st.raw_query();
        // An INSERT, UPDATE or DELETE makes all its changes on the first step,
        // RETURNING or not, so stopping at the limit loses nothing.
        while rows.len() < limit.max(1) {
            match stepping.next()? {
                Some(row) if limit > 0 => rows.push(store_row(row, &columns)?),
                Some(_) => {}
                None => break,
            }
        }
        drop(stepping);
        Ok(Ran {
            rows,
            changed: self.conn.changes(),
        })
    }
}

fn bad_parameter(name: &str) -> StoreError {
    StoreError::BadParameter(name.to_string())
}

fn columns_of(st: &rusqlite::Statement<'_>) -> Columns {
    st.column_names().into_iter().map(Box::from).collect()
}

/// A row by the type SQLite stored each value as.
fn store_row(row: &rusqlite::Row<'_>, columns: &Columns) -> rusqlite::Result<Row> {
    let mut values = Vec::with_capacity(columns.len());
    for i in 0..columns.len() {
        values.push(match row.get_ref(i)? {
            ValueRef::Null => Value::Null(Kind::Untyped),
            ValueRef::Integer(n) => Value::Int(n),
            ValueRef::Real(x) => Value::Real(x),
            ValueRef::Text(t) => Value::Text(String::from_utf8(t.to_vec()).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        });
    }
    Ok(Row::new(columns.clone(), values))
}

/// An argument: an integer, real, text, blob or NULL as it is.
struct Arg<'a>(&'a Value);

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null(_) => ValueRef::Null,
            Value::Int(n) => ValueRef::Integer(*n),
            Value::Real(x) => ValueRef::Real(*x),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn is_busy(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Sqlite(e) if matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    )
}

/// Unique and primary-key violations, as sqlx reports them for SQLite.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn numbered_parameters_bind_by_number_wherever_they_appear() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let pool = Arc::new(Pool::new(Target::parse(&url).unwrap(), 1));
        let mut c = pool.lease().await.unwrap();
        let text = |s: &str| Value::Text(s.to_string());
        let ran = c
            .run("SELECT $2 || $1 || $2", &[text("a"), text("b")], 1)
            .await
            .unwrap();
        let (got,): (String,) = crate::row::FromRow::from_row(&ran.rows[0]).unwrap();
        assert_eq!(got, "bab");
        assert!(matches!(
            c.run("SELECT $3", &[text("a")], 1).await,
            Err(StoreError::BadParameter(p)) if p == "$3"
        ));
    }

    fn synchronous(c: &mut Leased) -> i64 {
        let link = c.link().unwrap();
        link.conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap()
    }

    async fn an_unsynced_transaction_ends_synced() {
        const NORMAL: i64 = 1;
        const FULL: i64 = 2;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        // One connection: every lease gets the same one back.
        let pool = Arc::new(Pool::new(Target::parse(&url).unwrap(), 1));
        let mut c = pool.lease().await.unwrap();
        c.run("PRAGMA journal_mode=WAL", &[], 1).await.unwrap();
        c.run("CREATE TABLE t (x)", &[], 0).await.unwrap();
        assert_eq!(synchronous(&mut c), FULL);

        c.unsynced().unwrap();
        c.run("BEGIN IMMEDIATE", &[], 0).await.unwrap();
        c.run("INSERT INTO t VALUES (1)", &[], 0).await.unwrap();
        assert_eq!(synchronous(&mut c), NORMAL);
        c.commit().await.unwrap();
        // As `Conn::commit` does: the lease ends with its transaction.
        drop(c);
        let mut c = pool.lease().await.unwrap();
        assert_eq!(synchronous(&mut c), FULL, "after COMMIT");

        c.unsynced().unwrap();
        c.run("BEGIN IMMEDIATE", &[], 0).await.unwrap();
        c.run("INSERT INTO t VALUES (2)", &[], 0).await.unwrap();
        drop(c);
        let mut c = pool.lease().await.unwrap();
        assert_eq!(synchronous(&mut c), FULL, "after a dropped transaction");
        let ran = c.run("SELECT COUNT(*) FROM t", &[], 1).await.unwrap();
        let (n,): (i64,) = crate::row::FromRow::from_row(&ran.rows[0]).unwrap();
        assert_eq!(n, 1, "the committed row stays, the dropped one does not");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_unsynced_transaction_ends_synced_committed_on_a_blocking_thread() {
        an_unsynced_transaction_ends_synced().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unsynced_transaction_ends_synced_committed_inline() {
        an_unsynced_transaction_ends_synced().await;
    }

    #[test]
    fn urls_name_a_file_and_a_mode() {
        assert!(Target::parse("sqlite://data/twostep.db?mode=rwc").is_ok());
        assert!(Target::parse("sqlite:/abs/t.db").is_ok());
        assert!(Target::parse("sqlite::memory:").is_err());
        assert!(Target::parse("sqlite://t.db?cache=shared").is_err());
        let t = Target::parse("sqlite:///var/lib/twostep/a%20b.db?mode=ro").unwrap();
        assert_eq!(t.path, PathBuf::from("/var/lib/twostep/a b.db"));
        assert!(t.flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY));
    }
}
