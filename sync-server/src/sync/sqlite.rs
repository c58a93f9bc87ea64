//! [`SyncTx`] on the embedded SQLite database: documents through the core's
//! `WriteTx` (same storage and materialisation as a phone, with its doc
//! cache); the server's own tables go through the trait's portable SQL.

use super::storage::{Apply, Decide, DocBytes, SyncTx};
use crate::error::Error;
use automerge::{Automerge, ChangeHash};
use gridwork_core::docs::{DocId, DocKind};
use gridwork_core::model::{GridCode, Timestamp};
use gridwork_core::store::sql::SqlConn;
use gridwork_core::store::{ChangeOutcome, WriteTx};

/// A sync transaction over a core write transaction.
pub struct SqliteTx<'t, 'a> {
    tx: &'t mut WriteTx<'a>,
}

impl<'t, 'a> SqliteTx<'t, 'a> {
    /// Wrap a core write transaction.
    pub fn new(tx: &'t mut WriteTx<'a>) -> Self {
        SqliteTx { tx }
    }
}

/// Carry a server error through a core closure.
fn stash(slot: &mut Option<Error>, e: Error) -> gridwork_core::Error {
    *slot = Some(e);
    gridwork_core::Error::Cancelled
}

fn unstash(slot: Option<Error>, e: gridwork_core::Error) -> Error {
    slot.unwrap_or(Error::Core(e))
}

impl SyncTx for SqliteTx<'_, '_> {
    fn doc_scope(&mut self, id: &DocId) -> Result<Option<GridCode>, Error> {
        Ok(self.tx.doc_scope(id)?)
    }

    fn change_doc(
        &mut self,
        id: &DocId,
        kind: DocKind,
        at: Timestamp,
        apply: Apply<'_>,
        decide: Decide<'_>,
    ) -> Result<ChangeOutcome, Error> {
        let mut slot = None;
        let slot_ref = std::cell::RefCell::new(&mut slot);
        let result = self.tx.change_doc(
            id,
            kind,
            at,
            |doc| apply(doc).map_err(|e| stash(&mut slot_ref.borrow_mut(), e)),
            |doc| decide(doc).map_err(|e| stash(&mut slot_ref.borrow_mut(), e)),
        );
        match result {
            Ok(((), outcome)) => Ok(outcome),
            Err(e) => Err(unstash(slot, e)),
        }
    }

    fn read_doc(
        &mut self,
        id: &DocId,
        read: &mut dyn FnMut(&Automerge) -> Vec<u8>,
    ) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.tx.with_doc(id, |doc| Ok(read(doc)))?)
    }

    fn doc_heads(&mut self, id: &DocId) -> Result<Option<Vec<ChangeHash>>, Error> {
        Ok(self.tx.stored_heads(id)?)
    }

    fn latest_change_since(
        &mut self,
        id: &DocId,
        base: &[ChangeHash],
    ) -> Result<Option<DocBytes>, Error> {
        Ok(self.tx.latest_change_since(id, base)?)
    }

    fn stored_doc(&mut self, id: &DocId) -> Result<Option<DocBytes>, Error> {
        Ok(self.tx.stored_doc(id)?)
    }

    fn savepoint(
        &mut self,
        f: &mut dyn FnMut(&mut dyn SyncTx) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut slot = None;
        let result = self.tx.savepoint(|inner| {
            let mut sub = SqliteTx { tx: inner };
            f(&mut sub).map_err(|e| stash(&mut slot, e))
        });
        result.map_err(|e| unstash(slot, e))
    }

    fn sql(&self) -> &dyn SqlConn {
        self.tx.conn()
    }
}
