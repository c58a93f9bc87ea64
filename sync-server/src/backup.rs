//! `gridwork-server admin backup --to FILE` and `admin restore --from FILE`.
//!
//! A backup is taken online, while the server runs: one read transaction
//! exports every table into a new file encrypted with the same key
//! (SQLCipher's `sqlcipher_export`, [`crate::db::export_encrypted`]), so it
//! is a consistent snapshot and never holds plain personal data. It is
//! written to `FILE.partial`, checked (it opens with the key and passes
//! `PRAGMA quick_check`), synced and only then renamed to `FILE`.
//!
//! A restore runs with the server stopped (it takes the data directory's
//! lock, [`DataDirLock`], which `serve` holds while it runs): the backup is
//! checked the same way, the current database (if any, with `--force`) is
//! checkpointed and kept beside as `gridwork.db.before-restore-<ms>`, and
//! the backup is copied in and migrated to this build's schema. The key is
//! not in the backup: keep `server.key` (or the `--key-env` secret) apart
//! from the backups, and restore with it.

use crate::error::Error;
use gridwork_core::store::DbKey;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// File name of the lock `serve` and `admin restore` take in the data directory.
pub const LOCK_FILE: &str = "server.lock";

/// The data directory's exclusive lock (an OS file lock on
/// `DATA_DIR/server.lock`, released when dropped or when the process
/// ends): one server per data directory, and no restore under a server.
pub struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    /// Take the lock, or fail with a conflict when another process holds it.
    pub fn acquire(data_dir: &Path) -> Result<DataDirLock, Error> {
        std::fs::create_dir_all(data_dir)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join(LOCK_FILE))?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Conflict(
                "另一个 gridwork-server 正在使用该数据目录 / another gridwork-server is using this data directory".into(),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }
}

/// Open `path` with `key` and check it: the key opens it, `quick_check`
/// says ok, and it is a server database. Returns (server schema version,
/// number of docs).
fn check_database(path: &Path, key: &DbKey) -> Result<(i64, i64), Error> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "key", crate::keys::key_text(key))?;
    let unreadable = || {
        Error::invalid(
            "backup",
            "备份无法用此密钥打开或已损坏 / the backup does not open with this key or is damaged",
        )
    };
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|_| unreadable())?;
    if check != "ok" {
        return Err(unreadable());
    }
    let schema: i64 = conn
        .query_row(
            "SELECT coalesce(max(version), 0) FROM server_schema",
            [],
            |r| r.get(0),
        )
        .map_err(|_| {
            Error::invalid(
                "backup",
                "不是服务器数据库 / not a gridwork-server database",
            )
        })?;
    let docs: i64 = conn.query_row("SELECT count(*) FROM docs", [], |r| r.get(0))?;
    Ok((schema, docs))
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Sync `path`'s directory so a rename into it is durable.
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
}

/// Take an online, encrypted, consistent backup of `data_dir`'s database
/// into `to` (refused if `to` exists, unless `force`).
pub fn backup(data_dir: &Path, key: &DbKey, to: &Path, force: bool) -> Result<Value, Error> {
    let source = crate::db::db_path(data_dir);
    if !source.exists() {
        return Err(Error::not_found("database", source.display()));
    }
    if to.exists() && !force {
        return Err(Error::Conflict(format!(
            "备份文件已存在 {0}（--force 覆盖）/ the backup file {0} exists (--force overwrites it)",
            to.display()
        )));
    }
    let partial = with_suffix(to, ".partial");
    let _ = std::fs::remove_file(&partial);
    {
        let conn = rusqlite::Connection::open(&source)?;
        conn.pragma_update(None, "key", crate::keys::key_text(key))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        crate::db::export_encrypted(&conn, &partial, key)?;
    }
    let checked = check_database(&partial, key);
    let (schema, docs) = match checked {
        Ok(found) => found,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, to)?;
    sync_parent(to);
    Ok(json!({
        "backup": to.display().to_string(),
        "bytes": std::fs::metadata(to)?.len(),
        "server_schema": schema,
        "docs": docs,
    }))
}

/// Restore `from` (a backup taken with the same key) into `data_dir`, with
/// the server stopped. An existing database is replaced only with `force`,
/// and kept beside as `gridwork.db.before-restore-<ms>`.
pub fn restore(data_dir: &Path, key: &DbKey, from: &Path, force: bool) -> Result<Value, Error> {
    let _lock = DataDirLock::acquire(data_dir)?;
    let (schema, docs) = check_database(from, key)?;
    if schema > crate::db::CURRENT_VERSION {
        return Err(Error::Unsupported(format!(
            "备份来自更新版本的服务器（v{schema}）/ the backup comes from a newer server (schema v{schema})"
        )));
    }
    let target = crate::db::db_path(data_dir);
    let mut kept = None;
    if target.exists() {
        if !force {
            return Err(Error::Conflict(
                "数据目录已有数据库（--force 替换，原库保留在旁）/ the data directory already has a database (--force replaces it and keeps the old one beside)".into(),
            ));
        }
        {
            // Fold the WAL into the file so the kept copy is complete.
            let conn = rusqlite::Connection::open(&target)?;
            conn.pragma_update(None, "key", crate::keys::key_text(key))?;
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(|_| {
                    Error::invalid(
                        "key",
                        "现有数据库无法用此密钥打开 / the current database does not open with this key",
                    )
                })?;
        }
        let aside = with_suffix(&target, &format!(".before-restore-{}", crate::db::now_ms()));
        std::fs::rename(&target, &aside)?;
        kept = Some(aside.display().to_string());
    }
    for suffix in ["-wal", "-shm"] {
        match std::fs::remove_file(with_suffix(&target, suffix)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    let restoring = with_suffix(&target, ".restoring");
    std::fs::copy(from, &restoring)?;
    std::fs::File::open(&restoring)?.sync_all()?;
    std::fs::rename(&restoring, &target)?;
    sync_parent(&target);
    // Bring an older backup up to this build's schema now, not at the
    // first request.
    drop(crate::db::open_keyed(data_dir, key)?);
    Ok(json!({
        "restored": from.display().to_string(),
        "server_schema": schema,
        "docs": docs,
        "kept": kept,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_grid(db: &gridwork_core::store::Db, code: &str) {
        crate::accounts::add_grid(db, code, "网格", None).unwrap();
    }

    #[test]
    fn a_backup_restores_into_an_empty_directory_and_replaces_only_with_force() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (db, key) = crate::db::open_with(&data, &Default::default()).unwrap();
        add_grid(&db, "T1");
        let file = dir.path().join("backup.db");
        // Online: the serving database stays open while the backup is taken.
        let taken = backup(&data, &key.key, &file, false).unwrap();
        assert_eq!(taken["server_schema"], crate::db::CURRENT_VERSION);
        assert!(!crate::keys::is_plain_database(&file).unwrap());
        assert!(matches!(
            backup(&data, &key.key, &file, false),
            Err(Error::Conflict(_))
        ));
        add_grid(&db, "T2");
        drop(db);

        // Into a fresh directory (with the key).
        let fresh = dir.path().join("fresh");
        std::fs::create_dir_all(&fresh).unwrap();
        restore(&fresh, &key.key, &file, false).unwrap();
        let restored = crate::db::open_keyed(&fresh, &key.key).unwrap();
        let codes: Vec<String> = crate::accounts::list_grids(&restored)
            .unwrap()
            .into_iter()
            .map(|g| g.code.0)
            .collect();
        assert_eq!(codes, ["T1"]);
        drop(restored);

        // Over the live directory: only with --force; the old one is kept.
        assert!(matches!(
            restore(&data, &key.key, &file, false),
            Err(Error::Conflict(_))
        ));
        let out = restore(&data, &key.key, &file, true).unwrap();
        let kept = PathBuf::from(out["kept"].as_str().unwrap());
        assert!(kept.exists());
        let db = crate::db::open_keyed(&data, &key.key).unwrap();
        assert_eq!(crate::accounts::list_grids(&db).unwrap().len(), 1);
    }

    #[test]
    fn a_backup_with_another_key_or_damaged_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (db, key) = crate::db::open_with(&data, &Default::default()).unwrap();
        add_grid(&db, "T1");
        drop(db);
        let file = dir.path().join("backup.db");
        backup(&data, &key.key, &file, false).unwrap();
        let fresh = dir.path().join("fresh");
        let err = restore(&fresh, &DbKey::Raw([3; 32]), &file, false).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{err}");
        assert!(!crate::db::db_path(&fresh).exists());
        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle..middle + 64].fill(0);
        std::fs::write(&file, bytes).unwrap();
        assert!(restore(&fresh, &key.key, &file, false).is_err());
        assert!(!crate::db::db_path(&fresh).exists());
    }

    #[test]
    fn a_running_server_blocks_a_restore() {
        let dir = tempfile::tempdir().unwrap();
        let (db, key) = crate::db::open_with(dir.path(), &Default::default()).unwrap();
        drop(db);
        let file = dir.path().join("b.db");
        backup(dir.path(), &key.key, &file, false).unwrap();
        let held = DataDirLock::acquire(dir.path()).unwrap();
        let err = restore(dir.path(), &key.key, &file, true).unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err}");
        drop(held);
        assert!(restore(dir.path(), &key.key, &file, true).is_ok());
    }
}
