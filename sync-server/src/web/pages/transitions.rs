//! Staff moves on workflow records, shared by the case queue
//! (`POST /cases/{id}/transition`) and the hazards list
//! (`POST /hazards/{id}/transition`): the action form, its checks and the
//! write.
//!
//! A move is a transition appended to the record's Automerge document by
//! the server, as the staff member (the server's actor, `by` = the staff
//! member's id), checked against the status derived from the document, in
//! one write transaction that also files the doc in the feed — so the
//! gridworker's phone gets it on its next sync and it merges with whatever
//! the phone did offline. A missing or wrong CSRF token gets 403 and changes
//! nothing; a record outside the subtree 404; a move the workflow does not
//! allow (e.g. someone moved it first) 409 with the reason.

use super::{Outcome, PageRequest, View};
use crate::backend::Backend;
use crate::error::Error;
use crate::publish::{staff_meta_in, Publisher};
use crate::web::page::PageCtx;
use crate::web::{csrf, csrf_refused};
use axum::extract::rejection::FormRejection;
use axum::extract::Path;
use axum::response::Response;
use axum::Form;
use gridwork_core::api::{transition_case_in, transition_hazard_in};
use gridwork_core::docs::DocId;
use gridwork_core::model::{CaseId, GridCode, HazardId, Workflow};
use maud::{html, Markup};
use serde::Deserialize;

/// The fields of an action form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TransitionForm {
    /// The state to move to (a state code of the record's workflow).
    to: String,
    /// An optional note recorded with the transition.
    note: String,
    /// The session's CSRF token.
    csrf: String,
    /// `1` when the form was on an `?all=1` list.
    all: String,
}

/// Longest note accepted with a transition, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// Which kind of record a move is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// A resident's request (`/cases`).
    Case,
    /// A safety hazard (`/hazards`).
    Hazard,
}

impl RecordKind {
    /// The list page, e.g. `/cases`.
    pub fn list_path(self) -> &'static str {
        match self {
            RecordKind::Case => "/cases",
            RecordKind::Hazard => "/hazards",
        }
    }

    /// The code used in errors, logs and anchors (`case`, `hazard`).
    pub fn code(self) -> &'static str {
        match self {
            RecordKind::Case => "case",
            RecordKind::Hazard => "hazard",
        }
    }
}

/// The form that moves record `id` of `kind` to `to`, labelled `label`.
pub fn action_form<W: Workflow>(
    ctx: &PageCtx,
    kind: RecordKind,
    id: &str,
    to: W,
    label: &str,
    all: bool,
) -> Markup {
    html! {
        form.action method="post" action={ (kind.list_path()) "/" (id) "/transition" } data-action=(to.code()) {
            (ctx.csrf_field())
            input type="hidden" name="to" value=(to.code());
            @if all { input type="hidden" name="all" value="1"; }
            input type="text" name="note" maxlength=(MAX_NOTE_CHARS) placeholder=(ctx.t("备注（可选）", "note (optional)"));
            button type="submit" { (label) }
        }
    }
}

/// `POST /cases/{id}/transition`.
pub async fn case(
    Path(id): Path<String>,
    request: PageRequest,
    form: Result<Form<TransitionForm>, FormRejection>,
) -> Response {
    apply(request, RecordKind::Case, id, form).await
}

/// `POST /hazards/{id}/transition`.
pub async fn hazard(
    Path(id): Path<String>,
    request: PageRequest,
    form: Result<Form<TransitionForm>, FormRejection>,
) -> Response {
    apply(request, RecordKind::Hazard, id, form).await
}

/// The grid of record `id`, if it exists (read models).
fn grid_of(view: &View, kind: RecordKind, id: &str) -> Option<GridCode> {
    match kind {
        RecordKind::Case => id
            .parse::<CaseId>()
            .ok()
            .and_then(|id| view.read_latest(|r| Ok(r.case(id)?)).ok())
            .map(|c| c.grid),
        RecordKind::Hazard => id
            .parse::<HazardId>()
            .ok()
            .and_then(|id| view.read_latest(|r| Ok(r.hazard(id)?)).ok())
            .map(|h| h.grid),
    }
}

async fn apply(
    request: PageRequest,
    kind: RecordKind,
    id: String,
    form: Result<Form<TransitionForm>, FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(form)) if csrf::tokens_match(&request.ctx.csrf, &form.csrf) => form,
        _ => {
            tracing::warn!(worker = %request.ctx.account.worker_id.0, kind = kind.code(), "staff action refused: missing or mismatched CSRF token");
            return csrf_refused(request.ctx.lang);
        }
    };
    request.respond(move |view| {
        let not_found = || Error::not_found(kind.code(), "");
        let grid = grid_of(view, kind, &id).ok_or_else(not_found)?;
        if !view.scope.covers(&grid) {
            return Err(not_found());
        }
        if form.note.chars().count() > MAX_NOTE_CHARS {
            return Err(Error::invalid(
                "note",
                format!("备注不能超过 {MAX_NOTE_CHARS} 字 / the note may have at most {MAX_NOTE_CHARS} characters"),
            ));
        }
        let staff_id = view.ctx.account.worker_id.0.clone();
        let change = Move { kind, id: &id, to: &form.to, note: &form.note, by: &staff_id };
        match &view.state.backend {
            Backend::Sqlite(db) => crate::db::write(db, |tx| change.apply(tx))?,
            Backend::Postgres(pg) => pg.edit(|tx| change.apply(tx))?,
        }
        tracing::info!(worker = %staff_id, kind = kind.code(), id = %id, to = %form.to, "record moved by staff");
        let list = kind.list_path();
        let back = if form.all == "1" { format!("{list}?all=1") } else { list.to_owned() };
        Ok(Outcome::SeeOther(format!("{back}#{}-{id}", kind.code())))
    })
    .await
}

/// A staff member's move of one case or hazard, applied in one write
/// transaction of either backend: the core checks the move against the
/// workflow and writes it as the staff member, and the doc goes on the
/// feed so the phones of its grid receive it.
struct Move<'a> {
    kind: RecordKind,
    id: &'a str,
    to: &'a str,
    note: &'a str,
    by: &'a str,
}

impl Move<'_> {
    fn apply<P: Publisher + ?Sized>(&self, tx: &mut P) -> Result<(), Error> {
        let not_found = || Error::not_found(self.kind.code(), "");
        let meta = staff_meta_in(tx.sql(), self.by)?;
        let (doc_id, scope) = match self.kind {
            RecordKind::Case => {
                let id: CaseId = self.id.parse().map_err(|_| not_found())?;
                (
                    DocId::case(id),
                    transition_case_in(tx, id, self.to, self.note, &meta)?,
                )
            }
            RecordKind::Hazard => {
                let id: HazardId = self.id.parse().map_err(|_| not_found())?;
                (
                    DocId::hazard(id),
                    transition_hazard_in(tx, id, self.to, self.note, &meta)?,
                )
            }
        };
        tx.touch_feed(&doc_id, &scope)
    }
}
