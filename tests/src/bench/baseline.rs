//! The plain-SQLite baseline: what a hand-written app without Automerge,
//! read models or encryption would do. A minimal schema (households, their
//! tags, residents, resident tags, visits indexed by household and start,
//! checklist answers) filled with the same data as the demo store, the same
//! household-list query with the next due visit computed in Rust by the same
//! policy functions, and a visit insert with the store's durability pragmas.

use super::{Export, Res};
use gridwork_core::model::{
    ChecklistAnswer, HouseholdId, HouseholdStatus, RiskLevel, SpecialGroup, Timestamp,
};
use gridwork_core::schedule::{self, DueStatus};
use gridwork_core::HouseholdSummary;
use rusqlite::{params, Connection, Row};
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE households (
    id TEXT PRIMARY KEY, community TEXT NOT NULL, building TEXT NOT NULL, unit TEXT NOT NULL,
    room TEXT NOT NULL, address TEXT NOT NULL, representative TEXT NOT NULL, phone TEXT NOT NULL,
    risk TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE household_tags (
    household_id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (household_id, tag)) WITHOUT ROWID;
CREATE TABLE residents (
    id TEXT PRIMARY KEY, household_id TEXT NOT NULL, name TEXT NOT NULL, gender TEXT NOT NULL,
    birth_date TEXT NOT NULL, id_number TEXT NOT NULL, phone TEXT NOT NULL, relation TEXT NOT NULL,
    moved_out INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX residents_household ON residents(household_id);
CREATE TABLE resident_tags (
    resident_id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (resident_id, tag)) WITHOUT ROWID;
CREATE TABLE visits (
    id TEXT PRIMARY KEY, household_id TEXT NOT NULL, worker_id TEXT NOT NULL,
    started_at INTEGER NOT NULL, ended_at INTEGER NOT NULL, lat REAL, lon REAL, accuracy REAL,
    template_id TEXT NOT NULL, template_version INTEGER NOT NULL, note TEXT NOT NULL);
CREATE INDEX visits_household ON visits(household_id, started_at);
CREATE TABLE visit_answers (
    visit_id TEXT NOT NULL, item TEXT NOT NULL, outcome TEXT NOT NULL, note TEXT NOT NULL,
    PRIMARY KEY (visit_id, item)) WITHOUT ROWID;
";

/// The household list: households, their tags, the tags of residents still
/// living there, the resident count and the last visit, in address order.
const LIST_SQL: &str = "
SELECT h.id, h.address, h.representative, h.risk, h.status, h.created_at,
       (SELECT group_concat(tag) FROM household_tags t WHERE t.household_id = h.id),
       (SELECT group_concat(rt.tag) FROM residents r JOIN resident_tags rt ON rt.resident_id = r.id
         WHERE r.household_id = h.id AND r.moved_out = 0),
       (SELECT count(*) FROM residents r WHERE r.household_id = h.id AND r.moved_out = 0),
       (SELECT max(started_at) FROM visits v WHERE v.household_id = h.id)
FROM households h
ORDER BY h.community, CAST(h.building AS INTEGER), h.building, CAST(h.unit AS INTEGER), h.unit,
         CAST(h.room AS INTEGER), h.room, h.address, h.id";

/// Open a connection with the store's durability pragmas: WAL, and every
/// commit fsynced (`synchronous = FULL`).
pub fn open_durable(path: &Path) -> Res<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// Create the baseline database at `path` holding the households, residents,
/// visits and answers of `data`.
pub fn create(path: &Path, data: &Export) -> Res<()> {
    let mut conn = open_durable(path)?;
    conn.execute_batch(SCHEMA)?;
    let tx = conn.transaction()?;
    {
        let mut household = tx.prepare(
            "INSERT INTO households VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        let mut htag = tx.prepare("INSERT INTO household_tags VALUES (?1, ?2)")?;
        let mut resident =
            tx.prepare("INSERT INTO residents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")?;
        let mut rtag = tx.prepare("INSERT INTO resident_tags VALUES (?1, ?2)")?;
        for h in &data.households {
            let hid = h.id.to_string();
            household.execute(params![
                hid,
                h.community,
                h.building,
                h.unit,
                h.room,
                h.address,
                h.representative,
                h.phone,
                h.risk.code(),
                h.status.code(),
                h.created_at.0
            ])?;
            for t in &h.tags {
                htag.execute(params![hid, t.code()])?;
            }
            for r in &h.residents {
                let rid = r.id.to_string();
                resident.execute(params![
                    rid,
                    hid,
                    r.name,
                    r.gender.code(),
                    r.birth_date,
                    r.id_number,
                    r.phone,
                    r.relation,
                    r.moved_out,
                    r.created_at.0
                ])?;
                for t in &r.tags {
                    rtag.execute(params![rid, t.code()])?;
                }
            }
        }
        let mut visit = VisitInsert::prepare(&tx)?;
        for v in &data.visits {
            visit.insert(
                &v.id.to_string(),
                &v.household.to_string(),
                &v.worker.0,
                v.started_at,
                v.location.map(|l| (l.lat, l.lon, l.accuracy_m)),
                &v.answers,
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Prepared inserts of one visit row and its answer rows.
struct VisitInsert<'c> {
    visit: rusqlite::CachedStatement<'c>,
    answer: rusqlite::CachedStatement<'c>,
}

impl<'c> VisitInsert<'c> {
    fn prepare(conn: &'c Connection) -> Res<Self> {
        Ok(VisitInsert {
            visit: conn.prepare_cached(
                "INSERT INTO visits (id, household_id, worker_id, started_at, ended_at, lat, lon, accuracy,
                     template_id, template_version, note)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, 'visit_checklist', 1, '')",
            )?,
            answer: conn.prepare_cached("INSERT INTO visit_answers VALUES (?1, ?2, ?3, ?4)")?,
        })
    }

    fn insert(
        &mut self,
        id: &str,
        household: &str,
        worker: &str,
        at: Timestamp,
        location: Option<(f64, f64, Option<f64>)>,
        answers: &[ChecklistAnswer],
    ) -> Res<()> {
        let (lat, lon, acc) = match location {
            Some((lat, lon, acc)) => (Some(lat), Some(lon), acc),
            None => (None, None, None),
        };
        self.visit
            .execute(params![id, household, worker, at.0, lat, lon, acc])?;
        for a in answers {
            self.answer
                .execute(params![id, a.item, a.outcome.code(), a.note])?;
        }
        Ok(())
    }
}

/// Record one visit (one visit row plus one row per answer) in one
/// transaction on `conn`, which should come from [`open_durable`].
pub fn record_visit(
    conn: &mut Connection,
    household: HouseholdId,
    worker: &str,
    answers: &[ChecklistAnswer],
) -> Res<()> {
    let now = Timestamp::from_jiff(jiff::Timestamp::now());
    let tx = conn.transaction()?;
    VisitInsert::prepare(&tx)?.insert(
        &uuid::Uuid::now_v7().to_string(),
        &household.to_string(),
        worker,
        now,
        Some((31.22, 121.54, Some(12.0))),
        answers,
    )?;
    tx.commit()?;
    Ok(())
}

fn tag_list(text: Option<String>) -> Vec<SpecialGroup> {
    let mut tags: Vec<SpecialGroup> = text
        .unwrap_or_default()
        .split(',')
        .filter_map(|t| SpecialGroup::parse(t).ok())
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

fn summary(
    row: &Row<'_>,
    tz: &jiff::tz::TimeZone,
    today: jiff::civil::Date,
) -> rusqlite::Result<HouseholdSummary> {
    let tags = tag_list(row.get(6)?);
    let mut all_tags = tags.clone();
    all_tags.extend(tag_list(row.get(7)?));
    all_tags.sort();
    all_tags.dedup();
    let created_at = Timestamp(row.get(5)?);
    let last_visit_at = row.get::<_, Option<i64>>(9)?.map(Timestamp);
    let due = schedule::next_due(last_visit_at, created_at, &all_tags, tz);
    let status = HouseholdStatus::parse(&row.get::<_, String>(4)?).unwrap_or_default();
    Ok(HouseholdSummary {
        id: row.get::<_, String>(0)?.parse().unwrap_or_default(),
        address: row.get(1)?,
        representative: row.get(2)?,
        risk: RiskLevel::parse(&row.get::<_, String>(3)?).unwrap_or_default(),
        status,
        residents: row.get(8)?,
        last_visit_at,
        visit_interval: schedule::interval_for(&all_tags),
        next_visit_due: due.to_string(),
        due_status: if status == HouseholdStatus::MovedOut {
            DueStatus::NotDue
        } else {
            schedule::due_status(due, today)
        },
        tags,
        all_tags,
    })
}

/// Open a fresh connection to the baseline at `path` and list every household
/// with its next due visit (Asia/Shanghai calendar, as the store does).
pub fn open_and_list(path: &Path) -> Res<Vec<HouseholdSummary>> {
    let conn = Connection::open(path)?;
    list(&conn)
}

/// List every household with its next due visit on an open connection.
pub fn list(conn: &Connection) -> Res<Vec<HouseholdSummary>> {
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai")?;
    let today = schedule::local_date(Timestamp::from_jiff(jiff::Timestamp::now()), &tz);
    let mut stmt = conn.prepare_cached(LIST_SQL)?;
    let rows = stmt.query_map([], |r| summary(r, &tz, today))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
