//! Published templates and grid policies as a phone sees them: version
//! coexistence, the newest version for new records, publishing rules, and
//! policies driving the due list and the case timers (injectable clock).

use super::*;
use crate::clock::ManualClock;
use crate::forms::{Field, FieldType, Template};
use crate::model::*;
use crate::schedule::{Policy, PolicyOverride, VisitInterval};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use tempfile::TempDir;

const T0: &str = "2026-03-10T02:00:00Z"; // 10:00 in Shanghai.

fn at(text: &str) -> Timestamp {
    Timestamp::from_jiff(text.parse().unwrap())
}

fn phone(dir: &TempDir) -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(at(T0)));
    let store = Store::open_with(
        dir.path().join("phone.db"),
        StoreOptions {
            clock: Some(clock.clone()),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.init("gw-1", "张三", "G-001").unwrap();
    (store, clock)
}

fn publish(store: &Store, template: &Template) -> Result<bool> {
    let meta = server_meta("00aa11bb", "staff-1", store.now())?;
    store.db.write(|tx| {
        publish_template_in(tx, template, &GridCode("TOWN".into()), &meta)
            .map(|(_, changed)| changed)
    })
}

fn set_policy(store: &Store, policy: &Policy) {
    let meta = server_meta("00aa11bb", "staff-1", store.now()).unwrap();
    let grid = store.device().unwrap().grid;
    store
        .db
        .write(|tx| set_policy_in(tx, &grid, policy, &meta))
        .unwrap();
}

/// duty-sanitation v3, published over the built-in v2: adds a required
/// `bags` count shown when the area type is known.
fn sanitation_v3() -> Template {
    let mut t = crate::forms::find("duty-sanitation", Some(2)).unwrap();
    t.version = 3;
    t.fields.push(Field {
        id: "bags".into(),
        section: String::new(),
        label_zh: "清运袋数".into(),
        label_en: "Bags removed".into(),
        field_type: FieldType::Integer,
        required: true,
        choices: vec![],
        relevant: Some("${area_type} != ''".into()),
        constraint: Some(". > 0".into()),
        constraint_message: None,
    });
    t
}

/// Answers the built-in v2 of duty-sanitation accepts.
fn v2_answers() -> BTreeMap<String, serde_json::Value> {
    crate::forms::duties::example_answers("duty-sanitation", "2026-03-10").unwrap()
}

fn answers(pairs: &[(&str, serde_json::Value)]) -> BTreeMap<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn published_versions_coexist_and_the_newest_is_offered() {
    let dir = TempDir::new().unwrap();
    let (store, _clock) = phone(&dir);
    let old = store
        .fill_form("duty-sanitation", None, "3栋", v2_answers())
        .unwrap();
    assert_eq!(old.template.version, 2, "the newest built-in version");

    assert!(publish(&store, &sanitation_v3()).unwrap());
    let listed: Vec<(String, u32, String, bool)> = store
        .templates()
        .unwrap()
        .into_iter()
        .filter(|t| t.id == "duty-sanitation")
        .map(|t| (t.id, t.version, t.source, t.newest))
        .collect();
    assert_eq!(
        listed,
        [
            ("duty-sanitation".into(), 1, "builtin".into(), false),
            ("duty-sanitation".into(), 2, "builtin".into(), false),
            ("duty-sanitation".into(), 3, "published".into(), true)
        ]
    );
    assert_eq!(store.template("duty-sanitation", None).unwrap().version, 3);
    assert_eq!(
        store
            .template("duty-sanitation", Some(1))
            .unwrap()
            .fields
            .len(),
        6
    );

    // New records use v3, whose extra field is required when shown.
    let err = store
        .fill_form("duty-sanitation", None, "3栋", v2_answers())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("answers.bags (清运袋数 / Bags removed)"),
        "{err}"
    );
    let mut v3_answers = v2_answers();
    v3_answers.insert("bags".into(), json!(4));
    let new = store
        .fill_form("duty-sanitation", None, "3栋", v3_answers)
        .unwrap();
    assert_eq!(new.template.version, 3);

    // The v2 record still reads and edits under v2: `bags` is no field of it.
    assert_eq!(store.form_record(old.id).unwrap().template.version, 2);
    store
        .edit_form_record(old.id, answers(&[("place", json!("4栋"))]))
        .unwrap();
    let err = store
        .edit_form_record(old.id, answers(&[("bags", json!(2))]))
        .unwrap_err();
    assert!(err.to_string().contains("no such field"), "{err}");
    assert!(store.check().unwrap().ok);
}

#[test]
fn publishing_rules() {
    let dir = TempDir::new().unwrap();
    let (store, _clock) = phone(&dir);
    // Not at or below a built-in version (v1 and v2 are built in).
    for version in [1, 2] {
        let mut same_as_builtin = sanitation_v3();
        same_as_builtin.version = version;
        let err = publish(&store, &same_as_builtin).unwrap_err();
        assert!(matches!(err, Error::Validation { ref field, .. } if field == "template.version"));
    }
    // Idempotent; different content under a published version is refused.
    assert!(publish(&store, &sanitation_v3()).unwrap());
    assert!(!publish(&store, &sanitation_v3()).unwrap());
    let mut changed = sanitation_v3();
    changed.title_zh = "改过的标题".into();
    assert!(publish(&store, &changed).is_err());
    // A malformed template is refused with the structural error.
    let mut broken = sanitation_v3();
    broken.version = 4;
    broken.fields.last_mut().unwrap().relevant = Some("${missing}".into());
    let err = publish(&store, &broken).unwrap_err().to_string();
    assert!(err.contains("bags.relevant"), "{err}");
    assert_eq!(store.template("duty-sanitation", None).unwrap().version, 3);
}

#[test]
fn a_published_checklist_version_records_visits() {
    let dir = TempDir::new().unwrap();
    let (store, _clock) = phone(&dir);
    let mut v2 = crate::forms::find("visit-checklist", None).unwrap();
    v2.version = 2;
    v2.fields.push(Field {
        id: "gas_safety".into(),
        section: "must_look".into(),
        label_zh: "燃气安全".into(),
        label_en: "Gas safety".into(),
        field_type: FieldType::ChecklistItem,
        required: false,
        choices: vec![],
        relevant: None,
        constraint: None,
        constraint_message: None,
    });
    publish(&store, &v2).unwrap();
    let h = store
        .add_household(NewHousehold {
            address: "1栋101".into(),
            representative: "李四".into(),
            ..NewHousehold::default()
        })
        .unwrap();
    let visit = store
        .record_visit(NewVisit {
            household: h.id,
            answers: vec![
                ChecklistAnswer {
                    item: "gas_safety".into(),
                    outcome: Outcome::Problem,
                    note: "软管老化".into(),
                },
                ChecklistAnswer {
                    item: "sanitation".into(),
                    outcome: Outcome::Ok,
                    note: String::new(),
                },
            ],
            ..NewVisit::default()
        })
        .unwrap();
    assert_eq!(visit.checklist.version, 2);
    let read = store.visit(visit.id).unwrap();
    let items: Vec<(&str, Outcome)> = read
        .answers
        .iter()
        .map(|a| (a.item.as_str(), a.outcome))
        .collect();
    assert!(
        items.contains(&("gas_safety", Outcome::Problem)),
        "{items:?}"
    );
    assert!(items.contains(&("sanitation", Outcome::Ok)), "{items:?}");
    assert!(store.check().unwrap().ok);
}

#[test]
fn the_grid_policy_drives_due_visits() {
    let dir = TempDir::new().unwrap();
    let (store, clock) = phone(&dir);
    let h = store
        .add_household(NewHousehold {
            address: "2栋".into(),
            representative: "王五".into(),
            tags: vec!["low_income".into()],
            ..NewHousehold::default()
        })
        .unwrap();
    store
        .record_visit(NewVisit {
            household: h.id,
            ..NewVisit::default()
        })
        .unwrap();
    clock.set(at("2026-03-20T02:00:00Z"));
    // Default: 低保 monthly, so not due ten days later.
    assert!(store.due_visits().unwrap().is_empty());
    assert_eq!(
        store.list_households().unwrap()[0].visit_interval,
        VisitInterval::Monthly
    );
    let weekly = Policy::default().with(
        &PolicyOverride::from_json(r#"{"visit_intervals": {"low_income": "weekly"}}"#).unwrap(),
    );
    set_policy(&store, &weekly);
    assert_eq!(store.policy().unwrap(), weekly);
    let due = store.due_visits().unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].household.visit_interval, VisitInterval::Weekly);
    assert_eq!(due[0].days_overdue, 3);
}

#[test]
fn case_timers_follow_the_policy_and_the_clock() {
    let dir = TempDir::new().unwrap();
    let (store, clock) = phone(&dir);
    let case = store
        .open_case(NewCase {
            category: "环境卫生".into(),
            description: "楼道堆物".into(),
            ..NewCase::default()
        })
        .unwrap();
    assert_eq!(case.timers.response_due_at, at(T0).plus_minutes(30));
    clock.advance_minutes(29);
    assert!(!store.case(case.id).unwrap().timers.response_overdue);
    assert!(store.overdue_cases().unwrap().is_empty());
    clock.advance_minutes(2);
    let c = store.case(case.id).unwrap();
    assert!(c.timers.response_overdue && !c.timers.handling_overdue);
    assert_eq!(store.overdue_cases().unwrap()[0].id, case.id);

    // Answering stops the response clock but records that it was late.
    store
        .transition_case(case.id, "registered", "已受理")
        .unwrap();
    let c = store.case(case.id).unwrap();
    assert!(!c.timers.response_overdue && c.timers.responded_late);
    assert!(store.overdue_cases().unwrap().is_empty());

    // Handling: 72 h by default; the grid's policy makes 环境卫生 24 h.
    set_policy(
        &store,
        &Policy::default()
            .with(&PolicyOverride::from_json(r#"{"handling_hours": {"环境卫生": 24}}"#).unwrap()),
    );
    clock.set(at(T0).plus_minutes(25 * 60));
    let c = store.case(case.id).unwrap();
    assert_eq!(c.timers.handling_due_at, at(T0).plus_minutes(24 * 60));
    assert!(c.timers.handling_overdue);
    assert_eq!(store.report().unwrap().cases_past_handling_deadline, 1);
    // Escalation is a recorded transition; feedback ends the handling clock.
    for (to, note) in [
        ("escalated", "上报社区"),
        ("dispatched", "派物业"),
        ("handling", ""),
        ("feedback", "已清理"),
    ] {
        store.transition_case(case.id, to, note).unwrap();
    }
    let c = store.case(case.id).unwrap();
    assert!(c.escalated && !c.timers.handling_overdue);
    assert!(c
        .transitions
        .iter()
        .any(|t| t.to == "escalated" && t.note == "上报社区"));
}
