//! The sync engine: one request in, one response out, all inside one
//! storage transaction. Pure logic over [`SyncTx`]; the HTTP layer only
//! decodes, authenticates and encodes.
//!
//! Per device the server remembers which heads the device has of each doc
//! (confirmed when the device declares them in a push, or when it echoes a
//! response round it applied) and which it will have once it applies the
//! response being built (pending under that round). A response that never
//! arrives is simply never confirmed, so the next request is answered from
//! what the device provably has: replays and lost responses are harmless.
//!
//! Steps: the account check, then each push (households first) merged and
//! admitted in its own savepoint ([`super::admission`]), slow-path
//! messages, and the feed page ([`super::page`]).

use super::admission::{self, Facts, NewChange, Pusher};
use super::page::{self, same};
pub use super::page::{Limits, PAGE_BYTES, PAGE_DOCS};
use super::storage::{Receipt, SyncTx};
use crate::accounts::Account;
use crate::error::Error;
use automerge::sync::SyncDoc;
use automerge::Automerge;
use gridwork_core::docs::{self, DocId, DocKind};
use gridwork_core::model::{GridCode, Timestamp};
use gridwork_core::sync::protocol::{
    from_hashes, to_hashes, DocMessage, DocPull, DocPush, RejectReason, Rejection, SyncRequest,
    SyncResponse,
};
use std::collections::BTreeSet;

/// Why one pushed doc was not applied.
enum Refusal {
    Rejected(RejectReason),
    NeedSlowPath,
    Failed(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Failed(e)
    }
}

/// The key of a device's state: a device belongs to the worker whose token it uses.
fn device_key(account: &Account, device: &str) -> String {
    format!("{}/{}", account.worker_id, device)
}

/// May this account write a doc of this kind at all?
fn writable(account: &Account, id: &DocId, kind: DocKind) -> Result<(), RejectReason> {
    if kind.is_read_only() {
        // Templates and policies are published by staff through the admin
        // commands, never changed by a device.
        return Err(RejectReason::ReadOnly);
    }
    if kind == DocKind::WorkLog {
        // work_log/<worker>/<month>: only the worker's own log.
        let owner = id.as_str().split('/').nth(1).unwrap_or_default();
        if owner != account.worker_id.as_str() {
            return Err(RejectReason::OutOfScope);
        }
    }
    Ok(())
}

/// The scope a doc must have after a change, checked against the account.
fn check_scope(
    account: &Account,
    kind: DocKind,
    doc: &Automerge,
    existing: Option<&GridCode>,
    household_scope: Option<&GridCode>,
) -> Result<GridCode, Error> {
    let scope = match kind {
        DocKind::VisitLog => household_scope.cloned(),
        DocKind::WorkLog => Some(account.grid.clone()),
        // A kind of a newer app: filed under the grid it declares, or the
        // pusher's own grid; kept and forwarded, never materialised here.
        DocKind::Unknown => docs::declared_grid(doc).or_else(|| Some(account.grid.clone())),
        _ => docs::declared_grid(doc),
    };
    let scope = scope.ok_or(Error::Rejected(RejectReason::Malformed))?;
    if !account.scope.contains(&scope) {
        return Err(Error::Rejected(RejectReason::OutOfScope));
    }
    if existing.is_some_and(|e| *e != scope) {
        // A push may not move a doc to another grid.
        return Err(Error::Rejected(RejectReason::OutOfScope));
    }
    Ok(scope)
}

/// For a visit log, the scope of its household (which must be known here).
fn household_scope_of(
    tx: &mut dyn SyncTx,
    id: &DocId,
    kind: DocKind,
) -> Result<Option<GridCode>, Error> {
    if kind != DocKind::VisitLog {
        return Ok(None);
    }
    let household = id.as_str().split('/').nth(1).unwrap_or_default();
    tx.doc_scope(&DocId(format!("household/{household}")))
}

/// What is known about a doc before a change to it is applied.
struct Target {
    kind: DocKind,
    /// Its stored scope, if it exists here.
    existing: Option<GridCode>,
    /// For a visit log, its household's scope.
    household_scope: Option<GridCode>,
}

/// Check that the account may write doc `id` as it is stored now.
fn authorize(tx: &mut dyn SyncTx, account: &Account, id: &DocId) -> Result<Target, Refusal> {
    let kind = id
        .kind()
        .ok_or(Refusal::Rejected(RejectReason::Malformed))?;
    writable(account, id, kind).map_err(Refusal::Rejected)?;
    let existing = tx.doc_scope(id)?;
    if existing
        .as_ref()
        .is_some_and(|scope| !account.scope.contains(scope))
    {
        return Err(Refusal::Rejected(RejectReason::OutOfScope));
    }
    let household_scope = household_scope_of(tx, id, kind)?;
    Ok(Target {
        kind,
        existing,
        household_scope,
    })
}

/// The request being answered, as the per-doc steps need it.
struct Ctx<'a> {
    account: &'a Account,
    /// The device key (`worker/device`).
    device: String,
    /// The device's own Automerge actor, hex (the request's `device`).
    actor_hex: &'a str,
    /// The server's clock now.
    now: Timestamp,
    /// The device's clock was wrong when it sent the request (or, for a
    /// version-2 client, not sent).
    clock_off: bool,
    /// A version-2 client: it stamps its moves after those it saw, so a
    /// backdated move is refused (see `admission::Pusher::strict_order`).
    strict_order: bool,
}

/// Apply one pushed doc inside a savepoint: merge, check scope, content
/// and authors, keep it (receipts, actor bindings, time checks, feed) — or
/// roll it back and say why.
fn apply_push(tx: &mut dyn SyncTx, ctx: &Ctx<'_>, push: &DocPush) -> Result<DocPull, Refusal> {
    let account = ctx.account;
    if !super::validate::push_fits(push.heads.len(), push.changes.len()) {
        return Err(Refusal::Rejected(RejectReason::TooLarge));
    }
    let id = DocId(push.id.clone());
    let Target {
        kind,
        existing,
        household_scope,
    } = authorize(tx, account, &id)?;
    let pushed_heads = from_hashes(&push.heads);
    let was_readable = !tx.is_quarantined(&id)?;
    let mut outcome_slot: Option<Result<(), Refusal>> = None;
    tx.savepoint(&mut |tx| {
        let mut new: Vec<NewChange> = Vec::new();
        let mut facts = Facts::default();
        let mut scope_slot = None;
        let result = tx.change_doc(
            &id,
            kind,
            ctx.now,
            &mut |doc| {
                let before = doc.get_heads();
                doc.load_incremental(&push.changes)
                    .map_err(|_| Error::Rejected(RejectReason::Malformed))?;
                if pushed_heads
                    .iter()
                    .any(|h| doc.get_change_meta_by_hash(h).is_none())
                {
                    return Err(Error::NeedSlowPath);
                }
                new = admission::new_changes(doc, &before);
                if new.len() > gridwork_core::sync::protocol::MAX_CHANGES_PER_PUSH {
                    return Err(Error::Rejected(RejectReason::TooLarge));
                }
                if !new.is_empty() {
                    facts = admission::content_facts(&id, kind, doc, &before, was_readable);
                }
                Ok(())
            },
            &mut |doc| {
                let scope = check_scope(
                    account,
                    kind,
                    doc,
                    existing.as_ref(),
                    household_scope.as_ref(),
                )?;
                scope_slot = Some(scope.clone());
                Ok(scope)
            },
        );
        let kept = result.and_then(|outcome| {
            keep(
                tx,
                ctx,
                (&id, kind),
                outcome.changed,
                scope_slot.as_ref(),
                &facts,
                &new,
            )
        });
        match kept {
            Ok(()) => {
                outcome_slot = Some(Ok(()));
                Ok(())
            }
            Err(Error::NeedSlowPath) => {
                outcome_slot = Some(Err(Refusal::NeedSlowPath));
                Err(Error::NeedSlowPath)
            }
            Err(Error::Rejected(reason)) => {
                outcome_slot = Some(Err(Refusal::Rejected(reason)));
                Err(Error::Rejected(reason))
            }
            Err(e) => Err(e),
        }
    })
    .map_err(|e| match outcome_slot.take() {
        Some(Err(refusal)) => refusal,
        _ => Refusal::Failed(e),
    })?;
    // The device has what it pushed; send back what it lacks.
    tx.set_device_heads(&ctx.device, &id, &pushed_heads)?;
    let heads = tx.doc_heads(&id)?.unwrap_or_default();
    if same(&heads, &pushed_heads) {
        // A bare acknowledgement: the phone knows these heads already.
        return Ok(DocPull {
            id: push.id.clone(),
            heads: Vec::new(),
            data: Vec::new(),
        });
    }
    let data = tx
        .read_doc(&id, &mut |doc| doc.save_after(&pushed_heads))?
        .unwrap_or_default();
    Ok(DocPull {
        id: push.id.clone(),
        heads: to_hashes(&heads),
        data,
    })
}

/// After a pushed doc changed: admit it (content and authors, see
/// [`admission`]) — an error rolls the caller's savepoint back — then bind
/// the device's new actors, record a receipt per new change and the checked
/// time of every new item, and move the doc up the feed.
fn keep(
    tx: &mut dyn SyncTx,
    ctx: &Ctx<'_>,
    (id, kind): (&DocId, DocKind),
    changed: bool,
    scope: Option<&GridCode>,
    facts: &Facts,
    changes: &[NewChange],
) -> Result<(), Error> {
    let (true, Some(scope)) = (changed, scope) else {
        return Ok(());
    };
    if kind != DocKind::Unknown && facts.format <= docs::FORMAT_VERSION && tx.is_quarantined(id)? {
        // A doc of a kind and format this build knows must stay readable:
        // an unreadable one would have no rows, so it would hide a record
        // from every figure and skip the content checks (ADR 14). Only docs
        // of newer versions are kept unread.
        return Err(Error::Rejected(RejectReason::Malformed));
    }
    let worker = ctx.account.worker_id.as_str();
    let pusher = Pusher {
        account: ctx.account,
        device: &ctx.device,
        actor_hex: ctx.actor_hex,
        strict_order: ctx.strict_order,
    };
    for actor in admission::admit(tx, &pusher, scope, facts, changes)? {
        tx.bind_actor(&actor, worker, &ctx.device, ctx.now)?;
    }
    let receipts: Vec<Receipt> = changes
        .iter()
        .map(|c| Receipt {
            hash: c.hash,
            claimed_at: c.timestamp,
        })
        .collect();
    tx.record_receipts(id, &receipts, worker, &ctx.device, ctx.now)?;
    let checks = admission::time_checks(&facts.timed, ctx.now, ctx.clock_off);
    tx.record_time_checks(id, &checks)?;
    tx.feed_touch(id, scope)?;
    Ok(())
}

/// Slow path: one Automerge sync message for one doc, admitted like a push.
fn apply_message(
    tx: &mut dyn SyncTx,
    ctx: &Ctx<'_>,
    message: &DocMessage,
) -> Result<DocMessage, Refusal> {
    let account = ctx.account;
    if !super::validate::push_fits(0, message.message.len()) {
        return Err(Refusal::Rejected(RejectReason::TooLarge));
    }
    let id = DocId(message.id.clone());
    let Target {
        kind,
        existing,
        household_scope,
    } = authorize(tx, account, &id)?;
    let mut state = match tx.sync_state(&ctx.device, &id)? {
        Some(bytes) => automerge::sync::State::decode(&bytes).unwrap_or_default(),
        None => automerge::sync::State::new(),
    };
    let decoded = automerge::sync::Message::decode(&message.message)
        .map_err(|_| Refusal::Rejected(RejectReason::Malformed))?;
    let was_readable = !tx.is_quarantined(&id)?;
    let mut reply = Vec::new();
    let mut refusal = None;
    tx.savepoint(&mut |tx| {
        let mut new: Vec<NewChange> = Vec::new();
        let mut facts = Facts::default();
        let mut scope_slot = None;
        let decoded = decoded.clone();
        let state_ref = &mut state;
        let result = tx.change_doc(
            &id,
            kind,
            ctx.now,
            &mut |doc| {
                let before = doc.get_heads();
                doc.receive_sync_message(state_ref, decoded.clone())
                    .map_err(|_| Error::Rejected(RejectReason::Malformed))?;
                new = admission::new_changes(doc, &before);
                if new.len() > gridwork_core::sync::protocol::MAX_CHANGES_PER_PUSH {
                    return Err(Error::Rejected(RejectReason::TooLarge));
                }
                if !new.is_empty() {
                    facts = admission::content_facts(&id, kind, doc, &before, was_readable);
                }
                reply = doc
                    .generate_sync_message(state_ref)
                    .map(|m| m.encode())
                    .unwrap_or_default();
                Ok(())
            },
            &mut |doc| {
                if doc.get_heads().is_empty() {
                    // Nothing applied yet (the phone only asked): no scope to check.
                    return Ok(existing.clone().unwrap_or_else(|| account.grid.clone()));
                }
                let scope = check_scope(
                    account,
                    kind,
                    doc,
                    existing.as_ref(),
                    household_scope.as_ref(),
                )?;
                scope_slot = Some(scope.clone());
                Ok(scope)
            },
        );
        match result.and_then(|outcome| {
            keep(
                tx,
                ctx,
                (&id, kind),
                outcome.changed,
                scope_slot.as_ref(),
                &facts,
                &new,
            )
        }) {
            Ok(()) => Ok(()),
            Err(Error::Rejected(reason)) => {
                refusal = Some(Refusal::Rejected(reason));
                Err(Error::Rejected(reason))
            }
            Err(e) => Err(e),
        }
    })
    .map_err(|e| refusal.take().unwrap_or(Refusal::Failed(e)))?;
    tx.set_sync_state(&ctx.device, &id, &state.encode())?;
    Ok(DocMessage {
        id: message.id.clone(),
        message: reply,
    })
}

/// Refuse, before anything is applied or read, a phone initialised for
/// another worker than the token's, or for a grid outside its scope: its
/// records would be filed under the wrong grid and every later push refused
/// (the setup trap). Version-1 requests carry no worker and are not checked.
fn check_account(account: &Account, request: &SyncRequest) -> Result<(), Error> {
    if request.worker.is_empty() {
        return Ok(());
    }
    let grid = GridCode(request.grid.clone());
    if request.worker == account.worker_id.as_str() && account.scope.contains(&grid) {
        return Ok(());
    }
    let (worker, grid) = (shown(&request.worker), shown(&request.grid));
    Err(Error::AccountMismatch(format!(
        "此手机初始化为网格员 {} / 网格 {}，但令牌属于 {} / {}；请核对令牌，或用 init --force 重新初始化；\
         若离线时已有记录（有未同步的更改时 init --force 会拒绝），先用 export households 保存住户登记，\
         再用 init --force --discard-unsynced 重新初始化，然后用 import register 导回 / \
         this phone was initialised for worker {} in grid {}, but the token belongs to {} in {}; check the token, \
         or re-initialise with init --force; if records were made offline (init --force refuses while they are unsynced), \
         save the household register with export households, re-initialise with init --force --discard-unsynced, \
         then re-import it with import register",
        worker, grid, account.worker_id, account.grid,
        worker, grid, account.worker_id, account.grid
    )))
}

/// An id from a request as it may be echoed in a message: office-assigned
/// codes are short ASCII; anything else is shown as `?`.
fn shown(id: &str) -> &str {
    let plain = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        id
    } else {
        "?"
    }
}

/// Answer one sync request with the default [`Limits`].
pub fn process(
    tx: &mut dyn SyncTx,
    account: &Account,
    request: &SyncRequest,
    now: Timestamp,
) -> Result<SyncResponse, Error> {
    process_with(tx, account, request, now, Limits::default())
}

/// Whether the phone's clock (as sent in `request`) is off from the
/// server's `now` by more than the tolerance; a version-2 phone that sends
/// none is off, a version-1 phone (no clock field) is not judged. Any i64
/// the phone sends is compared without overflow.
fn clock_is_off(request: &SyncRequest, now: Timestamp) -> bool {
    match (request.worker.is_empty(), request.clock) {
        (true, 0) => false,
        (false, 0) => true,
        (_, clock) => clock.abs_diff(now.0) > admission::CLOCK_TOLERANCE_MS.unsigned_abs(),
    }
}

/// Answer one sync request, paging the feed by `limits`.
pub fn process_with(
    tx: &mut dyn SyncTx,
    account: &Account,
    request: &SyncRequest,
    now: Timestamp,
    limits: Limits,
) -> Result<SyncResponse, Error> {
    check_account(account, request)?;
    let server_id = tx.server_id()?;
    let device = device_key(account, &request.device);
    let last_round = tx.last_round(&device)?;
    let mut response = SyncResponse {
        server_id: server_id.clone(),
        round: last_round + 1,
        request_id: request.request_id,
        server_time: now.0,
        ..Default::default()
    };
    if !request.server_id.is_empty() && request.server_id != server_id {
        // The phone synced with another server (or this one before a restore):
        // it will reset and offer everything again; apply nothing now.
        tx.forget_device(&device)?;
        tx.set_last_round(&device, account.worker_id.as_str(), response.round)?;
        return Ok(response);
    }
    let max_before = tx.feed_max()?;
    let mut cursor = request.cursor;
    let max_acked = tx.max_acked(&device)?;
    if request.cursor > max_before || request.acked_round > last_round {
        // The device knows more than we do: we were restored. Start it over.
        tx.forget_device(&device)?;
        cursor = 0;
    } else if request.acked_round < max_acked {
        // The device confirms an older round than it once did: it was
        // restored from an older copy of itself (or this is a replay). What
        // we believed it holds may be gone: forget it and send its scope
        // again (whole docs); a replay only costs a resend.
        tx.forget_device(&device)?;
        cursor = 0;
    } else {
        tx.confirm_rounds(&device, request.acked_round)?;
    }

    let ctx = Ctx {
        account,
        device: device.clone(),
        actor_hex: &request.device,
        now,
        clock_off: clock_is_off(request, now),
        strict_order: !request.worker.is_empty(),
    };
    // Households first: records of the same request may name them.
    let mut pushes: Vec<&DocPush> = request.pushes.iter().collect();
    // Then by id: every request locks the docs it changes in one global
    // order, so two requests on a shared database never deadlock on them.
    pushes.sort_by(|a, b| {
        (!a.id.starts_with("household/"), &a.id).cmp(&(!b.id.starts_with("household/"), &b.id))
    });
    let mut pushed = BTreeSet::new();
    for push in pushes {
        match apply_push(tx, &ctx, push) {
            Ok(pull) => {
                // A bare ack: the device already has (and declared) these heads.
                if !pull.heads.is_empty() {
                    tx.set_pending(
                        &device,
                        response.round,
                        &DocId(pull.id.clone()),
                        &from_hashes(&pull.heads),
                    )?;
                }
                pushed.insert(pull.id.clone());
                response.docs.push(pull);
            }
            Err(Refusal::Rejected(reason)) => response.rejected.push(Rejection {
                id: push.id.clone(),
                reason,
            }),
            Err(Refusal::NeedSlowPath) => response.need_slow_path.push(push.id.clone()),
            Err(Refusal::Failed(e)) => return Err(e),
        }
    }
    for message in &request.sync_messages {
        match apply_message(tx, &ctx, message) {
            Ok(reply) => response.sync_messages.push(reply),
            Err(Refusal::Rejected(reason)) => response.rejected.push(Rejection {
                id: message.id.clone(),
                reason,
            }),
            Err(Refusal::NeedSlowPath) => {}
            Err(Refusal::Failed(e)) => return Err(e),
        }
    }

    // The feed: what changed in the device's scope since its cursor.
    let page = page::feed_page(
        tx,
        account,
        &device,
        cursor,
        &pushed,
        response.round,
        limits,
    )?;
    response.docs.extend(page.docs);
    response.more = page.more;
    response.cursor = page.cursor;
    tx.set_last_round(&device, account.worker_id.as_str(), response.round)?;
    tx.set_max_acked(&device, request.acked_round)?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `sync_engine` fuzz target: a clock of i64::MIN made the
    /// difference overflow (a panic with debug assertions, a wrapped "clock
    /// is fine" without).
    #[test]
    fn any_phone_clock_is_judged_without_overflow() {
        let now = Timestamp(1_780_272_000_000);
        let request = |clock: i64| SyncRequest {
            worker: "gw-a".into(),
            clock,
            ..Default::default()
        };
        for clock in [i64::MIN, i64::MIN + 1, -1, i64::MAX] {
            assert!(clock_is_off(&request(clock), now), "{clock}");
        }
        assert!(!clock_is_off(&request(now.0 + 60_000), now));
        assert!(
            clock_is_off(&request(0), now),
            "a v2 phone must send its clock"
        );
        let v1 = SyncRequest::default();
        assert!(!clock_is_off(&v1, now));
    }
}
