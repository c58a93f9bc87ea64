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
    include_str!("../../sql/004_forward_compat.sql"),
    include_str!("../../sql/005_conflicts_time_checks.sql"),
    include_str!("../../sql/006_photos.sql"),
    include_str!("../../sql/007_assignees.sql"),
    include_str!("../../sql/008_case_photos.sql"),
];

/// Schema versions whose migration adds or changes read models: upgrading
/// across one of them rebuilds every read model from the docs in the same
/// transaction, so a new table is filled from the docs stored before it.
pub const REBUILD_AFTER: &[u32] = &[2, 4, 5, 6, 7, 8];

/// The schema version this build writes.
pub const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// The materialiser revision that last read this store's docs
/// (`sync_meta.materializer_revision`), `None` for a store with no schema yet
/// or one written before revisions were recorded.
pub fn stored_revision(conn: &Connection) -> Result<Option<u32>> {
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 0 {
        return Ok(None);
    }
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row(
            "SELECT value FROM sync_meta WHERE key = 'materializer_revision'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| v.parse().ok()))
}

/// True when opening the store must write: the schema is behind, or docs
/// were last read by an older materialiser.
pub fn needs_upgrade(conn: &Connection) -> Result<bool> {
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok(version != CURRENT_VERSION
        || stored_revision(conn)? != Some(crate::docs::MATERIALIZER_REVISION))
}

/// Bring the schema up to [`CURRENT_VERSION`] in one transaction, rebuilding
/// the read models when a migration added or changed one, and re-read the
/// quarantined docs when this build's materialiser is newer than the one
/// that quarantined them.
pub fn upgrade(conn: &mut Connection) -> Result<u32> {
    // The common case — already current — costs two reads and no write (and
    // so no fsync) when a store is opened.
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if !needs_upgrade(conn)? {
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
    if found > 0 && REBUILD_AFTER.iter().any(|v| *v > found) {
        let docs = super::rebuild::rebuild_read_models(&tx)?;
        tracing::info!(docs, "read models rebuilt after the upgrade");
    } else if found > 0 {
        let retried = super::rebuild::retry_quarantined(&tx)?;
        tracing::info!(retried, "quarantined docs re-read by a newer materialiser");
    }
    tx.execute(
        "INSERT INTO sync_meta (key, value) VALUES ('materializer_revision', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [crate::docs::MATERIALIZER_REVISION.to_string()],
    )?;
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
        // Data in the fixture survived the upgrade, and read models added
        // since v1 were filled from the stored doc: the concurrent phone
        // edits made before `conflicts` existed are listed now.
        let count = |sql: &str| -> i64 { old.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT count(*) FROM households"), 1);
        assert_eq!(count("SELECT count(*) FROM residents"), 1);
        let (field, candidates): (String, String) = old
            .query_row("SELECT field, candidates FROM conflicts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(field, "phone");
        assert!(candidates.contains("13900000001") && candidates.contains("13900000002"));
        assert_eq!(count("SELECT count(*) FROM quarantine"), 0);
        assert_eq!(count("SELECT format FROM docs"), 1);
        assert_eq!(
            stored_revision(&old).unwrap(),
            Some(crate::docs::MATERIALIZER_REVISION)
        );
        assert!(!needs_upgrade(&old).unwrap());
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
