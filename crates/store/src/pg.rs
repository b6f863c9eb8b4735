//! PostgreSQL through sqlx's Postgres driver, public API only: store
//! [`Value`]s bound one by one, and each column read by the type
//! PostgreSQL names for it into a store [`Row`].

use std::sync::Arc;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Column, Postgres, Row as _, TypeInfo};

use crate::row::{Kind, Row, Value};
use crate::{Result, StoreError};

/// Binds one value. A NULL is bound with the type its Rust value had, so
/// PostgreSQL infers the same parameter types as for a non-NULL value.
pub(crate) fn bind<'q>(
    q: Query<'q, Postgres, PgArguments>,
    value: &Value,
) -> Query<'q, Postgres, PgArguments> {
    match value {
        Value::Null(Kind::Untyped) => q.bind(Option::<i32>::None),
        Value::Null(Kind::Int) => q.bind(Option::<i64>::None),
        Value::Null(Kind::Real) => q.bind(Option::<f64>::None),
        Value::Null(Kind::Text) => q.bind(Option::<String>::None),
        Value::Null(Kind::Blob) => q.bind(Option::<Vec<u8>>::None),
        Value::Int(n) => q.bind(*n),
        Value::Real(x) => q.bind(*x),
        Value::Text(s) => q.bind(s.as_str()),
        Value::Blob(b) => q.bind(b.as_slice()),
    }
}

/// The column names of a result, shared by its rows.
pub(crate) fn columns(row: &PgRow) -> Arc<[Box<str>]> {
    row.columns().iter().map(|c| Box::from(c.name())).collect()
}

/// A PostgreSQL row as a store row.
pub(crate) fn row(pg: &PgRow, columns: Arc<[Box<str>]>) -> Result<Row> {
    let mut values = Vec::with_capacity(pg.len());
    for (i, column) in pg.columns().iter().enumerate() {
        let value = match column.type_info().name() {
            "INT8" => int(pg.try_get::<Option<i64>, _>(i)?),
            "INT4" => int(pg.try_get::<Option<i32>, _>(i)?.map(i64::from)),
            "INT2" => int(pg.try_get::<Option<i16>, _>(i)?.map(i64::from)),
            "BOOL" => int(pg.try_get::<Option<bool>, _>(i)?.map(i64::from)),
            "FLOAT8" => real(pg.try_get::<Option<f64>, _>(i)?),
            "FLOAT4" => real(pg.try_get::<Option<f32>, _>(i)?.map(f64::from)),
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => match pg.try_get::<Option<String>, _>(i)? {
                Some(s) => Value::Text(s),
                None => Value::Null(Kind::Text),
            },
            "BYTEA" => match pg.try_get::<Option<Vec<u8>>, _>(i)? {
                Some(b) => Value::Blob(b),
                None => Value::Null(Kind::Blob),
            },
            "VOID" => Value::Null(Kind::Untyped),
            other => {
                return Err(StoreError::ColumnType {
                    column: column.name().to_string(),
                    expected: "a PostgreSQL integer, float, text or bytea",
                    found: other.to_string(),
                })
            }
        };
        values.push(value);
    }
    Ok(Row::new(columns, values))
}

fn int(n: Option<i64>) -> Value {
    n.map_or(Value::Null(Kind::Int), Value::Int)
}

fn real(x: Option<f64>) -> Value {
    x.map_or(Value::Null(Kind::Real), Value::Real)
}
