//! [`SyncTx`] on PostgreSQL: documents are kept exactly as the core keeps
//! them (`docs` + `doc_chunks`, read models refreshed in the same
//! transaction, through the core's portable [`persist`] code); the server's
//! own tables go through the trait's portable SQL.
//!
//! Several instances may change one document at once: [`PgSyncTx::change_doc`]
//! locks the doc's row before loading it, so the second waits for the first
//! to commit and then merges into what the first stored. No document is
//! cached between requests (another instance may have changed it), and no
//! encoded-once delta is kept ([`SyncTx::latest_change_since`] is `None`, so
//! the engine loads the doc).

use super::conn::PgTx;
use crate::error::Error;
use crate::sync::storage::{Apply, Decide, DocBytes, SyncTx};
use automerge::{Automerge, ChangeHash};
use gridwork_core::docs::{DocId, DocKind};
use gridwork_core::model::{GridCode, Timestamp};
use gridwork_core::store::persist::{self, DocWrite};
use gridwork_core::store::sql::SqlConn;
use gridwork_core::store::{decode_heads, ChangeOutcome};

/// A sync transaction over a PostgreSQL transaction.
pub struct PgSyncTx<'t, 'c> {
    tx: &'t PgTx<'c>,
    /// Savepoints open now (their names are numbered by depth).
    depth: usize,
}

impl<'t, 'c> PgSyncTx<'t, 'c> {
    /// Wrap a PostgreSQL transaction.
    pub fn new(tx: &'t PgTx<'c>) -> Self {
        PgSyncTx { tx, depth: 0 }
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
        let key = match self.tx.value(
            "SELECT key FROM docs WHERE id = ?1 FOR UPDATE",
            &[id.as_str().into()],
        )? {
            Some(cell) => Some(cell.int()?),
            None => None,
        };
        let mut doc = match key {
            Some(key) => persist::load_doc(self.tx, key, id)?,
            None => Automerge::new(),
        };
        let old_heads = doc.get_heads();
        apply(&mut doc)?;
        let scope = decide(&doc)?;
        let new_heads = doc.get_heads();
        let changed = new_heads != old_heads;
        let created = key.is_none() && !new_heads.is_empty();
        if changed || created {
            persist::write_change(
                self.tx,
                DocWrite {
                    id,
                    kind,
                    scope: &scope,
                    key,
                    doc: &doc,
                    old_heads: &old_heads,
                    at,
                    dirty: false,
                    // Stored snapshots are sent as they are inside responses
                    // compressed whole (as the SQLite server keeps them).
                    compress: false,
                },
            )?;
        }
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
            Some((key, _)) => Ok(Some(read(&persist::load_doc(self.tx, key, id)?))),
            None => Ok(None),
        }
    }

    fn doc_heads(&mut self, id: &DocId) -> Result<Option<Vec<ChangeHash>>, Error> {
        Ok(persist::doc_row(self.tx, id)?.map(|(_, heads)| decode_heads(&heads)))
    }

    fn latest_change_since(
        &mut self,
        _id: &DocId,
        _base: &[ChangeHash],
    ) -> Result<Option<DocBytes>, Error> {
        Ok(None)
    }

    fn stored_doc(&mut self, id: &DocId) -> Result<Option<DocBytes>, Error> {
        Ok(persist::stored_doc(self.tx, id)?)
    }

    fn savepoint(
        &mut self,
        f: &mut dyn FnMut(&mut dyn SyncTx) -> Result<(), Error>,
    ) -> Result<(), Error> {
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
                Err(e)
            }
        }
    }

    fn sql(&self) -> &dyn SqlConn {
        self.tx
    }
}
