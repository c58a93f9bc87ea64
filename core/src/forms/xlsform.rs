//! XLSForm import: turns the common subset of an XLSForm workbook (`.xlsx`
//! with `survey`, `choices` and `settings` sheets) into a [`Template`], so
//! staff can keep designing forms in a spreadsheet.
//!
//! The mapping is documented in `docs/forms.md`. In short: the header row
//! names the columns (case-insensitive); `label::zh` / `label::en` (and the
//! usual spellings of those languages) become the two labels; groups become
//! sections, and a group's `relevant` is and-ed into each of its fields;
//! `relevant` and `constraint` are copied as they are and checked by
//! [`Template::check`]. `hint` and `guidance_hint` columns are ignored (the
//! template format has no hints). Rows the template format cannot represent
//! (unsupported types, repeats, non-empty cells in columns with no meaning
//! here such as `calculation` or `default`) are listed as [`SkippedRow`]s and
//! make the import fail unless [`ImportOptions::allow_unsupported`] is set;
//! metadata rows (`start`, `end`, `today`, `deviceid`, `username`, `audit`)
//! are always skipped, since Gridwork records who filled a form and when by
//! itself. `acknowledge` is unsupported (its ODK value "OK" has no template
//! type). Errors name the sheet and, for a row, its 1-based number
//! (`xlsform.survey.row7`, `xlsform.settings.form_id`).
//!
//! The workbook is read through [`crate::spreadsheet`] (zip-bomb and size
//! limits, [`Error::TooLarge`]); cells keep their type, so a date cell is
//! ISO text and is refused where a date makes no sense (names, list names,
//! `form_id`, `version`). Every `${name}` in an imported row must name an
//! imported field ([`super::refs`]); labels keep the references for the
//! apps to fill in.

use super::expr;
use super::template::{is_name, Field, FieldType, Section, Template, TemplateCategory};
use crate::spreadsheet::{self, xlsx::Workbook};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use sheets::{columns, load, read_choices, read_settings, Lists, Settings, Sheet};
use std::path::Path;

#[path = "xlsform_sheets.rs"]
mod sheets;

/// One survey row that the import could not represent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRow {
    /// The sheet (always `survey` today).
    pub sheet: String,
    /// 1-based spreadsheet row number.
    pub row: u32,
    /// The row's `name` cell (may be empty).
    pub name: String,
    /// Why (zh-CN / English). A row whose only problem is an unsupported
    /// column is still imported without that column; the reason then ends
    /// with "(ignored)".
    pub reason: String,
}

/// What an import produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct XlsImport {
    /// The template, already [checked](Template::check).
    pub template: Template,
    /// Rows left out or imported only in part, in sheet order.
    pub skipped: Vec<SkippedRow>,
}

/// Options of [`import_xlsx`].
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// When false (the default), any unsupported row is an error; when true,
    /// such rows are left out and listed in [`XlsImport::skipped`].
    pub allow_unsupported: bool,
    /// The template category, overriding the settings sheet's `category`.
    pub category: Option<TemplateCategory>,
}

/// Types whose values Gridwork records by itself; always skipped.
const METADATA: [&str; 6] = ["start", "end", "today", "deviceid", "username", "audit"];
const METADATA_REASON: &str = "由系统自动记录 / metadata captured automatically by Gridwork";

/// Read an XLSForm `.xlsx` file and [`import_xlsx`] it. A file larger than
/// the [spreadsheet limit](crate::spreadsheet::LIMITS) is refused unread.
pub fn import_xlsx_file(path: &Path, options: &ImportOptions) -> Result<XlsImport> {
    let bytes = spreadsheet::read_file(path, "xlsform")?;
    import_xlsx(&bytes, options)
}

/// Convert an XLSForm workbook (the bytes of an `.xlsx` file) into a checked
/// [`Template`]. See the module docs and `docs/forms.md` for the mapping.
/// The workbook is read through [`crate::spreadsheet`]: one beyond its
/// limits (a zip bomb, too many rows or columns) is an
/// [`Error::TooLarge`].
pub fn import_xlsx(bytes: &[u8], options: &ImportOptions) -> Result<XlsImport> {
    let mut book = Workbook::open(bytes, "xlsform")?;
    let settings = read_settings(load(&mut book, "settings")?.as_ref(), options)?;
    let lists = load(&mut book, "choices")?
        .map(|s| read_choices(&s))
        .transpose()?;
    let survey = load(&mut book, "survey")?.ok_or_else(|| {
        Error::invalid(
            "xlsform.survey",
            "缺少 survey 表 / the workbook has no survey sheet",
        )
    })?;
    let (sections, fields, skipped, blocking) = read_survey(&survey, lists.as_ref(), &settings)?;
    // Before the unsupported rows: a wrong reference is named with its row
    // even in a row that is refused anyway.
    check_survey_references(&survey, &fields, &skipped)?;
    if !blocking.is_empty() && !options.allow_unsupported {
        return Err(Error::invalid(
            "xlsform.survey",
            format!(
                "以下行无法导入 / these rows cannot be imported: {}",
                blocking.join("; ")
            ),
        ));
    }
    let template = Template {
        id: settings.id,
        version: settings.version,
        title_zh: settings.title_zh,
        title_en: settings.title_en,
        category: settings.category,
        sections,
        fields,
    };
    template.check()?;
    // Choice labels (the survey's own texts were checked with their rows).
    template.check_references()?;
    Ok(XlsImport { template, skipped })
}

// ---------------------------------------------------------------------------
// Survey
// ---------------------------------------------------------------------------

/// What a survey row's `type` means.
enum Kind {
    Field(FieldType, Option<String>),
    BeginGroup,
    EndGroup,
    BeginRepeat,
    EndRepeat,
    Metadata,
    /// ODK's `acknowledge`: one value, "OK", or nothing. No template type
    /// stores that (a yes/no field would record true/false, never "OK").
    Acknowledge,
    Unsupported,
}

const ACKNOWLEDGE_REASON: &str = "类型 'acknowledge' 不受支持（其值只能是 OK）：请改用 yes_no，或只有一个选项的 select_one / type 'acknowledge' is not supported (its only value is OK): use yes_no, or a select_one with a single choice";

fn unsupported_type(text: &str) -> String {
    format!("类型 '{text}' 不受支持 / type '{text}' is not supported")
}

/// Parse a `type` cell (not empty). Select types need a list name.
fn kind(text: &str, at: &str) -> Result<Kind> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let lower: Vec<String> = tokens.iter().map(|t| t.to_lowercase()).collect();
    let words: Vec<&str> = lower.iter().map(String::as_str).collect();
    let (keyword, rest) = match words.as_slice() {
        ["begin", "group", ..] => ("begin_group", &tokens[2..]),
        ["end", "group", ..] => ("end_group", &tokens[2..]),
        ["begin", "repeat", ..] => ("begin_repeat", &tokens[2..]),
        ["end", "repeat", ..] => ("end_repeat", &tokens[2..]),
        ["select", "one", ..] => ("select_one", &tokens[2..]),
        ["select", "multiple", ..] => ("select_multiple", &tokens[2..]),
        [first, ..] => (*first, &tokens[1..]),
        [] => return Ok(Kind::Unsupported),
    };
    let field = |t: FieldType| Kind::Field(t, None);
    let kind = match keyword {
        "select_one" | "select_multiple" => {
            let field_type = if keyword == "select_one" {
                FieldType::SelectOne
            } else {
                FieldType::SelectMultiple
            };
            return match rest {
                [] => Err(Error::invalid(
                    at,
                    format!("{keyword} 需要选项列表名 / {keyword} needs a list name"),
                )),
                [list] => Ok(Kind::Field(field_type, Some(list.to_string()))),
                // `or_other` and the like.
                _ => Ok(Kind::Unsupported),
            };
        }
        "begin_group" => Kind::BeginGroup,
        "end_group" => Kind::EndGroup,
        "begin_repeat" => Kind::BeginRepeat,
        "end_repeat" => Kind::EndRepeat,
        "text" | "string" => field(FieldType::Text),
        "integer" | "int" => field(FieldType::Integer),
        "decimal" => field(FieldType::Decimal),
        "date" => field(FieldType::Date),
        "time" => field(FieldType::Time),
        "note" => field(FieldType::Note),
        "image" | "photo" => field(FieldType::Photo),
        "geopoint" | "location" => field(FieldType::Location),
        "yes_no" => field(FieldType::YesNo),
        "acknowledge" => Kind::Acknowledge,
        "checklist_item" => field(FieldType::ChecklistItem),
        m if METADATA.contains(&m) => Kind::Metadata,
        _ => Kind::Unsupported,
    };
    Ok(
        if rest.is_empty() || matches!(kind, Kind::EndGroup | Kind::EndRepeat) {
            kind
        } else {
            Kind::Unsupported
        },
    )
}

/// `required`: yes/true/1 or no/false/0/empty.
fn required(text: &str, at: &str) -> Result<bool> {
    match text.to_lowercase().as_str() {
        "yes" | "true" | "true()" | "1" => Ok(true),
        "" | "no" | "false" | "false()" | "0" => Ok(false),
        _ => Err(Error::invalid(
            at,
            "required 应为 yes 或 no / required must be yes or no",
        )),
    }
}

fn check_name(name: &str, at: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid(at, "name 必填 / name is required"));
    }
    if !is_name(name) {
        return Err(Error::invalid(
            at,
            format!("名称 '{name}' 只能含字母、数字和 _，且不以数字开头 / name '{name}' must be letters, digits or _ and not start with a digit"),
        ));
    }
    Ok(())
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// An open `begin group`.
struct Group {
    name: String,
    row: u32,
    relevant: Option<String>,
}

/// Sections, fields, rows left out, and "row N 'name': reason" of the rows
/// that block a strict import.
type Survey = (Vec<Section>, Vec<Field>, Vec<SkippedRow>, Vec<String>);

fn read_survey(sheet: &Sheet, lists: Option<&Lists>, settings: &Settings) -> Result<Survey> {
    let cols = columns(
        sheet,
        &[
            ("type", &["type"]),
            ("name", &["name"]),
            ("required", &["required"]),
            ("relevant", &["relevant"]),
            ("constraint", &["constraint"]),
        ],
        &["label", "constraint_message"],
        &["hint", "guidance_hint"],
    )?;
    if cols.get("type").is_none() || cols.get("name").is_none() {
        return Err(Error::invalid(
            "xlsform.survey",
            "survey 表需要 type 和 name 列 / the survey sheet needs type and name columns",
        ));
    }
    let mut sections: Vec<Section> = Vec::new();
    let mut fields: Vec<Field> = Vec::new();
    let mut skipped: Vec<SkippedRow> = Vec::new();
    // "row N 'name': reason" of every row that blocks a strict import.
    let mut blocking: Vec<String> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    // Names of the open repeats (everything inside one is skipped).
    let mut repeats: Vec<String> = Vec::new();
    for row in &sheet.rows {
        let at = format!("xlsform.survey.row{}", row.number);
        let type_text = row.get(cols.get("type"));
        let name = row.get(cols.get("name")).to_string();
        let mut skip = |reasons: Vec<String>, blocks: bool| {
            if reasons.is_empty() {
                return;
            }
            let reason = reasons.join("; ");
            if blocks {
                blocking.push(format!("row {} '{name}': {reason}", row.number));
            }
            skipped.push(SkippedRow {
                sheet: sheet.name.into(),
                row: row.number,
                name: name.clone(),
                reason,
            });
        };
        if type_text.is_empty() {
            return Err(Error::invalid(at, "type 必填 / type is required"));
        }
        row.not_temporal(cols.get("type"), &at, "type")?;
        row.not_temporal(cols.get("name"), &at, "name")?;
        let kind = kind(type_text, &at)?;
        if let Some(repeat) = repeats.last() {
            let inside = format!(
                "位于重复组 '{repeat}' 中，不支持重复组 / inside repeat '{repeat}': repeats are not supported"
            );
            match kind {
                Kind::BeginRepeat => {
                    skip(vec![inside], true);
                    repeats.push(name.clone());
                }
                Kind::EndRepeat => {
                    repeats.pop();
                }
                Kind::EndGroup => {}
                _ => skip(vec![inside], true),
            }
            continue;
        }
        let (field_type, list) = match kind {
            Kind::Metadata => {
                skip(vec![METADATA_REASON.into()], false);
                continue;
            }
            Kind::Unsupported => {
                skip(vec![unsupported_type(type_text)], true);
                continue;
            }
            Kind::Acknowledge => {
                skip(vec![ACKNOWLEDGE_REASON.into()], true);
                continue;
            }
            Kind::BeginRepeat => {
                skip(vec![unsupported_type("begin repeat")], true);
                repeats.push(name.clone());
                continue;
            }
            Kind::EndRepeat => {
                return Err(Error::invalid(
                    at,
                    "end repeat 前没有 begin repeat / 'end repeat' without 'begin repeat'",
                ));
            }
            Kind::EndGroup => {
                if groups.pop().is_none() {
                    return Err(Error::invalid(
                        at,
                        "end group 前没有 begin group / 'end group' without 'begin group'",
                    ));
                }
                continue;
            }
            Kind::BeginGroup => {
                check_name(&name, &at)?;
                if sections.iter().any(|s| s.id == name) {
                    return Err(Error::invalid(
                        at,
                        format!("分组名 '{name}' 重复 / group name '{name}' is used twice"),
                    ));
                }
                let relevant = non_empty(row.get(cols.get("relevant")));
                if let Some(source) = &relevant {
                    expr::parse(source).map_err(|e| {
                        Error::invalid(
                            format!("{at}.relevant"),
                            format!("表达式错误 / expression error {e}"),
                        )
                    })?;
                }
                let (mut title_zh, title_en) = cols.lang("label").read(row);
                if title_zh.is_empty() {
                    title_zh = name.clone();
                }
                sections.push(Section {
                    id: name.clone(),
                    title_zh,
                    title_en,
                });
                groups.push(Group {
                    name: name.clone(),
                    row: row.number,
                    relevant,
                });
                skip(cols.unsupported(row), true);
                continue;
            }
            Kind::Field(field_type, list) => (field_type, list),
        };
        check_name(&name, &at)?;
        if fields.iter().any(|f| f.id == name) {
            return Err(Error::invalid(
                at,
                format!("名称 '{name}' 重复 / name '{name}' is used twice"),
            ));
        }
        let (label_zh, label_en) = cols.lang("label").read(row);
        if label_zh.is_empty() {
            return Err(Error::invalid(at, "标签必填 / a label is required"));
        }
        let choices = match list {
            None => Vec::new(),
            Some(list) => match lists.map(|l| l.get(&list)) {
                Some(Some(choices)) => choices.clone(),
                Some(None) => {
                    return Err(Error::invalid(
                        at,
                        format!("choices 表中没有选项列表 '{list}' / list '{list}' is not in the choices sheet"),
                    ))
                }
                None => {
                    return Err(Error::invalid(
                        at,
                        format!("没有 choices 表，找不到选项列表 '{list}' / list '{list}' not found: the workbook has no choices sheet"),
                    ))
                }
            },
        };
        let own_relevant = non_empty(row.get(cols.get("relevant")));
        let mut parts: Vec<&str> = groups
            .iter()
            .filter_map(|g| g.relevant.as_deref())
            .collect();
        let relevant = if parts.is_empty() {
            own_relevant
        } else {
            if let Some(own) = &own_relevant {
                // Report a parse error at its place in the field's own cell.
                expr::parse(own).map_err(|e| {
                    Error::invalid(
                        format!(
                            "template.{}.v{}.{name}.relevant",
                            settings.id, settings.version
                        ),
                        format!("表达式错误 / expression error {e}"),
                    )
                })?;
                parts.push(own);
            }
            Some(if parts.len() == 1 {
                parts[0].to_string()
            } else {
                parts
                    .iter()
                    .map(|p| format!("({p})"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            })
        };
        // "zh / en", like every message (`read` moved an English-only text to zh).
        let constraint_message = match cols.lang("constraint_message").read(row) {
            (zh, _) if zh.is_empty() => None,
            (zh, en) if en.is_empty() => Some(zh),
            (zh, en) => Some(format!("{zh} / {en}")),
        };
        fields.push(Field {
            id: name.clone(),
            section: groups.last().map(|g| g.name.clone()).unwrap_or_default(),
            label_zh,
            label_en,
            field_type,
            required: required(row.get(cols.get("required")), &at)?,
            choices,
            relevant,
            constraint: non_empty(row.get(cols.get("constraint"))),
            constraint_message,
        });
        skip(cols.unsupported(row), true);
    }
    if let Some(group) = groups.last() {
        return Err(Error::invalid(
            format!("xlsform.survey.row{}", group.row),
            format!(
                "分组 '{0}' 缺少 end group / group '{0}' has no 'end group'",
                group.name
            ),
        ));
    }
    if !repeats.is_empty() {
        return Err(Error::invalid(
            "xlsform.survey",
            "begin repeat 缺少 end repeat / a 'begin repeat' has no 'end repeat'",
        ));
    }
    Ok((sections, fields, skipped, blocking))
}

/// Every `${name}` in an imported survey row (any column but `type` and
/// `name`: labels, hints, messages, `relevant`, `constraint`, …) must name
/// an imported field, as pyxform requires of every row; the error names the
/// row, the column and the name. Rows left out (`skipped`) are not checked,
/// but a reference to one of them is an error: its field does not exist
/// here (metadata such as `${start}` included).
fn check_survey_references(sheet: &Sheet, fields: &[Field], skipped: &[SkippedRow]) -> Result<()> {
    let (type_col, name_col) = (sheet.position("type"), sheet.position("name"));
    for row in &sheet.rows {
        if skipped
            .iter()
            .any(|s| s.row == row.number && !s.reason.ends_with("(ignored)"))
        {
            continue;
        }
        for (c, text) in row.cells() {
            if Some(c) == type_col || Some(c) == name_col {
                continue;
            }
            let at = format!("xlsform.survey.row{}", row.number);
            let column = sheet.header(c);
            let names = super::refs::names(text).map_err(|_| {
                Error::invalid(
                    &at,
                    format!("列 '{column}' 中的 ${{…}} 引用格式错误，应为 ${{字段名}} / a ${{…}} reference in column '{column}' is malformed: write ${{field_name}}"),
                )
            })?;
            for name in names {
                if fields.iter().any(|f| f.id == name) {
                    continue;
                }
                let why = if skipped.iter().any(|s| s.name == name) {
                    format!("列 '{column}' 引用的 ${{{name}}} 是未导入的行 / ${{{name}}} in column '{column}' refers to a row that is not imported")
                } else {
                    format!("列 '{column}' 引用的 ${{{name}}} 不是本表单的字段 / ${{{name}}} in column '{column}' is not a field of this form")
                };
                return Err(Error::invalid(at, why));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "xlsform_tests.rs"]
mod tests;
