//! `query`, `query_as` and `query_scalar`, shaped like sqlx's (the same
//! `$1` SQL, `.bind`, `.fetch_optional(c)`...), sending through [`Conn`] so
//! one statement serves SQLite and PostgreSQL.

use std::marker::PhantomData;

use crate::conn::{Fetch, Outcome};
use crate::row::{Encode, FromRow, Row, Value};
use crate::{Conn, Result, StoreError};

/// SQL text: written in the code, or put together at run time from pieces
/// written in the code (`sqlx::AssertSqlSafe`), never from input.
pub(crate) enum Sql {
    Static(&'static str),
    Owned(String),
}

impl Sql {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Sql::Static(s) => s,
            Sql::Owned(s) => s,
        }
    }
}

impl From<&'static str> for Sql {
    fn from(s: &'static str) -> Sql {
        Sql::Static(s)
    }
}

impl From<sqlx::AssertSqlSafe<String>> for Sql {
    fn from(s: sqlx::AssertSqlSafe<String>) -> Sql {
        Sql::Owned(s.0)
    }
}

/// Rows changed by a statement.
pub struct Done(u64);

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.0
    }
}

pub(crate) struct Query {
    sql: Sql,
    args: Vec<Value>,
}

pub(crate) fn query(sql: impl Into<Sql>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

impl Query {
    pub(crate) fn bind(mut self, value: impl Encode) -> Self {
        self.args.push(value.encode());
        self
    }

    async fn send(self, c: &mut Conn, fetch: Fetch) -> Result<Outcome> {
        c.send(self.sql, self.args, fetch).await
    }

    pub(crate) async fn execute(self, c: &mut Conn) -> Result<Done> {
        Ok(Done(self.send(c, Fetch::Execute).await?.changed))
    }

    pub(crate) async fn fetch_optional(self, c: &mut Conn) -> Result<Option<Row>> {
        Ok(self.send(c, Fetch::Rows(1)).await?.rows.into_iter().next())
    }

    pub(crate) async fn fetch_all(self, c: &mut Conn) -> Result<Vec<Row>> {
        Ok(self.send(c, Fetch::Rows(usize::MAX)).await?.rows)
    }
}

pub(crate) struct QueryAs<T> {
    q: Query,
    row: PhantomData<fn() -> T>,
}

pub(crate) fn query_as<T>(sql: impl Into<Sql>) -> QueryAs<T> {
    QueryAs {
        q: query(sql),
        row: PhantomData,
    }
}

impl<T: FromRow> QueryAs<T> {
    pub(crate) fn bind(mut self, value: impl Encode) -> Self {
        self.q = self.q.bind(value);
        self
    }

    pub(crate) async fn fetch_optional(self, c: &mut Conn) -> Result<Option<T>> {
        match self.q.fetch_optional(c).await? {
            Some(row) => Ok(Some(T::from_row(&row)?)),
            None => Ok(None),
        }
    }

    pub(crate) async fn fetch_one(self, c: &mut Conn) -> Result<T> {
        self.fetch_optional(c).await?.ok_or(StoreError::RowNotFound)
    }

    pub(crate) async fn fetch_all(self, c: &mut Conn) -> Result<Vec<T>> {
        let rows = self.q.fetch_all(c).await?;
        rows.iter().map(T::from_row).collect()
    }
}

/// The first column of each row.
pub(crate) struct QueryScalar<T> {
    q: QueryAs<(T,)>,
}

pub(crate) fn query_scalar<T>(sql: impl Into<Sql>) -> QueryScalar<T> {
    QueryScalar { q: query_as(sql) }
}

impl<T> QueryScalar<T>
where
    (T,): FromRow,
{
    pub(crate) fn bind(mut self, value: impl Encode) -> Self {
        self.q = self.q.bind(value);
        self
    }

    pub(crate) async fn fetch_optional(self, c: &mut Conn) -> Result<Option<T>> {
        Ok(self.q.fetch_optional(c).await?.map(|(v,)| v))
    }

    pub(crate) async fn fetch_one(self, c: &mut Conn) -> Result<T> {
        Ok(self.q.fetch_one(c).await?.0)
    }

    pub(crate) async fn fetch_all(self, c: &mut Conn) -> Result<Vec<T>> {
        Ok(self
            .q
            .fetch_all(c)
            .await?
            .into_iter()
            .map(|(v,)| v)
            .collect())
    }
}
