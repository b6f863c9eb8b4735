//! A connection of either backend, and the one place a statement is sent:
//! SQLite through `lite` on the caller's thread, PostgreSQL through sqlx's
//! Postgres driver (`pg`). Both give store [`Row`]s, read by the same row
//! types.

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, Postgres, Transaction};

use crate::db::Sql;
use crate::row::{Row, Value};
use crate::{lite, pg, Result};

/// A connection for reads or, inside a [`crate::Tx`], for one decision.
pub struct Conn(Engine);

enum Engine {
    Lite(lite::Leased),
    Pooled(PoolConnection<Postgres>),
    InTx(Transaction<'static, Postgres>),
}

pub(crate) enum Fetch {
    /// Run to the end; rows changed.
    Execute,
    /// At most this many rows.
    Rows(usize),
}

pub(crate) struct Outcome {
    pub(crate) rows: Vec<Row>,
    pub(crate) changed: u64,
}

impl Conn {
    pub(crate) fn lite(leased: lite::Leased) -> Conn {
        Conn(Engine::Lite(leased))
    }

    pub(crate) fn pooled(c: PoolConnection<Postgres>) -> Conn {
        Conn(Engine::Pooled(c))
    }

    pub(crate) fn in_tx(t: Transaction<'static, Postgres>) -> Conn {
        Conn(Engine::InTx(t))
    }

    pub(crate) fn is_postgres(&self) -> bool {
        !matches!(self.0, Engine::Lite(_))
    }

    pub(crate) async fn send(
        &mut self,
        sql: Sql,
        args: Vec<Value>,
        fetch: Fetch,
    ) -> Result<Outcome> {
        // Every statement, for `TWOSTEP_LOG=twostep_store::sql=debug` (the
        // scale benchmark explains each one); values are never logged.
        tracing::debug!(target: "twostep_store::sql", statement = sql.as_str());
        let pg: &mut PgConnection = match &mut self.0 {
            Engine::Lite(c) => {
                let limit = match fetch {
                    Fetch::Execute => 0,
                    Fetch::Rows(n) => n,
                };
                let ran = c.run(sql.as_str(), &args, limit).await?;
                return Ok(Outcome {
                    rows: ran.rows,
                    changed: ran.changed,
                });
            }
            Engine::Pooled(c) => c,
            Engine::InTx(t) => t,
        };
        let mut q = match sql {
            Sql::Static(s) => sqlx::query(s),
            Sql::Owned(s) => sqlx::query(sqlx::AssertSqlSafe(s)),
        };
        for value in &args {
            q = pg::bind(q, value);
        }
        Ok(match fetch {
            Fetch::Execute => Outcome {
                rows: Vec::new(),
                changed: q.execute(pg).await?.rows_affected(),
            },
            Fetch::Rows(1) => Outcome {
                rows: match q.fetch_optional(pg).await? {
                    Some(r) => vec![pg::row(&r, pg::columns(&r))?],
                    None => Vec::new(),
                },
                changed: 0,
            },
            Fetch::Rows(_) => {
                let got = q.fetch_all(pg).await?;
                let columns = got.first().map(pg::columns).unwrap_or_default();
                Outcome {
                    rows: got
                        .iter()
                        .map(|r| pg::row(r, columns.clone()))
                        .collect::<Result<_>>()?,
                    changed: 0,
                }
            }
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
