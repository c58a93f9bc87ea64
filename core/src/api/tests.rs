//! Behaviour of the public [`Store`] API: validation leaves nothing stored,
//! read models follow every change, conflicts surface and resolve, the clock
//! drives due lists and response targets, encryption hides personal data.

use super::*;
use crate::clock::ManualClock;
use crate::docs::DocId;
use crate::model::*;
use std::sync::Arc;
use tempfile::TempDir;

pub(super) const T0: &str = "2026-03-10T02:00:00Z"; // 10:00 in Shanghai.

pub(super) fn at(text: &str) -> Timestamp {
    Timestamp::from_jiff(text.parse().unwrap())
}

fn open(dir: &TempDir, name: &str, clock: Arc<ManualClock>) -> Store {
    Store::open_with(
        dir.path().join(name),
        StoreOptions {
            clock: Some(clock),
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

pub(super) fn phone(dir: &TempDir, name: &str, worker: &str) -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(at(T0)));
    let store = open(dir, name, clock.clone());
    store.init(worker, "张三", "G-001").unwrap();
    (store, clock)
}

pub(super) fn household(store: &Store, address: &str, tags: &[&str]) -> Household {
    store
        .add_household(NewHousehold {
            address: address.into(),
            representative: "李四".into(),
            phone: "13800138000".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..NewHousehold::default()
        })
        .unwrap()
}

fn field_of(err: Error) -> String {
    match err {
        Error::Validation { field, .. } => field,
        Error::FormInvalid { mut errors, .. } if !errors.is_empty() => errors.remove(0).field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn store_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
}

#[test]
fn init_once_and_required_before_writes() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, "a.db", Arc::new(ManualClock::new(at(T0))));
    assert!(matches!(store.list_households(), Ok(v) if v.is_empty()));
    let err = store.add_household(NewHousehold {
        address: "x".into(),
        ..Default::default()
    });
    assert!(matches!(err, Err(Error::NotInitialized)));
    store.init("gw-1", "张三", "G-001").unwrap();
    assert!(matches!(
        store.init("gw-1", "张三", "G-001"),
        Err(Error::AlreadyInitialized)
    ));
    // Reopening keeps the device.
    drop(store);
    let store = open(&dir, "a.db", Arc::new(ManualClock::new(at(T0))));
    assert_eq!(store.device().unwrap().worker_id.as_str(), "gw-1");
}

#[test]
fn bad_input_is_a_typed_error_and_nothing_is_stored() {
    let dir = TempDir::new().unwrap();
    let (store, _) = phone(&dir, "a.db", "gw-1");
    let bad = |input: NewHousehold| field_of(store.add_household(input).unwrap_err());
    assert_eq!(
        bad(NewHousehold {
            address: "  ".into(),
            ..Default::default()
        }),
        "address"
    );
    assert_eq!(
        bad(NewHousehold {
            address: "a".into(),
            phone: "12345".into(),
            ..Default::default()
        }),
        "phone"
    );
    assert_eq!(
        bad(NewHousehold {
            address: "a".into(),
            tags: vec!["vip".into()],
            ..Default::default()
        }),
        "tag"
    );
    assert!(store.list_households().unwrap().is_empty());
    assert!(store.doc_ids().unwrap().is_empty());

    let h = household(&store, "幸福里1号楼101室", &[]);
    let resident = |id_number: &str| NewResident {
        name: "王五".into(),
        id_number: id_number.into(),
        ..Default::default()
    };
    assert_eq!(
        field_of(
            store
                .add_resident(h.id, resident("110105194912310021"))
                .unwrap_err()
        ),
        "id_number"
    );
    assert!(store.household(h.id).unwrap().residents.is_empty());
    let r = store
        .add_resident(h.id, resident("11010519491231002X"))
        .unwrap();
    assert_eq!(r.birth_date, "1949-12-31");
    assert_eq!(r.gender, Gender::Female);
    let err = store
        .add_resident(HouseholdId::new(), resident("11010519491231002X"))
        .unwrap_err();
    assert!(matches!(
        err,
        Error::NotFound {
            kind: "household",
            ..
        }
    ));
    let err = store
        .edit_household(
            h.id,
            HouseholdEdit {
                address: Some(String::new()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(field_of(err), "address");
    assert_eq!(store.household(h.id).unwrap().address, "幸福里1号楼101室");
    assert!(store.check().unwrap().ok);
}

#[test]
fn households_edit_search_and_residents() {
    let dir = TempDir::new().unwrap();
    let (store, _) = phone(&dir, "a.db", "gw-1");
    let a = household(&store, "幸福里1号楼101室", &["低保"]);
    let b = household(&store, "和平苑2号楼202室", &[]);
    store
        .add_resident(
            b.id,
            NewResident {
                name: "赵六".into(),
                tags: vec!["独居老人".into()],
                ..Default::default()
            },
        )
        .unwrap();
    let edited = store
        .edit_household(
            a.id,
            HouseholdEdit {
                phone: Some("021-62345678".into()),
                add_tags: vec!["disabled".into()],
                remove_tags: vec!["low_income".into()],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(edited.phone, "021-62345678");
    assert_eq!(edited.tags, vec![SpecialGroup::Disabled]);

    let search = |text: &str, tag: Option<&str>| -> Vec<HouseholdId> {
        store
            .search_households(&HouseholdQuery {
                text: text.into(),
                tag: tag.map(String::from),
            })
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect()
    };
    assert_eq!(search("和平", None), vec![b.id]);
    assert_eq!(search("赵六", None), vec![b.id]);
    assert_eq!(search("", Some("elderly_alone")), vec![b.id]);
    assert_eq!(search("", Some("残疾人")), vec![a.id]);
    assert_eq!(search("100%", None), Vec::<HouseholdId>::new());
    assert!(store
        .search_households(&HouseholdQuery {
            text: String::new(),
            tag: Some("x".into())
        })
        .is_err());
    assert!(store.check().unwrap().ok);
}

#[test]
fn visits_are_checked_against_the_checklist() {
    let dir = TempDir::new().unwrap();
    let (store, clock) = phone(&dir, "a.db", "gw-1");
    let h = household(&store, "幸福里1号楼101室", &[]);
    let answer = |item: &str, outcome| ChecklistAnswer {
        item: item.into(),
        outcome,
        note: String::new(),
    };
    let visit = |answers| NewVisit {
        household: h.id,
        answers,
        ..Default::default()
    };
    let err = store
        .record_visit(visit(vec![answer("nonsense", Outcome::Ok)]))
        .unwrap_err();
    assert_eq!(field_of(err), "answers.nonsense");
    let err = store
        .record_visit(visit(vec![
            answer("sanitation", Outcome::Ok),
            answer("sanitation", Outcome::Problem),
        ]))
        .unwrap_err();
    assert_eq!(field_of(err), "answers.sanitation");
    let err = store
        .record_visit(NewVisit {
            household: HouseholdId::new(),
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }));
    assert!(store.list_visits(None).unwrap().is_empty());

    clock.advance_minutes(5);
    let mut answers = vec![
        answer("disputes", Outcome::Ok),
        answer("public_areas", Outcome::Ok),
    ];
    answers.push(ChecklistAnswer {
        item: "sanitation".into(),
        outcome: Outcome::Problem,
        note: "垃圾堆放".into(),
    });
    let v = store
        .record_visit(NewVisit {
            location: Some(Location {
                lat: 31.2,
                lon: 121.5,
                accuracy_m: Some(9.0),
            }),
            note: "正常".into(),
            ..visit(answers)
        })
        .unwrap();
    let shown = store.visit(v.id).unwrap();
    assert_eq!(shown, v, "the read model returns exactly what was recorded");
    let items: Vec<_> = shown.answers.iter().map(|a| a.item.as_str()).collect();
    assert_eq!(
        items,
        ["public_areas", "sanitation", "disputes"],
        "template order"
    );
    let summary = store.list_households().unwrap().pop().unwrap();
    assert_eq!(summary.last_visit_at, Some(v.started_at));
    assert_eq!(summary.next_visit_due, "2026-06-10");
    let edited = store.edit_visit_note(v.id, "补记").unwrap();
    assert_eq!(edited.note, "补记");
    assert!(store.check().unwrap().ok);
}

#[test]
fn hazards_and_cases_follow_their_workflows() {
    let dir = TempDir::new().unwrap();
    let (store, clock) = phone(&dir, "a.db", "gw-1");
    let h = household(&store, "幸福里1号楼101室", &[]);
    let hazard = store
        .report_hazard(NewHazard {
            category: "消防安全".into(),
            description: "楼道堆物".into(),
            household: Some(h.id),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(hazard.status, HazardState::Reported);
    let err = store
        .transition_hazard(hazard.id, "rectified", "")
        .unwrap_err();
    assert!(matches!(err, Error::TransitionNotAllowed { .. }));
    clock.advance_minutes(1);
    store
        .transition_hazard(hazard.id, "rectifying", "已通知物业")
        .unwrap();
    clock.advance_minutes(1);
    let hz = store.transition_hazard(hazard.id, "rectified", "").unwrap();
    assert_eq!(hz.status, HazardState::Rectified);
    assert_eq!(hz.transitions.len(), 2);
    assert_eq!(store.list_hazards(true).unwrap().len(), 1);

    let case = store
        .open_case(NewCase {
            channel: "phone".into(),
            category: "环境卫生".into(),
            description: "楼道垃圾".into(),
            household: Some(h.id),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(case.status, CaseState::Collected);
    assert_eq!(
        field_of(
            store
                .open_case(NewCase {
                    category: "x".into(),
                    ..Default::default()
                })
                .unwrap_err()
        ),
        "description"
    );
    assert!(matches!(
        store.transition_case(case.id, "closed", "").unwrap_err(),
        Error::TransitionNotAllowed { .. }
    ));
    assert_eq!(store.list_cases(false).unwrap()[0].transitions.len(), 0);

    // Not answered after 31 minutes: past the first-response target.
    clock.advance_minutes(31);
    let figures = store.report().unwrap();
    assert_eq!(figures.cases_awaiting_response_overdue, 1);
    assert_eq!(figures.open_hazards, 1);
    clock.advance_minutes(1);
    let c = store
        .transition_case(case.id, "registered", "已受理")
        .unwrap();
    assert_eq!(c.first_response_at, Some(store.now()));
    let figures = store.report().unwrap();
    assert_eq!(figures.cases_awaiting_response_overdue, 0);
    assert_eq!(figures.cases_responded_late, 1);
    let c = store
        .transition_case(case.id, "escalated", "需社区协调")
        .unwrap();
    assert!(c.escalated);
    assert_eq!(c.status, CaseState::Escalated);
    assert!(store.check().unwrap().ok);
}

#[test]
fn forms_and_work_log() {
    let dir = TempDir::new().unwrap();
    let (store, _) = phone(&dir, "a.db", "gw-1");
    let mut answers = std::collections::BTreeMap::new();
    answers.insert("checked_at".to_string(), serde_json::json!("2026-03-10"));
    answers.insert("place".to_string(), serde_json::json!("河道"));
    let err = store
        .fill_form("duty-river-care", None, "河道", answers.clone())
        .unwrap_err();
    assert_eq!(field_of(err), "answers.problems");
    assert!(store.list_form_records(None).unwrap().is_empty());
    answers.insert("problems".to_string(), serde_json::json!(["none"]));
    let record = store
        .fill_form("duty-river-care", None, "河道", answers)
        .unwrap();
    assert_eq!(
        record.template.version, 2,
        "the river patrol ledger's own form"
    );
    assert!(matches!(
        store.fill_form("no-such", None, "x", Default::default()),
        Err(Error::NotFound { .. })
    ));
    let mut change = std::collections::BTreeMap::new();
    change.insert("earlier_problems".to_string(), serde_json::json!("fixed"));
    let edited = store.edit_form_record(record.id, change).unwrap();
    assert_eq!(
        edited.answers["earlier_problems"],
        serde_json::json!("fixed")
    );

    store
        .set_work_log_day("2026-03-10", vec!["走访独居老人".into()], "")
        .unwrap();
    store
        .set_work_log_day("2026-03-11", vec![], "雨天")
        .unwrap();
    let days = store.work_log("2026-03").unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0].priorities, vec!["走访独居老人".to_string()]);
    assert!(store.check().unwrap().ok);
}

#[test]
fn due_lists_overdue_special_groups_first() {
    let dir = TempDir::new().unwrap();
    let (store, clock) = phone(&dir, "a.db", "gw-1");
    let plain = household(&store, "1号楼101室", &[]);
    let alone = household(&store, "1号楼102室", &["elderly_alone"]);
    let poor = household(&store, "1号楼103室", &["low_income"]);
    for h in [plain.id, alone.id, poor.id] {
        store
            .record_visit(NewVisit {
                household: h,
                ..Default::default()
            })
            .unwrap();
    }
    // Five weeks later: the weekly household is 4 weeks overdue, the monthly
    // one a few days overdue, the quarterly one not due.
    clock.advance_minutes(35 * 24 * 60);
    let due: Vec<_> = store
        .due_visits()
        .unwrap()
        .into_iter()
        .map(|d| (d.household.id, d.days_overdue))
        .collect();
    assert_eq!(due, vec![(alone.id, 28), (poor.id, 4)]);
    let figures = store.report().unwrap();
    assert_eq!(figures.special_groups_overdue, 2);
    assert_eq!(figures.households_visited_this_month, 0);
}

#[test]
fn concurrent_edits_surface_as_conflicts_and_resolve_by_choosing() {
    let dir = TempDir::new().unwrap();
    let (a, clock_a) = phone(&dir, "a.db", "gw-1");
    let (b, clock_b) = phone(&dir, "b.db", "gw-2");
    let h = household(&a, "幸福里1号楼101室", &[]);
    let doc = DocId::household(h.id);
    b.merge_doc(&doc, &a.export_doc(&doc).unwrap()).unwrap();
    assert_eq!(b.household(h.id).unwrap(), a.household(h.id).unwrap());
    assert_eq!(
        a.dirty_docs().unwrap(),
        vec![doc.clone()],
        "a local edit is dirty"
    );
    assert!(
        b.dirty_docs().unwrap().is_empty(),
        "a merge is not local work"
    );

    clock_a.advance_minutes(10);
    clock_b.advance_minutes(20);
    a.edit_household(
        h.id,
        HouseholdEdit {
            phone: Some("13900000001".into()),
            add_tags: vec!["低保".into()],
            ..Default::default()
        },
    )
    .unwrap();
    b.edit_household(
        h.id,
        HouseholdEdit {
            phone: Some("13900000002".into()),
            add_tags: vec!["残疾人".into()],
            ..Default::default()
        },
    )
    .unwrap();
    let from_a = a.export_doc(&doc).unwrap();
    let from_b = b.export_doc(&doc).unwrap();
    assert!(a.merge_doc(&doc, &from_b).unwrap());
    assert!(b.merge_doc(&doc, &from_a).unwrap());
    assert!(
        !b.merge_doc(&doc, &from_a).unwrap(),
        "merging twice is a no-op"
    );

    let merged = a.household(h.id).unwrap();
    assert_eq!(merged, b.household(h.id).unwrap());
    assert_eq!(
        merged.tags,
        vec![SpecialGroup::Disabled, SpecialGroup::LowIncome],
        "tag sets merge"
    );
    let conflicts = a.conflicts().unwrap();
    assert_eq!(conflicts, b.conflicts().unwrap());
    assert_eq!(conflicts.len(), 1);
    let c = &conflicts[0];
    assert_eq!(c.field, "phone");
    let values: Vec<_> = c
        .values
        .iter()
        .map(|v| (v.value.as_str(), v.by.as_str()))
        .collect();
    assert_eq!(
        values,
        vec![("13900000001", "gw-1"), ("13900000002", "gw-2")]
    );
    assert_eq!(c.values[0].at, at(T0).plus_minutes(10));

    assert!(a
        .resolve_conflict(h.id, None, "phone", "13800000000")
        .is_err());
    let resolved = a
        .resolve_conflict(h.id, None, "phone", "13900000001")
        .unwrap();
    assert_eq!(resolved.phone, "13900000001");
    assert!(a.conflicts().unwrap().is_empty());
    b.merge_doc(&doc, &a.export_doc(&doc).unwrap()).unwrap();
    assert!(b.conflicts().unwrap().is_empty());
    assert_eq!(b.household(h.id).unwrap().phone, "13900000001");
    assert!(a.check().unwrap().ok && b.check().unwrap().ok);
}

#[test]
fn concurrent_case_transitions_are_all_kept() {
    let dir = TempDir::new().unwrap();
    let (a, clock_a) = phone(&dir, "a.db", "gw-1");
    let (b, clock_b) = phone(&dir, "b.db", "gw-2");
    let case = a
        .open_case(NewCase {
            category: "噪音扰民".into(),
            description: "夜间施工".into(),
            ..Default::default()
        })
        .unwrap();
    let doc = DocId::case(case.id);
    b.merge_doc(&doc, &a.export_doc(&doc).unwrap()).unwrap();
    clock_a.advance_minutes(3);
    clock_b.advance_minutes(4);
    a.transition_case(case.id, "registered", "A 受理").unwrap();
    b.transition_case(case.id, "escalated", "B 上报").unwrap();
    a.merge_doc(&doc, &b.export_doc(&doc).unwrap()).unwrap();
    b.merge_doc(&doc, &a.export_doc(&doc).unwrap()).unwrap();
    let (ca, cb) = (a.case(case.id).unwrap(), b.case(case.id).unwrap());
    assert_eq!(ca, cb);
    assert_eq!(ca.transitions.len(), 2);
    assert_eq!(
        ca.status,
        CaseState::Registered,
        "the first transition from the case's state applies"
    );
    assert_eq!(ca.first_response_at, Some(at(T0).plus_minutes(3)));
    // B's move started from a state the case no longer had: kept and listed.
    let conflicts = a.conflicts().unwrap();
    assert_eq!(conflicts, b.conflicts().unwrap());
    assert_eq!(conflicts.len(), 1);
    let c = &conflicts[0];
    assert_eq!((c.record.as_str(), c.field.as_str()), ("case", "workflow"));
    assert_eq!(c.record_id, case.id.to_string());
    assert_eq!(c.values[0].value, "collected→escalated");
    assert_eq!(c.values[0].by, "gw-2");
    assert!(
        !ca.escalated,
        "an escalation that did not apply did not happen"
    );
    // A new transition is made from the derived state, as always, and the
    // conflict is no longer open: the case moved on.
    clock_a.advance_minutes(10);
    a.transition_case(case.id, "escalated", "A 上报").unwrap();
    assert_eq!(a.case(case.id).unwrap().status, CaseState::Escalated);
    assert!(a.conflicts().unwrap().is_empty());
    assert_eq!(
        a.case(case.id).unwrap().transitions.len(),
        3,
        "history kept"
    );
    assert!(a.check().unwrap().ok);
}

#[test]
fn concurrent_hazard_and_case_field_edits_are_listed_and_resolved() {
    let dir = TempDir::new().unwrap();
    let (a, clock_a) = phone(&dir, "a.db", "gw-1");
    let (b, clock_b) = phone(&dir, "b.db", "gw-2");
    let hazard = a
        .report_hazard(NewHazard {
            category: "消防安全".into(),
            description: "楼道堆物".into(),
            severity: "medium".into(),
            ..Default::default()
        })
        .unwrap();
    let doc = DocId::hazard(hazard.id);
    b.merge_doc(&doc, &a.export_doc(&doc).unwrap()).unwrap();
    clock_a.advance_minutes(5);
    clock_b.advance_minutes(6);
    let edit = |severity: &str, description: &str| HazardEdit {
        severity: Some(severity.into()),
        description: Some(description.into()),
        ..Default::default()
    };
    a.edit_hazard(hazard.id, edit("high", "堆满杂物")).unwrap();
    b.edit_hazard(hazard.id, edit("low", "已清理一半")).unwrap();
    a.merge_doc(&doc, &b.export_doc(&doc).unwrap()).unwrap();
    b.merge_doc(&doc, &a.export_doc(&doc).unwrap()).unwrap();
    let conflicts = a.conflicts().unwrap();
    assert_eq!(conflicts, b.conflicts().unwrap());
    let fields: Vec<&str> = conflicts.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["description", "severity"]);
    assert!(conflicts
        .iter()
        .all(|c| c.record == "hazard" && c.household.is_none()));
    let severity = &conflicts[1];
    let values: Vec<(&str, &str)> = severity
        .values
        .iter()
        .map(|v| (v.value.as_str(), v.by.as_str()))
        .collect();
    assert_eq!(values, [("high", "gw-1"), ("low", "gw-2")]);
    // Picking the value that happens to be shown still overwrites both.
    let shown = a.hazard(hazard.id).unwrap().severity.code().to_string();
    let id = hazard.id.to_string();
    assert!(a
        .resolve_record_conflict("hazard", &id, "severity", "medium")
        .is_err());
    a.resolve_record_conflict("hazard", &id, "severity", &shown)
        .unwrap();
    let left: Vec<String> = a
        .conflicts()
        .unwrap()
        .into_iter()
        .map(|c| c.field)
        .collect();
    assert_eq!(left, ["description"]);
    b.merge_doc(&doc, &a.export_doc(&doc).unwrap()).unwrap();
    assert_eq!(b.conflicts().unwrap().len(), 1);
    assert!(a.check().unwrap().ok && b.check().unwrap().ok);
}

#[test]
fn encrypted_store_hides_names_and_refuses_wrong_keys() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("secret.db");
    let key = crate::DbKey::Passphrase("correct horse".into());
    {
        let store = Store::open(&path, Some(key.clone())).unwrap();
        store.init("gw-1", "张三", "G-001").unwrap();
        let h = household(&store, "幸福里1号楼101室", &[]);
        store
            .add_resident(
                h.id,
                NewResident {
                    name: "欧阳娜娜".into(),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    let needle = "欧阳娜娜".as_bytes();
    for file in ["secret.db", "secret.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{file} leaks a name"
            );
        }
    }
    let wrong = Store::open(&path, Some(crate::DbKey::Passphrase("wrong".into())));
    assert!(matches!(wrong, Err(Error::WrongKey)));
    assert!(matches!(Store::open(&path, None), Err(Error::WrongKey)));
    let raw = Store::open(&path, Some(crate::DbKey::Raw([7; 32])));
    assert!(matches!(raw, Err(Error::WrongKey)));
    let store = Store::open(&path, Some(key)).unwrap();
    assert_eq!(store.list_households().unwrap().len(), 1);
}

#[test]
fn writes_from_several_threads_all_land() {
    let dir = TempDir::new().unwrap();
    let (store, _) = phone(&dir, "a.db", "gw-1");
    let store = Arc::new(store);
    let h = household(&store, "幸福里1号楼101室", &[]);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    store
                        .record_visit(NewVisit {
                            household: h.id,
                            ..Default::default()
                        })
                        .unwrap();
                    store.list_households().unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(store.list_visits(Some(h.id)).unwrap().len(), 20);
    assert!(store.check().unwrap().ok);
}

#[test]
fn demo_is_deterministic_and_consistent() {
    let dir = TempDir::new().unwrap();
    let make = |name: &str| {
        let (store, _) = phone(&dir, name, "gw-1");
        let summary = crate::demo::generate(
            &store,
            crate::demo::DemoOptions {
                households: 6,
                years: 1,
                seed: 7,
            },
            |_, _| {},
        )
        .unwrap();
        (store, summary)
    };
    let (a, sa) = make("a.db");
    let (b, sb) = make("b.db");
    assert_eq!(sa, sb);
    assert_eq!(sa.households, 6);
    assert!(sa.visits >= 6 * 10);
    assert_eq!(a.list_households().unwrap(), b.list_households().unwrap());
    assert_eq!(a.list_cases(false).unwrap(), b.list_cases(false).unwrap());
    let report = a.check().unwrap();
    assert!(report.ok, "{report:?}");
}
