//! The input limits of `docs/limits.md` at the [`Store`] API (what the apps
//! reach through the bindings): over-long, control, bidi and invisible-only
//! text, out-of-range dates and months are refused with a validation error
//! naming the field, nothing is stored, and records stored before stay
//! readable.

use super::*;
use crate::clock::ManualClock;
use crate::model::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use tempfile::TempDir;

/// 2026-03-10 10:00 in Shanghai.
const T0_MS: i64 = 1_773_108_000_000;

fn phone(dir: &TempDir) -> Store {
    let store = Store::open_with(
        dir.path().join("p.db"),
        StoreOptions {
            clock: Some(Arc::new(ManualClock::new(Timestamp(T0_MS)))),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.init("gw-001", "张三", "G-001").unwrap();
    store
}

/// The field of a validation error (panics on anything else).
fn field_of<T: std::fmt::Debug>(result: Result<T>) -> String {
    match result {
        Err(Error::Validation { field, message }) => {
            assert!(message.contains(" / "), "zh-CN / English: {message}");
            field
        }
        Err(Error::FormInvalid { errors, .. }) => errors[0].field.clone(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn household(address: &str) -> NewHousehold {
    NewHousehold {
        address: address.into(),
        ..NewHousehold::default()
    }
}

#[test]
fn household_text_is_checked_and_nothing_is_stored() {
    let dir = TempDir::new().unwrap();
    let store = phone(&dir);
    let docs_before = store.doc_ids().unwrap().len();
    let long = "幸".repeat(43_000);
    for (input, field) in [
        (household(&long), "address"),
        (household("\u{200b}"), "address"),
        (household(" \u{feff} "), "address"),
        (household("幸福里\u{1b}[2J"), "address"),
        (household("幸福里\r501"), "address"),
        (household("幸福里\n501"), "address"),
        (household("幸福里\u{7}"), "address"),
        (household("幸福里\u{202e}105"), "address"),
        (
            NewHousehold {
                representative: "李\u{1b}四".into(),
                ..household("幸福里")
            },
            "representative",
        ),
        (
            NewHousehold {
                room: "5".repeat(33),
                ..household("幸福里")
            },
            "room",
        ),
        (
            NewHousehold {
                note: "x".repeat(50 * 1024 * 1024),
                ..household("幸福里")
            },
            "note",
        ),
    ] {
        assert_eq!(field_of(store.add_household(input)), field);
    }
    assert_eq!(store.doc_ids().unwrap().len(), docs_before);
    // A multi-line note keeps its line breaks; the address is trimmed.
    let h = store
        .add_household(NewHousehold {
            note: "第一行\r\n第二行".into(),
            ..household("  幸福里3号楼501室 ")
        })
        .unwrap();
    assert_eq!(h.address, "幸福里3号楼501室");
    assert_eq!(h.note, "第一行\n第二行");
    let edit = |edit: HouseholdEdit| store.edit_household(h.id, edit);
    assert_eq!(
        field_of(edit(HouseholdEdit {
            address: Some("\u{200b}".into()),
            ..HouseholdEdit::default()
        })),
        "address"
    );
    assert_eq!(
        field_of(edit(HouseholdEdit {
            community: Some("a\u{202e}b".into()),
            ..HouseholdEdit::default()
        })),
        "community"
    );
    assert_eq!(store.household(h.id).unwrap().address, "幸福里3号楼501室");
}

#[test]
fn residents_names_and_birth_dates() {
    let dir = TempDir::new().unwrap();
    let store = phone(&dir);
    let h = store.add_household(household("幸福里")).unwrap();
    let resident = |name: &str, birth: &str, id_number: &str| NewResident {
        name: name.into(),
        birth_date: birth.into(),
        id_number: id_number.into(),
        ..NewResident::default()
    };
    for (input, field) in [
        (resident("\u{200b}", "", ""), "name"),
        (resident("王\u{1b}五", "", ""), "name"),
        (resident(&"王".repeat(65), "", ""), "name"),
        (resident("王五", "2099-01-01", ""), "birth_date"),
        (resident("王五", "0000-01-01", ""), "birth_date"),
        (resident("王五", "1899-12-31", ""), "birth_date"),
        // The day after the store's local today (2026-03-10).
        (resident("王五", "2026-03-11", ""), "birth_date"),
    ] {
        assert_eq!(field_of(store.add_resident(h.id, input)), field);
    }
    assert!(store.household(h.id).unwrap().residents.is_empty());
    let ok = store
        .add_resident(h.id, resident("王五", "2026-03-10", ""))
        .unwrap();
    assert_eq!(ok.birth_date, "2026-03-10");
    let edit = store.edit_resident(
        h.id,
        ok.id,
        ResidentEdit {
            birth_date: Some("2099-01-01".into()),
            ..ResidentEdit::default()
        },
    );
    assert_eq!(field_of(edit), "birth_date");
    let edit = store.edit_resident(
        h.id,
        ok.id,
        ResidentEdit {
            relation: Some("配\u{202e}偶".into()),
            ..ResidentEdit::default()
        },
    );
    assert_eq!(field_of(edit), "relation");
}

#[test]
fn visits_hazards_and_cases() {
    let dir = TempDir::new().unwrap();
    let store = phone(&dir);
    let h = store.add_household(household("幸福里")).unwrap();
    let visit = |note: &str, answer_note: &str| NewVisit {
        household: h.id,
        started_at: None,
        ended_at: None,
        location: None,
        answers: vec![ChecklistAnswer {
            item: "sanitation".into(),
            outcome: Outcome::parse("problem", "o").unwrap(),
            note: answer_note.into(),
        }],
        note: note.into(),
        follow_up_cases: vec![],
        photos: vec![],
    };
    let huge = "访".repeat(4001);
    assert_eq!(field_of(store.record_visit(visit(&huge, ""))), "note");
    assert_eq!(field_of(store.record_visit(visit("a\u{1b}", ""))), "note");
    assert_eq!(
        field_of(store.record_visit(visit("", "漏气\u{7}"))),
        "answers.sanitation.note"
    );
    let key = store.record_visit(NewVisit {
        answers: vec![ChecklistAnswer {
            item: "x\u{1b}[31m".into(),
            outcome: Outcome::parse("ok", "o").unwrap(),
            note: String::new(),
        }],
        ..visit("", "")
    });
    assert_eq!(field_of(key), "answers.x\\u{1b}[31m");
    let future = store.record_visit(NewVisit {
        started_at: Some(Timestamp(T0_MS + 2 * 86_400_000)),
        ..visit("", "")
    });
    assert_eq!(field_of(future), "started_at");
    assert!(store.list_visits(None).unwrap().is_empty());
    let v = store.record_visit(visit("第一行\n第二行", "")).unwrap();
    assert_eq!(v.note, "第一行\n第二行");
    assert_eq!(field_of(store.edit_visit_note(v.id, "\u{202e}")), "note");

    let hazard = |category: &str, description: &str| NewHazard {
        category: category.into(),
        severity: String::new(),
        location: None,
        place: String::new(),
        description: description.into(),
        household: None,
        deadline: None,
        photos: vec![],
    };
    assert_eq!(
        field_of(store.report_hazard(hazard("\u{200b}", "漏气"))),
        "category"
    );
    assert_eq!(
        field_of(store.report_hazard(hazard("燃气", &"漏".repeat(4001)))),
        "description"
    );
    let ancient = store.report_hazard(NewHazard {
        deadline: Some(Timestamp(0)),
        ..hazard("燃气", "漏气")
    });
    assert_eq!(field_of(ancient), "deadline");
    assert!(store.list_hazards(false).unwrap().is_empty());
    let hz = store.report_hazard(hazard("燃气", "漏气\n两处")).unwrap();
    assert_eq!(
        field_of(store.transition_hazard(hz.id, "rectifying", "a\u{1b}")),
        "note"
    );
    let case = NewCase {
        channel: String::new(),
        category: "邻里纠纷".into(),
        description: "\u{200b}\u{2060}".into(),
        urgency: String::new(),
        household: None,
        resident: None,
        opened_at: None,
        photos: vec![],
    };
    assert_eq!(field_of(store.open_case(case.clone())), "description");
    let case = NewCase {
        description: "噪音".into(),
        opened_at: Some(Timestamp(T0_MS + 30 * 86_400_000)),
        ..case
    };
    assert_eq!(field_of(store.open_case(case)), "opened_at");
    assert!(store.list_cases(false).unwrap().is_empty());
}

#[test]
fn forms_work_logs_and_months() {
    let dir = TempDir::new().unwrap();
    let store = phone(&dir);
    let answers = |place: serde_json::Value| -> BTreeMap<String, serde_json::Value> {
        [
            ("checked_at".to_string(), serde_json::json!("2026-03-10")),
            ("place".to_string(), place),
            ("problems".to_string(), serde_json::json!(["none"])),
        ]
        .into_iter()
        .collect()
    };
    let fill = |place: serde_json::Value, subject: &str| {
        store.fill_form("duty-river-care", None, subject, answers(place))
    };
    assert_eq!(field_of(fill("河\u{1b}道".into(), "河道")), "answers.place");
    assert_eq!(field_of(fill("\u{200b}".into(), "河道")), "answers.place");
    assert_eq!(
        field_of(fill("河".repeat(4001).into(), "河道")),
        "answers.place"
    );
    assert_eq!(field_of(fill("河道".into(), "河\u{202e}道")), "subject");
    let mut odd = answers("河道".into());
    odd.insert("x\u{1b}".into(), serde_json::json!(1));
    let err = store.fill_form("duty-river-care", None, "河道", odd);
    assert_eq!(field_of(err), "answers.x\\u{1b}");
    let mut old = answers("河道".into());
    old.insert("checked_at".into(), serde_json::json!("0000-01-01"));
    let err = store.fill_form("duty-river-care", None, "河道", old);
    assert_eq!(field_of(err), "answers.checked_at");
    assert!(store.list_form_records(None).unwrap().is_empty());
    fill("河道\n东段".into(), "河道").unwrap();

    assert_eq!(field_of(store.work_log("2026-13")), "month");
    assert_eq!(field_of(store.work_log("2026-00")), "month");
    assert_eq!(field_of(store.work_log("2026-3")), "month");
    assert!(store.work_log("2026-03").unwrap().is_empty());
    let set = |date: &str, priorities: Vec<String>, notes: &str| {
        store.set_work_log_day(date, priorities, notes)
    };
    assert_eq!(field_of(set("2099-01-01", vec![], "")), "date");
    assert_eq!(field_of(set("0000-01-01", vec![], "")), "date");
    assert_eq!(
        field_of(set("2026-03-10", vec!["a\u{1b}".into()], "")),
        "priorities"
    );
    assert_eq!(
        field_of(set("2026-03-10", vec!["走访".into(); 21], "")),
        "priorities"
    );
    assert_eq!(field_of(set("2026-03-10", vec![], "\u{202e}")), "notes");
    let day = set("2026-03-10", vec!["走访".into(), " ".into()], "上午\n下午").unwrap();
    assert_eq!(day.priorities, vec!["走访".to_string()]);
    assert_eq!(day.notes, "上午\n下午");
}

#[test]
fn owner_text_is_checked() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(dir.path().join("p.db"), None).unwrap();
    assert_eq!(field_of(store.init("gw\u{1b}", "张三", "G")), "worker_id");
    assert_eq!(field_of(store.init("gw", "\u{200b}", "G")), "worker_name");
    assert_eq!(field_of(store.init("gw", "张三", &"G".repeat(65))), "grid");
    assert!(matches!(store.device(), Err(Error::NotInitialized)));
}

#[test]
fn records_stored_before_the_limits_still_load() {
    let dir = TempDir::new().unwrap();
    let store = phone(&dir);
    let h = store.add_household(household("幸福里")).unwrap();
    // Write an address the rules now refuse straight into the document, as
    // an older version or another phone's sync could have.
    let (device, meta) = store.meta().unwrap();
    let long = "旧".repeat(300);
    store
        .db
        .write(|tx| {
            tx.edit_doc(
                &crate::docs::DocId::household(h.id),
                crate::docs::DocKind::Household,
                &device.grid,
                &meta,
                |am| {
                    use automerge::transaction::Transactable;
                    am.put(automerge::ROOT, "address", long.as_str())?;
                    Ok(())
                },
            )
        })
        .unwrap();
    assert_eq!(store.household(h.id).unwrap().address, long);
    assert_eq!(store.list_households().unwrap().len(), 1);
    // Editing another field leaves the stored address alone.
    let edited = store
        .edit_household(
            h.id,
            HouseholdEdit {
                room: Some("501".into()),
                ..HouseholdEdit::default()
            },
        )
        .unwrap();
    assert_eq!(edited.address, long);
}

#[test]
fn demo_fills_only_fresh_or_never_synced_stores() {
    use crate::demo::{generate, prepare_store, DemoOptions, DEMO_WORKER};
    let options = DemoOptions {
        households: 1,
        years: 0,
        seed: 1,
    };
    // A fresh store is initialised with the demo gridworker.
    let dir = TempDir::new().unwrap();
    let fresh = Store::open(dir.path().join("fresh.db"), None).unwrap();
    prepare_store(&fresh, false).unwrap();
    assert_eq!(fresh.device().unwrap().worker_id.as_str(), DEMO_WORKER.0);
    assert_eq!(generate(&fresh, options, |_, _| {}).unwrap().households, 1);

    // A real (initialised) store: refused without --force, allowed with it
    // while it has never synced, refused once it has.
    let store = phone(&dir);
    assert_eq!(field_of(prepare_store(&store, false)), "store");
    prepare_store(&store, true).unwrap();
    store
        .db
        .write(|tx| {
            tx.conn().execute(
                "INSERT INTO sync_meta (key, value) VALUES ('server_id', 'srv')",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    assert_eq!(field_of(prepare_store(&store, true)), "store");
    assert_eq!(store.device().unwrap().worker_id.as_str(), "gw-001");
    assert!(store.list_households().unwrap().is_empty());
}
