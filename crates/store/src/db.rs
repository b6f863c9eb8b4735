//! `query`, `query_as` and `query_scalar`, shaped like sqlx's (the same
//! `$1` SQL, `.bind`, `.fetch_optional(c)`...), sending through [`Conn`] so
//! one statement serves SQLite and PostgreSQL.

use std::marker::PhantomData;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Arguments, Encode, FromRow, Type};

use crate::conn::{Fetch, Outcome};
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
    args: AnyArguments,
    bad_arg: Option<String>,
}

pub(crate) fn query(sql: impl Into<Sql>) -> Query {
    Query {
        sql: sql.into(),
        args: AnyArguments::default(),
        bad_arg: None,
    }
}

impl Query {
    pub(crate) fn bind<'t, T: Encode<'t, Any> + Type<Any>>(mut self, value: T) -> Self {
        if let Err(e) = self.args.add(value) {
            self.bad_arg.get_or_insert(e.to_string());
        }
        self
    }

    async fn send(self, c: &mut Conn, fetch: Fetch) -> Result<Outcome> {
        if let Some(e) = self.bad_arg {
            return Err(StoreError::Db(sqlx::Error::Encode(e.into())));
        }
        c.send(self.sql, self.args, fetch).await
    }

    pub(crate) async fn execute(self, c: &mut Conn) -> Result<Done> {
        Ok(Done(self.send(c, Fetch::Execute).await?.changed))
    }

    pub(crate) async fn fetch_optional(self, c: &mut Conn) -> Result<Option<AnyRow>> {
        Ok(self.send(c, Fetch::Rows(1)).await?.rows.into_iter().next())
    }

    pub(crate) async fn fetch_all(self, c: &mut Conn) -> Result<Vec<AnyRow>> {
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

impl<T: for<'r> FromRow<'r, AnyRow>> QueryAs<T> {
    pub(crate) fn bind<'t, V: Encode<'t, Any> + Type<Any>>(mut self, value: V) -> Self {
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
        self.fetch_optional(c)
            .await?
            .ok_or(StoreError::Db(sqlx::Error::RowNotFound))
    }

    pub(crate) async fn fetch_all(self, c: &mut Conn) -> Result<Vec<T>> {
        let rows = self.q.fetch_all(c).await?;
        Ok(rows.iter().map(T::from_row).collect::<sqlx::Result<_>>()?)
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
    (T,): for<'r> FromRow<'r, AnyRow>,
{
    pub(crate) fn bind<'t, V: Encode<'t, Any> + Type<Any>>(mut self, value: V) -> Self {
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
