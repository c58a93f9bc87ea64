//! Version 2 of the twelve duty forms (十二个管一管): each duty asks what its
//! county ledger (台账) records, modelled on the national standards, laws,
//! regulations and provincial forms cited in `docs/forms.md` ("The twelve
//! duty forms (version 2)"): GB/T 31000-2015 for disputes, public security
//! and the floating population, the People's Mediation Law and the Ministry
//! of Justice's mediation forms, the fire-safety rules, the river-chief
//! patrol items, the Residence Permit Regulations, the Ministry of Civil
//! Affairs' visiting-care guideline and the provincial help-and-proxy
//! service standards.
//!
//! Version 1 ([`super::default_pack::twelve_duties`], one generic six-field
//! form copied twelve times) stays in the pack: records keep the version
//! they were filled with, so old records still read and edit under it.
//!
//! Conventions shared by the twelve forms:
//!
//! - the same ids as version 1 (`duty-party-building`, …), titled
//!   `管一管：{zh}` / `Duty: {en}`, category `duty`, no sections;
//! - every form has `checked_at` (date, required, not later than today) and
//!   `details` (free text), so evaluation and exports keep working;
//! - `place` is the free-text place where a form has one;
//! - a form that hands a problem on to a case or a hazard report has a text
//!   field `case_ref` (事件编号) or `hazard_ref` (隐患编号), shown once the
//!   handling says so; the app fills it with the id of what it created;
//! - people are recorded as counts and roles, never names, except the
//!   parties of a mediation (`parties`), which the mediation ledger needs;
//! - a "findings" question offers `none` (nothing found) as its first
//!   choice, which cannot be combined with the others, and its follow-up
//!   questions are asked only when something was found.

mod community;
mod people;
mod safety;
#[cfg(test)]
mod tests;

use super::default_pack::{choices, field};
use super::template::{Field, FieldType, Template, TemplateCategory};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;

/// The version of every template built here.
const VERSION: u32 = 2;

/// Choices as `(value, zh-CN label, English label)`.
type Choices<'a> = &'a [(&'a str, &'a str, &'a str)];

/// The twelve duty forms, version 2, in the order of version 1.
pub fn twelve_duties_v2() -> Vec<Template> {
    vec![
        community::party_building(),
        safety::security_patrol(),
        safety::epidemic_prevention(),
        safety::safety_hazards(),
        community::sanitation(),
        safety::illegal_construction(),
        community::river_care(),
        people::dispute_mediation(),
        people::special_group_care(),
        people::floating_population(),
        people::proxy_services(),
        community::policy_publicity(),
    ]
}

/// Minimal answers that version 2 of duty `id` accepts for work done on
/// `date` (`YYYY-MM-DD`, not after the validating day) where nothing needed
/// following up: for demo data and tests that fill the newest duty forms.
/// `None` for an id that is not one of the twelve duties.
pub fn example_answers(id: &str, date: &str) -> Option<BTreeMap<String, Json>> {
    let rest = match id {
        "duty-party-building" => json!({
            "activity_type": "theme_day", "topic": "学习基层治理政策", "members": 8
        }),
        "duty-security-patrol" => json!({
            "patrol_type": "routine", "place": "幸福路至学院路", "patrollers": 3,
            "findings": ["none"]
        }),
        "duty-epidemic-prevention" => json!({
            "focus": ["vector_breeding"], "abnormal_found": false
        }),
        "duty-safety-hazards" => json!({
            "place_type": "residential", "place": "3栋", "items": ["exits", "equipment"],
            "hazard_found": false
        }),
        "duty-sanitation" => json!({
            "place": "幸福路", "area_type": "street", "problems": ["none"]
        }),
        "duty-illegal-construction" => json!({
            "place": "村东头", "kind": "construction", "building_form": "shed", "stage": "removed",
            "handling": "done"
        }),
        "duty-river-care" => json!({"place": "白沙河村段", "problems": ["none"]}),
        "duty-dispute-mediation" => json!({
            "dispute_type": "neighbour", "parties": "3栋住户与4栋住户", "people_involved": 2,
            "result": "ongoing"
        }),
        "duty-special-group-care" => json!({
            "groups": ["elderly_alone"], "visit_method": "home", "risk_found": false
        }),
        "duty-floating-population" => json!({
            "action": "check", "persons": 2, "inflow_reason": "work",
            "residence_type": "dormitory", "residence_registered": true,
            "permit_status": "holding"
        }),
        "duty-proxy-services" => json!({
            "matter_category": "assistance", "matter": "高龄津贴申领",
            "service_mode": "proxy", "status": "accepted"
        }),
        "duty-policy-publicity" => json!({
            "topics": ["anti_fraud"], "methods": ["door_to_door"], "households_reached": 20
        }),
        _ => return None,
    };
    let mut answers: BTreeMap<String, Json> = rest
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    answers.insert("checked_at".into(), json!(date));
    Some(answers)
}

// ---------------------------------------------------------------------------
// Small helpers.

/// A duty template of version 2.
fn duty(id: &str, zh: &str, en: &str, fields: Vec<Field>) -> Template {
    Template {
        id: id.into(),
        version: VERSION,
        title_zh: format!("管一管：{zh}"),
        title_en: format!("Duty: {en}"),
        category: TemplateCategory::Duty,
        sections: vec![],
        fields,
    }
}

/// A field outside any section.
fn plain(id: &str, zh: &str, en: &str, t: FieldType, required: bool) -> Field {
    field(id, "", zh, en, t, required)
}

/// A select_one or select_multiple field with its choices.
fn select(id: &str, zh: &str, en: &str, t: FieldType, required: bool, list: Choices<'_>) -> Field {
    Field {
        choices: choices(list),
        ..field(id, "", zh, en, t, required)
    }
}

/// A required select_one.
fn one_of(id: &str, zh: &str, en: &str, list: Choices<'_>) -> Field {
    select(id, zh, en, FieldType::SelectOne, true, list)
}

/// `f`, asked only when `relevant` holds.
fn when(relevant: &str, f: Field) -> Field {
    Field {
        relevant: Some(relevant.into()),
        ..f
    }
}

/// `f` with a constraint and its message (`"中文 / English"`).
fn constrained(constraint: &str, message: &str, f: Field) -> Field {
    Field {
        constraint: Some(constraint.into()),
        constraint_message: Some(message.into()),
        ..f
    }
}

/// `checked_at`: the day of the work, required, not later than today.
fn checked_at(zh: &str, en: &str) -> Field {
    constrained(
        ". <= today()",
        "日期不能晚于今天 / the date cannot be in the future",
        plain("checked_at", zh, en, FieldType::Date, true),
    )
}

/// `details`: free text.
fn details() -> Field {
    plain("details", "情况说明", "Details", FieldType::Text, false)
}

/// A whole number from `min` to `max`.
fn count(id: &str, zh: &str, en: &str, required: bool, min: u32, max: u32) -> Field {
    constrained(
        &format!(". >= {min} and . <= {max}"),
        &format!("应在 {min} 到 {max} 之间 / must be from {min} to {max}"),
        plain(id, zh, en, FieldType::Integer, required),
    )
}

/// A required select_multiple with at least one choice ticked.
fn some_of(id: &str, zh: &str, en: &str, list: Choices<'_>) -> Field {
    constrained(
        "count-selected(.) >= 1",
        "请至少选择一项 / choose at least one",
        select(id, zh, en, FieldType::SelectMultiple, true, list),
    )
}

/// A required select_multiple of findings whose choice `none` (nothing
/// found) cannot be combined with the others.
fn findings(id: &str, zh: &str, en: &str, list: Choices<'_>) -> Field {
    constrained(
        "count-selected(.) >= 1 and (not(selected(., 'none')) or count-selected(.) = 1)",
        "请至少选择一项；“未发现问题”不能与其他项同选 / choose at least one; “nothing found” cannot be combined with others",
        select(id, zh, en, FieldType::SelectMultiple, true, list),
    )
}

/// Relevant when the findings field `id` names something found.
fn something_found(id: &str) -> String {
    format!("count-selected(${{{id}}}) > 0 and not(selected(${{{id}}}, 'none'))")
}

/// Every value ticked in the field being checked is also ticked in the
/// select_multiple `other` (whose choices are `list`).
fn subset_of(other: &str, list: Choices<'_>) -> String {
    list.iter()
        .map(|(v, _, _)| format!("(not(selected(., '{v}')) or selected(${{{other}}}, '{v}'))"))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// A date on or after `checked_at`, not later than today.
fn date_from_check(id: &str, zh: &str, en: &str, required: bool) -> Field {
    constrained(
        ". >= ${checked_at} and . <= today()",
        "应在本次日期与今天之间 / must be between this record's date and today",
        plain(id, zh, en, FieldType::Date, required),
    )
}

/// A date on or after `checked_at` (a deadline or a follow-up).
fn date_after_check(id: &str, zh: &str, en: &str, required: bool) -> Field {
    constrained(
        ". >= ${checked_at}",
        "不能早于本次日期 / cannot be before this record's date",
        plain(id, zh, en, FieldType::Date, required),
    )
}

/// `case_ref`: the case this record handed work on to (filled by the app).
fn case_ref() -> Field {
    plain(
        "case_ref",
        "事件编号（系统填写）",
        "Case no. (filled by the app)",
        FieldType::Text,
        false,
    )
}

/// `hazard_ref`: the hazard report this record opened (filled by the app).
fn hazard_ref() -> Field {
    plain(
        "hazard_ref",
        "隐患编号（系统填写）",
        "Hazard no. (filled by the app)",
        FieldType::Text,
        false,
    )
}
