//! The monthly evaluation of gridworkers ([`evaluation()`]): five
//! shares — visit coverage, special groups on schedule, first responses on
//! time, hazards closed, forms filled — weighted into a score out of 100.
//! The formula, with its edge cases and a worked example, is documented in
//! `docs/evaluation.md`; keep the two in step.
//!
//! A month is `[its first local midnight, the first local midnight of the
//! next month)`; for the current month it stops at now. Grid-wide shares
//! (special groups, responses, hazards) are the same for every worker of a
//! grid, and so is coverage: a household visited by any gridworker of the
//! grid counts (two gridworkers sharing a grid are not each capped at their
//! share); each worker's own visits are shown beside it
//! ([`EvaluationRow::households_visited`]). Forms count the worker's own
//! records.

use super::{case_clocks, checked_time, count_where, ratio, unverified};
use gridwork_core::api::reads::{comma_list, in_list, json_list, parse_tag_list, Policies};
use gridwork_core::api::Reader;
use gridwork_core::model::*;
use gridwork_core::schedule::{self, month_code, month_of, DueStatus};
use gridwork_core::store::sql::{columns, SqlConn};
use gridwork_core::{Error, Result};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Forms a gridworker is expected to fill per month: one per duty of the
/// twelve duties (十二项职责).
pub const FORMS_TARGET_PER_MONTH: u32 = 12;

/// The weight of each share in [`EvaluationRow::score`]; they add up to 1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluationWeights {
    /// Visit coverage ([`EvaluationRow::coverage`]).
    pub coverage: f64,
    /// Special groups on schedule ([`EvaluationRow::special_share`]).
    pub special: f64,
    /// First responses on time ([`EvaluationRow::response_share`]).
    pub response: f64,
    /// Hazards closed ([`EvaluationRow::hazard_share`]).
    pub hazards: f64,
    /// Forms filled ([`EvaluationRow::form_share`]).
    pub forms: f64,
}

/// The weights of the evaluation: coverage 0.30, special groups 0.25,
/// responses 0.20, hazards 0.15, forms 0.10. A share whose denominator is 0
/// counts as 1.0 (nothing was due, so nothing was missed).
pub const EVALUATION_WEIGHTS: EvaluationWeights = EvaluationWeights {
    coverage: 0.30,
    special: 0.25,
    response: 0.20,
    hazards: 0.15,
    forms: 0.10,
};

/// A gridworker to evaluate, with the grid they answer for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluee {
    /// Worker id (as on their visits and form records).
    pub worker: WorkerId,
    /// Display name.
    pub name: String,
    /// Their 4th-level grid.
    pub grid: GridCode,
}

/// One gridworker's evaluation for one month. Each share is
/// numerator / denominator, 1.0 when the denominator is 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluationRow {
    /// Worker id.
    pub worker: WorkerId,
    /// Display name.
    pub name: String,
    /// Their grid.
    pub grid: GridCode,
    /// `YYYY-MM`.
    pub month: String,
    /// Active households of the grid (registered before the month's end).
    pub households: u32,
    /// Of those, visited by this worker during the month (their own credit).
    pub households_visited: u32,
    /// Of those, visited by anyone during the month.
    pub grid_households_visited: u32,
    /// `grid_households_visited / households`.
    pub coverage: f64,
    /// Active households of the grid in a special group.
    pub special_households: u32,
    /// Of those, not overdue a visit at the month's end (now, for the
    /// current month) under the grid's policy.
    pub special_on_time: u32,
    /// `special_on_time / special_households`.
    pub special_share: f64,
    /// Cases of the grid opened during the month whose first-response clock
    /// has been met or has run out (as of now).
    pub cases: u32,
    /// Of those, answered within the grid's target.
    pub responses_on_time: u32,
    /// `responses_on_time / cases`.
    pub response_share: f64,
    /// Hazards of the grid closed during the month plus those open at its end.
    pub hazards: u32,
    /// Of those, closed during the month.
    pub hazards_closed: u32,
    /// `hazards_closed / hazards`.
    pub hazard_share: f64,
    /// Form records filled by this worker during the month.
    pub forms: u32,
    /// Cases of a duty category (帮办代办, 矛盾纠纷, …; see
    /// `gridwork_core::model::DUTY_CASE_CATEGORIES`) this worker opened
    /// during the month — or, filed by a resident, first responded to —
    /// and handled to feedback or beyond: each counts as a form record.
    pub duty_cases: u32,
    /// [`FORMS_TARGET_PER_MONTH`].
    pub forms_target: u32,
    /// `min(1, (forms + duty_cases) / forms_target)`.
    pub form_share: f64,
    /// `100 × Σ weight × share` ([`EVALUATION_WEIGHTS`]), rounded to 0.01.
    pub score: f64,
    /// Records counted above whose time the server could not verify (this
    /// worker's visits and forms, the grid's cases and hazard closings): a
    /// time it found impossible, or made on a phone whose clock was wrong,
    /// counts at the time the server received it.
    pub unverified: u32,
}

/// What the month's queries found for one grid.
#[derive(Default)]
struct GridMonth {
    households: u32,
    visited: u32,
    special: u32,
    special_on_time: u32,
    cases: u32,
    responses_on_time: u32,
    hazards: u32,
    hazards_closed: u32,
    /// Cases and hazard closings above with unverified times.
    unverified: u32,
}

/// The first day of a `YYYY-MM` month, or a validation error on `month`.
pub fn parse_month(text: &str) -> Result<Date> {
    let bad = || Error::invalid("month", "月份应为 YYYY-MM / month must be YYYY-MM");
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 7 || b[4] != b'-' || !digits(0..4) || !digits(5..7) {
        return Err(bad());
    }
    let year: i16 = text[..4].parse().map_err(|_| bad())?;
    let month: i8 = text[5..].parse().map_err(|_| bad())?;
    Date::new(year, month, 1).map_err(|_| bad())
}

/// Evaluate `evaluees` for `month` (`YYYY-MM`; a validation error on
/// `month` when malformed or not yet begun at the reader's now): one row
/// per evaluee, sorted by score (highest first), then worker id.
pub fn evaluation<C: SqlConn + ?Sized>(
    r: &Reader<'_, C>,
    evaluees: &[Evaluee],
    month: &str,
) -> Result<Vec<EvaluationRow>> {
    let (conn, tz, now) = (r.conn, r.tz, r.now);
    let first = parse_month(month)?;
    let (_, start, end) = month_of(first, tz);
    if start > now.0 {
        return Err(Error::invalid(
            "month",
            "该月尚未开始 / the month has not begun",
        ));
    }
    // The month so far: up to its end, or to now for the current month.
    let as_of = end.min(now.0);
    let as_of_date = if now.0 < end {
        schedule::local_date(now, tz)
    } else {
        first.last_of_month()
    };
    let grid_scope = json_list(evaluees.iter().map(|e| &e.grid));
    let worker_scope = serde_json::to_string(
        &evaluees
            .iter()
            .map(|e| e.worker.as_str())
            .collect::<Vec<_>>(),
    )
    .unwrap_or_else(|_| "[]".into());
    let params = [grid_scope.as_str().into(), start.into(), as_of.into()];
    let dialect = conn.dialect();
    let in_scope = in_list(dialect, 1);
    let policies = Policies::load(conn)?;
    let mut grids: HashMap<String, GridMonth> = HashMap::new();

    // Households, and the special groups' schedule at the month's end.
    for row in conn.rows(
        &format!(
            "SELECT h.grid, h.created_at,
               (SELECT {tags} FROM household_tags t WHERE t.household_id = h.id),
               (SELECT {resident_tags} FROM residents r JOIN resident_tags rt ON rt.resident_id = r.id
                 WHERE r.household_id = h.id AND r.moved_out = 0),
               (SELECT max(started_at) FROM visits v WHERE v.household_id = h.id AND v.started_at < ?2)
             FROM households h
             WHERE h.grid {in_scope} AND h.status = 'active' AND h.created_at < ?2",
            tags = comma_list(dialect, "tag"),
            resident_tags = comma_list(dialect, "rt.tag"),
        ),
        &[grid_scope.as_str().into(), as_of.into()],
    )? {
        let [grid, created_at, tags, resident_tags, last_visit] = columns(row)?;
        let grid = grid.text()?;
        let mut all_tags = parse_tag_list(tags.opt_text()?);
        all_tags.extend(parse_tag_list(resident_tags.opt_text()?));
        let g = grids.entry(grid.clone()).or_default();
        g.households += 1;
        if all_tags.is_empty() {
            continue;
        }
        let policy = policies.of(&grid);
        let last_visit = last_visit.opt_int()?.map(Timestamp);
        let due = schedule::next_due_with(
            policy,
            last_visit,
            Timestamp(created_at.int()?),
            &all_tags,
            tz,
        );
        g.special += 1;
        if schedule::due_status_within(due, as_of_date, policy.due_soon_days) != DueStatus::Overdue
        {
            g.special_on_time += 1;
        }
    }

    // First responses of the month's cases, judged now, at the times the
    // server checked.
    for c in case_clocks(
        conn,
        &policies,
        now,
        "opened_at >= ?2 AND opened_at < ?3",
        &params,
    )? {
        if c.first_response_at.is_some() || c.timers.response_overdue {
            let g = grids.entry(c.grid.clone()).or_default();
            g.cases += 1;
            g.responses_on_time += u32::from(c.responded_in_time());
            g.unverified += u32::from(c.unverified);
        }
    }

    // Hazards closed during the month, and those open at its end; a
    // closing counts at its checked time.
    for row in conn.rows(
        &format!(
            "SELECT grid, {closed_in_month}, {open_at_end}, {closed_unverified}
             FROM (SELECT h.grid, h.reported_at, c.closed_at, c.closing_unverified
                   FROM hazards h LEFT JOIN (
                       SELECT t.doc_key, max({closed}) AS closed_at,
                              max(CASE WHEN {closing_unverified} THEN 1 ELSE 0 END) AS closing_unverified
                       FROM hazard_transitions t
                       LEFT JOIN time_checks tc ON tc.doc_id = 'hazard/' || t.hazard_id AND tc.item = t.id
                       WHERE t.to_state = 'closed' GROUP BY t.doc_key
                   ) c ON c.doc_key = h.doc_key AND h.status = 'closed'
                   WHERE h.grid {in_scope}) AS hazard_months
             GROUP BY grid",
            closed_in_month = count_where("closed_at IS NOT NULL AND closed_at >= ?2 AND closed_at < ?3"),
            open_at_end = count_where("reported_at < ?3 AND (closed_at IS NULL OR closed_at >= ?3)"),
            closed_unverified = count_where(
                "closed_at IS NOT NULL AND closed_at >= ?2 AND closed_at < ?3 AND closing_unverified = 1"
            ),
            closed = checked_time("tc", "t.at"),
            closing_unverified = unverified("tc"),
        ),
        &params,
    )? {
        let [grid, closed, open, closed_unverified] = columns(row)?;
        let g = grids.entry(grid.text()?).or_default();
        g.hazards_closed = closed.count()?;
        g.hazards = g.hazards_closed + open.count()?;
        g.unverified += closed_unverified.count()?;
    }

    // Each worker's visits to the households of each grid, at their checked
    // times, and how many of those times are unverified.
    let mut visited: HashMap<(String, String), (u32, u32)> = HashMap::new();
    for row in conn.rows(
        &format!(
            "SELECT v.worker_id, h.grid, count(DISTINCT h.id), {visit_unverified}
             FROM households h JOIN visits v ON v.household_id = h.id
                  JOIN docs d ON d.key = v.doc_key
                  LEFT JOIN time_checks tc ON tc.doc_id = d.id AND tc.item = v.id
             WHERE h.grid {in_scope} AND h.status = 'active' AND h.created_at < ?3
               AND {started} >= ?2 AND {started} < ?3
             GROUP BY v.worker_id, h.grid",
            started = checked_time("tc", "v.started_at"),
            visit_unverified = count_where(&unverified("tc")),
        ),
        &params,
    )? {
        let [worker, grid, households, unverified] = columns(row)?;
        visited.insert(
            (worker.text()?, grid.text()?),
            (households.count()?, unverified.count()?),
        );
    }

    // Households of each grid visited by anyone during the month.
    for row in conn.rows(
        &format!(
            "SELECT h.grid, count(DISTINCT h.id)
             FROM households h JOIN visits v ON v.household_id = h.id
                  JOIN docs d ON d.key = v.doc_key
                  LEFT JOIN time_checks tc ON tc.doc_id = d.id AND tc.item = v.id
             WHERE h.grid {in_scope} AND h.status = 'active' AND h.created_at < ?3
               AND {started} >= ?2 AND {started} < ?3
             GROUP BY h.grid",
            started = checked_time("tc", "v.started_at"),
        ),
        &params,
    )? {
        let [grid, households] = columns(row)?;
        grids.entry(grid.text()?).or_default().visited = households.count()?;
    }

    // Each worker's form records, at their checked times.
    let mut forms: HashMap<String, (u32, u32)> = HashMap::new();
    for row in conn.rows(
        &format!(
            "SELECT f.worker_id, count(*), {form_unverified}
             FROM form_records f JOIN docs d ON d.key = f.doc_key
                  LEFT JOIN time_checks tc ON tc.doc_id = d.id AND tc.item = ''
             WHERE f.worker_id {workers} AND {filled} >= ?2 AND {filled} < ?3
             GROUP BY f.worker_id",
            workers = in_list(dialect, 1),
            filled = checked_time("tc", "f.filled_at"),
            form_unverified = count_where(&unverified("tc")),
        ),
        &[worker_scope.as_str().into(), start.into(), as_of.into()],
    )? {
        let [worker, count, unverified] = columns(row)?;
        forms.insert(worker.text()?, (count.count()?, unverified.count()?));
    }

    // Each worker's duty cases: opened by them, or filed by a resident
    // and first answered by them, at the checked opening time — once the
    // matter was handled and reported back (feedback or later), so that
    // registering a request is not yet a ledger record.
    let duty_categories = serde_json::to_string(
        &gridwork_core::model::DUTY_CASE_CATEGORIES
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>(),
    )
    .unwrap_or_else(|_| "[]".into());
    let mut duty_cases: HashMap<String, u32> = HashMap::new();
    for row in conn.rows(
        &format!(
            "SELECT credited, count(*) FROM (
               SELECT CASE WHEN c.opened_by = ?5 THEN
                        (SELECT t.by_worker FROM case_transitions t WHERE t.doc_key = c.doc_key
                          ORDER BY t.at, t.id LIMIT 1)
                      ELSE c.opened_by END AS credited
               FROM cases c
               LEFT JOIN time_checks tc ON tc.doc_id = 'case/' || c.id AND tc.item = ''
               WHERE c.category {categories} AND {opened} >= ?2 AND {opened} < ?3
                 AND c.status IN ('feedback', 'verified', 'closed')
             ) duty
             WHERE credited {workers}
             GROUP BY credited",
            categories = in_list(dialect, 4),
            workers = in_list(dialect, 1),
            opened = checked_time("tc", "c.opened_at"),
        ),
        &[
            worker_scope.as_str().into(),
            start.into(),
            as_of.into(),
            duty_categories.as_str().into(),
            crate::intake::requests::RESIDENT_ACTOR.into(),
        ],
    )? {
        let [worker, count] = columns(row)?;
        duty_cases.insert(worker.text()?, count.count()?);
    }

    let empty = GridMonth::default();
    let mut rows: Vec<EvaluationRow> = evaluees
        .iter()
        .map(|e| {
            let g = grids.get(e.grid.as_str()).unwrap_or(&empty);
            let (households_visited, visits_unverified) = visited
                .get(&(e.worker.0.clone(), e.grid.0.clone()))
                .copied()
                .unwrap_or((0, 0));
            let (forms, forms_unverified) = forms.get(e.worker.as_str()).copied().unwrap_or((0, 0));
            let duty = duty_cases.get(e.worker.as_str()).copied().unwrap_or(0);
            let mut row =
                EvaluationRow::new(e, month_code(first), g, households_visited, forms, duty);
            row.unverified = g.unverified + visits_unverified + forms_unverified;
            row
        })
        .collect();
    rows.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.worker.cmp(&b.worker))
            .then_with(|| a.grid.cmp(&b.grid))
    });
    Ok(rows)
}

impl EvaluationRow {
    /// The row of `e` from its grid's month and its own counts.
    fn new(
        e: &Evaluee,
        month: String,
        g: &GridMonth,
        households_visited: u32,
        forms: u32,
        duty_cases: u32,
    ) -> EvaluationRow {
        let coverage = ratio(g.visited, g.households, 1.0);
        let special_share = ratio(g.special_on_time, g.special, 1.0);
        let response_share = ratio(g.responses_on_time, g.cases, 1.0);
        let hazard_share = ratio(g.hazards_closed, g.hazards, 1.0);
        let form_share = ratio(forms + duty_cases, FORMS_TARGET_PER_MONTH, 1.0).min(1.0);
        let w = EVALUATION_WEIGHTS;
        let sum = w.coverage * coverage
            + w.special * special_share
            + w.response * response_share
            + w.hazards * hazard_share
            + w.forms * form_share;
        EvaluationRow {
            worker: e.worker.clone(),
            name: e.name.clone(),
            grid: e.grid.clone(),
            month,
            households: g.households,
            households_visited,
            grid_households_visited: g.visited,
            coverage,
            special_households: g.special,
            special_on_time: g.special_on_time,
            special_share,
            cases: g.cases,
            responses_on_time: g.responses_on_time,
            response_share,
            hazards: g.hazards,
            hazards_closed: g.hazards_closed,
            hazard_share,
            forms,
            duty_cases,
            forms_target: FORMS_TARGET_PER_MONTH,
            form_share,
            score: (sum * 10_000.0).round() / 100.0,
            unverified: 0,
        }
    }
}
