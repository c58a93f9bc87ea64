//! Recording door-to-door visits against the visit checklist.

use super::Store;
use crate::docs::visit_log::VisitDoc;
use crate::docs::{DocId, DocKind};
use crate::forms::{default_pack::VISIT_CHECKLIST_ID, FieldType};
use crate::model::text;
use crate::model::*;
use crate::{Error, Result};
use automerge::transaction::Transactable;
use automerge::ROOT;

impl Store {
    /// Record a visit. Answers must name items of the current visit checklist,
    /// each at most once; the household must exist.
    pub fn record_visit(&self, input: NewVisit) -> Result<Visit> {
        let (_, meta) = self.meta()?;
        self.db
            .write(|tx| self.record_visit_in(tx, VisitId::new(), &input, &meta))
    }

    /// Record a visit inside a write transaction; its visit log is filed
    /// under the household's grid.
    pub fn record_visit_in(
        &self,
        tx: &mut crate::store::WriteTx<'_>,
        id: VisitId,
        input: &NewVisit,
        meta: &crate::store::CommitMeta,
    ) -> Result<Visit> {
        // The newest checklist version known here (published or built-in).
        let template = super::resolve_template(tx.conn(), VISIT_CHECKLIST_ID, None)?;
        let mut answers = Vec::with_capacity(input.answers.len());
        for answer in &input.answers {
            let field = format!("answers.{}", text::display_key(&answer.item));
            if !template
                .field(&answer.item)
                .is_some_and(|f| f.field_type == FieldType::ChecklistItem)
            {
                return Err(Error::invalid(
                    field,
                    "走访清单中没有此项 / not an item of the visit checklist",
                ));
            }
            if answers
                .iter()
                .any(|a: &ChecklistAnswer| a.item == answer.item)
            {
                return Err(Error::invalid(field, "重复回答 / answered more than once"));
            }
            answers.push(ChecklistAnswer {
                item: answer.item.clone(),
                outcome: answer.outcome,
                note: text::CHECKLIST_NOTE.check_as(&answer.note, &format!("{field}.note"))?,
            });
        }
        answers.sort_by_key(|a| template.position(&a.item));
        if let Some(l) = input.location {
            validate::location(l.lat, l.lon, l.accuracy_m)?;
        }
        let latest = super::incidents::latest_claimed_time(meta.at);
        if let Some(at) = input.started_at {
            validate::instant(at, "started_at", latest)?;
        }
        if let Some(at) = input.ended_at {
            validate::instant(at, "ended_at", latest)?;
        }
        let photos = crate::model::attachment::check_photo_ids(&input.photos, "photos")?;
        super::attachments::check_attached(tx.conn(), &photos, "photos")?;
        let started_at = input.started_at.unwrap_or(meta.at);
        let ended_at = input.ended_at.unwrap_or(meta.at.max(started_at));
        if ended_at < started_at {
            return Err(Error::invalid(
                "ended_at",
                "结束时间早于开始时间 / visit ends before it starts",
            ));
        }
        let visit = Visit {
            id,
            household: input.household,
            worker: meta.worker.clone(),
            started_at,
            ended_at,
            location: input.location,
            checklist: TemplateRef {
                id: template.id.clone(),
                version: template.version,
            },
            answers,
            note: text::VISIT_NOTE.check(&input.note)?,
            follow_up_cases: input.follow_up_cases.clone(),
            photos: photos.clone(),
        };
        let year = crate::schedule::local_date(started_at, &self.tz).year();
        let doc_id = DocId::visit_log(input.household, year);
        let body = VisitDoc::from_model(&visit);
        // Filed under the household's grid, as the server files it (a staff
        // phone's own grid may be the community above it).
        let Some(grid) = tx.doc_scope(&DocId::household(input.household))? else {
            return Err(Error::not_found("household", input.household));
        };
        tx.edit_doc(&doc_id, DocKind::VisitLog, &grid, meta, |am| {
            // Metadata keys are written with the same values by every
            // device that creates this doc, so they never truly conflict.
            if am.get(ROOT, "kind")?.is_none() {
                am.put(ROOT, "kind", DocKind::VisitLog.code())?;
                am.put(ROOT, "household", input.household.to_string())?;
                am.put(ROOT, "year", i64::from(year))?;
            }
            autosurgeon::reconcile_prop(am, ROOT, visit.id.to_string().as_str(), &body)?;
            Ok(())
        })?;
        Ok(visit)
    }

    /// Change a visit's free note.
    pub fn edit_visit_note(&self, id: VisitId, note: &str) -> Result<Visit> {
        let visit = self.visit(id)?;
        let (device, meta) = self.meta()?;
        let year = crate::schedule::local_date(visit.started_at, &self.tz).year();
        let doc_id = DocId::visit_log(visit.household, year);
        let note = text::VISIT_NOTE.check(note)?;
        self.db.write(|tx| {
            tx.edit_doc(&doc_id, DocKind::VisitLog, &device.grid, &meta, |am| {
                let obj = match am.get(ROOT, id.to_string())? {
                    Some((_, obj)) => obj,
                    None => return Err(Error::not_found("visit", id)),
                };
                am.put(&obj, "note", note.as_str())?;
                Ok(())
            })
        })?;
        self.visit(id)
    }
}

use automerge::ReadDoc;
