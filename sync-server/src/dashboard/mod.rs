//! Figures and lists for the community staff's web dashboard (issue 6),
//! on either of the server's databases (issue 13).
//!
//! Everything is computed from the read models (never from the Automerge
//! docs) through a core [`Reader`](gridwork_core::api::Reader) over the server's connection — SQLite's
//! or PostgreSQL's, in portable SQL ([`gridwork_core::store::sql`]) —
//! scoped to a set of 4th-level grids, the staff member's subtree, with
//! `grid IN` one bound JSON array ([`in_list`]), so one page is a handful
//! of aggregate queries whatever the size of the town. Values that depend
//! on the clock or on a grid's policy (due status, case timers) are judged
//! at read time with the same functions the phone uses
//! ([`gridwork_core::schedule::next_due_with`],
//! [`gridwork_core::schedule::due_status_within`], [`case_timers`]). See ADR 9 and ADR 18.
//!
//! - [`overview()`] — the figures of the home page ([`Overview`]);
//! - the lists are the core reader's (`Reader::grid_households`,
//!   `Reader::hazards_in`, `Reader::cases_in`);
//! - [`evaluation()`] — the monthly evaluation of gridworkers
//!   ([`EvaluationRow`]; formula in `docs/evaluation.md`), exported with
//!   [`export_evaluation`].
//!
//! "This month" is the local calendar month of the reader's clock in its
//! time zone; weeks are ISO weeks (Monday start) in the same zone.
//!
//! First responses and the evaluation use the times the sync server checked
//! when it received each record (`time_checks`, issue 11 §4): a claimed
//! time the server found impossible or made on a phone whose clock was wrong
//! counts at the time the server received it, and every record whose time
//! could not be verified is counted (`unverified`) so the page can say so.

mod evaluation;
mod export;
pub mod map;
mod overview;

#[cfg(test)]
mod test_town;
#[cfg(test)]
mod tests;

pub use evaluation::{
    evaluation, parse_month, EvaluationRow, EvaluationWeights, Evaluee, EVALUATION_WEIGHTS,
    FORMS_TARGET_PER_MONTH,
};
pub use export::{evaluation_table, export_evaluation, EVALUATION_COLUMNS};
pub use overview::{
    overview, GridFigures, HazardCell, Overview, ResponseStats, StatusCount, WeekPoint, TREND_WEEKS,
};

use gridwork_core::api::reads::{in_list, Policies};
use gridwork_core::model::*;
use gridwork_core::schedule::{timers::case_timers, CaseTimers};
use gridwork_core::store::sql::{columns, SqlConn, SqlValue};
use gridwork_core::Result;

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
/// the server checked ([`checked_cases`]).
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
pub(crate) fn checked_cases() -> String {
    format!(
        "SELECT c.id, c.grid, c.category, c.status,
                {opened} AS opened_at, {responded} AS first_response_at,
                ({o_unverified} OR (c.first_response_at IS NOT NULL AND {r_unverified})) AS unverified
         FROM cases c
         LEFT JOIN time_checks o ON o.doc_id = 'case/' || c.id AND o.item = ''
         LEFT JOIN time_checks r ON r.doc_id = 'case/' || c.id AND r.item =
             (SELECT t.id FROM case_transitions t WHERE t.doc_key = c.doc_key AND t.to_state IN ({known})
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
fn case_clocks<C: SqlConn + ?Sized>(
    conn: &C,
    policies: &Policies,
    now: Timestamp,
    filter: &str,
    args: &[SqlValue<'_>],
) -> Result<Vec<CaseClock>> {
    let sql = format!(
        "SELECT id, grid, category, status, opened_at, first_response_at, unverified
         FROM ({checked}) AS checked WHERE grid {in_scope} AND ({filter}) ORDER BY opened_at, id",
        checked = checked_cases(),
        in_scope = in_list(conn.dialect(), 1),
    );
    let mut out = Vec::new();
    for row in conn.rows(&sql, args)? {
        let [id, grid, category, status, opened_at, first_response_at, unverified] = columns(row)?;
        let case = Case {
            id: id.text()?.parse().unwrap_or_default(),
            grid: GridCode(grid.text()?),
            channel: Channel::Visit,
            category: category.text()?,
            description: String::new(),
            urgency: Urgency::Normal,
            household: None,
            resident: None,
            opened_by: WorkerId(String::new()),
            opened_at: Timestamp(opened_at.int()?),
            status: CaseState::parse(&status.text()?).unwrap_or(CaseState::Collected),
            first_response_at: first_response_at.opt_int()?.map(Timestamp),
            escalated: false,
            transitions: vec![],
            photos: vec![],
            timers: CaseTimers::default(),
        };
        let timers = case_timers(&case, policies.of(case.grid.as_str()), now);
        out.push(CaseClock {
            id: case.id,
            grid: case.grid.0,
            opened_at: case.opened_at,
            first_response_at: case.first_response_at,
            timers,
            unverified: unverified.flag()?,
        });
    }
    Ok(out)
}

/// The number of rows of a group where `condition` holds (a portable
/// `sum(condition)`: PostgreSQL does not add booleans).
pub(crate) fn count_where(condition: &str) -> String {
    format!("sum(CASE WHEN {condition} THEN 1 ELSE 0 END)")
}
