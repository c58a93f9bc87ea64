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
use crate::accounts::handlers::{self, Handler};
use crate::backend::Backend;
use crate::error::Error;
use crate::publish::{staff_meta_in, Publisher};
use crate::web::page::PageCtx;
use axum::extract::rejection::FormRejection;
use axum::extract::Path;
use axum::response::Response;
use axum::Form;
use gridwork_core::api::{transition_case_in, transition_hazard_in};
use gridwork_core::docs::DocId;
use gridwork_core::model::{CaseId, CaseState, GridCode, HazardId, HazardState, Workflow};
use gridwork_core::store::sql::SqlConn;
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
    /// Who a dispatch hands the case to (an id of the handlers' directory,
    /// [`crate::accounts::handlers`]); required for `dispatched`, ignored
    /// otherwise.
    assignee: String,
    /// The session's CSRF token.
    csrf: String,
    /// `1` when the form was on an `?all=1` list (older forms).
    all: String,
    /// The list (with its filters and page) to return to.
    back: String,
}

impl super::StaffForm for TransitionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
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

/// One move a record's action form offers.
pub struct Action<'a> {
    /// The state code to move to.
    pub to: &'static str,
    /// The button's label.
    pub label: &'a str,
    /// Why it may not be used by this staff member (shown, button
    /// disabled), e.g. separation of duties.
    pub refused: Option<&'a str>,
}

/// The one form of a record's row: a note (one for whichever move is
/// made), the handler to dispatch to when `handlers` is given, and one
/// submit button per move (`button[name=to][data-action=CODE]`).
pub fn actions_form(
    ctx: &PageCtx,
    kind: RecordKind,
    id: &str,
    actions: &[Action<'_>],
    handlers: Option<&[Handler]>,
    back: &str,
) -> Markup {
    html! {
        @if !actions.is_empty() {
            form.action method="post" action={ (kind.list_path()) "/" (id) "/transition" } data-record=(id) {
                (ctx.csrf_field())
                input type="hidden" name="back" value=(back);
                input type="text" name="note" maxlength=(MAX_NOTE_CHARS) placeholder=(ctx.t("办理意见（可选）", "note (optional)"));
                @if let Some(handlers) = handlers {
                    select name="assignee" aria-label=(ctx.t("承办人", "Handler")) {
                        option value="" { (ctx.t("派遣给…", "dispatch to…")) }
                        @for h in handlers {
                            option value=(h.id) data-level=(h.grid.0) {
                                (h.name)
                                @if h.kind == "department" { (ctx.t("（部门）", " (department)")) }
                            }
                        }
                    }
                }
                @for a in actions {
                    @if let Some(why) = a.refused {
                        button type="submit" name="to" value=(a.to) data-action=(a.to) disabled title=(why) { (a.label) }
                    } @else {
                        button type="submit" name="to" value=(a.to) data-action=(a.to) { (a.label) }
                    }
                }
            }
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
    let form = match request.checked_form(form, kind.code()) {
        Ok(form) => form,
        Err(refused) => return refused,
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
        // The state as its code, whatever spelling the form sent (a label,
        // spaces): the checks below compare codes.
        let to: &'static str = match kind {
            RecordKind::Case => CaseState::parse(&form.to)?.code(),
            RecordKind::Hazard => HazardState::parse(&form.to)?.code(),
        };
        if kind == RecordKind::Case && to == CaseState::Escalated.code() {
            return Err(Error::invalid(
                "to",
                "上报社区由网格员操作；工作人员请派遣（上报镇街即派遣给镇街承办人）/ escalating to the community is the gridworker's move; staff dispatch (to a town handler to escalate to the town)",
            ));
        }
        let assignee = if kind == RecordKind::Case && to == CaseState::Dispatched.code() {
            form.assignee.trim()
        } else {
            ""
        };
        let change = Move { kind, id: &id, to, note: &form.note, assignee, by: &staff_id };
        match &view.state.backend {
            Backend::Sqlite(db) => crate::db::write(db, |tx| change.apply(tx))?,
            Backend::Postgres(pg) => pg.edit(|tx| change.apply(tx))?,
        }
        view.state.feed_watch.poke();
        tracing::info!(worker = %staff_id, kind = kind.code(), id = %id, to = %to, "record moved by staff");
        let list = kind.list_path();
        let back = if !form.back.is_empty() {
            super::filters::safe_back(&form.back, list)
        } else if form.all == "1" {
            format!("{list}?all=1")
        } else {
            list.to_owned()
        };
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
    assignee: &'a str,
    by: &'a str,
}

impl Move<'_> {
    fn apply<P: Publisher + ?Sized>(&self, tx: &mut P) -> Result<(), Error> {
        let not_found = || Error::not_found(self.kind.code(), "");
        let meta = staff_meta_in(tx.sql(), self.by)?;
        let (doc_id, scope) = match self.kind {
            RecordKind::Case => {
                let id: CaseId = self.id.parse().map_err(|_| not_found())?;
                if self.to == CaseState::Dispatched.code() {
                    self.check_assignee(tx.sql(), id)?;
                }
                (
                    DocId::case(id),
                    transition_case_in(tx, id, self.to, self.note, self.assignee, &meta)?,
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

    /// A dispatch names an active handler serving the case's grid.
    fn check_assignee(&self, conn: &dyn SqlConn, id: CaseId) -> Result<(), Error> {
        if self.assignee.is_empty() {
            return Err(Error::invalid(
                "assignee",
                "请选择承办人或承办部门 / choose the person or department to dispatch to",
            ));
        }
        let grid = conn
            .value(
                "SELECT grid FROM cases WHERE id = ?1",
                &[id.to_string().as_str().into()],
            )?
            .ok_or_else(|| Error::not_found("case", ""))?
            .text()?;
        let serving = handlers::handlers_for_grid_in(conn, &GridCode(grid))?;
        if !serving.iter().any(|h| h.id == self.assignee) {
            return Err(Error::invalid(
                "assignee",
                "承办人不在本网格可派遣的名录中 / that handler does not serve this case's grid",
            ));
        }
        Ok(())
    }
}
