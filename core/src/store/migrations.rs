//! Numbered schema migrations (`core/sql/NNN_*.sql`) tracked by
//! `PRAGMA user_version`. Each upgrade step runs in the same transaction as
//! the version bump; a database newer than this build is refused.

use crate::{Error, Result};
use rusqlite::Connection;

/// The migrations, in order; migration `i` takes the schema from version `i`
/// to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../sql/001_initial.sql"),
    include_str!("../../sql/002_conflicts_attachments.sql"),
    include_str!("../../sql/003_templates_policies.sql"),
];

/// The schema version this build writes.
pub const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// Bring the schema up to [`CURRENT_VERSION`] in one transaction.
pub fn upgrade(conn: &mut Connection) -> Result<u32> {
    // The common case — already current — costs one read and no write (and
    // so no fsync) when a store is opened.
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current == CURRENT_VERSION {
        return Ok(current);
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > CURRENT_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: CURRENT_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tracing::info!(from = index, to = index + 1, "migrating store schema");
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", CURRENT_VERSION)?;
    tx.commit()?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A comparable description of a schema: every table's columns (name,
    /// type, not-null, default, pk) and every index's columns and predicate.
    fn describe(conn: &Connection) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        let mut objects = conn
            .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        let rows: Vec<(String, String, String, Option<String>)> = objects
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for (kind, name, table, sql) in rows {
            let mut lines = vec![format!("{kind} on {table}")];
            if kind == "table" {
                let mut info = conn
                    .prepare(&format!("PRAGMA table_xinfo({name})"))
                    .unwrap();
                let cols = info
                    .query_map([], |r| {
                        Ok(format!(
                            "{} {} notnull={} default={:?} pk={}",
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, i64>(5)?
                        ))
                    })
                    .unwrap();
                lines.extend(cols.map(|c| c.unwrap()));
                let without_rowid = sql
                    .unwrap_or_default()
                    .to_uppercase()
                    .contains("WITHOUT ROWID");
                lines.push(format!("without_rowid={without_rowid}"));
            } else {
                let mut info = conn
                    .prepare(&format!("PRAGMA index_xinfo({name})"))
                    .unwrap();
                let cols = info
                    .query_map([], |r| {
                        Ok(format!(
                            "{:?} desc={}",
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, i64>(3)?
                        ))
                    })
                    .unwrap();
                lines.extend(cols.map(|c| c.unwrap()));
                // Partial-index predicates matter.
                let where_clause = sql
                    .unwrap_or_default()
                    .to_uppercase()
                    .split(" WHERE ")
                    .nth(1)
                    .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "));
                lines.push(format!("where={where_clause:?}"));
            }
            out.insert(name, lines);
        }
        out
    }

    #[test]
    fn upgraded_v1_fixture_equals_a_fresh_database() {
        let mut fresh = Connection::open_in_memory().unwrap();
        assert_eq!(upgrade(&mut fresh).unwrap(), 0);

        let mut old = Connection::open_in_memory().unwrap();
        old.execute_batch(MIGRATIONS[0]).unwrap();
        old.execute_batch(include_str!("../../sql/tests/v1_data.sql"))
            .unwrap();
        let v: u32 = old
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1);
        assert_eq!(upgrade(&mut old).unwrap(), 1);

        assert_eq!(describe(&old), describe(&fresh));
        let version: u32 = old
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, CURRENT_VERSION);
        // Data in the fixture survived the upgrade.
        let households: i64 = old
            .query_row("SELECT count(*) FROM households", [], |r| r.get(0))
            .unwrap();
        assert_eq!(households, 1);
    }

    #[test]
    fn upgrading_twice_is_a_no_op_and_newer_schemas_are_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        upgrade(&mut conn).unwrap();
        assert_eq!(upgrade(&mut conn).unwrap(), CURRENT_VERSION);
        conn.pragma_update(None, "user_version", CURRENT_VERSION + 1)
            .unwrap();
        assert!(matches!(
            upgrade(&mut conn),
            Err(Error::SchemaTooNew { .. })
        ));
    }
}
