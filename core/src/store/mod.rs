//! The phone's SQLite store (SQLCipher when a key is given).
//!
//! # Concurrency model
//! One **writer** connection and one **reader** connection, each behind its own
//! mutex. Every local write — an edit, a merge, a rebuild — takes the writer
//! and runs in exactly one `BEGIN IMMEDIATE` transaction: the document change,
//! its saved chunk, the refreshed read-model rows and the dirty flag commit
//! together or not at all. Reads take the reader connection; with WAL they see
//! the last committed state and never block the writer. Other processes (the
//! CLI run twice) are serialised by SQLite's own locks and `busy_timeout`.
//!
//! Loaded Automerge documents are cached per writer (small LRU); an entry is
//! used only if the heads stored in `docs` still equal the cached heads, so a
//! second process writing the same file never leaves us with a stale doc.

mod doc_store;
#[cfg(test)]
mod doc_store_tests;
pub mod migrations;
mod open;
pub mod persist;
pub mod read_models;
pub mod rebuild;
pub mod sql;

pub use doc_store::{
    all_docs, decode_heads, encode_heads, ChangeOutcome, CommitMeta, DocCache, WriteTx,
};
pub use open::DbKey;
pub use persist::load_doc;

use crate::Result;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How much memory a store may use to go faster. The default suits a phone;
/// a server that syncs a county opens its store with more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// Loaded documents kept in memory by the writer.
    pub doc_cache: usize,
    /// SQLite page cache per connection, KiB (decrypted pages: SQLCipher
    /// decrypts and authenticates each page it reads from disk).
    pub page_cache_kib: u32,
    /// Save snapshots with Automerge's per-column deflate (smaller files).
    /// A server sends stored snapshots as they are inside responses that
    /// are compressed whole, where uncompressed columns come out smaller
    /// and cost no deflate per write.
    pub compress_snapshots: bool,
    /// WAL pages after which a commit checkpoints (SQLite's default is
    /// 1000). A busy server checkpoints less often: a page written by many
    /// commits in between is copied back once.
    pub wal_autocheckpoint: u32,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            doc_cache: 64,
            // SQLite's own default (2 MiB).
            page_cache_kib: 2048,
            compress_snapshots: true,
            wal_autocheckpoint: 1000,
        }
    }
}

/// An open store: writer + reader connections and the doc cache.
pub struct Db {
    path: PathBuf,
    key: Option<DbKey>,
    tuning: Tuning,
    /// Opened on the first write (or at once when the schema needs migrating):
    /// opening a store to show a list costs one connection, not two.
    writer: Mutex<Option<(Connection, DocCache)>>,
    reader: Mutex<Connection>,
}

impl Db {
    /// Open (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path, key: Option<&DbKey>) -> Result<Db> {
        Db::open_tuned(path, key, Tuning::default())
    }

    /// [`Db::open`] with the given memory [`Tuning`].
    pub fn open_tuned(path: &Path, key: Option<&DbKey>, tuning: Tuning) -> Result<Db> {
        let reader = open::open_connection(path, key, open::Role::Reader)?;
        open::set_page_cache(&reader, tuning.page_cache_kib)?;
        let writer = if !migrations::needs_upgrade(&reader)? {
            None
        } else {
            let mut writer = open::open_connection(path, key, open::Role::Writer)?;
            open::tune_writer(&writer, &tuning)?;
            migrations::upgrade(&mut writer)?;
            Some((writer, DocCache::new(tuning.doc_cache)))
        };
        Ok(Db {
            path: path.to_path_buf(),
            key: key.cloned(),
            tuning,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// The writer connection, opened on first use.
    fn writer(&self) -> Result<std::sync::MutexGuard<'_, Option<(Connection, DocCache)>>> {
        let mut guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let mut writer =
                open::open_connection(&self.path, self.key.as_ref(), open::Role::Writer)?;
            open::tune_writer(&writer, &self.tuning)?;
            // Another process may have created the store since we looked.
            migrations::upgrade(&mut writer)?;
            *guard = Some((writer, DocCache::new(self.tuning.doc_cache)));
        }
        Ok(guard)
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` on the reader connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn)
    }

    /// Run `f` in one immediate write transaction; commit if it returns `Ok`,
    /// roll back (and forget any doc it touched from the cache) otherwise.
    pub fn write<T>(&self, f: impl FnOnce(&mut WriteTx<'_>) -> Result<T>) -> Result<T> {
        let mut guard = self.writer()?;
        let (conn, cache) = guard.as_mut().expect("writer opened");
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut wtx = WriteTx::new(tx, cache, self.tuning.compress_snapshots);
        match f(&mut wtx) {
            Ok(value) => {
                wtx.commit()?;
                Ok(value)
            }
            Err(e) => {
                wtx.rollback();
                Err(e)
            }
        }
    }

    /// Run `f` in a write transaction that is always rolled back: a scratch
    /// copy of the database for `check`. Docs it touched leave the cache.
    pub fn scratch<T>(&self, f: impl FnOnce(&mut WriteTx<'_>) -> Result<T>) -> Result<T> {
        let mut guard = self.writer()?;
        let (conn, cache) = guard.as_mut().expect("writer opened");
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut wtx = WriteTx::new(tx, cache, self.tuning.compress_snapshots);
        let out = f(&mut wtx);
        wtx.rollback();
        out
    }
}
