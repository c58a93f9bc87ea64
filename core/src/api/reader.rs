//! [`Reader`]: the read side of the API over any open connection — the
//! phone's SQLite inside [`Store`](super::Store)'s read transaction, or the
//! server's PostgreSQL for the staff dashboard and its exports (issue 13).
//! It holds the connection, the time zone dates are judged in and "now";
//! its methods are the same lists and records a phone shows, built from
//! [`super::reads`].

use super::reads::{
    household_summaries, in_list, json_list, read_cases, read_hazards, read_household, read_visits,
    Policies,
};
use super::HouseholdSummary;
use crate::model::*;
use crate::schedule;
use crate::store::sql::SqlConn;
use crate::{Error, Result};
use jiff::tz::TimeZone;

/// Reads records through one connection, dates judged in `tz` at `now`.
pub struct Reader<'a, C: SqlConn + ?Sized> {
    /// The open connection (inside the caller's transaction, if any).
    pub conn: &'a C,
    /// The time zone local dates are taken in.
    pub tz: &'a TimeZone,
    /// The instant due dates and case timers are judged at.
    pub now: Timestamp,
}

impl<'a, C: SqlConn + ?Sized> Reader<'a, C> {
    /// A reader over `conn`.
    pub fn new(conn: &'a C, tz: &'a TimeZone, now: Timestamp) -> Reader<'a, C> {
        Reader { conn, tz, now }
    }

    /// Today's local date.
    pub fn today(&self) -> jiff::civil::Date {
        schedule::local_date(self.now, self.tz)
    }

    /// The households a filter on `h` selects, in register order, with
    /// their grids ([`household_summaries`]).
    pub fn summaries(
        &self,
        filter: &str,
        args: &[crate::store::sql::SqlValue<'_>],
    ) -> Result<Vec<(GridCode, HouseholdSummary)>> {
        let policies = Policies::load(self.conn)?;
        household_summaries(self.conn, filter, args, self.today(), self.tz, &policies)
    }

    /// Every household, in register order.
    pub fn list_households(&self) -> Result<Vec<HouseholdSummary>> {
        Ok(self
            .summaries("", &[])?
            .into_iter()
            .map(|(_, h)| h)
            .collect())
    }

    /// The households of one grid, in register order.
    pub fn grid_households(&self, grid: &GridCode) -> Result<Vec<HouseholdSummary>> {
        Ok(self
            .summaries("WHERE h.grid = ?1", &[grid.as_str().into()])?
            .into_iter()
            .map(|(_, h)| h)
            .collect())
    }

    /// One household with its residents.
    pub fn household(&self, id: HouseholdId) -> Result<Household> {
        read_household(self.conn, id)?.ok_or_else(|| Error::not_found("household", id))
    }

    /// Visits of one household (or all), newest first.
    pub fn list_visits(&self, household: Option<HouseholdId>) -> Result<Vec<Visit>> {
        match household {
            Some(h) => read_visits(
                self.conn,
                "WHERE v.household_id = ?1",
                &[h.to_string().as_str().into()],
            ),
            None => read_visits(self.conn, "", &[]),
        }
    }

    /// One hazard with its transitions.
    pub fn hazard(&self, id: HazardId) -> Result<Hazard> {
        read_hazards(
            self.conn,
            "WHERE id = ?1",
            &[id.to_string().as_str().into()],
        )?
        .pop()
        .ok_or_else(|| Error::not_found("hazard", id))
    }

    /// One case with its transitions and its timers as of now.
    pub fn case(&self, id: CaseId) -> Result<Case> {
        read_cases(
            self.conn,
            "WHERE id = ?1",
            &[id.to_string().as_str().into()],
            self.now,
        )?
        .pop()
        .ok_or_else(|| Error::not_found("case", id))
    }

    /// Hazards, newest first; `open_only` hides closed ones.
    pub fn list_hazards(&self, open_only: bool) -> Result<Vec<Hazard>> {
        read_hazards(self.conn, open_filter(open_only), &[])
    }

    /// Cases, newest first, with their timers as of now; `open_only` hides
    /// closed ones.
    pub fn list_cases(&self, open_only: bool) -> Result<Vec<Case>> {
        read_cases(self.conn, open_filter(open_only), &[], self.now)
    }

    /// Hazards of `grids`, newest first; `open_only` hides closed ones.
    pub fn hazards_in(&self, grids: &[GridCode], open_only: bool) -> Result<Vec<Hazard>> {
        let scope = json_list(grids);
        read_hazards(
            self.conn,
            &self.scoped_filter(open_only),
            &[scope.as_str().into()],
        )
    }

    /// Cases of `grids`, newest first, with their timers as of now;
    /// `open_only` hides closed ones.
    pub fn cases_in(&self, grids: &[GridCode], open_only: bool) -> Result<Vec<Case>> {
        let scope = json_list(grids);
        read_cases(
            self.conn,
            &self.scoped_filter(open_only),
            &[scope.as_str().into()],
            self.now,
        )
    }

    /// Hazards reported at household `id`, newest first.
    pub fn hazards_of_household(&self, id: HouseholdId) -> Result<Vec<Hazard>> {
        read_hazards(
            self.conn,
            "WHERE household_id = ?1",
            &[id.to_string().as_str().into()],
        )
    }

    /// Cases of household `id`, newest first, with their timers as of now.
    pub fn cases_of_household(&self, id: HouseholdId) -> Result<Vec<Case>> {
        read_cases(
            self.conn,
            "WHERE household_id = ?1",
            &[id.to_string().as_str().into()],
            self.now,
        )
    }

    /// `WHERE grid IN` the scope bound to `?1`, and not closed when
    /// `open_only`.
    fn scoped_filter(&self, open_only: bool) -> String {
        let open = if open_only {
            " AND status != 'closed'"
        } else {
            ""
        };
        format!("WHERE grid {}{open}", in_list(self.conn.dialect(), 1))
    }
}

/// No filter, or not closed.
fn open_filter(open_only: bool) -> &'static str {
    if open_only {
        "WHERE status != 'closed'"
    } else {
        ""
    }
}
