//! Opening a connection: the encryption key, then the pragmas, in one place.

use crate::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// The key that encrypts the database (SQLCipher). Hand it in from Android
/// Keystore / iOS Keychain; `None` opens a plain SQLite file (tests, demos).
#[derive(Clone)]
pub enum DbKey {
    /// A passphrase; SQLCipher derives the key with PBKDF2.
    Passphrase(String),
    /// 32 raw key bytes (no key derivation: fast to open, for keys that are
    /// already random, e.g. generated in the platform keystore).
    Raw([u8; 32]),
}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str("DbKey(..)")
    }
}

/// Whether a connection is the writer or a reader.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Writer,
    Reader,
}

/// Open a connection, apply the key and the pragmas, and prove the key by
/// reading the schema. A wrong key (or a key for a plain file, or no key for an
/// encrypted one) is [`Error::WrongKey`].
pub(crate) fn open_connection(path: &Path, key: Option<&DbKey>, role: Role) -> Result<Connection> {
    // The reader opens read-write (so it can create the WAL index of a store
    // no writer has opened yet) and is then made query-only.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    // SQLCipher logs decryption failures to stderr by default; a wrong key
    // is reported to the caller as a typed error instead.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    match key {
        Some(DbKey::Passphrase(p)) => conn.pragma_update(None, "key", p)?,
        Some(DbKey::Raw(bytes)) => {
            conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(bytes)))?
        }
        None => {}
    }
    // The first read decrypts page 1: this is where a wrong key shows.
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            return Err(Error::WrongKey)
        }
        Err(e) => return Err(e.into()),
    }
    apply_pragmas(&conn, role)?;
    // Every statement of a doc write (doc row, chunks, read models, sync
    // state) stays prepared: rusqlite's default of 16 made a server
    // re-parse most of its SQL on every sync.
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

/// The page cache of a connection, KiB (a negative `cache_size` is KiB).
pub(crate) fn set_page_cache(conn: &Connection, kib: u32) -> Result<()> {
    conn.pragma_update(None, "cache_size", -i64::from(kib))?;
    Ok(())
}

/// The writer's memory and checkpoint settings from `tuning`.
pub(crate) fn tune_writer(conn: &Connection, tuning: &super::Tuning) -> Result<()> {
    set_page_cache(conn, tuning.page_cache_kib)?;
    conn.pragma_update(None, "wal_autocheckpoint", tuning.wal_autocheckpoint)?;
    Ok(())
}

/// Every pragma the store relies on, with why.
fn apply_pragmas(conn: &Connection, role: Role) -> Result<()> {
    // Wait up to 5 s for another connection's lock instead of failing at once
    // (the reader may meet a checkpoint; a second process may hold the writer).
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Enforce REFERENCES clauses (docs → chunks, sync state).
    conn.pragma_update(None, "foreign_keys", true)?;
    // Temporary tables and sort buffers in memory: Android has no writable
    // system temp directory for SQLite, and they are small here.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    if role == Role::Writer {
        // WAL (persistent in the file): readers never block the writer and a
        // commit is one append.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: every acknowledged commit is fsynced, so it survives the
        // process being killed *and* the phone losing power.
        conn.pragma_update(None, "synchronous", "FULL")?;
    } else {
        // Readers can never write, whatever a bug might try.
        conn.pragma_update(None, "query_only", true)?;
    }
    Ok(())
}
