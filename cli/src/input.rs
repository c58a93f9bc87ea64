//! Reading command input files (checklist answers, form answers) and dates,
//! with errors that name the field but never echo personal data.

use crate::Failure;
use gridwork_core::model::{ChecklistAnswer, Outcome, Timestamp};
use gridwork_core::{Error, Store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn read_json(path: &Path, field: &str) -> Result<Value, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|_| Failure(format!("{field}: 无法读取文件 / cannot read the file")))?;
    serde_json::from_str(&text).map_err(|e| {
        Failure(format!(
            "{field}: 不是有效的 JSON / not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// Checklist answers: `{"item": "ok"}`, `{"item": {"outcome": "problem", "note": "…"}}`
/// or `[{"item": …, "outcome": …, "note": …}]`.
pub fn checklist_answers(path: &Path) -> Result<Vec<ChecklistAnswer>, Failure> {
    let bad = |item: &str| {
        Failure(
            Error::invalid(
                format!("answers.{item}"),
                "应为结果或 {outcome, note} / expected an outcome or {outcome, note}",
            )
            .to_string(),
        )
    };
    let one = |item: &str, value: &Value| -> Result<ChecklistAnswer, Failure> {
        let field = format!("answers.{item}");
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
                note: map
                    .get("note")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            }),
            _ => Err(bad(item)),
        }
    };
    match read_json(path, "answers")? {
        Value::Object(map) => map.iter().map(|(k, v)| one(k, v)).collect(),
        Value::Array(list) => list
            .iter()
            .map(|entry| {
                let item = entry
                    .get("item")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("item"))?;
                one(item, entry)
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
