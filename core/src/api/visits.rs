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

    /// Record a visit and open a case for what it found, in one write
    /// transaction: the case is about the visited household (its channel
    /// `visit` unless given, its clock starting now) and is the visit's
    /// follow-up case. A case naming another household is refused.
    pub fn record_visit_with_case(&self, visit: NewVisit, case: NewCase) -> Result<(Visit, Case)> {
        let (device, meta) = self.meta()?;
        let case = case_of_visit(case, visit.household)?;
        let case_id = CaseId::new();
        let mut visit = visit;
        visit.follow_up_cases.push(case_id);
        let recorded = self.db.write(|tx| {
            super::incidents::open_case_on_phone_in(tx, case_id, &case, &device.grid, &meta)?;
            self.record_visit_in(tx, VisitId::new(), &visit, &meta)
        })?;
        Ok((recorded, self.case(case_id)?))
    }

    /// Open a case for what visit `visit` found, linked to it (the visit's
    /// follow-up cases gain it), in one write transaction.
    pub fn open_case_for_visit(&self, visit: VisitId, case: NewCase) -> Result<Case> {
        let found = self.visit(visit)?;
        let (device, meta) = self.meta()?;
        let case = case_of_visit(case, found.household)?;
        let case_id = CaseId::new();
        self.db.write(|tx| {
            super::incidents::open_case_on_phone_in(tx, case_id, &case, &device.grid, &meta)?;
            self.link_follow_up_in(tx, &found, case_id, &meta)
        })?;
        self.case(case_id)
    }

    /// Make the existing case `case` a follow-up of visit `visit` (again:
    /// no change). The case must be about the visited household or none.
    pub fn link_case_to_visit(&self, case: CaseId, visit: VisitId) -> Result<Visit> {
        let found = self.visit(visit)?;
        let linked = self.case(case)?;
        if linked.household.is_some_and(|h| h != found.household) {
            return Err(Error::invalid(
                "case",
                "事项属于另一户 / the case is about another household",
            ));
        }
        let (_, meta) = self.meta()?;
        self.db
            .write(|tx| self.link_follow_up_in(tx, &found, case, &meta))?;
        self.visit(visit)
    }

    /// Add `case` to the follow-up cases of `visit` unless it is there.
    fn link_follow_up_in(
        &self,
        tx: &mut crate::store::WriteTx<'_>,
        visit: &Visit,
        case: CaseId,
        meta: &crate::store::CommitMeta,
    ) -> Result<()> {
        let year = crate::schedule::local_date(visit.started_at, &self.tz).year();
        let doc_id = DocId::visit_log(visit.household, year);
        let Some(grid) = tx.doc_scope(&DocId::household(visit.household))? else {
            return Err(Error::not_found("household", visit.household));
        };
        let case = case.to_string();
        tx.edit_doc(&doc_id, DocKind::VisitLog, &grid, meta, |am| {
            let Some((_, obj)) = am.get(ROOT, visit.id.to_string())? else {
                return Err(Error::not_found("visit", visit.id));
            };
            let list = match am.get(&obj, "follow_ups")? {
                Some((automerge::Value::Object(automerge::ObjType::List), list)) => list,
                _ => am.put_object(&obj, "follow_ups", automerge::ObjType::List)?,
            };
            let len = am.length(&list);
            for i in 0..len {
                if let Some((automerge::Value::Scalar(s), _)) = am.get(&list, i)? {
                    if s.as_str() == Some(case.as_str()) {
                        return Ok(());
                    }
                }
            }
            am.insert(&list, len, case.as_str())?;
            Ok(())
        })
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

/// `case` as a case found on a visit to `household`.
fn case_of_visit(mut case: NewCase, household: HouseholdId) -> Result<NewCase> {
    if case.household.is_some_and(|h| h != household) {
        return Err(Error::invalid(
            "household",
            "走访发现的事项属于被走访的户 / a case found on a visit is about the visited household",
        ));
    }
    case.household = Some(household);
    if case.channel.trim().is_empty() {
        case.channel = "visit".into();
    }
    Ok(case)
}

#[cfg(test)]
mod tests {
    use crate::api::tests::{household, phone};
    use crate::model::*;
    use tempfile::TempDir;

    fn found(category: &str) -> NewCase {
        NewCase {
            category: category.into(),
            description: "走访发现楼道堆物".into(),
            ..Default::default()
        }
    }

    #[test]
    fn visits_open_and_link_their_follow_up_cases() {
        let dir = TempDir::new().unwrap();
        let (store, _) = phone(&dir, "a.db", "gw-1");
        let h = household(&store, "1号楼101室", &[]);
        let other = household(&store, "1号楼102室", &[]);
        let new_visit = |household| NewVisit {
            household,
            ..Default::default()
        };
        // Recorded with a case: one write, the case about the household.
        let (visit, case) = store
            .record_visit_with_case(new_visit(h.id), found("环境卫生"))
            .unwrap();
        assert_eq!(visit.follow_up_cases, vec![case.id]);
        assert_eq!(case.household, Some(h.id));
        assert_eq!(case.channel, Channel::Visit);
        assert_eq!(case.status, CaseState::Collected);
        assert_eq!(
            store.visit(visit.id).unwrap().follow_up_cases,
            vec![case.id]
        );
        // A second case for the same visit, and an existing one linked.
        let second = store
            .open_case_for_visit(visit.id, found("帮办代办"))
            .unwrap();
        let loose = store
            .open_case(NewCase {
                household: Some(h.id),
                ..found("邻里纠纷")
            })
            .unwrap();
        let linked = store.link_case_to_visit(loose.id, visit.id).unwrap();
        assert_eq!(linked.follow_up_cases, vec![case.id, second.id, loose.id]);
        // Linking again changes nothing.
        let again = store.link_case_to_visit(loose.id, visit.id).unwrap();
        assert_eq!(again.follow_up_cases, linked.follow_up_cases);
        // Another household's case is refused, and nothing is stored.
        let elsewhere = store
            .open_case(NewCase {
                household: Some(other.id),
                ..found("环境卫生")
            })
            .unwrap();
        assert!(store.link_case_to_visit(elsewhere.id, visit.id).is_err());
        let cases_before = store.list_cases(false).unwrap().len();
        assert!(store
            .record_visit_with_case(
                new_visit(h.id),
                NewCase {
                    household: Some(other.id),
                    ..found("环境卫生")
                }
            )
            .is_err());
        // A bad case (no category) leaves no visit behind either.
        let visits_before = store.list_visits(Some(h.id)).unwrap().len();
        assert!(store
            .record_visit_with_case(new_visit(h.id), found(""))
            .is_err());
        assert_eq!(store.list_visits(Some(h.id)).unwrap().len(), visits_before);
        assert_eq!(store.list_cases(false).unwrap().len(), cases_before);
        // An unknown visit.
        assert!(store
            .open_case_for_visit(VisitId::new(), found("环境卫生"))
            .is_err());
    }

    #[test]
    fn follow_ups_linked_on_two_phones_at_once_are_both_kept() {
        use crate::docs::DocId;
        let dir = TempDir::new().unwrap();
        let (a, _) = phone(&dir, "a.db", "gw-1");
        let (b, _) = phone(&dir, "b.db", "gw-2");
        let h = household(&a, "1号楼101室", &[]);
        let (visit, first) = a
            .record_visit_with_case(
                NewVisit {
                    household: h.id,
                    ..Default::default()
                },
                found("环境卫生"),
            )
            .unwrap();
        let year = crate::schedule::local_date(visit.started_at, a.timezone()).year();
        let docs = [DocId::household(h.id), DocId::visit_log(h.id, year)];
        for doc in &docs {
            b.merge_doc(doc, &a.export_doc(doc).unwrap()).unwrap();
        }
        // Offline, each phone adds a case to the same visit.
        let on_a = a.open_case_for_visit(visit.id, found("帮办代办")).unwrap();
        let on_b = b.open_case_for_visit(visit.id, found("邻里纠纷")).unwrap();
        let log = &docs[1];
        a.merge_doc(log, &b.export_doc(log).unwrap()).unwrap();
        b.merge_doc(log, &a.export_doc(log).unwrap()).unwrap();
        let (va, vb) = (a.visit(visit.id).unwrap(), b.visit(visit.id).unwrap());
        assert_eq!(va, vb);
        let mut ids = va.follow_up_cases.clone();
        ids.sort();
        let mut expected = vec![first.id, on_a.id, on_b.id];
        expected.sort();
        assert_eq!(ids, expected, "nothing lost");
        assert_eq!(va.follow_up_cases[0], first.id);
    }
}
