//! Hostile pushes, crafted with raw Automerge as a malicious or broken
//! client would (issue 11 §3, §4): content that names another grid's
//! household or another worker, history rewritten, changes under another
//! device's actor or author. Each is refused with nothing applied; honest
//! pushes are kept with their receipts, actor bindings and checked times.

use super::engine;
use super::sqlite::SqliteTx;
use crate::accounts::{self, Account};
use automerge::transaction::Transactable;
use automerge::{ActorId, Author, AutoCommit, ReadDoc, ROOT};
use gridwork_core::docs::household::HouseholdDoc;
use gridwork_core::docs::incident::{CaseDoc, HazardDoc, TransitionDoc};
use gridwork_core::docs::visit_log::VisitDoc;
use gridwork_core::docs::DocId;
use gridwork_core::model::{CaseId, HazardId, HouseholdId, Role, Timestamp, TransitionId, VisitId};
use gridwork_core::store::Db;
use gridwork_core::sync::protocol::{self, DocPush, RejectReason, SyncRequest, SyncResponse};
use std::sync::Arc;

mod review;

/// Now, for the server (2026-06-01).
const NOW: i64 = 1_780_272_000_000;

struct World {
    _dir: tempfile::TempDir,
    db: Arc<Db>,
}

/// T1 → C1 → P1 → G1 (gw-a, gw-b), G2 (gw-c).
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(crate::db::open(&dir.path().join("server")).unwrap());
    accounts::add_grid(&db, "T1", "镇", None).unwrap();
    accounts::add_grid(&db, "C1", "社区", Some("T1")).unwrap();
    accounts::add_grid(&db, "P1", "片区", Some("C1")).unwrap();
    accounts::add_grid(&db, "G1", "一网格", Some("P1")).unwrap();
    accounts::add_grid(&db, "G2", "二网格", Some("P1")).unwrap();
    for (w, g) in [("gw-a", "G1"), ("gw-b", "G1"), ("gw-c", "G2")] {
        accounts::add_worker(&db, w, "网格员", Role::Gridworker, g).unwrap();
    }
    World { _dir: dir, db }
}

/// A device: its actor byte, its worker.
#[derive(Clone, Copy)]
struct Device(u8, &'static str);

impl Device {
    fn actor(self) -> ActorId {
        ActorId::from(vec![self.0; 16])
    }
    /// A new doc as this device writes it (its actor, its worker as author).
    fn doc(self) -> AutoCommit {
        let mut doc = AutoCommit::new();
        doc.set_author(Some(Author::from(self.1.as_bytes().to_vec())));
        doc.set_actor(self.actor());
        doc
    }
    /// Continue editing `doc` as this device.
    fn edit(self, doc: &mut AutoCommit) -> AutoCommit {
        let mut doc = doc.fork();
        doc.set_author(Some(Author::from(self.1.as_bytes().to_vec())));
        doc.set_actor(self.actor());
        doc
    }
}

const A: Device = Device(0xa1, "gw-a");
const B: Device = Device(0xb1, "gw-b");
const C: Device = Device(0xc1, "gw-c");

impl World {
    fn account(&self, worker: &str) -> Account {
        crate::db::read(&self.db, |c| accounts::account_of(c, worker))
            .unwrap()
            .unwrap()
    }

    /// Push `docs` (whole) as `device` with its worker's token; the phone's
    /// clock is `clock` (0 = not sent).
    fn push(
        &self,
        device: Device,
        docs: &mut [(&DocId, &mut AutoCommit)],
        clock: i64,
    ) -> SyncResponse {
        let account = self.account(device.1);
        let request = SyncRequest {
            device: hex::encode(device.actor().to_bytes()),
            pushes: docs
                .iter_mut()
                .map(|(id, doc)| DocPush {
                    id: id.to_string(),
                    heads: protocol::to_hashes(&doc.get_heads()),
                    changes: doc.save(),
                })
                .collect(),
            clock,
            ..SyncRequest::default()
        };
        self.db
            .write(|tx| {
                let mut storage = SqliteTx::new(tx);
                engine::process(&mut storage, &account, &request, Timestamp(NOW))
                    .map_err(|e| gridwork_core::Error::Protocol(e.to_string()))
            })
            .unwrap()
    }

    fn heads(&self, id: &DocId) -> Option<Vec<String>> {
        let store = gridwork_core::Store::attach(self.db.clone(), None, "Asia/Shanghai").unwrap();
        store
            .doc_heads()
            .unwrap()
            .into_iter()
            .find(|d| d.id == id.as_str())
            .map(|d| d.heads)
    }

    fn count(&self, sql: &str) -> i64 {
        crate::db::read(&self.db, |c| Ok(c.query_row(sql, [], |r| r.get(0))?)).unwrap()
    }
}

fn refused(response: &SyncResponse, id: &DocId) -> Option<RejectReason> {
    response
        .rejected
        .iter()
        .find(|r| r.id == id.as_str())
        .map(|r| r.reason)
}

fn household(device: Device, id: HouseholdId, grid: &str) -> AutoCommit {
    let mut doc = device.doc();
    let root = HouseholdDoc {
        kind: "household".into(),
        id: id.to_string(),
        grid: grid.into(),
        address: "1号楼".into(),
        risk: "none".into(),
        status: "active".into(),
        ..Default::default()
    };
    autosurgeon::reconcile(&mut doc, &root).unwrap();
    doc
}

fn visit_log(
    device: Device,
    household: HouseholdId,
    year: i64,
    visits: &[(VisitId, &str)],
) -> AutoCommit {
    let mut doc = device.doc();
    doc.put(ROOT, "kind", "visit_log").unwrap();
    doc.put(ROOT, "household", household.to_string()).unwrap();
    doc.put(ROOT, "year", year).unwrap();
    for (id, worker) in visits {
        let visit = VisitDoc {
            worker: worker.to_string(),
            started_at: NOW - 3_600_000,
            ended_at: NOW - 3_000_000,
            template: "visit-checklist".into(),
            template_version: 1,
            ..Default::default()
        };
        autosurgeon::reconcile_prop(&mut doc, ROOT, id.to_string().as_str(), &visit).unwrap();
    }
    doc
}

fn case(
    device: Device,
    id: CaseId,
    grid: &str,
    household: Option<HouseholdId>,
    opened_at: i64,
) -> AutoCommit {
    let mut doc = device.doc();
    let root = CaseDoc {
        kind: "case".into(),
        id: id.to_string(),
        grid: grid.into(),
        channel: "visit".into(),
        category: "环境卫生".into(),
        description: "楼道堆物".into(),
        urgency: "normal".into(),
        household: household.map(|h| h.to_string()),
        opened_by: device.1.into(),
        opened_at,
        ..Default::default()
    };
    autosurgeon::reconcile(&mut doc, &root).unwrap();
    doc
}

fn add_transition(doc: &mut AutoCommit, by: &str, from: &str, to: &str, at: i64) -> TransitionId {
    let id = TransitionId::new();
    let obj = doc.get(ROOT, "transitions").unwrap().unwrap().1;
    let t = TransitionDoc {
        at,
        by: by.into(),
        from: from.into(),
        to: to.into(),
        note: String::new(),
        photos: Vec::new(),
        assignee: String::new(),
    };
    autosurgeon::reconcile_prop(doc, &obj, id.to_string().as_str(), &t).unwrap();
    id
}

#[test]
fn content_must_stay_inside_the_pushers_scope_and_match_the_doc_id() {
    let w = world();
    // G2's household, pushed honestly by its gridworker.
    let h2 = HouseholdId::new();
    let h2_doc = DocId::household(h2);
    let r = w.push(C, &mut [(&h2_doc, &mut household(C, h2, "G2"))], 0);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    // G1's household, by gw-a.
    let h1 = HouseholdId::new();
    let h1_doc = DocId::household(h1);
    let r = w.push(A, &mut [(&h1_doc, &mut household(A, h1, "G1"))], 0);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let visits_before = w.count("SELECT count(*) FROM visits");

    // A visit log filed under H1 whose entries belong to H2 (another grid).
    let log = DocId::visit_log(h1, 2026);
    let mut forged = visit_log(A, h2, 2026, &[(VisitId::new(), "gw-a")]);
    // A visit log whose year is not its id's.
    let wrong_year = DocId::visit_log(h1, 2025);
    let mut forged_year = visit_log(A, h1, 2026, &[(VisitId::new(), "gw-a")]);
    // A hazard of G1 about G2's household.
    let hazard_id = HazardId::new();
    let hazard = DocId::hazard(hazard_id);
    let mut hazard_doc = A.doc();
    autosurgeon::reconcile(
        &mut hazard_doc,
        &HazardDoc {
            kind: "hazard".into(),
            id: hazard_id.to_string(),
            grid: "G1".into(),
            category: "消防安全".into(),
            severity: "low".into(),
            description: "堆物".into(),
            household: Some(h2.to_string()),
            reported_by: "gw-a".into(),
            reported_at: NOW,
            ..Default::default()
        },
    )
    .unwrap();
    // A household doc whose content names another id.
    let h3_doc = DocId::household(HouseholdId::new());
    let mut h3 = household(A, HouseholdId::new(), "G1");
    // A work log of gw-a whose content says it is gw-b's.
    let work_log = DocId("work_log/gw-a/2026-05".into());
    let mut work = A.doc();
    work.put(ROOT, "kind", "work_log").unwrap();
    work.put(ROOT, "worker", "gw-b").unwrap();
    work.put(ROOT, "month", "2026-05").unwrap();
    // And one honest visit log, in the same request.
    let honest = DocId::visit_log(h1, 2024);
    let mut honest_doc = visit_log(A, h1, 2024, &[(VisitId::new(), "gw-a")]);

    let r = w.push(
        A,
        &mut [
            (&log, &mut forged),
            (&wrong_year, &mut forged_year),
            (&hazard, &mut hazard_doc),
            (&h3_doc, &mut h3),
            (&work_log, &mut work),
            (&honest, &mut honest_doc),
        ],
        0,
    );
    for id in [&log, &wrong_year, &hazard, &h3_doc, &work_log] {
        assert_eq!(refused(&r, id), Some(RejectReason::Inconsistent), "{id}");
        assert_eq!(w.heads(id), None, "{id}: nothing applied");
    }
    assert_eq!(refused(&r, &honest), None);
    assert!(w.heads(&honest).is_some());
    assert_eq!(
        w.count("SELECT count(*) FROM visits"),
        visits_before + 1,
        "only the honest visit reached the read models"
    );
    assert_eq!(w.count("SELECT count(*) FROM hazards"), 0);
}

#[test]
fn authors_are_the_pusher_and_history_is_append_only() {
    let w = world();
    let h1 = HouseholdId::new();
    let h1_doc = DocId::household(h1);
    w.push(A, &mut [(&h1_doc, &mut household(A, h1, "G1"))], 0);

    // gw-a opens a case and registers it: kept.
    let case_id = CaseId::new();
    let id = DocId::case(case_id);
    let mut doc = case(A, case_id, "G1", Some(h1), NOW - 60_000);
    add_transition(&mut doc, "gw-a", "collected", "registered", NOW - 30_000);
    let r = w.push(A, &mut [(&id, &mut doc)], 0);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let kept = w.heads(&id);

    // gw-a adds a transition claiming to be gw-b's.
    let mut forged = A.edit(&mut doc);
    add_transition(&mut forged, "gw-b", "registered", "handling", NOW);
    assert_eq!(
        refused(&w.push(A, &mut [(&id, &mut forged)], 0), &id),
        Some(RejectReason::Inconsistent)
    );
    // gw-a rewrites the existing transition's note.
    let mut rewritten = A.edit(&mut doc);
    let transitions = rewritten.get(ROOT, "transitions").unwrap().unwrap().1;
    let first = rewritten.keys(&transitions).next().unwrap();
    let t = rewritten
        .get(&transitions, first.as_str())
        .unwrap()
        .unwrap()
        .1;
    rewritten.put(&t, "note", "改写").unwrap();
    assert_eq!(
        refused(&w.push(A, &mut [(&id, &mut rewritten)], 0), &id),
        Some(RejectReason::Inconsistent)
    );
    // gw-a deletes it.
    let mut removed = A.edit(&mut doc);
    removed.delete(&transitions, first.as_str()).unwrap();
    assert_eq!(
        refused(&w.push(A, &mut [(&id, &mut removed)], 0), &id),
        Some(RejectReason::Inconsistent)
    );
    // gw-a changes who opened it.
    let mut reopened = A.edit(&mut doc);
    reopened.put(ROOT, "opened_by", "gw-b").unwrap();
    assert_eq!(
        refused(&w.push(A, &mut [(&id, &mut reopened)], 0), &id),
        Some(RejectReason::Inconsistent)
    );
    assert_eq!(w.heads(&id), kept, "none of it applied");

    // A case's own photos (a resident's evidence) may grow, never shrink
    // or be swapped.
    let (first_photo, second_photo, other_photo) =
        ("a1".repeat(32), "b2".repeat(32), "c3".repeat(32));
    let pictured_id = CaseId::new();
    let pictured = DocId::case(pictured_id);
    let mut with_photo = case(A, pictured_id, "G1", Some(h1), NOW - 60_000);
    let photos = with_photo
        .put_object(ROOT, "photos", automerge::ObjType::List)
        .unwrap();
    with_photo.insert(&photos, 0, first_photo.as_str()).unwrap();
    let r = w.push(A, &mut [(&pictured, &mut with_photo)], 0);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let mut added = A.edit(&mut with_photo);
    added.insert(&photos, 1, second_photo.as_str()).unwrap();
    let r = w.push(A, &mut [(&pictured, &mut added)], 0);
    assert!(r.rejected.is_empty(), "a photo added: {:?}", r.rejected);
    let kept = w.heads(&pictured);
    let mut dropped = A.edit(&mut added);
    dropped.delete(&photos, 0).unwrap();
    assert_eq!(
        refused(&w.push(A, &mut [(&pictured, &mut dropped)], 0), &pictured),
        Some(RejectReason::Inconsistent)
    );
    let mut swapped = A.edit(&mut added);
    swapped.put(&photos, 0, other_photo.as_str()).unwrap();
    assert_eq!(
        refused(&w.push(A, &mut [(&pictured, &mut swapped)], 0), &pictured),
        Some(RejectReason::Inconsistent)
    );
    let mut replaced = A.edit(&mut added);
    replaced
        .put_object(ROOT, "photos", automerge::ObjType::List)
        .unwrap();
    assert_eq!(
        refused(&w.push(A, &mut [(&pictured, &mut replaced)], 0), &pictured),
        Some(RejectReason::Inconsistent)
    );
    for bad in [vec!["a1".repeat(32); 10], vec!["not-a-blob".to_string()]] {
        let mut shaped = A.edit(&mut added);
        for (i, photo) in bad.iter().enumerate() {
            shaped.insert(&photos, 2 + i, photo.as_str()).unwrap();
        }
        assert_eq!(
            refused(&w.push(A, &mut [(&pictured, &mut shaped)], 0), &pictured),
            Some(RejectReason::Inconsistent),
            "{bad:?}"
        );
    }
    assert_eq!(w.heads(&pictured), kept, "none of it applied");

    // A visit recorded by gw-a but naming gw-b, and a change to an existing
    // visit's worker.
    let log = DocId::visit_log(h1, 2026);
    let visit = VisitId::new();
    let mut visits = visit_log(A, h1, 2026, &[(visit, "gw-a")]);
    assert!(w.push(A, &mut [(&log, &mut visits)], 0).rejected.is_empty());
    let mut naming_b = A.edit(&mut visits);
    let v = VisitDoc {
        worker: "gw-b".into(),
        ..Default::default()
    };
    autosurgeon::reconcile_prop(&mut naming_b, ROOT, VisitId::new().to_string().as_str(), &v)
        .unwrap();
    assert_eq!(
        refused(&w.push(A, &mut [(&log, &mut naming_b)], 0), &log),
        Some(RejectReason::Inconsistent)
    );
    let mut reassigned = A.edit(&mut visits);
    let obj = reassigned.get(ROOT, visit.to_string()).unwrap().unwrap().1;
    reassigned.put(&obj, "worker", "gw-b").unwrap();
    assert_eq!(
        refused(&w.push(A, &mut [(&log, &mut reassigned)], 0), &log),
        Some(RejectReason::Inconsistent)
    );
    // gw-b (same grid) may edit the note of gw-a's visit: the worker stays.
    let mut noted = B.edit(&mut visits);
    let obj = noted.get(ROOT, visit.to_string()).unwrap().unwrap().1;
    noted.put(&obj, "note", "补记").unwrap();
    assert!(w.push(B, &mut [(&log, &mut noted)], 0).rejected.is_empty());
}

#[test]
fn changes_are_bound_to_the_device_that_made_them() {
    let w = world();
    let h1 = HouseholdId::new();
    let h1_doc = DocId::household(h1);
    let mut doc = household(A, h1, "G1");
    assert!(w.push(A, &mut [(&h1_doc, &mut doc)], 0).rejected.is_empty());
    let bound = w.count("SELECT count(*) FROM actors WHERE worker_id = 'gw-a'");
    assert_eq!(bound, 1, "gw-a's device actor bound at its first push");

    // gw-b pushes a change made under gw-a's actor (a forged or copied
    // device identity): refused, whatever the author says.
    let mut as_a = A.edit(&mut doc);
    as_a.set_author(Some(Author::from(b"gw-b".to_vec())));
    as_a.set_actor(A.actor());
    as_a.put(ROOT, "note", "冒名").unwrap();
    let r = w.push(B, &mut [(&h1_doc, &mut as_a)], 0);
    assert_eq!(refused(&r, &h1_doc), Some(RejectReason::ForeignActor));
    // gw-b's own device, but the change's author metadata says gw-a.
    let mut claims_a = B.edit(&mut doc);
    claims_a.set_author(Some(Author::from(b"gw-a".to_vec())));
    claims_a.set_actor(B.actor());
    claims_a.put(ROOT, "note", "冒名").unwrap();
    let r = w.push(B, &mut [(&h1_doc, &mut claims_a)], 0);
    assert_eq!(refused(&r, &h1_doc), Some(RejectReason::ForeignActor));
    // gw-b with an actor that is neither its device's nor authored by it.
    let mut stranger = doc.fork();
    stranger.set_actor(ActorId::from(vec![0x55; 16]));
    stranger.put(ROOT, "note", "无名").unwrap();
    let r = w.push(B, &mut [(&h1_doc, &mut stranger)], 0);
    assert_eq!(refused(&r, &h1_doc), Some(RejectReason::ForeignActor));
    // Nothing of it landed; gw-b's honest edit does, and is attested.
    let mut honest = B.edit(&mut doc);
    honest.put(ROOT, "note", "正常").unwrap();
    let r = w.push(B, &mut [(&h1_doc, &mut honest)], 0);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let (worker, device): (String, String) = crate::db::read(&w.db, |c| {
        Ok(c.query_row(
            "SELECT worker_id, device FROM change_receipts ORDER BY received_at DESC, worker_id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    })
    .unwrap();
    assert_eq!(worker, "gw-b");
    assert_eq!(
        device,
        format!("gw-b/{}", hex::encode(B.actor().to_bytes()))
    );
    assert_eq!(w.count("SELECT count(*) FROM change_receipts"), 2);
}

#[test]
fn the_server_checks_the_times_records_claim() {
    let w = world();
    let h1 = HouseholdId::new();
    let h1_doc = DocId::household(h1);
    w.push(A, &mut [(&h1_doc, &mut household(A, h1, "G1"))], NOW);
    let status = |doc: &DocId, item: &str| -> String {
        crate::db::read(&w.db, |c| {
            Ok(c.query_row(
                "SELECT status FROM time_checks WHERE doc_id = ?1 AND item = ?2",
                [doc.as_str(), item],
                |r| r.get(0),
            )?)
        })
        .unwrap()
    };
    // A phone whose clock is right: ok. One that claims the future: flagged.
    let ok = CaseId::new();
    let ok_id = DocId::case(ok);
    let future = CaseId::new();
    let future_id = DocId::case(future);
    let late = CaseId::new();
    let late_id = DocId::case(late);
    let mut ok_doc = case(A, ok, "G1", None, NOW - 60_000);
    let mut future_doc = case(A, future, "G1", None, NOW + 3_600_000);
    let first_response = add_transition(
        &mut future_doc,
        "gw-a",
        "collected",
        "registered",
        NOW + 3_700_000,
    );
    w.push(
        A,
        &mut [
            (&ok_id, &mut ok_doc),
            (&future_id, &mut future_doc),
            (
                &late_id,
                &mut case(A, late, "G1", None, NOW - 30 * 86_400_000),
            ),
        ],
        NOW,
    );
    assert_eq!(status(&ok_id, ""), "ok");
    assert_eq!(status(&future_id, ""), "future");
    assert_eq!(status(&future_id, &first_response.to_string()), "future");
    assert_eq!(status(&late_id, ""), "late");
    // A phone whose clock is off by an hour when it syncs: what it sends is
    // unverified, even the times that look plausible.
    let skewed = CaseId::new();
    let skewed_id = DocId::case(skewed);
    w.push(
        A,
        &mut [(&skewed_id, &mut case(A, skewed, "G1", None, NOW - 60_000))],
        NOW - 3_600_000,
    );
    assert_eq!(status(&skewed_id, ""), "clock_off");
    // A replay keeps the first check.
    w.push(A, &mut [(&ok_id, &mut ok_doc)], NOW - 3_600_000);
    assert_eq!(status(&ok_id, ""), "ok");
    // Households carry no time of their own to check.
    assert_eq!(
        w.count("SELECT count(*) FROM time_checks WHERE doc_id LIKE 'household/%'"),
        0
    );
}
