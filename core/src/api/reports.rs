//! The gridworker's own figures: visit coverage this month, special groups
//! due, open hazards, cases against the 30-minute first-response target.

use super::Store;
use crate::schedule::{self, DueStatus};
use crate::Result;
use serde::{Deserialize, Serialize};

/// Local figures for the phone's grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Local month the figures refer to, `YYYY-MM`.
    pub month: String,
    /// Active households.
    pub households_total: u32,
    /// Active households visited at least once this month.
    pub households_visited_this_month: u32,
    /// Visits recorded this month.
    pub visits_this_month: u32,
    /// Households in a special group (household or resident tag).
    pub special_group_households: u32,
    /// Of those, due a visit within the next days.
    pub special_groups_due: u32,
    /// Of those, past their due date.
    pub special_groups_overdue: u32,
    /// Hazards not closed.
    pub open_hazards: u32,
    /// Open hazards past their rectification deadline.
    pub hazards_past_deadline: u32,
    /// Cases not closed.
    pub open_cases: u32,
    /// First-response target in minutes.
    pub response_target_minutes: i64,
    /// Cases with no response yet and past the target.
    pub cases_awaiting_response_overdue: u32,
    /// Cases whose first response came after the target (all time).
    pub cases_responded_late: u32,
    /// Cases past their target either way.
    pub cases_past_response_target: u32,
    /// Open cases not handled within their category's deadline.
    pub cases_past_handling_deadline: u32,
}

impl Store {
    /// Compute the local figures as of now.
    pub fn report(&self) -> Result<Figures> {
        let now = self.now();
        let today = schedule::local_date(now, &self.tz);
        let (month_start, start, end) = crate::schedule::month_of(today, &self.tz);
        let households = self.list_households()?;
        let active: Vec<_> = households
            .iter()
            .filter(|h| h.status == crate::model::HouseholdStatus::Active)
            .collect();
        let special: Vec<_> = active.iter().filter(|h| !h.all_tags.is_empty()).collect();
        // Targets come from the grid's policy; each case is judged under its
        // own grid's policy.
        let target_minutes = match self.device() {
            Ok(device) => self.policy_of(&device.grid)?.first_response_minutes,
            Err(_) => schedule::FIRST_RESPONSE_TARGET_MINUTES,
        };
        let cases = self.list_cases(false)?;
        let tally =
            |f: &dyn Fn(&crate::model::Case) -> bool| cases.iter().filter(|c| f(c)).count() as u32;
        let awaiting = tally(&|c| c.timers.response_overdue);
        let late = tally(&|c| c.timers.responded_late);
        let past_handling = tally(&|c| c.timers.handling_overdue);
        self.db.read(|conn| {
            let count = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> Result<u32> {
                Ok(conn.query_row(sql, params, |r| r.get::<_, u32>(0))?)
            };
            Ok(Figures {
                month: crate::schedule::month_code(month_start),
                households_total: active.len() as u32,
                households_visited_this_month: count(
                    "SELECT count(DISTINCT v.household_id) FROM visits v JOIN households h ON h.id = v.household_id
                     WHERE h.status = 'active' AND v.started_at >= ?1 AND v.started_at < ?2",
                    &[&start, &end],
                )?,
                visits_this_month: count(
                    "SELECT count(*) FROM visits WHERE started_at >= ?1 AND started_at < ?2",
                    &[&start, &end],
                )?,
                special_group_households: special.len() as u32,
                special_groups_due: special.iter().filter(|h| h.due_status == DueStatus::Due).count() as u32,
                special_groups_overdue: special.iter().filter(|h| h.due_status == DueStatus::Overdue).count() as u32,
                open_hazards: count("SELECT count(*) FROM hazards WHERE status != 'closed'", &[])?,
                hazards_past_deadline: count(
                    "SELECT count(*) FROM hazards WHERE status != 'closed' AND deadline IS NOT NULL AND deadline < ?1",
                    &[&now.0],
                )?,
                open_cases: count("SELECT count(*) FROM cases WHERE status != 'closed'", &[])?,
                response_target_minutes: target_minutes,
                cases_awaiting_response_overdue: awaiting,
                cases_responded_late: late,
                cases_past_response_target: awaiting + late,
                cases_past_handling_deadline: past_handling,
            })
        })
    }
}
