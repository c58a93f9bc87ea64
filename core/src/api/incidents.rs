//! Hazards and cases: report/open, edit, and move through their workflows.
//! A move appends a transition to the record's document; the status is
//! derived from the transitions.

use super::Store;
use crate::docs::incident::{CaseDoc, HazardDoc, TransitionDoc};
use crate::docs::{DocId, DocKind};
use crate::model::attachment::check_photo_ids;
use crate::model::text::{self, check_edit};
use crate::model::*;
use crate::store::persist::DocEditor;
use crate::store::{CommitMeta, WriteTx};
use crate::{Error, Result};
use automerge::{ObjType, ReadDoc, ROOT};

/// A partial edit of a hazard.
#[derive(Clone, Debug, Default)]
pub struct HazardEdit {
    /// New description.
    pub description: Option<String>,
    /// New severity code.
    pub severity: Option<String>,
    /// New deadline.
    pub deadline: Option<Timestamp>,
    /// New place text.
    pub place: Option<String>,
}

/// A partial edit of a case.
#[derive(Clone, Debug, Default)]
pub struct CaseEdit {
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New urgency code.
    pub urgency: Option<String>,
}

/// The latest rectification deadline accepted at `now`: ten years ahead.
fn deadline_limit(now: Timestamp) -> Timestamp {
    Timestamp(now.0.saturating_add(10 * 366 * 86_400_000))
}

/// The latest time a caller may claim for a past event (a case's opening, a
/// visit's start) at `now`: one day ahead, for clocks set wrong.
pub(crate) fn latest_claimed_time(now: Timestamp) -> Timestamp {
    Timestamp(now.0.saturating_add(86_400_000))
}

impl Store {
    /// Report a hazard in this phone's grid.
    pub fn report_hazard(&self, input: NewHazard) -> Result<Hazard> {
        let (device, meta) = self.meta()?;
        let id = HazardId::new();
        self.db
            .write(|tx| report_hazard_in(tx, id, &input, &device.grid, &meta))?;
        self.hazard(id)
    }
}

/// Report a hazard inside a write transaction.
pub fn report_hazard_in(
    tx: &mut WriteTx<'_>,
    id: HazardId,
    input: &NewHazard,
    grid: &GridCode,
    meta: &CommitMeta,
) -> Result<()> {
    let grid = &super::households::record_grid(tx, input.household, grid)?;
    if let Some(l) = input.location {
        validate::location(l.lat, l.lon, l.accuracy_m)?;
    }
    if let Some(d) = input.deadline {
        validate::instant(d, "deadline", deadline_limit(meta.at))?;
    }
    let photos = check_photo_ids(&input.photos, "photos")?;
    super::attachments::check_attached(tx.sql(), &photos, "photos")?;
    let hazard = Hazard {
        id,
        grid: grid.clone(),
        category: text::CATEGORY.check(&input.category)?,
        severity: Severity::parse(if input.severity.is_empty() {
            "low"
        } else {
            &input.severity
        })?,
        location: input.location,
        place: text::PLACE.check(&input.place)?,
        description: text::DESCRIPTION.check(&input.description)?,
        household: input.household,
        deadline: input.deadline,
        photos,
        reported_by: meta.worker.clone(),
        reported_at: meta.at,
        status: HazardState::Reported,
        transitions: vec![],
    };
    let doc = HazardDoc::from_model(&hazard);
    if let Some(h) = hazard.household {
        if !tx.doc_exists(&DocId::household(h))? {
            return Err(Error::not_found("household", h));
        }
    }
    tx.edit_doc(&DocId::hazard(id), DocKind::Hazard, grid, meta, |am| {
        Ok(autosurgeon::reconcile(am, &doc)?)
    })
}

impl Store {
    /// Edit a hazard's description, severity, place or deadline.
    pub fn edit_hazard(&self, id: HazardId, edit: HazardEdit) -> Result<Hazard> {
        let description = check_edit(text::DESCRIPTION, edit.description.as_deref())?;
        let place = check_edit(text::PLACE, edit.place.as_deref())?;
        let severity = edit.severity.as_deref().map(Severity::parse).transpose()?;
        let (device, meta) = self.meta()?;
        if let Some(d) = edit.deadline {
            validate::instant(d, "deadline", deadline_limit(meta.at))?;
        }
        let doc_id = DocId::hazard(id);
        self.db.write(|tx| {
            if !tx.doc_exists(&doc_id)? {
                return Err(Error::not_found("hazard", id));
            }
            tx.edit_doc(&doc_id, DocKind::Hazard, &device.grid, &meta, |am| {
                let mut doc: HazardDoc = autosurgeon::hydrate(am)?;
                if let Some(d) = description {
                    doc.description = d;
                }
                if let Some(s) = severity {
                    doc.severity = s.code().into();
                }
                if let Some(p) = place {
                    doc.place = p;
                }
                if let Some(d) = edit.deadline {
                    doc.deadline = Some(d.0);
                }
                Ok(autosurgeon::reconcile(am, &doc)?)
            })
        })?;
        self.hazard(id)
    }

    /// Move a hazard to `to` (e.g. `rectifying`), with a note.
    pub fn transition_hazard(&self, id: HazardId, to: &str, note: &str) -> Result<Hazard> {
        self.transition_hazard_with_photos(id, to, note, &[])
    }

    /// [`Store::transition_hazard`] with photos attached on this phone:
    /// the rectification's "after" photos beside the report's "before" ones.
    pub fn transition_hazard_with_photos(
        &self,
        id: HazardId,
        to: &str,
        note: &str,
        photos: &[String],
    ) -> Result<Hazard> {
        let to = HazardState::parse(to)?;
        let photos = check_photo_ids(photos, "photos")?;
        let (_, meta) = self.meta()?;
        self.db.write(|tx| {
            super::attachments::check_attached(tx.sql(), &photos, "photos")?;
            append_transition_in(
                tx,
                TransitionId::new(),
                &DocId::hazard(id),
                DocKind::Hazard,
                "hazard",
                Step {
                    to,
                    note,
                    photos: &photos,
                    assignee: "",
                    separate_duties: false,
                },
                &meta,
            )
        })?;
        self.hazard(id)
    }

    /// Open a case (a resident's request or an event), with the photos
    /// of `input.photos` attached on this phone.
    pub fn open_case(&self, input: NewCase) -> Result<Case> {
        let (device, meta) = self.meta()?;
        let id = CaseId::new();
        self.db
            .write(|tx| open_case_on_phone_in(tx, id, &input, &device.grid, &meta))?;
        self.case(id)
    }
}

/// [`open_case_in`] on a phone: every photo the case names must be attached
/// here first (so the upload step has it to send).
pub(crate) fn open_case_on_phone_in(
    tx: &mut WriteTx<'_>,
    id: CaseId,
    input: &NewCase,
    grid: &GridCode,
    meta: &CommitMeta,
) -> Result<()> {
    let photos = check_photo_ids(&input.photos, "photos")?;
    super::attachments::check_attached(tx.sql(), &photos, "photos")?;
    open_case_in(tx, id, input, grid, meta)
}

/// Open a case inside a write transaction (a phone's store, or the
/// server's storage of either backend when it files a resident's request).
/// The photo ids are checked for shape only: the caller makes sure the
/// blobs exist (a phone's attachments, the server's blob store).
pub fn open_case_in<E: DocEditor + ?Sized>(
    tx: &mut E,
    id: CaseId,
    input: &NewCase,
    grid: &GridCode,
    meta: &CommitMeta,
) -> Result<()> {
    if input.resident.is_some() && input.household.is_none() {
        return Err(Error::invalid(
            "household",
            "指定居民时须指定户 / a resident needs its household",
        ));
    }
    let grid = match input.household {
        None => grid.clone(),
        Some(h) => GridCode(
            tx.sql()
                .value(
                    "SELECT scope FROM docs WHERE id = ?1",
                    &[DocId::household(h).as_str().into()],
                )?
                .ok_or_else(|| Error::not_found("household", h))?
                .text()?,
        ),
    };
    if let Some(at) = input.opened_at {
        validate::instant(at, "opened_at", latest_claimed_time(meta.at))?;
    }
    let case = Case {
        id,
        grid: grid.clone(),
        channel: Channel::parse(if input.channel.is_empty() {
            "visit"
        } else {
            &input.channel
        })?,
        category: text::CATEGORY.check(&input.category)?,
        description: text::DESCRIPTION.check(&input.description)?,
        urgency: Urgency::parse(&input.urgency)?,
        household: input.household,
        resident: input.resident,
        opened_by: meta.worker.clone(),
        opened_at: input.opened_at.unwrap_or(meta.at),
        status: CaseState::Collected,
        first_response_at: None,
        escalated: false,
        transitions: vec![],
        photos: check_photo_ids(&input.photos, "photos")?,
        timers: Default::default(),
    };
    let doc = CaseDoc::from_model(&case);
    if let (Some(h), Some(r)) = (case.household, case.resident) {
        let known = tx.sql().exists(
            "SELECT 1 FROM residents WHERE id = ?1 AND household_id = ?2",
            &[r.to_string().as_str().into(), h.to_string().as_str().into()],
        )?;
        if !known {
            return Err(Error::not_found("resident", r));
        }
    }
    tx.edit_doc(&DocId::case(id), DocKind::Case, &grid, meta, |am| {
        Ok(autosurgeon::reconcile(am, &doc)?)
    })
}

impl Store {
    /// Edit a case's description, category or urgency.
    pub fn edit_case(&self, id: CaseId, edit: CaseEdit) -> Result<Case> {
        let description = check_edit(text::DESCRIPTION, edit.description.as_deref())?;
        let category = check_edit(text::CATEGORY, edit.category.as_deref())?;
        let urgency = edit.urgency.as_deref().map(Urgency::parse).transpose()?;
        let (device, meta) = self.meta()?;
        let doc_id = DocId::case(id);
        self.db.write(|tx| {
            if !tx.doc_exists(&doc_id)? {
                return Err(Error::not_found("case", id));
            }
            tx.edit_doc(&doc_id, DocKind::Case, &device.grid, &meta, |am| {
                let mut doc: CaseDoc = autosurgeon::hydrate(am)?;
                if let Some(d) = description {
                    doc.description = d;
                }
                if let Some(c) = category {
                    doc.category = c;
                }
                if let Some(u) = urgency {
                    doc.urgency = u.code().into();
                }
                Ok(autosurgeon::reconcile(am, &doc)?)
            })
        })?;
        self.case(id)
    }

    /// Move a case to `to` (e.g. `registered`, `escalated`, `closed`).
    pub fn transition_case(&self, id: CaseId, to: &str, note: &str) -> Result<Case> {
        self.transition_case_with_photos(id, to, note, &[])
    }

    /// [`Store::transition_case`] with photos attached on this phone (the
    /// handling, the result shown to the resident).
    pub fn transition_case_with_photos(
        &self,
        id: CaseId,
        to: &str,
        note: &str,
        photos: &[String],
    ) -> Result<Case> {
        let to = CaseState::parse(to)?;
        let photos = check_photo_ids(photos, "photos")?;
        let (_, meta) = self.meta()?;
        self.db.write(|tx| {
            super::attachments::check_attached(tx.sql(), &photos, "photos")?;
            append_transition_in(
                tx,
                TransitionId::new(),
                &DocId::case(id),
                DocKind::Case,
                "case",
                Step {
                    to,
                    note,
                    photos: &photos,
                    assignee: "",
                    separate_duties: false,
                },
                &meta,
            )
        })?;
        self.case(id)
    }
}

/// Move case `id` to `to` inside a write transaction with the given commit
/// metadata: the server's path for staff actions on the dashboard (the
/// change is made with the server's actor, attributed to the staff member in
/// `meta.worker`, and reaches phones through the normal sync). Checked
/// against the status derived from the document, like
/// [`Store::transition_case`]. Returns the case's scope (its grid).
///
/// `assignee` names who the case is handed to (a dispatch: an id of the
/// server's directory of handlers); empty for other moves. A staff move:
/// separation of duties holds ([`Step::separate_duties`]).
pub fn transition_case_in<E: DocEditor + ?Sized>(
    tx: &mut E,
    id: CaseId,
    to: &str,
    note: &str,
    assignee: &str,
    meta: &CommitMeta,
) -> Result<GridCode> {
    let to = CaseState::parse(to)?;
    let step = Step {
        to,
        note,
        photos: &[],
        assignee,
        separate_duties: true,
    };
    transition_in(tx, &DocId::case(id), DocKind::Case, "case", step, meta)
}

/// Move hazard `id` to `to` inside a write transaction (e.g. the community
/// verifying a rectification and closing the hazard, 销号), as
/// [`transition_case_in`] does for cases. Returns the hazard's grid.
pub fn transition_hazard_in<E: DocEditor + ?Sized>(
    tx: &mut E,
    id: HazardId,
    to: &str,
    note: &str,
    meta: &CommitMeta,
) -> Result<GridCode> {
    let to = HazardState::parse(to)?;
    let doc_id = DocId::hazard(id);
    transition_in(
        tx,
        &doc_id,
        DocKind::Hazard,
        "hazard",
        Step::to(to, note),
        meta,
    )
}

fn transition_in<W: Workflow, E: DocEditor + ?Sized>(
    tx: &mut E,
    doc_id: &DocId,
    kind: DocKind,
    what: &'static str,
    step: Step<'_, W>,
    meta: &CommitMeta,
) -> Result<GridCode> {
    append_transition_in(tx, TransitionId::new(), doc_id, kind, what, step, meta)
}

/// One step of a workflow to append ([`append_transition_in`]).
#[derive(Clone, Copy, Debug)]
pub struct Step<'a, W> {
    /// The state to move to.
    pub to: W,
    /// The note recorded with it (may be empty).
    pub note: &'a str,
    /// Photos attached to it (blob ids held here).
    pub photos: &'a [String],
    /// Who the record is handed to (a dispatch); empty otherwise.
    pub assignee: &'a str,
    /// Enforce separation of duties ([`Workflow::separated_from`]): set
    /// for staff moves on the server, where a community's verification
    /// must be by someone other than who reported the handling back. A
    /// gridworker's phone does not: one who takes and handles a simple
    /// request at once (即接即办) also records its verification with the
    /// resident.
    pub separate_duties: bool,
}

impl<'a, W> Step<'a, W> {
    /// A move to `to` with `note`, no photos, no assignee.
    pub fn to(to: W, note: &'a str) -> Step<'a, W> {
        Step {
            to,
            note,
            photos: &[],
            assignee: "",
            separate_duties: false,
        }
    }
}

/// Separation of duties ([`Workflow::separated_from`]): whoever made the
/// latest applied move to the state `to` is separated from may not make
/// this one (who reported the handling back may not verify it).
fn check_separation<W: Workflow>(
    transitions: &[Transition],
    skipped: &[&Transition],
    to: W,
    by: &WorkerId,
) -> Result<()> {
    let Some(separated) = to.separated_from() else {
        return Ok(());
    };
    let mut applied: Vec<&Transition> = transitions
        .iter()
        .filter(|t| t.to == separated.code() && !skipped.iter().any(|s| s.id == t.id))
        .collect();
    applied.sort_by_key(|t| (t.at, t.id));
    match applied.last() {
        Some(t) if &t.by == by => Err(Error::invalid(
            "to",
            "办理反馈人不能核查自己的办理结果，请由他人核查 / whoever reported the handling back may not verify it: someone else must",
        )),
        _ => Ok(()),
    }
}

/// Append a transition after checking it against the status derived from
/// the document (not the read model), inside the write transaction.
/// Returns the record's grid (its doc's scope).
pub fn append_transition_in<W: Workflow, E: DocEditor + ?Sized>(
    tx: &mut E,
    id: TransitionId,
    doc_id: &DocId,
    kind: DocKind,
    what: &'static str,
    step: Step<'_, W>,
    meta: &CommitMeta,
) -> Result<GridCode> {
    let Step {
        to,
        note,
        photos,
        assignee,
        separate_duties,
    } = step;
    let note = text::TRANSITION_NOTE.check(note)?;
    let photos = check_photo_ids(photos, "photos")?;
    let assignee = assignee.trim();
    if assignee.chars().count() > 64 {
        return Err(Error::invalid(
            "assignee",
            "承办人编号过长 / the assignee's id is too long",
        ));
    }
    {
        let scope = match tx.sql().value(
            "SELECT scope FROM docs WHERE id = ?1",
            &[doc_id.as_str().into()],
        )? {
            Some(scope) => GridCode(scope.text()?),
            None => {
                let key = doc_id.as_str().split('/').nth(1).unwrap_or_default();
                return Err(Error::not_found(what, key));
            }
        };
        tx.edit_doc(doc_id, kind, &scope, meta, |am| {
            let list: std::collections::BTreeMap<String, TransitionDoc> =
                autosurgeon::hydrate_prop(am, ROOT, "transitions")?;
            let known: Vec<Transition> = list
                .iter()
                .filter_map(|(k, t)| {
                    Some(Transition {
                        id: k.parse().ok()?,
                        at: Timestamp(t.at),
                        by: WorkerId(t.by.clone()),
                        from: t.from.clone(),
                        to: t.to.clone(),
                        note: String::new(),
                        photos: Vec::new(),
                        assignee: String::new(),
                    })
                })
                .collect();
            let replay = W::replay_all(&known);
            let current = replay.state;
            current.check_move(to)?;
            if separate_duties {
                check_separation(&known, &replay.skipped, to, &meta.worker)?;
            }
            // Transitions are ordered by the time they claim (ADR 15): a move
            // is never stamped before one this device has already seen (a
            // clock that is behind another device's), so it replays after it.
            let latest_seen = list.values().map(|t| t.at).max().unwrap_or(i64::MIN);
            let record = TransitionDoc {
                at: meta.at.0.max(latest_seen.saturating_add(1)),
                by: meta.worker.0.clone(),
                from: current.code().into(),
                to: to.code().into(),
                note: note.clone(),
                photos: photos.clone(),
                assignee: assignee.to_owned(),
            };
            let obj = match am.get(ROOT, "transitions")? {
                Some((automerge::Value::Object(ObjType::Map), obj)) => obj,
                _ => {
                    return Err(Error::CorruptDocument {
                        doc_id: doc_id.to_string(),
                        reason: "no transitions map".into(),
                    })
                }
            };
            autosurgeon::reconcile_prop(am, &obj, id.to_string().as_str(), &record)?;
            Ok(())
        })?;
        Ok(scope)
    }
}

impl Store {
    /// Resolve a conflict on a hazard's or a case's field (`record` is
    /// `hazard` or `case`) by choosing one of its values: an ordinary edit
    /// that overwrites every concurrent value of the field. A workflow
    /// conflict is resolved by making a new transition instead.
    pub fn resolve_record_conflict(
        &self,
        record: &str,
        record_id: &str,
        field: &str,
        chosen: &str,
    ) -> Result<()> {
        use crate::docs::incident::{CASE_CONFLICT_FIELDS, HAZARD_CONFLICT_FIELDS};
        let (doc_id, kind, fields) = match record {
            "hazard" => (
                DocId::hazard(HazardId::parse_field(record_id, "id")?),
                DocKind::Hazard,
                HAZARD_CONFLICT_FIELDS,
            ),
            "case" => (
                DocId::case(CaseId::parse_field(record_id, "id")?),
                DocKind::Case,
                CASE_CONFLICT_FIELDS,
            ),
            _ => {
                return Err(Error::invalid(
                    "record",
                    "应为 hazard 或 case / must be hazard or case",
                ))
            }
        };
        self.chosen_value(record, record_id, field, chosen)?;
        if !fields.contains(&field) {
            return Err(Error::invalid(
                "field",
                "不可选择的字段 / not a resolvable field",
            ));
        }
        let (_, meta) = self.meta()?;
        self.db.write(|tx| {
            let scope = tx
                .doc_scope(&doc_id)?
                .ok_or_else(|| Error::not_found("record", record_id))?;
            tx.edit_doc(&doc_id, kind, &scope, &meta, |am| {
                use automerge::transaction::Transactable;
                if field == "deadline" {
                    let value = if chosen.is_empty() {
                        automerge::ScalarValue::Null
                    } else {
                        automerge::ScalarValue::Int(chosen.parse().map_err(|_| {
                            Error::invalid("value", "期限应为毫秒时间 / deadline must be ms")
                        })?)
                    };
                    am.put(ROOT, "deadline", value)?;
                } else {
                    am.put(ROOT, field, chosen)?;
                }
                Ok(())
            })
        })
    }
}
