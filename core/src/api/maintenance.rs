//! Rebuilding read models from the documents, and checking that the
//! incrementally maintained read models equal a rebuild.

use super::Store;
use crate::docs;
use crate::store::read_models;
use crate::Result;
use rusqlite::types::Value;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Outcome of [`Store::check`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Documents read.
    pub documents: u64,
    /// Read-model rows compared.
    pub rows: u64,
    /// Tables whose rows differ from a rebuild (empty = consistent).
    pub differences: Vec<String>,
    /// True when there are no differences.
    pub ok: bool,
}

/// All rows of every read-model table (and of the quarantine list and the
/// docs' formats, derived the same way), sorted, as comparable text.
fn dump(conn: &Connection) -> Result<BTreeMap<&'static str, Vec<Vec<String>>>> {
    let mut out = BTreeMap::new();
    let mut tables: Vec<(&'static str, &str)> = read_models::all_tables()
        .into_iter()
        .map(|t| (t, "*"))
        .collect();
    tables.push(("quarantine", "*"));
    tables.push(("docs", "key, kind, format"));
    for (table, columns) in tables {
        let mut stmt = conn.prepare(&format!("SELECT {columns} FROM {table}"))?;
        let columns = stmt.column_count();
        let mut rows: Vec<Vec<String>> = stmt
            .query_map([], |r| {
                (0..columns)
                    .map(|i| {
                        Ok(match r.get::<_, Value>(i)? {
                            Value::Null => "NULL".to_string(),
                            Value::Integer(n) => n.to_string(),
                            Value::Real(f) => format!("{f:?}"),
                            Value::Text(t) => format!("'{t}'"),
                            Value::Blob(b) => hex::encode(b),
                        })
                    })
                    .collect()
            })?
            .collect::<rusqlite::Result<_>>()?;
        rows.sort();
        out.insert(table, rows);
    }
    Ok(out)
}

/// Recompute every read model from the documents, inside the caller's transaction.
fn rebuild_in(tx: &mut crate::store::WriteTx<'_>) -> Result<u64> {
    crate::store::rebuild::rebuild_read_models(tx.conn())
}

impl Store {
    /// Recompute every read model from the documents (one transaction).
    pub fn rebuild(&self) -> Result<u64> {
        self.db.write(rebuild_in)
    }

    /// Rebuild the read models into a scratch transaction that is rolled back,
    /// and compare with the stored ones. The store is left untouched.
    pub fn check(&self) -> Result<CheckReport> {
        self.db.scratch(|tx| {
            let before = dump(tx.conn())?;
            let documents = rebuild_in(tx)?;
            let after = dump(tx.conn())?;
            let differences: Vec<String> = before
                .iter()
                .filter(|(table, rows)| after.get(*table) != Some(rows))
                .map(|(table, _)| table.to_string())
                .collect();
            Ok(CheckReport {
                documents,
                rows: before.values().map(|r| r.len() as u64).sum(),
                ok: differences.is_empty(),
                differences,
            })
        })
    }

    /// The whole saved document `id` (for sync and tests).
    pub fn export_doc(&self, id: &docs::DocId) -> Result<Vec<u8>> {
        // A read: the reader connection, no write lock.
        self.db.read(|conn| {
            let key: i64 = conn
                .query_row("SELECT key FROM docs WHERE id = ?1", [id.as_str()], |r| {
                    r.get(0)
                })
                .map_err(|_| crate::Error::not_found("document", id))?;
            Ok(crate::store::load_doc(conn, key, id)?.save())
        })
    }

    /// Merge a saved document or changes into `id` in this device's scope and
    /// refresh its read models; returns true if anything changed.
    pub fn merge_doc(&self, id: &docs::DocId, bytes: &[u8]) -> Result<bool> {
        let kind = id.kind().ok_or_else(|| {
            crate::Error::invalid("doc_id", "未知文档类型 / unknown document kind")
        })?;
        let grid = self.device()?.grid;
        let now = self.now();
        self.db
            .write(|tx| tx.merge_doc(id, kind, &grid, bytes, now))
    }

    /// Ids of every stored document.
    pub fn doc_ids(&self) -> Result<Vec<docs::DocId>> {
        self.db.read(|conn| {
            Ok(crate::store::all_docs(conn)?
                .into_iter()
                .map(|(_, id, _)| id)
                .collect())
        })
    }

    /// Documents changed locally since they were last acknowledged by the
    /// server (the sync client's upload set). Merges do not mark docs dirty.
    pub fn dirty_docs(&self) -> Result<Vec<docs::DocId>> {
        self.db.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT d.id FROM sync_docs s JOIN docs d ON d.key = s.doc_key WHERE s.dirty = 1 ORDER BY d.key",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.map(|r| r.map(docs::DocId)).collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Every stored document with its kind, scope and heads (hex), ordered by
    /// id — what two replicas compare to prove they converged — and whether
    /// it is read-only here (a newer format) or quarantined.
    pub fn doc_heads(&self) -> Result<Vec<DocHeads>> {
        self.db.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT d.id, d.kind, d.scope, d.heads, d.format, q.reason
                 FROM docs d LEFT JOIN quarantine q ON q.doc_key = d.key ORDER BY d.id",
            )?;
            let rows = stmt.query_map([], |r| {
                let heads: Vec<u8> = r.get(3)?;
                let format: u32 = r.get(4)?;
                Ok(DocHeads {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    scope: r.get(2)?,
                    heads: heads.chunks(32).map(hex::encode).collect(),
                    format,
                    read_only: format > docs::FORMAT_VERSION,
                    quarantine: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Documents kept but not materialised (a kind this build does not know,
    /// content it cannot read), with why; they sync like any other doc.
    pub fn quarantined_docs(&self) -> Result<Vec<QuarantinedDoc>> {
        self.db.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT d.id, d.kind, d.scope, q.reason FROM quarantine q
                 JOIN docs d ON d.key = q.doc_key ORDER BY d.id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(QuarantinedDoc {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    scope: r.get(2)?,
                    reason: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Ids of documents written in a newer format than this build
    /// understands: shown read-only and synced, never edited here.
    pub fn read_only_docs(&self) -> Result<Vec<String>> {
        self.db.read(|conn| {
            let mut stmt = conn.prepare("SELECT id FROM docs WHERE format > ?1 ORDER BY id")?;
            let rows = stmt.query_map([docs::FORMAT_VERSION], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

/// A document's identity and heads (see [`Store::doc_heads`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocHeads {
    /// Document id.
    pub id: String,
    /// Kind code (`unknown` for a kind of a newer version).
    pub kind: String,
    /// Grid it is filed under.
    pub scope: String,
    /// Heads, hex, sorted.
    pub heads: Vec<String>,
    /// Its format version (1 unless a newer app wrote it).
    pub format: u32,
    /// Written in a newer format: shown and synced, not editable here.
    pub read_only: bool,
    /// Why it is quarantined (not materialised), if it is.
    pub quarantine: Option<String>,
}

/// A document kept and synced but not materialised (see
/// [`Store::quarantined_docs`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedDoc {
    /// Document id.
    pub id: String,
    /// Kind code as stored (`unknown` for a kind of a newer version).
    pub kind: String,
    /// Grid it is filed under.
    pub scope: String,
    /// Why it could not be read (no personal data).
    pub reason: String,
}
