//! Form templates: the data that defines a visit checklist, a twelve-duties
//! form or a hazard inspection. A template is identified by `id` and
//! `version`; a version never changes once published, and records keep the
//! version they were filled with. The JSON format is documented in
//! `docs/forms.md`; [`Template::check`] enforces its rules. Answers are
//! validated in [`super::answers`].

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

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

impl TemplateCategory {
    /// Stable code (`visit_checklist`, `duty`, `hazard`).
    pub fn code(self) -> &'static str {
        match self {
            TemplateCategory::VisitChecklist => "visit_checklist",
            TemplateCategory::Duty => "duty",
            TemplateCategory::Hazard => "hazard",
        }
    }

    /// Parse a code.
    pub fn parse(code: &str) -> Result<TemplateCategory> {
        match code.trim() {
            "visit_checklist" => Ok(TemplateCategory::VisitChecklist),
            "duty" | "" => Ok(TemplateCategory::Duty),
            "hazard" => Ok(TemplateCategory::Hazard),
            _ => Err(Error::invalid(
                "category",
                "类别应为 visit_checklist/duty/hazard / category must be visit_checklist, duty or hazard",
            )),
        }
    }
}

/// The type of a field's answer, and the JSON an answer of it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text: a JSON string.
    Text,
    /// Whole number: a JSON integer.
    Integer,
    /// Decimal number: a JSON number.
    Decimal,
    /// Local date: `"YYYY-MM-DD"`.
    Date,
    /// Local time of day: `"HH:MM"` or `"HH:MM:SS"`.
    Time,
    /// One of `choices`: the choice's value as a string.
    SelectOne,
    /// Several of `choices`: an array of distinct choice values.
    SelectMultiple,
    /// true / false.
    YesNo,
    /// A photo: the SHA-256 of the image as 64 lowercase hex digits (the
    /// blob itself is stored and synced separately).
    Photo,
    /// A position: `{"lat": .., "lon": .., "accuracy_m": ..}` (WGS-84 degrees,
    /// accuracy optional).
    Location,
    /// Display-only text; takes no answer.
    Note,
    /// A checklist item: `"ok"`, `"problem"` or `"not_applicable"` (visit
    /// checklists).
    ChecklistItem,
}

impl FieldType {
    /// Every type.
    pub const ALL: [FieldType; 12] = [
        FieldType::Text,
        FieldType::Integer,
        FieldType::Decimal,
        FieldType::Date,
        FieldType::Time,
        FieldType::SelectOne,
        FieldType::SelectMultiple,
        FieldType::YesNo,
        FieldType::Photo,
        FieldType::Location,
        FieldType::Note,
        FieldType::ChecklistItem,
    ];

    /// True for select_one and select_multiple.
    pub fn has_choices(self) -> bool {
        matches!(self, FieldType::SelectOne | FieldType::SelectMultiple)
    }
}

/// A choice of a select field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// Stored value.
    pub value: String,
    /// zh-CN label.
    pub label_zh: String,
    /// English label.
    #[serde(default)]
    pub label_en: String,
}

/// A titled group of fields (for checklists: must_look / must_visit / must_clear).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Stable id, referred to by [`Field::section`].
    pub id: String,
    /// zh-CN title.
    pub title_zh: String,
    /// English title.
    #[serde(default)]
    pub title_en: String,
}

/// One field (or checklist item) of a template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Stable id within the template (letters, digits, `_`; not starting
    /// with a digit), used as `${id}` in expressions.
    pub id: String,
    /// The [`Section`] it belongs to (empty = none).
    #[serde(default)]
    pub section: String,
    /// zh-CN label.
    pub label_zh: String,
    /// English label.
    #[serde(default)]
    pub label_en: String,
    /// Answer type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Whether an answer is required (when the field is relevant).
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

impl Field {
    /// `"<label_zh> / <label_en>"` (or just the zh-CN label).
    pub fn label(&self) -> String {
        if self.label_en.is_empty() {
            self.label_zh.clone()
        } else {
            format!("{} / {}", self.label_zh, self.label_en)
        }
    }
}

/// A versioned form template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// Stable id (lowercase letters, digits, `-` and `_`).
    pub id: String,
    /// Version, increasing from 1.
    pub version: u32,
    /// zh-CN title.
    pub title_zh: String,
    /// English title.
    #[serde(default)]
    pub title_en: String,
    /// What it is for.
    pub category: TemplateCategory,
    /// Sections in display order (optional).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<Section>,
    /// Fields in display order.
    pub fields: Vec<Field>,
}

/// True for an identifier usable as `${name}` (letters, digits and `_`,
/// not starting with a digit): field and section ids, XLSForm names and
/// the references to them ([`super::refs`]).
pub(crate) fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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

    /// Parse a template from its JSON text strictly (every unknown key is an
    /// error naming it: staff input) and [`check`](Template::check) it.
    pub fn from_json(text: &str) -> Result<Template> {
        let template: Template = crate::json::parse_strict(text, "template", "模板", "template")?;
        template.check()?;
        template.check_references()?;
        Ok(template)
    }

    /// Parse a template as published in a synced doc: keys this build does
    /// not know (a newer server's) are ignored, then it is
    /// [`check`](Template::check)ed.
    pub fn from_synced_json(text: &str) -> Result<Template> {
        let template: Template = serde_json::from_str(text)
            .map_err(|e| crate::json::json_error("template", "模板", "template", &e))?;
        template.check()?;
        Ok(template)
    }

    /// Check the template's structure: ids well formed and unique, select
    /// fields with distinct choices and others without, sections declared,
    /// notes not required, and every `relevant`/`constraint` expression parsed
    /// with only known `${fields}`. The first problem is returned, naming
    /// `template.<id>.v<version>.<field>[.<part>]`.
    pub fn check(&self) -> Result<()> {
        let valid_id = !self.id.is_empty()
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !valid_id {
            return Err(Error::invalid(
                "template.id",
                "模板编号只能含小写字母、数字、- 和 _ / template id must be lowercase letters, digits, - or _",
            ));
        }
        let at = |what: &str| format!("template.{}.v{}.{what}", self.id, self.version);
        if self.version == 0 {
            return Err(Error::invalid(
                at("version"),
                "版本从 1 开始 / versions start at 1",
            ));
        }
        if self.title_zh.trim().is_empty() {
            return Err(Error::invalid(
                at("title_zh"),
                "标题必填 / a title is required",
            ));
        }
        if self.fields.is_empty() {
            return Err(Error::invalid(
                at("fields"),
                "至少需要一个字段 / at least one field is required",
            ));
        }
        for (i, section) in self.sections.iter().enumerate() {
            if !is_name(&section.id) || self.sections[..i].iter().any(|s| s.id == section.id) {
                return Err(Error::invalid(
                    at(&format!("sections.{}", section.id)),
                    "分组编号无效或重复 / section id is malformed or repeated",
                ));
            }
        }
        for (i, field) in self.fields.iter().enumerate() {
            let here = |part: &str| {
                if part.is_empty() {
                    at(&field.id)
                } else {
                    at(&format!("{}.{part}", field.id))
                }
            };
            if !is_name(&field.id) {
                return Err(Error::invalid(
                    at(&format!("fields[{i}]")),
                    "字段编号只能含字母、数字和 _ / field id must be letters, digits or _",
                ));
            }
            if self.fields[..i].iter().any(|f| f.id == field.id) {
                return Err(Error::invalid(here(""), "字段编号重复 / field id repeated"));
            }
            if field.label_zh.trim().is_empty() {
                return Err(Error::invalid(
                    here("label_zh"),
                    "标签必填 / a label is required",
                ));
            }
            if !field.section.is_empty()
                && !self.sections.is_empty()
                && !self.sections.iter().any(|s| s.id == field.section)
            {
                return Err(Error::invalid(
                    here("section"),
                    "引用了未声明的分组 / refers to an undeclared section",
                ));
            }
            if field.field_type.has_choices() {
                if field.choices.is_empty() {
                    return Err(Error::invalid(
                        here("choices"),
                        "选择题至少需要一个选项 / a select field needs choices",
                    ));
                }
                for (j, choice) in field.choices.iter().enumerate() {
                    if choice.value.trim().is_empty()
                        || choice.value.contains(char::is_whitespace)
                        || field.choices[..j].iter().any(|c| c.value == choice.value)
                    {
                        return Err(Error::invalid(
                            here("choices"),
                            "选项值为空、含空格或重复 / a choice value is empty, has spaces or is repeated",
                        ));
                    }
                }
            } else if !field.choices.is_empty() {
                return Err(Error::invalid(
                    here("choices"),
                    "只有选择题可以有选项 / only select fields take choices",
                ));
            }
            if field.field_type == FieldType::Note && (field.required || field.constraint.is_some())
            {
                return Err(Error::invalid(
                    here("required"),
                    "说明字段不接受回答 / a note takes no answer",
                ));
            }
            for (kind, expr) in self.field_expressions(field)? {
                if let Some(unknown) = expr.fields().into_iter().find(|n| self.field(n).is_none()) {
                    return Err(Error::invalid(
                        here(kind),
                        format!("引用了不存在的字段 / refers to an unknown field ${{{unknown}}}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Check the `${name}` references of every text shown to the worker
    /// (section titles, field labels, choice labels, constraint messages;
    /// see [`super::refs`]): each must be well formed and name a field of
    /// the template. Run on staff input ([`Template::from_json`], the
    /// XLSForm import), not on synced templates, which load as published.
    pub fn check_references(&self) -> Result<()> {
        let at = |what: &str| format!("template.{}.v{}.{what}", self.id, self.version);
        let mut texts: Vec<(String, &str)> = Vec::new();
        for section in &self.sections {
            for text in [&section.title_zh, &section.title_en] {
                texts.push((at(&format!("sections.{}", section.id)), text));
            }
        }
        for field in &self.fields {
            for text in [&field.label_zh, &field.label_en] {
                texts.push((at(&format!("{}.label", field.id)), text));
            }
            for choice in &field.choices {
                for text in [&choice.label_zh, &choice.label_en] {
                    texts.push((at(&format!("{}.choices", field.id)), text));
                }
            }
            if let Some(text) = &field.constraint_message {
                texts.push((at(&format!("{}.constraint_message", field.id)), text));
            }
        }
        for (place, text) in texts {
            let names = super::refs::names(text).map_err(|_| {
                Error::invalid(
                    &place,
                    "${…} 引用格式错误，应为 ${字段名} / a ${…} reference is malformed: write ${field_name}",
                )
            })?;
            if let Some(unknown) = names.into_iter().find(|n| self.field(n).is_none()) {
                return Err(Error::invalid(
                    place,
                    format!("引用了不存在的字段 / refers to an unknown field ${{{unknown}}}"),
                ));
            }
        }
        Ok(())
    }

    /// Parse every `relevant` and `constraint` expression; a parse error names
    /// the template, version, field and position. (Part of [`Template::check`].)
    pub fn check_expressions(&self) -> Result<()> {
        for field in &self.fields {
            self.field_expressions(field)?;
        }
        Ok(())
    }

    /// `field`'s `relevant` and `constraint` expressions, parsed, with their
    /// kind; the first that does not parse is an error naming
    /// `template.<id>.v<version>.<field>.<kind>` and the position. Shared by
    /// [`Template::check`] and [`Template::check_expressions`].
    fn field_expressions(&self, field: &Field) -> Result<Vec<(&'static str, super::expr::Expr)>> {
        let mut parsed = Vec::new();
        for (kind, source) in [
            ("relevant", &field.relevant),
            ("constraint", &field.constraint),
        ] {
            let Some(source) = source else { continue };
            let expr = super::expr::parse(source).map_err(|e| {
                Error::invalid(
                    format!("template.{}.v{}.{}.{kind}", self.id, self.version, field.id),
                    format!("表达式错误 / expression error {e}"),
                )
            })?;
            parsed.push((kind, expr));
        }
        Ok(parsed)
    }
}
