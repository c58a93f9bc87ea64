//! [`SyncTx`] on the embedded SQLite database: documents through the core's
//! `WriteTx` (same storage and materialisation as a phone), plus the server's
//! own tables (change log, feed, device state).

use super::storage::{Apply, Decide, DocBytes, Receipt, SyncTx, TimeCheck};
use crate::error::Error;
use automerge::{Automerge, ChangeHash};
use gridwork_core::docs::{DocId, DocKind};
use gridwork_core::model::{GridCode, Timestamp};
use gridwork_core::store::{decode_heads, encode_heads, ChangeOutcome, WriteTx};
use rusqlite::{params, OptionalExtension};

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
    fn server_id(&mut self) -> Result<String, Error> {
        let conn = self.tx.conn();
        if let Some(id) = conn
            .prepare_cached("SELECT value FROM server_meta WHERE key = 'server_id'")
            .map_err(core_sql)?
            .query_row([], |r| r.get::<_, String>(0))
            .optional()
            .map_err(core_sql)?
        {
            return Ok(id);
        }
        let id = uuid::Uuid::now_v7().to_string();
        conn.prepare_cached("INSERT INTO server_meta (key, value) VALUES ('server_id', ?1)")
            .map_err(core_sql)?
            .execute([&id])
            .map_err(core_sql)?;
        Ok(id)
    }

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

    fn record_receipts(
        &mut self,
        doc: &DocId,
        receipts: &[Receipt],
        worker: &str,
        device: &str,
        received_at: Timestamp,
    ) -> Result<(), Error> {
        let mut stmt = self
            .tx
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO change_receipts
                     (hash, doc_id, worker_id, device, received_at, claimed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(core_sql)?;
        for r in receipts {
            stmt.execute(params![
                r.hash.0.as_slice(),
                doc.as_str(),
                worker,
                device,
                received_at.0,
                r.claimed_at
            ])
            .map_err(core_sql)?;
        }
        Ok(())
    }

    fn actor_owner(&mut self, actor: &[u8]) -> Result<Option<(String, String)>, Error> {
        self.tx
            .conn()
            .prepare_cached("SELECT worker_id, device FROM actors WHERE actor = ?1")
            .map_err(core_sql)?
            .query_row([actor], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(core_sql)
    }

    fn bind_actor(
        &mut self,
        actor: &[u8],
        worker: &str,
        device: &str,
        at: Timestamp,
    ) -> Result<(), Error> {
        self.tx
            .conn()
            .prepare_cached(
                "INSERT INTO actors (actor, worker_id, device, bound_at) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(core_sql)?
            .execute(params![actor, worker, device, at.0])
            .map_err(core_sql)?;
        Ok(())
    }

    fn is_quarantined(&mut self, id: &DocId) -> Result<bool, Error> {
        self.tx
            .conn()
            .prepare_cached(
                "SELECT 1 FROM quarantine q JOIN docs d ON d.key = q.doc_key WHERE d.id = ?1",
            )
            .map_err(core_sql)?
            .exists([id.as_str()])
            .map_err(core_sql)
    }

    fn server_actor(&mut self) -> Result<Option<Vec<u8>>, Error> {
        let hex_actor: Option<String> = self
            .tx
            .conn()
            .prepare_cached("SELECT value FROM server_meta WHERE key = 'actor'")
            .map_err(core_sql)?
            .query_row([], |r| r.get(0))
            .optional()
            .map_err(core_sql)?;
        Ok(hex_actor.and_then(|h| hex::decode(h).ok()))
    }

    fn record_time_checks(&mut self, doc: &DocId, checks: &[TimeCheck]) -> Result<(), Error> {
        let mut stmt = self
            .tx
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO time_checks (doc_id, item, claimed_at, received_at, status)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(core_sql)?;
        for c in checks {
            stmt.execute(params![
                doc.as_str(),
                c.item,
                c.claimed_at,
                c.received_at,
                c.status
            ])
            .map_err(core_sql)?;
        }
        Ok(())
    }

    fn feed_touch(&mut self, doc: &DocId, scope: &GridCode) -> Result<u64, Error> {
        Ok(crate::feed::feed_touch(self.tx.conn(), doc.as_str(), scope.as_str())? as u64)
    }

    fn feed_max(&mut self) -> Result<u64, Error> {
        // The counter row, not max(seq) over the feed: one row read however
        // large the feed is.
        Ok(crate::feed::feed_head(self.tx.conn())? as u64)
    }

    fn feed_since(
        &mut self,
        scopes: &[GridCode],
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<(DocId, u64)>, Error> {
        let mut out = Vec::new();
        let mut stmt = self
            .tx
            .conn()
            .prepare_cached("SELECT doc_id, seq FROM doc_feed WHERE scope = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")
            .map_err(core_sql)?;
        for scope in scopes {
            let rows = stmt
                .query_map(params![scope.as_str(), cursor as i64, limit as i64], |r| {
                    Ok((DocId(r.get(0)?), r.get::<_, i64>(1)? as u64))
                })
                .map_err(core_sql)?;
            for row in rows {
                out.push(row.map_err(core_sql)?);
            }
        }
        out.sort_by_key(|(_, seq)| *seq);
        out.truncate(limit);
        Ok(out)
    }

    fn last_round(&mut self, device: &str) -> Result<u64, Error> {
        Ok(self
            .tx
            .conn()
            .prepare_cached("SELECT last_round FROM devices WHERE device = ?1")
            .map_err(core_sql)?
            .query_row([device], |r| r.get::<_, i64>(0))
            .optional()
            .map_err(core_sql)?
            .unwrap_or(0) as u64)
    }

    fn set_last_round(&mut self, device: &str, worker: &str, round: u64) -> Result<(), Error> {
        self.tx
            .conn()
            .prepare_cached(
                "INSERT INTO devices (device, worker_id, last_round) VALUES (?1, ?2, ?3)
                 ON CONFLICT(device) DO UPDATE SET last_round = excluded.last_round",
            )
            .map_err(core_sql)?
            .execute(params![device, worker, round as i64])
            .map_err(core_sql)?;
        Ok(())
    }

    fn max_acked(&mut self, device: &str) -> Result<u64, Error> {
        Ok(self
            .tx
            .conn()
            .prepare_cached("SELECT max_acked FROM devices WHERE device = ?1")
            .map_err(core_sql)?
            .query_row([device], |r| r.get::<_, i64>(0))
            .optional()
            .map_err(core_sql)?
            .unwrap_or(0) as u64)
    }

    fn set_max_acked(&mut self, device: &str, round: u64) -> Result<(), Error> {
        self.tx
            .conn()
            .prepare_cached("UPDATE devices SET max_acked = ?2 WHERE device = ?1")
            .map_err(core_sql)?
            .execute(params![device, round as i64])
            .map_err(core_sql)?;
        Ok(())
    }

    fn forget_device(&mut self, device: &str) -> Result<(), Error> {
        for table in ["device_heads", "device_pending", "device_sync_states"] {
            self.tx
                .conn()
                .execute(&format!("DELETE FROM {table} WHERE device = ?1"), [device])
                .map_err(core_sql)?;
        }
        Ok(())
    }

    fn confirm_rounds(&mut self, device: &str, acked: u64) -> Result<(), Error> {
        let conn = self.tx.conn();
        conn.prepare_cached(
            // Per doc, the heads of its latest confirmed round: one pass over
            // the device's pending rows (SQLite takes a bare column from the
            // row that holds the max()).
            "INSERT INTO device_heads (device, doc_id, heads)
             SELECT device, doc_id, heads FROM (
                 SELECT device, doc_id, heads, max(round) FROM device_pending
                 WHERE device = ?1 AND round <= ?2 GROUP BY doc_id)
             WHERE true
             ON CONFLICT(device, doc_id) DO UPDATE SET heads = excluded.heads",
        )
        .map_err(core_sql)?
        .execute(params![device, acked as i64])
        .map_err(core_sql)?;
        conn.prepare_cached("DELETE FROM device_pending WHERE device = ?1")
            .map_err(core_sql)?
            .execute([device])
            .map_err(core_sql)?;
        Ok(())
    }

    fn device_holds_any(&mut self, device: &str) -> Result<bool, Error> {
        self.tx
            .conn()
            .prepare_cached("SELECT 1 FROM device_heads WHERE device = ?1 LIMIT 1")
            .map_err(core_sql)?
            .exists([device])
            .map_err(core_sql)
    }

    fn device_heads(&mut self, device: &str, doc: &DocId) -> Result<Vec<ChangeHash>, Error> {
        Ok(self
            .tx
            .conn()
            .prepare_cached("SELECT heads FROM device_heads WHERE device = ?1 AND doc_id = ?2")
            .map_err(core_sql)?
            .query_row(params![device, doc.as_str()], |r| r.get::<_, Vec<u8>>(0))
            .optional()
            .map_err(core_sql)?
            .map(|b| decode_heads(&b))
            .unwrap_or_default())
    }

    fn set_device_heads(
        &mut self,
        device: &str,
        doc: &DocId,
        heads: &[ChangeHash],
    ) -> Result<(), Error> {
        self.tx
            .conn()
            .prepare_cached(
                "INSERT INTO device_heads (device, doc_id, heads) VALUES (?1, ?2, ?3)
                 ON CONFLICT(device, doc_id) DO UPDATE SET heads = excluded.heads",
            )
            .map_err(core_sql)?
            .execute(params![device, doc.as_str(), encode_heads(heads)])
            .map_err(core_sql)?;
        Ok(())
    }

    fn set_pending(
        &mut self,
        device: &str,
        round: u64,
        doc: &DocId,
        heads: &[ChangeHash],
    ) -> Result<(), Error> {
        self.tx
            .conn()
            .prepare_cached(
                "INSERT INTO device_pending (device, round, doc_id, heads) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(device, round, doc_id) DO UPDATE SET heads = excluded.heads",
            )
            .map_err(core_sql)?
            .execute(params![
                device,
                round as i64,
                doc.as_str(),
                encode_heads(heads)
            ])
            .map_err(core_sql)?;
        Ok(())
    }

    fn sync_state(&mut self, device: &str, doc: &DocId) -> Result<Option<Vec<u8>>, Error> {
        self.tx
            .conn()
            .query_row(
                "SELECT state FROM device_sync_states WHERE device = ?1 AND doc_id = ?2",
                params![device, doc.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(core_sql)
    }

    fn set_sync_state(&mut self, device: &str, doc: &DocId, state: &[u8]) -> Result<(), Error> {
        self.tx
            .conn()
            .prepare_cached(
                "INSERT INTO device_sync_states (device, doc_id, state) VALUES (?1, ?2, ?3)
                 ON CONFLICT(device, doc_id) DO UPDATE SET state = excluded.state",
            )
            .map_err(core_sql)?
            .execute(params![device, doc.as_str(), state])
            .map_err(core_sql)?;
        Ok(())
    }
}

fn core_sql(e: rusqlite::Error) -> Error {
    Error::Core(gridwork_core::Error::from(e))
}
