//! Twelve-duties form records and the daily work log.

use super::Store;
use crate::docs::records::{FormRecordDoc, WorkLogDayDoc};
use crate::docs::{DocId, DocKind};
use crate::forms::TemplateCategory;
use crate::model::*;
use crate::{Error, Result};
use automerge::transaction::Transactable;
use automerge::{ReadDoc, ROOT};
use std::collections::BTreeMap;

impl Store {
    /// Fill a form with the newest version of `template_id`. Answers are
    /// validated against that exact version; nothing is stored on error.
    pub fn fill_form(
        &self,
        template_id: &str,
        household: Option<HouseholdId>,
        subject: &str,
        answers: BTreeMap<String, serde_json::Value>,
    ) -> Result<FormRecord> {
        let (device, meta) = self.meta()?;
        let id = FormRecordId::new();
        let today = crate::schedule::local_date(meta.at, &self.tz).to_string();
        self.db.write(|tx| {
            fill_form_in(
                tx,
                id,
                template_id,
                household,
                subject,
                answers,
                (&device.grid, &today),
                &meta,
            )
        })?;
        self.form_record(id)
    }
}

/// Fill a form inside a write transaction.
#[allow(clippy::too_many_arguments)]
pub fn fill_form_in(
    tx: &mut crate::store::WriteTx<'_>,
    id: FormRecordId,
    template_id: &str,
    household: Option<HouseholdId>,
    subject: &str,
    answers: BTreeMap<String, serde_json::Value>,
    (grid, today): (&GridCode, &str),
    meta: &crate::store::CommitMeta,
) -> Result<()> {
    let grid = &super::households::record_grid(tx, household, grid)?;
    // The newest version known here (published or built-in) for new records.
    let template = super::resolve_template(tx.conn(), template_id, None)?;
    if template.category == TemplateCategory::VisitChecklist {
        return Err(Error::invalid(
            "template",
            "走访清单请用走访记录 / use record_visit for the visit checklist",
        ));
    }
    template.validate_answers_on(&answers, today)?;
    for field in &template.fields {
        if field.field_type == crate::forms::FieldType::Photo {
            if let Some(answer) = answers.get(&field.id) {
                super::attachments::check_attached(
                    tx.conn(),
                    &crate::model::attachment::photo_ids(answer),
                    &format!("answers.{}", field.id),
                )?;
            }
        }
    }
    let subject = crate::model::text::FORM_SUBJECT.check(subject)?;
    if household.is_none() && subject.is_empty() {
        return Err(Error::invalid(
            "subject",
            "须指定户或对象 / a household or a subject is required",
        ));
    }
    let record = FormRecord {
        id,
        template: TemplateRef {
            id: template.id.clone(),
            version: template.version,
        },
        household,
        subject,
        answers,
        worker: meta.worker.clone(),
        filled_at: meta.at,
    };
    let doc = FormRecordDoc::from_model(&record, grid);
    if let Some(h) = household {
        if !tx.doc_exists(&DocId::household(h))? {
            return Err(Error::not_found("household", h));
        }
    }
    tx.edit_doc(
        &DocId::form_record(id),
        DocKind::FormRecord,
        grid,
        meta,
        |am| Ok(autosurgeon::reconcile(am, &doc)?),
    )
}

impl Store {
    /// Change some answers of a form record, validated against the template
    /// version the record was filled with.
    pub fn edit_form_record(
        &self,
        id: FormRecordId,
        changes: BTreeMap<String, serde_json::Value>,
    ) -> Result<FormRecord> {
        let mut record = self.form_record(id)?;
        // Edits are checked against the version the record was filled with.
        let template = self.template(&record.template.id, Some(record.template.version))?;
        for (k, v) in &changes {
            if v.is_null() {
                record.answers.remove(k);
            } else {
                record.answers.insert(k.clone(), v.clone());
            }
        }
        let today = crate::schedule::local_date(self.now(), &self.tz).to_string();
        template.validate_answers_on(&record.answers, &today)?;
        let (device, meta) = self.meta()?;
        let doc_id = DocId::form_record(id);
        self.db.write(|tx| {
            tx.edit_doc(&doc_id, DocKind::FormRecord, &device.grid, &meta, |am| {
                let mut doc: FormRecordDoc = autosurgeon::hydrate(am)?;
                doc.answers = record
                    .answers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect();
                Ok(autosurgeon::reconcile(am, &doc)?)
            })
        })?;
        self.form_record(id)
    }

    /// Set one day of this worker's log (local date `YYYY-MM-DD`).
    pub fn set_work_log_day(
        &self,
        date: &str,
        priorities: Vec<String>,
        notes: &str,
    ) -> Result<WorkLogDay> {
        let (device, meta) = self.meta()?;
        // A day's log is kept for past days and planned up to a year ahead.
        let today = crate::schedule::local_date(meta.at, &self.tz);
        let latest = today
            .checked_add(jiff::Span::new().days(366))
            .unwrap_or(today);
        let date = validate::date_between(date, "date", jiff::civil::date(2000, 1, 1), latest)?;
        let month = &date[..7];
        let doc_id = DocId::work_log(&device.worker_id, month);
        if priorities.len() > text::MAX_WORK_LOG_PRIORITIES {
            return Err(Error::invalid(
                "priorities",
                format!(
                    "最多 {n} 项 / at most {n} priorities",
                    n = text::MAX_WORK_LOG_PRIORITIES
                ),
            ));
        }
        let day = WorkLogDayDoc {
            priorities: priorities
                .iter()
                .map(|p| text::WORK_LOG_PRIORITY.check(p))
                .filter(|p| !p.as_ref().is_ok_and(String::is_empty))
                .collect::<Result<_>>()?,
            notes: text::WORK_LOG_NOTES.check(notes)?,
        };
        self.db.write(|tx| {
            tx.edit_doc(&doc_id, DocKind::WorkLog, &device.grid, &meta, |am| {
                if am.get(ROOT, "kind")?.is_none() {
                    am.put(ROOT, "kind", DocKind::WorkLog.code())?;
                    am.put(ROOT, "worker", device.worker_id.as_str())?;
                    am.put(ROOT, "month", month)?;
                }
                autosurgeon::reconcile_prop(am, ROOT, date.as_str(), &day)?;
                Ok(())
            })
        })?;
        self.work_log(month)?
            .into_iter()
            .find(|d| d.date == date)
            .ok_or_else(|| Error::not_found("work log day", &date))
    }
}
