//! Writing materialised rows ([`DocRows`]) into the read-model tables. Every
//! read-model row carries the `doc_key` of the document it came from, so
//! refreshing a document is "delete its rows, insert the new ones".

use crate::docs::{DocKind, DocRows};
use crate::model::*;
use crate::Result;
use rusqlite::{params, Connection};

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
        DocKind::VisitLog => &["visit_answers", "visits"],
        DocKind::Hazard => &["conflicts", "hazard_transitions", "hazards"],
        DocKind::Case => &["conflicts", "case_transitions", "cases"],
        DocKind::FormRecord => &["form_records"],
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
pub fn replace(conn: &Connection, key: i64, kind: DocKind, rows: &DocRows) -> Result<()> {
    for table in tables_of(kind) {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE doc_key = ?1"))?
            .execute([key])?;
    }
    match rows {
        DocRows::Empty => Ok(()),
        DocRows::Household(h, conflicts) => write_household(conn, key, h, conflicts),
        DocRows::VisitLog(visits) => visits.iter().try_for_each(|v| write_visit(conn, key, v)),
        DocRows::Hazard(h, conflicts) => {
            write_hazard(conn, key, h)?;
            write_conflicts(conn, key, conflicts)
        }
        DocRows::Case(c, conflicts) => {
            write_case(conn, key, c)?;
            write_conflicts(conn, key, conflicts)
        }
        DocRows::FormRecord(r) => write_form(conn, key, r),
        DocRows::WorkLog(days) => days.iter().try_for_each(|d| write_day(conn, key, d)),
        DocRows::Template(t) => write_template(conn, key, t),
        DocRows::Policy(p) => write_policy(conn, key, p),
        // Rows of another kind never reach here: materialise by the same kind.
    }
}

fn write_template(
    conn: &Connection,
    key: i64,
    p: &crate::docs::config::PublishedTemplate,
) -> Result<()> {
    let t = &p.template;
    conn.prepare_cached(
        "INSERT INTO templates (id, version, doc_key, category, title_zh, title_en, grid, body,
             published_by, published_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        t.id,
        t.version,
        key,
        t.category.code(),
        t.title_zh,
        t.title_en,
        p.grid.as_str(),
        serde_json::to_string(t).unwrap_or_default(),
        p.published_by.as_str(),
        p.published_at.0
    ])?;
    Ok(())
}

fn write_policy(conn: &Connection, key: i64, p: &crate::docs::config::GridPolicy) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO policies (grid, doc_key, body, updated_by, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        p.grid.as_str(),
        key,
        serde_json::to_string(&p.policy).unwrap_or_default(),
        p.updated_by.as_str(),
        p.updated_at.0
    ])?;
    Ok(())
}

fn write_household(
    conn: &Connection,
    key: i64,
    h: &Household,
    conflicts: &[crate::docs::Conflict],
) -> Result<()> {
    let id = h.id.to_string();
    conn.prepare_cached(
        "INSERT INTO households (id, doc_key, grid, community, building, unit, room, address, representative,
             phone, risk, status, note, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        id,
        key,
        h.grid.as_str(),
        h.community,
        h.building,
        h.unit,
        h.room,
        h.address,
        h.representative,
        h.phone,
        h.risk.code(),
        h.status.code(),
        h.note,
        h.created_at.0
    ])?;
    let mut tag = conn.prepare_cached(
        "INSERT INTO household_tags (household_id, tag, doc_key) VALUES (?1, ?2, ?3)",
    )?;
    for t in &h.tags {
        tag.execute(params![id, t.code(), key])?;
    }
    let mut resident = conn.prepare_cached(
        "INSERT INTO residents (id, household_id, doc_key, name, gender, birth_date, id_number, phone, relation,
             moved_out, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut rtag =
        conn.prepare_cached("INSERT INTO resident_tags (resident_id, tag, household_id, doc_key) VALUES (?1, ?2, ?3, ?4)")?;
    for r in &h.residents {
        let rid = r.id.to_string();
        resident.execute(params![
            rid,
            id,
            key,
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
            rtag.execute(params![rid, t.code(), id, key])?;
        }
    }
    write_conflicts(conn, key, conflicts)
}

/// The conflicts of doc `key`.
fn write_conflicts(conn: &Connection, key: i64, conflicts: &[crate::docs::Conflict]) -> Result<()> {
    let mut conflict = conn.prepare_cached(
        "INSERT INTO conflicts (record, record_id, field, household_id, candidates, doc_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for c in conflicts {
        let household = c.household.map(|h| h.to_string()).unwrap_or_default();
        let candidates = serde_json::to_string(&c.values).unwrap_or_default();
        conflict.execute(params![
            c.record,
            c.record_id,
            c.field,
            household,
            candidates,
            key
        ])?;
    }
    Ok(())
}

/// Replace the rows of some visits of visit-log doc `key`: those in `ids`
/// are deleted, then `visits` (the ones still present) are inserted.
pub fn replace_visits(
    conn: &Connection,
    key: i64,
    ids: &std::collections::BTreeSet<String>,
    visits: &[Visit],
) -> Result<()> {
    let mut delete_answers =
        conn.prepare_cached("DELETE FROM visit_answers WHERE doc_key = ?1 AND visit_id = ?2")?;
    let mut delete_visit =
        conn.prepare_cached("DELETE FROM visits WHERE doc_key = ?1 AND id = ?2")?;
    for id in ids {
        delete_answers.execute(params![key, id])?;
        delete_visit.execute(params![key, id])?;
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

fn write_visit(conn: &Connection, key: i64, v: &Visit) -> Result<()> {
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
    let follow_ups = serde_json::to_string(&v.follow_up_cases).unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO visits (id, household_id, doc_key, worker_id, started_at, ended_at, lat, lon, accuracy,
             template_id, template_version, outcomes, note, follow_ups)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        id,
        v.household.to_string(),
        key,
        v.worker.as_str(),
        v.started_at.0,
        v.ended_at.0,
        v.location.map(|l| l.lat),
        v.location.map(|l| l.lon),
        v.location.and_then(|l| l.accuracy_m),
        v.checklist.id,
        v.checklist.version,
        outcomes,
        v.note,
        follow_ups
    ])?;
    let mut answer = conn.prepare_cached(
        "INSERT INTO visit_answers (doc_key, visit_id, item, outcome, note) VALUES (?5, ?1, ?2, ?3, ?4)",
    )?;
    for a in &v.answers {
        if template.is_none() || a.outcome != Outcome::Ok || !a.note.is_empty() {
            answer.execute(params![id, a.item, a.outcome.code(), a.note, key])?;
        }
    }
    Ok(())
}

fn write_transitions(
    conn: &Connection,
    table: &str,
    parent_col: &str,
    parent: &str,
    key: i64,
    list: &[Transition],
) -> Result<()> {
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO {table} (id, {parent_col}, doc_key, at, by_worker, from_state, to_state, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))?;
    for t in list {
        stmt.execute(params![
            t.id.to_string(),
            parent,
            key,
            t.at.0,
            t.by.as_str(),
            t.from,
            t.to,
            t.note
        ])?;
    }
    Ok(())
}

fn write_hazard(conn: &Connection, key: i64, h: &Hazard) -> Result<()> {
    let id = h.id.to_string();
    conn.prepare_cached(
        "INSERT INTO hazards (id, doc_key, grid, category, severity, lat, lon, accuracy, place, description,
             household_id, deadline, photos, reported_by, reported_at, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        id,
        key,
        h.grid.as_str(),
        h.category,
        h.severity.code(),
        h.location.map(|l| l.lat),
        h.location.map(|l| l.lon),
        h.location.and_then(|l| l.accuracy_m),
        h.place,
        h.description,
        h.household.map(|x| x.to_string()),
        h.deadline.map(|d| d.0),
        serde_json::to_string(&h.photos).unwrap_or_default(),
        h.reported_by.as_str(),
        h.reported_at.0,
        h.status.code()
    ])?;
    write_transitions(
        conn,
        "hazard_transitions",
        "hazard_id",
        &id,
        key,
        &h.transitions,
    )
}

fn write_case(conn: &Connection, key: i64, c: &Case) -> Result<()> {
    let id = c.id.to_string();
    conn.prepare_cached(
        "INSERT INTO cases (id, doc_key, grid, channel, category, description, urgency, household_id, resident_id,
             opened_by, opened_at, status, first_response_at, escalated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        id,
        key,
        c.grid.as_str(),
        c.channel.code(),
        c.category,
        c.description,
        c.urgency.code(),
        c.household.map(|x| x.to_string()),
        c.resident.map(|x| x.to_string()),
        c.opened_by.as_str(),
        c.opened_at.0,
        c.status.code(),
        c.first_response_at.map(|t| t.0),
        c.escalated
    ])?;
    write_transitions(
        conn,
        "case_transitions",
        "case_id",
        &id,
        key,
        &c.transitions,
    )
}

fn write_form(conn: &Connection, key: i64, r: &FormRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO form_records (id, doc_key, template_id, template_version, household_id, subject, answers,
             worker_id, filled_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        r.id.to_string(),
        key,
        r.template.id,
        r.template.version,
        r.household.map(|h| h.to_string()),
        r.subject,
        serde_json::to_string(&r.answers).unwrap_or_default(),
        r.worker.as_str(),
        r.filled_at.0
    ])?;
    Ok(())
}

fn write_day(conn: &Connection, key: i64, d: &WorkLogDay) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO work_log_days (worker_id, date, doc_key, priorities, notes) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        d.worker.as_str(),
        d.date,
        key,
        serde_json::to_string(&d.priorities).unwrap_or_default(),
        d.notes
    ])?;
    Ok(())
}
