//! The server's database: one SQLite file `DATA_DIR/gridwork.db` that is a
//! core store database (docs, chunks, read models, migrated by the core via
//! `PRAGMA user_version`) plus the server's own tables (accounts, feed),
//! migrated here from `sync-server/sql/NNN_*.sql` and tracked in the table
//! `server_schema(version)`. Also small adapters so server code can run in
//! the core's write transaction with the server's [`Error`] type.

use crate::error::Error;
use gridwork_core::store::{Db, DbKey, WriteTx};
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
    include_str!("../sql/008_handlers.sql"),
    include_str!("../sql/009_resident_requests.sql"),
];

/// The server schema version this build writes.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// The server's store keeps more in memory than a phone's: the docs its
/// phones are syncing now (a day's pushes are served back to the grid's other
/// phones) and the decrypted pages of its hot tables.
pub const SERVER_TUNING: gridwork_core::store::Tuning = gridwork_core::store::Tuning {
    doc_cache: 512,
    page_cache_kib: 32 * 1024,
    compress_snapshots: false,
    wal_autocheckpoint: 10_000,
};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "gridwork.db";

/// The database path inside `data_dir`.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}

/// Open `data_dir`'s database with the key found by the default rule
/// (`DATA_DIR/server.key`, created on first start): [`open_with`].
pub fn open(data_dir: &Path) -> Result<Db, Error> {
    open_with(data_dir, &crate::keys::KeyArgs::default()).map(|(db, _)| db)
}

/// Resolve the key ([`crate::keys::resolve`]) and open the database:
/// [`open_keyed`]. Returns the key too (its origin is worth a log line).
pub fn open_with(
    data_dir: &Path,
    args: &crate::keys::KeyArgs,
) -> Result<(Db, crate::keys::ServerKey), Error> {
    crate::keys::secure_data_dir(data_dir)?;
    let key = crate::keys::resolve(data_dir, args, &db_path(data_dir))?;
    let db = open_keyed(data_dir, &key.key)?;
    Ok((db, key))
}

/// Create `data_dir` if needed (mode 0700), encrypt a plain database left by
/// a version before encryption ([`encrypt_plain_database`]), open (creating
/// on first start) the database with `key`, run the core's migrations
/// (inside `Db::open`) and then the server's.
pub fn open_keyed(data_dir: &Path, key: &DbKey) -> Result<Db, Error> {
    crate::keys::secure_data_dir(data_dir)?;
    let path = db_path(data_dir);
    if crate::keys::is_plain_database(&path)? {
        encrypt_plain_database(&path, key)?;
        tracing::info!("plain database encrypted with the server key");
    }
    let db = Db::open_tuned(&path, Some(key), SERVER_TUNING).map_err(|e| match e {
        gridwork_core::Error::WrongKey => Error::invalid(
            "key",
            "数据库密钥不正确 / the database key is wrong (check --key-file / --key-env)",
        ),
        other => Error::Core(other),
    })?;
    migrate(&db)?;
    Ok(db)
}

/// A plain rusqlite connection to `data_dir`'s database, keyed by the
/// default rule ([`crate::keys::resolve`]): for read-only inspection by
/// tools and tests that need SQL the server's API does not offer.
pub fn connect(data_dir: &Path) -> Result<rusqlite::Connection, Error> {
    let path = db_path(data_dir);
    let key = crate::keys::resolve(data_dir, &crate::keys::KeyArgs::default(), &path)?;
    let conn = rusqlite::Connection::open(&path)?;
    conn.pragma_update(None, "key", crate::keys::key_text(&key.key))?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
    Ok(conn)
}

/// Replace the plain SQLite database at `path` by an encrypted copy: its
/// WAL is checkpointed, every table is exported into `PATH.encrypting`
/// with `key` (SQLCipher's `sqlcipher_export`, keeping `user_version`), the
/// copy is synced and renamed over the original, and the plain WAL and
/// shared-memory files are removed. A crash before the rename leaves the
/// plain file as it was (and the next start does it again).
pub fn encrypt_plain_database(path: &Path, key: &DbKey) -> Result<(), Error> {
    let target = path.with_extension("db.encrypting");
    let _ = std::fs::remove_file(&target);
    {
        let conn = rusqlite::Connection::open(path)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        export_encrypted(&conn, &target, key)?;
    }
    std::fs::File::open(&target)?.sync_all()?;
    std::fs::rename(&target, path)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::remove_file(PathBuf::from(side)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(dir) = path.parent() {
        // The rename is durable once the directory entry is.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// Copy every table of `conn`'s main database into a new encrypted file at
/// `target` keyed with `key`, in one read transaction (a consistent
/// snapshot even while others write), keeping `user_version`.
pub fn export_encrypted(
    conn: &rusqlite::Connection,
    target: &Path,
    key: &DbKey,
) -> Result<(), Error> {
    let target_text = target
        .to_str()
        .ok_or_else(|| Error::invalid("path", "路径不是UTF-8 / the path is not UTF-8"))?;
    conn.execute(
        "ATTACH DATABASE ?1 AS export_target KEY ?2",
        rusqlite::params![target_text, crate::keys::key_text(key)],
    )?;
    let exported = (|| -> Result<(), Error> {
        conn.execute_batch("BEGIN")?;
        let version: i64 = conn.query_row("PRAGMA main.user_version", [], |r| r.get(0))?;
        conn.query_row("SELECT sqlcipher_export('export_target')", [], |_| Ok(()))?;
        conn.execute_batch(&format!(
            "PRAGMA export_target.user_version = {version}; COMMIT"
        ))?;
        Ok(())
    })();
    if exported.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    conn.execute_batch("DETACH DATABASE export_target")?;
    exported
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

    /// A data directory written before encryption: a plain database with a
    /// resident's address and phone in a household doc.
    fn plain_data_dir(data: &Path) -> i64 {
        use gridwork_core::model::NewHousehold;
        std::fs::create_dir_all(data).unwrap();
        let db = Db::open(&db_path(data), None).unwrap();
        migrate(&db).unwrap();
        write(&db, |tx| {
            tx.conn().execute(
                "INSERT INTO grids (code, name, parent, level) VALUES ('T', 'Town', NULL, 1)",
                [],
            )?;
            Ok(())
        })
        .unwrap();
        drop(db);
        let store = gridwork_core::Store::open(db_path(data), None).unwrap();
        store.init("srv", "Server", "T").unwrap();
        store
            .add_household(NewHousehold {
                address: "Plaintextlane 17".into(),
                phone: "13912345678".into(),
                ..Default::default()
            })
            .unwrap();
        store.list_households().unwrap().len() as i64
    }

    #[test]
    fn a_plain_data_directory_is_encrypted_in_place_and_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        assert_eq!(plain_data_dir(&data), 1);
        assert!(crate::keys::is_plain_database(&db_path(&data)).unwrap());
        let (db, key) = open_with(&data, &crate::keys::KeyArgs::default()).unwrap();
        assert!(matches!(key.origin, crate::keys::KeyOrigin::Created(_)));
        drop(db);
        assert!(!crate::keys::is_plain_database(&db_path(&data)).unwrap());
        for entry in std::fs::read_dir(&data).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            for secret in [&b"Plaintextlane"[..], b"13912345678"] {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret),
                    "plain personal data left in the data directory"
                );
            }
        }
        // Everything is still there, read with the key.
        let db = open(&data).unwrap();
        let grids = crate::accounts::list_grids(&db).unwrap();
        assert_eq!(grids.len(), 1);
        drop(db);
        let store = gridwork_core::Store::open(db_path(&data), Some(key.key.clone())).unwrap();
        let households = store.list_households().unwrap();
        assert_eq!(households.len(), 1);
        // Without the key nothing opens.
        assert!(gridwork_core::Store::open(db_path(&data), None).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&data).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[test]
    fn a_wrong_key_is_a_clear_error_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path()).unwrap());
        let before = std::fs::read(db_path(dir.path())).unwrap();
        let err = open_keyed(dir.path(), &DbKey::Raw([9; 32]))
            .err()
            .expect("refused");
        assert!(err.to_string().contains("key"), "{err}");
        assert_eq!(std::fs::read(db_path(dir.path())).unwrap(), before);
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
