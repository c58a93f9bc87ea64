//! Version 2 of the duty forms: structure, follow-up logic, the example
//! answers.

use super::*;
use crate::Error;

const TODAY: &str = "2026-11-29";
const DAY: &str = "2026-11-28";

fn form(id: &str) -> Template {
    twelve_duties_v2()
        .into_iter()
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("no form {id}"))
}

/// The failing fields (`answers.<id>`) of `answers` under `t`.
fn failing(t: &Template, answers: &BTreeMap<String, Json>) -> Vec<String> {
    match t.validate_answers_on(answers, TODAY) {
        Ok(()) => vec![],
        Err(Error::FormInvalid { errors, .. }) => errors.into_iter().map(|e| e.field).collect(),
        Err(other) => panic!("{}: {other}", t.id),
    }
}

/// The example answers of `id` with `changes` (a `null` removes a key).
fn with(id: &str, changes: Json) -> BTreeMap<String, Json> {
    let mut answers = example_answers(id, DAY).unwrap();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            answers.remove(k);
        } else {
            answers.insert(k.clone(), v.clone());
        }
    }
    answers
}

#[test]
fn the_twelve_keep_the_ids_and_order_of_version_1() {
    let v1: Vec<String> = super::super::default_pack::twelve_duties()
        .into_iter()
        .map(|t| t.id)
        .collect();
    let v2: Vec<String> = twelve_duties_v2().into_iter().map(|t| t.id).collect();
    assert_eq!(v1, v2);
}

#[test]
fn every_form_is_well_formed_and_follows_the_conventions() {
    for t in twelve_duties_v2() {
        t.check().unwrap_or_else(|e| panic!("{}: {e}", t.id));
        t.check_references()
            .unwrap_or_else(|e| panic!("{}: {e}", t.id));
        let text = serde_json::to_string(&t).unwrap();
        assert_eq!(Template::from_json(&text).unwrap(), t);
        assert_eq!(t.version, 2);
        assert_eq!(t.category, TemplateCategory::Duty);
        assert!(t.title_zh.starts_with("管一管："), "{}", t.id);
        assert!(t.title_en.starts_with("Duty: "), "{}", t.id);
        assert!(
            (5..=10).contains(&t.fields.len()),
            "{}: {}",
            t.id,
            t.fields.len()
        );
        let checked = t.field("checked_at").unwrap();
        assert!(checked.required && checked.field_type == FieldType::Date);
        assert!(checked.relevant.is_none());
        assert_eq!(t.field("details").unwrap().field_type, FieldType::Text);
        for f in &t.fields {
            assert!(!f.label_en.is_empty(), "{}.{}", t.id, f.id);
            for c in &f.choices {
                assert!(
                    c.value
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
                    "{}.{}: {}",
                    t.id,
                    f.id,
                    c.value
                );
                assert!(!c.label_en.is_empty(), "{}.{}.{}", t.id, f.id, c.value);
            }
        }
    }
}

#[test]
fn the_example_answers_fit_every_form() {
    for t in twelve_duties_v2() {
        let answers = example_answers(&t.id, DAY).unwrap();
        assert_eq!(failing(&t, &answers), Vec::<String>::new(), "{}", t.id);
    }
    assert!(example_answers("duty-elder-care", DAY).is_none());
}

#[test]
fn the_date_checked_cannot_be_in_the_future() {
    let t = form("duty-river-care");
    let answers = with("duty-river-care", json!({"checked_at": "2026-11-30"}));
    assert_eq!(failing(&t, &answers), ["answers.checked_at"]);
}

#[test]
fn nothing_found_goes_alone_and_hides_the_follow_ups() {
    let t = form("duty-security-patrol");
    let both = with(
        "duty-security-patrol",
        json!({"findings": ["none", "suspicious"]}),
    );
    assert_eq!(failing(&t, &both), ["answers.findings"]);
    let empty = with("duty-security-patrol", json!({"findings": []}));
    assert_eq!(failing(&t, &empty), ["answers.findings"]);
    let hidden = with("duty-security-patrol", json!({"handling": "on_spot"}));
    assert_eq!(failing(&t, &hidden), ["answers.handling"]);
    let found = with("duty-security-patrol", json!({"findings": ["suspicious"]}));
    assert_eq!(failing(&t, &found), ["answers.handling"]);
    let handled = with(
        "duty-security-patrol",
        json!({"findings": ["suspicious"], "handling": "reported", "case_ref": "c-1"}),
    );
    assert!(failing(&t, &handled).is_empty());
}

#[test]
fn agreement_fields_are_asked_only_when_mediation_succeeded() {
    let id = "duty-dispute-mediation";
    let t = form(id);
    let early = with(id, json!({"agreement_form": "oral"}));
    assert_eq!(failing(&t, &early), ["answers.agreement_form"]);
    let agreed = with(id, json!({"result": "agreed"}));
    assert_eq!(
        failing(&t, &agreed),
        ["answers.agreement_form", "answers.agreement_terms"]
    );
    let signed = with(
        id,
        json!({"result": "agreed", "agreement_form": "written",
               "agreement_terms": "3栋住户五日内清理楼道杂物", "follow_up_date": "2026-12-05"}),
    );
    assert!(failing(&t, &signed).is_empty());
    let backwards = with(
        id,
        json!({"result": "agreed", "agreement_form": "written",
               "agreement_terms": "赔偿500元", "follow_up_date": "2026-11-01"}),
    );
    assert_eq!(failing(&t, &backwards), ["answers.follow_up_date"]);
}

#[test]
fn hazards_are_among_the_items_checked() {
    let id = "duty-safety-hazards";
    let t = form(id);
    let found = json!({"hazard_found": true, "handling": "deadline", "deadline": "2026-12-05"});
    let mut ok = with(id, found.clone());
    ok.insert("problems".into(), json!(["exits"]));
    assert!(failing(&t, &ok).is_empty());
    let mut elsewhere = with(id, found);
    elsewhere.insert("problems".into(), json!(["gas"]));
    assert_eq!(failing(&t, &elsewhere), ["answers.problems"]);
    let reported = with(
        id,
        json!({"hazard_found": true, "problems": ["equipment"], "handling": "reported",
               "hazard_ref": "h-1"}),
    );
    assert!(failing(&t, &reported).is_empty());
}

#[test]
fn follow_ups_depend_on_earlier_answers() {
    let id = "duty-floating-population";
    let t = form(id);
    let departure = with(
        id,
        json!({"action": "departure", "inflow_reason": null, "residence_type": null,
               "residence_registered": null, "permit_status": null}),
    );
    assert!(failing(&t, &departure).is_empty());
    let rented = with(id, json!({"residence_type": "rented"}));
    assert_eq!(failing(&t, &rented), ["answers.rental_registered"]);

    let id = "duty-proxy-services";
    let t = form(id);
    let done = with(id, json!({"status": "completed"}));
    assert_eq!(
        failing(&t, &done),
        ["answers.completed_at", "answers.result"]
    );
    let early = with(
        id,
        json!({"status": "completed", "completed_at": "2026-11-01", "result": "已发放"}),
    );
    assert_eq!(failing(&t, &early), ["answers.completed_at"]);

    let id = "duty-party-building";
    let t = form(id);
    let too_many = with(id, json!({"issues_collected": 2, "issues_solved": 3}));
    assert_eq!(failing(&t, &too_many), ["answers.issues_solved"]);
    let unasked = with(id, json!({"issues_solved": 0}));
    assert_eq!(failing(&t, &unasked), ["answers.issues_solved"]);

    let id = "duty-special-group-care";
    let t = form(id);
    let referred = with(id, json!({"services": ["referral"]}));
    assert_eq!(failing(&t, &referred), ["answers.referred_to"]);
    let risky = with(id, json!({"risk_found": true}));
    assert_eq!(failing(&t, &risky), ["answers.risks"]);

    let id = "duty-illegal-construction";
    let t = form(id);
    let land = with(id, json!({"kind": "land_use"}));
    assert_eq!(failing(&t, &land), ["answers.land_type"]);
}
