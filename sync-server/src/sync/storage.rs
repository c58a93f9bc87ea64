//! The storage the sync engine needs, as a trait: documents (apply, read),
//! the content-addressed change log, the change feed, and per-device state
//! (heads each device is known to have, heads it will have once it applies a
//! response, slow-path sync states). [`super::sqlite`] implements it on the
//! embedded SQLite database; a PostgreSQL implementation can follow and be run
//! against the same engine tests.

use crate::error::Error;
use automerge::{Automerge, ChangeHash};
use gridwork_core::docs::{DocId, DocKind};
use gridwork_core::model::{GridCode, Timestamp};
use gridwork_core::store::ChangeOutcome;

/// A doc's bytes to send (they load into what the device has) and the
/// heads the device will have once it applies them.
pub type DocBytes = (Vec<u8>, Vec<ChangeHash>);

/// A closure that changes a document.
pub type Apply<'f> = &'f mut dyn FnMut(&mut Automerge) -> Result<(), Error>;
/// A closure that decides (and checks) the scope of a changed document.
pub type Decide<'f> = &'f mut dyn FnMut(&Automerge) -> Result<GridCode, Error>;

/// A change new to the server, for its receipt.
#[derive(Clone, Debug)]
pub struct Receipt {
    /// Its hash.
    pub hash: ChangeHash,
    /// The time the change carries (the device's clock), ms.
    pub claimed_at: i64,
}

/// The server's check of the time an item claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeCheck {
    /// `""` for the record itself, else a transition or visit id.
    pub item: String,
    /// The time the item carries.
    pub claimed_at: i64,
    /// When the server received it.
    pub received_at: i64,
    /// `ok`, `future`, `late` or `clock_off` (see core `sql/005`).
    pub status: &'static str,
}

/// One storage transaction of a sync request.
pub trait SyncTx {
    /// This server's identity (random, created with the database).
    fn server_id(&mut self) -> Result<String, Error>;
    /// The scope (grid) of a stored doc.
    fn doc_scope(&mut self, id: &DocId) -> Result<Option<GridCode>, Error>;
    /// Change a doc (see `WriteTx::change_doc`); `apply` and `decide` errors
    /// leave nothing behind.
    fn change_doc(
        &mut self,
        id: &DocId,
        kind: DocKind,
        at: Timestamp,
        apply: Apply<'_>,
        decide: Decide<'_>,
    ) -> Result<ChangeOutcome, Error>;
    /// Read a stored doc.
    fn read_doc(
        &mut self,
        id: &DocId,
        read: &mut dyn FnMut(&Automerge) -> Vec<u8>,
    ) -> Result<Option<Vec<u8>>, Error>;
    /// Heads of a stored doc (from storage, without loading it).
    fn doc_heads(&mut self, id: &DocId) -> Result<Option<Vec<ChangeHash>>, Error>;
    /// The changes of a doc since `base` and its heads when they are at
    /// hand without loading the doc (its latest change, encoded once when
    /// it was stored); `None` otherwise.
    fn latest_change_since(
        &mut self,
        id: &DocId,
        base: &[ChangeHash],
    ) -> Result<Option<DocBytes>, Error>;
    /// A stored doc's bytes as kept (they load as the whole doc) and its
    /// heads, without loading it: what a device with none of it receives.
    fn stored_doc(&mut self, id: &DocId) -> Result<Option<DocBytes>, Error>;
    /// Run `f` so that its writes are undone if it fails.
    fn savepoint(
        &mut self,
        f: &mut dyn FnMut(&mut dyn SyncTx) -> Result<(), Error>,
    ) -> Result<(), Error>;
    /// Record, per change new to the server, who pushed it from which device,
    /// when it arrived and the time it carries (idempotent: the first
    /// receipt of a change is kept).
    fn record_receipts(
        &mut self,
        doc: &DocId,
        receipts: &[Receipt],
        worker: &str,
        device: &str,
        received_at: Timestamp,
    ) -> Result<(), Error>;
    /// The worker and device an Automerge actor is bound to.
    fn actor_owner(&mut self, actor: &[u8]) -> Result<Option<(String, String)>, Error>;
    /// Bind an actor to a worker's device (first push of that device).
    fn bind_actor(
        &mut self,
        actor: &[u8],
        worker: &str,
        device: &str,
        at: Timestamp,
    ) -> Result<(), Error>;
    /// True when a stored doc is quarantined (could not be materialised).
    fn is_quarantined(&mut self, id: &DocId) -> Result<bool, Error>;
    /// The server's own Automerge actor (staff actions, publications), if
    /// it has one yet.
    fn server_actor(&mut self) -> Result<Option<Vec<u8>>, Error>;
    /// Record the checked times of items first received now (idempotent:
    /// the first check of an item is kept).
    fn record_time_checks(&mut self, doc: &DocId, checks: &[TimeCheck]) -> Result<(), Error>;
    /// Move a doc to the head of the change feed.
    fn feed_touch(&mut self, doc: &DocId, scope: &GridCode) -> Result<u64, Error>;
    /// The highest feed position.
    fn feed_max(&mut self) -> Result<u64, Error>;
    /// Docs of these scopes changed after `cursor`, oldest first, at most `limit`.
    fn feed_since(
        &mut self,
        scopes: &[GridCode],
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<(DocId, u64)>, Error>;
    /// The last round answered to a device (0 if unknown).
    fn last_round(&mut self, device: &str) -> Result<u64, Error>;
    /// Remember the last round answered to a device.
    fn set_last_round(&mut self, device: &str, worker: &str, round: u64) -> Result<(), Error>;
    /// The highest round a device has confirmed applying (0 if unknown).
    fn max_acked(&mut self, device: &str) -> Result<u64, Error>;
    /// Record the highest round a device has confirmed applying.
    fn set_max_acked(&mut self, device: &str, round: u64) -> Result<(), Error>;
    /// Forget everything known about a device (it lost its state, or we did).
    fn forget_device(&mut self, device: &str) -> Result<(), Error>;
    /// Confirm the pending heads of rounds up to `acked`, drop later ones.
    fn confirm_rounds(&mut self, device: &str, acked: u64) -> Result<(), Error>;
    /// True when the device is known to have any doc at all (confirmed
    /// heads; heads pending under an unconfirmed round do not count).
    fn device_holds_any(&mut self, device: &str) -> Result<bool, Error>;
    /// Heads a device is known to have for a doc.
    fn device_heads(&mut self, device: &str, doc: &DocId) -> Result<Vec<ChangeHash>, Error>;
    /// Record heads a device has (confirmed).
    fn set_device_heads(
        &mut self,
        device: &str,
        doc: &DocId,
        heads: &[ChangeHash],
    ) -> Result<(), Error>;
    /// Record heads a device will have once it applies `round`.
    fn set_pending(
        &mut self,
        device: &str,
        round: u64,
        doc: &DocId,
        heads: &[ChangeHash],
    ) -> Result<(), Error>;
    /// The slow-path sync state of a device for a doc.
    fn sync_state(&mut self, device: &str, doc: &DocId) -> Result<Option<Vec<u8>>, Error>;
    /// Store the slow-path sync state (encoded).
    fn set_sync_state(&mut self, device: &str, doc: &DocId, state: &[u8]) -> Result<(), Error>;
}
