//! Regressions of the hostile review of issue 11's sync work: each test is
//! an attack that once succeeded, now refused with nothing applied.

use super::*;
use automerge::ChangeHash;

/// The server's current doc, as a phone that synced it holds it.
fn server_doc(w: &World, id: &DocId) -> AutoCommit {
    let bytes =
        w.db.write(|tx| tx.with_doc(id, |d| Ok(d.save())))
            .unwrap()
            .unwrap();
    AutoCommit::load(&bytes).unwrap()
}

/// Push the changes since `since` as `device` (a version-2 client unless
/// `request_device` claims another device), the phone's clock at `now`.
fn push_since(
    w: &World,
    device: Device,
    request_device: &str,
    (id, doc, since): (&DocId, &mut AutoCommit, &[ChangeHash]),
    now: i64,
) -> SyncResponse {
    let account = w.account(device.1);
    let request = SyncRequest {
        device: request_device.to_string(),
        pushes: vec![DocPush {
            id: id.to_string(),
            heads: protocol::to_hashes(&doc.get_heads()),
            changes: doc.save_after(since),
        }],
        worker: device.1.into(),
        grid: account.grid.to_string(),
        clock: now,
        ..SyncRequest::default()
    };
    w.db.write(|tx| {
        let mut storage = SqliteTx::new(tx);
        engine::process(&mut storage, &account, &request, Timestamp(now))
            .map_err(|e| gridwork_core::Error::Protocol(e.to_string()))
    })
    .unwrap()
}

fn dev_hex(d: Device) -> String {
    hex::encode(d.actor().to_bytes())
}

fn staff_move(w: &World, case_id: CaseId, to: &str) -> Result<(), String> {
    crate::db::write(&w.db, |tx| {
        let meta = crate::publish::staff_meta_in(tx.conn(), "staff-1")?;
        gridwork_core::api::transition_case_in(tx, case_id, to, "社区", "", &meta)?;
        Ok(())
    })
    .map_err(|e| e.to_string())
}

fn one(w: &World, sql: &str) -> String {
    crate::db::read(&w.db, |c| {
        Ok(c.query_row(sql, [], |r| r.get::<_, String>(0))?)
    })
    .unwrap()
}

/// A case of gw-b at `feedback`, sent back to `handling` by the community.
fn sent_back_case(w: &World) -> (CaseId, DocId, AutoCommit) {
    let case_id = CaseId::new();
    let id = DocId::case(case_id);
    let mut doc = case(B, case_id, "G1", None, NOW - 600_000);
    add_transition(&mut doc, "gw-b", "collected", "registered", NOW - 500_000);
    add_transition(&mut doc, "gw-b", "registered", "handling", NOW - 400_000);
    add_transition(&mut doc, "gw-b", "handling", "feedback", NOW - 300_000);
    assert!(w.push(B, &mut [(&id, &mut doc)], NOW).rejected.is_empty());
    staff_move(w, case_id, "handling").unwrap();
    let doc = server_doc(w, &id);
    (case_id, id, doc)
}

#[test]
fn an_unreadable_push_cannot_hide_a_record_or_launder_its_history() {
    let w = world();
    let (_, id, mut doc) = sent_back_case(&w);
    let kept = w.heads(&id);
    // gw-a breaks the root id (the doc would be quarantined, unchecked) and
    // forges a verification and a closing by the community.
    let since = doc.get_heads();
    let mut evil = A.edit(&mut doc);
    evil.put(ROOT, "id", "broken").unwrap();
    add_transition(&mut evil, "staff-1", "handling", "feedback", NOW - 200_000);
    let r = push_since(&w, A, &dev_hex(A), (&id, &mut evil, &since), NOW);
    assert_eq!(refused(&r, &id), Some(RejectReason::Malformed));
    assert_eq!(w.heads(&id), kept);
    assert_eq!(w.count("SELECT count(*) FROM quarantine"), 0);
    assert_eq!(one(&w, "SELECT status FROM cases"), "handling");
}

#[test]
fn a_move_may_not_claim_a_time_before_one_it_saw() {
    let w = world();
    let (_, id, mut doc) = sent_back_case(&w);
    let staff_at = w.count("SELECT at FROM case_transitions WHERE by_worker = 'staff-1'");
    // gw-b has seen the send-back and answers with moves dated before it.
    let since = doc.get_heads();
    let mut later = B.edit(&mut doc);
    add_transition(&mut later, "gw-b", "feedback", "verified", staff_at - 2_000);
    add_transition(&mut later, "gw-b", "verified", "closed", staff_at - 1_000);
    let r = push_since(
        &w,
        B,
        &dev_hex(B),
        (&id, &mut later, &since),
        staff_at + 3_600_000,
    );
    assert_eq!(refused(&r, &id), Some(RejectReason::Inconsistent));
    assert_eq!(one(&w, "SELECT status FROM cases"), "handling");
    // Dated after what it saw, the same moves are kept — as the workflow
    // conflict they are.
    let mut honest = B.edit(&mut doc);
    add_transition(
        &mut honest,
        "gw-b",
        "feedback",
        "verified",
        staff_at + 1_000,
    );
    let r = push_since(
        &w,
        B,
        &dev_hex(B),
        (&id, &mut honest, &since),
        staff_at + 3_600_000,
    );
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(one(&w, "SELECT field FROM conflicts"), "workflow");
}

#[test]
fn checked_times_and_visits_cannot_be_rewritten_afterwards() {
    let w = world();
    // A case opened 3 h before its first answer: opened_at moved later.
    let case_id = CaseId::new();
    let id = DocId::case(case_id);
    let mut doc = case(B, case_id, "G1", None, NOW - 3 * 3_600_000);
    add_transition(&mut doc, "gw-b", "collected", "registered", NOW);
    assert!(w.push(B, &mut [(&id, &mut doc)], NOW).rejected.is_empty());
    let since = doc.get_heads();
    let mut later = B.edit(&mut doc);
    later.put(ROOT, "opened_at", NOW - 600_000).unwrap();
    let r = push_since(
        &w,
        B,
        &dev_hex(B),
        (&id, &mut later, &since),
        NOW + 3_600_000,
    );
    assert_eq!(refused(&r, &id), Some(RejectReason::Inconsistent));
    // A move to a state this build does not know is kept but is no answer.
    let quiet = CaseId::new();
    let quiet_id = DocId::case(quiet);
    let mut q = case(B, quiet, "G1", None, NOW - 3 * 3_600_000);
    assert!(w
        .push(B, &mut [(&quiet_id, &mut q)], NOW)
        .rejected
        .is_empty());
    let since = q.get_heads();
    let mut ghost = B.edit(&mut q);
    add_transition(
        &mut ghost,
        "gw-b",
        "collected",
        "zz_ack",
        NOW - 3 * 3_600_000 + 60_000,
    );
    assert!(
        push_since(&w, B, &dev_hex(B), (&quiet_id, &mut ghost, &since), NOW)
            .rejected
            .is_empty()
    );
    assert_eq!(
        w.count(&format!(
            "SELECT count(*) FROM cases WHERE id = '{quiet}' AND first_response_at IS NULL"
        )),
        1
    );
    // gw-a's visits: gw-b may neither remove one nor move another's time,
    // nor leave a visit the server cannot read.
    let h1 = HouseholdId::new();
    w.push(
        A,
        &mut [(&DocId::household(h1), &mut household(A, h1, "G1"))],
        NOW,
    );
    let log = DocId::visit_log(h1, 2026);
    let (v1, v2) = (VisitId::new(), VisitId::new());
    let mut visits = visit_log(A, h1, 2026, &[(v1, "gw-a"), (v2, "gw-a")]);
    assert!(w
        .push(A, &mut [(&log, &mut visits)], NOW)
        .rejected
        .is_empty());
    let since = visits.get_heads();
    let mut removed = B.edit(&mut visits);
    removed.delete(ROOT, v1.to_string().as_str()).unwrap();
    let mut moved = B.edit(&mut visits);
    let o = moved.get(ROOT, v2.to_string()).unwrap().unwrap().1;
    moved.put(&o, "started_at", NOW - 40 * 86_400_000).unwrap();
    let mut bad = B.edit(&mut visits);
    let o = bad
        .put_object(
            ROOT,
            VisitId::new().to_string().as_str(),
            automerge::ObjType::Map,
        )
        .unwrap();
    bad.put(&o, "worker", "gw-b").unwrap();
    bad.put(&o, "started_at", "yesterday").unwrap();
    for (attempt, reason) in [
        (&mut removed, RejectReason::Inconsistent),
        (&mut moved, RejectReason::Inconsistent),
        (&mut bad, RejectReason::Malformed),
    ] {
        let r = push_since(&w, B, &dev_hex(B), (&log, attempt, &since), NOW);
        assert_eq!(refused(&r, &log), Some(reason));
    }
    assert_eq!(w.count("SELECT count(*) FROM visits"), 2);
}

#[test]
fn a_record_keeps_the_format_it_was_made_in() {
    let w = world();
    let case_id = CaseId::new();
    let id = DocId::case(case_id);
    let mut doc = case(B, case_id, "G1", None, NOW - 600_000);
    add_transition(&mut doc, "gw-b", "collected", "registered", NOW - 500_000);
    assert!(w.push(B, &mut [(&id, &mut doc)], NOW).rejected.is_empty());
    let since = doc.get_heads();
    let mut evil = A.edit(&mut doc);
    evil.put(ROOT, "format", 99u64).unwrap();
    let r = push_since(&w, A, &dev_hex(A), (&id, &mut evil, &since), NOW);
    assert_eq!(refused(&r, &id), Some(RejectReason::Inconsistent));
    staff_move(&w, case_id, "dispatched").expect("the community can still act on it");
}

#[test]
fn a_household_id_has_one_form_only() {
    let w = world();
    let h2 = HouseholdId::new();
    assert!(w
        .push(
            C,
            &mut [(&DocId::household(h2), &mut household(C, h2, "G2"))],
            NOW
        )
        .rejected
        .is_empty());
    // gw-a (G1) files a household and a visit log under an alias of G2's
    // household id (the same UUID in upper case).
    let alias = h2.to_string().to_uppercase();
    let alias_doc = DocId(format!("household/{alias}"));
    let log = DocId(format!("visit_log/{alias}/2026"));
    let mut vl = visit_log(A, h2, 2026, &[(VisitId::new(), "gw-a")]);
    vl.put(ROOT, "household", alias.as_str()).unwrap();
    let r = w.push(
        A,
        &mut [(&alias_doc, &mut household(A, h2, "G1")), (&log, &mut vl)],
        NOW,
    );
    assert_eq!(refused(&r, &alias_doc), Some(RejectReason::Malformed));
    assert_eq!(refused(&r, &log), Some(RejectReason::Malformed));
    assert_eq!(w.count("SELECT count(*) FROM visits"), 0);
}

#[test]
fn actors_of_stored_changes_stay_with_their_authors_after_the_upgrade() {
    let w = world();
    let h1 = HouseholdId::new();
    let h1_doc = DocId::household(h1);
    let mut doc = household(A, h1, "G1");
    assert!(w
        .push(A, &mut [(&h1_doc, &mut doc)], NOW)
        .rejected
        .is_empty());
    // As right after the v7 upgrade: bindings rebuilt from the stored changes.
    crate::db::write(&w.db, |tx| {
        tx.conn().execute("DELETE FROM actors", [])?;
        crate::db::bind_existing_actors(tx)?;
        Ok(())
    })
    .unwrap();
    // gw-b claims to be gw-a's device and pushes under its actor.
    let since = doc.get_heads();
    let mut evil = doc.fork();
    evil.set_author(None);
    evil.set_actor(A.actor());
    evil.put(ROOT, "note", "x").unwrap();
    let r = push_since(&w, B, &dev_hex(A), (&h1_doc, &mut evil, &since), NOW);
    assert_eq!(refused(&r, &h1_doc), Some(RejectReason::ForeignActor));
    // gw-a keeps pushing under it.
    let mut honest = A.edit(&mut doc);
    honest.put(ROOT, "address", "2号楼").unwrap();
    let r = push_since(&w, A, &dev_hex(A), (&h1_doc, &mut honest, &since), NOW);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
}

#[test]
fn a_record_id_held_by_another_doc_refuses_that_doc_only() {
    let w = world();
    let (h1, h3, h4) = (HouseholdId::new(), HouseholdId::new(), HouseholdId::new());
    w.push(
        A,
        &mut [
            (&DocId::household(h1), &mut household(A, h1, "G1")),
            (&DocId::household(h3), &mut household(A, h3, "G1")),
        ],
        NOW,
    );
    let v = VisitId::new();
    let l1 = DocId::visit_log(h1, 2026);
    assert!(w
        .push(
            A,
            &mut [(&l1, &mut visit_log(A, h1, 2026, &[(v, "gw-a")]))],
            NOW
        )
        .rejected
        .is_empty());
    // gw-b's log of another household reuses the visit's id.
    let l3 = DocId::visit_log(h3, 2026);
    let h4_doc = DocId::household(h4);
    let r = w.push(
        B,
        &mut [
            (&h4_doc, &mut household(B, h4, "G1")),
            (&l3, &mut visit_log(B, h3, 2026, &[(v, "gw-b")])),
        ],
        NOW,
    );
    assert_eq!(refused(&r, &l3), Some(RejectReason::Malformed));
    assert!(
        w.heads(&h4_doc).is_some(),
        "the rest of the request applied"
    );
    assert_eq!(w.count("SELECT count(*) FROM visits"), 1);
}
