//! A portable SQL connection: the few calls the store's shared SQL needs
//! (run a statement, read rows) over values that both SQLite and
//! PostgreSQL bind, so that one body of SQL — the read models, document
//! persistence, the server's own tables — runs on the phone's SQLite and on
//! a server's PostgreSQL alike (issue 13, ADR 18).
//!
//! Statements are written once, in the dialect both databases accept:
//! numbered `?N` placeholders (a PostgreSQL implementation rewrites them to
//! `$N`), `INSERT … ON CONFLICT … DO UPDATE SET c = excluded.c`,
//! `RETURNING`, 64-bit integers for flags and times (the PostgreSQL schema
//! declares them `BIGINT`). Where the two differ, code asks
//! [`SqlConn::dialect`].
//!
//! SQLite's implementation is here, on `rusqlite::Connection` (statements
//! kept prepared); the server implements the trait on its PostgreSQL
//! transaction.

use crate::{Error, Result};
use rusqlite::types::{ToSqlOutput, ValueRef};

/// A value bound to a placeholder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SqlValue<'a> {
    /// SQL `NULL`.
    Null,
    /// A 64-bit integer (also flags: 0/1).
    Int(i64),
    /// A double.
    Real(f64),
    /// UTF-8 text.
    Text(&'a str),
    /// Bytes.
    Blob(&'a [u8]),
}

impl From<i64> for SqlValue<'_> {
    fn from(v: i64) -> Self {
        SqlValue::Int(v)
    }
}

impl From<u32> for SqlValue<'_> {
    fn from(v: u32) -> Self {
        SqlValue::Int(v.into())
    }
}

impl From<i32> for SqlValue<'_> {
    fn from(v: i32) -> Self {
        SqlValue::Int(v.into())
    }
}

impl From<bool> for SqlValue<'_> {
    fn from(v: bool) -> Self {
        SqlValue::Int(v.into())
    }
}

impl From<f64> for SqlValue<'_> {
    fn from(v: f64) -> Self {
        SqlValue::Real(v)
    }
}

impl<'a> From<&'a str> for SqlValue<'a> {
    fn from(v: &'a str) -> Self {
        SqlValue::Text(v)
    }
}

impl<'a> From<&'a String> for SqlValue<'a> {
    fn from(v: &'a String) -> Self {
        SqlValue::Text(v)
    }
}

impl<'a> From<&'a [u8]> for SqlValue<'a> {
    fn from(v: &'a [u8]) -> Self {
        SqlValue::Blob(v)
    }
}

impl<'a> From<&'a Vec<u8>> for SqlValue<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        SqlValue::Blob(v)
    }
}

impl<'a, T: Into<SqlValue<'a>>> From<Option<T>> for SqlValue<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// A value read from a row.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlCell {
    /// SQL `NULL`.
    Null,
    /// An integer (PostgreSQL booleans read as 0/1).
    Int(i64),
    /// A double.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl SqlCell {
    /// The integer, or an error naming what was found instead.
    pub fn int(&self) -> Result<i64> {
        match self {
            SqlCell::Int(v) => Ok(*v),
            other => Err(other.unexpected("an integer")),
        }
    }

    /// The integer, `None` for `NULL`.
    pub fn opt_int(&self) -> Result<Option<i64>> {
        match self {
            SqlCell::Null => Ok(None),
            other => other.int().map(Some),
        }
    }

    /// The text (moved out of the cell).
    pub fn text(self) -> Result<String> {
        match self {
            SqlCell::Text(v) => Ok(v),
            other => Err(other.unexpected("text")),
        }
    }

    /// The bytes (moved out of the cell).
    pub fn blob(self) -> Result<Vec<u8>> {
        match self {
            SqlCell::Blob(v) => Ok(v),
            other => Err(other.unexpected("bytes")),
        }
    }

    /// The bytes, `None` for `NULL`.
    pub fn opt_blob(self) -> Result<Option<Vec<u8>>> {
        match self {
            SqlCell::Null => Ok(None),
            other => other.blob().map(Some),
        }
    }

    /// The text, `None` for `NULL`.
    pub fn opt_text(self) -> Result<Option<String>> {
        match self {
            SqlCell::Null => Ok(None),
            other => other.text().map(Some),
        }
    }

    /// The number as a double (an integer is widened), `None` for `NULL`.
    pub fn opt_real(&self) -> Result<Option<f64>> {
        match self {
            SqlCell::Null => Ok(None),
            SqlCell::Real(v) => Ok(Some(*v)),
            SqlCell::Int(v) => Ok(Some(*v as f64)),
            other => Err(other.unexpected("a number")),
        }
    }

    /// A 0/1 flag (SQLite integer or PostgreSQL boolean) as `bool`.
    pub fn flag(&self) -> Result<bool> {
        Ok(self.int()? != 0)
    }

    /// A count or other non-negative integer as `u32` (saturating).
    pub fn count(&self) -> Result<u32> {
        Ok(u32::try_from(self.opt_int()?.unwrap_or(0).max(0)).unwrap_or(u32::MAX))
    }

    /// The type error of reading this cell as `wanted` (names types only,
    /// never the value).
    fn unexpected(&self, wanted: &str) -> Error {
        let found = match self {
            SqlCell::Null => "NULL",
            SqlCell::Int(_) => "an integer",
            SqlCell::Real(_) => "a double",
            SqlCell::Text(_) => "text",
            SqlCell::Blob(_) => "bytes",
        };
        Error::Database {
            sqlstate: None,
            message: format!("expected {wanted}, found {found}"),
        }
    }
}

/// A row of exactly `N` columns as an array, to destructure by name
/// (`let [id, name] = columns(row)?;`).
pub fn columns<const N: usize>(row: Vec<SqlCell>) -> Result<[SqlCell; N]> {
    row.try_into().map_err(|row: Vec<SqlCell>| Error::Database {
        sqlstate: None,
        message: format!("expected {N} columns, the row has {}", row.len()),
    })
}

/// Which database a connection talks to, for the statements that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (SQLCipher): phones and the embedded server default.
    Sqlite,
    /// PostgreSQL: `serve --database postgres://…`.
    Postgres,
}

/// A connection (inside the caller's transaction) that runs portable SQL.
pub trait SqlConn {
    /// The database behind it.
    fn dialect(&self) -> Dialect;
    /// Run one statement; returns the rows it changed.
    fn exec(&self, sql: &str, args: &[SqlValue<'_>]) -> Result<usize>;
    /// Run one query; returns all its rows.
    fn rows(&self, sql: &str, args: &[SqlValue<'_>]) -> Result<Vec<Vec<SqlCell>>>;

    /// The first row of a query, if any.
    fn row(&self, sql: &str, args: &[SqlValue<'_>]) -> Result<Option<Vec<SqlCell>>> {
        Ok(self.rows(sql, args)?.into_iter().next())
    }

    /// The first column of the first row, if there is a row.
    fn value(&self, sql: &str, args: &[SqlValue<'_>]) -> Result<Option<SqlCell>> {
        Ok(self.row(sql, args)?.and_then(|r| r.into_iter().next()))
    }

    /// True when the query returns a row.
    fn exists(&self, sql: &str, args: &[SqlValue<'_>]) -> Result<bool> {
        Ok(self.row(sql, args)?.is_some())
    }
}

impl rusqlite::ToSql for SqlValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            SqlValue::Null => ValueRef::Null,
            SqlValue::Int(v) => ValueRef::Integer(v),
            SqlValue::Real(v) => ValueRef::Real(v),
            SqlValue::Text(v) => ValueRef::Text(v.as_bytes()),
            SqlValue::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

impl SqlConn for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn exec(&self, sql: &str, args: &[SqlValue<'_>]) -> Result<usize> {
        Ok(self
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(args))?)
    }

    fn rows(&self, sql: &str, args: &[SqlValue<'_>]) -> Result<Vec<Vec<SqlCell>>> {
        let mut stmt = self.prepare_cached(sql)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(width);
            for i in 0..width {
                cells.push(match row.get_ref(i)? {
                    ValueRef::Null => SqlCell::Null,
                    ValueRef::Integer(v) => SqlCell::Int(v),
                    ValueRef::Real(v) => SqlCell::Real(v),
                    ValueRef::Text(v) => SqlCell::Text(String::from_utf8_lossy(v).into_owned()),
                    ValueRef::Blob(v) => SqlCell::Blob(v.to_vec()),
                });
            }
            out.push(cells);
        }
        Ok(out)
    }
}

impl SqlConn for rusqlite::Transaction<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn exec(&self, sql: &str, args: &[SqlValue<'_>]) -> Result<usize> {
        (**self).exec(sql, args)
    }

    fn rows(&self, sql: &str, args: &[SqlValue<'_>]) -> Result<Vec<Vec<SqlCell>>> {
        (**self).rows(sql, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB)")
            .unwrap();
        let blob = vec![0u8, 1, 255];
        let n = conn
            .exec(
                "INSERT INTO t (i, r, s, b) VALUES (?1, ?2, ?3, ?4), (?5, NULL, NULL, NULL)",
                &[
                    7i64.into(),
                    1.5f64.into(),
                    "网格".into(),
                    (&blob).into(),
                    Option::<i64>::None.into(),
                ],
            )
            .unwrap();
        assert_eq!(n, 2);
        let rows = conn
            .rows("SELECT i, r, s, b FROM t ORDER BY i IS NULL", &[])
            .unwrap();
        assert_eq!(
            rows[0],
            vec![
                SqlCell::Int(7),
                SqlCell::Real(1.5),
                SqlCell::Text("网格".into()),
                SqlCell::Blob(blob.clone())
            ]
        );
        assert_eq!(rows[1], vec![SqlCell::Null; 4]);
        assert_eq!(rows[1][0].opt_int().unwrap(), None);
        assert!(rows[1][0].int().is_err());
        assert!(conn
            .exists("SELECT 1 FROM t WHERE s = ?1", &["网格".into()])
            .unwrap());
        assert!(!conn
            .exists("SELECT 1 FROM t WHERE s = ?1", &["other".into()])
            .unwrap());
        assert_eq!(
            conn.value("SELECT count(*) FROM t", &[])
                .unwrap()
                .unwrap()
                .int()
                .unwrap(),
            2
        );
    }
}
