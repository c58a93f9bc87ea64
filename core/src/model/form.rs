//! Twelve-duties form records (十二个管一管) and the work log (工作日志).

use super::ids::{FormRecordId, HouseholdId, Timestamp, WorkerId};
use super::visit::TemplateRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A filled form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FormRecord {
    /// Id.
    pub id: FormRecordId,
    /// Template and version it was filled with.
    pub template: TemplateRef,
    /// The household it is about, if any.
    pub household: Option<HouseholdId>,
    /// Free subject when not about one household (e.g. "3栋公共区域").
    pub subject: String,
    /// Answers by field id (JSON values).
    pub answers: BTreeMap<String, serde_json::Value>,
    /// Who filled it.
    pub worker: WorkerId,
    /// When.
    pub filled_at: Timestamp,
}

/// One day of a worker's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkLogDay {
    /// Worker.
    pub worker: WorkerId,
    /// Local date `YYYY-MM-DD`.
    pub date: String,
    /// The day's priorities (今日重点).
    pub priorities: Vec<String>,
    /// Notes.
    pub notes: String,
}
