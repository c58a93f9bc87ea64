//! Writing materialised rows ([`DocRows`]) into the read-model tables. Every
//! read-model row carries the `doc_key` of the document it came from, so
//! refreshing a document is "delete its rows, insert the new ones". The SQL
//! is portable ([`super::sql`]): a server on PostgreSQL writes the same rows.

use super::sql::SqlConn;
use crate::docs::{DocKind, DocRows};
use crate::model::attachment;
use crate::model::*;
use crate::Result;

/// Read-model tables per doc kind (children first).
pub fn tables_of(kind: DocKind) -> &'static [&'static str] {
    match kind {
        DocKind::Household => &[
            "conflicts",
            "resident_tags",
            "residents",
            "household_tags",
            "households",
        ],
        DocKind::VisitLog => &["attachment_refs", "visit_answers", "visits"],
        DocKind::Hazard => &[
            "attachment_refs",
            "conflicts",
            "hazard_transitions",
            "hazards",
        ],
        DocKind::Case => &["attachment_refs", "conflicts", "case_transitions", "cases"],
        DocKind::FormRecord => &["attachment_refs", "form_records"],
        DocKind::WorkLog => &["work_log_days"],
        DocKind::Template => &["templates"],
        DocKind::Policy => &["policies"],
        DocKind::Unknown => &[],
    }
}

/// Every read-model table.
pub fn all_tables() -> Vec<&'static str> {
    let mut tables: Vec<&'static str> = Vec::new();
    for table in DocKind::ALL
        .iter()
        .flat_map(|k| tables_of(*k).iter().copied())
    {
        if !tables.contains(&table) {
            tables.push(table);
        }
    }
    tables
}

/// Replace the read-model rows of doc `key` with `rows`.
pub fn replace<C: SqlConn + ?Sized>(
    conn: &C,
    key: i64,
    kind: DocKind,
    rows: &DocRows,
) -> Result<()> {
    for table in tables_of(kind) {
        conn.exec(
            &format!("DELETE FROM {table} WHERE doc_key = ?1"),
            &[key.into()],
        )?;
    }
    match rows {
        DocRows::Empty => Ok(()),
        DocRows::Household(h, conflicts) => write_household(conn, key, h, conflicts),
        DocRows::VisitLog(visits) => visits.iter().try_for_each(|v| write_visit(conn, key, v)),
        DocRows::Hazard(h, conflicts) => {
            write_hazard(conn, key, h)?;
            let id = h.id.to_string();
            write_refs(conn, key, "hazard", &id, "", &h.photos)?;
            write_transition_refs(conn, key, "hazard", &id, &h.transitions)?;
            write_conflicts(conn, key, conflicts)
        }
        DocRows::Case(c, conflicts) => {
            write_case(conn, key, c)?;
            let id = c.id.to_string();
            write_refs(conn, key, "case", &id, "", &c.photos)?;
            write_transition_refs(conn, key, "case", &id, &c.transitions)?;
            write_conflicts(conn, key, conflicts)
        }
        DocRows::FormRecord(r) => {
            write_form(conn, key, r)?;
            let id = r.id.to_string();
            for (field, answer) in &r.answers {
                write_refs(
                    conn,
                    key,
                    "form",
                    &id,
                    field,
                    &attachment::photo_ids(answer),
                )?;
            }
            Ok(())
        }
        DocRows::WorkLog(days) => days.iter().try_for_each(|d| write_day(conn, key, d)),
        DocRows::Template(t) => write_template(conn, key, t),
        DocRows::Policy(p) => write_policy(conn, key, p),
        // Rows of another kind never reach here: materialise by the same kind.
    }
}

/// Record that `record` `record_id` (its `item`: '' for the record itself,
/// a transition id, a form field) refers to the blobs `ids`.
fn write_refs<C: SqlConn + ?Sized>(
    conn: &C,
    key: i64,
    record: &str,
    record_id: &str,
    item: &str,
    ids: &[String],
) -> Result<()> {
    for (position, blob) in ids.iter().enumerate() {
        conn.exec(
            "INSERT INTO attachment_refs (blob, doc_key, record, record_id, item, position)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            &[
                blob.as_str().into(),
                key.into(),
                record.into(),
                record_id.into(),
                item.into(),
                (position as i64).into(),
            ],
        )?;
    }
    Ok(())
}

/// The blobs of every transition of a record (item = transition id).
fn write_transition_refs<C: SqlConn + ?Sized>(
    conn: &C,
    key: i64,
    record: &str,
    record_id: &str,
    transitions: &[Transition],
) -> Result<()> {
    transitions
        .iter()
        .try_for_each(|t| write_refs(conn, key, record, record_id, &t.id.to_string(), &t.photos))
}

/// A value as JSON text (the read models keep lists and maps as JSON).
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn write_template<C: SqlConn + ?Sized>(
    conn: &C,
    key: i64,
    p: &crate::docs::config::PublishedTemplate,
) -> Result<()> {
    let t = &p.template;
    conn.exec(
        "INSERT INTO templates (id, version, doc_key, category, title_zh, title_en, grid, body,
             published_by, published_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        &[
            (&t.id).into(),
            t.version.into(),
            key.into(),
            t.category.code().into(),
            (&t.title_zh).into(),
            (&t.title_en).into(),
            p.grid.as_str().into(),
            json(t).as_str().into(),
            p.published_by.as_str().into(),
            p.published_at.0.into(),
        ],
    )?;
    Ok(())
}

fn write_policy<C: SqlConn + ?Sized>(
    conn: &C,
    key: i64,
    p: &crate::docs::config::GridPolicy,
) -> Result<()> {
    conn.exec(
        "INSERT INTO policies (grid, doc_key, body, updated_by, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            p.grid.as_str().into(),
            key.into(),
            json(&p.policy).as_str().into(),
            p.updated_by.as_str().into(),
            p.updated_at.0.into(),
        ],
    )?;
    Ok(())
}

fn write_household<C: SqlConn + ?Sized>(
    conn: &C,
    key: i64,
    h: &Household,
    conflicts: &[crate::docs::Conflict],
) -> Result<()> {
    let id = h.id.to_string();
    conn.exec(
        "INSERT INTO households (id, doc_key, grid, community, building, unit, room, address, representative,
             phone, risk, status, note, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        &[
            (&id).into(),
            key.into(),
            h.grid.as_str().into(),
            (&h.community).into(),
            (&h.building).into(),
            (&h.unit).into(),
            (&h.room).into(),
            (&h.address).into(),
            (&h.representative).into(),
            (&h.phone).into(),
            h.risk.code().into(),
            h.status.code().into(),
            (&h.note).into(),
            h.created_at.0.into(),
        ],
    )?;
    for t in &h.tags {
        conn.exec(
            "INSERT INTO household_tags (household_id, tag, doc_key) VALUES (?1, ?2, ?3)",
            &[(&id).into(), t.code().into(), key.into()],
        )?;
    }
    for r in &h.residents {
        let rid = r.id.to_string();
        conn.exec(
            "INSERT INTO residents (id, household_id, doc_key, name, gender, birth_date, id_number, phone, relation,
                 moved_out, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            &[
                (&rid).into(),
                (&id).into(),
                key.into(),
                (&r.name).into(),
                r.gender.code().into(),
                (&r.birth_date).into(),
                (&r.id_number).into(),
                (&r.phone).into(),
                (&r.relation).into(),
                r.moved_out.into(),
                r.created_at.0.into(),
            ],
        )?;
        for t in &r.tags {
            conn.exec(
                "INSERT INTO resident_tags (resident_id, tag, household_id, doc_key) VALUES (?1, ?2, ?3, ?4)",
                &[(&rid).into(), t.code().into(), (&id).into(), key.into()],
            )?;
        }
    }
    write_conflicts(conn, key, conflicts)
}

/// The conflicts of doc `key`.
fn write_conflicts<C: SqlConn + ?Sized>(
    conn: &C,
    key: i64,
    conflicts: &[crate::docs::Conflict],
) -> Result<()> {
    for c in conflicts {
        let household = c.household.map(|h| h.to_string()).unwrap_or_default();
        conn.exec(
            "INSERT INTO conflicts (record, record_id, field, household_id, candidates, doc_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                (&c.record).into(),
                (&c.record_id).into(),
                (&c.field).into(),
                (&household).into(),
                json(&c.values).as_str().into(),
                key.into(),
            ],
        )?;
    }
    Ok(())
}

/// Replace the rows of some visits of visit-log doc `key`: those in `ids`
/// are deleted, then `visits` (the ones still present) are inserted.
pub fn replace_visits<C: SqlConn + ?Sized>(
    conn: &C,
    key: i64,
    ids: &std::collections::BTreeSet<String>,
    visits: &[Visit],
) -> Result<()> {
    for id in ids {
        conn.exec(
            "DELETE FROM visit_answers WHERE doc_key = ?1 AND visit_id = ?2",
            &[key.into(), id.into()],
        )?;
        conn.exec(
            "DELETE FROM visits WHERE doc_key = ?1 AND id = ?2",
            &[key.into(), id.into()],
        )?;
        conn.exec(
            "DELETE FROM attachment_refs WHERE doc_key = ?1 AND record_id = ?2",
            &[key.into(), id.into()],
        )?;
    }
    visits.iter().try_for_each(|v| write_visit(conn, key, v))
}

/// One character per checklist item in template order.
pub fn outcome_char(outcome: Option<Outcome>) -> char {
    match outcome {
        Some(Outcome::Ok) => 'o',
        Some(Outcome::Problem) => 'p',
        Some(Outcome::NotApplicable) => 'n',
        None => '-',
    }
}

/// A visit's rows: the visit, its answers, its photos.
fn write_visit<C: SqlConn + ?Sized>(conn: &C, key: i64, v: &Visit) -> Result<()> {
    write_visit_row(conn, key, v)?;
    write_refs(conn, key, "visit", &v.id.to_string(), "", &v.photos)
}

fn write_visit_row<C: SqlConn + ?Sized>(conn: &C, key: i64, v: &Visit) -> Result<()> {
    let template = crate::forms::find_ref(&v.checklist.id, Some(v.checklist.version));
    // With a known template, plain "ok" answers live only in `outcomes`;
    // without one, every answer is kept as a row so nothing is lost.
    let outcomes: String = match &template {
        Some(t) => t
            .fields
            .iter()
            .map(|f| outcome_char(v.answers.iter().find(|a| a.item == f.id).map(|a| a.outcome)))
            .collect(),
        None => String::new(),
    };
    let id = v.id.to_string();
    let household = v.household.to_string();
    conn.exec(
        "INSERT INTO visits (id, household_id, doc_key, worker_id, started_at, ended_at, lat, lon, accuracy,
             template_id, template_version, outcomes, note, follow_ups)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        &[
            (&id).into(),
            (&household).into(),
            key.into(),
            v.worker.as_str().into(),
            v.started_at.0.into(),
            v.ended_at.0.into(),
            v.location.map(|l| l.lat).into(),
            v.location.map(|l| l.lon).into(),
            v.location.and_then(|l| l.accuracy_m).into(),
            (&v.checklist.id).into(),
            v.checklist.version.into(),
            (&outcomes).into(),
            (&v.note).into(),
            json(&v.follow_up_cases).as_str().into(),
        ],
    )?;
    for a in &v.answers {
        if template.is_none() || a.outcome != Outcome::Ok || !a.note.is_empty() {
            conn.exec(
                "INSERT INTO visit_answers (doc_key, visit_id, item, outcome, note) VALUES (?5, ?1, ?2, ?3, ?4)",
                &[
                    (&id).into(),
                    (&a.item).into(),
                    a.outcome.code().into(),
                    (&a.note).into(),
                    key.into(),
                ],
            )?;
        }
    }
    Ok(())
}

fn write_transitions<C: SqlConn + ?Sized>(
    conn: &C,
    sql: &str,
    parent: &str,
    key: i64,
    list: &[Transition],
) -> Result<()> {
    for t in list {
        let id = t.id.to_string();
        conn.exec(
            sql,
            &[
                (&id).into(),
                parent.into(),
                key.into(),
                t.at.0.into(),
                t.by.as_str().into(),
                (&t.from).into(),
                (&t.to).into(),
                (&t.note).into(),
                (&t.assignee).into(),
            ],
        )?;
    }
    Ok(())
}

fn write_hazard<C: SqlConn + ?Sized>(conn: &C, key: i64, h: &Hazard) -> Result<()> {
    let id = h.id.to_string();
    let household = h.household.map(|x| x.to_string());
    conn.exec(
        "INSERT INTO hazards (id, doc_key, grid, category, severity, lat, lon, accuracy, place, description,
             household_id, deadline, photos, reported_by, reported_at, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        &[
            (&id).into(),
            key.into(),
            h.grid.as_str().into(),
            (&h.category).into(),
            h.severity.code().into(),
            h.location.map(|l| l.lat).into(),
            h.location.map(|l| l.lon).into(),
            h.location.and_then(|l| l.accuracy_m).into(),
            (&h.place).into(),
            (&h.description).into(),
            household.as_deref().into(),
            h.deadline.map(|d| d.0).into(),
            json(&h.photos).as_str().into(),
            h.reported_by.as_str().into(),
            h.reported_at.0.into(),
            h.status.code().into(),
        ],
    )?;
    write_transitions(
        conn,
        "INSERT INTO hazard_transitions (id, hazard_id, doc_key, at, by_worker, from_state, to_state, note, assignee)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &id,
        key,
        &h.transitions,
    )
}

fn write_case<C: SqlConn + ?Sized>(conn: &C, key: i64, c: &Case) -> Result<()> {
    let id = c.id.to_string();
    let household = c.household.map(|x| x.to_string());
    let resident = c.resident.map(|x| x.to_string());
    conn.exec(
        "INSERT INTO cases (id, doc_key, grid, channel, category, description, urgency, household_id, resident_id,
             opened_by, opened_at, status, first_response_at, escalated, photos)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        &[
            (&id).into(),
            key.into(),
            c.grid.as_str().into(),
            c.channel.code().into(),
            (&c.category).into(),
            (&c.description).into(),
            c.urgency.code().into(),
            household.as_deref().into(),
            resident.as_deref().into(),
            c.opened_by.as_str().into(),
            c.opened_at.0.into(),
            c.status.code().into(),
            c.first_response_at.map(|t| t.0).into(),
            c.escalated.into(),
            json(&c.photos).as_str().into(),
        ],
    )?;
    write_transitions(
        conn,
        "INSERT INTO case_transitions (id, case_id, doc_key, at, by_worker, from_state, to_state, note, assignee)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &id,
        key,
        &c.transitions,
    )
}

fn write_form<C: SqlConn + ?Sized>(conn: &C, key: i64, r: &FormRecord) -> Result<()> {
    let id = r.id.to_string();
    let household = r.household.map(|h| h.to_string());
    conn.exec(
        "INSERT INTO form_records (id, doc_key, template_id, template_version, household_id, subject, answers,
             worker_id, filled_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &[
            (&id).into(),
            key.into(),
            (&r.template.id).into(),
            r.template.version.into(),
            household.as_deref().into(),
            (&r.subject).into(),
            json(&r.answers).as_str().into(),
            r.worker.as_str().into(),
            r.filled_at.0.into(),
        ],
    )?;
    Ok(())
}

fn write_day<C: SqlConn + ?Sized>(conn: &C, key: i64, d: &WorkLogDay) -> Result<()> {
    conn.exec(
        "INSERT INTO work_log_days (worker_id, date, doc_key, priorities, notes) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            d.worker.as_str().into(),
            (&d.date).into(),
            key.into(),
            json(&d.priorities).as_str().into(),
            (&d.notes).into(),
        ],
    )?;
    Ok(())
}
