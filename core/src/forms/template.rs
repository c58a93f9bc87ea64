//! Form templates: the data that defines a visit checklist, a twelve-duties
//! form or a hazard inspection, and validation of answers against one exact
//! template version. Records keep the version they were filled with.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a template is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateCategory {
    /// The door-to-door visit checklist (must look / must visit / must clear).
    VisitChecklist,
    /// One of the twelve duties (十二个管一管).
    Duty,
    /// Hazard inspection.
    Hazard,
}

/// The type of a field's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text.
    Text,
    /// Whole number.
    Integer,
    /// Decimal number.
    Decimal,
    /// `YYYY-MM-DD`.
    Date,
    /// One of `choices`.
    SelectOne,
    /// Several of `choices`.
    SelectMultiple,
    /// true / false.
    YesNo,
    /// A checklist item: ok / problem / not_applicable (visit checklists).
    ChecklistItem,
    /// Display-only text; takes no answer.
    Note,
}

/// A choice of a select field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// Stored value.
    pub value: String,
    /// zh-CN label.
    pub label_zh: String,
    /// English label.
    pub label_en: String,
}

/// One field (or checklist item) of a template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Stable id within the template.
    pub id: String,
    /// Section (for checklists: must_look / must_visit / must_clear).
    #[serde(default)]
    pub section: String,
    /// zh-CN label.
    pub label_zh: String,
    /// English label.
    pub label_en: String,
    /// Answer type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Whether an answer is required.
    #[serde(default)]
    pub required: bool,
    /// Choices for select fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    /// Show-if expression (see [`super::expr`]); the field is asked only when true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevant: Option<String>,
    /// Constraint expression on the answer (`.`); must be true when answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<String>,
    /// Message shown when the constraint fails (zh-CN / English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint_message: Option<String>,
}

/// A versioned form template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// Stable id.
    pub id: String,
    /// Version, increasing from 1.
    pub version: u32,
    /// zh-CN title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// What it is for.
    pub category: TemplateCategory,
    /// Fields in display order.
    pub fields: Vec<Field>,
}

impl Template {
    /// The field with this id.
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// Position of a field in display order.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.id == id)
    }

    /// Parse every `relevant` and `constraint` expression; a parse error names
    /// the template, version, field and position.
    pub fn check_expressions(&self) -> Result<()> {
        for field in &self.fields {
            for (kind, source) in [
                ("relevant", &field.relevant),
                ("constraint", &field.constraint),
            ] {
                if let Some(source) = source {
                    super::expr::parse(source).map_err(|e| {
                        Error::invalid(
                            format!("template.{}.v{}.{}.{kind}", self.id, self.version, field.id),
                            format!("表达式错误 / expression error {e}"),
                        )
                    })?;
                }
            }
        }
        Ok(())
    }

    /// [`Template::validate_answers_on`] for the default (built-in) pack,
    /// whose expressions do not use `today()`.
    pub fn validate_answers(&self, answers: &BTreeMap<String, serde_json::Value>) -> Result<()> {
        self.validate_answers_on(answers, "")
    }

    /// Validate form answers against this exact version on local date
    /// `today`: every key must be a field, each value must match the field's
    /// type; a field whose `relevant` is false must be left unanswered
    /// (answers to hidden fields are rejected, not silently dropped); relevant
    /// required fields must be answered; answered fields must meet their
    /// `constraint`. Errors name `answers.<field>` and the field's label; values
    /// are never echoed.
    pub fn validate_answers_on(
        &self,
        answers: &BTreeMap<String, serde_json::Value>,
        today: &str,
    ) -> Result<()> {
        self.check_expressions()?;
        for key in answers.keys() {
            if self
                .field(key)
                .is_none_or(|f| f.field_type == FieldType::Note)
            {
                return Err(Error::invalid(
                    format!("answers.{key}"),
                    "表单中没有此字段 / no such field in this template version",
                ));
            }
        }
        for field in &self.fields {
            let name = format!("answers.{}", field.id);
            let label = format!("{} / {}", field.label_zh, field.label_en);
            let answer = answers.get(&field.id).filter(|v| !v.is_null());
            let ctx = Answers {
                answers,
                dot: answer,
                today,
            };
            let holds = |source: &Option<String>| {
                source.as_deref().is_none_or(|s| {
                    super::expr::parse(s).is_ok_and(|e| super::expr::eval(&e, &ctx).truthy())
                })
            };
            if !holds(&field.relevant) {
                if answer.is_some() {
                    return Err(Error::invalid(
                        name,
                        format!(
                            "{label}: 此字段当前不适用，应留空 / not relevant here, leave it empty"
                        ),
                    ));
                }
                continue;
            }
            match answer {
                None => {
                    if field.required {
                        return Err(Error::invalid(name, format!("{label}: 必填 / required")));
                    }
                }
                Some(value) => {
                    check_value(field, value, &name)?;
                    if !holds(&field.constraint) {
                        let message = field
                            .constraint_message
                            .clone()
                            .unwrap_or_else(|| "不符合约束 / does not meet the constraint".into());
                        return Err(Error::invalid(name, format!("{label}: {message}")));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Answers seen by expressions.
struct Answers<'a> {
    answers: &'a BTreeMap<String, serde_json::Value>,
    dot: Option<&'a serde_json::Value>,
    today: &'a str,
}

/// A JSON answer as an expression value.
fn to_value(value: Option<&serde_json::Value>) -> super::expr::Value {
    use super::expr::Value as V;
    match value {
        None | Some(serde_json::Value::Null) => V::Null,
        Some(serde_json::Value::Bool(b)) => V::Bool(*b),
        Some(serde_json::Value::Number(n)) => n.as_f64().map_or(V::Null, V::Num),
        Some(serde_json::Value::String(s)) => V::Text(s.clone()),
        Some(serde_json::Value::Array(items)) => V::List(
            items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect(),
        ),
        Some(other) => V::Text(other.to_string()),
    }
}

impl super::expr::Context for Answers<'_> {
    fn field(&self, name: &str) -> super::expr::Value {
        to_value(self.answers.get(name))
    }
    fn dot(&self) -> super::expr::Value {
        to_value(self.dot)
    }
    fn today(&self) -> String {
        self.today.to_string()
    }
}

fn check_value(field: &Field, value: &serde_json::Value, name: &str) -> Result<()> {
    use serde_json::Value;
    let wrong = |what: &str| Err(Error::invalid(name, format!("类型不符 / expected {what}")));
    let is_choice = |v: &str| field.choices.iter().any(|c| c.value == v);
    match (field.field_type, value) {
        (FieldType::Text, Value::String(_)) => Ok(()),
        (FieldType::Integer, Value::Number(n)) if n.is_i64() => Ok(()),
        (FieldType::Decimal, Value::Number(_)) => Ok(()),
        (FieldType::YesNo, Value::Bool(_)) => Ok(()),
        (FieldType::Date, Value::String(s)) => crate::model::validate::date(s, name).map(|_| ()),
        (FieldType::SelectOne, Value::String(s)) if is_choice(s) => Ok(()),
        (FieldType::SelectMultiple, Value::Array(items))
            if items.iter().all(|i| i.as_str().is_some_and(is_choice)) =>
        {
            Ok(())
        }
        (FieldType::ChecklistItem, Value::String(s)) => {
            crate::model::Outcome::parse(s, name).map(|_| ())
        }
        (FieldType::Text, _) => wrong("text"),
        (FieldType::Integer, _) => wrong("integer"),
        (FieldType::Decimal, _) => wrong("number"),
        (FieldType::YesNo, _) => wrong("true/false"),
        (FieldType::Date, _) => wrong("date"),
        (FieldType::SelectOne | FieldType::SelectMultiple, _) => {
            Err(Error::invalid(name, "不是可选项 / not one of the choices"))
        }
        (FieldType::ChecklistItem, _) => wrong("ok/problem/not_applicable"),
        (FieldType::Note, _) => wrong("no answer"),
    }
}
