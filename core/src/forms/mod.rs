//! Form templates (visit checklist, twelve duties, hazard inspection) and the
//! validation of answers against the exact template version a record uses.

pub mod default_pack;
pub mod expr;
pub mod template;

pub use template::{Choice, Field, FieldType, Template, TemplateCategory};

/// Look up a template by id and version in the built-in pack; `None` version
/// means the newest.
pub fn find(id: &str, version: Option<u32>) -> Option<Template> {
    find_ref(id, version).cloned()
}

/// [`find`] without the copy, for hot paths (materialising and reading visits).
pub fn find_ref(id: &str, version: Option<u32>) -> Option<&'static Template> {
    static PACK: std::sync::OnceLock<Vec<Template>> = std::sync::OnceLock::new();
    PACK.get_or_init(default_pack::all)
        .iter()
        .filter(|t| t.id == id && version.is_none_or(|v| v == t.version))
        .max_by_key(|t| t.version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn default_pack_has_twelve_duties_and_a_twelve_item_checklist() {
        assert_eq!(default_pack::twelve_duties().len(), 12);
        assert_eq!(default_pack::visit_checklist().fields.len(), 12);
        assert!(find("duty-river-care", None).is_some());
        assert!(find("duty-river-care", Some(9)).is_none());
    }

    #[test]
    fn answers_are_checked_against_the_template() {
        let t = find("duty-sanitation", None).unwrap();
        let mut a: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        a.insert("checked_at".into(), json!("2026-11-01"));
        a.insert("place".into(), json!("3栋"));
        a.insert("problem_found".into(), json!(false));
        assert!(t.validate_answers(&a).is_ok());
        a.insert("handling".into(), json!("nonsense"));
        let err = t.validate_answers(&a).unwrap_err();
        assert!(err.to_string().starts_with("answers.handling"));
        a.insert("handling".into(), json!("solved"));
        a.insert("people_reached".into(), json!(2.5));
        assert!(t.validate_answers(&a).is_err());
        a.remove("people_reached");
        a.remove("place");
        assert!(t
            .validate_answers(&a)
            .unwrap_err()
            .to_string()
            .starts_with("answers.place"));
        a.insert("place".into(), json!("x"));
        a.insert("unknown".into(), json!("x"));
        assert!(t.validate_answers(&a).is_err());
    }

    fn care_form() -> Template {
        let mut t = find("duty-special-group-care", None).unwrap();
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
        let mut a: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        a.insert("checked_at".into(), json!("2026-11-29"));
        a.insert("place".into(), json!("3栋"));
        a.insert("problem_found".into(), json!(false));
        // Hidden: must be left empty, and is not required.
        assert!(t.validate_answers_on(&a, "2026-11-29").is_ok());
        a.insert("meals_per_week".into(), json!(3));
        let err = t
            .validate_answers_on(&a, "2026-11-29")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("answers.meals_per_week") && err.contains("每周送餐次数"),
            "{err}"
        );
        // Shown: required, and constrained.
        a.insert("problem_found".into(), json!(true));
        assert!(t.validate_answers_on(&a, "2026-11-29").is_ok());
        a.insert("meals_per_week".into(), json!(40));
        let err = t
            .validate_answers_on(&a, "2026-11-29")
            .unwrap_err()
            .to_string();
        assert!(err.contains("1 to 21"), "{err}");
        a.remove("meals_per_week");
        assert!(t
            .validate_answers_on(&a, "2026-11-29")
            .unwrap_err()
            .to_string()
            .contains("required"));
        a.insert("meals_per_week".into(), json!(7));
        a.insert("next_visit".into(), json!("2026-11-01"));
        assert!(
            t.validate_answers_on(&a, "2026-11-29").is_err(),
            "a past date fails . >= today()"
        );
        a.insert("next_visit".into(), json!("2026-12-06"));
        assert!(t.validate_answers_on(&a, "2026-11-29").is_ok());
    }

    #[test]
    fn expression_errors_name_template_field_and_position() {
        let mut t = care_form();
        t.fields[6].constraint = Some(". >= ".into());
        let err = t.check_expressions().unwrap_err().to_string();
        assert!(
            err.starts_with("template.duty-special-group-care.v1.meals_per_week.constraint"),
            "{err}"
        );
        assert!(err.contains("at 5"), "{err}");
    }
}
