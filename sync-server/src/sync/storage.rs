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
use gridwork_core::store::sql::{Dialect, SqlCell, SqlConn, SqlValue};
use gridwork_core::store::{decode_heads, encode_heads, ChangeOutcome};
use std::collections::HashMap;

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
    /// This server's identity (random, created on first use; when two
    /// instances race, the first one stored wins).
    fn server_id(&mut self) -> Result<String, Error> {
        const READ: &str = "SELECT value FROM server_meta WHERE key = 'server_id'";
        let sql = self.sql();
        if let Some(id) = sql.value(READ, &[])? {
            return Ok(id.text()?);
        }
        let id = uuid::Uuid::now_v7().to_string();
        sql.exec(
            "INSERT INTO server_meta (key, value) VALUES ('server_id', ?1) ON CONFLICT DO NOTHING",
            &[(&id).into()],
        )?;
        match sql.value(READ, &[])? {
            Some(stored) => Ok(stored.text()?),
            None => Err(Error::Internal("server_id was not stored".into())),
        }
    }
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
    /// The transaction's connection, for the server's own tables (change
    /// receipts, actors, time checks, feed, device state): their SQL is
    /// portable and written once, in this trait's provided methods.
    fn sql(&self) -> &dyn SqlConn;

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
    ) -> Result<(), Error> {
        for r in receipts {
            self.sql().exec(
                "INSERT INTO change_receipts
                     (hash, doc_id, worker_id, device, received_at, claimed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                &[
                    r.hash.0.as_slice().into(),
                    doc.as_str().into(),
                    worker.into(),
                    device.into(),
                    received_at.0.into(),
                    r.claimed_at.into(),
                ],
            )?;
        }
        Ok(())
    }
    /// The worker and device an Automerge actor is bound to.
    fn actor_owner(&mut self, actor: &[u8]) -> Result<Option<(String, String)>, Error> {
        match self.sql().row(
            "SELECT worker_id, device FROM actors WHERE actor = ?1",
            &[actor.into()],
        )? {
            Some(row) => {
                let [worker, device]: [SqlCell; 2] = cells(row)?;
                Ok(Some((worker.text()?, device.text()?)))
            }
            None => Ok(None),
        }
    }
    /// Bind an actor to a worker's device (first push of that device).
    fn bind_actor(
        &mut self,
        actor: &[u8],
        worker: &str,
        device: &str,
        at: Timestamp,
    ) -> Result<(), Error> {
        self.sql().exec(
            "INSERT INTO actors (actor, worker_id, device, bound_at) VALUES (?1, ?2, ?3, ?4)",
            &[actor.into(), worker.into(), device.into(), at.0.into()],
        )?;
        Ok(())
    }
    /// True when a stored doc is quarantined (could not be materialised).
    fn is_quarantined(&mut self, id: &DocId) -> Result<bool, Error> {
        Ok(self.sql().exists(
            "SELECT 1 FROM quarantine q JOIN docs d ON d.key = q.doc_key WHERE d.id = ?1",
            &[id.as_str().into()],
        )?)
    }
    /// The server's own Automerge actor (staff actions, publications), if
    /// it has one yet.
    fn server_actor(&mut self) -> Result<Option<Vec<u8>>, Error> {
        let hex_actor = self
            .sql()
            .value("SELECT value FROM server_meta WHERE key = 'actor'", &[])?;
        Ok(match hex_actor {
            Some(cell) => hex::decode(cell.text()?).ok(),
            None => None,
        })
    }
    /// Record the checked times of items first received now (idempotent:
    /// the first check of an item is kept).
    fn record_time_checks(&mut self, doc: &DocId, checks: &[TimeCheck]) -> Result<(), Error> {
        for c in checks {
            self.sql().exec(
                "INSERT INTO time_checks (doc_id, item, claimed_at, received_at, status)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                &[
                    doc.as_str().into(),
                    (&c.item).into(),
                    c.claimed_at.into(),
                    c.received_at.into(),
                    c.status.into(),
                ],
            )?;
        }
        Ok(())
    }
    /// Move a doc to the head of the change feed.
    fn feed_touch(&mut self, doc: &DocId, scope: &GridCode) -> Result<u64, Error> {
        Ok(crate::feed::feed_touch(self.sql(), doc.as_str(), scope.as_str())? as u64)
    }
    /// The highest feed position.
    fn feed_max(&mut self) -> Result<u64, Error> {
        // The counter row, not max(seq) over the feed: one row read however
        // large the feed is.
        Ok(crate::feed::feed_head(self.sql())? as u64)
    }
    /// Docs of these scopes changed after `cursor`, oldest first, at most `limit`.
    fn feed_since(
        &mut self,
        scopes: &[GridCode],
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<(DocId, u64)>, Error> {
        Ok(
            crate::feed::feed_since(self.sql(), scopes, cursor as i64, limit)?
                .into_iter()
                .map(|e| (DocId(e.doc_id), e.seq as u64))
                .collect(),
        )
    }
    /// The last round answered to a device (0 if unknown).
    fn last_round(&mut self, device: &str) -> Result<u64, Error> {
        device_counter(
            self.sql(),
            "SELECT last_round FROM devices WHERE device = ?1",
            device,
        )
    }
    /// Remember the last round answered to a device.
    fn set_last_round(&mut self, device: &str, worker: &str, round: u64) -> Result<(), Error> {
        self.sql().exec(
            "INSERT INTO devices (device, worker_id, last_round) VALUES (?1, ?2, ?3)
             ON CONFLICT(device) DO UPDATE SET last_round = excluded.last_round",
            &[device.into(), worker.into(), (round as i64).into()],
        )?;
        Ok(())
    }
    /// The highest round a device has confirmed applying (0 if unknown).
    fn max_acked(&mut self, device: &str) -> Result<u64, Error> {
        device_counter(
            self.sql(),
            "SELECT max_acked FROM devices WHERE device = ?1",
            device,
        )
    }
    /// Record the highest round a device has confirmed applying.
    fn set_max_acked(&mut self, device: &str, round: u64) -> Result<(), Error> {
        self.sql().exec(
            "UPDATE devices SET max_acked = ?2 WHERE device = ?1",
            &[device.into(), (round as i64).into()],
        )?;
        Ok(())
    }
    /// Forget everything known about a device (it lost its state, or we did).
    fn forget_device(&mut self, device: &str) -> Result<(), Error> {
        for sql in [
            "DELETE FROM device_heads WHERE device = ?1",
            "DELETE FROM device_pending WHERE device = ?1",
            "DELETE FROM device_sync_states WHERE device = ?1",
        ] {
            self.sql().exec(sql, &[device.into()])?;
        }
        Ok(())
    }
    /// Confirm the pending heads of rounds up to `acked`, drop later ones.
    fn confirm_rounds(&mut self, device: &str, acked: u64) -> Result<(), Error> {
        let sql = self.sql();
        // Per doc, the heads of its latest confirmed round: one pass over
        // the device's pending rows.
        let confirm = match sql.dialect() {
            // SQLite takes a bare column from the row that holds the max().
            Dialect::Sqlite => {
                "INSERT INTO device_heads (device, doc_id, heads)
                 SELECT device, doc_id, heads FROM (
                     SELECT device, doc_id, heads, max(round) FROM device_pending
                     WHERE device = ?1 AND round <= ?2 GROUP BY doc_id)
                 WHERE true
                 ON CONFLICT(device, doc_id) DO UPDATE SET heads = excluded.heads"
            }
            Dialect::Postgres => {
                "INSERT INTO device_heads (device, doc_id, heads)
                 SELECT DISTINCT ON (doc_id) device, doc_id, heads FROM device_pending
                 WHERE device = ?1 AND round <= ?2 ORDER BY doc_id, round DESC
                 ON CONFLICT(device, doc_id) DO UPDATE SET heads = excluded.heads"
            }
        };
        sql.exec(confirm, &[device.into(), (acked as i64).into()])?;
        sql.exec(
            "DELETE FROM device_pending WHERE device = ?1",
            &[device.into()],
        )?;
        Ok(())
    }
    /// True when the device is known to have any doc at all (confirmed
    /// heads; heads pending under an unconfirmed round do not count).
    fn device_holds_any(&mut self, device: &str) -> Result<bool, Error> {
        Ok(self.sql().exists(
            "SELECT 1 FROM device_heads WHERE device = ?1 LIMIT 1",
            &[device.into()],
        )?)
    }
    /// Heads a device is known to have for a doc.
    fn device_heads(&mut self, device: &str, doc: &DocId) -> Result<Vec<ChangeHash>, Error> {
        Ok(
            match self.sql().value(
                "SELECT heads FROM device_heads WHERE device = ?1 AND doc_id = ?2",
                &[device.into(), doc.as_str().into()],
            )? {
                Some(cell) => decode_heads(&cell.blob()?),
                None => Vec::new(),
            },
        )
    }
    /// For each of `ids` that is stored: its heads, and the heads `device`
    /// is known to have of it (empty when none) — one statement per window
    /// of up to 128 ids instead of two per doc (a day sync's feed page).
    fn heads_many(
        &mut self,
        device: &str,
        ids: &[DocId],
    ) -> Result<HashMap<DocId, KnownHeads>, Error> {
        let mut out = HashMap::with_capacity(ids.len());
        let mut rest = ids;
        while !rest.is_empty() {
            let (window, tail) = rest.split_at(statement_rows(rest.len()));
            rest = tail;
            let marks: Vec<String> = (2..window.len() + 2).map(|i| format!("?{i}")).collect();
            let sql = format!(
                "SELECT d.id, d.heads, dh.heads FROM docs d
                 LEFT JOIN device_heads dh ON dh.device = ?1 AND dh.doc_id = d.id
                 WHERE d.id IN ({})",
                marks.join(", ")
            );
            let mut args: Vec<SqlValue<'_>> = Vec::with_capacity(window.len() + 1);
            args.push(device.into());
            args.extend(window.iter().map(|id| SqlValue::from(id.as_str())));
            for row in self.sql().rows(&sql, &args)? {
                let [id, doc_heads, device_heads] = cells(row)?;
                let device_heads = match device_heads.opt_blob()? {
                    Some(bytes) => decode_heads(&bytes),
                    None => Vec::new(),
                };
                out.insert(
                    DocId(id.text()?),
                    KnownHeads {
                        stored: decode_heads(&doc_heads.blob()?),
                        device: device_heads,
                    },
                );
            }
        }
        Ok(out)
    }
    /// Record heads a device has (confirmed).
    fn set_device_heads(
        &mut self,
        device: &str,
        doc: &DocId,
        heads: &[ChangeHash],
    ) -> Result<(), Error> {
        self.sql().exec(
            "INSERT INTO device_heads (device, doc_id, heads) VALUES (?1, ?2, ?3)
             ON CONFLICT(device, doc_id) DO UPDATE SET heads = excluded.heads",
            &[
                device.into(),
                doc.as_str().into(),
                encode_heads(heads).as_slice().into(),
            ],
        )?;
        Ok(())
    }
    /// Record heads a device will have once it applies `round`.
    fn set_pending(
        &mut self,
        device: &str,
        round: u64,
        doc: &DocId,
        heads: &[ChangeHash],
    ) -> Result<(), Error> {
        self.sql().exec(
            "INSERT INTO device_pending (device, round, doc_id, heads) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(device, round, doc_id) DO UPDATE SET heads = excluded.heads",
            &[
                device.into(),
                (round as i64).into(),
                doc.as_str().into(),
                encode_heads(heads).as_slice().into(),
            ],
        )?;
        Ok(())
    }
    /// [`SyncTx::stored_doc`] of several docs at once, by id (a doc not
    /// stored is absent). One query on PostgreSQL (a first sync reads
    /// thousands); SQLite reads each in process.
    fn stored_docs(&mut self, ids: &[DocId]) -> Result<HashMap<DocId, DocBytes>, Error> {
        let mut out = HashMap::with_capacity(ids.len());
        for id in ids {
            if let Some(doc) = self.stored_doc(id)? {
                out.insert(id.clone(), doc);
            }
        }
        Ok(out)
    }
    /// [`SyncTx::set_pending`] of several docs, a few statements in all.
    fn set_pending_many(
        &mut self,
        device: &str,
        round: u64,
        docs: &[(DocId, Vec<ChangeHash>)],
    ) -> Result<(), Error> {
        let mut rest = docs;
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(statement_rows(rest.len()));
            rest = tail;
            let heads: Vec<Vec<u8>> = chunk.iter().map(|(_, h)| encode_heads(h)).collect();
            let marks: Vec<String> = (0..chunk.len())
                .map(|r| format!("(?1, ?2, ?{}, ?{})", 3 + 2 * r, 4 + 2 * r))
                .collect();
            let sql = format!(
                "INSERT INTO device_pending (device, round, doc_id, heads) VALUES {}
                 ON CONFLICT(device, round, doc_id) DO UPDATE SET heads = excluded.heads",
                marks.join(", ")
            );
            let mut args: Vec<SqlValue<'_>> = vec![device.into(), (round as i64).into()];
            for ((id, _), heads) in chunk.iter().zip(&heads) {
                args.push(id.as_str().into());
                args.push(heads.as_slice().into());
            }
            self.sql().exec(&sql, &args)?;
        }
        Ok(())
    }
    /// The slow-path sync state of a device for a doc.
    fn sync_state(&mut self, device: &str, doc: &DocId) -> Result<Option<Vec<u8>>, Error> {
        Ok(
            match self.sql().value(
                "SELECT state FROM device_sync_states WHERE device = ?1 AND doc_id = ?2",
                &[device.into(), doc.as_str().into()],
            )? {
                Some(cell) => Some(cell.blob()?),
                None => None,
            },
        )
    }
    /// Store the slow-path sync state (encoded).
    fn set_sync_state(&mut self, device: &str, doc: &DocId, state: &[u8]) -> Result<(), Error> {
        self.sql().exec(
            "INSERT INTO device_sync_states (device, doc_id, state) VALUES (?1, ?2, ?3)
             ON CONFLICT(device, doc_id) DO UPDATE SET state = excluded.state",
            &[device.into(), doc.as_str().into(), state.into()],
        )?;
        Ok(())
    }
}

/// Rows (or values) the next multi-row statement takes of `left`: the
/// largest power of two up to 128 that fits, so a few statement texts serve
/// every count and the prepared-statement caches keep their hot entries.
pub fn statement_rows(left: usize) -> usize {
    match left {
        0 => 0,
        n => 1 << n.min(128).ilog2(),
    }
}

/// A stored doc's heads and the heads a device is known to have of it
/// ([`SyncTx::heads_many`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownHeads {
    /// The heads stored now.
    pub stored: Vec<ChangeHash>,
    /// What the device has (empty when nothing is known).
    pub device: Vec<ChangeHash>,
}

/// A device's counter column (0 when the device is unknown).
fn device_counter(sql: &dyn SqlConn, query: &str, device: &str) -> Result<u64, Error> {
    Ok(match sql.value(query, &[device.into()])? {
        Some(cell) => cell.int()? as u64,
        None => 0,
    })
}

/// A row's cells as an array of the width the query selects.
pub fn cells<const N: usize>(row: Vec<SqlCell>) -> Result<[SqlCell; N], Error> {
    row.try_into().map_err(|row: Vec<SqlCell>| {
        Error::Internal(format!("expected {N} columns, the row has {}", row.len()))
    })
}

#[cfg(test)]
mod tests {
    use super::statement_rows;

    #[test]
    fn statement_rows_split_any_count_into_few_sizes() {
        for n in 0..1000usize {
            let mut left = n;
            let mut sizes = Vec::new();
            while left > 0 {
                let take = statement_rows(left);
                assert!(take >= 1 && take <= left && take.is_power_of_two() && take <= 128);
                sizes.push(take);
                left -= take;
            }
            assert_eq!(sizes.iter().sum::<usize>(), n);
        }
        assert_eq!(statement_rows(0), 0);
        assert_eq!(statement_rows(300), 128);
        assert_eq!(statement_rows(5), 4);
    }
}
