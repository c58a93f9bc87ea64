//! The doc feed: one global sequence number, bumped on every doc change the
//! server stores, and each doc's latest number and scope (its grid) in
//! `doc_feed`. A client syncing a scope asks for the docs whose number is
//! above the last one it saw; the index on (scope, seq) answers that.
//!
//! [`feed_touch`] must run in the same transaction as the doc change it
//! records, so the feed never points at a change that was rolled back.

use crate::error::Error;
use gridwork_core::docs::{DocId, DocKind};
use gridwork_core::model::GridCode;
use gridwork_core::store::sql::SqlConn;
use gridwork_core::store::Db;
use serde::Serialize;

/// One row of the feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeedEntry {
    /// The doc id (`household/…`, `visit_log/…/…`, …).
    pub doc_id: String,
    /// The doc's scope: the 4th-level grid it belongs to.
    pub scope: String,
    /// The feed number of the doc's latest change.
    pub seq: i64,
}

/// Prefix of the feed scope of read-only config docs published to a grid.
pub const CONFIG_SCOPE_PREFIX: &str = "config:";

/// The feed scope of a doc stored with `scope`: templates are published to a
/// grid but read by its whole subtree, so they are filed under
/// `config:<grid>`, which accounts below that grid also read (see
/// `Account::feed_scopes`); every other doc is filed under its own grid.
pub fn feed_scope(doc_id: &str, scope: &str) -> String {
    match DocId(doc_id.to_string()).kind() {
        Some(DocKind::Template) => format!("{CONFIG_SCOPE_PREFIX}{scope}"),
        _ => scope.to_string(),
    }
}

/// Record that `doc_id` (in `scope`) changed: bump the global counter and
/// stamp the doc with the new number, which is returned. Call it inside the
/// write transaction that changed the doc.
pub fn feed_touch<C: SqlConn + ?Sized>(conn: &C, doc_id: &str, scope: &str) -> Result<i64, Error> {
    // On PostgreSQL the counter row stays locked until the transaction
    // ends, so feed numbers become visible in the order they were taken: a
    // reader never sees number n+1 committed while n may still appear (the
    // PostgreSQL sync transaction takes its numbers last, see
    // `pg::sync_tx::PgSyncTx::finish`).
    let seq = conn
        .value(
            "UPDATE feed_counter SET seq = seq + 1 WHERE singleton = 1 RETURNING seq",
            &[],
        )?
        .ok_or_else(|| Error::Internal("the feed counter row is missing".into()))?
        .int()?;
    feed_set(conn, doc_id, scope, seq)?;
    Ok(seq)
}

/// Stamp `doc_id` with feed number `seq` (taken from the counter by the
/// caller); `scope` is the doc's stored scope ([`feed_scope`] applies).
pub fn feed_set<C: SqlConn + ?Sized>(
    conn: &C,
    doc_id: &str,
    scope: &str,
    seq: i64,
) -> Result<(), Error> {
    let scope = feed_scope(doc_id, scope);
    conn.exec(
        "INSERT INTO doc_feed (doc_id, scope, seq) VALUES (?1, ?2, ?3)
         ON CONFLICT(doc_id) DO UPDATE SET scope = excluded.scope, seq = excluded.seq",
        &[doc_id.into(), (&scope).into(), seq.into()],
    )?;
    Ok(())
}

/// The latest feed number handed out (0 when nothing was stored yet).
pub fn feed_head<C: SqlConn + ?Sized>(conn: &C) -> Result<i64, Error> {
    Ok(conn
        .value("SELECT seq FROM feed_counter WHERE singleton = 1", &[])?
        .ok_or_else(|| Error::Internal("the feed counter row is missing".into()))?
        .int()?)
}

/// Feed entries of the given scopes with a number above `after`, oldest
/// first, at most `limit`.
pub fn feed_since<C: SqlConn + ?Sized>(
    conn: &C,
    scopes: &[GridCode],
    after: i64,
    limit: usize,
) -> Result<Vec<FeedEntry>, Error> {
    let mut out = Vec::new();
    for scope in scopes {
        for row in conn.rows(
            "SELECT doc_id, scope, seq FROM doc_feed WHERE scope = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            &[scope.as_str().into(), after.into(), (limit as i64).into()],
        )? {
            let [doc_id, scope, seq] = crate::sync::storage::cells(row)?;
            out.push(FeedEntry {
                doc_id: doc_id.text()?,
                scope: scope.text()?,
                seq: seq.int()?,
            });
        }
    }
    out.sort_by_key(|e| e.seq);
    out.truncate(limit);
    Ok(out)
}

/// The newest feed number of any doc in `scopes` (`None`: none has one);
/// one index lookup per scope.
pub fn feed_newest<C: SqlConn + ?Sized>(
    conn: &C,
    scopes: &[GridCode],
) -> Result<Option<i64>, Error> {
    let mut newest = None;
    for scope in scopes {
        if let Some(seq) = conn
            .value(
                "SELECT MAX(seq) FROM doc_feed WHERE scope = ?1",
                &[scope.as_str().into()],
            )?
            .map(|v| v.opt_int())
            .transpose()?
            .flatten()
        {
            newest = newest.max(Some(seq));
        }
    }
    Ok(newest)
}

/// Give every stored doc that has no feed row yet one (scope = the doc's
/// `scope` column), in one transaction. Returns how many were added. Run
/// after demo seeding and at every start, so docs written by the core
/// outside the sync handler (or by a seeding run that was interrupted) are
/// never invisible to clients.
pub fn backfill(db: &Db) -> Result<usize, Error> {
    crate::db::write(db, |tx| {
        let conn = tx.conn();
        let missing: Vec<(String, String)> = {
            let mut stmt = conn.prepare(
                "SELECT id, scope FROM docs WHERE id NOT IN (SELECT doc_id FROM doc_feed) ORDER BY key",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (doc_id, scope) in &missing {
            feed_touch(conn, doc_id, scope)?;
        }
        Ok(missing.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_bumps_and_upserts() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(dir.path()).unwrap();
        let seqs = crate::db::write(&db, |tx| {
            let c = tx.conn();
            Ok([
                feed_touch(c, "household/a", "G1")?,
                feed_touch(c, "household/b", "G2")?,
                feed_touch(c, "household/a", "G1")?,
            ])
        })
        .unwrap();
        assert_eq!(seqs, [1, 2, 3]);
        let (head, entries) = crate::db::read(&db, |c| {
            Ok((
                feed_head(c)?,
                feed_since(c, &[GridCode("G1".into()), GridCode("G2".into())], 0, 10)?,
            ))
        })
        .unwrap();
        assert_eq!(head, 3);
        let ids: Vec<(&str, i64)> = entries.iter().map(|e| (e.doc_id.as_str(), e.seq)).collect();
        assert_eq!(ids, [("household/b", 2), ("household/a", 3)]);
        let g1_after_2 =
            crate::db::read(&db, |c| feed_since(c, &[GridCode("G1".into())], 2, 10)).unwrap();
        assert_eq!(g1_after_2.len(), 1);
        assert_eq!(
            crate::db::read(&db, |c| feed_since(c, &[], 0, 10)).unwrap(),
            []
        );
    }

    #[test]
    fn backfill_covers_docs_without_feed_rows() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(dir.path()).unwrap();
        crate::db::write(&db, |tx| {
            tx.conn().execute_batch(
                "INSERT INTO docs (id, kind, scope, snapshot, heads, updated_at)
                 VALUES ('household/x', 'household', 'G1', x'', x'', 0),
                        ('household/y', 'household', 'G2', x'', x'', 0);",
            )?;
            feed_touch(tx.conn(), "household/x", "G1")?;
            Ok(())
        })
        .unwrap();
        assert_eq!(backfill(&db).unwrap(), 1);
        assert_eq!(backfill(&db).unwrap(), 0);
        let head = crate::db::read(&db, feed_head).unwrap();
        assert_eq!(head, 2);
    }
}
