//! [`SyncTx`] on PostgreSQL: documents are kept exactly as the core keeps
//! them (`docs` + `doc_chunks`, read models refreshed in the same
//! transaction, through the core's portable [`persist`] code); the server's
//! own tables go through the trait's portable SQL.
//!
//! Several instances may change one document at once: [`PgSyncTx::change_doc`]
//! locks the doc's row before loading it, so the second waits for the first
//! to commit and then merges into what the first stored. Each instance
//! keeps loaded docs and their latest change encoded once (the core's
//! [`DocCache`]), used only when they are at the heads the database holds
//! now: another instance's change, or a rolled-back one of this instance,
//! makes the copy miss and the doc load again. Feed numbers are taken last, right before the
//! commit ([`PgSyncTx::finish`]).

use super::conn::PgTx;
use crate::error::Error;
use crate::sync::storage::{Apply, Decide, DocBytes, SyncTx};
use automerge::{Automerge, ChangeHash};
use gridwork_core::docs::{DocId, DocKind};
use gridwork_core::model::{GridCode, Timestamp};
use gridwork_core::store::persist::{self, DocEditor, DocWrite};
use gridwork_core::store::sql::SqlConn;
use gridwork_core::store::{decode_heads, encode_heads, ChangeOutcome, CommitMeta, DocCache};
use std::sync::Mutex;

/// A sync transaction over a PostgreSQL transaction.
pub struct PgSyncTx<'t, 'c> {
    tx: &'t PgTx<'c>,
    cache: &'t Mutex<DocCache>,
    /// Savepoints open now (their names are numbered by depth).
    depth: usize,
    /// Docs to move to the head of the feed at [`PgSyncTx::finish`].
    feed: Vec<(DocId, GridCode)>,
}

impl<'t, 'c> PgSyncTx<'t, 'c> {
    /// Wrap a PostgreSQL transaction.
    pub fn new(tx: &'t PgTx<'c>, cache: &'t Mutex<DocCache>) -> Self {
        PgSyncTx {
            tx,
            cache,
            depth: 0,
            feed: Vec::new(),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, DocCache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Doc `id` as stored (row `key` at encoded `heads`): from the cache
    /// when the cached copy is at those heads, else loaded.
    fn load(&self, key: i64, id: &DocId, heads: &[u8]) -> gridwork_core::Result<Automerge> {
        if let Some(doc) = self.cache().take(id) {
            if encode_heads(&doc.get_heads()) == heads {
                return Ok(doc);
            }
        }
        persist::load_doc(self.tx, key, id)
    }

    /// Lock doc `id`'s row until the transaction ends (another instance
    /// changing it waits, then loads what this one stored) and load it; a
    /// new empty doc (and no key) when it is not stored yet.
    fn lock_and_load(&self, id: &DocId) -> gridwork_core::Result<(Option<i64>, Automerge)> {
        let Some(row) = self.tx.row(
            "SELECT key, heads FROM docs WHERE id = ?1 FOR UPDATE",
            &[id.as_str().into()],
        )?
        else {
            return Ok((None, Automerge::new()));
        };
        let mut cells = row.into_iter();
        let (Some(key), Some(heads)) = (cells.next(), cells.next()) else {
            return Err(gridwork_core::Error::Database {
                sqlstate: None,
                message: "a docs row has fewer columns than read".into(),
            });
        };
        let key = key.int()?;
        Ok((Some(key), self.load(key, id, &heads.blob()?)?))
    }

    /// Persist a changed doc and remember its latest change.
    #[allow(clippy::too_many_arguments)]
    fn store(
        &self,
        id: &DocId,
        kind: DocKind,
        scope: &GridCode,
        key: Option<i64>,
        doc: &Automerge,
        old_heads: &[ChangeHash],
        at: Timestamp,
        dirty: bool,
    ) -> gridwork_core::Result<()> {
        let written = persist::write_change(
            self.tx,
            DocWrite {
                id,
                kind,
                scope,
                key,
                doc,
                old_heads,
                at,
                dirty,
                // Stored snapshots are sent as they are inside responses
                // compressed whole (as the SQLite server keeps them).
                compress: false,
            },
        )?;
        if let Some(persist::Written {
            chunk: Some(chunk), ..
        }) = written
        {
            let (from, to) = (encode_heads(old_heads), encode_heads(&doc.get_heads()));
            self.cache().put_change(id, from, to, chunk);
        }
        Ok(())
    }

    /// Number the docs this transaction changed on the feed; call it last,
    /// right before the commit. The feed counter row stays locked from here
    /// to the commit, so feed numbers become visible in the order they were
    /// taken; taking them last keeps that lock short, and no transaction
    /// holding it ever waits for a document's row (which would deadlock
    /// with one that holds the row and waits for the counter).
    pub fn finish(self) -> Result<(), Error> {
        if self.feed.is_empty() {
            return Ok(());
        }
        let n = self.feed.len() as i64;
        let last = self
            .tx
            .value(
                "UPDATE feed_counter SET seq = seq + ?1 WHERE singleton = 1 RETURNING seq",
                &[n.into()],
            )?
            .ok_or_else(|| Error::Internal("the feed counter row is missing".into()))?
            .int()?;
        for (i, (doc, scope)) in self.feed.iter().enumerate() {
            crate::feed::feed_set(
                self.tx,
                doc.as_str(),
                scope.as_str(),
                last - n + 1 + i as i64,
            )?;
        }
        Ok(())
    }
}

impl SyncTx for PgSyncTx<'_, '_> {
    fn doc_scope(&mut self, id: &DocId) -> Result<Option<GridCode>, Error> {
        Ok(
            match self.tx.value(
                "SELECT scope FROM docs WHERE id = ?1",
                &[id.as_str().into()],
            )? {
                Some(cell) => Some(GridCode(cell.text()?)),
                None => None,
            },
        )
    }

    fn change_doc(
        &mut self,
        id: &DocId,
        kind: DocKind,
        at: Timestamp,
        apply: Apply<'_>,
        decide: Decide<'_>,
    ) -> Result<ChangeOutcome, Error> {
        // The row stays locked until the transaction ends: another instance
        // changing this doc waits, then loads what this one stored.
        let (key, mut doc) = self.lock_and_load(id)?;
        let old_heads = doc.get_heads();
        apply(&mut doc)?;
        let scope = decide(&doc)?;
        let new_heads = doc.get_heads();
        let changed = new_heads != old_heads;
        let created = key.is_none() && !new_heads.is_empty();
        if changed || created {
            self.store(id, kind, &scope, key, &doc, &old_heads, at, false)?;
        }
        // Kept even if this transaction rolls back: every use checks the
        // stored heads first.
        self.cache().put(id.clone(), doc);
        Ok(ChangeOutcome {
            changed,
            created,
            old_heads,
            new_heads,
        })
    }

    fn read_doc(
        &mut self,
        id: &DocId,
        read: &mut dyn FnMut(&Automerge) -> Vec<u8>,
    ) -> Result<Option<Vec<u8>>, Error> {
        match persist::doc_row(self.tx, id)? {
            Some((key, heads)) => {
                let doc = self.load(key, id, &heads)?;
                let out = read(&doc);
                self.cache().put(id.clone(), doc);
                Ok(Some(out))
            }
            None => Ok(None),
        }
    }

    fn doc_heads(&mut self, id: &DocId) -> Result<Option<Vec<ChangeHash>>, Error> {
        Ok(persist::doc_row(self.tx, id)?.map(|(_, heads)| decode_heads(&heads)))
    }

    fn latest_change_since(
        &mut self,
        id: &DocId,
        base: &[ChangeHash],
    ) -> Result<Option<DocBytes>, Error> {
        let Some((_, heads)) = persist::doc_row(self.tx, id)? else {
            return Ok(None);
        };
        Ok(self
            .cache()
            .change_between(id, &encode_heads(base), &heads)
            .map(|bytes| (bytes, decode_heads(&heads))))
    }

    fn stored_doc(&mut self, id: &DocId) -> Result<Option<DocBytes>, Error> {
        Ok(persist::stored_doc(self.tx, id)?)
    }

    fn stored_docs(
        &mut self,
        ids: &[DocId],
    ) -> Result<std::collections::HashMap<DocId, DocBytes>, Error> {
        let mut out = std::collections::HashMap::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(out);
        }
        // One round trip per window of ids (a few window sizes, so a few
        // prepared statements) for the rows and chunks of all of them.
        let mut rest = ids;
        while !rest.is_empty() {
            let (window, tail) = rest.split_at(crate::sync::storage::statement_rows(rest.len()));
            rest = tail;
            let marks: Vec<String> = (1..=window.len()).map(|i| format!("?{i}")).collect();
            let sql = format!(
                "SELECT d.id, d.heads, d.snapshot, c.bytes FROM docs d
                 LEFT JOIN doc_chunks c ON c.doc_key = d.key
                 WHERE d.id IN ({}) ORDER BY d.id, c.seq",
                marks.join(", ")
            );
            let args: Vec<gridwork_core::store::sql::SqlValue<'_>> =
                window.iter().map(|id| id.as_str().into()).collect();
            for row in self.tx.rows(&sql, &args)? {
                let [id, heads, snapshot, chunk] = crate::sync::storage::cells(row)?;
                let id = DocId(id.text()?);
                let chunk = chunk.opt_blob()?;
                let entry = match out.entry(id) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert((snapshot.blob()?, decode_heads(&heads.blob()?)))
                    }
                };
                if let Some(chunk) = chunk {
                    entry.0.extend_from_slice(&chunk);
                }
            }
        }
        Ok(out)
    }

    fn feed_touch(&mut self, doc: &DocId, scope: &GridCode) -> Result<u64, Error> {
        // Numbered at `finish`; the engine does not use the number.
        self.feed.push((doc.clone(), scope.clone()));
        Ok(0)
    }

    fn savepoint(
        &mut self,
        f: &mut dyn FnMut(&mut dyn SyncTx) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let touched = self.feed.len();
        let name = format!("sync_step_{}", self.depth);
        self.tx.batch(&format!("SAVEPOINT {name}"))?;
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        match result {
            Ok(()) => {
                self.tx.batch(&format!("RELEASE SAVEPOINT {name}"))?;
                Ok(())
            }
            Err(e) => {
                // After a failed statement PostgreSQL refuses every other
                // one until the savepoint is rolled back; a rollback that
                // fails itself (connection lost) is the error to report.
                self.tx.batch(&format!("ROLLBACK TO SAVEPOINT {name}"))?;
                self.tx.batch(&format!("RELEASE SAVEPOINT {name}"))?;
                self.feed.truncate(touched);
                Err(e)
            }
        }
    }

    fn sql(&self) -> &dyn SqlConn {
        self.tx
    }
}

impl DocEditor for PgSyncTx<'_, '_> {
    fn sql(&self) -> &dyn SqlConn {
        self.tx
    }

    fn edit_doc<R>(
        &mut self,
        id: &DocId,
        kind: DocKind,
        scope: &GridCode,
        meta: &CommitMeta,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> gridwork_core::Result<R>,
    ) -> gridwork_core::Result<R> {
        let (key, mut doc) = self.lock_and_load(id)?;
        let old_heads = doc.get_heads();
        let result = persist::edit_in_place(&mut doc, id, meta, f)?;
        // As a phone's local edit: a doc that cannot be read back refuses
        // the edit.
        self.store(id, kind, scope, key, &doc, &old_heads, meta.at, true)?;
        self.cache().put(id.clone(), doc);
        Ok(result)
    }
}
