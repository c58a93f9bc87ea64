//! The phone's sync client: `Store::sync`.
//!
//! Each round trip builds a request from the store (dirty docs with their
//! changes since the heads shared with the server, the feed cursor, the last
//! applied round, slow-path messages), posts it, and applies the response in
//! ONE write transaction: merged docs and their read models, shared heads,
//! dirty flags, cursor and round move together. A lost response or a killed
//! process therefore only means the next sync repeats harmlessly.

use super::protocol::{self, DocMessage, DocPush, Rejection, SyncRequest, SyncResponse};
use super::transport::Transport;
use crate::docs::{self, DocId};
use crate::model::GridCode;
use crate::store::{decode_heads, encode_heads, WriteTx};
use crate::{Error, Result, Store};
use automerge::sync::SyncDoc;
use automerge::{Automerge, ChangeHash};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Most round trips one `sync` call makes (pages + slow-path exchanges).
const MAX_ROUND_TRIPS: u32 = 1000;

/// Raw document bytes pushed per request; more dirty docs wait for the next
/// round trip of the same sync (a new phone of a big grid, a changed server),
/// so a request stays far below the server's size cap.
const PUSH_BUDGET: usize = 4 * 1024 * 1024;

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSummary {
    /// Docs pushed (dirty docs sent), counted once per round trip.
    pub docs_up: u32,
    /// Docs received with changes.
    pub docs_down: u32,
    /// Compressed request bytes.
    pub bytes_up: u64,
    /// Compressed response bytes.
    pub bytes_down: u64,
    /// HTTP round trips.
    pub round_trips: u32,
    /// Conflicts that did not exist before this sync.
    pub new_conflicts: u32,
    /// Docs the server refused (nothing of them was applied there).
    pub rejected: Vec<Rejection>,
    /// Docs reconciled through the slow path.
    pub slow_path_docs: u32,
    /// Docs kept but not materialised (a kind this build does not know,
    /// content it cannot read), with why: they stay stored and synced.
    pub quarantined: Vec<crate::QuarantinedDoc>,
    /// Ids of docs in a newer format than this build: shown read-only and
    /// synced, never edited here (update the app to edit them).
    pub read_only: Vec<String>,
}

/// Progress reported after each applied round trip.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// Round trips so far.
    pub round_trips: u32,
    /// Docs received so far.
    pub docs_down: u32,
    /// True while the server has more pages.
    pub more: bool,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(&SyncProgress) + Send + Sync>;

/// Options of [`Store::sync_with`].
#[derive(Clone, Default)]
pub struct SyncOptions {
    /// Called after each applied round trip.
    pub progress: Option<ProgressFn>,
    /// Set to true to stop before the next round trip ([`Error::Cancelled`]).
    pub cancel: Option<Arc<AtomicBool>>,
    /// Raw document bytes to push per request (default 4 MiB); the rest of
    /// the dirty docs go in further round trips of the same sync.
    pub push_budget: Option<usize>,
    /// Allow plain `http://` to a server that is not on this machine
    /// (resident data would cross the network unencrypted; for test
    /// set-ups only). Without it [`Store::sync`] refuses such a URL.
    pub allow_insecure: bool,
}

impl SyncOptions {
    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
    }
}

fn meta_get(conn: &rusqlite::Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM sync_meta WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

fn meta_set(conn: &rusqlite::Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub(super) fn meta_u64(conn: &rusqlite::Connection, key: &str) -> Result<u64> {
    Ok(meta_get(conn, key)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// In-flight slow-path state of one doc (this sync call only).
struct Slow {
    state: automerge::sync::State,
    /// The server said it has nothing more for this doc.
    peer_done: bool,
}

impl Store {
    /// Sync with `server_url` (e.g. `http://127.0.0.1:8080`) using the
    /// production HTTP transport.
    #[cfg(feature = "http")]
    pub fn sync(
        &self,
        server_url: &str,
        token: &str,
        options: &SyncOptions,
    ) -> Result<SyncSummary> {
        super::transport::check_server_url(server_url, options.allow_insecure)?;
        let transport = super::transport::HttpTransport::new()?;
        self.sync_with(&transport, server_url, token, options)
    }

    /// Sync through any [`Transport`].
    pub fn sync_with(
        &self,
        transport: &dyn Transport,
        server_url: &str,
        token: &str,
        options: &SyncOptions,
    ) -> Result<SyncSummary> {
        let device = self.device()?;
        let url = format!("{}/v1/sync", server_url.trim_end_matches('/'));
        let conflicts_before: BTreeSet<String> =
            self.conflicts()?.iter().map(conflict_key).collect();
        let mut summary = SyncSummary::default();
        let mut slow: BTreeMap<DocId, Slow> = BTreeMap::new();
        let mut offered: BTreeSet<DocId> = BTreeSet::new();
        let budget = options.push_budget.unwrap_or(PUSH_BUDGET).max(1);
        loop {
            if options.cancelled() {
                return Err(Error::Cancelled);
            }
            if summary.round_trips >= MAX_ROUND_TRIPS {
                return Err(Error::Protocol("too many round trips".into()));
            }
            let clock = self.now();
            let (mut request, more_pushes) = self
                .db
                .write(|tx| build_request(tx, &device.actor, &mut slow, &mut offered, budget))?;
            request.request_id = uuid::Uuid::now_v7().as_u64_pair().1;
            request.worker = device.worker_id.to_string();
            request.grid = device.grid.to_string();
            request.clock = clock.0;
            let pushed: BTreeMap<String, Vec<ChangeHash>> = request
                .pushes
                .iter()
                .map(|p| (p.id.clone(), protocol::from_hashes(&p.heads)))
                .collect();
            let sent_messages = !request.sync_messages.is_empty();
            let body = protocol::encode(&request)?;
            summary.bytes_up += body.len() as u64;
            let sent_at = self.clock.now();
            let reply = transport.post(&url, token, body)?;
            let received_at = self.clock.now();
            summary.round_trips += 1;
            summary.bytes_down += reply.len() as u64;
            let response: SyncResponse = protocol::decode(&reply)?;
            if response.request_id != request.request_id {
                // An answer to another request (a replay, a confused cache):
                // applying it could acknowledge pushes the server never got.
                return Err(Error::Protocol(
                    "response does not answer this request / 响应与请求不符".into(),
                ));
            }
            if options.cancelled() {
                return Err(Error::Cancelled);
            }
            // The server's clock at the midpoint of the round trip.
            let offset = super::offset::clock_offset(response.server_time, sent_at, received_at)
                .filter(|_| self.clock.is_wall_clock());
            summary.docs_up += pushed.len() as u32;
            let now = self.now();
            let grid = device.grid.clone();
            let outcome = self.db.write(|tx| {
                let applied = apply_response(tx, &response, &pushed, &mut slow, &grid, now)?;
                if let Some(offset) = offset {
                    meta_set(tx.conn(), "clock_offset", &offset.to_string())?;
                }
                Ok(applied)
            })?;
            if let Some(offset) = offset {
                self.clock_offset
                    .store(offset, std::sync::atomic::Ordering::Relaxed);
            }
            if outcome.server_changed {
                // A different server (new or restored): start over from scratch.
                offered.clear();
                continue;
            }
            summary.docs_down += outcome.docs_down;
            summary.slow_path_docs += outcome.slow_started;
            summary.rejected.extend(response.rejected.iter().cloned());
            if let Some(progress) = &options.progress {
                progress(&SyncProgress {
                    round_trips: summary.round_trips,
                    docs_down: summary.docs_down,
                    more: response.more,
                });
            }
            let slow_pending = !slow.is_empty()
                && (sent_messages
                    || !response.sync_messages.is_empty()
                    || outcome.slow_started > 0);
            if !response.more && !slow_pending && !more_pushes {
                break;
            }
        }
        // Docs still unreconciled through the slow path will push whole next time.
        if !slow.is_empty() {
            let ids: Vec<DocId> = slow.keys().cloned().collect();
            self.db.write(|tx| {
                for id in &ids {
                    reset_shared(tx, id)?;
                }
                Ok(())
            })?;
        }
        summary.quarantined = self.quarantined_docs()?;
        summary.read_only = self.read_only_docs()?;
        summary.new_conflicts = self
            .conflicts()?
            .iter()
            .map(conflict_key)
            .filter(|k| !conflicts_before.contains(k))
            .count() as u32;
        tracing::info!(
            round_trips = summary.round_trips,
            docs_up = summary.docs_up,
            docs_down = summary.docs_down,
            "sync done"
        );
        Ok(summary)
    }
}

fn conflict_key(c: &crate::Conflict) -> String {
    format!(
        "{}/{}/{}/{}",
        c.record,
        c.record_id,
        c.field,
        c.values.len()
    )
}

/// Build the next request. Dirty docs already offered during this sync call
/// (`offered`) are skipped — a refused doc is not offered again and again —
/// and pushes stop at [`PUSH_BUDGET`]; the returned flag says dirty docs are
/// left for another round trip.
fn build_request(
    tx: &mut WriteTx<'_>,
    device: &str,
    slow: &mut BTreeMap<DocId, Slow>,
    offered: &mut BTreeSet<DocId>,
    budget: usize,
) -> Result<(SyncRequest, bool)> {
    let conn = tx.conn();
    let mut request = SyncRequest {
        device: device.to_string(),
        server_id: meta_get(conn, "server_id")?.unwrap_or_default(),
        cursor: meta_u64(conn, "cursor")?,
        acked_round: meta_u64(conn, "acked_round")?,
        ..Default::default()
    };
    let dirty: Vec<(String, Vec<u8>)> = {
        let mut stmt = conn.prepare(
            "SELECT d.id, s.shared_heads FROM sync_docs s JOIN docs d ON d.key = s.doc_key WHERE s.dirty = 1 ORDER BY d.key",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut budget = budget;
    let mut left_over = false;
    if request.server_id.is_empty() && !dirty.is_empty() {
        // First contact: the server checks the phone's worker and grid
        // against the token before anything is uploaded; pushes follow in
        // the next round trip of this sync.
        return Ok((request, true));
    }
    for (id, shared) in dirty {
        let id = DocId(id);
        if slow.contains_key(&id) || offered.contains(&id) {
            continue;
        }
        if budget == 0 || request.pushes.len() >= protocol::MAX_DOCS_PER_REQUEST {
            left_over = true;
            break;
        }
        let shared = decode_heads(&shared);
        let push = tx.with_doc(&id, |doc| {
            // Whole doc when nothing is shared (or what is shared is unknown
            // here), uncompressed: the body's deflate compresses across docs.
            let changes = if shared.is_empty()
                || shared
                    .iter()
                    .any(|h| doc.get_change_meta_by_hash(h).is_none())
            {
                doc.save_nocompress()
            } else {
                doc.save_after(&shared)
            };
            Ok(DocPush {
                id: id.to_string(),
                heads: protocol::to_hashes(&doc.get_heads()),
                changes,
            })
        })?;
        if let Some(push) = push {
            budget = budget.saturating_sub(push.changes.len());
            offered.insert(id);
            request.pushes.push(push);
        }
    }
    for (id, entry) in slow.iter_mut() {
        if request.pushes.len() + request.sync_messages.len() >= protocol::MAX_DOCS_PER_REQUEST {
            // The rest get their messages in the next round trip.
            left_over = true;
            break;
        }
        let message = tx
            .with_doc(id, |doc| {
                Ok(doc
                    .generate_sync_message(&mut entry.state)
                    .map(|m| m.encode()))
            })?
            .flatten()
            .or_else(|| {
                // A doc we do not have yet: ask for it with an empty-state message.
                Automerge::new()
                    .generate_sync_message(&mut entry.state)
                    .map(|m| m.encode())
            });
        if let Some(message) = message {
            request.sync_messages.push(DocMessage {
                id: id.to_string(),
                message,
            });
        }
    }
    Ok((request, left_over))
}

struct Applied {
    docs_down: u32,
    slow_started: u32,
    server_changed: bool,
}

/// The scope a doc received from the server is filed under on the phone,
/// as the server files it: the grid it declares, else (a visit log) its
/// household's grid when the household is here, else the phone's grid.
/// Called before the doc is changed (the household's scope is read from
/// `tx`); a visit log filed under the phone's grid for want of its household
/// is refiled when the household arrives ([`refile_visit_logs`]).
fn scope_on_phone(
    tx: &WriteTx<'_>,
    id: &DocId,
    grid: &GridCode,
) -> Result<impl Fn(&Automerge) -> Result<GridCode>> {
    let fallback = match visit_log_household(id) {
        Some(household) => tx.doc_scope(&household)?.unwrap_or_else(|| grid.clone()),
        None => grid.clone(),
    };
    Ok(move |doc: &Automerge| Ok(docs::declared_grid(doc).unwrap_or_else(|| fallback.clone())))
}

/// The household doc of a visit log's id (`visit_log/<household>/<year>`).
fn visit_log_household(id: &DocId) -> Option<DocId> {
    match id.kind()? {
        docs::DocKind::VisitLog => Some(DocId(format!(
            "household/{}",
            id.as_str().split('/').nth(1)?
        ))),
        _ => None,
    }
}

/// File the visit logs of household doc `id` under the household's scope
/// (those received before it were filed under the phone's grid).
fn refile_visit_logs(tx: &WriteTx<'_>, id: &DocId) -> Result<()> {
    let Some(household) = id.as_str().strip_prefix("household/") else {
        return Ok(());
    };
    let Some(scope) = tx.doc_scope(id)? else {
        return Ok(());
    };
    tx.conn().execute(
        "UPDATE docs SET scope = ?2 WHERE kind = 'visit_log' AND id LIKE ?1 AND scope <> ?2",
        params![format!("visit_log/{household}/%"), scope.as_str()],
    )?;
    Ok(())
}

fn set_shared(tx: &WriteTx<'_>, id: &DocId, heads: &[ChangeHash], clear_dirty: bool) -> Result<()> {
    tx.conn().execute(
        "UPDATE sync_docs SET shared_heads = ?2, dirty = CASE WHEN ?3 THEN 0 ELSE dirty END
         WHERE doc_key = (SELECT key FROM docs WHERE id = ?1)",
        params![id.as_str(), encode_heads(heads), clear_dirty],
    )?;
    Ok(())
}

fn reset_shared(tx: &WriteTx<'_>, id: &DocId) -> Result<()> {
    tx.conn().execute(
        "UPDATE sync_docs SET shared_heads = x'', dirty = 1 WHERE doc_key = (SELECT key FROM docs WHERE id = ?1)",
        [id.as_str()],
    )?;
    Ok(())
}

fn same_heads(a: &[ChangeHash], b: &[ChangeHash]) -> bool {
    a.len() == b.len() && a.iter().all(|h| b.contains(h))
}

/// Start the slow path for a doc; false if it is already under way.
fn start_slow(slow: &mut BTreeMap<DocId, Slow>, id: DocId) -> bool {
    match slow.entry(id) {
        std::collections::btree_map::Entry::Occupied(_) => false,
        std::collections::btree_map::Entry::Vacant(v) => {
            v.insert(Slow {
                state: automerge::sync::State::new(),
                peer_done: false,
            });
            true
        }
    }
}

fn apply_response(
    tx: &mut WriteTx<'_>,
    response: &SyncResponse,
    pushed: &BTreeMap<String, Vec<ChangeHash>>,
    slow: &mut BTreeMap<DocId, Slow>,
    grid: &GridCode,
    now: crate::model::Timestamp,
) -> Result<Applied> {
    let mut applied = Applied {
        docs_down: 0,
        slow_started: 0,
        server_changed: false,
    };
    let known_server = meta_get(tx.conn(), "server_id")?.unwrap_or_default();
    if !known_server.is_empty() && known_server != response.server_id {
        // Everything must be offered again to the new server.
        tx.conn()
            .execute("UPDATE sync_docs SET shared_heads = x'', dirty = 1", [])?;
        tx.conn().execute(
            "DELETE FROM sync_meta WHERE key IN ('cursor', 'acked_round')",
            [],
        )?;
        meta_set(tx.conn(), "server_id", &response.server_id)?;
        slow.clear();
        applied.server_changed = true;
        return Ok(applied);
    }
    for pull in &response.docs {
        let id = DocId(pull.id.clone());
        let Some(kind) = id.kind() else { continue };
        // A bare acknowledgement (no heads, no data) means the server has
        // exactly the heads the phone pushed.
        let server_heads = match pushed.get(&pull.id) {
            Some(heads) if pull.heads.is_empty() && pull.data.is_empty() => heads.clone(),
            _ => protocol::from_hashes(&pull.heads),
        };
        let scope = scope_on_phone(tx, &id, grid)?;
        let (complete, outcome) = tx.change_doc(
            &id,
            kind,
            now,
            |doc| {
                if !pull.data.is_empty() {
                    doc.load_incremental(&pull.data)
                        .map_err(|e| Error::CorruptDocument {
                            doc_id: id.to_string(),
                            reason: e.to_string(),
                        })?;
                }
                Ok(server_heads
                    .iter()
                    .all(|h| doc.get_change_meta_by_hash(h).is_some()))
            },
            scope,
        )?;
        if outcome.created {
            refile_visit_logs(tx, &id)?;
        }
        if !pull.data.is_empty() && outcome.changed {
            applied.docs_down += 1;
        }
        if complete {
            let clear =
                pushed.contains_key(&pull.id) && same_heads(&outcome.new_heads, &server_heads);
            set_shared(tx, &id, &server_heads, clear)?;
        } else if start_slow(slow, id) {
            // We lack dependencies of what the server sent: reconcile by sync messages.
            applied.slow_started += 1;
        }
    }
    for id in &response.need_slow_path {
        if start_slow(slow, DocId(id.clone())) {
            applied.slow_started += 1;
        }
    }
    for message in &response.sync_messages {
        let id = DocId(message.id.clone());
        let Some(kind) = id.kind() else { continue };
        let Some(entry) = slow.get_mut(&id) else {
            continue;
        };
        if message.message.is_empty() {
            entry.peer_done = true;
            continue;
        }
        let decoded = automerge::sync::Message::decode(&message.message)
            .map_err(|e| Error::Protocol(format!("sync message: {e}")))?;
        let state = &mut entry.state;
        let scope = scope_on_phone(tx, &id, grid)?;
        let (_, outcome) = tx.change_doc(
            &id,
            kind,
            now,
            |doc| Ok(doc.receive_sync_message(state, decoded)?),
            scope,
        )?;
        if outcome.created {
            refile_visit_logs(tx, &id)?;
        }
    }
    // Slow-path docs are done once the server has nothing more and its heads
    // equal ours: then they are shared and clean.
    let mut finished = Vec::new();
    for (id, entry) in slow.iter_mut() {
        let their = entry.state.their_heads.clone();
        let ours = tx
            .with_doc(id, |doc| Ok(doc.get_heads()))?
            .unwrap_or_default();
        if let Some(their) = their {
            if same_heads(&their, &ours) && !ours.is_empty() {
                set_shared(tx, id, &ours, true)?;
                finished.push(id.clone());
                continue;
            }
        }
        if entry.peer_done
            && response
                .sync_messages
                .iter()
                .all(|m| m.id != id.as_str() || m.message.is_empty())
        {
            // The server has nothing more; keep the doc dirty so a whole push follows.
            reset_shared(tx, id)?;
            finished.push(id.clone());
        }
    }
    for id in finished {
        slow.remove(&id);
    }
    meta_set(tx.conn(), "server_id", &response.server_id)?;
    meta_set(tx.conn(), "cursor", &response.cursor.to_string())?;
    meta_set(tx.conn(), "acked_round", &response.round.to_string())?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::protocol::{decode, encode, SyncResponse};
    use std::sync::Mutex;

    /// A server stand-in answering every request with an empty response.
    struct Echo {
        requests: Mutex<Vec<SyncRequest>>,
        fail: bool,
    }

    impl Transport for Echo {
        fn post(&self, _url: &str, _token: &str, body: Vec<u8>) -> Result<Vec<u8>> {
            let request: SyncRequest = decode(&body)?;
            self.requests.lock().unwrap().push(request.clone());
            if self.fail {
                return Err(Error::Network("offline".into()));
            }
            let response = SyncResponse {
                server_id: "srv".into(),
                round: request.acked_round + 1,
                cursor: request.cursor,
                request_id: request.request_id,
                docs: request
                    .pushes
                    .iter()
                    .map(|p| protocol::DocPull {
                        id: p.id.clone(),
                        heads: p.heads.clone(),
                        data: vec![],
                    })
                    .collect(),
                ..Default::default()
            };
            encode(&response)
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Store::open(dir.path().join("p.db"), None).unwrap();
        store.init("gw-1", "张三", "G1").unwrap();
        store
            .add_household(crate::model::NewHousehold {
                address: "1号楼".into(),
                ..Default::default()
            })
            .unwrap();
        (dir, store)
    }

    #[test]
    fn acknowledged_pushes_clear_dirty_flags_and_report_progress() {
        let (_dir, store) = store();
        let echo = Echo {
            requests: Mutex::new(vec![]),
            fail: false,
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let options = SyncOptions {
            progress: Some(Arc::new(move |p: &SyncProgress| {
                sink.lock().unwrap().push(p.clone())
            })),
            ..Default::default()
        };
        let summary = store.sync_with(&echo, "http://x", "t", &options).unwrap();
        // First contact carries no pushes (the server checks the account first).
        assert_eq!(summary.round_trips, 2);
        assert_eq!(summary.docs_up, 1);
        assert!(store.dirty_docs().unwrap().is_empty());
        assert_eq!(seen.lock().unwrap().len(), 2);
        // The next sync pushes nothing and echoes the applied round.
        store.sync_with(&echo, "http://x", "t", &options).unwrap();
        let requests = echo.requests.lock().unwrap();
        assert!(requests[0].pushes.is_empty());
        assert_eq!(requests[0].worker, "gw-1");
        assert_eq!(requests[0].grid, "G1");
        assert!(requests[2].pushes.is_empty());
        assert_eq!(requests[2].acked_round, 2);
        assert_eq!(requests[2].server_id, "srv");
    }

    #[test]
    fn failures_and_cancellation_move_nothing() {
        let (_dir, store) = store();
        let offline = Echo {
            requests: Mutex::new(vec![]),
            fail: true,
        };
        let err = store.sync_with(&offline, "http://x", "t", &SyncOptions::default());
        assert!(matches!(err, Err(Error::Network(_))));
        assert_eq!(store.dirty_docs().unwrap().len(), 1);
        let cancel = Arc::new(AtomicBool::new(true));
        let options = SyncOptions {
            cancel: Some(cancel),
            ..Default::default()
        };
        let echo = Echo {
            requests: Mutex::new(vec![]),
            fail: false,
        };
        assert!(matches!(
            store.sync_with(&echo, "http://x", "t", &options),
            Err(Error::Cancelled)
        ));
        assert!(
            echo.requests.lock().unwrap().is_empty(),
            "cancelled before the first request"
        );
        assert_eq!(store.dirty_docs().unwrap().len(), 1);
    }

    #[test]
    fn pushes_are_paged_by_budget_and_each_doc_is_offered_once() {
        let (_dir, store) = store();
        for n in 2..=3 {
            store
                .add_household(crate::model::NewHousehold {
                    address: format!("{n}号楼"),
                    ..Default::default()
                })
                .unwrap();
        }
        let echo = Echo {
            requests: Mutex::new(vec![]),
            fail: false,
        };
        let options = SyncOptions {
            push_budget: Some(1),
            ..Default::default()
        };
        let summary = store.sync_with(&echo, "http://x", "t", &options).unwrap();
        assert_eq!(summary.round_trips, 4, "first contact, then one push each");
        assert_eq!(summary.docs_up, 3);
        let requests = echo.requests.lock().unwrap();
        assert!(requests[1..].iter().all(|r| r.pushes.len() == 1));
        assert!(store.dirty_docs().unwrap().is_empty());
    }
}
