//! The dashboard's home page: [`overview()`] — per-grid figures and
//! their totals, open hazards by category and severity, cases by status,
//! first-response statistics of this month and a 12-week trend, all over a
//! set of grids. A handful of aggregate queries over the read models; only
//! the per-household due status and the case timers are judged in Rust,
//! with the phone's own functions.

use super::{case_clocks, count_where, ratio, unique};
use gridwork_core::api::reads::{in_list, json_list, Policies};
use gridwork_core::api::Reader;
use gridwork_core::model::*;
use gridwork_core::schedule::{self, midnight, month_code, month_of, DueStatus};
use gridwork_core::store::sql::{columns, SqlConn};
use gridwork_core::Result;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Weeks in [`Overview::trend`].
pub const TREND_WEEKS: usize = 12;

/// The dashboard's home page over a set of grids, as of now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// The local month "this month" refers to, `YYYY-MM`.
    pub month: String,
    /// Sums over the given grids (each counted once); `grid` is empty and
    /// `coverage` is recomputed from the sums.
    pub totals: GridFigures,
    /// One per given grid, in the given order (zeros for a grid with no data).
    pub grids: Vec<GridFigures>,
    /// Open hazards by (category, severity): only non-zero cells, sorted by
    /// category, then severity from low to high.
    pub hazards_by_category: Vec<HazardCell>,
    /// Cases (all time) by status: every [`CaseState`] in workflow order
    /// (`collected` … `closed`), zeros included.
    pub cases_by_status: Vec<StatusCount>,
    /// First responses of the cases opened this month.
    pub response: ResponseStats,
    /// Exactly [`TREND_WEEKS`] ISO weeks (Monday start, local), oldest
    /// first; the last one is the current week.
    pub trend: Vec<WeekPoint>,
}

/// The figures of one grid (or the totals of several).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridFigures {
    /// The grid; empty for totals.
    pub grid: GridCode,
    /// Active households.
    pub households: u32,
    /// Active households with at least one visit this month.
    pub households_visited: u32,
    /// Visits this month (to any household of the grid).
    pub visits_this_month: u32,
    /// `households_visited / households`, 0.0 when there are no households.
    pub coverage: f64,
    /// Active households with a household tag or a tag of a resident
    /// still living there.
    pub special_group_households: u32,
    /// Of those, due a visit soon ([`DueStatus::Due`]) under the grid's policy.
    pub special_due: u32,
    /// Of those, overdue ([`DueStatus::Overdue`]).
    pub special_overdue: u32,
    /// Hazards not closed.
    pub open_hazards: u32,
    /// Open hazards past their rectification deadline.
    pub hazards_overdue: u32,
    /// Cases not closed.
    pub open_cases: u32,
    /// Cases (all time) awaiting a first response past the target, plus
    /// cases answered after it, per the grid's policy (as [`Case::timers`]).
    pub cases_past_response_target: u32,
    /// Cases awaiting their first response past the target now (the
    /// open ones of `cases_past_response_target`).
    pub cases_awaiting_overdue: u32,
}

impl GridFigures {
    /// All zeros.
    fn zero(grid: GridCode) -> GridFigures {
        GridFigures {
            grid,
            households: 0,
            households_visited: 0,
            visits_this_month: 0,
            coverage: 0.0,
            special_group_households: 0,
            special_due: 0,
            special_overdue: 0,
            open_hazards: 0,
            hazards_overdue: 0,
            open_cases: 0,
            cases_past_response_target: 0,
            cases_awaiting_overdue: 0,
        }
    }

    /// The totals of `rows` under the name `grid`: counts added, coverage
    /// recomputed from the sums (e.g. a community's row from its grids').
    pub fn sum<'a>(grid: GridCode, rows: impl IntoIterator<Item = &'a GridFigures>) -> GridFigures {
        let mut total = GridFigures::zero(grid);
        for row in rows {
            total.add(row);
        }
        total.coverage = ratio(total.households_visited, total.households, 0.0);
        total
    }

    /// Add `other`'s counts (not its coverage).
    fn add(&mut self, other: &GridFigures) {
        self.households += other.households;
        self.households_visited += other.households_visited;
        self.visits_this_month += other.visits_this_month;
        self.special_group_households += other.special_group_households;
        self.special_due += other.special_due;
        self.special_overdue += other.special_overdue;
        self.open_hazards += other.open_hazards;
        self.hazards_overdue += other.hazards_overdue;
        self.open_cases += other.open_cases;
        self.cases_past_response_target += other.cases_past_response_target;
        self.cases_awaiting_overdue += other.cases_awaiting_overdue;
    }
}

/// Open hazards of one category and severity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HazardCell {
    /// Category as reported.
    pub category: String,
    /// Severity code (`low`, `medium`, `high`).
    pub severity: String,
    /// Open hazards.
    pub open: u32,
    /// Of those, past their deadline.
    pub overdue: u32,
}

/// Cases in one status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusCount {
    /// [`CaseState`] code.
    pub status: String,
    /// Cases.
    pub count: u32,
}

/// First responses of the cases opened this month, each judged under its
/// grid's policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseStats {
    /// Cases opened this month.
    pub cases: u32,
    /// Of those, with a first response.
    pub responded: u32,
    /// Of those, answered within their grid's `first_response_minutes`.
    pub within_target: u32,
    /// `within_target / responded`, 0.0 when nothing was answered.
    pub share_within_target: f64,
    /// Median minutes from taking a case to its first response.
    pub median_minutes: Option<f64>,
    /// The longest of those times.
    pub slowest_minutes: Option<f64>,
    /// The case it belongs to (the earliest opened among equals).
    pub slowest_case: Option<CaseId>,
    /// Opened this month, not answered, and past the target now.
    pub awaiting_overdue: u32,
    /// The most common target among the grids (ties: the smaller), for the
    /// caption; the default 30 when no grid is given.
    pub target_minutes: i64,
    /// Of the cases, those whose opening or first-response time the server
    /// could not verify (they count at the time the server received them
    /// when the claimed time was impossible or the phone's clock was wrong).
    pub unverified: u32,
}

/// One week of the trend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeekPoint {
    /// Its Monday, local `YYYY-MM-DD`.
    pub week_start: String,
    /// Visits to households of the grids.
    pub visits: u32,
    /// Households of the grids visited at least once.
    pub households_visited: u32,
    /// Cases opened.
    pub cases_opened: u32,
    /// Hazards reported.
    pub hazards_reported: u32,
}

/// The trend's weeks: their Mondays and the [`TREND_WEEKS`] + 1 instants
/// bounding them (UTC ms).
struct Weeks {
    mondays: Vec<Date>,
    bounds: Vec<i64>,
}

impl Weeks {
    /// The [`TREND_WEEKS`] weeks ending with the one containing `today`.
    fn ending(today: Date, tz: &jiff::tz::TimeZone) -> Weeks {
        let back = i64::from(today.weekday().to_monday_zero_offset());
        let this_monday = today.saturating_sub(jiff::Span::new().days(back));
        let first = this_monday.saturating_sub(jiff::Span::new().weeks(TREND_WEEKS as i64 - 1));
        let mondays: Vec<Date> = (0..=TREND_WEEKS as i64)
            .map(|w| first.saturating_add(jiff::Span::new().weeks(w)))
            .collect();
        let bounds = mondays.iter().map(|d| midnight(*d, tz)).collect();
        Weeks { mondays, bounds }
    }

    /// The week an instant falls in, if any.
    fn index(&self, at: i64) -> Option<usize> {
        if at < self.bounds[0] || at >= self.bounds[TREND_WEEKS] {
            return None;
        }
        Some(self.bounds.partition_point(|b| *b <= at) - 1)
    }
}

/// The home page's figures over the union of `grids` (the staff member's
/// subtree, as 4th-level grid codes), as of the reader's now.
pub fn overview<C: SqlConn + ?Sized>(r: &Reader<'_, C>, grids: &[GridCode]) -> Result<Overview> {
    let (conn, tz, now) = (r.conn, r.tz, r.now);
    let today = schedule::local_date(now, tz);
    let (month_first, month_start, month_end) = month_of(today, tz);
    let weeks = Weeks::ending(today, tz);
    let scoped = unique(grids);
    let scope = json_list(scoped.iter().copied());
    let in_scope = in_list(conn.dialect(), 1);
    let mut by_grid: HashMap<&str, GridFigures> = scoped
        .iter()
        .map(|g| (g.as_str(), GridFigures::zero((*g).clone())))
        .collect();
    let mut trend: Vec<WeekPoint> = weeks.mondays[..TREND_WEEKS]
        .iter()
        .map(|d| WeekPoint {
            week_start: d.to_string(),
            visits: 0,
            households_visited: 0,
            cases_opened: 0,
            hazards_reported: 0,
        })
        .collect();
    let policies = Policies::load(conn)?;

    // Households: counts and due status of the special groups.
    for (grid, h) in r.summaries(
        &format!("WHERE h.grid {in_scope}"),
        &[scope.as_str().into()],
    )? {
        let Some(f) = by_grid.get_mut(grid.as_str()) else {
            continue;
        };
        if h.status != HouseholdStatus::Active {
            continue;
        }
        f.households += 1;
        if !h.all_tags.is_empty() {
            f.special_group_households += 1;
            match h.due_status {
                DueStatus::Due => f.special_due += 1,
                DueStatus::Overdue => f.special_overdue += 1,
                DueStatus::NotDue => {}
            }
        }
    }

    // Visits since the trend's first week (which starts before this month
    // does): this month's per grid, the trend's per week.
    let until = month_end.max(weeks.bounds[TREND_WEEKS]);
    let mut visited_month: HashSet<String> = HashSet::new();
    let mut visited_week: Vec<HashSet<String>> = vec![HashSet::new(); TREND_WEEKS];
    for row in conn.rows(
        &format!(
            "SELECT h.grid, h.status = 'active', v.household_id, v.started_at
             FROM households h JOIN visits v ON v.household_id = h.id
                  AND v.started_at >= ?2 AND v.started_at < ?3
             WHERE h.grid {in_scope}"
        ),
        &[scope.as_str().into(), weeks.bounds[0].into(), until.into()],
    )? {
        let [grid, active, household, at] = columns(row)?;
        let (grid, active, household, at) =
            (grid.text()?, active.flag()?, household.text()?, at.int()?);
        if (month_start..month_end).contains(&at) {
            if let Some(f) = by_grid.get_mut(grid.as_str()) {
                f.visits_this_month += 1;
                if active && visited_month.insert(household.clone()) {
                    f.households_visited += 1;
                }
            }
        }
        if let Some(w) = weeks.index(at) {
            trend[w].visits += 1;
            visited_week[w].insert(household);
        }
    }
    for (point, households) in trend.iter_mut().zip(&visited_week) {
        point.households_visited = households.len() as u32;
    }

    // Open hazards by grid, category and severity.
    let mut cells: BTreeMap<(String, u8, String), (u32, u32)> = BTreeMap::new();
    for row in conn.rows(
        &format!(
            "SELECT grid, category, severity, count(*), {overdue}
             FROM hazards WHERE status != 'closed' AND grid {in_scope}
             GROUP BY grid, category, severity",
            overdue = count_where("deadline IS NOT NULL AND deadline < ?2"),
        ),
        &[scope.as_str().into(), now.0.into()],
    )? {
        let [grid, category, severity, open, overdue] = columns(row)?;
        let (grid, category, severity) = (grid.text()?, category.text()?, severity.text()?);
        let (open, overdue) = (open.count()?, overdue.count()?);
        if let Some(f) = by_grid.get_mut(grid.as_str()) {
            f.open_hazards += open;
            f.hazards_overdue += overdue;
        }
        let rank = Severity::parse(&severity).map_or(u8::MAX, |s| s as u8);
        let cell = cells.entry((category, rank, severity)).or_default();
        cell.0 += open;
        cell.1 += overdue;
    }
    for row in conn.rows(
        &format!(
            "SELECT reported_at FROM hazards
             WHERE grid {in_scope} AND reported_at >= ?2 AND reported_at < ?3"
        ),
        &[
            scope.as_str().into(),
            weeks.bounds[0].into(),
            weeks.bounds[TREND_WEEKS].into(),
        ],
    )? {
        let [at] = columns(row)?;
        if let Some(w) = weeks.index(at.int()?) {
            trend[w].hazards_reported += 1;
        }
    }

    // Cases by grid and status (all time).
    let mut statuses: HashMap<String, u32> = HashMap::new();
    for row in conn.rows(
        &format!(
            "SELECT grid, status, count(*) FROM cases WHERE grid {in_scope} GROUP BY grid, status"
        ),
        &[scope.as_str().into()],
    )? {
        let [grid, status, count] = columns(row)?;
        let (grid, status, count) = (grid.text()?, status.text()?, count.count()?);
        if status != CaseState::Closed.code() {
            if let Some(f) = by_grid.get_mut(grid.as_str()) {
                f.open_cases += count;
            }
        }
        *statuses.entry(status).or_default() += count;
    }

    // Case timers. Only cases that can matter are read: unanswered ones,
    // ones answered later than the smallest target in scope (candidates for
    // "late"; `case_timers` decides under each grid's own policy), and every
    // case of the trend's weeks (which cover this month).
    let targets: Vec<i64> = scoped
        .iter()
        .map(|g| policies.of(g.as_str()).first_response_minutes)
        .collect();
    let min_target = targets.iter().copied().min().unwrap_or(0);
    let clocks = case_clocks(
        conn,
        &policies,
        now,
        "first_response_at IS NULL OR first_response_at - opened_at > ?2 OR opened_at >= ?3",
        &[
            scope.as_str().into(),
            (min_target * 60_000).into(),
            weeks.bounds[0].into(),
        ],
    )?;
    let mut month_cases = Vec::new();
    for c in &clocks {
        if let Some(f) = by_grid.get_mut(c.grid.as_str()) {
            if c.timers.response_overdue || c.timers.responded_late {
                f.cases_past_response_target += 1;
            }
            if c.timers.response_overdue {
                f.cases_awaiting_overdue += 1;
            }
        }
        if let Some(w) = weeks.index(c.opened_at.0) {
            trend[w].cases_opened += 1;
        }
        if (month_start..month_end).contains(&c.opened_at.0) {
            month_cases.push(c);
        }
    }
    let response = response_stats(&month_cases, most_common(&targets));

    for f in by_grid.values_mut() {
        f.coverage = ratio(f.households_visited, f.households, 0.0);
    }
    let totals = GridFigures::sum(GridCode(String::new()), by_grid.values());
    Ok(Overview {
        month: month_code(month_first),
        totals,
        grids: grids.iter().map(|g| by_grid[g.as_str()].clone()).collect(),
        hazards_by_category: cells
            .into_iter()
            .filter(|(_, (open, _))| *open > 0)
            .map(|((category, _, severity), (open, overdue))| HazardCell {
                category,
                severity,
                open,
                overdue,
            })
            .collect(),
        cases_by_status: CaseState::ALL
            .iter()
            .map(|s| StatusCount {
                status: s.code().to_string(),
                count: statuses.get(s.code()).copied().unwrap_or(0),
            })
            .collect(),
        response,
        trend,
    })
}

/// The response statistics of `cases` (each with its timers as of now).
fn response_stats(cases: &[&super::CaseClock], target_minutes: i64) -> ResponseStats {
    let mut minutes: Vec<(f64, &super::CaseClock)> = cases
        .iter()
        .filter_map(|c| c.response_minutes().map(|m| (m, *c)))
        .collect();
    let responded = minutes.len() as u32;
    let within_target = cases.iter().filter(|c| c.responded_in_time()).count() as u32;
    // Cases come oldest first; the stable sort keeps the earliest of equals first.
    minutes.sort_by(|a, b| b.0.total_cmp(&a.0));
    let median = match minutes.len() {
        0 => None,
        n if n % 2 == 1 => Some(minutes[n / 2].0),
        n => Some((minutes[n / 2 - 1].0 + minutes[n / 2].0) / 2.0),
    };
    ResponseStats {
        cases: cases.len() as u32,
        responded,
        within_target,
        share_within_target: ratio(within_target, responded, 0.0),
        median_minutes: median,
        slowest_minutes: minutes.first().map(|(m, _)| *m),
        slowest_case: minutes.first().map(|(_, c)| c.id),
        awaiting_overdue: cases.iter().filter(|c| c.timers.response_overdue).count() as u32,
        target_minutes,
        unverified: cases.iter().filter(|c| c.unverified).count() as u32,
    }
}

/// The most common value (ties: the smaller); the default first-response
/// target when there is none.
fn most_common(targets: &[i64]) -> i64 {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for t in targets {
        *counts.entry(*t).or_default() += 1;
    }
    // BTreeMap iterates in ascending order and max_by_key keeps the last
    // maximum, so iterate in reverse to keep the smaller of equals.
    counts
        .into_iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .map_or(schedule::FIRST_RESPONSE_TARGET_MINUTES, |(t, _)| t)
}
