//! Door-to-door visits (入户走访) with their checklist answers, and locations.

use super::ids::{CaseId, HouseholdId, Timestamp, VisitId, WorkerId};
use serde::{Deserialize, Serialize};

/// A WGS-84 position with its accuracy in metres.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Accuracy radius in metres, when the device reported one.
    pub accuracy_m: Option<f64>,
}

/// Which template (and which version of it) a record was filled with.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TemplateRef {
    /// Template id.
    pub id: String,
    /// Template version.
    pub version: u32,
}

/// The outcome of one checklist item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 正常.
    Ok,
    /// 有问题.
    Problem,
    /// 不适用.
    NotApplicable,
}

impl Outcome {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Problem => "problem",
            Outcome::NotApplicable => "not_applicable",
        }
    }
    /// Parse a code (or 正常/有问题/不适用).
    pub fn parse(text: &str, field: &str) -> crate::Result<Outcome> {
        match text.trim() {
            "ok" | "正常" => Ok(Outcome::Ok),
            "problem" | "有问题" => Ok(Outcome::Problem),
            "not_applicable" | "na" | "n/a" | "不适用" => Ok(Outcome::NotApplicable),
            _ => Err(crate::Error::invalid(
                field,
                "结果应为 ok/problem/not_applicable / outcome must be ok, problem or not_applicable",
            )),
        }
    }
}

/// The answer to one checklist item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistAnswer {
    /// Item id from the checklist template.
    pub item: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Free note (what the problem is).
    #[serde(default)]
    pub note: String,
}

/// A recorded visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    /// Id.
    pub id: VisitId,
    /// The household visited.
    pub household: HouseholdId,
    /// Who visited.
    pub worker: WorkerId,
    /// Start of the visit.
    pub started_at: Timestamp,
    /// End of the visit.
    pub ended_at: Timestamp,
    /// Where the phone was, if known.
    pub location: Option<Location>,
    /// Checklist template used.
    pub checklist: TemplateRef,
    /// One answer per answered item, in template order.
    pub answers: Vec<ChecklistAnswer>,
    /// Free note.
    pub note: String,
    /// Cases opened as a follow-up of this visit.
    pub follow_up_cases: Vec<CaseId>,
    /// Photos taken during the visit (blob ids).
    #[serde(default)]
    pub photos: Vec<String>,
}

/// Input for recording a visit.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NewVisit {
    /// The household visited.
    pub household: HouseholdId,
    /// Start (defaults to now).
    pub started_at: Option<Timestamp>,
    /// End (defaults to now).
    pub ended_at: Option<Timestamp>,
    /// Where.
    pub location: Option<Location>,
    /// Answers; unknown or duplicate items are rejected.
    pub answers: Vec<ChecklistAnswer>,
    /// Free note.
    pub note: String,
    /// Follow-up cases.
    pub follow_up_cases: Vec<CaseId>,
    /// Photos attached with `Store::attach_photo` (blob ids).
    #[serde(default)]
    pub photos: Vec<String>,
}
