//! Reading records back from the read models over any [`SqlConn`]: the
//! phone's SQLite (through [`Store`](super::Store)'s methods) and the
//! server's PostgreSQL (the staff dashboard, issue 13) run the same
//! functions, so a household, a case or a list reads the same on both.
//!
//! Statements are portable ([`crate::store::sql`]); where the dialects
//! differ — aggregating tags, a JSON array of grids bound as one value — the
//! helpers here ([`summary_sql`], [`in_list`]) write each one's form. Lists
//! are put in order in Rust where a database's collation or casting rules
//! could disagree (the household order: community, then building, unit and
//! room numerically the way SQLite's `CAST` reads them, then address).

use crate::model::*;
use crate::schedule::{self, DueStatus};
use crate::store::sql::{columns, Dialect, SqlCell, SqlConn, SqlValue};
use crate::Result;
use jiff::tz::TimeZone;
use std::collections::HashMap;

use super::HouseholdSummary;

/// The stored grid policies, looked up by grid (defaults for the rest).
pub struct Policies {
    by_grid: HashMap<String, schedule::Policy>,
    default: schedule::Policy,
}

impl Policies {
    /// Every stored policy (a body this build cannot read counts as the
    /// default).
    pub fn load<C: SqlConn + ?Sized>(conn: &C) -> Result<Policies> {
        let mut by_grid = HashMap::new();
        for row in conn.rows("SELECT grid, body FROM policies", &[])? {
            let [grid, body] = columns(row)?;
            if let Ok(policy) = serde_json::from_str(&body.text()?) {
                by_grid.insert(grid.text()?, policy);
            }
        }
        Ok(Policies {
            by_grid,
            default: schedule::Policy::default(),
        })
    }

    /// The policy of `grid`.
    pub fn of(&self, grid: &str) -> &schedule::Policy {
        self.by_grid.get(grid).unwrap_or(&self.default)
    }
}

/// Tags from a comma-separated list (unknown codes dropped), sorted, unique.
pub fn parse_tag_list(text: Option<String>) -> Vec<SpecialGroup> {
    let mut tags: Vec<SpecialGroup> = text
        .unwrap_or_default()
        .split(',')
        .filter_map(|t| SpecialGroup::parse(t).ok())
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

/// `IN` a list of text values bound to `?{n}` as one JSON array (see
/// [`json_list`]): one statement text whatever the number of values.
pub fn in_list(dialect: Dialect, n: usize) -> String {
    match dialect {
        Dialect::Sqlite => format!("IN (SELECT value FROM json_each(?{n}))"),
        Dialect::Postgres => format!("IN (SELECT jsonb_array_elements_text(CAST(?{n} AS jsonb)))"),
    }
}

/// Grid codes as the JSON array [`in_list`] binds.
pub fn json_list<'a>(grids: impl IntoIterator<Item = &'a GridCode>) -> String {
    let codes: Vec<&str> = grids.into_iter().map(GridCode::as_str).collect();
    serde_json::to_string(&codes).unwrap_or_else(|_| "[]".into())
}

/// `expr`'s values of a group joined with commas (SQLite `group_concat`,
/// PostgreSQL `string_agg`).
pub fn comma_list(dialect: Dialect, expr: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("group_concat({expr})"),
        Dialect::Postgres => format!("string_agg({expr}, ',')"),
    }
}

/// The household-list query (no `WHERE`, no order: add a filter on `h`
/// and pass the rows to [`household_summaries`]).
pub fn summary_sql(dialect: Dialect) -> String {
    format!(
        "SELECT h.id, h.address, h.representative, h.risk, h.status, h.created_at,
       (SELECT {tags} FROM household_tags t WHERE t.household_id = h.id),
       (SELECT {resident_tags} FROM residents r JOIN resident_tags rt ON rt.resident_id = r.id
         WHERE r.household_id = h.id AND r.moved_out = 0),
       (SELECT count(*) FROM residents r WHERE r.household_id = h.id AND r.moved_out = 0),
       (SELECT max(started_at) FROM visits v WHERE v.household_id = h.id),
       h.grid, h.community, h.building, h.unit, h.room
FROM households h",
        tags = comma_list(dialect, "tag"),
        resident_tags = comma_list(dialect, "rt.tag"),
    )
}

/// The households `filter` selects (SQL on alias `h`, e.g. `WHERE h.grid =
/// ?1`, with `args`), each with its due status under its grid's policy as
/// of `today`, in register order: community, building, unit and room
/// (numerically first, as SQLite's `CAST` reads a leading number), address,
/// id. Also returns each one's grid.
pub fn household_summaries<C: SqlConn + ?Sized>(
    conn: &C,
    filter: &str,
    args: &[SqlValue<'_>],
    today: jiff::civil::Date,
    tz: &TimeZone,
    policies: &Policies,
) -> Result<Vec<(GridCode, HouseholdSummary)>> {
    let sql = format!("{} {filter}", summary_sql(conn.dialect()));
    let mut keyed = Vec::new();
    for row in conn.rows(&sql, args)? {
        let [id, address, representative, risk, status, created_at, tags, resident_tags, residents, last_visit, grid, community, building, unit, room] =
            columns(row)?;
        let tags = parse_tag_list(tags.opt_text()?);
        let mut all_tags = tags.clone();
        all_tags.extend(parse_tag_list(resident_tags.opt_text()?));
        all_tags.sort();
        all_tags.dedup();
        let created_at = Timestamp(created_at.int()?);
        let last_visit_at = last_visit.opt_int()?.map(Timestamp);
        let grid = grid.text()?;
        let policy = policies.of(&grid);
        let due = schedule::next_due_with(policy, last_visit_at, created_at, &all_tags, tz);
        let status = HouseholdStatus::parse(&status.text()?).unwrap_or_default();
        let summary = HouseholdSummary {
            id: id.text()?.parse().unwrap_or_default(),
            address: address.text()?,
            representative: representative.text()?,
            risk: RiskLevel::parse(&risk.text()?).unwrap_or_default(),
            status,
            residents: residents.count()?,
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
        };
        let key = RegisterKey::new(
            community.text()?,
            building.text()?,
            unit.text()?,
            room.text()?,
        );
        keyed.push((key, GridCode(grid), summary));
    }
    keyed.sort_by(|a, b| {
        (&a.0, &a.2.address, a.2.id.to_string()).cmp(&(&b.0, &b.2.address, b.2.id.to_string()))
    });
    Ok(keyed.into_iter().map(|(_, grid, s)| (grid, s)).collect())
}

/// Where a household sorts in the register: community, then building, unit
/// and room each by leading number, then as text.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct RegisterKey {
    community: String,
    building: (i64, String),
    unit: (i64, String),
    room: (i64, String),
}

impl RegisterKey {
    fn new(community: String, building: String, unit: String, room: String) -> RegisterKey {
        let numbered = |s: String| (leading_number(&s), s);
        RegisterKey {
            community,
            building: numbered(building),
            unit: numbered(unit),
            room: numbered(room),
        }
    }
}

/// The number a text starts with, as SQLite's `CAST(x AS INTEGER)` reads
/// it: leading spaces, an optional sign, digits; 0 when there are none.
fn leading_number(text: &str) -> i64 {
    let t = text.trim_start();
    let (sign, digits) = match t.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse::<i64>().map_or_else(
        |_| match (end, sign) {
            (0, _) => 0,
            (_, -1) => i64::MIN,
            _ => i64::MAX,
        },
        |n| sign * n,
    )
}

fn tags_of<C: SqlConn + ?Sized>(conn: &C, sql: &str, id: &str) -> Result<Vec<SpecialGroup>> {
    let mut out = Vec::new();
    for row in conn.rows(sql, &[id.into()])? {
        let [tag] = columns(row)?;
        if let Ok(g) = SpecialGroup::parse(&tag.text()?) {
            out.push(g);
        }
    }
    out.sort();
    Ok(out)
}

/// One household with its residents, `None` if there is none.
pub fn read_household<C: SqlConn + ?Sized>(conn: &C, id: HouseholdId) -> Result<Option<Household>> {
    let hid = id.to_string();
    let Some(row) = conn.row(
        "SELECT grid, community, building, unit, room, address, representative, phone, risk, status, note, created_at
         FROM households WHERE id = ?1",
        &[hid.as_str().into()],
    )?
    else {
        return Ok(None);
    };
    let [grid, community, building, unit, room, address, representative, phone, risk, status, note, created_at] =
        columns(row)?;
    let mut household = Household {
        id,
        grid: GridCode(grid.text()?),
        community: community.text()?,
        building: building.text()?,
        unit: unit.text()?,
        room: room.text()?,
        address: address.text()?,
        representative: representative.text()?,
        phone: phone.text()?,
        tags: tags_of(
            conn,
            "SELECT tag FROM household_tags WHERE household_id = ?1",
            &hid,
        )?,
        risk: RiskLevel::parse(&risk.text()?).unwrap_or_default(),
        status: HouseholdStatus::parse(&status.text()?).unwrap_or_default(),
        note: note.text()?,
        created_at: Timestamp(created_at.int()?),
        residents: vec![],
    };
    for row in conn.rows(
        "SELECT id, name, gender, birth_date, id_number, phone, relation, moved_out, created_at
         FROM residents WHERE household_id = ?1 ORDER BY created_at, id",
        &[hid.as_str().into()],
    )? {
        let [rid, name, gender, birth_date, id_number, phone, relation, moved_out, created_at] =
            columns(row)?;
        let rid = rid.text()?;
        household.residents.push(Resident {
            tags: tags_of(
                conn,
                "SELECT tag FROM resident_tags WHERE resident_id = ?1",
                &rid,
            )?,
            id: rid.parse().unwrap_or_default(),
            name: name.text()?,
            gender: Gender::parse(&gender.text()?).unwrap_or_default(),
            birth_date: birth_date.text()?,
            id_number: id_number.text()?,
            phone: phone.text()?,
            relation: relation.text()?,
            moved_out: moved_out.flag()?,
            created_at: Timestamp(created_at.int()?),
        });
    }
    Ok(Some(household))
}

/// Visits `filter` selects (SQL on alias `v`, with `args`), newest first,
/// each with its checklist answers.
pub fn read_visits<C: SqlConn + ?Sized>(
    conn: &C,
    filter: &str,
    args: &[SqlValue<'_>],
) -> Result<Vec<Visit>> {
    let sql = format!(
        "SELECT v.id, v.household_id, v.worker_id, v.started_at, v.ended_at, v.lat, v.lon, v.accuracy,
                v.template_id, v.template_version, v.outcomes, v.note, v.follow_ups, v.doc_key
         FROM visits v {filter} ORDER BY v.started_at DESC, v.id DESC"
    );
    let mut out = Vec::new();
    for row in conn.rows(&sql, args)? {
        let [id, household, worker, started_at, ended_at, lat, lon, accuracy, template_id, template_version, outcomes, note, follow_ups, doc_key] =
            columns(row)?;
        let mut visit = Visit {
            id: id.text()?.parse().unwrap_or_default(),
            household: household.text()?.parse().unwrap_or_default(),
            worker: WorkerId(worker.text()?),
            started_at: Timestamp(started_at.int()?),
            ended_at: Timestamp(ended_at.int()?),
            location: location(&lat, &lon, &accuracy)?,
            checklist: TemplateRef {
                id: template_id.text()?,
                version: u32::try_from(template_version.int()?).unwrap_or(0),
            },
            answers: vec![],
            note: note.text()?,
            follow_up_cases: serde_json::from_str(&follow_ups.text()?).unwrap_or_default(),
            photos: vec![],
        };
        let doc_key = doc_key.int()?;
        let visit_id = visit.id.to_string();
        visit.photos = photos_of(conn, doc_key, &visit_id, "")?;
        let outcomes = outcomes.text()?;
        let found = visit_answers(conn, doc_key, &visit_id)?;
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

/// The answers stored for one visit (those other than a plain "ok").
fn visit_answers<C: SqlConn + ?Sized>(
    conn: &C,
    doc_key: i64,
    visit: &str,
) -> Result<Vec<ChecklistAnswer>> {
    conn.rows(
        "SELECT item, outcome, note FROM visit_answers WHERE doc_key = ?1 AND visit_id = ?2",
        &[doc_key.into(), visit.into()],
    )?
    .into_iter()
    .map(|row| {
        let [item, outcome, note] = columns(row)?;
        Ok(ChecklistAnswer {
            item: item.text()?,
            outcome: Outcome::parse(&outcome.text()?, "outcome").unwrap_or(Outcome::NotApplicable),
            note: note.text()?,
        })
    })
    .collect()
}

/// A location from nullable latitude, longitude and accuracy columns.
fn location(lat: &SqlCell, lon: &SqlCell, accuracy: &SqlCell) -> Result<Option<Location>> {
    Ok(lat
        .opt_real()?
        .zip(lon.opt_real()?)
        .map(|(lat, lon)| Location {
            lat,
            lon,
            accuracy_m: accuracy.opt_real().ok().flatten(),
        }))
}

/// The blob ids record `record_id` (of doc `doc_key`) lists for `item`
/// ('' for the record itself, a transition id, a form field), in order.
pub fn photos_of<C: SqlConn + ?Sized>(
    conn: &C,
    doc_key: i64,
    record_id: &str,
    item: &str,
) -> Result<Vec<String>> {
    conn.rows(
        "SELECT blob FROM attachment_refs WHERE doc_key = ?1 AND record_id = ?2 AND item = ?3
         ORDER BY position",
        &[doc_key.into(), record_id.into(), item.into()],
    )?
    .into_iter()
    .map(|row| {
        let [blob] = columns(row)?;
        blob.text()
    })
    .collect()
}

/// The transitions of the record whose doc is `doc_key`, oldest first,
/// each with its photos.
fn read_transitions<C: SqlConn + ?Sized>(
    conn: &C,
    table: &str,
    doc_key: i64,
) -> Result<Vec<Transition>> {
    let mut photos: std::collections::HashMap<String, Vec<String>> = Default::default();
    for row in conn.rows(
        "SELECT item, blob FROM attachment_refs WHERE doc_key = ?1 AND item != ''
         ORDER BY position",
        &[doc_key.into()],
    )? {
        let [item, blob] = columns(row)?;
        photos.entry(item.text()?).or_default().push(blob.text()?);
    }
    conn.rows(
        &format!(
            "SELECT id, at, by_worker, from_state, to_state, note, assignee FROM {table}
             WHERE doc_key = ?1 ORDER BY at, id"
        ),
        &[doc_key.into()],
    )?
    .into_iter()
    .map(|row| {
        let [id, at, by, from, to, note, assignee] = columns(row)?;
        let id = id.text()?;
        Ok(Transition {
            photos: photos.remove(&id).unwrap_or_default(),
            id: id.parse().unwrap_or_default(),
            at: Timestamp(at.int()?),
            by: WorkerId(by.text()?),
            from: from.text()?,
            to: to.text()?,
            note: note.text()?,
            assignee: assignee.text()?,
        })
    })
    .collect()
}

/// Hazards `filter` selects (SQL on the `hazards` table, with `args`),
/// newest first, with their transitions.
pub fn read_hazards<C: SqlConn + ?Sized>(
    conn: &C,
    filter: &str,
    args: &[SqlValue<'_>],
) -> Result<Vec<Hazard>> {
    let sql = format!(
        "SELECT id, grid, category, severity, lat, lon, accuracy, place, description, household_id, deadline, photos,
                reported_by, reported_at, status, doc_key
         FROM hazards {filter} ORDER BY reported_at DESC, id DESC"
    );
    let mut out = Vec::new();
    for row in conn.rows(&sql, args)? {
        let [id, grid, category, severity, lat, lon, accuracy, place, description, household, deadline, photos, reported_by, reported_at, status, doc_key] =
            columns(row)?;
        out.push(Hazard {
            id: id.text()?.parse().unwrap_or_default(),
            grid: GridCode(grid.text()?),
            category: category.text()?,
            severity: Severity::parse(&severity.text()?).unwrap_or(Severity::Low),
            location: location(&lat, &lon, &accuracy)?,
            place: place.text()?,
            description: description.text()?,
            household: household.opt_text()?.and_then(|h| h.parse().ok()),
            deadline: deadline.opt_int()?.map(Timestamp),
            photos: serde_json::from_str(&photos.text()?).unwrap_or_default(),
            reported_by: WorkerId(reported_by.text()?),
            reported_at: Timestamp(reported_at.int()?),
            status: HazardState::parse(&status.text()?).unwrap_or(HazardState::Reported),
            transitions: read_transitions(conn, "hazard_transitions", doc_key.int()?)?,
        });
    }
    Ok(out)
}

/// Cases `filter` selects (SQL on the `cases` table, with `args`), newest
/// first, with their transitions and their timers at `now` under their
/// grid's policy.
pub fn read_cases<C: SqlConn + ?Sized>(
    conn: &C,
    filter: &str,
    args: &[SqlValue<'_>],
    now: Timestamp,
) -> Result<Vec<Case>> {
    let policies = Policies::load(conn)?;
    let sql = format!(
        "SELECT id, grid, channel, category, description, urgency, household_id, resident_id, opened_by, opened_at,
                status, first_response_at, escalated, photos, doc_key
         FROM cases {filter} ORDER BY opened_at DESC, id DESC"
    );
    let mut out = Vec::new();
    for row in conn.rows(&sql, args)? {
        let [id, grid, channel, category, description, urgency, household, resident, opened_by, opened_at, status, first_response_at, escalated, photos, doc_key] =
            columns(row)?;
        let mut case = Case {
            id: id.text()?.parse().unwrap_or_default(),
            grid: GridCode(grid.text()?),
            channel: Channel::parse(&channel.text()?).unwrap_or(Channel::Visit),
            category: category.text()?,
            description: description.text()?,
            urgency: Urgency::parse(&urgency.text()?).unwrap_or(Urgency::Normal),
            household: household.opt_text()?.and_then(|h| h.parse().ok()),
            resident: resident.opt_text()?.and_then(|h| h.parse().ok()),
            opened_by: WorkerId(opened_by.text()?),
            opened_at: Timestamp(opened_at.int()?),
            status: CaseState::parse(&status.text()?).unwrap_or(CaseState::Collected),
            first_response_at: first_response_at.opt_int()?.map(Timestamp),
            escalated: escalated.flag()?,
            transitions: read_transitions(conn, "case_transitions", doc_key.int()?)?,
            photos: serde_json::from_str(&photos.text()?).unwrap_or_default(),
            timers: Default::default(),
        };
        case.timers = schedule::timers::case_timers(&case, policies.of(case.grid.as_str()), now);
        out.push(case);
    }
    Ok(out)
}

/// Form records `filter` selects (SQL on `form_records`, with `args`),
/// newest first.
pub fn read_forms<C: SqlConn + ?Sized>(
    conn: &C,
    filter: &str,
    args: &[SqlValue<'_>],
) -> Result<Vec<FormRecord>> {
    let sql = format!(
        "SELECT id, template_id, template_version, household_id, subject, answers, worker_id, filled_at
         FROM form_records {filter} ORDER BY filled_at DESC, id DESC"
    );
    conn.rows(&sql, args)?
        .into_iter()
        .map(|row| {
            let [id, template_id, template_version, household, subject, answers, worker, filled_at] =
                columns(row)?;
            Ok(FormRecord {
                id: id.text()?.parse().unwrap_or_default(),
                template: TemplateRef {
                    id: template_id.text()?,
                    version: u32::try_from(template_version.int()?).unwrap_or(0),
                },
                household: household.opt_text()?.and_then(|h| h.parse().ok()),
                subject: subject.text()?,
                answers: serde_json::from_str(&answers.text()?).unwrap_or_default(),
                worker: WorkerId(worker.text()?),
                filled_at: Timestamp(filled_at.int()?),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::leading_number;

    #[test]
    fn leading_numbers_read_like_sqlite_casts() {
        assert_eq!(leading_number("12"), 12);
        assert_eq!(leading_number(" 7栋"), 7);
        assert_eq!(leading_number("-3"), -3);
        assert_eq!(leading_number("+4a"), 4);
        assert_eq!(leading_number("A1"), 0);
        assert_eq!(leading_number(""), 0);
        assert_eq!(leading_number("99999999999999999999"), i64::MAX);
        assert_eq!(leading_number("-99999999999999999999"), i64::MIN);
    }
}
