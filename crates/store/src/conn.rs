//! A connection of either backend, and the one place a statement is sent:
//! SQLite through `lite` on the caller's thread, PostgreSQL through sqlx's
//! `Any` driver. Both give `AnyRow`s, read by the same `FromRow` types.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Transaction};

use crate::db::Sql;
use crate::lite;
use crate::Result;

/// A connection for reads or, inside a [`crate::Tx`], for one decision.
pub struct Conn(Engine);

enum Engine {
    Lite(lite::Leased),
    Pooled(PoolConnection<Any>),
    InTx(Transaction<'static, Any>),
}

pub(crate) enum Fetch {
    /// Run to the end; rows changed.
    Execute,
    /// At most this many rows.
    Rows(usize),
}

pub(crate) struct Outcome {
    pub(crate) rows: Vec<AnyRow>,
    pub(crate) changed: u64,
}

impl Conn {
    pub(crate) fn lite(leased: lite::Leased) -> Conn {
        Conn(Engine::Lite(leased))
    }

    pub(crate) fn pooled(c: PoolConnection<Any>) -> Conn {
        Conn(Engine::Pooled(c))
    }

    pub(crate) fn in_tx(t: Transaction<'static, Any>) -> Conn {
        Conn(Engine::InTx(t))
    }

    pub(crate) fn is_postgres(&self) -> bool {
        !matches!(self.0, Engine::Lite(_))
    }

    pub(crate) async fn send(
        &mut self,
        sql: Sql,
        args: AnyArguments,
        fetch: Fetch,
    ) -> Result<Outcome> {
        // Every statement, for `TWOSTEP_LOG=twostep_store::sql=debug` (the
        // scale benchmark explains each one); values are never logged.
        tracing::debug!(target: "twostep_store::sql", statement = sql.as_str());
        let any: &mut AnyConnection = match &mut self.0 {
            Engine::Lite(c) => {
                let limit = match fetch {
                    Fetch::Execute => 0,
                    Fetch::Rows(n) => n,
                };
                let ran = c.run(sql.as_str(), &args.values.0, limit).await?;
                return Ok(Outcome {
                    rows: ran.rows,
                    changed: ran.changed,
                });
            }
            Engine::Pooled(c) => c,
            Engine::InTx(t) => t,
        };
        let q = match sql {
            Sql::Static(s) => sqlx::query_with(s, args),
            Sql::Owned(s) => sqlx::query_with(sqlx::AssertSqlSafe(s), args),
        };
        Ok(match fetch {
            Fetch::Execute => Outcome {
                rows: Vec::new(),
                changed: q.execute(any).await?.rows_affected(),
            },
            Fetch::Rows(1) => Outcome {
                rows: q.fetch_optional(any).await?.into_iter().collect(),
                changed: 0,
            },
            Fetch::Rows(_) => Outcome {
                rows: q.fetch_all(any).await?,
                changed: 0,
            },
        })
    }

    pub(crate) async fn commit(self) -> Result<()> {
        match self.0 {
            Engine::Lite(mut c) => c.commit().await,
            Engine::InTx(t) => Ok(t.commit().await?),
            Engine::Pooled(_) => Ok(()),
        }
    }

    pub(crate) async fn rollback(self) -> Result<()> {
        match self.0 {
            // Rolled back as the lease ends.
            Engine::Lite(_) => Ok(()),
            Engine::InTx(t) => Ok(t.rollback().await?),
            Engine::Pooled(_) => Ok(()),
        }
    }
}
