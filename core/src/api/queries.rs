//! Reads. Every screen is answered from the SQLite read models — never from
//! Automerge — so listing a whole grid stays in the millisecond range.

use super::Store;
use crate::model::*;
use crate::schedule::{self, DueStatus, VisitInterval};
use crate::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension, Row};
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

/// The stored grid policies, looked up by grid (defaults for the rest).
pub(crate) struct Policies {
    by_grid: std::collections::HashMap<String, schedule::Policy>,
    default: schedule::Policy,
}

impl Policies {
    /// Every stored policy.
    pub(crate) fn load(conn: &Connection) -> Result<Policies> {
        let mut stmt = conn.prepare_cached("SELECT grid, body FROM policies")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut by_grid = std::collections::HashMap::new();
        for row in rows {
            let (grid, body) = row?;
            if let Ok(policy) = serde_json::from_str(&body) {
                by_grid.insert(grid, policy);
            }
        }
        Ok(Policies {
            by_grid,
            default: schedule::Policy::default(),
        })
    }

    /// The policy of `grid`.
    pub(crate) fn of(&self, grid: &str) -> &schedule::Policy {
        self.by_grid.get(grid).unwrap_or(&self.default)
    }
}

/// Filters for [`Store::search_households`]. Empty fields match everything.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HouseholdQuery {
    /// Matches the address, the representative or any resident's name.
    pub text: String,
    /// Only households with this tag (on the household or a resident).
    pub tag: Option<String>,
}

pub(crate) fn parse_tag_list(text: Option<String>) -> Vec<SpecialGroup> {
    let mut tags: Vec<SpecialGroup> = text
        .unwrap_or_default()
        .split(',')
        .filter_map(|t| SpecialGroup::parse(t).ok())
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

pub(crate) const SUMMARY_SQL: &str = "
SELECT h.id, h.address, h.representative, h.risk, h.status, h.created_at,
       (SELECT group_concat(tag) FROM household_tags t WHERE t.household_id = h.id),
       (SELECT group_concat(rt.tag) FROM residents r JOIN resident_tags rt ON rt.resident_id = r.id
         WHERE r.household_id = h.id AND r.moved_out = 0),
       (SELECT count(*) FROM residents r WHERE r.household_id = h.id AND r.moved_out = 0),
       (SELECT max(started_at) FROM visits v WHERE v.household_id = h.id),
       h.grid
FROM households h";

pub(crate) const SUMMARY_ORDER: &str =
    " ORDER BY h.community, CAST(h.building AS INTEGER), h.building,
       CAST(h.unit AS INTEGER), h.unit, CAST(h.room AS INTEGER), h.room, h.address, h.id";

impl Store {
    pub(crate) fn summary_from_row(
        &self,
        row: &Row<'_>,
        today: jiff::civil::Date,
        policies: &Policies,
    ) -> rusqlite::Result<HouseholdSummary> {
        let tags = parse_tag_list(row.get(6)?);
        let mut all_tags = tags.clone();
        all_tags.extend(parse_tag_list(row.get(7)?));
        all_tags.sort();
        all_tags.dedup();
        let created_at = Timestamp(row.get(5)?);
        let last_visit_at: Option<Timestamp> = row.get::<_, Option<i64>>(9)?.map(Timestamp);
        let policy = policies.of(&row.get::<_, String>(10)?);
        let due = schedule::next_due_with(policy, last_visit_at, created_at, &all_tags, &self.tz);
        let status = HouseholdStatus::parse(&row.get::<_, String>(4)?).unwrap_or_default();
        Ok(HouseholdSummary {
            id: row.get::<_, String>(0)?.parse().unwrap_or_default(),
            address: row.get(1)?,
            representative: row.get(2)?,
            risk: RiskLevel::parse(&row.get::<_, String>(3)?).unwrap_or_default(),
            status,
            residents: row.get(8)?,
            last_visit_at,
            visit_interval: policy.interval_for(&all_tags),
            next_visit_due: due.to_string(),
            due_status: if status == HouseholdStatus::MovedOut {
                DueStatus::NotDue
            } else {
                schedule::due_status_within(due, today, policy.due_soon_days)
            },
            tags,
            all_tags,
        })
    }

    fn today(&self) -> jiff::civil::Date {
        schedule::local_date(self.now(), &self.tz)
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
        self.db.read(|conn| {
            let policies = Policies::load(conn)?;
            let text = query.text.trim();
            let like = format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            let sql = format!(
                "{SUMMARY_SQL} WHERE (?1 = '' OR h.address LIKE ?2 ESCAPE '\\' OR h.representative LIKE ?2 ESCAPE '\\'
                   OR EXISTS (SELECT 1 FROM residents r WHERE r.household_id = h.id AND r.name LIKE ?2 ESCAPE '\\'))
                 AND (?3 IS NULL OR EXISTS (SELECT 1 FROM household_tags t WHERE t.household_id = h.id AND t.tag = ?3)
                   OR EXISTS (SELECT 1 FROM resident_tags rt JOIN residents r ON r.id = rt.resident_id
                              WHERE rt.household_id = h.id AND rt.tag = ?3 AND r.moved_out = 0))
                 {SUMMARY_ORDER}"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![text, like, tag.map(|t| t.code())], |r| self.summary_from_row(r, today, &policies))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
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
        self.db.read(|conn| read_household(conn, id))
    }

    /// One visit.
    pub fn visit(&self, id: VisitId) -> Result<Visit> {
        self.db.read(|conn| {
            read_visits(conn, "WHERE v.id = ?1", &id.to_string())?
                .pop()
                .ok_or_else(|| Error::not_found("visit", id))
        })
    }

    /// Visits of one household (or all), newest first.
    pub fn list_visits(&self, household: Option<HouseholdId>) -> Result<Vec<Visit>> {
        self.db.read(|conn| match household {
            Some(h) => read_visits(conn, "WHERE v.household_id = ?1", &h.to_string()),
            None => read_visits(conn, "WHERE ?1 = ?1", ""),
        })
    }

    /// One hazard with its transitions.
    pub fn hazard(&self, id: HazardId) -> Result<Hazard> {
        self.db.read(|conn| {
            read_hazards(conn, "WHERE id = ?1", &id.to_string())?
                .pop()
                .ok_or_else(|| Error::not_found("hazard", id))
        })
    }

    /// Hazards, newest first; `open_only` hides closed ones.
    pub fn list_hazards(&self, open_only: bool) -> Result<Vec<Hazard>> {
        self.db.read(|conn| {
            let filter = if open_only {
                "WHERE status != 'closed' AND ?1 = ?1"
            } else {
                "WHERE ?1 = ?1"
            };
            read_hazards(conn, filter, "")
        })
    }

    /// One case with its transitions and its timers as of now.
    pub fn case(&self, id: CaseId) -> Result<Case> {
        let now = self.now();
        self.db.read(|conn| {
            read_cases(conn, "WHERE id = ?1", &id.to_string(), now)?
                .pop()
                .ok_or_else(|| Error::not_found("case", id))
        })
    }

    /// Cases, newest first, with their timers as of now; `open_only` hides
    /// closed ones.
    pub fn list_cases(&self, open_only: bool) -> Result<Vec<Case>> {
        let now = self.now();
        self.db.read(|conn| {
            let filter = if open_only {
                "WHERE status != 'closed' AND ?1 = ?1"
            } else {
                "WHERE ?1 = ?1"
            };
            read_cases(conn, filter, "", now)
        })
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
            read_forms(conn, "WHERE id = ?1", &id.to_string())?
                .pop()
                .ok_or_else(|| Error::not_found("form record", id))
        })
    }

    /// Form records, newest first, optionally of one template.
    pub fn list_form_records(&self, template: Option<&str>) -> Result<Vec<FormRecord>> {
        self.db.read(|conn| match template {
            Some(t) => read_forms(conn, "WHERE template_id = ?1", t),
            None => read_forms(conn, "WHERE ?1 = ?1", ""),
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

fn tags_of(conn: &Connection, sql: &str, id: &str) -> Result<Vec<SpecialGroup>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for t in rows {
        if let Ok(g) = SpecialGroup::parse(&t?) {
            out.push(g);
        }
    }
    out.sort();
    Ok(out)
}

pub(crate) fn read_household(conn: &Connection, id: HouseholdId) -> Result<Household> {
    let hid = id.to_string();
    let mut household = conn
        .query_row(
            "SELECT grid, community, building, unit, room, address, representative, phone, risk, status, note, created_at
             FROM households WHERE id = ?1",
            [&hid],
            |r| {
                Ok(Household {
                    id,
                    grid: GridCode(r.get(0)?),
                    community: r.get(1)?,
                    building: r.get(2)?,
                    unit: r.get(3)?,
                    room: r.get(4)?,
                    address: r.get(5)?,
                    representative: r.get(6)?,
                    phone: r.get(7)?,
                    tags: vec![],
                    risk: RiskLevel::parse(&r.get::<_, String>(8)?).unwrap_or_default(),
                    status: HouseholdStatus::parse(&r.get::<_, String>(9)?).unwrap_or_default(),
                    note: r.get(10)?,
                    created_at: Timestamp(r.get(11)?),
                    residents: vec![],
                })
            },
        )
        .optional()?
        .ok_or_else(|| Error::not_found("household", id))?;
    household.tags = tags_of(
        conn,
        "SELECT tag FROM household_tags WHERE household_id = ?1",
        &hid,
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, gender, birth_date, id_number, phone, relation, moved_out, created_at
         FROM residents WHERE household_id = ?1 ORDER BY created_at, id",
    )?;
    let residents = stmt
        .query_map([&hid], |r| {
            Ok(Resident {
                id: r.get::<_, String>(0)?.parse().unwrap_or_default(),
                name: r.get(1)?,
                gender: Gender::parse(&r.get::<_, String>(2)?).unwrap_or_default(),
                birth_date: r.get(3)?,
                id_number: r.get(4)?,
                phone: r.get(5)?,
                relation: r.get(6)?,
                tags: vec![],
                moved_out: r.get(7)?,
                created_at: Timestamp(r.get(8)?),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for mut r in residents {
        r.tags = tags_of(
            conn,
            "SELECT tag FROM resident_tags WHERE resident_id = ?1",
            &r.id.to_string(),
        )?;
        household.residents.push(r);
    }
    Ok(household)
}

fn read_visits(conn: &Connection, filter: &str, arg: &str) -> Result<Vec<Visit>> {
    let sql = format!(
        "SELECT v.id, v.household_id, v.worker_id, v.started_at, v.ended_at, v.lat, v.lon, v.accuracy,
                v.template_id, v.template_version, v.outcomes, v.note, v.follow_ups, v.doc_key
         FROM visits v {filter} ORDER BY v.started_at DESC, v.id DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut visits = stmt
        .query_map([arg], |r| {
            let lat: Option<f64> = r.get(5)?;
            let lon: Option<f64> = r.get(6)?;
            Ok((
                Visit {
                    id: r.get::<_, String>(0)?.parse().unwrap_or_default(),
                    household: r.get::<_, String>(1)?.parse().unwrap_or_default(),
                    worker: WorkerId(r.get(2)?),
                    started_at: Timestamp(r.get(3)?),
                    ended_at: Timestamp(r.get(4)?),
                    location: lat.zip(lon).map(|(lat, lon)| Location {
                        lat,
                        lon,
                        accuracy_m: r.get(7).ok().flatten(),
                    }),
                    checklist: TemplateRef {
                        id: r.get(8)?,
                        version: r.get(9)?,
                    },
                    answers: vec![],
                    note: r.get(11)?,
                    follow_up_cases: serde_json::from_str(&r.get::<_, String>(12)?)
                        .unwrap_or_default(),
                },
                r.get::<_, String>(10)?,
                r.get::<_, i64>(13)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut findings = conn.prepare_cached(
        "SELECT item, outcome, note FROM visit_answers WHERE doc_key = ?1 AND visit_id = ?2",
    )?;
    let mut out = Vec::with_capacity(visits.len());
    for (mut visit, outcomes, doc_key) in visits.drain(..) {
        let found: Vec<ChecklistAnswer> = findings
            .query_map(params![doc_key, visit.id.to_string()], |r| {
                Ok(ChecklistAnswer {
                    item: r.get(0)?,
                    outcome: Outcome::parse(&r.get::<_, String>(1)?, "outcome")
                        .unwrap_or(Outcome::NotApplicable),
                    note: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        match crate::forms::find_ref(&visit.checklist.id, Some(visit.checklist.version)) {
            Some(template) => {
                for (field, code) in template.fields.iter().zip(outcomes.chars()) {
                    if let Some(a) = found.iter().find(|a| a.item == field.id) {
                        visit.answers.push(a.clone());
                    } else if code == 'o' {
                        visit.answers.push(ChecklistAnswer {
                            item: field.id.clone(),
                            outcome: Outcome::Ok,
                            note: String::new(),
                        });
                    }
                }
            }
            None => visit.answers = found,
        }
        out.push(visit);
    }
    Ok(out)
}

fn read_transitions(
    conn: &Connection,
    table: &str,
    parent_table: &str,
    parent: &str,
) -> Result<Vec<Transition>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, at, by_worker, from_state, to_state, note FROM {table}
         WHERE doc_key = (SELECT doc_key FROM {parent_table} WHERE id = ?1) ORDER BY at, id"
    ))?;
    let rows = stmt.query_map([parent], |r| {
        Ok(Transition {
            id: r.get::<_, String>(0)?.parse().unwrap_or_default(),
            at: Timestamp(r.get(1)?),
            by: WorkerId(r.get(2)?),
            from: r.get(3)?,
            to: r.get(4)?,
            note: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn read_hazards(conn: &Connection, filter: &str, arg: &str) -> Result<Vec<Hazard>> {
    let sql = format!(
        "SELECT id, grid, category, severity, lat, lon, accuracy, place, description, household_id, deadline, photos,
                reported_by, reported_at, status
         FROM hazards {filter} ORDER BY reported_at DESC, id DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let hazards = stmt
        .query_map([arg], |r| {
            let lat: Option<f64> = r.get(4)?;
            let lon: Option<f64> = r.get(5)?;
            Ok(Hazard {
                id: r.get::<_, String>(0)?.parse().unwrap_or_default(),
                grid: GridCode(r.get(1)?),
                category: r.get(2)?,
                severity: Severity::parse(&r.get::<_, String>(3)?).unwrap_or(Severity::Low),
                location: lat.zip(lon).map(|(lat, lon)| Location {
                    lat,
                    lon,
                    accuracy_m: r.get(6).ok().flatten(),
                }),
                place: r.get(7)?,
                description: r.get(8)?,
                household: r.get::<_, Option<String>>(9)?.and_then(|h| h.parse().ok()),
                deadline: r.get::<_, Option<i64>>(10)?.map(Timestamp),
                photos: serde_json::from_str(&r.get::<_, String>(11)?).unwrap_or_default(),
                reported_by: WorkerId(r.get(12)?),
                reported_at: Timestamp(r.get(13)?),
                status: HazardState::parse(&r.get::<_, String>(14)?)
                    .unwrap_or(HazardState::Reported),
                transitions: vec![],
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    hazards
        .into_iter()
        .map(|mut h| {
            h.transitions =
                read_transitions(conn, "hazard_transitions", "hazards", &h.id.to_string())?;
            Ok(h)
        })
        .collect()
}

pub(crate) fn read_cases(
    conn: &Connection,
    filter: &str,
    arg: &str,
    now: Timestamp,
) -> Result<Vec<Case>> {
    let policies = Policies::load(conn)?;
    let sql = format!(
        "SELECT id, grid, channel, category, description, urgency, household_id, resident_id, opened_by, opened_at,
                status, first_response_at, escalated
         FROM cases {filter} ORDER BY opened_at DESC, id DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let cases = stmt
        .query_map([arg], |r| {
            Ok(Case {
                id: r.get::<_, String>(0)?.parse().unwrap_or_default(),
                grid: GridCode(r.get(1)?),
                channel: Channel::parse(&r.get::<_, String>(2)?).unwrap_or(Channel::Visit),
                category: r.get(3)?,
                description: r.get(4)?,
                urgency: Urgency::parse(&r.get::<_, String>(5)?).unwrap_or(Urgency::Normal),
                household: r.get::<_, Option<String>>(6)?.and_then(|h| h.parse().ok()),
                resident: r.get::<_, Option<String>>(7)?.and_then(|h| h.parse().ok()),
                opened_by: WorkerId(r.get(8)?),
                opened_at: Timestamp(r.get(9)?),
                status: CaseState::parse(&r.get::<_, String>(10)?).unwrap_or(CaseState::Collected),
                first_response_at: r.get::<_, Option<i64>>(11)?.map(Timestamp),
                escalated: r.get(12)?,
                transitions: vec![],
                timers: Default::default(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    cases
        .into_iter()
        .map(|mut c| {
            c.transitions = read_transitions(conn, "case_transitions", "cases", &c.id.to_string())?;
            c.timers = schedule::timers::case_timers(&c, policies.of(c.grid.as_str()), now);
            Ok(c)
        })
        .collect()
}

fn read_forms(conn: &Connection, filter: &str, arg: &str) -> Result<Vec<FormRecord>> {
    let sql = format!(
        "SELECT id, template_id, template_version, household_id, subject, answers, worker_id, filled_at
         FROM form_records {filter} ORDER BY filled_at DESC, id DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([arg], |r| {
        Ok(FormRecord {
            id: r.get::<_, String>(0)?.parse().unwrap_or_default(),
            template: TemplateRef {
                id: r.get(1)?,
                version: r.get(2)?,
            },
            household: r.get::<_, Option<String>>(3)?.and_then(|h| h.parse().ok()),
            subject: r.get(4)?,
            answers: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
            worker: WorkerId(r.get(6)?),
            filled_at: Timestamp(r.get(7)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
