//! Twelve-duties form record documents and work-log documents.
//!
//! Form answers are stored per field as compact JSON text, so concurrent edits
//! of different fields merge and each answer keeps its JSON type.
//! A work-log doc keeps one key per local date at its root.

use super::parse_uuid;
use crate::model::*;
use automerge::{ReadDoc, ROOT};
use autosurgeon::{Hydrate, HydrateError, Reconcile};
use std::collections::BTreeMap;

/// Root of a form record document.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Default)]
pub struct FormRecordDoc {
    /// Always `form_record`.
    pub kind: String,
    /// Id.
    pub id: String,
    /// Grid code.
    pub grid: String,
    /// Template id.
    pub template: String,
    /// Template version.
    pub template_version: u32,
    /// Household id.
    pub household: Option<String>,
    /// Free subject.
    pub subject: String,
    /// Field id → answer as JSON text.
    pub answers: BTreeMap<String, String>,
    /// Worker id.
    pub worker: String,
    /// Fill time (ms).
    pub filled_at: i64,
}

impl FormRecordDoc {
    /// From the domain type.
    pub fn from_model(r: &FormRecord, grid: &GridCode) -> FormRecordDoc {
        FormRecordDoc {
            kind: super::DocKind::FormRecord.code().into(),
            id: r.id.to_string(),
            grid: grid.0.clone(),
            template: r.template.id.clone(),
            template_version: r.template.version,
            household: r.household.map(|h| h.to_string()),
            subject: r.subject.clone(),
            answers: r
                .answers
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            worker: r.worker.0.clone(),
            filled_at: r.filled_at.0,
        }
    }
}

/// Materialise a form record doc.
pub fn materialize_form(doc: &automerge::Automerge) -> Result<FormRecord, HydrateError> {
    let d: FormRecordDoc = autosurgeon::hydrate(doc)?;
    let answers = d
        .answers
        .iter()
        .map(|(k, v)| {
            serde_json::from_str(v)
                .map(|value| (k.clone(), value))
                .map_err(|_| HydrateError::unexpected("JSON answer", "malformed JSON".to_string()))
        })
        .collect::<Result<_, _>>()?;
    Ok(FormRecord {
        id: parse_uuid(&d.id, "form record id")?,
        template: TemplateRef {
            id: d.template,
            version: d.template_version,
        },
        household: d
            .household
            .as_deref()
            .map(|h| parse_uuid(h, "household id"))
            .transpose()?,
        subject: d.subject,
        answers,
        worker: WorkerId(d.worker),
        filled_at: Timestamp(d.filled_at),
    })
}

/// Root keys of a work-log document that are metadata, not days. Other
/// root keys that are not dates (added by a newer app) are ignored.
pub const WORK_LOG_META_KEYS: &[&str] = &["kind", "worker", "month", super::FORMAT_KEY];

/// True for a `YYYY-MM-DD` key.
fn is_date_key(key: &str) -> bool {
    key.len() == 10 && key.parse::<jiff::civil::Date>().is_ok()
}

/// One day inside a work-log document.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Default)]
pub struct WorkLogDayDoc {
    /// Priorities.
    pub priorities: Vec<String>,
    /// Notes.
    pub notes: String,
}

/// Materialise a work-log doc into its days, by date.
pub fn materialize_work_log(doc: &automerge::Automerge) -> Result<Vec<WorkLogDay>, HydrateError> {
    let worker: String = autosurgeon::hydrate_prop(doc, ROOT, "worker")?;
    let mut days = Vec::new();
    for key in doc.keys(ROOT) {
        if WORK_LOG_META_KEYS.contains(&key.as_str()) || !is_date_key(&key) {
            continue;
        }
        let day: WorkLogDayDoc = autosurgeon::hydrate_prop(doc, ROOT, key.as_str())?;
        days.push(WorkLogDay {
            worker: WorkerId(worker.clone()),
            date: key,
            priorities: day.priorities,
            notes: day.notes,
        });
    }
    days.sort_by(|a, b| a.date.cmp(&b.date));
    Ok(days)
}
