//! Reading command input files (checklist answers, form answers) and dates,
//! with errors that name the field but never echo personal data. An answers
//! file is at most [`MAX_ANSWERS_FILE_BYTES`]; a value of the wrong JSON type
//! or an unknown key is an error, never silently dropped.

use crate::Failure;
use gridwork_core::model::text::{display_key, MAX_ANSWERS_FILE_BYTES};
use gridwork_core::model::{ChecklistAnswer, Outcome, Timestamp};
use gridwork_core::{Error, Store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

fn read_json(path: &Path, field: &str) -> Result<Value, Failure> {
    let unreadable = || Failure(format!("{field}: 无法读取文件 / cannot read the file"));
    let file = std::fs::File::open(path).map_err(|_| unreadable())?;
    // Read one byte past the limit (works for pipes and devices too).
    let mut bytes = Vec::new();
    file.take(MAX_ANSWERS_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| unreadable())?;
    if bytes.len() as u64 > MAX_ANSWERS_FILE_BYTES {
        return Err(Failure(format!(
            "{field}: 文件过大，最多 1 MiB / the file is too large: at most 1 MiB"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        Failure(format!(
            "{field}: 文件不是 UTF-8 文本 / the file is not UTF-8 text"
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Failure(format!(
            "{field}: 不是有效的 JSON / not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// Checklist answers: `{"item": "ok"}`, `{"item": {"outcome": "problem", "note": "…"}}`
/// or `[{"item": …, "outcome": …, "note": …}]`. A note must be text (or
/// null); any other key is refused.
pub fn checklist_answers(path: &Path) -> Result<Vec<ChecklistAnswer>, Failure> {
    let invalid =
        |field: String, message: &str| Failure(Error::invalid(field, message).to_string());
    let bad = |item: &str| {
        invalid(
            format!("answers.{}", display_key(item)),
            "应为结果或 {outcome, note} / expected an outcome or {outcome, note}",
        )
    };
    let one = |item: &str, value: &Value, array: bool| -> Result<ChecklistAnswer, Failure> {
        let field = format!("answers.{}", display_key(item));
        if let Value::Object(map) = value {
            let allowed = |k: &str| matches!(k, "outcome" | "note") || (array && k == "item");
            if let Some(key) = map.keys().find(|k| !allowed(k)) {
                return Err(invalid(
                    format!("{field}.{}", display_key(key)),
                    "未知的键，只允许 outcome 和 note / unknown key: only outcome and note are allowed",
                ));
            }
        }
        match value {
            Value::String(s) => Ok(ChecklistAnswer {
                item: item.to_string(),
                outcome: Outcome::parse(s, &field)?,
                note: String::new(),
            }),
            Value::Object(map) => Ok(ChecklistAnswer {
                item: item.to_string(),
                outcome: Outcome::parse(
                    map.get("outcome")
                        .and_then(Value::as_str)
                        .ok_or_else(|| bad(item))?,
                    &field,
                )?,
                note: match map.get("note") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(note)) => note.clone(),
                    Some(_) => {
                        return Err(invalid(
                            format!("{field}.note"),
                            "备注应为文本 / the note must be text",
                        ))
                    }
                },
            }),
            _ => Err(bad(item)),
        }
    };
    match read_json(path, "answers")? {
        Value::Object(map) => map.iter().map(|(k, v)| one(k, v, false)).collect(),
        Value::Array(list) => list
            .iter()
            .map(|entry| {
                let item = entry
                    .get("item")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("item"))?;
                one(item, entry, true)
            })
            .collect(),
        _ => Err(Failure(
            "answers: 应为对象或数组 / expected an object or an array".into(),
        )),
    }
}

/// Form answers: a JSON object of field id → value.
pub fn form_answers(path: &Path) -> Result<BTreeMap<String, Value>, Failure> {
    match read_json(path, "answers")? {
        Value::Object(map) => Ok(map.into_iter().collect()),
        _ => Err(Failure(
            "answers: 应为对象 / expected an object of field → value".into(),
        )),
    }
}

/// The last millisecond of a local date in the store's time zone.
pub fn end_of_local_day(store: &Store, date: &str) -> Result<Timestamp, Failure> {
    let date: jiff::civil::Date = date.parse().map_err(|_| {
        Failure(
            Error::invalid(
                "deadline",
                "日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD",
            )
            .to_string(),
        )
    })?;
    let next = date
        .tomorrow()
        .map_err(|_| Failure("deadline: out of range".into()))?;
    let zoned = next
        .to_zoned_datetime(store.timezone().clone())
        .map_err(|_| Failure("deadline: out of range".into()))?;
    Ok(Timestamp(zoned.timestamp().as_millisecond() - 1))
}
