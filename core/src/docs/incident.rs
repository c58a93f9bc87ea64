//! Hazard and case documents. Each holds its fields and a map of transitions
//! keyed by transition id; status is derived from the transitions, so
//! concurrent transitions made offline are all kept.

use super::conflicts::{self, Conflict};
use super::parse_uuid;
use crate::model::*;
use autosurgeon::{Hydrate, HydrateError, Reconcile};
use std::collections::BTreeMap;

/// A transition inside a hazard or case document.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Default)]
pub struct TransitionDoc {
    /// When (ms).
    pub at: i64,
    /// Worker id.
    pub by: String,
    /// State before.
    pub from: String,
    /// State after.
    pub to: String,
    /// Note.
    pub note: String,
    /// Photo blob ids (absent in docs written before photos).
    #[autosurgeon(missing = "Vec::new")]
    pub photos: Vec<String>,
    /// Who the record was handed to (absent in docs written before
    /// dispatch to named handlers).
    #[autosurgeon(missing = "String::new")]
    pub assignee: String,
}

impl TransitionDoc {
    /// From the domain type.
    pub fn from_model(t: &Transition) -> TransitionDoc {
        TransitionDoc {
            at: t.at.0,
            by: t.by.0.clone(),
            from: t.from.clone(),
            to: t.to.clone(),
            note: t.note.clone(),
            photos: t.photos.clone(),
            assignee: t.assignee.clone(),
        }
    }
}

fn transitions(map: &BTreeMap<String, TransitionDoc>) -> Result<Vec<Transition>, HydrateError> {
    let mut out = map
        .iter()
        .map(|(id, t)| {
            Ok(Transition {
                id: parse_uuid(id, "transition id")?,
                at: Timestamp(t.at),
                by: WorkerId(t.by.clone()),
                from: t.from.clone(),
                to: t.to.clone(),
                note: t.note.clone(),
                photos: t.photos.clone(),
                assignee: t.assignee.clone(),
            })
        })
        .collect::<Result<Vec<_>, HydrateError>>()?;
    crate::model::workflow::sort_transitions(&mut out);
    Ok(out)
}

fn location(lat: Option<f64>, lon: Option<f64>, accuracy: Option<f64>) -> Option<Location> {
    match (lat, lon) {
        (Some(lat), Some(lon)) => Some(Location {
            lat,
            lon,
            accuracy_m: accuracy,
        }),
        _ => None,
    }
}

fn optional_uuid<T: std::str::FromStr>(
    text: &Option<String>,
    what: &str,
) -> Result<Option<T>, HydrateError> {
    text.as_deref().map(|t| parse_uuid(t, what)).transpose()
}

/// Root of a hazard document.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Default)]
pub struct HazardDoc {
    /// Always `hazard`.
    pub kind: String,
    /// Id.
    pub id: String,
    /// Grid code.
    pub grid: String,
    /// Category.
    pub category: String,
    /// Severity code.
    pub severity: String,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Accuracy.
    pub accuracy: Option<f64>,
    /// Place text.
    pub place: String,
    /// Description.
    pub description: String,
    /// Household id.
    pub household: Option<String>,
    /// Deadline (ms).
    pub deadline: Option<i64>,
    /// Photo hashes.
    pub photos: Vec<String>,
    /// Reporter.
    pub reported_by: String,
    /// Report time (ms).
    pub reported_at: i64,
    /// Transitions by id.
    pub transitions: BTreeMap<String, TransitionDoc>,
}

impl HazardDoc {
    /// From a new hazard.
    pub fn from_model(h: &Hazard) -> HazardDoc {
        HazardDoc {
            kind: super::DocKind::Hazard.code().into(),
            id: h.id.to_string(),
            grid: h.grid.0.clone(),
            category: h.category.clone(),
            severity: h.severity.code().into(),
            lat: h.location.map(|l| l.lat),
            lon: h.location.map(|l| l.lon),
            accuracy: h.location.and_then(|l| l.accuracy_m),
            place: h.place.clone(),
            description: h.description.clone(),
            household: h.household.map(|x| x.to_string()),
            deadline: h.deadline.map(|d| d.0),
            photos: h.photos.clone(),
            reported_by: h.reported_by.0.clone(),
            reported_at: h.reported_at.0,
            transitions: h
                .transitions
                .iter()
                .map(|t| (t.id.to_string(), TransitionDoc::from_model(t)))
                .collect(),
        }
    }
}

/// Hazard fields on which concurrent edits are surfaced as conflicts.
pub const HAZARD_CONFLICT_FIELDS: &[&str] =
    &["category", "severity", "deadline", "description", "place"];

/// Case fields on which concurrent edits are surfaced as conflicts.
pub const CASE_CONFLICT_FIELDS: &[&str] = &["category", "description", "urgency"];

/// The field conflicts of a hazard or case doc's root and its workflow
/// conflict, as [`Conflict`]s of `record`.
fn record_conflicts<W: Workflow>(
    doc: &automerge::Automerge,
    record: &str,
    record_id: String,
    household: Option<HouseholdId>,
    fields: &[&str],
    transitions: &[Transition],
) -> Vec<Conflict> {
    let mut found: Vec<Conflict> = conflicts::field_conflicts(doc, &automerge::ROOT, fields)
        .into_iter()
        .map(|(field, values)| Conflict {
            household,
            resident: None,
            field,
            values,
            record: record.into(),
            record_id: record_id.clone(),
        })
        .collect();
    let (_, skipped) = W::replay(transitions);
    found.extend(Conflict::workflow(record, record_id, household, &skipped));
    found
}

/// Materialise a hazard doc with its conflicts.
pub fn materialize_hazard_with_conflicts(
    doc: &automerge::Automerge,
) -> Result<(Hazard, Vec<Conflict>), HydrateError> {
    let hazard = materialize_hazard(doc)?;
    let found = record_conflicts::<HazardState>(
        doc,
        "hazard",
        hazard.id.to_string(),
        hazard.household,
        HAZARD_CONFLICT_FIELDS,
        &hazard.transitions,
    );
    Ok((hazard, found))
}

/// Materialise a case doc with its conflicts.
pub fn materialize_case_with_conflicts(
    doc: &automerge::Automerge,
) -> Result<(Case, Vec<Conflict>), HydrateError> {
    let case = materialize_case(doc)?;
    let found = record_conflicts::<CaseState>(
        doc,
        "case",
        case.id.to_string(),
        case.household,
        CASE_CONFLICT_FIELDS,
        &case.transitions,
    );
    Ok((case, found))
}

/// Materialise a hazard doc.
pub fn materialize_hazard(doc: &automerge::Automerge) -> Result<Hazard, HydrateError> {
    let d: HazardDoc = autosurgeon::hydrate(doc)?;
    let transitions = transitions(&d.transitions)?;
    Ok(Hazard {
        id: parse_uuid(&d.id, "hazard id")?,
        grid: GridCode(d.grid),
        category: d.category,
        severity: Severity::parse(&d.severity).unwrap_or(Severity::Low),
        location: location(d.lat, d.lon, d.accuracy),
        place: d.place,
        description: d.description,
        household: optional_uuid(&d.household, "household id")?,
        deadline: d.deadline.map(Timestamp),
        photos: d.photos,
        reported_by: WorkerId(d.reported_by),
        reported_at: Timestamp(d.reported_at),
        status: HazardState::derive(&transitions),
        transitions,
    })
}

/// Root of a case document.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Default)]
pub struct CaseDoc {
    /// Always `case`.
    pub kind: String,
    /// Id.
    pub id: String,
    /// Grid code.
    pub grid: String,
    /// Channel code.
    pub channel: String,
    /// Category.
    pub category: String,
    /// Description.
    pub description: String,
    /// Urgency code.
    pub urgency: String,
    /// Household id.
    pub household: Option<String>,
    /// Resident id.
    pub resident: Option<String>,
    /// Opener.
    pub opened_by: String,
    /// Open time (ms).
    pub opened_at: i64,
    /// Transitions by id.
    pub transitions: BTreeMap<String, TransitionDoc>,
    /// Photo blob ids of the request itself (absent in docs written before
    /// cases had photos).
    #[autosurgeon(missing = "Vec::new")]
    pub photos: Vec<String>,
}

impl CaseDoc {
    /// From a new case.
    pub fn from_model(c: &Case) -> CaseDoc {
        CaseDoc {
            kind: super::DocKind::Case.code().into(),
            id: c.id.to_string(),
            grid: c.grid.0.clone(),
            channel: c.channel.code().into(),
            category: c.category.clone(),
            description: c.description.clone(),
            urgency: c.urgency.code().into(),
            household: c.household.map(|x| x.to_string()),
            resident: c.resident.map(|x| x.to_string()),
            opened_by: c.opened_by.0.clone(),
            opened_at: c.opened_at.0,
            transitions: c
                .transitions
                .iter()
                .map(|t| (t.id.to_string(), TransitionDoc::from_model(t)))
                .collect(),
            photos: c.photos.clone(),
        }
    }
}

/// Materialise a case doc.
pub fn materialize_case(doc: &automerge::Automerge) -> Result<Case, HydrateError> {
    let d: CaseDoc = autosurgeon::hydrate(doc)?;
    let transitions = transitions(&d.transitions)?;
    let (status, escalated) = {
        let replay = CaseState::replay_all(&transitions);
        // An escalation happened only if that move applied (ADR 15).
        let escalated = transitions.iter().any(|t| {
            t.to == CaseState::Escalated.code() && !replay.skipped.iter().any(|s| s.id == t.id)
        });
        (replay.state, escalated)
    };
    Ok(Case {
        id: parse_uuid(&d.id, "case id")?,
        grid: GridCode(d.grid),
        channel: Channel::parse(&d.channel).unwrap_or(Channel::Visit),
        category: d.category,
        description: d.description,
        urgency: Urgency::parse(&d.urgency).unwrap_or(Urgency::Normal),
        household: optional_uuid(&d.household, "household id")?,
        resident: optional_uuid(&d.resident, "resident id")?,
        opened_by: WorkerId(d.opened_by),
        opened_at: Timestamp(d.opened_at),
        status,
        // Anyone acting on the case answered the resident, even with a move
        // that did not apply in the workflow (ADR 15) — but not with a move
        // to a state this build does not know, which it cannot judge.
        first_response_at: transitions
            .iter()
            .find(|t| CaseState::ALL.iter().any(|s| s.code() == t.to))
            .map(|t| t.at),
        escalated,
        transitions,
        photos: d.photos,
        timers: Default::default(),
    })
}
