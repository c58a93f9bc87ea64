//! Admission of a pushed doc, after the merge and before it is kept (issue
//! 11 §3, §4). The doc id's scope was checked before; here the *content*
//! and the *authors* are:
//!
//! - every household the content names is stored here in the doc's grid, and
//!   the content matches the id (a visit log's household and year, a
//!   record's own id, a work log's worker);
//! - what this push adds names the pusher as its author (new transitions'
//!   `by`, new visits' `worker`, a new record's reporter), what it changes of
//!   existing items keeps their author, and transitions are never rewritten
//!   or removed (the workflow history is the audit trail);
//! - every change new to the server was made by an Automerge actor bound to
//!   this worker's device: an unbound actor is bound at its first push (it
//!   must be the device's own actor, or its changes must name this worker as
//!   their author), an actor bound to another worker or device — or to the
//!   server's staff — is refused, and so is a change whose author metadata
//!   names another worker. `by` on transitions and conflicts is then what
//!   the server attests.
//!
//! [`content_facts`] is pure (it reads the merged doc and, through
//! Automerge's history, the doc as it was before the push); [`admit`] checks
//! the facts and the changes against the server's state.

use super::storage::{SyncTx, TimeCheck};
use crate::accounts::Account;
use crate::error::Error;
use automerge::{Automerge, ChangeHash, ObjId, ReadDoc, ROOT};
use gridwork_core::docs::{self, DocId, DocKind};
use gridwork_core::model::attachment::{is_blob_id, MAX_PHOTOS};
use gridwork_core::model::{GridCode, HouseholdId, Timestamp};
use gridwork_core::sync::protocol::RejectReason;
use std::collections::BTreeSet;

/// What the content of a pushed doc claims, as far as admission cares.
#[derive(Debug, Default)]
pub struct Facts {
    /// Households the content names: each must be stored here in the doc's grid.
    pub households: Vec<HouseholdId>,
    /// Authors named by what this push adds: each must be the pusher.
    pub authors: Vec<String>,
    /// Items this push adds, with the time each claims (`""` = the record
    /// itself): the server checks these times.
    pub timed: Vec<(String, i64)>,
    /// Why the content contradicts its id or rewrites history.
    pub inconsistent: Option<&'static str>,
    /// The doc's format after the push (see `docs::format_of`).
    pub format: u32,
    /// A transition this push adds claims a time before a transition it
    /// provably saw (one in its causal past): a backdated move.
    pub backdated: bool,
}

impl Facts {
    fn refuse(&mut self, why: &'static str) {
        self.inconsistent.get_or_insert(why);
    }
}

/// A change new to the server, as pushed.
#[derive(Clone, Debug)]
pub struct NewChange {
    /// Its hash.
    pub hash: ChangeHash,
    /// Its actor.
    pub actor: Vec<u8>,
    /// Its author metadata, if any (a worker id as bytes on our phones).
    pub author: Option<Vec<u8>>,
    /// The time it carries (the device's clock).
    pub timestamp: i64,
    /// Its sequence number among its actor's changes to this doc.
    pub seq: u64,
}

/// The changes `doc` gained since `before`.
pub fn new_changes(doc: &Automerge, before: &[ChangeHash]) -> Vec<NewChange> {
    doc.get_changes(before)
        .into_iter()
        .map(|c| NewChange {
            hash: c.hash(),
            actor: c.actor_id().to_bytes().to_vec(),
            author: c.author().map(|a| a.as_bytes().to_vec()),
            timestamp: c.timestamp(),
            seq: c.seq(),
        })
        .collect()
}

/// A scalar at `obj[key]` as text (strings unquoted), now or at `heads`.
fn text(doc: &Automerge, obj: &ObjId, key: &str, heads: Option<&[ChangeHash]>) -> Option<String> {
    let found = match heads {
        Some(h) => doc.get_at(obj, key, h).ok()?,
        None => doc.get(obj, key).ok()?,
    };
    match found? {
        (automerge::Value::Scalar(s), _) => Some(match s.as_ref() {
            automerge::ScalarValue::Str(t) => t.to_string(),
            other => docs::conflicts::scalar_text(other),
        }),
        _ => None,
    }
}

/// The map object at `obj[key]`, now or at `heads`.
fn map_at(doc: &Automerge, obj: &ObjId, key: &str, heads: Option<&[ChangeHash]>) -> Option<ObjId> {
    let found = match heads {
        Some(h) => doc.get_at(obj, key, h).ok()?,
        None => doc.get(obj, key).ok()?,
    };
    match found? {
        (automerge::Value::Object(automerge::ObjType::Map), id) => Some(id),
        _ => None,
    }
}

/// The texts of the list at `obj[key]`, now or at `heads` (empty when
/// there is none; an item that is not a text reads as "").
fn texts_at(doc: &Automerge, obj: &ObjId, key: &str, heads: Option<&[ChangeHash]>) -> Vec<String> {
    let found = match heads {
        Some(h) => doc.get_at(obj, key, h),
        None => doc.get(obj, key),
    };
    let Ok(Some((automerge::Value::Object(automerge::ObjType::List), list))) = found else {
        return Vec::new();
    };
    let length = match heads {
        Some(h) => doc.length_at(&list, h),
        None => doc.length(&list),
    };
    (0..length)
        .filter_map(|i| {
            let item = match heads {
                Some(h) => doc.get_at(&list, i, h),
                None => doc.get(&list, i),
            };
            Some(match item.ok()?? {
                (automerge::Value::Scalar(s), _) => match s.as_ref() {
                    automerge::ScalarValue::Str(t) => t.to_string(),
                    _ => String::new(),
                },
                _ => String::new(),
            })
        })
        .collect()
}

/// The `<key>` part of `<kind>/<key>[/…]`.
fn id_part(id: &DocId, index: usize) -> &str {
    id.as_str().split('/').nth(index).unwrap_or_default()
}

/// What a pushed doc's content claims. `before` is the doc's heads before
/// the push (empty for a new doc). A doc this build cannot materialise is
/// quarantined and produces no rows: only its scope is checked.
///
/// `was_readable` is false when the doc as stored before the push could not
/// be materialised (quarantined): then nothing in it counts as admitted, and
/// everything it holds is judged as added by this push.
pub fn content_facts(
    id: &DocId,
    kind: DocKind,
    doc: &Automerge,
    before: &[ChangeHash],
    was_readable: bool,
) -> Facts {
    let mut facts = Facts {
        format: docs::format_of(doc),
        ..Facts::default()
    };
    let old = (!before.is_empty() && was_readable).then_some(before);
    if !before.is_empty() && format_at(doc, before) != facts.format {
        // A doc keeps the format it was created in: raising it would make
        // the record read-only for everyone on older apps, lowering it would
        // let older apps rewrite what they do not understand.
        facts.refuse("format changed");
    }
    match kind {
        DocKind::Household => {
            if let Ok((h, _)) = docs::household::materialize(doc) {
                if h.id.to_string() != id_part(id, 1) {
                    facts.refuse("household id");
                }
            }
        }
        DocKind::VisitLog => visit_log_facts(id, doc, old, &mut facts),
        DocKind::Hazard => {
            if let Ok(h) = docs::incident::materialize_hazard(doc) {
                record_facts(&mut facts, id, &h.id.to_string(), h.household, doc, old);
                creator_facts(
                    &mut facts,
                    doc,
                    old,
                    ("reported_by", h.reported_by.as_str()),
                    ("reported_at", h.reported_at),
                );
            }
        }
        DocKind::Case => {
            if let Ok(c) = docs::incident::materialize_case(doc) {
                record_facts(&mut facts, id, &c.id.to_string(), c.household, doc, old);
                creator_facts(
                    &mut facts,
                    doc,
                    old,
                    ("opened_by", c.opened_by.as_str()),
                    ("opened_at", c.opened_at),
                );
            }
        }
        DocKind::FormRecord => {
            if let Ok(r) = docs::records::materialize_form(doc) {
                if r.id.to_string() != id_part(id, 1) {
                    facts.refuse("form record id");
                }
                facts.households.extend(r.household);
                creator_facts(
                    &mut facts,
                    doc,
                    old,
                    ("worker", r.worker.as_str()),
                    ("filled_at", r.filled_at),
                );
            }
        }
        DocKind::WorkLog => {
            if let Some(worker) = text(doc, &ROOT, "worker", None) {
                if worker != id_part(id, 1) {
                    facts.refuse("work log worker");
                }
            }
        }
        DocKind::Template | DocKind::Policy | DocKind::Unknown => {}
    }
    facts
}

/// A hazard or case: its id, its household, and its transitions — those this
/// push adds name their author; existing ones are never rewritten or removed.
fn record_facts(
    facts: &mut Facts,
    id: &DocId,
    own_id: &str,
    household: Option<HouseholdId>,
    doc: &Automerge,
    old: Option<&[ChangeHash]>,
) {
    if own_id != id_part(id, 1) {
        facts.refuse("record id");
    }
    // The record's own photos (a hazard's "before" photos, the photo a
    // resident sent with a case) are evidence: at most MAX_PHOTOS blob ids,
    // which may be added to, never removed or replaced.
    let photos = texts_at(doc, &ROOT, "photos", None);
    if photos.len() > MAX_PHOTOS || !photos.iter().all(|p| is_blob_id(p)) {
        facts.refuse("photos shape");
    } else if let Some(h) = old {
        if texts_at(doc, &ROOT, "photos", Some(h))
            .iter()
            .any(|photo| !photos.contains(photo))
        {
            facts.refuse("photos removed");
        }
    }
    facts.households.extend(household);
    let Some(now) = map_at(doc, &ROOT, "transitions", None) else {
        return;
    };
    let existing: BTreeSet<String> = match old {
        Some(h) => match map_at(doc, &ROOT, "transitions", Some(h)) {
            Some(obj) if obj == now => doc.keys_at(&obj, h).collect(),
            Some(_) => {
                facts.refuse("transitions replaced");
                return;
            }
            None => BTreeSet::new(),
        },
        None => BTreeSet::new(),
    };
    let current: BTreeSet<String> = doc.keys(&now).collect();
    if !existing.is_subset(&current) {
        facts.refuse("transition removed");
    }
    let mut new: Vec<(ObjId, i64)> = Vec::new();
    for key in &current {
        let Some(t) = map_at(doc, &now, key, None) else {
            facts.refuse("transition shape");
            continue;
        };
        if existing.contains(key) {
            let h = old.unwrap_or_default();
            let same = map_at(doc, &now, key, Some(h)).as_ref() == Some(&t)
                && ["at", "by", "from", "to", "note"]
                    .iter()
                    .all(|f| text(doc, &t, f, Some(h)) == text(doc, &t, f, None));
            if !same {
                facts.refuse("transition rewritten");
            }
        } else {
            facts
                .authors
                .push(text(doc, &t, "by", None).unwrap_or_default());
            let at = text(doc, &t, "at", None)
                .and_then(|a| a.parse().ok())
                .unwrap_or(0);
            facts.timed.push((key.clone(), at));
            new.push((t, at));
        }
    }
    // A move is ordered by the time it claims (ADR 15); it may not claim a
    // time before a move it provably saw.
    let made_by = |t: &ObjId| doc.hash_for_opid(t);
    for (t, at) in &new {
        let Some(hash) = made_by(t) else { continue };
        let past = causal_past(doc, hash);
        for key in &current {
            let Some(other) = map_at(doc, &now, key, None) else {
                continue;
            };
            let seen = made_by(&other).is_some_and(|h| past.contains(&h));
            let other_at: i64 = text(doc, &other, "at", None)
                .and_then(|a| a.parse().ok())
                .unwrap_or(i64::MIN);
            if seen && other_at > *at {
                facts.backdated = true;
            }
        }
    }
}

/// A record created by this push names its creator and carries the time
/// the server checks; an existing one keeps both (the checked time is the
/// one the figures count).
fn creator_facts(
    facts: &mut Facts,
    doc: &Automerge,
    old: Option<&[ChangeHash]>,
    (creator_key, creator): (&str, &str),
    (time_key, at): (&str, Timestamp),
) {
    match old {
        None => {
            facts.authors.push(creator.to_string());
            facts.timed.push((String::new(), at.0));
        }
        Some(h) => {
            if text(doc, &ROOT, creator_key, Some(h)).as_deref() != Some(creator) {
                facts.refuse("creator changed");
            }
            if text(doc, &ROOT, time_key, Some(h)) != text(doc, &ROOT, time_key, None) {
                facts.refuse("record time changed");
            }
        }
    }
}

/// The format of the doc as it was at `heads`.
fn format_at(doc: &Automerge, heads: &[ChangeHash]) -> u32 {
    match text(doc, &ROOT, docs::FORMAT_KEY, Some(heads)) {
        None => 1,
        Some(v) => v.parse().unwrap_or(u32::MAX),
    }
}

/// The changes `hash` depends on, directly or not.
fn causal_past(doc: &Automerge, hash: ChangeHash) -> BTreeSet<ChangeHash> {
    let mut past = BTreeSet::new();
    let mut stack = doc
        .get_change_meta_by_hash(&hash)
        .map(|m| m.deps)
        .unwrap_or_default();
    while let Some(h) = stack.pop() {
        if past.insert(h) {
            if let Some(meta) = doc.get_change_meta_by_hash(&h) {
                stack.extend(meta.deps);
            }
        }
    }
    past
}

/// A visit log: its household and year are its id's; visits this push adds
/// name their worker; existing visits keep theirs.
fn visit_log_facts(id: &DocId, doc: &Automerge, old: Option<&[ChangeHash]>, facts: &mut Facts) {
    let household = text(doc, &ROOT, "household", None).unwrap_or_default();
    let year = text(doc, &ROOT, "year", None).unwrap_or_default();
    if household != id_part(id, 1) || year != id_part(id, 2) {
        facts.refuse("visit log household or year");
    }
    let touched: BTreeSet<String> = match old {
        None => doc.keys(ROOT).collect(),
        Some(h) => docs::visit_log::touched_visits(doc, h, &doc.get_heads())
            .unwrap_or_else(|| doc.keys(ROOT).collect()),
    };
    if let Some(h) = old {
        // Visits are never removed: the log is the record of the work done.
        let removed = touched.iter().any(|k| {
            map_at(doc, &ROOT, k, Some(h)).is_some() && map_at(doc, &ROOT, k, None).is_none()
        });
        if removed {
            facts.refuse("visit removed");
        }
    }
    for key in touched {
        if docs::visit_log::META_KEYS.contains(&key.as_str())
            || key.parse::<gridwork_core::model::VisitId>().is_err()
        {
            continue;
        }
        let Some(visit) = map_at(doc, &ROOT, &key, None) else {
            continue;
        };
        let worker = text(doc, &visit, "worker", None).unwrap_or_default();
        match old.and_then(|h| map_at(doc, &ROOT, &key, Some(h)).map(|o| (h, o))) {
            Some((h, before)) => {
                // Who made the visit and when stay as the server checked them;
                // notes and answers may be completed by anyone of the grid.
                let changed = ["worker", "started_at", "ended_at"]
                    .iter()
                    .any(|f| text(doc, &before, f, Some(h)) != text(doc, &visit, f, None));
                if changed {
                    facts.refuse("visit worker or time changed");
                }
            }
            None => {
                let at = text(doc, &visit, "started_at", None)
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(0);
                facts.authors.push(worker);
                facts.timed.push((key, at));
            }
        }
    }
}

/// How far a device's clock may be from the server's before what it
/// records is unverified (also the allowance for a claimed time after the
/// server received it).
pub const CLOCK_TOLERANCE_MS: i64 = 5 * 60_000;

/// A record that arrives this long after the time it claims is `late`:
/// offline for more than a week, or backdated. It keeps its time in the
/// figures but counts as unverified.
pub const LATE_AFTER_MS: i64 = 7 * 24 * 3_600_000;

/// The server's check of each new item's claimed time (see core
/// `sql/005_conflicts_time_checks.sql` for the statuses).
pub fn time_checks(timed: &[(String, i64)], now: Timestamp, clock_off: bool) -> Vec<TimeCheck> {
    timed
        .iter()
        .map(|(item, claimed)| TimeCheck {
            item: item.clone(),
            claimed_at: *claimed,
            received_at: now.0,
            status: if *claimed > now.0 + CLOCK_TOLERANCE_MS {
                "future"
            } else if clock_off {
                "clock_off"
            } else if *claimed < now.0 - LATE_AFTER_MS {
                "late"
            } else {
                "ok"
            },
        })
        .collect()
}

/// Who pushes: the account, its device key (`worker/device`) and the
/// device's own actor (hex), which is bound to it at its first push.
pub struct Pusher<'a> {
    /// The token's account.
    pub account: &'a Account,
    /// The device key.
    pub device: &'a str,
    /// The device's own Automerge actor, hex (the request's `device`).
    pub actor_hex: &'a str,
    /// The client stamps its moves after those it saw (protocol v2), so a
    /// backdated move is refused; first-release phones did not.
    pub strict_order: bool,
}

/// Check `facts` and `changes` of a doc in `scope` against the server's
/// state. Returns the actors to bind to the pusher's device when the doc is
/// kept.
pub fn admit(
    tx: &mut dyn SyncTx,
    pusher: &Pusher<'_>,
    scope: &GridCode,
    facts: &Facts,
    changes: &[NewChange],
) -> Result<Vec<Vec<u8>>, Error> {
    let inconsistent = Error::Rejected(RejectReason::Inconsistent);
    if facts.inconsistent.is_some() || (facts.backdated && pusher.strict_order) {
        return Err(inconsistent);
    }
    let worker = pusher.account.worker_id.as_str();
    if facts.authors.iter().any(|a| a != worker) {
        return Err(inconsistent);
    }
    for h in &facts.households {
        if tx.doc_scope(&DocId::household(*h))?.as_ref() != Some(scope) {
            return Err(inconsistent);
        }
    }
    let foreign = || Error::Rejected(RejectReason::ForeignActor);
    let server_actor = tx.server_actor()?;
    let mut to_bind: Vec<Vec<u8>> = Vec::new();
    for change in changes {
        if change
            .author
            .as_deref()
            .is_some_and(|a| a != worker.as_bytes())
        {
            return Err(foreign());
        }
        if to_bind.contains(&change.actor) {
            continue;
        }
        match tx.actor_owner(&change.actor)? {
            Some((w, d)) if w == worker && d == pusher.device => {}
            // Bound when the server was upgraded, to the worker its stored
            // changes named as author: any of that worker's devices.
            Some((w, d)) if w == worker && d.is_empty() && !w.is_empty() => {}
            Some(_) => return Err(foreign()),
            None => {
                // An actor first seen now is bound to this device when it is
                // the device's own or its changes carry this worker as their
                // author (phones of the first release made a new actor per
                // edit session): what it wrote is attributed to the pusher,
                // and no one else can use it afterwards.
                // Its first change in this doc must be its first anywhere in
                // it: an actor with earlier, unattested changes here is
                // someone else's (a copied device identity).
                let own = hex::encode(&change.actor) == pusher.actor_hex;
                let authored = change.author.as_deref() == Some(worker.as_bytes());
                let first_seen_here = changes
                    .iter()
                    .filter(|c| c.actor == change.actor)
                    .map(|c| c.seq)
                    .min()
                    == Some(1);
                if !(own || authored)
                    || !first_seen_here
                    || server_actor.as_deref() == Some(change.actor.as_slice())
                {
                    return Err(foreign());
                }
                to_bind.push(change.actor.clone());
            }
        }
    }
    Ok(to_bind)
}
