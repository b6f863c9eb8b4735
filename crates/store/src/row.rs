//! The store's own values, rows and conversions, the same for both backends:
//! an argument becomes a [`Value`] through [`Encode`], a result row is a
//! [`Row`] of `Value`s, and row types read it through [`FromRow`] (by column
//! name, declared with `row_struct!`) or by position (tuples).

use std::cell::Cell;
use std::sync::Arc;

use twostep_core::{UnixTime, UserId};

use crate::{Result, StoreError};

/// What a NULL stands in for. A NULL argument keeps the type its Rust value
/// has, so PostgreSQL is told the same parameter type as for a non-NULL one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A NULL read from SQLite, or `SELECT NULL`.
    Untyped,
    Int,
    Real,
    Text,
    Blob,
}

/// One argument or one column of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null(Kind),
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    fn kind_name(&self) -> &'static str {
        match self {
            Value::Null(_) => "NULL",
            Value::Int(_) => "integer",
            Value::Real(_) => "real",
            Value::Text(_) => "text",
            Value::Blob(_) => "blob",
        }
    }
}

/// A result row: its columns' names (shared by every row of a statement)
/// and values.
#[derive(Debug, Clone)]
pub struct Row {
    columns: Arc<[Box<str>]>,
    values: Vec<Value>,
    /// Where the next lookup by name starts: fields are usually read in the
    /// order the SELECT lists them.
    next: Cell<usize>,
}

impl Row {
    pub(crate) fn new(columns: Arc<[Box<str>]>, values: Vec<Value>) -> Row {
        Row {
            columns,
            values,
            next: Cell::new(0),
        }
    }

    /// The value of the column named `name`.
    pub fn get(&self, name: &str) -> Result<&Value> {
        let n = self.columns.len().min(self.values.len());
        let start = self.next.get();
        let found = (start..n)
            .chain(0..start.min(n))
            .find(|&i| &*self.columns[i] == name)
            .ok_or_else(|| StoreError::ColumnMissing(name.to_string()))?;
        self.next.set(found + 1);
        Ok(&self.values[found])
    }

    /// The value of the `i`th column (from 0) and its name.
    pub fn at(&self, i: usize) -> Result<(&str, &Value)> {
        match (self.columns.get(i), self.values.get(i)) {
            (Some(name), Some(value)) => Ok((name, value)),
            _ => Err(StoreError::ColumnMissing(format!("#{i}"))),
        }
    }
}

/// A Rust value bound as an argument (`.bind(x)`).
pub trait Encode {
    fn encode(self) -> Value;
    /// The type of this value's NULL (as `Option<Self>`).
    const KIND: Kind;
}

/// A Rust value read from one column; `column` names it in errors.
pub trait Decode: Sized {
    fn decode(value: &Value, column: &str) -> Result<Self>;
}

/// A type read from a whole row.
pub trait FromRow: Sized {
    fn from_row(row: &Row) -> Result<Self>;
}

/// A field of a `row_struct!`: one column by its name, or, for a field that
/// is itself a row struct, its columns from the same row (sqlx's `flatten`).
pub trait Field: Sized {
    fn field(row: &Row, name: &str) -> Result<Self>;
}

impl<T: Decode> Field for T {
    fn field(row: &Row, name: &str) -> Result<Self> {
        T::decode(row.get(name)?, name)
    }
}

pub(crate) fn mismatch(value: &Value, column: &str, expected: &'static str) -> StoreError {
    StoreError::ColumnType {
        column: column.to_string(),
        expected,
        found: value.kind_name().to_string(),
    }
}

impl Encode for Value {
    const KIND: Kind = Kind::Untyped;
    fn encode(self) -> Value {
        self
    }
}

/// `impl Encode` for plain types: `type => kind of its NULL, |value| Value`.
macro_rules! encode {
    ($($t:ty => $kind:ident, |$v:ident| $e:expr;)+) => {$(
        impl Encode for $t {
            const KIND: Kind = Kind::$kind;
            fn encode(self) -> Value {
                let $v = self;
                $e
            }
        }
    )+};
}

encode! {
    i64 => Int, |n| Value::Int(n);
    i32 => Int, |n| Value::Int(n.into());
    // 0 or 1, as the schema stores a flag.
    bool => Int, |b| Value::Int(b.into());
    f64 => Real, |x| Value::Real(x);
    &str => Text, |s| Value::Text(s.to_string());
    String => Text, |s| Value::Text(s);
    &String => Text, |s| Value::Text(s.clone());
    &[u8] => Blob, |b| Value::Blob(b.to_vec());
    Vec<u8> => Blob, |b| Value::Blob(b);
    &Vec<u8> => Blob, |b| Value::Blob(b.clone());
    UnixTime => Int, |t| Value::Int(t.secs());
    UserId => Text, |id| Value::Text(id.as_str().to_string());
    &UserId => Text, |id| Value::Text(id.as_str().to_string());
}

impl<T: Encode> Encode for Option<T> {
    const KIND: Kind = T::KIND;
    fn encode(self) -> Value {
        match self {
            Some(v) => v.encode(),
            None => Value::Null(T::KIND),
        }
    }
}

impl<'a, T> Encode for &'a Option<T>
where
    &'a T: Encode,
{
    const KIND: Kind = <&'a T>::KIND;
    fn encode(self) -> Value {
        self.as_ref().encode()
    }
}

impl Decode for Value {
    fn decode(value: &Value, _: &str) -> Result<Self> {
        Ok(value.clone())
    }
}

impl Decode for i64 {
    fn decode(value: &Value, column: &str) -> Result<Self> {
        match value {
            Value::Int(n) => Ok(*n),
            other => Err(mismatch(other, column, "integer")),
        }
    }
}

/// An integer flag: 0 or 1; anything else is a value this version does not know.
impl Decode for bool {
    fn decode(value: &Value, column: &str) -> Result<Self> {
        match i64::decode(value, column)? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(StoreError::UnknownValue(n.to_string())),
        }
    }
}

impl Decode for f64 {
    fn decode(value: &Value, column: &str) -> Result<Self> {
        match value {
            Value::Real(x) => Ok(*x),
            other => Err(mismatch(other, column, "real")),
        }
    }
}

impl Decode for String {
    fn decode(value: &Value, column: &str) -> Result<Self> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            other => Err(mismatch(other, column, "text")),
        }
    }
}

impl Decode for Vec<u8> {
    fn decode(value: &Value, column: &str) -> Result<Self> {
        match value {
            Value::Blob(b) => Ok(b.clone()),
            other => Err(mismatch(other, column, "blob")),
        }
    }
}

impl Decode for UnixTime {
    fn decode(value: &Value, column: &str) -> Result<Self> {
        i64::decode(value, column).map(UnixTime::from_secs)
    }
}

impl Decode for UserId {
    fn decode(value: &Value, column: &str) -> Result<Self> {
        String::decode(value, column).map(UserId::new)
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(value: &Value, column: &str) -> Result<Self> {
        match value {
            Value::Null(_) => Ok(None),
            v => T::decode(v, column).map(Some),
        }
    }
}

/// Tuples read the columns by position: `query_as::<(A, B)>`, and
/// `query_scalar` (a one-tuple).
macro_rules! tuple_from_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Decode),+> FromRow for ($($t,)+) {
            fn from_row(row: &Row) -> Result<Self> {
                Ok(($({
                    let (name, value) = row.at($i)?;
                    $t::decode(value, name)?
                },)+))
            }
        }
    };
}

tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);

/// A row struct and its reading by column name: each field reads the column
/// of its own name (a field whose type is itself a row struct reads its
/// columns from the same row).
macro_rules! row_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$fmeta])* $fvis $field: $ty),+
        }

        impl crate::row::FromRow for $name {
            fn from_row(row: &crate::row::Row) -> crate::Result<Self> {
                Ok($name {
                    $($field: <$ty as crate::row::Field>::field(row, stringify!($field))?),+
                })
            }
        }

        /// As a field of another row struct: read from the same row.
        impl crate::row::Field for $name {
            fn field(row: &crate::row::Row, _: &str) -> crate::Result<Self> {
                <$name as crate::row::FromRow>::from_row(row)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(names: &[&str], values: Vec<Value>) -> Row {
        let columns: Vec<Box<str>> = names.iter().map(|n| Box::from(*n)).collect();
        Row::new(columns.into(), values)
    }

    row_struct! {
        /// A test row.
        #[derive(Debug, PartialEq)]
        struct Pair {
            a: i64,
            /// Maybe.
            b: Option<String>,
            flag: bool,
        }
    }

    #[test]
    fn structs_read_by_name_in_any_order() {
        let r = row(
            &["b", "flag", "a"],
            vec![Value::Null(Kind::Untyped), Value::Int(1), Value::Int(7)],
        );
        assert_eq!(
            Pair::from_row(&r).unwrap(),
            Pair {
                a: 7,
                b: None,
                flag: true
            }
        );
    }

    #[test]
    fn missing_columns_wrong_types_and_unknown_flags_are_errors() {
        let r = row(&["a", "b"], vec![Value::Int(1), Value::Null(Kind::Text)]);
        assert!(matches!(Pair::from_row(&r), Err(StoreError::ColumnMissing(c)) if c == "flag"));
        let r = row(
            &["a", "b", "flag"],
            vec![
                Value::Text("1".into()),
                Value::Null(Kind::Text),
                Value::Int(0),
            ],
        );
        assert!(matches!(
            Pair::from_row(&r),
            Err(StoreError::ColumnType { .. })
        ));
        let r = row(
            &["a", "b", "flag"],
            vec![Value::Int(1), Value::Null(Kind::Text), Value::Int(2)],
        );
        assert!(matches!(Pair::from_row(&r), Err(StoreError::UnknownValue(v)) if v == "2"));
    }

    #[test]
    fn tuples_read_by_position() {
        let r = row(&["x", "y"], vec![Value::Text("t".into()), Value::Int(3)]);
        let got: (String, UnixTime) = FromRow::from_row(&r).unwrap();
        assert_eq!(got, ("t".to_string(), UnixTime::from_secs(3)));
        assert!(<(String, i64, i64)>::from_row(&r).is_err());
    }
}
