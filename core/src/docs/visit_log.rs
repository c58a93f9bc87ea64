//! The visit-log document of one household for one local calendar year.
//!
//! Root keys: `kind`, `household`, `year`, and one key per visit id holding a
//! [`VisitDoc`]. Answers are a map item → outcome code plus a separate map of
//! notes for the items that have one, which keeps a typical 12-item visit at
//! about two dozen ops.

use super::parse_uuid;
use crate::model::*;
use automerge::{ReadDoc, ROOT};
use autosurgeon::{Hydrate, HydrateError, Reconcile};
use std::collections::BTreeMap;

/// Root keys that are metadata, not visits. Other root keys that are not
/// visit ids (added by a newer app) are ignored, never an error.
pub const META_KEYS: &[&str] = &["kind", "household", "year", super::FORMAT_KEY];

/// One visit inside a visit-log document.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Default)]
pub struct VisitDoc {
    /// Worker id.
    pub worker: String,
    /// Start (ms).
    pub started_at: i64,
    /// End (ms).
    pub ended_at: i64,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Accuracy (m).
    pub accuracy: Option<f64>,
    /// Checklist template id.
    pub template: String,
    /// Checklist template version.
    pub template_version: u32,
    /// Item → outcome code.
    pub answers: BTreeMap<String, String>,
    /// Item → note, only for items with a note.
    pub answer_notes: BTreeMap<String, String>,
    /// Free note.
    pub note: String,
    /// Follow-up case ids.
    pub follow_ups: Vec<String>,
    /// Photo blob ids (absent in docs written before photos).
    #[autosurgeon(missing = "Vec::new")]
    pub photos: Vec<String>,
}

impl VisitDoc {
    /// From the domain type.
    pub fn from_model(v: &Visit) -> VisitDoc {
        VisitDoc {
            worker: v.worker.0.clone(),
            started_at: v.started_at.0,
            ended_at: v.ended_at.0,
            lat: v.location.map(|l| l.lat),
            lon: v.location.map(|l| l.lon),
            accuracy: v.location.and_then(|l| l.accuracy_m),
            template: v.checklist.id.clone(),
            template_version: v.checklist.version,
            answers: v
                .answers
                .iter()
                .map(|a| (a.item.clone(), a.outcome.code().to_string()))
                .collect(),
            answer_notes: v
                .answers
                .iter()
                .filter(|a| !a.note.is_empty())
                .map(|a| (a.item.clone(), a.note.clone()))
                .collect(),
            note: v.note.clone(),
            follow_ups: v.follow_up_cases.iter().map(|c| c.to_string()).collect(),
            photos: v.photos.clone(),
        }
    }

    /// To the domain type.
    pub fn to_model(&self, id: VisitId, household: HouseholdId) -> Result<Visit, HydrateError> {
        let template = crate::forms::find_ref(&self.template, Some(self.template_version));
        let mut answers: Vec<ChecklistAnswer> = self
            .answers
            .iter()
            .map(|(item, outcome)| ChecklistAnswer {
                item: item.clone(),
                outcome: Outcome::parse(outcome, "outcome").unwrap_or(Outcome::NotApplicable),
                note: self.answer_notes.get(item).cloned().unwrap_or_default(),
            })
            .collect();
        // Template order when the template is known, else by item id.
        answers.sort_by_key(|a| {
            template
                .as_ref()
                .and_then(|t| t.position(&a.item))
                .unwrap_or(usize::MAX)
        });
        Ok(Visit {
            id,
            household,
            worker: WorkerId(self.worker.clone()),
            started_at: Timestamp(self.started_at),
            ended_at: Timestamp(self.ended_at),
            location: match (self.lat, self.lon) {
                (Some(lat), Some(lon)) => Some(Location {
                    lat,
                    lon,
                    accuracy_m: self.accuracy,
                }),
                _ => None,
            },
            checklist: TemplateRef {
                id: self.template.clone(),
                version: self.template_version,
            },
            answers,
            note: self.note.clone(),
            // The same case linked on two phones at once is listed once.
            follow_up_cases: {
                let mut seen = std::collections::HashSet::new();
                self.follow_ups
                    .iter()
                    .filter(|c| seen.insert(c.as_str()))
                    .map(|c| parse_uuid(c, "case id"))
                    .collect::<Result<_, _>>()?
            },
            photos: self.photos.clone(),
        })
    }
}

/// Materialise every visit of a visit-log doc, ordered by start time.
pub fn materialize(doc: &automerge::Automerge) -> Result<Vec<Visit>, HydrateError> {
    let household: String = autosurgeon::hydrate_prop(doc, ROOT, "household")?;
    let household: HouseholdId = parse_uuid(&household, "household id")?;
    let mut visits = Vec::new();
    for key in doc.keys(ROOT) {
        if META_KEYS.contains(&key.as_str()) {
            continue;
        }
        let Ok(id) = key.parse::<VisitId>() else {
            continue; // Not a visit: a key of a newer app.
        };
        let visit: VisitDoc = autosurgeon::hydrate_prop(doc, ROOT, key.as_str())?;
        visits.push(visit.to_model(id, household)?);
    }
    visits.sort_by_key(|v| (v.started_at, v.id));
    Ok(visits)
}

/// The visit ids whose content changed between two sets of heads, or `None`
/// when something else changed (metadata keys) and the whole log must be
/// re-materialised. Used to refresh only the rows of the visits a change touched.
pub fn touched_visits(
    doc: &automerge::Automerge,
    before: &[automerge::ChangeHash],
    after: &[automerge::ChangeHash],
) -> Option<std::collections::BTreeSet<String>> {
    use automerge::{PatchAction, Prop};
    let mut touched = std::collections::BTreeSet::new();
    for patch in doc.diff(before, after) {
        let key = match patch.path.first() {
            Some((_, Prop::Map(key))) => key.clone(),
            Some(_) => return None,
            None => match &patch.action {
                PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => key.clone(),
                PatchAction::Conflict {
                    prop: Prop::Map(key),
                } => key.clone(),
                _ => return None,
            },
        };
        if META_KEYS.contains(&key.as_str()) {
            return None;
        }
        touched.insert(key);
    }
    Some(touched)
}

/// Materialise only the given visits (those still present), by start time.
pub fn materialize_some(
    doc: &automerge::Automerge,
    ids: &std::collections::BTreeSet<String>,
) -> Result<Vec<Visit>, HydrateError> {
    let household: String = autosurgeon::hydrate_prop(doc, ROOT, "household")?;
    let household: HouseholdId = parse_uuid(&household, "household id")?;
    let mut visits = Vec::new();
    for key in ids {
        if doc.get(ROOT, key.as_str()).ok().flatten().is_none() {
            continue;
        }
        let Ok(id) = key.parse::<VisitId>() else {
            continue;
        };
        let visit: VisitDoc = autosurgeon::hydrate_prop(doc, ROOT, key.as_str())?;
        visits.push(visit.to_model(id, household)?);
    }
    visits.sort_by_key(|v| (v.started_at, v.id));
    Ok(visits)
}
