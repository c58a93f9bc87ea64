//! Case timers: the first-response clock (30 minutes by default) and the
//! handling deadline per case category, both started when the case was taken
//! (`opened_at`) and judged against the grid's [`Policy`] at read time, so a
//! policy change applies to open cases at once and nothing is stored twice.

use super::Policy;
use crate::model::{Case, CaseState, Timestamp};
use serde::{Deserialize, Serialize};

/// Where a case stands against its deadlines, as of a given instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseTimers {
    /// When the first response is due.
    pub response_due_at: Timestamp,
    /// Not yet answered and the response is past due: act now (or escalate).
    pub response_overdue: bool,
    /// Answered, but after `response_due_at` (counts against the 30-minute
    /// target in the evaluation).
    pub responded_late: bool,
    /// When the handler's feedback is due (per the case's category).
    pub handling_due_at: Timestamp,
    /// Not yet handled (no feedback) and past `handling_due_at`.
    pub handling_overdue: bool,
}

impl CaseTimers {
    /// True when any deadline is currently missed.
    pub fn overdue(&self) -> bool {
        self.response_overdue || self.handling_overdue
    }
}

/// True once the handler has reported back (or later).
fn handled(state: CaseState) -> bool {
    matches!(
        state,
        CaseState::Feedback | CaseState::Verified | CaseState::Closed
    )
}

/// The timers of `case` at `now` under `policy`.
pub fn case_timers(case: &Case, policy: &Policy, now: Timestamp) -> CaseTimers {
    let response_due_at = case.opened_at.plus_minutes(policy.first_response_minutes);
    let handling_due_at = case
        .opened_at
        .plus_minutes(policy.handling_hours_for(&case.category) * 60);
    CaseTimers {
        response_due_at,
        response_overdue: case.first_response_at.is_none() && now > response_due_at,
        responded_late: case
            .first_response_at
            .is_some_and(|at| at > response_due_at),
        handling_due_at,
        handling_overdue: !handled(case.status) && now > handling_due_at,
    }
}
