//! [`SqlConn`] on a PostgreSQL transaction: the portable SQL of the core
//! (documents, read models) and of the server (its own tables) runs here
//! unchanged. Placeholders `?N` become `$N`; every statement is prepared
//! once per connection and kept ([`Statements`]), as rusqlite's
//! `prepare_cached` does for SQLite. Values bind to whatever type the
//! column has (an integer to `BIGINT`, `INTEGER` or `BOOLEAN`), and cells
//! read back as the portable [`SqlCell`]s.

use bytes::BytesMut;
use gridwork_core::store::sql::{Dialect, SqlCell, SqlConn, SqlValue};
use postgres::types::{IsNull, ToSql, Type};
use postgres::{Row, Statement, Transaction};
use std::cell::RefCell;
use std::collections::HashMap;

/// Prepared statements of one connection, by their portable SQL.
pub type Statements = HashMap<String, Statement>;

/// A PostgreSQL transaction that runs portable SQL.
pub struct PgTx<'a> {
    tx: RefCell<Transaction<'a>>,
    statements: RefCell<&'a mut Statements>,
}

impl<'a> PgTx<'a> {
    /// Wrap an open transaction and its connection's statement cache.
    pub fn new(tx: Transaction<'a>, statements: &'a mut Statements) -> Self {
        PgTx {
            tx: RefCell::new(tx),
            statements: RefCell::new(statements),
        }
    }

    /// Commit.
    pub fn commit(self) -> Result<(), postgres::Error> {
        self.tx.into_inner().commit()
    }

    /// Run statements without parameters (savepoints, locks).
    pub fn batch(&self, sql: &str) -> gridwork_core::Result<()> {
        self.tx
            .borrow_mut()
            .batch_execute(sql)
            .map_err(database_error)
    }

    /// The prepared form of `sql` (prepared now if new).
    fn statement(&self, sql: &str) -> gridwork_core::Result<Statement> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self
            .tx
            .borrow_mut()
            .prepare(&dollar_placeholders(sql))
            .map_err(database_error)?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// The core's error for a PostgreSQL failure: its SQLSTATE and the
/// description [`super::describe`] gives (nothing that may quote values).
pub fn database_error(e: postgres::Error) -> gridwork_core::Error {
    let (sqlstate, message) = super::describe(&e);
    gridwork_core::Error::Database { sqlstate, message }
}

/// `sql` with SQLite's `?N` placeholders written as PostgreSQL's `$N`
/// (outside string literals).
pub fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut in_literal = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => in_literal = !in_literal,
            '?' if !in_literal && chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// A portable value bound to a PostgreSQL parameter of any compatible type.
#[derive(Debug)]
struct Arg<'v>(SqlValue<'v>);

impl ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            SqlValue::Null => Ok(IsNull::Yes),
            SqlValue::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                Type::BOOL => (v != 0).to_sql(ty, out),
                Type::FLOAT8 => (v as f64).to_sql(ty, out),
                _ => Err(format!("an integer cannot bind to {ty}").into()),
            },
            SqlValue::Real(v) => v.to_sql(ty, out),
            // JSON text bound to a `jsonb` parameter (a list of grids, see
            // `reads::in_list`): the binary format is a version byte, 1,
            // then the text.
            SqlValue::Text(v) if *ty == Type::JSONB => {
                out.extend_from_slice(&[1]);
                out.extend_from_slice(v.as_bytes());
                Ok(IsNull::No)
            }
            SqlValue::Text(v) => v.to_sql(ty, out),
            SqlValue::Blob(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// The cells of a row, by column type.
fn cells(row: &Row) -> gridwork_core::Result<Vec<SqlCell>> {
    let mut out = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let cell = match *column.type_() {
            Type::INT8 => row
                .try_get::<_, Option<i64>>(i)
                .map(|v| v.map(SqlCell::Int)),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)
                .map(|v| v.map(|v| SqlCell::Int(v.into()))),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)
                .map(|v| v.map(|v| SqlCell::Int(v.into()))),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)
                .map(|v| v.map(|v| SqlCell::Int(v.into()))),
            Type::FLOAT8 => row
                .try_get::<_, Option<f64>>(i)
                .map(|v| v.map(SqlCell::Real)),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(i)
                .map(|v| v.map(|v| SqlCell::Real(v.into()))),
            Type::BYTEA => row
                .try_get::<_, Option<Vec<u8>>>(i)
                .map(|v| v.map(SqlCell::Blob)),
            _ => row
                .try_get::<_, Option<String>>(i)
                .map(|v| v.map(SqlCell::Text)),
        }
        .map_err(database_error)?;
        out.push(cell.unwrap_or(SqlCell::Null));
    }
    Ok(out)
}

impl SqlConn for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn exec(&self, sql: &str, args: &[SqlValue<'_>]) -> gridwork_core::Result<usize> {
        let statement = self.statement(sql)?;
        let args: Vec<Arg<'_>> = args.iter().map(|v| Arg(*v)).collect();
        let params: Vec<&(dyn ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        let changed = self
            .tx
            .borrow_mut()
            .execute(&statement, &params)
            .map_err(database_error)?;
        Ok(changed as usize)
    }

    fn rows(&self, sql: &str, args: &[SqlValue<'_>]) -> gridwork_core::Result<Vec<Vec<SqlCell>>> {
        let statement = self.statement(sql)?;
        let args: Vec<Arg<'_>> = args.iter().map(|v| Arg(*v)).collect();
        let params: Vec<&(dyn ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        let rows = self
            .tx
            .borrow_mut()
            .query(&statement, &params)
            .map_err(database_error)?;
        rows.iter().map(cells).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::dollar_placeholders;

    #[test]
    fn placeholders_become_dollars_outside_literals() {
        assert_eq!(
            dollar_placeholders(
                "SELECT '?1', x FROM t WHERE a = ?1 AND b = ?12 AND c = 'it''s ?2'"
            ),
            "SELECT '?1', x FROM t WHERE a = $1 AND b = $12 AND c = 'it''s ?2'"
        );
        assert_eq!(dollar_placeholders("a ? b"), "a ? b");
    }
}
