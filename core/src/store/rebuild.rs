//! Recomputing every read model (and the quarantine list) from the stored
//! documents, on one connection inside the caller's transaction: used by
//! `Store::rebuild` / `Store::check` and by the schema upgrades that add or
//! change read models ([`super::migrations::REBUILD_AFTER`]).

use super::sql::SqlConn;
use super::{load_doc, read_models};
use crate::docs::{self, DocId, DocKind, DocRows};
use crate::{Error, Result};
use rusqlite::{params, Connection};

/// The quarantine reason of a materialisation error (no personal data: the
/// core's errors never carry field values).
pub(crate) fn quarantine_reason(e: &Error) -> String {
    match e {
        Error::CorruptDocument { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Put doc `key` in quarantine with `reason` (its read-model rows are
/// removed by the caller), or take it out with `None`.
pub fn set_quarantine<C: SqlConn + ?Sized>(conn: &C, key: i64, reason: Option<&str>) -> Result<()> {
    match reason {
        Some(reason) => conn.exec(
            "INSERT INTO quarantine (doc_key, reason, revision) VALUES (?1, ?2, ?3)
             ON CONFLICT(doc_key) DO UPDATE SET reason = excluded.reason, revision = excluded.revision",
            &[key.into(), reason.into(), docs::MATERIALIZER_REVISION.into()],
        )?,
        None => conn.exec("DELETE FROM quarantine WHERE doc_key = ?1", &[key.into()])?,
    };
    Ok(())
}

/// Materialise one stored doc into its read-model rows, quarantining it
/// (with no rows) when it cannot be read, and record its format.
pub fn refresh_doc<C: SqlConn + ?Sized>(
    conn: &C,
    key: i64,
    id: &DocId,
    kind: DocKind,
    doc: &automerge::Automerge,
) -> Result<()> {
    conn.exec(
        "UPDATE docs SET format = ?2 WHERE key = ?1 AND format != ?2",
        &[key.into(), docs::format_of(doc).into()],
    )?;
    let written = docs::materialize(id, kind, doc)
        .and_then(|rows| in_savepoint(conn, || read_models::replace(conn, key, kind, &rows)));
    match written {
        Ok(()) => set_quarantine(conn, key, None),
        Err(e) => {
            // Unreadable, or rows that cannot be written (a record id that
            // another doc already holds): the doc keeps no rows at all.
            read_models::replace(conn, key, kind, &DocRows::Empty)?;
            set_quarantine(conn, key, Some(&quarantine_reason(&e)))
        }
    }
}

/// Run `f` inside a SAVEPOINT: on error what it wrote is undone and the
/// error returned, the enclosing transaction going on.
pub fn in_savepoint<C: SqlConn + ?Sized>(conn: &C, f: impl FnOnce() -> Result<()>) -> Result<()> {
    let run = |sql: &str| -> Result<()> {
        conn.exec(sql, &[])?;
        Ok(())
    };
    run("SAVEPOINT read_rows")?;
    match f() {
        Ok(()) => run("RELEASE read_rows"),
        Err(e) => {
            run("ROLLBACK TO read_rows")?;
            run("RELEASE read_rows")?;
            Err(e)
        }
    }
}

/// Recompute every read model, the quarantine list and the docs' formats
/// from the documents. Returns how many docs were read.
pub fn rebuild_read_models<C: SqlConn + ?Sized>(conn: &C) -> Result<u64> {
    for table in read_models::all_tables() {
        conn.exec(&format!("DELETE FROM {table}"), &[])?;
    }
    conn.exec("DELETE FROM quarantine", &[])?;
    // Docs stored as `unknown` by an older build may be of a kind known now.
    let all = super::all_docs(conn)?;
    for (key, id, stored) in &all {
        let kind = id.kind().unwrap_or(*stored);
        if kind != *stored {
            conn.exec(
                "UPDATE docs SET kind = ?2 WHERE key = ?1",
                &[(*key).into(), kind.code().into()],
            )?;
        }
        let doc = load_doc(conn, *key, id)?;
        refresh_doc(conn, *key, id, kind, &doc)?;
    }
    Ok(all.len() as u64)
}

/// Retry the docs quarantined by an older materialiser revision, and docs
/// stored as `unknown` whose kind this build knows. Cheap when there are
/// none (the common case): two indexed lookups.
pub fn retry_quarantined(conn: &Connection) -> Result<u64> {
    let stale: Vec<(i64, String, String)> = {
        let mut stmt = conn.prepare(
            "SELECT d.key, d.id, d.kind FROM docs d JOIN quarantine q ON q.doc_key = d.key
             WHERE q.revision < ?1",
        )?;
        let rows = stmt.query_map([docs::MATERIALIZER_REVISION], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (key, id, stored) in &stale {
        let id = DocId(id.clone());
        let kind = id.kind().unwrap_or(DocKind::stored(stored));
        conn.execute(
            "UPDATE docs SET kind = ?2 WHERE key = ?1",
            params![key, kind.code()],
        )?;
        let doc = load_doc(conn, *key, &id)?;
        refresh_doc(conn, *key, &id, kind, &doc)?;
    }
    Ok(stale.len() as u64)
}
