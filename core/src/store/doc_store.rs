//! Document storage inside a write transaction: load a doc (from the cache or
//! from its snapshot + chunks), change or merge it, append the new changes as
//! a `save_after` chunk (compacting past a bound), refresh its read-model rows
//! and mark it dirty for sync — all in the caller's one SQLite transaction.

use super::read_models;
use crate::docs::{self, DocId, DocKind};
use crate::model::{GridCode, Timestamp, WorkerId};
use crate::{Error, Result};
use automerge::{ActorId, Automerge, ChangeHash};
use rusqlite::{params, OptionalExtension, Transaction};

/// Past this many chunks, or once the chunks outweigh half the snapshot,
/// they are folded into a fresh snapshot. An incremental chunk
/// repeats every change's header and dependency hashes, which a snapshot
/// stores once, so small documents (most of ours: one hazard, one case, one
/// household-year of visits) are in effect re-saved whole on every write —
/// cheap at their size — while large ones append and compact now and then.
const MAX_CHUNKS: i64 = 32;

/// Who makes a change and when: recorded in the Automerge change (author,
/// timestamp) so conflicts can say who wrote which value.
#[derive(Clone, Debug)]
pub struct CommitMeta {
    /// This device's actor id.
    pub actor: ActorId,
    /// The worker making the change.
    pub worker: WorkerId,
    /// The change's time.
    pub at: Timestamp,
}

/// What a [`WriteTx::change_doc`] did to the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeOutcome {
    /// The heads moved.
    pub changed: bool,
    /// The doc did not exist before.
    pub created: bool,
    /// Heads before.
    pub old_heads: Vec<ChangeHash>,
    /// Heads after.
    pub new_heads: Vec<ChangeHash>,
}

/// Encode heads as concatenated 32-byte hashes.
pub fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    let mut sorted = heads.to_vec();
    sorted.sort();
    sorted.iter().flat_map(|h| h.0).collect()
}

/// Decode heads written by [`encode_heads`].
pub fn decode_heads(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes
        .chunks_exact(32)
        .filter_map(|c| ChangeHash::try_from(c).ok())
        .collect()
}

/// LRU of loaded documents: a phone keeps a few (the screen it is on), a
/// server many (the docs its phones sync now) — see [`super::Tuning`].
pub(crate) struct DocCache {
    capacity: usize,
    /// Each doc with the tick it was last used at.
    entries: std::collections::HashMap<DocId, (u64, Automerge)>,
    tick: u64,
    /// Per doc, its latest change as stored: the heads before and after and
    /// the `save_after` bytes between them. Every device that had the doc at
    /// the heads before is sent these bytes as they are (a server's grid
    /// phones all receive a pushed change; encoding it once is enough).
    deltas: std::collections::HashMap<DocId, Delta>,
}

/// A doc's latest change, encoded once.
struct Delta {
    from: Vec<u8>,
    to: Vec<u8>,
    bytes: Vec<u8>,
}

impl DocCache {
    pub(crate) fn new(capacity: usize) -> Self {
        DocCache {
            capacity,
            entries: std::collections::HashMap::new(),
            tick: 0,
            deltas: std::collections::HashMap::new(),
        }
    }
    fn take(&mut self, id: &DocId) -> Option<Automerge> {
        self.entries.remove(id).map(|(_, doc)| doc)
    }
    fn put(&mut self, id: DocId, doc: Automerge) {
        if self.capacity == 0 {
            return;
        }
        self.tick += 1;
        self.entries.insert(id, (self.tick, doc));
        if self.entries.len() > self.capacity {
            // Evict the least recently used eighth at once: one scan per
            // capacity/8 insertions instead of one per insertion.
            let mut ticks: Vec<u64> = self.entries.values().map(|(t, _)| *t).collect();
            let drop = (self.capacity / 8).max(1) + self.entries.len() - self.capacity - 1;
            let nth = drop.min(ticks.len() - 1);
            let (_, cutoff, _) = ticks.select_nth_unstable(nth);
            let cutoff = *cutoff;
            self.entries.retain(|_, (t, _)| *t > cutoff);
        }
    }
    fn forget(&mut self, id: &DocId) {
        self.entries.remove(id);
        self.deltas.remove(id);
    }
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
    #[cfg(test)]
    pub(crate) fn contains(&self, id: &DocId) -> bool {
        self.entries.contains_key(id)
    }
    fn put_delta(&mut self, id: &DocId, delta: Delta) {
        if self.capacity == 0 {
            return;
        }
        if self.deltas.len() >= self.capacity * 4 {
            // Bounded: start over (they are a cache of the last change only).
            self.deltas.clear();
        }
        self.deltas.insert(id.clone(), delta);
    }
}

/// A write transaction over the store. Created by [`super::Db::write`].
pub struct WriteTx<'a> {
    tx: Transaction<'a>,
    cache: &'a mut DocCache,
    touched: Vec<DocId>,
    /// Snapshots are saved with Automerge's column compression (see
    /// [`super::Tuning::compress_snapshots`]).
    compress: bool,
}

/// The stored row of a doc.
struct DocRow {
    key: i64,
    heads: Vec<u8>,
}

impl<'a> WriteTx<'a> {
    pub(crate) fn new(tx: Transaction<'a>, cache: &'a mut DocCache, compress: bool) -> Self {
        WriteTx {
            tx,
            cache,
            touched: Vec::new(),
            compress,
        }
    }

    /// A whole doc as a snapshot is kept.
    fn snapshot(&self, doc: &Automerge) -> Vec<u8> {
        if self.compress {
            doc.save()
        } else {
            doc.save_nocompress()
        }
    }

    /// The SQLite transaction, for reads and for non-document tables.
    pub fn conn(&self) -> &rusqlite::Connection {
        &self.tx
    }

    pub(crate) fn commit(self) -> Result<()> {
        let WriteTx {
            tx, cache, touched, ..
        } = self;
        if let Err(e) = tx.commit() {
            for id in &touched {
                cache.forget(id);
            }
            return Err(e.into());
        }
        Ok(())
    }

    pub(crate) fn rollback(self) {
        for id in &self.touched {
            self.cache.forget(id);
        }
        // Dropping the transaction rolls it back.
    }

    fn doc_row(&self, id: &DocId) -> Result<Option<DocRow>> {
        Ok(self
            .tx
            .prepare_cached("SELECT key, heads FROM docs WHERE id = ?1")?
            .query_row([id.as_str()], |r| {
                Ok(DocRow {
                    key: r.get(0)?,
                    heads: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// Load a stored doc from its snapshot and chunks (no cache).
    pub fn load_stored(&self, key: i64, id: &DocId) -> Result<Automerge> {
        load_doc(&self.tx, key, id)
    }

    /// Take a doc out of the cache if it is current, else load it.
    fn take_doc(&mut self, id: &DocId) -> Result<Option<(DocRow, Automerge)>> {
        let Some(row) = self.doc_row(id)? else {
            self.cache.forget(id);
            return Ok(None);
        };
        if let Some(doc) = self.cache.take(id) {
            if encode_heads(&doc.get_heads()) == row.heads {
                return Ok(Some((row, doc)));
            }
        }
        let doc = load_doc(&self.tx, row.key, id)?;
        Ok(Some((row, doc)))
    }

    /// A stored doc as it is kept — its snapshot and chunks, which load as
    /// the whole doc — and its heads, without loading it: what a server
    /// sends a device that has none of the doc.
    pub fn stored_doc(&self, id: &DocId) -> Result<Option<(Vec<u8>, Vec<ChangeHash>)>> {
        // One statement for the row and its chunks: a first sync reads
        // thousands of docs this way.
        let mut stmt = self.tx.prepare_cached(
            "SELECT d.heads, d.snapshot, c.bytes FROM docs d
             LEFT JOIN doc_chunks c ON c.doc_key = d.key
             WHERE d.id = ?1 ORDER BY c.seq",
        )?;
        let mut rows = stmt.query([id.as_str()])?;
        let mut found: Option<(Vec<u8>, Vec<ChangeHash>)> = None;
        while let Some(row) = rows.next()? {
            let entry = match &mut found {
                Some(entry) => entry,
                None => found.insert((row.get(1)?, decode_heads(&row.get::<_, Vec<u8>>(0)?))),
            };
            if let Some(chunk) = row.get::<_, Option<Vec<u8>>>(2)? {
                entry.0.extend_from_slice(&chunk);
            }
        }
        Ok(found)
    }

    /// The changes of doc `id` since `base` and its heads, if they are the
    /// doc's latest stored change (encoded when it was written), without
    /// loading the doc; `None` when they are not at hand.
    pub fn latest_change_since(
        &self,
        id: &DocId,
        base: &[ChangeHash],
    ) -> Result<Option<(Vec<u8>, Vec<ChangeHash>)>> {
        let Some(delta) = self.cache.deltas.get(id) else {
            return Ok(None);
        };
        if delta.from != encode_heads(base) {
            return Ok(None);
        }
        match self.doc_row(id)? {
            Some(row) if row.heads == delta.to => {
                Ok(Some((delta.bytes.clone(), decode_heads(&delta.to))))
            }
            _ => Ok(None),
        }
    }

    /// The heads of a stored doc, from its row (no load).
    pub fn stored_heads(&self, id: &DocId) -> Result<Option<Vec<ChangeHash>>> {
        Ok(self.doc_row(id)?.map(|row| decode_heads(&row.heads)))
    }

    /// True if the doc exists in the store.
    pub fn doc_exists(&self, id: &DocId) -> Result<bool> {
        Ok(self.doc_row(id)?.is_some())
    }

    /// Read a stored doc (loaded or cached) without changing it.
    pub fn with_doc<R>(
        &mut self,
        id: &DocId,
        f: impl FnOnce(&Automerge) -> Result<R>,
    ) -> Result<Option<R>> {
        let Some((_, doc)) = self.take_doc(id)? else {
            return Ok(None);
        };
        let out = f(&doc);
        self.cache.put(id.clone(), doc);
        out.map(Some)
    }

    /// Change a document (creating it if absent) with `f`, then persist the
    /// change, refresh its read models and mark it dirty. `f` returning an
    /// error cancels every op it made and the caller's transaction rolls back.
    pub fn edit_doc<R>(
        &mut self,
        id: &DocId,
        kind: DocKind,
        scope: &GridCode,
        meta: &CommitMeta,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<R>,
    ) -> Result<R> {
        self.touched.push(id.clone());
        let (row, mut doc) = match self.take_doc(id)? {
            Some((row, doc)) => (Some(row), doc),
            None => (None, Automerge::new()),
        };
        let format = docs::format_of(&doc);
        if format > docs::FORMAT_VERSION {
            // Written by a newer app: kept and shown, never edited here.
            self.cache.put(id.clone(), doc);
            return Err(Error::NewerFormat {
                doc_id: id.to_string(),
                found: format,
                supported: docs::FORMAT_VERSION,
            });
        }
        // The author first: Automerge gives a doc a new random actor whenever
        // its author changes, so setting the actor after keeps every change
        // of this device under its own actor (the one the server binds to
        // the device), paired with one author, the worker.
        doc.set_author(Some(automerge::Author::from(
            meta.worker.0.as_bytes().to_vec(),
        )));
        doc.set_actor(meta.actor.clone());
        let old_heads = doc.get_heads();
        let at = meta.at.0;
        let new_doc = old_heads.is_empty();
        let result = doc
            .transact_with(
                |_| automerge::transaction::CommitOptions::default().with_time(at),
                |am| {
                    if new_doc && docs::FORMAT_VERSION > 1 {
                        // A doc carries its format once it is not the first:
                        // phones of the first release read every other root
                        // key of a visit or work log as a record, so format 1
                        // is written by leaving the key out.
                        use automerge::transaction::Transactable;
                        am.put(
                            automerge::ROOT,
                            docs::FORMAT_KEY,
                            u64::from(docs::FORMAT_VERSION),
                        )?;
                    }
                    f(am)
                },
            )
            .map_err(|failure| failure.error)?;
        self.persist(
            id,
            kind,
            scope,
            row.map(|r| r.key),
            &doc,
            &old_heads,
            meta.at,
            true,
        )?;
        self.cache.put(id.clone(), doc);
        Ok(result.result)
    }

    /// Merge `bytes` (a saved document, or changes from `save_after`) into the
    /// doc `id`, creating it if absent, then persist and refresh its read
    /// models exactly as a local edit does. Idempotent: merging the same bytes
    /// twice changes nothing. Returns true if the doc changed. The dirty flag
    /// is left as it is (a merge is not local work to upload).
    pub fn merge_doc(
        &mut self,
        id: &DocId,
        kind: DocKind,
        scope: &GridCode,
        bytes: &[u8],
        at: Timestamp,
    ) -> Result<bool> {
        let (_, outcome) = self.change_doc(
            id,
            kind,
            at,
            |doc| {
                doc.load_incremental(bytes)
                    .map_err(|e| Error::CorruptDocument {
                        doc_id: id.to_string(),
                        reason: e.to_string(),
                    })?;
                Ok(())
            },
            |_| Ok(scope.clone()),
        )?;
        Ok(outcome.changed)
    }

    /// The general form of every non-local change (merges, Automerge sync
    /// messages): `apply` mutates the loaded (or new) document, then `decide`
    /// inspects the result and returns the scope the doc belongs to — or an
    /// error, in which case nothing is persisted and the doc leaves the cache.
    /// Persists (chunk or snapshot, read models) only if the heads moved or the
    /// doc is new; never touches the dirty flag.
    pub fn change_doc<R>(
        &mut self,
        id: &DocId,
        kind: DocKind,
        at: Timestamp,
        apply: impl FnOnce(&mut Automerge) -> Result<R>,
        decide: impl FnOnce(&Automerge) -> Result<GridCode>,
    ) -> Result<(R, ChangeOutcome)> {
        self.touched.push(id.clone());
        let (row, mut doc) = match self.take_doc(id)? {
            Some((row, doc)) => (Some(row), doc),
            None => (None, Automerge::new()),
        };
        let old_heads = doc.get_heads();
        let result = apply(&mut doc)?;
        let scope = decide(&doc)?;
        let new_heads = doc.get_heads();
        let changed = new_heads != old_heads;
        let created = row.is_none() && !new_heads.is_empty();
        if changed || created {
            self.persist(
                id,
                kind,
                &scope,
                row.map(|r| r.key),
                &doc,
                &old_heads,
                at,
                false,
            )?;
        }
        self.cache.put(id.clone(), doc);
        Ok((
            result,
            ChangeOutcome {
                changed,
                created,
                old_heads,
                new_heads,
            },
        ))
    }

    /// Run `f` inside a SAVEPOINT: on error its writes are undone (and the
    /// docs it touched leave the cache) while the enclosing transaction goes
    /// on — how a server rejects one document of a request and applies the rest.
    pub fn savepoint<R>(&mut self, f: impl FnOnce(&mut WriteTx<'a>) -> Result<R>) -> Result<R> {
        let mark = self.touched.len();
        self.run_cached("SAVEPOINT doc_step")?;
        match f(self) {
            Ok(r) => {
                self.run_cached("RELEASE doc_step")?;
                Ok(r)
            }
            Err(e) => {
                self.run_cached("ROLLBACK TO doc_step")?;
                self.run_cached("RELEASE doc_step")?;
                for id in self.touched.drain(mark..).collect::<Vec<_>>() {
                    self.cache.forget(&id);
                }
                Err(e)
            }
        }
    }

    /// Run one parameterless statement, kept prepared.
    fn run_cached(&self, sql: &str) -> Result<()> {
        self.tx.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    /// The stored scope of a doc, if the doc exists.
    pub fn doc_scope(&self, id: &DocId) -> Result<Option<GridCode>> {
        Ok(self
            .tx
            .prepare_cached("SELECT scope FROM docs WHERE id = ?1")?
            .query_row([id.as_str()], |r| r.get::<_, String>(0))
            .optional()?
            .map(GridCode))
    }

    /// Persist `doc` after a change from `old_heads`: append a chunk (or write
    /// the first snapshot), compact past the bound, refresh the read models and
    /// set the dirty flag when `dirty`.
    #[allow(clippy::too_many_arguments)]
    fn persist(
        &mut self,
        id: &DocId,
        kind: DocKind,
        scope: &GridCode,
        key: Option<i64>,
        doc: &Automerge,
        old_heads: &[ChangeHash],
        at: Timestamp,
        dirty: bool,
    ) -> Result<()> {
        let heads = doc.get_heads();
        if key.is_some()
            && heads.len() == old_heads.len()
            && heads.iter().all(|h| old_heads.contains(h))
        {
            return Ok(()); // Nothing changed.
        }
        let heads_bytes = encode_heads(&heads);
        let key = match key {
            None => {
                self.tx
                    .prepare_cached(
                        "INSERT INTO docs (id, kind, scope, snapshot, heads, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![
                        id.as_str(),
                        kind.code(),
                        scope.as_str(),
                        self.snapshot(doc),
                        heads_bytes,
                        at.0
                    ])?;
                let key = self.tx.last_insert_rowid();
                self.tx
                    .prepare_cached("INSERT INTO sync_docs (doc_key, dirty) VALUES (?1, ?2)")?
                    .execute(params![key, dirty])?;
                key
            }
            Some(key) => {
                let chunk = doc.save_after(old_heads);
                self.cache.put_delta(
                    id,
                    Delta {
                        from: encode_heads(old_heads),
                        to: heads_bytes.clone(),
                        bytes: chunk.clone(),
                    },
                );
                let (count, bytes, snapshot_len): (i64, i64, i64) = self
                    .tx
                    .prepare_cached(
                        "SELECT chunk_count, chunk_bytes, length(snapshot) FROM docs WHERE key = ?1",
                    )?
                    .query_row([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                let new_bytes = bytes + chunk.len() as i64;
                if count + 1 >= MAX_CHUNKS || new_bytes * 2 > snapshot_len {
                    self.tx
                        .prepare_cached("DELETE FROM doc_chunks WHERE doc_key = ?1")?
                        .execute([key])?;
                    self.tx
                        .prepare_cached(
                            "UPDATE docs SET snapshot = ?2, heads = ?3, chunk_count = 0,
                                 chunk_bytes = 0, updated_at = ?4
                             WHERE key = ?1",
                        )?
                        .execute(params![key, self.snapshot(doc), heads_bytes, at.0])?;
                } else {
                    self.tx
                        .prepare_cached(
                            "INSERT INTO doc_chunks (doc_key, seq, bytes) VALUES (?1, ?2, ?3)",
                        )?
                        .execute(params![key, count, chunk])?;
                    self.tx
                        .prepare_cached(
                            "UPDATE docs SET heads = ?2, chunk_count = ?3, chunk_bytes = ?4,
                                 updated_at = ?5
                             WHERE key = ?1",
                        )?
                        .execute(params![key, heads_bytes, count + 1, new_bytes, at.0])?;
                }
                if dirty {
                    self.tx
                        .prepare_cached(
                            "INSERT INTO sync_docs (doc_key, dirty) VALUES (?1, 1)
                         ON CONFLICT(doc_key) DO UPDATE SET dirty = 1",
                        )?
                        .execute([key])?;
                }
                key
            }
        };
        // A visit log grows all year: refresh only the visits this change
        // touched (the same per-visit materialisation a rebuild uses), unless
        // the log is quarantined (then it is re-read whole).
        if kind == DocKind::VisitLog && !old_heads.is_empty() && !self.quarantined(key)? {
            if let Some(touched) = docs::visit_log::touched_visits(doc, old_heads, &heads) {
                if let Ok(visits) = docs::visit_log::materialize_some(doc, &touched) {
                    let written = super::rebuild::in_savepoint(&self.tx, || {
                        read_models::replace_visits(&self.tx, key, &touched, &visits)
                    });
                    if written.is_ok() {
                        return Ok(());
                    }
                    // Otherwise the whole log is read again below (and is
                    // refused or quarantined if its rows cannot be written).
                }
            }
        }
        if dirty {
            // A local edit must leave a readable doc: an error here is a bug
            // of this build, and the whole edit is refused.
            let rows = docs::materialize(id, kind, doc)?;
            read_models::replace(&self.tx, key, kind, &rows)?;
            return super::rebuild::set_quarantine(&self.tx, key, None);
        }
        // A merge keeps whatever arrived: a doc this build cannot read is
        // quarantined (kept, synced, listed) instead of failing the others.
        super::rebuild::refresh_doc(&self.tx, key, id, kind, doc)
    }

    /// True when doc `key` is quarantined.
    fn quarantined(&self, key: i64) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM quarantine WHERE doc_key = ?1")?
            .exists([key])?)
    }

    /// Every stored doc: key, id, kind.
    pub fn all_docs(&self) -> Result<Vec<(i64, DocId, DocKind)>> {
        all_docs(&self.tx)
    }
}

/// Every stored doc of a connection: key, id, kind.
pub fn all_docs(conn: &rusqlite::Connection) -> Result<Vec<(i64, DocId, DocKind)>> {
    let mut stmt = conn.prepare("SELECT key, id, kind FROM docs ORDER BY key")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    rows.map(|row| {
        let (key, id, kind) = row?;
        Ok((key, DocId(id), DocKind::stored(&kind)))
    })
    .collect()
}

/// Load a doc from its snapshot plus chunks.
pub(crate) fn load_doc(conn: &rusqlite::Connection, key: i64, id: &DocId) -> Result<Automerge> {
    let bytes = stored_bytes(conn, key)?;
    if bytes.is_empty() {
        return Ok(Automerge::new());
    }
    // One load of the snapshot and its chunks together: Automerge applies
    // the chunks' changes in one batch, far cheaper than one
    // `load_incremental` per chunk.
    Automerge::load(&bytes).map_err(|e| Error::CorruptDocument {
        doc_id: id.to_string(),
        reason: e.to_string(),
    })
}

/// The stored bytes of doc `key` as they are: its snapshot followed by its
/// chunks, which `Automerge::load` (or `load_incremental` into an empty
/// doc) reads as the whole document.
pub(crate) fn stored_bytes(conn: &rusqlite::Connection, key: i64) -> Result<Vec<u8>> {
    let mut bytes: Vec<u8> = conn
        .prepare_cached("SELECT snapshot FROM docs WHERE key = ?1")?
        .query_row([key], |r| r.get(0))?;
    let mut stmt =
        conn.prepare_cached("SELECT bytes FROM doc_chunks WHERE doc_key = ?1 ORDER BY seq")?;
    let chunks = stmt.query_map([key], |r| r.get::<_, Vec<u8>>(0))?;
    for chunk in chunks {
        bytes.extend_from_slice(&chunk?);
    }
    Ok(bytes)
}
