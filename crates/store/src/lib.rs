//! The one Store: the same `$1` SQL on SQLite (our own engine over
//! rusqlite, `lite`) and PostgreSQL (sqlx's Postgres driver, `pg`), rows read
//! by the store's own types (`row`).
//!
//! Repositories are plain functions over `&mut Conn` so the auth service can
//! run several of them inside one transaction (one decision, one commit).

#[macro_use]
mod row;
#[macro_use]
mod text_enum;

pub mod admin;
pub mod app_passwords;
pub mod authenticators;
pub mod ceremonies;
mod checkpoint;
pub mod credentials;
pub mod email_tokens;
pub mod failures;
pub mod hardware_tokens;
pub mod identities;
pub mod key_checks;
pub mod login_failures;
pub mod oauth;
pub mod recovery_codes;
pub mod recovery_requests;
pub mod repositories;
pub mod security_keys;
pub mod security_log;
pub mod sessions;
pub mod signups;
pub mod ssh_cas;
pub mod ssh_keys;
pub mod throttles;
mod tx;
pub mod users;
pub mod workspaces;

mod conn;
mod db;
mod lite;
mod pg;

use std::sync::Arc;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::Connection;

pub use conn::Conn;
pub use db::Done;
pub use tx::Tx;

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL (use sqlite://PATH or postgres://…)")]
    UnsupportedUrl,
    /// A unique constraint refused the write (e.g. a taken username).
    #[error("already exists")]
    Conflict,
    /// The database refused a text value (PostgreSQL and NUL bytes).
    #[error("text the database cannot store")]
    InvalidText,
    /// A stored state this version does not know (a newer node wrote it?).
    #[error("unknown stored value {0:?}")]
    UnknownValue(String),
    #[error("database: {0}")]
    Db(#[source] sqlx::Error),
    #[error("database: {0}")]
    Sqlite(#[source] rusqlite::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// No connection came free in time (`lite::WAIT`), nor the writers' turn.
    #[error("timed out waiting for a database connection")]
    PoolTimedOut,
    /// The store was closed.
    #[error("the store is closed")]
    PoolClosed,
    /// The blocking thread running a statement was lost (it panicked), or
    /// an earlier statement's was cancelled and took the connection with it.
    #[error("a database thread was lost")]
    WorkerLost(#[source] Option<tokio::task::JoinError>),
    /// A statement names a parameter that was not bound (`$3` with two).
    #[error("statement parameter {0} has no value")]
    BadParameter(String),
    /// A statement that was to give a row gave none.
    #[error("no row")]
    RowNotFound,
    /// A row type read a column the statement does not return.
    #[error("no column {0:?} in the row")]
    ColumnMissing(String),
    /// A column's value is not of the type read from it.
    #[error("column {column:?} holds {found}, read as {expected}")]
    ColumnType {
        column: String,
        expected: &'static str,
        found: String,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
            // 22021: character not in repertoire, 22P05: untranslatable character.
            sqlx::Error::Database(d)
                if matches!(d.code().as_deref(), Some("22021") | Some("22P05")) =>
            {
                StoreError::InvalidText
            }
            _ => StoreError::Db(e),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if lite::is_unique_violation(&e) {
            StoreError::Conflict
        } else {
            StoreError::Sqlite(e)
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    engine: Engine,
    writers: tx::WriteTurn,
}

#[derive(Clone)]
enum Engine {
    /// The URL is kept for sqlx's migrator, which brings its own connection.
    Sqlite(Arc<lite::Pool>, Arc<str>),
    Postgres(sqlx::PgPool),
}

fn backend_of(url: &str) -> Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

impl Store {
    /// Connects and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        let store = Store::with_connections(url, 16, 10).await?;
        if let Engine::Sqlite(..) = store.engine {
            // Readers alongside one writer; persistent in the file.
            let mut c = store.conn().await?;
            db::query("PRAGMA journal_mode=WAL")
                .fetch_optional(&mut c)
                .await?;
        }
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without touching the schema (for checks such as `twostep doctor`).
    pub async fn connect(url: &str) -> Result<Store> {
        Store::with_connections(url, 1, 1).await
    }

    async fn with_connections(url: &str, sqlite: usize, postgres: u32) -> Result<Store> {
        let writers = tx::WriteTurn::default();
        let engine = match backend_of(url)? {
            Backend::Sqlite => {
                let pool = Arc::new(lite::Pool::new(lite::Target::parse(url)?, sqlite));
                // Opens the file now, so a bad path is an error here.
                drop(pool.lease().await?);
                checkpoint::start(&pool, writers.clone());
                Engine::Sqlite(pool, url.into())
            }
            Backend::Postgres => Engine::Postgres({
                // One plain connection first: a server that refuses, a wrong
                // password or a missing database is said as it is, where the
                // pool would retry until it only knows it "timed out".
                use sqlx::Connection;
                tokio::time::timeout(lite::WAIT, sqlx::PgConnection::connect(url))
                    .await
                    .map_err(|_| StoreError::PoolTimedOut)??
                    .close()
                    .await?;
                PgPoolOptions::new()
                    .max_connections(postgres)
                    .acquire_timeout(lite::WAIT)
                    .connect(url)
                    .await?
            }),
        };
        Ok(Store { engine, writers })
    }

    /// Migrations this version has that the database has not applied yet.
    pub async fn pending_migrations(&self) -> Result<Vec<String>> {
        let mut c = self.conn().await?;
        let applied: Vec<i64> =
            db::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&mut c)
                .await
                .unwrap_or_default();
        Ok(self
            .migrator()
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .map(|m| format!("{} {}", m.version, m.description))
            .collect())
    }

    fn migrator(&self) -> &'static Migrator {
        match self.engine {
            Engine::Sqlite(..) => &SQLITE,
            Engine::Postgres(_) => &POSTGRES,
        }
    }

    pub async fn migrate(&self) -> Result<()> {
        match &self.engine {
            Engine::Sqlite(_, url) => {
                let mut c = sqlx::SqliteConnection::connect(url).await?;
                let ran = SQLITE.run(&mut c).await;
                c.close().await?;
                ran?;
            }
            Engine::Postgres(pool) => POSTGRES.run(pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self.engine {
            Engine::Sqlite(..) => Backend::Sqlite,
            Engine::Postgres(_) => Backend::Postgres,
        }
    }

    /// A write transaction. On SQLite it takes the write lock up front, so a
    /// read-then-write decision never fails on a lock upgrade.
    pub async fn begin(&self) -> Result<Tx> {
        self.begin_synced(true).await
    }

    /// A write transaction whose commit does not wait for the disk: seen by
    /// every other transaction at once, and durable with the next commit that
    /// does wait (SQLite's WAL and PostgreSQL's log are each one sequence,
    /// flushed in order), or lost only with the machine's power. For a row
    /// that matters only until a later, synced commit settles it.
    pub async fn begin_unsynced(&self) -> Result<Tx> {
        self.begin_synced(false).await
    }

    async fn begin_synced(&self, synced: bool) -> Result<Tx> {
        Ok(match &self.engine {
            Engine::Sqlite(pool, _) => {
                let turn = self.writers.take().await?;
                let mut leased = pool.lease().await?;
                leased.hold_turn(turn);
                if !synced {
                    leased.unsynced()?;
                }
                let mut c = Conn::lite(leased);
                db::query("BEGIN IMMEDIATE").execute(&mut c).await?;
                Tx::new(c)
            }
            Engine::Postgres(pool) => {
                let mut c = Conn::in_tx(pool.begin().await?);
                if !synced {
                    db::query("SET LOCAL synchronous_commit TO OFF")
                        .execute(&mut c)
                        .await?;
                }
                Tx::new(c)
            }
        })
    }

    /// A connection for reads.
    pub async fn conn(&self) -> Result<Conn> {
        Ok(match &self.engine {
            Engine::Sqlite(pool, _) => Conn::lite(pool.lease().await?),
            Engine::Postgres(pool) => Conn::pooled(pool.acquire().await?),
        })
    }

    /// One round trip to the database.
    pub async fn ping(&self) -> Result<()> {
        let mut c = self.conn().await?;
        db::query("SELECT 1").fetch_optional(&mut c).await?;
        Ok(())
    }

    /// The newest migration applied (the schema's version).
    pub async fn schema_version(&self) -> Result<i64> {
        let mut c = self.conn().await?;
        db::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut c)
            .await
    }

    /// SQLite only: a consistent copy of the whole database into a new file,
    /// while others keep reading and writing (`VACUUM INTO`).
    pub async fn copy_into(&self, path: &std::path::Path) -> Result<()> {
        let Engine::Sqlite(pool, _) = &self.engine else {
            return Err(StoreError::UnsupportedUrl);
        };
        let mut c = pool.lease().await?;
        c.run_blocking("VACUUM INTO $1", path.to_string_lossy().into_owned())
            .await
    }

    pub async fn close(&self) {
        match &self.engine {
            Engine::Sqlite(pool, _) => pool.close(),
            Engine::Postgres(pool) => pool.close().await,
        }
    }
}
