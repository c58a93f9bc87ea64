//! Moving a server from its SQLite data directory onto PostgreSQL
//! (`gridwork-server admin --data-dir DIR copy-to-postgres --to URL`): every
//! table of the SQLite database is copied, row for row, into an empty
//! PostgreSQL database migrated to this build's schema, in one PostgreSQL
//! transaction (all or nothing). The two schemas have the same tables and
//! columns (`tests/postgres_schema.rs` keeps them so), so a row is copied by
//! column name; identity sequences are moved past the copied keys.
//!
//! Stop the SQLite server first (the copy reads a consistent snapshot, but
//! what phones push after it starts stays behind in SQLite).

use super::store::PgStore;
use crate::error::Error;
use gridwork_core::store::sql::{SqlCell, SqlConn, SqlValue};
use gridwork_core::store::Db;
use rusqlite::types::ValueRef;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Rows per `INSERT` (PostgreSQL takes at most 65,535 parameters).
const BATCH_ROWS: usize = 256;

/// What was copied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CopySummary {
    /// Tables copied.
    pub tables: usize,
    /// Rows copied, all tables.
    pub rows: u64,
    /// Documents among them.
    pub docs: u64,
}

/// Copy every table of `sqlite` into the empty PostgreSQL database of `pg`.
/// Refused ([`Error::Conflict`]) when the target already holds grids,
/// workers or documents, and ([`Error::Invalid`]) when a SQLite table has
/// no PostgreSQL counterpart (a newer SQLite schema than this build's).
pub fn copy_to_postgres(sqlite: &Db, pg: &PgStore) -> Result<CopySummary, Error> {
    crate::db::read(sqlite, |conn| {
        let tables = sqlite_tables(conn)?;
        pg.transaction(|tx| {
            let target = postgres_tables(tx)?;
            if let Some(missing) = tables.keys().find(|t| !target.contains(*t)) {
                return Err(Error::invalid(
                    "database",
                    format!("PostgreSQL 库缺少表 {missing} / the PostgreSQL schema has no table {missing}"),
                ));
            }
            for table in ["docs", "grids", "workers"] {
                let count = tx
                    .value(&format!("SELECT count(*) FROM {table}"), &[])?
                    .map_or(Ok(0), |c| c.int())?;
                if count > 0 {
                    return Err(Error::Conflict(
                        "目标 PostgreSQL 数据库已有数据 / the PostgreSQL database already holds data (copy only into an empty one)".into(),
                    ));
                }
            }
            let order = parents_first(tx, tables.keys().cloned().collect())?;
            // Seeded rows (the feed counter) give way to the copied ones.
            tx.batch(&format!("TRUNCATE {}", order.join(", ")))?;
            let mut summary = CopySummary::default();
            for table in &order {
                let rows = copy_table(conn, tx, table, &tables[table])?;
                summary.tables += 1;
                summary.rows += rows;
                if table == "docs" {
                    summary.docs = rows;
                }
            }
            move_identity_sequences(tx)?;
            Ok(summary)
        })
    })
}

/// The SQLite tables (but SQLite's own and the SQLite schema version) with
/// their columns.
fn sqlite_tables(conn: &rusqlite::Connection) -> Result<BTreeMap<String, Vec<String>>, Error> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%' AND name != 'server_schema' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = BTreeMap::new();
    for name in names {
        let columns: Vec<String> = conn
            .prepare(&format!("PRAGMA table_info({name})"))?
            .query_map([], |r| r.get(1))?
            .collect::<Result<_, _>>()?;
        out.insert(name, columns);
    }
    Ok(out)
}

/// The PostgreSQL tables of the current schema.
fn postgres_tables(tx: &dyn SqlConn) -> Result<BTreeSet<String>, Error> {
    tx.rows(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        &[],
    )?
    .into_iter()
    .map(|row| {
        let [name] = crate::sync::storage::cells(row)?;
        Ok(name.text()?)
    })
    .collect()
}

/// `tables` ordered so that every table comes after the tables its foreign
/// keys point to.
fn parents_first(tx: &dyn SqlConn, tables: Vec<String>) -> Result<Vec<String>, Error> {
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in tx.rows(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
         WHERE contype = 'f' AND connamespace = current_schema()::regnamespace",
        &[],
    )? {
        let [child, parent] = crate::sync::storage::cells(row)?;
        parents
            .entry(child.text()?)
            .or_default()
            .insert(parent.text()?);
    }
    let copied: BTreeSet<String> = tables.iter().cloned().collect();
    let mut order: Vec<String> = Vec::new();
    let mut left = tables;
    while !left.is_empty() {
        let (ready, waiting): (Vec<String>, Vec<String>) = left.into_iter().partition(|t| {
            parents.get(t).is_none_or(|ps| {
                ps.iter()
                    .all(|p| p == t || !copied.contains(p) || order.contains(p))
            })
        });
        if ready.is_empty() {
            return Err(Error::Internal("foreign keys form a cycle".into()));
        }
        order.extend(ready);
        left = waiting;
    }
    Ok(order)
}

/// Copy one table, [`BATCH_ROWS`] rows per statement; returns the rows
/// copied.
fn copy_table(
    conn: &rusqlite::Connection,
    tx: &dyn SqlConn,
    table: &str,
    columns: &[String],
) -> Result<u64, Error> {
    let list = columns.join(", ");
    let mut stmt = conn.prepare(&format!("SELECT {list} FROM {table}"))?;
    let mut rows = stmt.query([])?;
    let mut batch: Vec<Vec<SqlCell>> = Vec::with_capacity(BATCH_ROWS);
    let mut copied = 0u64;
    while let Some(row) = rows.next()? {
        let mut cells = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            cells.push(match row.get_ref(i)? {
                ValueRef::Null => SqlCell::Null,
                ValueRef::Integer(v) => SqlCell::Int(v),
                ValueRef::Real(v) => SqlCell::Real(v),
                ValueRef::Text(v) => SqlCell::Text(String::from_utf8_lossy(v).into_owned()),
                ValueRef::Blob(v) => SqlCell::Blob(v.to_vec()),
            });
        }
        batch.push(cells);
        if batch.len() == BATCH_ROWS {
            insert_batch(tx, table, &list, columns.len(), &batch)?;
            copied += batch.len() as u64;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        insert_batch(tx, table, &list, columns.len(), &batch)?;
        copied += batch.len() as u64;
    }
    Ok(copied)
}

/// One multi-row `INSERT`.
fn insert_batch(
    tx: &dyn SqlConn,
    table: &str,
    list: &str,
    width: usize,
    batch: &[Vec<SqlCell>],
) -> Result<(), Error> {
    let tuples: Vec<String> = (0..batch.len())
        .map(|r| {
            let marks: Vec<String> = (1..=width).map(|c| format!("?{}", r * width + c)).collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let sql = format!("INSERT INTO {table} ({list}) VALUES {}", tuples.join(", "));
    let args: Vec<SqlValue<'_>> = batch
        .iter()
        .flatten()
        .map(|cell| match cell {
            SqlCell::Null => SqlValue::Null,
            SqlCell::Int(v) => SqlValue::Int(*v),
            SqlCell::Real(v) => SqlValue::Real(*v),
            SqlCell::Text(v) => SqlValue::Text(v),
            SqlCell::Blob(v) => SqlValue::Blob(v),
        })
        .collect();
    tx.exec(&sql, &args)?;
    Ok(())
}

/// Move every identity column's sequence past the largest copied key, so
/// rows inserted later get new keys.
fn move_identity_sequences(tx: &dyn SqlConn) -> Result<(), Error> {
    for row in tx.rows(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
        &[],
    )? {
        let [table, column] = crate::sync::storage::cells(row)?;
        let (table, column) = (table.text()?, column.text()?);
        tx.exec(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), max({column}))
                 FROM {table} HAVING max({column}) IS NOT NULL"
            ),
            &[],
        )?;
    }
    Ok(())
}
