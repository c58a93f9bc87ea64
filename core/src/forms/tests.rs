//! Template structure checks and answer validation: every field type,
//! relevance, constraints, and the one-error-per-field report.

use super::*;
use crate::{Error, FieldError};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn answers(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn errors(t: &Template, a: &BTreeMap<String, Value>, today: &str) -> Vec<FieldError> {
    match t.validate_answers_on(a, today) {
        Err(Error::FormInvalid { errors, .. }) => errors,
        other => panic!("expected FormInvalid, got {other:?}"),
    }
}

fn failing(t: &Template, a: &BTreeMap<String, Value>) -> Vec<String> {
    errors(t, a, "2026-11-29")
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn default_pack_has_twelve_duties_and_a_twelve_item_checklist() {
    assert_eq!(default_pack::twelve_duties().len(), 12);
    let checklist = default_pack::visit_checklist();
    assert_eq!(checklist.fields.len(), 12);
    assert_eq!(checklist.sections.len(), 3);
    assert!(find("duty-river-care", None).is_some());
    assert!(find("duty-river-care", Some(9)).is_none());
    for t in builtin() {
        t.check().unwrap_or_else(|e| panic!("{}: {e}", t.id));
        // The JSON format round-trips.
        let text = serde_json::to_string(t).unwrap();
        assert_eq!(&Template::from_json(&text).unwrap(), t);
    }
}

fn every_type() -> Template {
    let f = |id: &str, t: FieldType| Field {
        id: id.into(),
        section: "main".into(),
        label_zh: format!("标签{id}"),
        label_en: format!("Label {id}"),
        field_type: t,
        required: false,
        choices: vec![],
        relevant: None,
        constraint: None,
        constraint_message: None,
    };
    let choices = || {
        ["a", "b", "c"]
            .iter()
            .map(|v| Choice {
                value: v.to_string(),
                label_zh: format!("选{v}"),
                label_en: v.to_uppercase(),
            })
            .collect()
    };
    Template {
        id: "all-types".into(),
        version: 1,
        title_zh: "全部类型".into(),
        title_en: "All types".into(),
        category: TemplateCategory::Duty,
        sections: vec![Section {
            id: "main".into(),
            title_zh: "主要".into(),
            title_en: "Main".into(),
        }],
        fields: vec![
            f("intro", FieldType::Note),
            f("text", FieldType::Text),
            f("integer", FieldType::Integer),
            f("decimal", FieldType::Decimal),
            f("date", FieldType::Date),
            f("time", FieldType::Time),
            Field {
                choices: choices(),
                ..f("one", FieldType::SelectOne)
            },
            Field {
                choices: choices(),
                ..f("many", FieldType::SelectMultiple)
            },
            f("yes_no", FieldType::YesNo),
            f("photo", FieldType::Photo),
            f("location", FieldType::Location),
            f("item", FieldType::ChecklistItem),
        ],
    }
}

#[test]
fn every_field_type_accepts_its_shape_and_rejects_others() {
    let t = every_type();
    t.check().unwrap();
    let hash = "a".repeat(64);
    let good = answers(&[
        ("text", json!("三栋")),
        ("integer", json!(-3)),
        ("decimal", json!(2.5)),
        ("date", json!("2026-02-28")),
        ("time", json!("23:59")),
        ("one", json!("b")),
        ("many", json!(["a", "c"])),
        ("yes_no", json!(true)),
        ("photo", json!(hash)),
        (
            "location",
            json!({"lat": 30.5, "lon": 114.3, "accuracy_m": 8}),
        ),
        ("item", json!("problem")),
    ]);
    t.validate_answers(&good).unwrap();
    assert!(t
        .validate_answers(&answers(&[("time", json!("08:05:09"))]))
        .is_ok());
    assert!(t
        .validate_answers(&answers(&[("location", json!({"lat": 1, "lon": 2}))]))
        .is_ok());
    let bad = [
        ("text", json!(3)),
        ("integer", json!(2.5)),
        ("integer", json!("3")),
        ("decimal", json!("2.5")),
        ("date", json!("2026-02-30")),
        ("date", json!("28/02/2026")),
        ("time", json!("24:00")),
        ("time", json!("8:05")),
        ("time", json!("08:60")),
        ("one", json!("z")),
        ("one", json!(["a"])),
        ("many", json!("a")),
        ("many", json!(["a", "z"])),
        ("many", json!(["a", "a"])),
        ("yes_no", json!("yes")),
        ("photo", json!("abc")),
        ("photo", json!("A".repeat(64))),
        ("location", json!({"lat": 91, "lon": 0})),
        ("location", json!({"lat": 1})),
        ("location", json!({"lat": 1, "lon": 2, "alt": 3})),
        ("location", json!("30.5 114.3")),
        ("item", json!("fine")),
        ("intro", json!("x")),
    ];
    for (field, value) in bad {
        let result = t.validate_answers(&answers(&[(field, value.clone())]));
        assert!(result.is_err(), "{field} = {value} should fail");
        let message = result.unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("answers.{field}")),
            "{message}"
        );
        // The answer itself is never echoed.
        if let Some(text) = value.as_str().filter(|s| s.len() > 2 && !field.contains(s)) {
            assert!(!message.contains(text), "{message}");
        }
    }
}

#[test]
fn every_failing_field_is_reported_once_with_its_label() {
    let t = find("duty-sanitation", Some(1)).unwrap();
    let a = answers(&[
        ("checked_at", json!("yesterday")),
        ("problem_found", json!("no")),
        ("handling", json!("nonsense")),
        ("unknown", json!(1)),
    ]);
    let errs = errors(&t, &a, "");
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "answers.unknown",
            "answers.checked_at",
            "answers.place",
            "answers.problem_found",
            "answers.handling"
        ]
    );
    assert_eq!(errs[2].label, "地点 / Place");
    assert!(errs[2].message.contains("required"));
    let line = t.validate_answers(&a).unwrap_err().to_string();
    assert!(
        line.contains("answers.place (地点 / Place): 必填 / required"),
        "{line}"
    );
    assert!(
        !line.contains("nonsense") && !line.contains("yesterday"),
        "{line}"
    );
}

fn care_form() -> Template {
    let mut t = find("duty-special-group-care", Some(1)).unwrap();
    t.fields.push(Field {
        id: "meals_per_week".into(),
        section: String::new(),
        label_zh: "每周送餐次数".into(),
        label_en: "Meals per week".into(),
        field_type: FieldType::Integer,
        required: true,
        choices: vec![],
        relevant: Some("${problem_found} and ${place} != ''".into()),
        constraint: Some(". >= 1 and . <= 21".into()),
        constraint_message: Some("每周 1–21 次 / 1 to 21 a week".into()),
    });
    t.fields.push(Field {
        id: "next_visit".into(),
        section: String::new(),
        label_zh: "下次走访".into(),
        label_en: "Next visit".into(),
        field_type: FieldType::Date,
        required: false,
        choices: vec![],
        relevant: None,
        constraint: Some(". >= today()".into()),
        constraint_message: None,
    });
    t
}

#[test]
fn relevance_and_constraints() {
    let t = care_form();
    t.check().unwrap();
    let mut a = answers(&[
        ("checked_at", json!("2026-11-29")),
        ("place", json!("3栋")),
        ("problem_found", json!(false)),
    ]);
    // Hidden: not required, and an answer to it is rejected (not dropped).
    assert!(t.validate_answers_on(&a, "2026-11-29").is_ok());
    assert!(!t.is_relevant(t.field("meals_per_week").unwrap(), &a, "2026-11-29"));
    a.insert("meals_per_week".into(), json!(3));
    let errs = errors(&t, &a, "2026-11-29");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "answers.meals_per_week");
    assert_eq!(errs[0].label, "每周送餐次数 / Meals per week");
    assert!(errs[0].message.contains("not relevant"));
    // Shown: required, and constrained with the template's message.
    a.insert("problem_found".into(), json!(true));
    assert!(t.validate_answers_on(&a, "2026-11-29").is_ok());
    a.insert("meals_per_week".into(), json!(40));
    assert_eq!(
        errors(&t, &a, "2026-11-29")[0].message,
        "每周 1–21 次 / 1 to 21 a week"
    );
    a.remove("meals_per_week");
    assert!(errors(&t, &a, "2026-11-29")[0].message.contains("required"));
    a.insert("meals_per_week".into(), json!(7));
    a.insert("next_visit".into(), json!("2026-11-01"));
    assert_eq!(
        failing(&t, &a),
        ["answers.next_visit"],
        "a past date fails . >= today()"
    );
    a.insert("next_visit".into(), json!("2026-12-06"));
    assert!(t.validate_answers_on(&a, "2026-11-29").is_ok());
}

#[test]
fn selected_and_count_selected_drive_relevance() {
    let mut t = every_type();
    t.fields[1].relevant = Some("selected(${many}, 'b')".into());
    t.fields[1].required = true;
    t.fields[2].constraint = Some(". <= count-selected(${many}) * 10".into());
    t.check().unwrap();
    let a = answers(&[("many", json!(["a"])), ("integer", json!(10))]);
    assert!(t.validate_answers(&a).is_ok());
    let a = answers(&[("many", json!(["a", "b"])), ("integer", json!(30))]);
    assert_eq!(failing(&t, &a), ["answers.text", "answers.integer"]);
}

#[test]
fn structure_errors_name_the_template_and_field() {
    let check = |edit: &dyn Fn(&mut Template)| {
        let mut t = care_form();
        edit(&mut t);
        t.check().unwrap_err().to_string()
    };
    let err = check(&|t| t.fields[6].constraint = Some(". >= ".into()));
    assert!(
        err.starts_with("template.duty-special-group-care.v1.meals_per_week.constraint"),
        "{err}"
    );
    assert!(err.contains("at 5"), "{err}");
    let err = check(&|t| t.fields[6].relevant = Some("${nope} = 1".into()));
    assert!(
        err.contains("meals_per_week.relevant") && err.contains("${nope}"),
        "{err}"
    );
    let err = check(&|t| t.fields[1].id = "checked_at".into());
    assert!(
        err.contains("checked_at") && err.contains("repeated"),
        "{err}"
    );
    let err = check(&|t| t.fields[4].choices.clear());
    assert!(err.contains("handling.choices"), "{err}");
    let err = check(&|t| t.fields[4].choices[1].value = "solved".into());
    assert!(err.contains("handling.choices"), "{err}");
    let err = check(&|t| t.fields[0].choices = t.fields[4].choices.clone());
    assert!(err.contains("checked_at.choices"), "{err}");
    let err = check(&|t| t.fields[0].id = "1st".into());
    assert!(err.contains("fields[0]"), "{err}");
    let err = check(&|t| t.version = 0);
    assert!(err.contains("version"), "{err}");
    let err = check(&|t| t.id = "Bad Id".into());
    assert!(err.starts_with("template.id"), "{err}");
    let err = check(&|t| {
        t.sections = vec![Section {
            id: "a".into(),
            title_zh: "甲".into(),
            title_en: String::new(),
        }];
        t.fields[0].section = "b".into();
    });
    assert!(err.contains("checked_at.section"), "{err}");
}

#[test]
fn template_json_is_strict() {
    let t = every_type();
    let mut value = serde_json::to_value(&t).unwrap();
    value["fields"][1]["lable_zh"] = json!("typo");
    let err = Template::from_json(&value.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("lable_zh"), "{err}");
    value = serde_json::to_value(&t).unwrap();
    value["fields"][1]["type"] = json!("barcode");
    assert!(Template::from_json(&value.to_string()).is_err());
    assert!(Template::from_json("{").is_err());
}

#[test]
fn a_malformed_answer_is_reported_once_not_as_the_follow_ups_it_seems_to_open() {
    let t = find("duty-sanitation", Some(2)).unwrap();
    let a = answers(&[
        ("checked_at", json!("2026-03-10")),
        ("place", json!("幸福路")),
        ("area_type", json!("street")),
        ("problems", json!("maybe")),
    ]);
    let fields: Vec<String> = errors(&t, &a, "2026-03-10")
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["answers.problems"]);
    // Well-shaped, the same finding opens its follow-up question.
    let mut found = a.clone();
    found.insert("problems".into(), json!(["exposed_waste"]));
    let fields: Vec<String> = errors(&t, &found, "2026-03-10")
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["answers.handling"]);
}
