//! Validation of form answers against one exact template version.
//!
//! Rules (documented in `docs/forms.md`):
//! - every answered key must be a field of the version (not a note);
//! - each value must have the JSON shape of the field's type;
//! - a field whose `relevant` is false must be left unanswered — answers to
//!   hidden fields are **rejected**, never silently cleared, so nothing the
//!   gridworker typed disappears without them seeing why;
//! - a relevant required field must be answered;
//! - an answered field must meet its `constraint`;
//! - a text answer follows the text rules of [`crate::model::text`]
//!   (length, no control or bidi characters).
//!
//! All failing fields are reported at once ([`Error::FormInvalid`]), each
//! with its label; answer values are never echoed.

use super::expr::{self, Context, Value};
use super::template::{Field, FieldType, Template};
use crate::error::FieldError;
use crate::{Error, Result};
use serde_json::Value as Json;
use std::collections::BTreeMap;

impl Template {
    /// [`Template::validate_answers_on`] with no `today()` (empty date); for
    /// templates whose expressions do not use it.
    pub fn validate_answers(&self, answers: &BTreeMap<String, Json>) -> Result<()> {
        self.validate_answers_on(answers, "")
    }

    /// Validate answers against this exact version on local date `today`
    /// (`YYYY-MM-DD`, for `today()`). See the module docs for the rules.
    pub fn validate_answers_on(&self, answers: &BTreeMap<String, Json>, today: &str) -> Result<()> {
        let errors = self.answer_errors(answers, today)?;
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::FormInvalid {
                template: format!("{} v{}", self.id, self.version),
                errors,
            })
        }
    }

    /// Every failing field, in field order (unknown keys first). An error
    /// (not a list) only when the template itself is malformed.
    pub fn answer_errors(
        &self,
        answers: &BTreeMap<String, Json>,
        today: &str,
    ) -> Result<Vec<FieldError>> {
        self.check_expressions()?;
        let mut errors = Vec::new();
        for key in answers.keys() {
            if self
                .field(key)
                .is_none_or(|f| f.field_type == FieldType::Note)
            {
                errors.push(FieldError {
                    field: format!("answers.{}", crate::model::text::display_key(key)),
                    label: String::new(),
                    message: "表单中没有此字段 / no such field in this template version".into(),
                });
            }
        }
        // Other fields' `relevant` and `constraint` see only well-shaped
        // answers: a malformed answer is reported once, on its own field,
        // not again as a follow-up question it seemed to open.
        let shaped: BTreeMap<String, Json> = answers
            .iter()
            .filter(|(key, value)| {
                self.field(key)
                    .is_some_and(|f| value.is_null() || check_value(f, value).is_ok())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for field in &self.fields {
            if field.field_type == FieldType::Note {
                continue;
            }
            let own = answers.get(&field.id).filter(|v| !v.is_null());
            if let Err(message) = check_field(field, own, &shaped, today) {
                errors.push(FieldError {
                    field: format!("answers.{}", field.id),
                    label: field.label(),
                    message,
                });
            }
        }
        Ok(errors)
    }

    /// Whether `field`'s `relevant` holds for these answers (true when it has none).
    pub fn is_relevant(
        &self,
        field: &Field,
        answers: &BTreeMap<String, Json>,
        today: &str,
    ) -> bool {
        holds(
            &field.relevant,
            &Answers {
                answers,
                dot: None,
                today,
            },
        )
    }
}

/// Check one field's `answer` with the other answers `context` (the
/// well-shaped ones); the error is the message.
fn check_field(
    field: &Field,
    answer: Option<&Json>,
    context: &BTreeMap<String, Json>,
    today: &str,
) -> std::result::Result<(), String> {
    let ctx = Answers {
        answers: context,
        dot: answer,
        today,
    };
    if !holds(&field.relevant, &ctx) {
        return match answer {
            Some(_) => Err("此字段当前不适用，应留空 / not relevant here, leave it empty".into()),
            None => Ok(()),
        };
    }
    let Some(value) = answer else {
        return if field.required {
            Err("必填 / required".into())
        } else {
            Ok(())
        };
    };
    check_value(field, value)?;
    if !holds(&field.constraint, &ctx) {
        return Err(field
            .constraint_message
            .clone()
            .unwrap_or_else(|| "不符合约束 / does not meet the constraint".into()));
    }
    Ok(())
}

fn holds(source: &Option<String>, ctx: &Answers<'_>) -> bool {
    source
        .as_deref()
        .is_none_or(|s| expr::parse(s).is_ok_and(|e| expr::eval(&e, ctx).truthy()))
}

/// Answers seen by expressions.
struct Answers<'a> {
    answers: &'a BTreeMap<String, Json>,
    dot: Option<&'a Json>,
    today: &'a str,
}

/// A JSON answer as an expression value.
fn to_value(value: Option<&Json>) -> Value {
    match value {
        None | Some(Json::Null) => Value::Null,
        Some(Json::Bool(b)) => Value::Bool(*b),
        Some(Json::Number(n)) => n.as_f64().map_or(Value::Null, Value::Num),
        Some(Json::String(s)) => Value::Text(s.clone()),
        Some(Json::Array(items)) => Value::List(
            items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect(),
        ),
        Some(other) => Value::Text(other.to_string()),
    }
}

impl Context for Answers<'_> {
    fn field(&self, name: &str) -> Value {
        to_value(self.answers.get(name))
    }
    fn dot(&self) -> Value {
        to_value(self.dot)
    }
    fn today(&self) -> String {
        self.today.to_string()
    }
}

/// `HH:MM` or `HH:MM:SS`, 24-hour.
fn is_time(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    let two_digits = |p: &str, max: u32| {
        p.len() == 2
            && p.chars().all(|c| c.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| n <= max)
    };
    matches!(parts.len(), 2 | 3)
        && two_digits(parts[0], 23)
        && two_digits(parts[1], 59)
        && parts.get(2).is_none_or(|s| two_digits(s, 59))
}

use crate::model::attachment::is_blob_id as is_sha256;

fn check_location(value: &Json) -> std::result::Result<(), String> {
    let Some(object) = value.as_object() else {
        return Err("类型不符 / expected {\"lat\", \"lon\", \"accuracy_m\"}".into());
    };
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "lat" | "lon" | "accuracy_m"))
    {
        return Err(format!(
            "位置中有未知键 / unknown key '{}' in a location",
            crate::model::text::display_key(key)
        ));
    }
    let number = |key: &str| object.get(key).and_then(Json::as_f64);
    let (Some(lat), Some(lon)) = (number("lat"), number("lon")) else {
        return Err("位置需要 lat 和 lon 数值 / a location needs numeric lat and lon".into());
    };
    let accuracy = match object.get("accuracy_m") {
        None | Some(Json::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .ok_or("accuracy_m 应为数值 / accuracy_m must be a number")?,
        ),
    };
    crate::model::validate::location(lat, lon, accuracy).map_err(|e| match e {
        Error::Validation { message, .. } => message,
        other => other.to_string(),
    })
}

fn check_value(field: &Field, value: &Json) -> std::result::Result<(), String> {
    let wrong = |what: &str| Err(format!("类型不符 / expected {what}"));
    let is_choice = |v: &str| field.choices.iter().any(|c| c.value == v);
    match (field.field_type, value) {
        (FieldType::Text, Json::String(s))
            if field.required && !crate::model::text::has_visible(s) =>
        {
            Err("必填 / required".into())
        }
        (FieldType::Text, Json::String(s)) => crate::model::text::FORM_TEXT_ANSWER
            .check(s)
            .map(|_| ())
            .map_err(|e| match e {
                Error::Validation { message, .. } => message,
                other => other.to_string(),
            }),
        (FieldType::Integer, Json::Number(n)) if n.is_i64() || n.is_u64() => Ok(()),
        (FieldType::Decimal, Json::Number(_)) => Ok(()),
        (FieldType::YesNo, Json::Bool(_)) => Ok(()),
        (FieldType::Date, Json::String(s)) => crate::model::validate::date(s, "")
            .map(|_| ())
            .map_err(|_| "日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD".into()),
        (FieldType::Time, Json::String(s)) if is_time(s) => Ok(()),
        (FieldType::Time, _) => wrong("time HH:MM or HH:MM:SS"),
        (FieldType::SelectOne, Json::String(s)) if is_choice(s) => Ok(()),
        (FieldType::SelectMultiple, Json::Array(items)) => {
            let values: Vec<&str> = items.iter().filter_map(Json::as_str).collect();
            if values.len() != items.len() || !values.iter().all(|v| is_choice(v)) {
                Err("不是可选项 / not one of the choices".into())
            } else if (1..values.len()).any(|i| values[..i].contains(&values[i])) {
                Err("选项重复 / a choice is selected twice".into())
            } else {
                Ok(())
            }
        }
        (FieldType::Photo, Json::String(s)) if is_sha256(s) => Ok(()),
        (FieldType::Photo, _) => wrong("a photo's SHA-256 (64 hex digits)"),
        (FieldType::Location, v) => check_location(v),
        (FieldType::ChecklistItem, Json::String(s)) => crate::model::Outcome::parse(s, "")
            .map(|_| ())
            .map_err(|_| "类型不符 / expected ok/problem/not_applicable".into()),
        (FieldType::Text, _) => wrong("text"),
        (FieldType::Integer, _) => wrong("integer"),
        (FieldType::Decimal, _) => wrong("number"),
        (FieldType::YesNo, _) => wrong("true/false"),
        (FieldType::Date, _) => wrong("date"),
        (FieldType::SelectOne | FieldType::SelectMultiple, _) => {
            Err("不是可选项 / not one of the choices".into())
        }
        (FieldType::ChecklistItem, _) => wrong("ok/problem/not_applicable"),
        (FieldType::Note, _) => wrong("no answer"),
    }
}
