//! `GET /cases`: the residents' requests of the staff member's subtree as a
//! queue by stage (to register → to dispatch → being handled → to verify →
//! to close; closed ones with `?all=1`), each with one form per allowed next
//! state; `POST /cases/{id}/transition` (fields `to`, `note`, `csrf`) makes
//! that move.
//!
//! A move is a transition appended to the case's Automerge document by the
//! server, as the staff member (the server's actor, `by` = the staff
//! member's id), checked against the status derived from the document, in
//! one write transaction that also files the doc in the feed — so the
//! gridworker's phone gets it on its next sync, and it merges with whatever
//! the phone did offline like any other change. A missing or wrong CSRF
//! token gets 403 and changes nothing; a move the workflow does not allow
//! (e.g. someone moved it first) gets 409 with the reason.

use super::{context, respond, Outcome, View};
use crate::error::Error;
use crate::feed::feed_touch;
use crate::state::AppState;
use crate::web::labels::{self, STAGES};
use crate::web::page::{frame, local_time, PageCtx};
use crate::web::{csrf, csrf_refused, StaffSession, WebConfig};
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::{Extension, Form};
use gridwork_core::api::transition_case_in;
use gridwork_core::docs::DocId;
use gridwork_core::model::{Case, CaseId, CaseState, Workflow};
use maud::{html, Markup};
use serde::Deserialize;

/// Query of `GET /cases` and `GET /hazards`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CasesQuery {
    /// `1` to list closed cases too.
    all: Option<String>,
}

impl CasesQuery {
    /// True for `?all=1`.
    pub fn wants_all(&self) -> bool {
        self.all.as_deref() == Some("1")
    }
}

/// `GET /cases`.
pub async fn queue(
    State(state): State<AppState>,
    Extension(config): Extension<WebConfig>,
    Query(query): Query<CasesQuery>,
    uri: Uri,
    headers: HeaderMap,
    staff: StaffSession,
) -> Response {
    let (ctx, cookie) = context(&staff, config, &uri, &headers);
    let all = query.wants_all();
    respond(state, ctx, cookie, move |view| {
        let cases = view.store.cases_in(&view.scope.codes(), !all)?;
        Ok(Outcome::Page(StatusCode::OK, page(view, &cases, all)))
    })
    .await
}

/// The fields of an action form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TransitionForm {
    /// The state to move to (a case state code).
    to: String,
    /// An optional note recorded with the transition.
    note: String,
    /// The session's CSRF token.
    csrf: String,
    /// `1` when the form was on the `?all=1` queue.
    all: String,
}

/// Longest note accepted with a transition, in characters.
const MAX_NOTE_CHARS: usize = 500;

/// `POST /cases/{id}/transition`.
pub async fn transition(
    State(state): State<AppState>,
    Extension(config): Extension<WebConfig>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    staff: StaffSession,
    form: Result<Form<TransitionForm>, FormRejection>,
) -> Response {
    let (ctx, cookie) = context(&staff, config, &uri, &headers);
    let form = match form {
        Ok(Form(form)) if csrf::tokens_match(&staff.csrf, &form.csrf) => form,
        _ => {
            tracing::warn!(worker = %staff.account.worker_id.0, "case action refused: missing or mismatched CSRF token");
            return csrf_refused(ctx.lang);
        }
    };
    respond(state, ctx, cookie, move |view| {
        let not_found = || Error::not_found("case", "");
        let id: CaseId = id.parse().map_err(|_| not_found())?;
        let case = view.store.case(id).map_err(|_| not_found())?;
        if !view.scope.covers(&case.grid) {
            return Err(not_found());
        }
        if form.note.chars().count() > MAX_NOTE_CHARS {
            return Err(Error::invalid(
                "note",
                format!("备注不能超过 {MAX_NOTE_CHARS} 字 / the note may have at most {MAX_NOTE_CHARS} characters"),
            ));
        }
        let staff_id = view.ctx.account.worker_id.0.clone();
        crate::db::write(&view.state.db, |tx| {
            let meta = crate::publish::staff_meta(tx, &staff_id)?;
            let scope = transition_case_in(tx, id, &form.to, &form.note, &meta)?;
            feed_touch(tx.conn(), DocId::case(id).as_str(), scope.as_str())?;
            Ok(())
        })?;
        tracing::info!(worker = %staff_id, case = %id, to = %form.to, "case moved by staff");
        let back = if form.all == "1" { "/cases?all=1" } else { "/cases" };
        Ok(Outcome::SeeOther(format!("{back}#case-{id}")))
    })
    .await
}

fn actions(ctx: &PageCtx, case: &Case, all: bool) -> Markup {
    let from = case.status;
    html! {
        @for to in from.next() {
            form.action method="post" action={ "/cases/" (case.id) "/transition" } data-action=(to.code()) {
                (ctx.csrf_field())
                input type="hidden" name="to" value=(to.code());
                @if all { input type="hidden" name="all" value="1"; }
                input type="text" name="note" maxlength="500" placeholder=(ctx.t("备注（可选）", "note (optional)"));
                button type="submit" { (labels::case_action(ctx.lang, from, *to)) }
            }
        }
    }
}

fn page(view: &View, cases: &[Case], all: bool) -> String {
    let ctx = &view.ctx;
    let body = html! {
        p.bar {
            span { (ctx.t("共 ", "")) (cases.len()) (ctx.t(" 件", " cases")) }
            @if all {
                a href="/cases" { (ctx.t("只看未结事项", "Open cases only")) }
            } @else {
                a href="/cases?all=1" { (ctx.t("包括已结案", "Include closed cases")) }
            }
        }
        @for (stage, states) in STAGES {
            @let in_stage: Vec<&Case> = cases.iter().filter(|c| states.contains(&c.status)).collect();
            @if !(in_stage.is_empty() && *stage == "closed") {
                section.stage data-stage=(stage) {
                    h2 { (labels::stage(ctx.lang, stage)) " (" (in_stage.len()) ")" }
                    @if in_stage.is_empty() {
                        p.hint { (ctx.t("无", "None")) }
                    } @else {
                        table.data.cases {
                            thead { tr {
                                th { (ctx.t("受理时间", "Taken")) } th { (ctx.t("网格", "Grid")) }
                                th { (ctx.t("类别", "Category")) } th { (ctx.t("内容", "Request")) }
                                th { (ctx.t("状态", "Status")) } th { (ctx.t("时限", "Deadlines")) }
                                th { (ctx.t("办理", "Actions")) }
                            } }
                            tbody {
                                @for c in in_stage {
                                    tr id={ "case-" (c.id) } data-case=(c.id) class=[(c.timers.response_overdue || c.timers.handling_overdue).then_some("overdue")] {
                                        td { (local_time(c.opened_at)) }
                                        td { (view.scope.name_of(&c.grid)) }
                                        td { (c.category) }
                                        td { (c.description) }
                                        td data-field="status" data-status=(c.status.code()) { (labels::case_state(ctx.lang, c.status)) }
                                        td.timers {
                                            @if c.timers.response_overdue { span.tag.warn { (ctx.t("响应超时", "response overdue")) } " " }
                                            @if c.timers.responded_late { span.tag { (ctx.t("响应迟了", "responded late")) } " " }
                                            @if c.timers.handling_overdue { span.tag.warn { (ctx.t("办理超期", "handling overdue")) } " " }
                                            @if c.status != CaseState::Closed { (ctx.t("办结期限 ", "due ")) (local_time(c.timers.handling_due_at)) }
                                        }
                                        td { (actions(ctx, c, all)) }
                                    }
                                    @if !c.transitions.is_empty() {
                                        tr.history data-history=(c.id) {
                                            td colspan="7" {
                                                @for t in &c.transitions {
                                                    span.step data-to=(t.to) data-by=(t.by.0) {
                                                        (local_time(t.at)) " " (t.by.0) " → "
                                                        (CaseState::parse(&t.to).map_or(t.to.as_str(), |st| labels::case_state(ctx.lang, st)))
                                                        @if !t.note.is_empty() { "：" (t.note) }
                                                    }
                                                    " "
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    frame(ctx, ctx.t("事项办理", "Cases"), body)
}
