//! Document storage inside a write transaction: load a doc (from the cache or
//! from its snapshot + chunks), change or merge it, append the new changes as
//! a `save_after` chunk (compacting past a bound), refresh its read-model rows
//! and mark it dirty for sync — all in the caller's one SQLite transaction.

use super::persist::{self, load_doc};
use crate::docs::{DocId, DocKind};
use crate::model::{GridCode, Timestamp, WorkerId};
use crate::{Error, Result};
use automerge::{ActorId, Automerge, ChangeHash};
use rusqlite::{OptionalExtension, Transaction};

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
/// Whoever takes a doc out checks it against the heads stored in `docs`
/// (another process, or another server instance, may have moved them).
pub struct DocCache {
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
    /// A cache of at most `capacity` docs (0: none).
    pub fn new(capacity: usize) -> Self {
        DocCache {
            capacity,
            entries: std::collections::HashMap::new(),
            tick: 0,
            deltas: std::collections::HashMap::new(),
        }
    }
    /// Take a doc out (put it back when done with it).
    pub fn take(&mut self, id: &DocId) -> Option<Automerge> {
        self.entries.remove(id).map(|(_, doc)| doc)
    }
    /// Keep a doc, evicting the least recently used past the capacity.
    pub fn put(&mut self, id: DocId, doc: Automerge) {
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
    /// Forget a doc and its delta.
    pub fn forget(&mut self, id: &DocId) {
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
    /// Remember a doc's latest change: `bytes` take it from heads `from` to
    /// heads `to` (both encoded, [`encode_heads`]).
    pub fn put_change(&mut self, id: &DocId, from: Vec<u8>, to: Vec<u8>, bytes: Vec<u8>) {
        self.put_delta(id, Delta { from, to, bytes });
    }
    /// The latest change of `id` when it starts at heads `base` and ends at
    /// `current` (the doc's stored heads now; both encoded).
    pub fn change_between(&self, id: &DocId, base: &[u8], current: &[u8]) -> Option<Vec<u8>> {
        self.deltas
            .get(id)
            .filter(|d| d.from == base && d.to == current)
            .map(|d| d.bytes.clone())
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
        Ok(persist::doc_row(&*self.tx, id)?.map(|(key, heads)| DocRow { key, heads }))
    }

    /// Load a stored doc from its snapshot and chunks (no cache).
    pub fn load_stored(&self, key: i64, id: &DocId) -> Result<Automerge> {
        load_doc(&*self.tx, key, id)
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
        let doc = load_doc(&*self.tx, row.key, id)?;
        Ok(Some((row, doc)))
    }

    /// A stored doc as it is kept — its snapshot and chunks, which load as
    /// the whole doc — and its heads, without loading it: what a server
    /// sends a device that has none of the doc.
    pub fn stored_doc(&self, id: &DocId) -> Result<Option<(Vec<u8>, Vec<ChangeHash>)>> {
        persist::stored_doc(&*self.tx, id)
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
        let old_heads = doc.get_heads();
        let result = match persist::edit_in_place(&mut doc, id, meta, f) {
            Ok(result) => result,
            Err(e) => {
                // The doc is unchanged when the edit is refused: keep it.
                if matches!(e, Error::NewerFormat { .. }) {
                    self.cache.put(id.clone(), doc);
                }
                return Err(e);
            }
        };
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
        Ok(result)
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

    /// Persist `doc` after a change from `old_heads` ([`persist::write_change`])
    /// and remember the appended chunk as the doc's latest delta.
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
        let written = persist::write_change(
            &*self.tx,
            persist::DocWrite {
                id,
                kind,
                scope,
                key,
                doc,
                old_heads,
                at,
                dirty,
                compress: self.compress,
            },
        )?;
        if let Some(persist::Written {
            chunk: Some(chunk), ..
        }) = written
        {
            self.cache.put_delta(
                id,
                Delta {
                    from: encode_heads(old_heads),
                    to: encode_heads(&doc.get_heads()),
                    bytes: chunk,
                },
            );
        }
        Ok(())
    }

    /// Every stored doc: key, id, kind.
    pub fn all_docs(&self) -> Result<Vec<(i64, DocId, DocKind)>> {
        all_docs(&self.tx)
    }
}

/// Every stored doc of a connection: key, id, kind.
pub fn all_docs<C: super::sql::SqlConn + ?Sized>(conn: &C) -> Result<Vec<(i64, DocId, DocKind)>> {
    conn.rows("SELECT key, id, kind FROM docs ORDER BY key", &[])?
        .into_iter()
        .map(|row| {
            let [key, id, kind] = super::sql::columns(row)?;
            Ok((
                key.int()?,
                DocId(id.text()?),
                DocKind::stored(&kind.text()?),
            ))
        })
        .collect()
}

impl persist::DocEditor for WriteTx<'_> {
    fn sql(&self) -> &dyn super::sql::SqlConn {
        &*self.tx
    }

    fn edit_doc<R>(
        &mut self,
        id: &DocId,
        kind: DocKind,
        scope: &GridCode,
        meta: &CommitMeta,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<R>,
    ) -> Result<R> {
        WriteTx::edit_doc(self, id, kind, scope, meta, f)
    }
}
