//! Concurrent edits of the same field.
//!
//! Automerge keeps every concurrent value of a map key and picks a winner by
//! Lamport counter and actor id — not by time, and not by what people expect.
//! For fields people care about (phone, address, representative, a hazard's
//! severity or deadline, a case's category, ...) the core therefore lists all
//! concurrent values with who wrote them and when (from the change's author
//! and timestamp), and the user picks one; picking is an ordinary edit that
//! overwrites them all. Hazards and cases also list their *workflow*
//! conflicts: transitions that did not apply because the record was no
//! longer in the state they started from (see `model::workflow`).

use crate::model::{HouseholdId, ResidentId, Timestamp, Transition};
use automerge::{Automerge, ObjId, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};

/// One of several concurrent values of a field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictValue {
    /// The value, as text (`true`/`false` for flags).
    pub value: String,
    /// Worker id of the author (the actor id in hex when unknown).
    pub by: String,
    /// When the change was made (device clock, UTC ms).
    pub at: Timestamp,
}

/// The field name of a workflow conflict.
pub const WORKFLOW: &str = "workflow";

/// A field with several concurrent values, or a record's workflow conflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The household the record belongs to (`None` for a hazard or case
    /// that names none).
    pub household: Option<HouseholdId>,
    /// Resident, when the field is a resident's.
    pub resident: Option<ResidentId>,
    /// Field name, or `workflow` for transitions that did not apply.
    pub field: String,
    /// The values, oldest first. For a workflow conflict: each transition
    /// that did not apply, as `from→to` with who made it and when.
    pub values: Vec<ConflictValue>,
    /// What record: `household`, `resident`, `hazard` or `case`.
    pub record: String,
    /// The record's id.
    pub record_id: String,
}

impl Conflict {
    /// The workflow conflict of a hazard or case, if any transition did not apply.
    pub fn workflow(
        record: &str,
        record_id: String,
        household: Option<HouseholdId>,
        skipped: &[&Transition],
    ) -> Option<Conflict> {
        (!skipped.is_empty()).then(|| Conflict {
            household,
            resident: None,
            field: WORKFLOW.into(),
            values: skipped
                .iter()
                .map(|t| ConflictValue {
                    value: format!("{}→{}", t.from, t.to),
                    by: t.by.to_string(),
                    at: t.at,
                })
                .collect(),
            record: record.into(),
            record_id,
        })
    }
}

/// Render a scalar as the text shown to users.
pub fn scalar_text(value: &ScalarValue) -> String {
    match value {
        ScalarValue::Str(s) => s.to_string(),
        ScalarValue::Boolean(b) => b.to_string(),
        ScalarValue::Int(i) => i.to_string(),
        ScalarValue::Uint(u) => u.to_string(),
        ScalarValue::F64(f) => f.to_string(),
        ScalarValue::Timestamp(t) => t.to_string(),
        ScalarValue::Null => String::new(),
        other => other.to_string(),
    }
}

/// The conflicting fields of `obj` among `fields`, each with its values.
/// Concurrent writes of the same value are not a conflict.
pub fn field_conflicts(
    doc: &Automerge,
    obj: &ObjId,
    fields: &[&str],
) -> Vec<(String, Vec<ConflictValue>)> {
    let mut out = Vec::new();
    for field in fields {
        let Ok(all) = doc.get_all(obj, *field) else {
            continue;
        };
        if all.len() < 2 {
            continue;
        }
        let mut values: Vec<ConflictValue> = all
            .iter()
            .filter_map(|(value, opid)| {
                let Value::Scalar(s) = value else { return None };
                let (by, at) = author_and_time(doc, opid);
                Some(ConflictValue {
                    value: scalar_text(s),
                    by,
                    at,
                })
            })
            .collect();
        values.sort_by(|a, b| (a.at, &a.by, &a.value).cmp(&(b.at, &b.by, &b.value)));
        let first = values.first().map(|v| v.value.clone());
        if values.len() > 1 && values.iter().any(|v| Some(&v.value) != first.as_ref()) {
            out.push((field.to_string(), values));
        }
    }
    out
}

/// Who wrote an op and when, from its change's metadata.
fn author_and_time(doc: &Automerge, opid: &automerge::ObjId) -> (String, Timestamp) {
    let Some(hash) = doc.hash_for_opid(opid) else {
        return (String::new(), Timestamp(0));
    };
    let Some(meta) = doc.get_change_meta_by_hash(&hash) else {
        return (String::new(), Timestamp(0));
    };
    let by = match &meta.author {
        Some(author) => {
            String::from_utf8(author.as_bytes().to_vec()).unwrap_or_else(|_| author.to_hex_string())
        }
        None => meta.actor.to_hex_string(),
    };
    (by, Timestamp(meta.timestamp))
}
