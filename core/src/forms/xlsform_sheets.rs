//! Reading an XLSForm workbook for [`super`]: sheets as text rows, what each
//! column means (with the `::language` label columns), and the `settings`
//! and `choices` sheets.

use super::ImportOptions;
use crate::forms::template::{Choice, TemplateCategory};
use crate::{Error, Result};
use calamine::{Data, Reader, Xlsx};
use std::collections::BTreeMap;
use std::io::Cursor;

// ---------------------------------------------------------------------------
// Sheets and cells
// ---------------------------------------------------------------------------

/// One sheet as text: normalised headers and the non-blank data rows.
pub(super) struct Sheet {
    pub(super) name: &'static str,
    /// Headers trimmed, as written (for messages).
    raw: Vec<String>,
    /// Headers trimmed, lowercased, `::` without spaces around it.
    headers: Vec<String>,
    pub(super) rows: Vec<Row>,
}

pub(super) struct Row {
    /// 1-based spreadsheet row number.
    pub(super) number: u32,
    cells: Vec<String>,
}

impl Row {
    pub(super) fn get(&self, col: Option<usize>) -> &str {
        col.and_then(|c| self.cells.get(c))
            .map_or("", String::as_str)
    }
}

/// A cell as trimmed text; whole numbers without a decimal point.
fn cell_text(cell: &Data) -> Option<String> {
    Some(match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d.to_string(),
        Data::Error(_) => return None,
    })
}

/// Excel's letter name of a 0-based column (`A`, …, `Z`, `AA`, …).
fn column_letter(mut col: u32) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn normalize_header(header: &str) -> String {
    header
        .split("::")
        .map(|p| p.trim().to_lowercase())
        .collect::<Vec<_>>()
        .join("::")
}

/// Load sheet `name` (matched case-insensitively); `None` when absent.
pub(super) fn load(book: &mut Xlsx<Cursor<&[u8]>>, name: &'static str) -> Result<Option<Sheet>> {
    let Some(actual) = book
        .sheet_names()
        .into_iter()
        .find(|s| s.trim().eq_ignore_ascii_case(name))
    else {
        return Ok(None);
    };
    let range = crate::sheet_range::worksheet_range(book, &actual).map_err(|_| {
        Error::invalid(
            format!("xlsform.{name}"),
            "工作表无法读取 / the sheet cannot be read",
        )
    })?;
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let mut sheet = Sheet {
        name,
        raw: Vec::new(),
        headers: Vec::new(),
        rows: Vec::new(),
    };
    for (i, cells) in range.rows().enumerate() {
        let number = first_row + i as u32 + 1;
        let cells = cells
            .iter()
            .map(cell_text)
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| {
                Error::invalid(
                    format!("xlsform.{name}.row{number}"),
                    "单元格含错误值 / a cell holds an error value",
                )
            })?;
        if i == 0 {
            sheet.raw = cells
                .iter()
                .enumerate()
                .map(|(c, h)| {
                    if h.is_empty() {
                        format!("column {}", column_letter(first_col + c as u32))
                    } else {
                        h.clone()
                    }
                })
                .collect();
            sheet.headers = cells.iter().map(|h| normalize_header(h)).collect();
        } else if cells.iter().any(|c| !c.is_empty()) {
            sheet.rows.push(Row { number, cells });
        }
    }
    Ok(Some(sheet))
}

// ---------------------------------------------------------------------------
// Columns
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Zh,
    En,
    Other,
}

/// The language of a `label::TAG` column: `zh`, `zh-CN`, `Chinese (zh)`,
/// `中文` … or `en`, `English (en)` ….
fn language(tag: &str) -> Lang {
    let tag = tag.trim().to_lowercase();
    let (name, code) = match (tag.rfind('('), tag.ends_with(')')) {
        (Some(open), true) => (tag[..open].trim(), tag[open + 1..tag.len() - 1].trim()),
        _ => (tag.as_str(), tag.as_str()),
    };
    let base = code.split(['-', '_']).next().unwrap_or_default();
    if base == "zh" || matches!(name, "chinese" | "中文" | "简体中文" | "汉语") {
        Lang::Zh
    } else if base == "en" || matches!(name, "english" | "英文" | "英语") {
        Lang::En
    } else {
        Lang::Other
    }
}

/// The zh-CN and English columns of a translatable base (`label`, …).
#[derive(Clone, Copy, Default)]
pub(super) struct Langs {
    zh: Option<usize>,
    en: Option<usize>,
}

impl Langs {
    /// `(zh, en)` of a row; a text given only in English becomes the zh-CN
    /// one (the template needs that one).
    pub(super) fn read(&self, row: &Row) -> (String, String) {
        let zh = row.get(self.zh).to_string();
        let en = row.get(self.en).to_string();
        if zh.is_empty() {
            (en, String::new())
        } else {
            (zh, en)
        }
    }
}

/// What each column of a sheet means.
pub(super) struct Columns {
    by_key: BTreeMap<&'static str, usize>,
    langs: BTreeMap<&'static str, Langs>,
    /// Columns with no meaning here: (index, header as written).
    unknown: Vec<(usize, String)>,
}

impl Columns {
    pub(super) fn get(&self, key: &str) -> Option<usize> {
        self.by_key.get(key).copied()
    }

    pub(super) fn lang(&self, base: &str) -> Langs {
        self.langs.get(base).copied().unwrap_or_default()
    }

    /// `column 'x' is not supported` for every unknown column set in `row`.
    pub(super) fn unsupported(&self, row: &Row) -> Vec<String> {
        self.unknown
            .iter()
            .filter(|(c, _)| !row.get(Some(*c)).is_empty())
            .map(|(_, h)| {
                format!("不支持列 '{h}'，已忽略 / column '{h}' is not supported (ignored)")
            })
            .collect()
    }
}

/// Resolve a sheet's headers: `keys` are (meaning, accepted headers),
/// `translatable` are bases taking `::language` suffixes, `ignored` are
/// dropped silently (with any suffix).
pub(super) fn columns(
    sheet: &Sheet,
    keys: &[(&'static str, &[&str])],
    translatable: &[&'static str],
    ignored: &[&str],
) -> Result<Columns> {
    let repeated = |c: usize| {
        Error::invalid(
            format!("xlsform.{}", sheet.name),
            format!(
                "列 '{0}' 与另一列含义相同 / column '{0}' repeats another column",
                sheet.raw[c]
            ),
        )
    };
    let mut out = Columns {
        by_key: BTreeMap::new(),
        langs: BTreeMap::new(),
        unknown: Vec::new(),
    };
    let mut plain: Vec<(&'static str, usize)> = Vec::new();
    for (c, header) in sheet.headers.iter().enumerate() {
        if let Some((key, _)) = keys
            .iter()
            .find(|(_, names)| names.contains(&header.as_str()))
        {
            if out.by_key.insert(key, c).is_some() {
                return Err(repeated(c));
            }
            continue;
        }
        let (base, tag) = match header.split_once("::") {
            Some((base, tag)) => (base, Some(tag)),
            None => (header.as_str(), None),
        };
        if ignored.contains(&base) {
            continue;
        }
        let Some(base) = translatable.iter().copied().find(|t| *t == base) else {
            out.unknown.push((c, sheet.raw[c].clone()));
            continue;
        };
        let langs = out.langs.entry(base).or_default();
        let slot = match tag.map(language) {
            None => {
                plain.push((base, c));
                continue;
            }
            Some(Lang::Zh) => &mut langs.zh,
            Some(Lang::En) => &mut langs.en,
            Some(Lang::Other) => {
                out.unknown.push((c, sheet.raw[c].clone()));
                continue;
            }
        };
        if slot.replace(c).is_some() {
            return Err(repeated(c));
        }
    }
    // A plain `label` is the zh-CN text, else the English one.
    for (base, c) in plain {
        let langs = out.langs.entry(base).or_default();
        if langs.zh.is_none() {
            langs.zh = Some(c);
        } else if langs.en.is_none() {
            langs.en = Some(c);
        } else {
            out.unknown.push((c, sheet.raw[c].clone()));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Settings and choices
// ---------------------------------------------------------------------------

pub(super) struct Settings {
    pub(super) id: String,
    pub(super) version: u32,
    pub(super) title_zh: String,
    pub(super) title_en: String,
    pub(super) category: TemplateCategory,
}

pub(super) fn read_settings(sheet: Option<&Sheet>, options: &ImportOptions) -> Result<Settings> {
    let sheet = sheet.ok_or_else(|| {
        Error::invalid(
            "xlsform.settings",
            "缺少 settings 表（需要 form_id）/ the workbook has no settings sheet (form_id is required)",
        )
    })?;
    // Other settings (instance_name, submission_url, …) concern ODK servers.
    let cols = columns(
        sheet,
        &[
            ("form_id", &["form_id"]),
            ("version", &["version"]),
            ("category", &["category"]),
        ],
        &["form_title"],
        &[],
    )?;
    let empty = Row {
        number: 2,
        cells: Vec::new(),
    };
    let row = sheet.rows.first().unwrap_or(&empty);
    let id = row.get(cols.get("form_id")).to_string();
    if id.is_empty() {
        return Err(Error::invalid(
            "xlsform.settings.form_id",
            "settings 表缺少 form_id / the settings sheet has no form_id",
        ));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            "xlsform.settings.form_id",
            format!("form_id '{id}' 只能含小写字母、数字、- 和 _ / form_id '{id}' must be lowercase letters, digits, - or _"),
        ));
    }
    let version = match row.get(cols.get("version")) {
        "" => 1,
        text => text
            .parse::<u32>()
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| {
                Error::invalid(
                    "xlsform.settings.version",
                    format!("版本 '{text}' 应为不超过 4294967295 的正整数 / version '{text}' must be a whole number from 1 to 4294967295"),
                )
            })?,
    };
    let (mut title_zh, title_en) = cols.lang("form_title").read(row);
    if title_zh.is_empty() {
        title_zh = id.clone();
    }
    let category = match options.category {
        Some(category) => category,
        None => TemplateCategory::parse(row.get(cols.get("category"))).map_err(|e| match e {
            Error::Validation { message, .. } => {
                Error::invalid("xlsform.settings.category", message)
            }
            other => other,
        })?,
    };
    Ok(Settings {
        id,
        version,
        title_zh,
        title_en,
        category,
    })
}

pub(super) type Lists = BTreeMap<String, Vec<Choice>>;

pub(super) fn read_choices(sheet: &Sheet) -> Result<Lists> {
    // Other columns (choice_filter keys, media) are not used.
    let cols = columns(
        sheet,
        &[
            ("list_name", &["list_name", "list name"]),
            ("name", &["name", "value"]),
        ],
        &["label"],
        &[],
    )?;
    let (Some(list_col), Some(name_col)) = (cols.get("list_name"), cols.get("name")) else {
        return Err(Error::invalid(
            "xlsform.choices",
            "choices 表需要 list_name 和 name 列 / the choices sheet needs list_name and name columns",
        ));
    };
    let mut lists = Lists::new();
    for row in &sheet.rows {
        let at = || format!("xlsform.choices.row{}", row.number);
        let (list, name) = (row.get(Some(list_col)), row.get(Some(name_col)));
        if list.is_empty() && name.is_empty() {
            continue;
        }
        if list.is_empty() || name.is_empty() {
            return Err(Error::invalid(
                at(),
                "list_name 和 name 都必填 / both list_name and name are required",
            ));
        }
        if name.contains(char::is_whitespace) {
            return Err(Error::invalid(
                at(),
                format!(
                    "选项名 '{name}' 不能含空格 / choice name '{name}' must not contain spaces"
                ),
            ));
        }
        let choices = lists.entry(list.to_string()).or_default();
        if choices.iter().any(|c| c.value == name) {
            return Err(Error::invalid(
                at(),
                format!("选项 '{name}' 在列表 '{list}' 中重复 / choice '{name}' is repeated in list '{list}'"),
            ));
        }
        let (mut label_zh, label_en) = cols.lang("label").read(row);
        if label_zh.is_empty() {
            label_zh = name.to_string();
        }
        choices.push(Choice {
            value: name.to_string(),
            label_zh,
            label_en,
        });
    }
    Ok(lists)
}
