//! Figures and lists for the community staff's web dashboard (issue 6).
//!
//! The sync server's database is a core store, so the server attaches a
//! [`Store`] to it ([`Store::attach`]) and renders its pages from the
//! methods here. Everything is computed by the core from the read models
//! (never from the Automerge docs), scoped to a set of 4th-level grids — the
//! staff member's subtree — with `WHERE grid IN (…)` (the grid list is passed
//! as one JSON array and read with `json_each`), so one page is a handful of
//! aggregate queries whatever the size of the town. Values that depend on the
//! clock or on a grid's policy (due status, case timers) are judged at read
//! time with the same functions the phone uses ([`schedule::next_due_with`],
//! [`schedule::due_status_within`], [`case_timers`]). See ADR 9.
//!
//! - [`Store::overview`] — the figures of the home page ([`Overview`]);
//! - [`Store::grid_households`], [`Store::hazards_in`], [`Store::cases_in`] — the lists;
//! - [`Store::evaluation`] — the monthly evaluation of gridworkers
//!   ([`EvaluationRow`]; formula in `docs/evaluation.md`), exported with
//!   [`export_evaluation`](crate::exchange::export_evaluation).
//!
//! "This month" is the local calendar month of the store's clock in the
//! store's time zone; weeks are ISO weeks (Monday start) in the same zone.
//!
//! First responses and the evaluation use the times the sync server checked
//! when it received each record (`time_checks`, issue 11 §4): a claimed
//! time the server found impossible or made on a phone whose clock was wrong
//! counts at the time the server received it, and every record whose time
//! could not be verified is counted (`unverified`) so the page can say so.

mod evaluation;
mod overview;

#[cfg(test)]
mod test_town;
#[cfg(test)]
mod tests;

pub use evaluation::{
    EvaluationRow, EvaluationWeights, Evaluee, EVALUATION_WEIGHTS, FORMS_TARGET_PER_MONTH,
};
pub use overview::{
    GridFigures, HazardCell, Overview, ResponseStats, StatusCount, WeekPoint, TREND_WEEKS,
};

use crate::api::{read_cases, read_hazards, HouseholdSummary, Policies, Store};
use crate::api::{SUMMARY_ORDER, SUMMARY_SQL};
use crate::model::*;
use crate::schedule::{self, timers::case_timers, CaseTimers};
use crate::Result;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rusqlite::Connection;

/// `grid IN` the scope passed as `?1` (a JSON array of grid codes, see [`scope`]).
pub(crate) const IN_SCOPE: &str = "IN (SELECT value FROM json_each(?1))";

impl Store {
    /// Households of one grid, like [`Store::list_households`]: the same
    /// order and the due status under that grid's policy, as of now.
    pub fn grid_households(&self, grid: &GridCode) -> Result<Vec<HouseholdSummary>> {
        let today = schedule::local_date(self.now(), &self.tz);
        self.db.read(|conn| {
            let policies = Policies::load(conn)?;
            let sql = format!("{SUMMARY_SQL} WHERE h.grid = ?1 {SUMMARY_ORDER}");
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([grid.as_str()], |r| {
                self.summary_from_row(r, today, &policies)
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Hazards of `grids`, newest first, with their transitions;
    /// `open_only` hides closed ones.
    pub fn hazards_in(&self, grids: &[GridCode], open_only: bool) -> Result<Vec<Hazard>> {
        let filter = scoped_filter(open_only);
        self.db
            .read(|conn| read_hazards(conn, &filter, &scope(grids)))
    }

    /// Cases of `grids`, newest first, with their transitions and their
    /// timers as of now (as [`Store::case`] returns them); `open_only` hides
    /// closed ones.
    pub fn cases_in(&self, grids: &[GridCode], open_only: bool) -> Result<Vec<Case>> {
        let now = self.now();
        let filter = scoped_filter(open_only);
        self.db
            .read(|conn| read_cases(conn, &filter, &scope(grids), now))
    }
}

/// `WHERE grid IN scope`, and not closed when `open_only`.
fn scoped_filter(open_only: bool) -> String {
    let open = if open_only {
        " AND status != 'closed'"
    } else {
        ""
    };
    format!("WHERE grid {IN_SCOPE}{open}")
}

/// The grid scope as the JSON array bound to `?1` of [`IN_SCOPE`].
pub(crate) fn scope<'a>(grids: impl IntoIterator<Item = &'a GridCode>) -> String {
    let codes: Vec<&str> = grids.into_iter().map(GridCode::as_str).collect();
    serde_json::to_string(&codes).unwrap_or_else(|_| "[]".into())
}

/// `grids` without repeats, in their first order.
fn unique(grids: &[GridCode]) -> Vec<&GridCode> {
    let mut out: Vec<&GridCode> = Vec::with_capacity(grids.len());
    for g in grids {
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

/// The instant (UTC ms) a local date begins in `tz`.
pub(crate) fn midnight(date: Date, tz: &TimeZone) -> i64 {
    date.to_zoned_datetime(tz.clone())
        .map_or(0, |z| z.timestamp().as_millisecond())
}

/// The local calendar month that contains `date`: its first day and the
/// instants (UTC ms) it begins and ends (exclusive), in `tz`.
pub(crate) fn month_of(date: Date, tz: &TimeZone) -> (Date, i64, i64) {
    let first = date.first_of_month();
    let next = first.saturating_add(jiff::Span::new().months(1));
    (first, midnight(first, tz), midnight(next, tz))
}

/// `YYYY-MM` of a date.
pub(crate) fn month_code(date: Date) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

/// `part / whole`, or `empty` when `whole` is 0.
fn ratio(part: u32, whole: u32, empty: f64) -> f64 {
    if whole == 0 {
        empty
    } else {
        f64::from(part) / f64::from(whole)
    }
}

/// A case as its response clock needs it: from the `cases` read model only
/// (no transitions), with its timers under its grid's policy, at the times
/// the server checked ([`CHECKED_CASES`]).
struct CaseClock {
    id: CaseId,
    grid: String,
    opened_at: Timestamp,
    first_response_at: Option<Timestamp>,
    timers: CaseTimers,
    /// The server could not verify when it was opened or first answered.
    unverified: bool,
}

impl CaseClock {
    /// Minutes from taking the case to its first response.
    fn response_minutes(&self) -> Option<f64> {
        self.first_response_at
            .map(|at| (at.0 - self.opened_at.0) as f64 / 60_000.0)
    }

    /// Answered within the grid's first-response target.
    fn responded_in_time(&self) -> bool {
        self.first_response_at.is_some() && !self.timers.responded_late
    }
}

/// A time claimed by a device, as the figures use it: the claim, unless the
/// server found it impossible (`future`) or the device's clock wrong when it
/// synced (`clock_off`) — then the time the server received it, the earliest
/// it can be proven to exist. `{check}` is a `time_checks` row alias (NULL
/// when the record was not pushed by a device: made on the server, or
/// before checks existed) and `{claimed}` the claimed column.
pub(crate) fn checked_time(check: &str, claimed: &str) -> String {
    format!(
        "CASE WHEN {check}.status IN ('future', 'clock_off') THEN {check}.received_at ELSE {claimed} END"
    )
}

/// True when a `time_checks` row alias says the claimed time is unverified.
pub(crate) fn unverified(check: &str) -> String {
    format!("coalesce({check}.status, 'ok') != 'ok'")
}

/// The `cases` read model with `opened_at` and `first_response_at` at the
/// times the server checked (see [`checked_time`]) and an `unverified` flag:
/// the first response is the case's first transition in (at, id) order.
fn checked_cases() -> String {
    format!(
        "SELECT c.id, c.grid, c.category, c.status,
                {opened} AS opened_at, {responded} AS first_response_at,
                ({o_unverified} OR (c.first_response_at IS NOT NULL AND {r_unverified})) AS unverified
         FROM cases c
         LEFT JOIN time_checks o ON o.doc_id = 'case/' || c.id AND o.item = ''
         LEFT JOIN time_checks r ON r.doc_id = 'case/' || c.id AND r.item =
             (SELECT t.id FROM case_transitions t WHERE t.case_id = c.id AND t.to_state IN ({known})
              ORDER BY t.at, t.id LIMIT 1)",
        known = CaseState::ALL
            .iter()
            .map(|s| format!("'{}'", s.code()))
            .collect::<Vec<_>>()
            .join(", "),
        opened = checked_time("o", "c.opened_at"),
        responded = checked_time("r", "c.first_response_at"),
        o_unverified = unverified("o"),
        r_unverified = unverified("r"),
    )
}

/// Cases matching `filter` (SQL over [`checked_cases`], scope bound to
/// `?1`, `args` to `?2…`), oldest first, with their timers at `now` from
/// [`case_timers`].
fn case_clocks(
    conn: &Connection,
    policies: &Policies,
    now: Timestamp,
    filter: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<CaseClock>> {
    let sql = format!(
        "SELECT id, grid, category, status, opened_at, first_response_at, unverified
         FROM ({checked}) WHERE grid {IN_SCOPE} AND ({filter}) ORDER BY opened_at, id",
        checked = checked_cases()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params, |r| {
        let case = Case {
            id: r.get::<_, String>(0)?.parse().unwrap_or_default(),
            grid: GridCode(r.get(1)?),
            channel: Channel::Visit,
            category: r.get(2)?,
            description: String::new(),
            urgency: Urgency::Normal,
            household: None,
            resident: None,
            opened_by: WorkerId(String::new()),
            opened_at: Timestamp(r.get(4)?),
            status: CaseState::parse(&r.get::<_, String>(3)?).unwrap_or(CaseState::Collected),
            first_response_at: r.get::<_, Option<i64>>(5)?.map(Timestamp),
            escalated: false,
            transitions: vec![],
            timers: CaseTimers::default(),
        };
        Ok((case, r.get::<_, bool>(6)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (case, unverified) = row?;
        let timers = case_timers(&case, policies.of(case.grid.as_str()), now);
        out.push(CaseClock {
            id: case.id,
            grid: case.grid.0,
            opened_at: case.opened_at,
            first_response_at: case.first_response_at,
            timers,
            unverified,
        });
    }
    Ok(out)
}
