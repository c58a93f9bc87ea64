//! The server's database: one SQLite file `DATA_DIR/gridwork.db` that is a
//! core store database (docs, chunks, read models, migrated by the core via
//! `PRAGMA user_version`) plus the server's own tables (accounts, feed),
//! migrated here from `sync-server/sql/NNN_*.sql` and tracked in the table
//! `server_schema(version)`. Also small adapters so server code can run in
//! the core's write transaction with the server's [`Error`] type.

use crate::error::Error;
use gridwork_core::store::{Db, WriteTx};
use std::path::{Path, PathBuf};

/// The server migrations, in order; migration `i` takes the server schema
/// from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../sql/001_accounts.sql"),
    include_str!("../sql/002_feed.sql"),
    include_str!("../sql/003_sync.sql"),
    include_str!("../sql/004_policies.sql"),
    include_str!("../sql/005_staff_auth.sql"),
    include_str!("../sql/006_access_log.sql"),
    include_str!("../sql/007_attestation.sql"),
];

/// The server schema version this build writes.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "gridwork.db";

/// The database path inside `data_dir`.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}

/// Create `data_dir` if needed, open (creating on first start) its database,
/// run the core's migrations (inside `Db::open`) and then the server's.
pub fn open(data_dir: &Path) -> Result<Db, Error> {
    std::fs::create_dir_all(data_dir)?;
    let db = Db::open(&db_path(data_dir), None)?;
    migrate(&db)?;
    Ok(db)
}

/// Bring the server tables up to [`CURRENT_VERSION`] in one write
/// transaction. Returns the version found before. A database written by a
/// newer server is refused.
pub fn migrate(db: &Db) -> Result<i64, Error> {
    write(db, |tx| {
        let conn = tx.conn();
        conn.execute_batch("CREATE TABLE IF NOT EXISTS server_schema (version INTEGER NOT NULL);")?;
        let found: i64 = conn.query_row(
            "SELECT coalesce(max(version), 0) FROM server_schema",
            [],
            |r| r.get(0),
        )?;
        if found > CURRENT_VERSION {
            return Err(Error::Unsupported(format!(
                "服务器数据库版本 v{found} 高于本程序支持的 v{CURRENT_VERSION} / server schema v{found} is newer than this build supports (v{CURRENT_VERSION})"
            )));
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            tracing::info!(from = index, to = index + 1, "migrating server schema");
            tx.conn().execute_batch(sql)?;
            tx.conn().execute(
                "INSERT INTO server_schema (version) VALUES (?1)",
                [index as i64 + 1],
            )?;
            if index + 1 == 7 {
                let bound = bind_existing_actors(tx)?;
                tracing::info!(bound, "actors of the stored changes bound to their authors");
            }
        }
        Ok(found)
    })
}

/// Migration 7's data step: bind every Automerge actor of the changes
/// already stored to the worker its changes name as author (device `''`:
/// any device of that worker; worker `''` when they name none: no one), so
/// that no device can claim an actor it did not make (ADR 14). Reads every
/// stored doc once; idempotent. Returns the number of actors bound.
pub fn bind_existing_actors(tx: &mut WriteTx<'_>) -> Result<usize, Error> {
    let now = now_ms();
    let mut bound = 0;
    for (key, id, _) in tx.all_docs()? {
        let doc = tx.load_stored(key, &id)?;
        let mut actors: std::collections::BTreeMap<Vec<u8>, String> = Default::default();
        for change in doc.get_changes(&[]) {
            let author = change
                .author()
                .and_then(|a| String::from_utf8(a.as_bytes().to_vec()).ok())
                .unwrap_or_default();
            actors
                .entry(change.actor_id().to_bytes().to_vec())
                .or_insert(author);
        }
        for (actor, author) in actors {
            bound += tx.conn().execute(
                "INSERT OR IGNORE INTO actors (actor, worker_id, device, bound_at) VALUES (?1, ?2, '', ?3)",
                rusqlite::params![actor, author, now],
            )?;
        }
    }
    Ok(bound)
}

/// Run `f` in one immediate write transaction of the core's writer
/// connection; commit if it returns `Ok`, roll back otherwise. Unlike
/// `Db::write`, `f` returns the server's [`Error`], which is handed back
/// unchanged (the transaction is rolled back first).
pub fn write<T>(db: &Db, f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, Error>) -> Result<T, Error> {
    let mut failure: Option<Error> = None;
    let out = db.write(|tx| match f(tx) {
        Ok(value) => Ok(value),
        Err(e) => {
            failure = Some(e);
            // Any error makes `Db::write` roll back; this one is replaced below.
            Err(gridwork_core::Error::invalid("", "rolled back"))
        }
    });
    match failure {
        Some(e) => Err(e),
        None => out.map_err(Error::from),
    }
}

/// Run `f` on the reader connection (sees the last committed state).
pub fn read<T>(
    db: &Db,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut failure: Option<Error> = None;
    let out = db.read(|conn| match f(conn) {
        Ok(value) => Ok(value),
        Err(e) => {
            failure = Some(e);
            Err(gridwork_core::Error::invalid("", "failed"))
        }
    });
    match failure {
        Some(e) => Err(e),
        None => out.map_err(Error::from),
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_leave_user_version_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path()).unwrap();
        assert!(db_path(dir.path()).exists());
        assert_eq!(migrate(&db).unwrap(), CURRENT_VERSION);
        let (rows, user_version) = read(&db, |c| {
            let rows: i64 = c.query_row("SELECT count(*) FROM server_schema", [], |r| r.get(0))?;
            let uv: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            Ok((rows, uv))
        })
        .unwrap();
        assert_eq!(rows, CURRENT_VERSION);
        assert_eq!(
            user_version,
            i64::from(gridwork_core::store::migrations::CURRENT_VERSION)
        );
        drop(db);
        // Reopening does not re-run anything.
        let db = open(dir.path()).unwrap();
        assert_eq!(migrate(&db).unwrap(), CURRENT_VERSION);
    }

    #[test]
    fn write_rolls_back_and_returns_the_server_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path()).unwrap();
        let err = write(&db, |tx| {
            tx.conn().execute(
                "INSERT INTO grids (code, name, parent, level) VALUES ('T', 't', NULL, 1)",
                [],
            )?;
            Err::<(), _>(Error::Conflict("x".into()))
        })
        .unwrap_err();
        assert!(matches!(err, Error::Conflict(_)));
        let count: i64 = read(&db, |c| {
            Ok(c.query_row("SELECT count(*) FROM grids", [], |r| r.get(0))?)
        })
        .unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn newer_server_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path()).unwrap();
        write(&db, |tx| {
            tx.conn()
                .execute("INSERT INTO server_schema (version) VALUES (999)", [])?;
            Ok(())
        })
        .unwrap();
        assert!(matches!(migrate(&db), Err(Error::Unsupported(_))));
    }
}
