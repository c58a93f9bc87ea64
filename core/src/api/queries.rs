//! Reads. Every screen is answered from the SQLite read models — never from
//! Automerge — so listing a whole grid stays in the millisecond range. The
//! SQL itself is in [`super::reads`], shared with the server's dashboard.

use super::reads::{household_summaries, read_forms, read_visits, Policies};
use super::Reader;
use super::Store;
use crate::model::*;
use crate::schedule::{self, DueStatus, VisitInterval};
use crate::{Error, Result};
use rusqlite::params;
use serde::{Deserialize, Serialize};

/// One line of the household list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HouseholdSummary {
    /// Id.
    pub id: HouseholdId,
    /// Address.
    pub address: String,
    /// Representative.
    pub representative: String,
    /// Household-level tags.
    pub tags: Vec<SpecialGroup>,
    /// Household tags plus the tags of residents still living there.
    pub all_tags: Vec<SpecialGroup>,
    /// Risk level.
    pub risk: RiskLevel,
    /// Active / moved out.
    pub status: HouseholdStatus,
    /// Residents still living there.
    pub residents: u32,
    /// Last visit, if any.
    pub last_visit_at: Option<Timestamp>,
    /// Visit interval from the policy.
    pub visit_interval: VisitInterval,
    /// Next due visit, local date `YYYY-MM-DD`.
    pub next_visit_due: String,
    /// Where the household stands against its schedule today.
    pub due_status: DueStatus,
}

/// A household that is due or overdue a visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DueEntry {
    /// The household.
    #[serde(flatten)]
    pub household: HouseholdSummary,
    /// Days past the due date (0 if not overdue).
    pub days_overdue: i64,
}

/// Filters for [`Store::search_households`]. Empty fields match everything.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HouseholdQuery {
    /// Matches the address, the representative or any resident's name.
    pub text: String,
    /// Only households with this tag (on the household or a resident).
    pub tag: Option<String>,
}

impl Store {
    pub(crate) fn today(&self) -> jiff::civil::Date {
        schedule::local_date(self.now(), &self.tz)
    }

    /// Run `f` with a [`Reader`] over the store's read connection, now.
    pub(crate) fn read<R>(
        &self,
        f: impl FnOnce(&Reader<'_, rusqlite::Connection>) -> Result<R>,
    ) -> Result<R> {
        let now = self.now();
        self.db.read(|conn| f(&Reader::new(conn, &self.tz, now)))
    }

    /// Every household of the grid with its next due visit.
    pub fn list_households(&self) -> Result<Vec<HouseholdSummary>> {
        self.search_households(&HouseholdQuery::default())
    }

    /// Households matching a text (address, representative, resident name)
    /// and/or a tag.
    pub fn search_households(&self, query: &HouseholdQuery) -> Result<Vec<HouseholdSummary>> {
        let tag = query.tag.as_deref().map(SpecialGroup::parse).transpose()?;
        let today = self.today();
        let tag = tag.map(|t| t.code());
        self.db.read(|conn| {
            let policies = Policies::load(conn)?;
            let text = query.text.trim();
            let like = format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            let filter = "WHERE (?1 = '' OR h.address LIKE ?2 ESCAPE '\\' OR h.representative LIKE ?2 ESCAPE '\\'
                   OR EXISTS (SELECT 1 FROM residents r WHERE r.household_id = h.id AND r.name LIKE ?2 ESCAPE '\\'))
                 AND (?3 IS NULL OR EXISTS (SELECT 1 FROM household_tags t WHERE t.household_id = h.id AND t.tag = ?3)
                   OR EXISTS (SELECT 1 FROM resident_tags rt JOIN residents r ON r.id = rt.resident_id
                              WHERE rt.household_id = h.id AND rt.tag = ?3 AND r.moved_out = 0))";
            let rows = household_summaries(
                conn,
                filter,
                &[text.into(), like.as_str().into(), tag.into()],
                today,
                &self.tz,
                &policies,
            )?;
            Ok(rows.into_iter().map(|(_, h)| h).collect())
        })
    }

    /// Households due or overdue a visit: overdue first (most days overdue
    /// first, special groups before others), then due soon.
    pub fn due_visits(&self) -> Result<Vec<DueEntry>> {
        let today = self.today();
        let mut due: Vec<DueEntry> = self
            .list_households()?
            .into_iter()
            .filter(|h| h.due_status != DueStatus::NotDue)
            .map(|h| {
                let date: jiff::civil::Date = h.next_visit_due.parse().unwrap_or(today);
                DueEntry {
                    days_overdue: schedule::days_overdue(date, today),
                    household: h,
                }
            })
            .collect();
        due.sort_by(|a, b| {
            (
                a.household.due_status,
                a.household.all_tags.is_empty(),
                std::cmp::Reverse(a.days_overdue),
                &a.household.next_visit_due,
            )
                .cmp(&(
                    b.household.due_status,
                    b.household.all_tags.is_empty(),
                    std::cmp::Reverse(b.days_overdue),
                    &b.household.next_visit_due,
                ))
        });
        Ok(due)
    }

    /// One household with its residents.
    pub fn household(&self, id: HouseholdId) -> Result<Household> {
        self.read(|r| r.household(id))
    }

    /// One visit.
    pub fn visit(&self, id: VisitId) -> Result<Visit> {
        self.db.read(|conn| {
            read_visits(conn, "WHERE v.id = ?1", &[id.to_string().as_str().into()])?
                .pop()
                .ok_or_else(|| Error::not_found("visit", id))
        })
    }

    /// Visits of one household (or all), newest first.
    pub fn list_visits(&self, household: Option<HouseholdId>) -> Result<Vec<Visit>> {
        self.read(|r| r.list_visits(household))
    }

    /// One hazard with its transitions.
    pub fn hazard(&self, id: HazardId) -> Result<Hazard> {
        self.read(|r| r.hazard(id))
    }

    /// Hazards, newest first; `open_only` hides closed ones.
    pub fn list_hazards(&self, open_only: bool) -> Result<Vec<Hazard>> {
        self.read(|r| r.list_hazards(open_only))
    }

    /// One case with its transitions and its timers as of now.
    pub fn case(&self, id: CaseId) -> Result<Case> {
        self.read(|r| r.case(id))
    }

    /// Cases, newest first, with their timers as of now; `open_only` hides
    /// closed ones.
    pub fn list_cases(&self, open_only: bool) -> Result<Vec<Case>> {
        self.read(|r| r.list_cases(open_only))
    }

    /// Open cases missing a deadline now (no first response within the
    /// target, or not handled within the category's deadline): unanswered
    /// ones first, then by how long they have been open.
    pub fn overdue_cases(&self) -> Result<Vec<Case>> {
        let mut cases: Vec<Case> = self
            .list_cases(true)?
            .into_iter()
            .filter(|c| c.timers.overdue())
            .collect();
        cases.sort_by_key(|c| (!c.timers.response_overdue, c.opened_at));
        Ok(cases)
    }

    /// One form record.
    pub fn form_record(&self, id: FormRecordId) -> Result<FormRecord> {
        self.db.read(|conn| {
            read_forms(conn, "WHERE id = ?1", &[id.to_string().as_str().into()])?
                .pop()
                .ok_or_else(|| Error::not_found("form record", id))
        })
    }

    /// Form records, newest first, optionally of one template.
    pub fn list_form_records(&self, template: Option<&str>) -> Result<Vec<FormRecord>> {
        self.db.read(|conn| match template {
            Some(t) => read_forms(conn, "WHERE template_id = ?1", &[t.into()]),
            None => read_forms(conn, "", &[]),
        })
    }

    /// This worker's log for a month `YYYY-MM`.
    pub fn work_log(&self, month: &str) -> Result<Vec<WorkLogDay>> {
        let month = validate::month(month, "month")?;
        let worker = self.device()?.worker_id;
        self.db.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT date, priorities, notes FROM work_log_days WHERE worker_id = ?1 AND date LIKE ?2 ORDER BY date",
            )?;
            let rows = stmt.query_map(params![worker.as_str(), format!("{month}-%")], |r| {
                Ok(WorkLogDay {
                    worker: worker.clone(),
                    date: r.get(0)?,
                    priorities: serde_json::from_str(&r.get::<_, String>(1)?).unwrap_or_default(),
                    notes: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
