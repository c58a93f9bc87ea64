//! How a document is kept in the `docs` and `doc_chunks` tables, on any
//! [`SqlConn`]: read its stored bytes (snapshot followed by chunks, which
//! load as the whole doc), and write a change — append a `save_after` chunk
//! or fold the chunks into a fresh snapshot past a bound, then refresh the
//! doc's read-model rows (quarantining a doc this build cannot read). The
//! phone's [`super::WriteTx`] and a server's PostgreSQL store both write
//! through here, so a document is stored the same way everywhere.

use super::sql::{SqlConn, SqlValue};
use super::{decode_heads, encode_heads, read_models, rebuild, CommitMeta};
use crate::docs::{self, DocId, DocKind};
use crate::model::{GridCode, Timestamp};
use crate::{Error, Result};
use automerge::{Automerge, ChangeHash};

/// Past this many chunks, or once the chunks outweigh half the snapshot,
/// they are folded into a fresh snapshot. An incremental chunk
/// repeats every change's header and dependency hashes, which a snapshot
/// stores once, so small documents (most of ours: one hazard, one case, one
/// household-year of visits) are in effect re-saved whole on every write —
/// cheap at their size — while large ones append and compact now and then.
pub const MAX_CHUNKS: i64 = 32;

/// A changed document to persist.
#[derive(Clone, Copy)]
pub struct DocWrite<'a> {
    /// Its id.
    pub id: &'a DocId,
    /// Its kind.
    pub kind: DocKind,
    /// The grid it is filed under.
    pub scope: &'a GridCode,
    /// Its row's key, `None` for a doc not stored yet.
    pub key: Option<i64>,
    /// The document after the change.
    pub doc: &'a Automerge,
    /// Its heads before the change (empty for a new doc).
    pub old_heads: &'a [ChangeHash],
    /// When the change was stored.
    pub at: Timestamp,
    /// Mark the doc dirty for sync (a local edit), and refuse the edit if
    /// the doc cannot be materialised.
    pub dirty: bool,
    /// Save snapshots with Automerge's column compression.
    pub compress: bool,
}

/// What [`write_change`] stored.
#[derive(Clone, Debug)]
pub struct Written {
    /// The doc's row key.
    pub key: i64,
    /// The appended chunk (the change since `old_heads`), for a doc that
    /// was stored before; `None` for a new doc.
    pub chunk: Option<Vec<u8>>,
}

/// A doc's stored row: key and heads (encoded).
pub fn doc_row<C: SqlConn + ?Sized>(conn: &C, id: &DocId) -> Result<Option<(i64, Vec<u8>)>> {
    match conn.row(
        "SELECT key, heads FROM docs WHERE id = ?1",
        &[id.as_str().into()],
    )? {
        Some(row) => {
            let mut cells = row.into_iter();
            let key = next_cell(&mut cells)?.int()?;
            Ok(Some((key, next_cell(&mut cells)?.blob()?)))
        }
        None => Ok(None),
    }
}

/// The next cell of a row (the query names every column it reads).
fn next_cell(cells: &mut impl Iterator<Item = super::sql::SqlCell>) -> Result<super::sql::SqlCell> {
    cells.next().ok_or_else(|| Error::Database {
        sqlstate: None,
        message: "a row has fewer columns than read".into(),
    })
}

/// The stored bytes of doc `key` as they are: its snapshot followed by its
/// chunks, which `Automerge::load` (or `load_incremental` into an empty
/// doc) reads as the whole document.
pub fn stored_bytes<C: SqlConn + ?Sized>(conn: &C, key: i64) -> Result<Vec<u8>> {
    let mut bytes = conn
        .value("SELECT snapshot FROM docs WHERE key = ?1", &[key.into()])?
        .ok_or_else(|| Error::Database {
            sqlstate: None,
            message: "a stored doc's row is gone".into(),
        })?
        .blob()?;
    for row in conn.rows(
        "SELECT bytes FROM doc_chunks WHERE doc_key = ?1 ORDER BY seq",
        &[key.into()],
    )? {
        let chunk = next_cell(&mut row.into_iter())?.blob()?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A stored doc as it is kept — its snapshot and chunks, which load as the
/// whole doc — and its heads, without loading it: what a server sends a
/// device that has none of the doc. One statement for the row and its
/// chunks: a first sync reads thousands of docs this way.
pub fn stored_doc<C: SqlConn + ?Sized>(
    conn: &C,
    id: &DocId,
) -> Result<Option<(Vec<u8>, Vec<ChangeHash>)>> {
    let rows = conn.rows(
        "SELECT d.heads, d.snapshot, c.bytes FROM docs d
         LEFT JOIN doc_chunks c ON c.doc_key = d.key
         WHERE d.id = ?1 ORDER BY c.seq",
        &[id.as_str().into()],
    )?;
    let mut found: Option<(Vec<u8>, Vec<ChangeHash>)> = None;
    for row in rows {
        let mut cells = row.into_iter();
        let heads = next_cell(&mut cells)?;
        let snapshot = next_cell(&mut cells)?;
        let chunk = next_cell(&mut cells)?.opt_blob()?;
        let entry = match &mut found {
            Some(entry) => entry,
            None => found.insert((snapshot.blob()?, decode_heads(&heads.blob()?))),
        };
        if let Some(chunk) = chunk {
            entry.0.extend_from_slice(&chunk);
        }
    }
    Ok(found)
}

/// Load doc `key` from its snapshot and chunks.
pub fn load_doc<C: SqlConn + ?Sized>(conn: &C, key: i64, id: &DocId) -> Result<Automerge> {
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

/// Something that edits documents inside its open transaction: the
/// phone's [`super::WriteTx`], a server's PostgreSQL transaction. What
/// publishes templates and policies is written once over it.
pub trait DocEditor {
    /// The transaction's connection, for reads.
    fn sql(&self) -> &dyn SqlConn;

    /// Change doc `id` (creating it if absent) with `f` as one Automerge
    /// commit by `meta` ([`edit_in_place`]), persist it and refresh its read
    /// models.
    fn edit_doc<R>(
        &mut self,
        id: &DocId,
        kind: DocKind,
        scope: &GridCode,
        meta: &CommitMeta,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<R>,
    ) -> Result<R>;
}

/// Apply an edit to `doc` as one Automerge commit carrying `meta`'s worker
/// as author, its actor and its time (a new doc gets its `format` first).
/// A doc of a newer format than this build is refused
/// ([`Error::NewerFormat`]) and left as it was.
pub fn edit_in_place<R>(
    doc: &mut Automerge,
    id: &DocId,
    meta: &CommitMeta,
    f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<R>,
) -> Result<R> {
    let format = docs::format_of(doc);
    if format > docs::FORMAT_VERSION {
        // Written by a newer app: kept and shown, never edited here.
        return Err(Error::NewerFormat {
            doc_id: id.to_string(),
            found: format,
            supported: docs::FORMAT_VERSION,
        });
    }
    // The author first: Automerge gives a doc a new random actor whenever
    // its author changes, so setting the actor after keeps every change of
    // this device under its own actor (the one the server binds to the
    // device), paired with one author, the worker.
    doc.set_author(Some(automerge::Author::from(
        meta.worker.0.as_bytes().to_vec(),
    )));
    doc.set_actor(meta.actor.clone());
    let at = meta.at.0;
    let new_doc = doc.get_heads().is_empty();
    let result = doc
        .transact_with(
            |_| automerge::transaction::CommitOptions::default().with_time(at),
            |am| {
                if new_doc && docs::FORMAT_VERSION > 1 {
                    // A doc carries its format once it is not the first:
                    // phones of the first release read every other root key
                    // of a visit or work log as a record, so format 1 is
                    // written by leaving the key out.
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
    Ok(result.result)
}

/// A whole doc as a snapshot is kept.
fn snapshot(doc: &Automerge, compress: bool) -> Vec<u8> {
    if compress {
        doc.save()
    } else {
        doc.save_nocompress()
    }
}

/// Persist `w.doc` after a change from `w.old_heads`: insert the doc, or
/// append a chunk (compacting past [`MAX_CHUNKS`] or half the snapshot),
/// refresh the read models and set the dirty flag when `w.dirty`. `None`
/// when the heads did not move on a stored doc (nothing is written).
pub fn write_change<C: SqlConn + ?Sized>(conn: &C, w: DocWrite<'_>) -> Result<Option<Written>> {
    let heads = w.doc.get_heads();
    if w.key.is_some()
        && heads.len() == w.old_heads.len()
        && heads.iter().all(|h| w.old_heads.contains(h))
    {
        return Ok(None);
    }
    let heads_bytes = encode_heads(&heads);
    let written = match w.key {
        None => {
            let key = conn
                .value(
                    "INSERT INTO docs (id, kind, scope, snapshot, heads, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING key",
                    &[
                        w.id.as_str().into(),
                        w.kind.code().into(),
                        w.scope.as_str().into(),
                        SqlValue::Blob(&snapshot(w.doc, w.compress)),
                        (&heads_bytes).into(),
                        w.at.0.into(),
                    ],
                )?
                .ok_or_else(|| Error::Database {
                    sqlstate: None,
                    message: "INSERT … RETURNING returned no row".into(),
                })?
                .int()?;
            conn.exec(
                "INSERT INTO sync_docs (doc_key, dirty) VALUES (?1, ?2)",
                &[key.into(), w.dirty.into()],
            )?;
            Written { key, chunk: None }
        }
        Some(key) => {
            let chunk = w.doc.save_after(w.old_heads);
            append_or_compact(conn, key, &chunk, &heads_bytes, &w)?;
            if w.dirty {
                conn.exec(
                    "INSERT INTO sync_docs (doc_key, dirty) VALUES (?1, 1)
                     ON CONFLICT(doc_key) DO UPDATE SET dirty = 1",
                    &[key.into()],
                )?;
            }
            Written {
                key,
                chunk: Some(chunk),
            }
        }
    };
    refresh_rows(conn, written.key, &w, &heads)?;
    Ok(Some(written))
}

/// Append `chunk` to stored doc `key`, or fold its chunks into a fresh
/// snapshot once they are too many or too large.
fn append_or_compact<C: SqlConn + ?Sized>(
    conn: &C,
    key: i64,
    chunk: &[u8],
    heads_bytes: &[u8],
    w: &DocWrite<'_>,
) -> Result<()> {
    let row = conn
        .row(
            "SELECT chunk_count, chunk_bytes, length(snapshot) FROM docs WHERE key = ?1",
            &[key.into()],
        )?
        .ok_or_else(|| Error::Database {
            sqlstate: None,
            message: "a stored doc's row is gone".into(),
        })?;
    let mut cells = row.into_iter();
    let count = next_cell(&mut cells)?.int()?;
    let bytes = next_cell(&mut cells)?.int()?;
    let snapshot_len = next_cell(&mut cells)?.int()?;
    let new_bytes = bytes + chunk.len() as i64;
    if count + 1 >= MAX_CHUNKS || new_bytes * 2 > snapshot_len {
        conn.exec("DELETE FROM doc_chunks WHERE doc_key = ?1", &[key.into()])?;
        conn.exec(
            "UPDATE docs SET snapshot = ?2, heads = ?3, chunk_count = 0,
                 chunk_bytes = 0, updated_at = ?4
             WHERE key = ?1",
            &[
                key.into(),
                SqlValue::Blob(&snapshot(w.doc, w.compress)),
                heads_bytes.into(),
                w.at.0.into(),
            ],
        )?;
    } else {
        conn.exec(
            "INSERT INTO doc_chunks (doc_key, seq, bytes) VALUES (?1, ?2, ?3)",
            &[key.into(), count.into(), chunk.into()],
        )?;
        conn.exec(
            "UPDATE docs SET heads = ?2, chunk_count = ?3, chunk_bytes = ?4,
                 updated_at = ?5
             WHERE key = ?1",
            &[
                key.into(),
                heads_bytes.into(),
                (count + 1).into(),
                new_bytes.into(),
                w.at.0.into(),
            ],
        )?;
    }
    Ok(())
}

/// Refresh the read-model rows of stored doc `key` after a change to
/// `heads`.
fn refresh_rows<C: SqlConn + ?Sized>(
    conn: &C,
    key: i64,
    w: &DocWrite<'_>,
    heads: &[ChangeHash],
) -> Result<()> {
    // A visit log grows all year: refresh only the visits this change
    // touched (the same per-visit materialisation a rebuild uses), unless
    // the log is quarantined (then it is re-read whole).
    if w.kind == DocKind::VisitLog
        && !w.old_heads.is_empty()
        && !conn.exists("SELECT 1 FROM quarantine WHERE doc_key = ?1", &[key.into()])?
    {
        if let Some(touched) = docs::visit_log::touched_visits(w.doc, w.old_heads, heads) {
            if let Ok(visits) = docs::visit_log::materialize_some(w.doc, &touched) {
                let written = rebuild::in_savepoint(conn, || {
                    read_models::replace_visits(conn, key, &touched, &visits)
                });
                if written.is_ok() {
                    return Ok(());
                }
                // Otherwise the whole log is read again below (and is
                // refused or quarantined if its rows cannot be written).
            }
        }
    }
    if w.dirty {
        // A local edit must leave a readable doc: an error here is a bug
        // of this build, and the whole edit is refused.
        let rows = docs::materialize(w.id, w.kind, w.doc)?;
        read_models::replace(conn, key, w.kind, &rows)?;
        return rebuild::set_quarantine(conn, key, None);
    }
    // A merge keeps whatever arrived: a doc this build cannot read is
    // quarantined (kept, synced, listed) instead of failing the others.
    rebuild::refresh_doc(conn, key, w.id, w.kind, w.doc)
}
