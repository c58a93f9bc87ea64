//! Forward compatibility (issue 11 §2): docs written by a newer app or
//! server — new keys, new enum values, new kinds, a newer format, content
//! this build cannot read — are kept, materialised as far as they are
//! understood, never edited when newer, and never fail the other docs.

use super::Store;
use crate::docs::config::{PolicyDoc, TemplateDoc};
use crate::docs::household::HouseholdDoc;
use crate::docs::{DocId, DocKind};
use crate::model::{GridCode, HouseholdEdit, HouseholdId};
use crate::Error;
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ReadDoc, ROOT};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(dir.path().join("p.db"), None).unwrap();
    store.init("gw-1", "张三", "G1").unwrap();
    (dir, store)
}

/// A doc as a newer app on another phone writes it.
fn newer_phone() -> AutoCommit {
    AutoCommit::new().with_actor(ActorId::from(vec![0x77; 16]))
}

fn household_doc(id: HouseholdId) -> AutoCommit {
    let mut doc = newer_phone();
    let root = HouseholdDoc {
        kind: "household".into(),
        id: id.to_string(),
        grid: "G1".into(),
        address: "幸福里1号".into(),
        risk: "none".into(),
        status: "active".into(),
        ..Default::default()
    };
    autosurgeon::reconcile(&mut doc, &root).unwrap();
    doc
}

/// A household registered here, with one visit recorded now.
fn household_with_visit(store: &Store) -> (crate::model::Household, crate::model::Visit) {
    let h = store
        .add_household(crate::model::NewHousehold {
            address: "1号楼".into(),
            ..Default::default()
        })
        .unwrap();
    let visit = store
        .record_visit(crate::model::NewVisit {
            household: h.id,
            ..Default::default()
        })
        .unwrap();
    (h, visit)
}

fn merge(store: &Store, id: &DocId, doc: &mut AutoCommit) -> bool {
    store.merge_doc(id, &doc.save()).unwrap()
}

#[test]
fn new_keys_and_enum_values_are_read_around_and_survive_an_edit() {
    let (_dir, store) = store();
    let id = HouseholdId::new();
    let doc_id = DocId::household(id);
    let mut doc = household_doc(id);
    // A newer app added a root key, a tag this build does not know and a risk level.
    doc.put(ROOT, "wechat_group", "三网格群").unwrap();
    doc.put(ROOT, "risk", "purple").unwrap();
    let tags = doc.get(ROOT, "tags").unwrap().unwrap().1;
    doc.put(&tags, "new_group_2027", true).unwrap();
    doc.put(&tags, "elderly_alone", true).unwrap();
    merge(&store, &doc_id, &mut doc);

    let shown = store.household(id).unwrap();
    assert_eq!(shown.address, "幸福里1号");
    assert_eq!(
        shown.tags.len(),
        1,
        "known tags shown, unknown ones skipped"
    );
    assert!(store.quarantined_docs().unwrap().is_empty());

    // An edit by this build writes only what it changes: the newer data stays.
    store
        .edit_household(
            id,
            HouseholdEdit {
                phone: Some("13800138000".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let after = AutoCommit::load(&store.export_doc(&doc_id).unwrap()).unwrap();
    let text = |key: &str| match after.get(ROOT, key).unwrap() {
        Some((automerge::Value::Scalar(s), _)) => s.to_string(),
        other => panic!("{key}: {other:?}"),
    };
    assert_eq!(text("wechat_group"), "\"三网格群\"");
    assert_eq!(text("risk"), "\"purple\"");
    let tags = after.get(ROOT, "tags").unwrap().unwrap().1;
    assert!(after.get(&tags, "new_group_2027").unwrap().is_some());
    assert!(store.check().unwrap().ok);
}

#[test]
fn a_visit_log_with_new_root_keys_still_lists_its_visits() {
    let (_dir, store) = store();
    let (h, visit) = household_with_visit(&store);
    let year = crate::schedule::local_date(visit.started_at, store.timezone()).year();
    let log = DocId::visit_log(h.id, year);
    let mut doc = AutoCommit::load(&store.export_doc(&log).unwrap())
        .unwrap()
        .with_actor(ActorId::from(vec![0x77; 16]));
    doc.put(ROOT, "summary_2027", "全年走访小结").unwrap();
    merge(&store, &log, &mut doc);
    assert_eq!(store.list_visits(Some(h.id)).unwrap().len(), 1);
    assert!(store.quarantined_docs().unwrap().is_empty());
    assert!(store.check().unwrap().ok);
}

#[test]
fn a_doc_of_a_newer_format_is_read_only_and_listed() {
    let (_dir, store) = store();
    let id = HouseholdId::new();
    let doc_id = DocId::household(id);
    let mut doc = household_doc(id);
    doc.put(ROOT, crate::docs::FORMAT_KEY, 2u64).unwrap();
    merge(&store, &doc_id, &mut doc);
    // Shown as far as it is understood...
    assert_eq!(store.household(id).unwrap().address, "幸福里1号");
    assert_eq!(store.read_only_docs().unwrap(), [doc_id.to_string()]);
    let listed = store.doc_heads().unwrap();
    assert!(listed[0].read_only && listed[0].format == 2);
    // ...but never edited here: nothing is stored, the doc is unchanged.
    let before = store.export_doc(&doc_id).unwrap();
    let err = store
        .edit_household(
            id,
            HouseholdEdit {
                note: Some("改".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NewerFormat {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(store.export_doc(&doc_id).unwrap(), before);
    assert!(store.dirty_docs().unwrap().is_empty());
    assert!(store.check().unwrap().ok);
}

#[test]
fn unknown_kinds_and_unreadable_docs_are_quarantined_not_fatal() {
    let (_dir, store) = store();
    // A kind of a newer app.
    let meeting = DocId("meeting/0190a0b0-0000-7000-8000-00000000aaaa".into());
    assert_eq!(meeting.kind(), Some(DocKind::Unknown));
    let mut doc = newer_phone();
    doc.put(ROOT, "kind", "meeting").unwrap();
    doc.put(ROOT, "grid", "G1").unwrap();
    doc.put(ROOT, "topic", "议事会").unwrap();
    merge(&store, &meeting, &mut doc);
    // A household whose content this build cannot read (residents is a list).
    let broken = HouseholdId::new();
    let broken_id = DocId::household(broken);
    let mut bad = household_doc(broken);
    bad.put_object(ROOT, "residents", automerge::ObjType::List)
        .unwrap();
    merge(&store, &broken_id, &mut bad);
    // A good household merged after them still lands.
    let good = HouseholdId::new();
    merge(&store, &DocId::household(good), &mut household_doc(good));

    let quarantined = store.quarantined_docs().unwrap();
    let ids: Vec<&str> = quarantined.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, [broken_id.as_str(), meeting.as_str()]);
    assert_eq!(quarantined[1].kind, "unknown");
    assert!(quarantined.iter().all(|q| !q.reason.is_empty()));
    assert!(
        store.household(broken).is_err(),
        "no rows for a quarantined doc"
    );
    assert!(store.household(good).is_ok());
    // Kept byte for byte, so it is forwarded as it came.
    let mut kept = AutoCommit::load(&store.export_doc(&meeting).unwrap()).unwrap();
    assert_eq!(kept.get_heads(), doc.get_heads());
    // Rebuild agrees (the quarantine list is derived like a read model).
    assert!(store.check().unwrap().ok);
    store.rebuild().unwrap();
    assert_eq!(store.quarantined_docs().unwrap(), quarantined);
    // Malformed ids are still refused, and so are known kinds' ids in any
    // but their one form (no record may have two ids).
    let h = HouseholdId::new().to_string();
    assert_eq!(
        DocId(format!("household/{h}")).kind(),
        Some(DocKind::Household)
    );
    assert_eq!(
        DocId(format!("household/{}", h.to_uppercase())).kind(),
        None
    );
    assert_eq!(
        DocId(format!("household/{}", h.replace('-', ""))).kind(),
        None
    );
    assert_eq!(
        DocId(format!("visit_log/{h}/2026")).kind(),
        Some(DocKind::VisitLog)
    );
    assert_eq!(DocId(format!("visit_log/{h}/02026")).kind(), None);
    assert_eq!(DocId(format!("case/{h}/x")).kind(), None);
    assert_eq!(DocId("Meeting/x".into()).kind(), None);
    assert_eq!(DocId("meeting".into()).kind(), None);
    assert_eq!(DocId("meeting/a b".into()).kind(), None);
}

#[test]
fn templates_and_policies_with_new_keys_materialise() {
    let (_dir, store) = store();
    let mut template = serde_json::to_value(crate::forms::builtin()[1].clone()).unwrap();
    template["version"] = serde_json::json!(9);
    template["signature_required"] = serde_json::json!(true);
    template["fields"][0]["hint_audio"] = serde_json::json!("a.mp3");
    let body = template.to_string();
    assert!(
        crate::forms::Template::from_json(&body).is_err(),
        "staff input stays strict"
    );
    let id = template["id"].as_str().unwrap().to_string();
    let doc_id = DocId::template(&id, 9);
    let mut doc = newer_phone();
    autosurgeon::reconcile(
        &mut doc,
        &TemplateDoc {
            kind: "template".into(),
            grid: "G1".into(),
            template_id: id.clone(),
            version: 9,
            body,
            published_by: "staff".into(),
            published_at: 1,
        },
    )
    .unwrap();
    merge(&store, &doc_id, &mut doc);
    assert!(store
        .templates()
        .unwrap()
        .iter()
        .any(|t| t.id == id && t.version == 9));

    let mut policy = serde_json::to_value(crate::schedule::Policy::default()).unwrap();
    policy["reminder_minutes"] = serde_json::json!(10);
    policy["visit_intervals"]["new_group_2027"] = serde_json::json!("weekly");
    policy["visit_intervals"]["low_income"] = serde_json::json!("fortnightly_2027");
    policy["first_response_minutes"] = serde_json::json!(15);
    let grid = GridCode("G1".into());
    let mut doc = newer_phone();
    autosurgeon::reconcile(
        &mut doc,
        &PolicyDoc {
            kind: "policy".into(),
            grid: "G1".into(),
            body: policy.to_string(),
            updated_by: "staff".into(),
            updated_at: 1,
        },
    )
    .unwrap();
    merge(&store, &DocId::policy(&grid), &mut doc);
    assert!(store.quarantined_docs().unwrap().is_empty());
    let effective = store.policy_of(&grid).unwrap();
    assert_eq!(effective.first_response_minutes, 15);
    assert_eq!(
        effective
            .visit_intervals
            .get(&crate::model::SpecialGroup::LowIncome),
        None,
        "an interval this build does not know is skipped"
    );
    assert!(store.check().unwrap().ok);
}

#[test]
fn docs_quarantined_by_an_older_build_are_read_again_on_open() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("p.db");
    let h = {
        let store = Store::open(&path, None).unwrap();
        store.init("gw-1", "张三", "G1").unwrap();
        let h = store
            .add_household(crate::model::NewHousehold {
                address: "1号楼".into(),
                ..Default::default()
            })
            .unwrap();
        // As an older build that could not read this doc left it.
        store
            .db
            .write(|tx| {
                tx.conn().execute_batch(
                    "INSERT INTO quarantine (doc_key, reason, revision) SELECT key, 'old build', 0 FROM docs;
                     DELETE FROM households; DELETE FROM residents;
                     UPDATE sync_meta SET value = '0' WHERE key = 'materializer_revision';",
                )?;
                Ok(())
            })
            .unwrap();
        assert_eq!(store.quarantined_docs().unwrap().len(), 1);
        h.id
    };
    let store = Store::open(&path, None).unwrap();
    assert!(store.quarantined_docs().unwrap().is_empty());
    assert_eq!(store.household(h).unwrap().address, "1号楼");
    assert!(store.check().unwrap().ok);
}

#[test]
fn docs_made_here_stay_readable_by_the_first_release() {
    // The first release read every root key of a visit log other than
    // kind/household/year as a visit id, and every root key of a work log
    // other than kind/worker/month as a day: docs of format 1 must add none.
    let (_dir, store) = store();
    let (h, visit) = household_with_visit(&store);
    store
        .set_work_log_day("2026-03-10", vec!["走访".into()], "")
        .unwrap();
    let year = crate::schedule::local_date(visit.started_at, store.timezone()).year();
    let log = automerge::Automerge::load(&store.export_doc(&DocId::visit_log(h.id, year)).unwrap())
        .unwrap();
    for key in log.keys(ROOT) {
        assert!(
            ["kind", "household", "year"].contains(&key.as_str())
                || key.parse::<crate::model::VisitId>().is_ok(),
            "{key}"
        );
    }
    let work_log = store
        .doc_ids()
        .unwrap()
        .into_iter()
        .find(|d| d.as_str().starts_with("work_log/"))
        .unwrap();
    let work = automerge::Automerge::load(&store.export_doc(&work_log).unwrap()).unwrap();
    for key in work.keys(ROOT) {
        assert!(
            ["kind", "worker", "month"].contains(&key.as_str())
                || key.parse::<jiff::civil::Date>().is_ok(),
            "{key}"
        );
    }
    let household =
        automerge::Automerge::load(&store.export_doc(&DocId::household(h.id)).unwrap()).unwrap();
    assert_eq!(
        crate::docs::format_of(&household),
        crate::docs::FORMAT_VERSION
    );
}

#[test]
fn a_merged_doc_whose_rows_clash_is_quarantined_not_fatal() {
    let (_dir, store) = store();
    let (h, visit) = household_with_visit(&store);
    // Another household's log, from elsewhere, reusing that visit's id.
    let other = HouseholdId::new();
    merge(&store, &DocId::household(other), &mut household_doc(other));
    let log = DocId::visit_log(other, 2026);
    let mut doc = newer_phone();
    doc.put(ROOT, "kind", "visit_log").unwrap();
    doc.put(ROOT, "household", other.to_string()).unwrap();
    doc.put(ROOT, "year", 2026i64).unwrap();
    autosurgeon::reconcile_prop(
        &mut doc,
        ROOT,
        visit.id.to_string().as_str(),
        &crate::docs::visit_log::VisitDoc {
            worker: "gw-9".into(),
            template: "visit-checklist".into(),
            template_version: 1,
            ..Default::default()
        },
    )
    .unwrap();
    merge(&store, &log, &mut doc);
    assert_eq!(store.quarantined_docs().unwrap()[0].id, log.as_str());
    assert_eq!(
        store.list_visits(Some(h.id)).unwrap().len(),
        1,
        "ours intact"
    );
    assert!(store.check().unwrap().ok);
}

#[test]
fn a_move_is_stamped_after_every_move_this_phone_has_seen() {
    let (_dir, store) = store();
    let case = store
        .open_case(crate::model::NewCase {
            category: "环境卫生".into(),
            description: "堆物".into(),
            ..Default::default()
        })
        .unwrap();
    // Another device, its clock an hour ahead of ours, registered it.
    let id = DocId::case(case.id);
    let mut doc = AutoCommit::load(&store.export_doc(&id).unwrap())
        .unwrap()
        .with_actor(ActorId::from(vec![0x77; 16]));
    let ahead = store.now().0 + 3_600_000;
    let transitions = doc.get(ROOT, "transitions").unwrap().unwrap().1;
    autosurgeon::reconcile_prop(
        &mut doc,
        &transitions,
        crate::model::TransitionId::new().to_string().as_str(),
        &crate::docs::incident::TransitionDoc {
            at: ahead,
            by: "gw-2".into(),
            from: "collected".into(),
            to: "registered".into(),
            note: String::new(),
            photos: Vec::new(),
            assignee: String::new(),
        },
    )
    .unwrap();
    merge(&store, &id, &mut doc);
    let moved = store.transition_case(case.id, "dispatched", "").unwrap();
    assert_eq!(moved.transitions.last().unwrap().at.0, ahead + 1);
    assert_eq!(moved.status, crate::model::CaseState::Dispatched);
}
