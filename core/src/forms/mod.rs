//! Form templates (visit checklist, twelve duties, hazard inspection) and the
//! validation of answers against the exact template version a record uses.

pub mod default_pack;
pub mod expr;
pub mod template;

pub use template::{Choice, Field, FieldType, Template, TemplateCategory};

/// Look up a template by id and version in the built-in pack; `None` version
/// means the newest.
pub fn find(id: &str, version: Option<u32>) -> Option<Template> {
    static PACK: std::sync::OnceLock<Vec<Template>> = std::sync::OnceLock::new();
    PACK.get_or_init(default_pack::all)
        .iter()
        .filter(|t| t.id == id && version.is_none_or(|v| v == t.version))
        .max_by_key(|t| t.version)
        .cloned()
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
}
